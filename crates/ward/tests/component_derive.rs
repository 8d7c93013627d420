//! Derived typed values (`#[derive(ComponentType, Lift, Lower)]` and `flags!`) through real
//! components: records, variants, enums and flags passed to and returned from guest functions
//! and host functions, and Rust types that do not match a function's component types refused by
//! `get_typed_func` with an error.

use ward::component::{Component, ComponentType, Instance, Lift, Linker, Lower, flags};
use ward::{Engine, Error, Store};

/// The core module every test component instantiates: a memory, a bump allocator, and the core
/// functions the components lift.
const CORE: &str = r#"
  (core module $m
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $ptr) (local.get 3)))
      (local.get $ptr))
    ;; person { name: string, age: u8, is-admin: bool } -> the same person a year older, stored
    ;; at 16 (name at 16, age at 24, is-admin at 25).
    (func (export "birthday") (param $ptr i32) (param $len i32) (param $age i32) (param $admin i32)
          (result i32)
      (i32.store (i32.const 16) (local.get $ptr))
      (i32.store (i32.const 20) (local.get $len))
      (i32.store8 (i32.const 24) (i32.add (local.get $age) (i32.const 1)))
      (i32.store8 (i32.const 25) (local.get $admin))
      (i32.const 16))
    ;; command { stop, go(u32), say(string) }: go(n) becomes go(n + 1), the others stay; the
    ;; result is stored at 16 (case at 16, payload at 20).
    (func (export "bump") (param $case i32) (param $a i32) (param $b i32) (result i32)
      (i32.store8 (i32.const 16) (local.get $case))
      (i32.store (i32.const 20)
        (select (i32.add (local.get $a) (i32.const 1)) (local.get $a)
                (i32.eq (local.get $case) (i32.const 1))))
      (i32.store (i32.const 24) (local.get $b))
      (i32.const 16))
    ;; color { red, green, blue-ish }: the next color.
    (func (export "next") (param i32) (result i32)
      (i32.rem_u (i32.add (local.get 0) (i32.const 1)) (i32.const 3)))
    ;; perms { read, write, exec }: every flag flipped.
    (func (export "invert") (param i32) (result i32)
      (i32.xor (local.get 0) (i32.const 7)))
    ;; A list of anything returned unchanged: (ptr, len) stored at 16.
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.const 16)))
  (core instance $i (instantiate $m))
"#;

/// The component types, each exported under its name so that exported functions can use it.
const TYPES: &str = r#"
  (type $person' (record (field "name" string) (field "age" u8) (field "is-admin" bool)))
  (export $person "person" (type $person'))
  (type $command' (variant (case "stop") (case "go" u32) (case "say" string)))
  (export $command "command" (type $command'))
  (type $color' (enum "red" "green" "blue-ish"))
  (export $color "color" (type $color'))
  (type $perms' (flags "read" "write" "exec"))
  (export $perms "perms" (type $perms'))
  (type $task' (record (field "id" u64) (field "color" $color) (field "perms" $perms)
                       (field "next" $command) (field "owner" (option $person))
                       (field "tags" (list string))))
  (export $task "task" (type $task'))
"#;

const OPTIONS: &str = r#"(memory (core memory $i "mem")) (realloc (core func $i "realloc"))"#;

fn component_source() -> String {
    format!(
        r#"(component {CORE} {TYPES}
  (func (export "birthday") (param "p" $person) (result $person)
    (canon lift (core func $i "birthday") {OPTIONS}))
  (func (export "bump") (param "c" $command) (result $command)
    (canon lift (core func $i "bump") {OPTIONS}))
  (func (export "next") (param "c" $color) (result $color) (canon lift (core func $i "next")))
  (func (export "invert") (param "p" $perms) (result $perms) (canon lift (core func $i "invert")))
  (func (export "echo-tasks") (param "ts" (list $task)) (result (list $task))
    (canon lift (core func $i "echo") {OPTIONS})))"#
    )
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
#[component(record)]
struct Person {
    name: String,
    age: u8,
    #[component(name = "is-admin")]
    is_admin: bool,
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
#[component(variant)]
enum Command {
    #[component(name = "stop")]
    Stop,
    #[component(name = "go")]
    Go(u32),
    #[component(name = "say")]
    Say(String),
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, Copy, PartialEq)]
#[component(enum)]
enum Color {
    #[component(name = "red")]
    Red,
    #[component(name = "green")]
    Green,
    #[component(name = "blue-ish")]
    BlueIsh,
}

flags! {
    /// What a task's owner may do.
    Perms {
        #[component(name = "read")]
        const READ;
        #[component(name = "write")]
        const WRITE;
        #[component(name = "exec")]
        const EXEC;
    }
}

/// Field names as written match the component's names without renaming.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
#[component(record)]
struct Task {
    id: u64,
    color: Color,
    perms: Perms,
    next: Command,
    owner: Option<Person>,
    tags: Vec<String>,
}

fn instantiate() -> (Store<()>, Instance) {
    let engine = Engine::default();
    let component = Component::new(&engine, component_source()).expect("the component compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .expect("the component instantiates");
    (store, instance)
}

fn ada() -> Person {
    Person {
        name: "Ada Lovelace, née Byron".into(),
        age: 36,
        is_admin: true,
    }
}

#[test]
fn a_record_goes_in_and_comes_back_changed() {
    let (mut store, instance) = instantiate();
    let birthday = instance
        .get_typed_func::<(Person,), (Person,)>("birthday")
        .expect("Person is the component's person");
    let (older,) = birthday.call(&mut store, (ada(),)).unwrap();
    assert_eq!(older, Person { age: 37, ..ada() });
}

#[test]
fn every_case_of_a_variant_crosses_with_its_payload() {
    let (mut store, instance) = instantiate();
    let bump = instance
        .get_typed_func::<(Command,), (Command,)>("bump")
        .unwrap();
    let mut call = |c| bump.call(&mut store, (c,)).unwrap().0;
    assert_eq!(call(Command::Stop), Command::Stop);
    assert_eq!(call(Command::Go(41)), Command::Go(42));
    assert_eq!(
        call(Command::Say("¿qué?".into())),
        Command::Say("¿qué?".into())
    );
}

#[test]
fn enum_cases_map_to_their_discriminants() {
    let (mut store, instance) = instantiate();
    let next = instance
        .get_typed_func::<(Color,), (Color,)>("next")
        .unwrap();
    let mut call = |c| next.call(&mut store, (c,)).unwrap().0;
    assert_eq!(call(Color::Red), Color::Green);
    assert_eq!(call(Color::Green), Color::BlueIsh);
    assert_eq!(call(Color::BlueIsh), Color::Red);
}

#[test]
fn flags_map_to_bits_in_declaration_order() {
    let (mut store, instance) = instantiate();
    let invert = instance
        .get_typed_func::<(Perms,), (Perms,)>("invert")
        .unwrap();
    let (inverted,) = invert
        .call(&mut store, (Perms::READ | Perms::EXEC,))
        .unwrap();
    assert_eq!(inverted, Perms::WRITE);
    let (inverted,) = invert.call(&mut store, (Perms::empty(),)).unwrap();
    assert_eq!(inverted, Perms::all());
    assert_eq!(format!("{inverted:?}"), "Perms(READ | WRITE | EXEC)");
}

#[test]
fn flags_support_set_operations() {
    let mut perms = Perms::READ;
    perms.insert(Perms::WRITE);
    assert!(perms.contains(Perms::READ | Perms::WRITE));
    assert!(!perms.contains(Perms::EXEC));
    assert!(perms.intersects(Perms::WRITE | Perms::EXEC));
    perms.remove(Perms::READ);
    assert_eq!(perms, Perms::WRITE);
    assert_eq!(!Perms::WRITE, Perms::READ | Perms::EXEC);
    assert_eq!((Perms::all() - Perms::EXEC).bits(), 0b011);
    assert_eq!(Perms::from_bits_truncate(0xff), Perms::all());
}

#[test]
fn nested_derived_types_round_trip_in_a_list() {
    let (mut store, instance) = instantiate();
    let echo = instance
        .get_typed_func::<(Vec<Task>,), (Vec<Task>,)>("echo-tasks")
        .unwrap();
    let tasks = vec![
        Task {
            id: u64::MAX,
            color: Color::BlueIsh,
            perms: Perms::READ | Perms::WRITE,
            next: Command::Say("Grüße".into()),
            owner: Some(ada()),
            tags: vec!["α".into(), String::new(), "𝄞 clef".into()],
        },
        Task {
            id: 0,
            color: Color::Red,
            perms: Perms::empty(),
            next: Command::Stop,
            owner: None,
            tags: Vec::new(),
        },
    ];
    let (back,) = echo.call(&mut store, (tasks.clone(),)).unwrap();
    assert_eq!(back, tasks);
}

#[test]
fn host_functions_take_and_return_derived_types() {
    let source = r#"(component
  (type $command' (variant (case "stop") (case "go" u32) (case "say" string)))
  (type $color' (enum "red" "green" "blue-ish"))
  (import "host:tasks/classify" (instance $host
    (export "command" (type $command (eq $command')))
    (export "color" (type $color (eq $color')))
    (export "classify" (func (param "c" $command) (result $color)))))
  (alias export $host "classify" (func $classify))
  (core module $mem (memory (export "mem") 1))
  (core instance $memory (instantiate $mem))
  (core func $classify' (canon lower (func $classify) (memory (core memory $memory "mem"))))
  (core module $m
    (import "" "classify" (func $classify (param i32 i32 i32) (result i32)))
    ;; classify(go(7))
    (func (export "run") (result i32) (call $classify (i32.const 1) (i32.const 7) (i32.const 0))))
  (core instance $i (instantiate $m (with "" (instance (export "classify" (func $classify'))))))
  (type $color-out' (enum "red" "green" "blue-ish"))
  (export $color-out "color" (type $color-out'))
  (func (export "run") (result $color-out) (canon lift (core func $i "run"))))"#;
    let engine = Engine::default();
    let component = Component::new(&engine, source).expect("the component compiles");
    let mut linker = Linker::<Vec<Command>>::new(&engine);
    linker.instance("host:tasks/classify").func_wrap(
        "classify",
        |store, (command,): (Command,)| {
            store.data_mut().push(command.clone());
            Ok((match command {
                Command::Stop => Color::Red,
                Command::Go(_) => Color::Green,
                Command::Say(_) => Color::BlueIsh,
            },))
        },
    );
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance.get_typed_func::<(), (Color,)>("run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), (Color::Green,));
    assert_eq!(store.data(), &[Command::Go(7)]);
}

/// The message of the error `get_typed_func::<Params, Results>(name)` gives.
fn mismatch<Params, Results>(name: &str) -> String
where
    Params: ward::component::ComponentParams,
    Results: ward::component::ComponentResults,
{
    let (_, instance) = instantiate();
    match instance.get_typed_func::<Params, Results>(name) {
        Err(Error::Usage(message)) => message,
        Err(other) => panic!("expected a usage error, got {other}"),
        Ok(_) => panic!("{name} accepted the wrong Rust types"),
    }
}

#[derive(ComponentType, Lift, Lower, Debug)]
#[component(record)]
struct PersonWithoutRename {
    name: String,
    age: u8,
    is_admin: bool,
}

#[derive(ComponentType, Lift, Lower, Debug)]
#[component(record)]
struct PersonReordered {
    age: u8,
    name: String,
    #[component(name = "is-admin")]
    is_admin: bool,
}

#[derive(ComponentType, Lift, Lower, Debug)]
#[component(record)]
struct PersonWithWrongFieldType {
    name: String,
    age: u32,
    #[component(name = "is-admin")]
    is_admin: bool,
}

#[derive(ComponentType, Lift, Lower, Debug)]
#[component(variant)]
enum CommandWithoutPayload {
    #[component(name = "stop")]
    Stop,
    #[component(name = "go")]
    Go,
    #[component(name = "say")]
    Say(String),
}

#[derive(ComponentType, Lift, Lower, Debug)]
#[component(variant)]
enum CommandMissingACase {
    #[component(name = "stop")]
    Stop,
    #[component(name = "go")]
    Go(u32),
}

#[derive(ComponentType, Lift, Lower, Debug)]
#[component(enum)]
enum ColorInAnotherOrder {
    #[component(name = "green")]
    Green,
    #[component(name = "red")]
    Red,
    #[component(name = "blue-ish")]
    BlueIsh,
}

flags! {
    PermsWithAnotherName {
        #[component(name = "read")]
        const READ;
        #[component(name = "write")]
        const WRITE;
        #[component(name = "execute")]
        const EXECUTE;
    }
}

#[test]
fn a_record_with_other_field_names_is_refused() {
    let message = mismatch::<(PersonWithoutRename,), (PersonWithoutRename,)>("birthday");
    assert!(
        message.contains("`is_admin` in Rust, `is-admin` in the type"),
        "{message}"
    );
}

#[test]
fn a_record_with_fields_in_another_order_is_refused() {
    let message = mismatch::<(PersonReordered,), (PersonReordered,)>("birthday");
    assert!(
        message.contains("`age` in Rust, `name` in the type"),
        "{message}"
    );
}

#[test]
fn a_record_with_a_field_of_another_type_is_refused() {
    let message = mismatch::<(PersonWithWrongFieldType,), (PersonWithWrongFieldType,)>("birthday");
    assert!(
        message.contains("u32 is not the component type u8"),
        "{message}"
    );
}

#[test]
fn a_variant_whose_payloads_differ_is_refused() {
    let message = mismatch::<(CommandWithoutPayload,), (CommandWithoutPayload,)>("bump");
    assert!(message.contains("case `go` has a payload"), "{message}");
}

#[test]
fn a_variant_missing_a_case_is_refused() {
    let message = mismatch::<(CommandMissingACase,), (CommandMissingACase,)>("bump");
    assert!(
        message.contains("2 cases in Rust, 3 in the type"),
        "{message}"
    );
}

#[test]
fn an_enum_with_cases_in_another_order_is_refused() {
    let message = mismatch::<(ColorInAnotherOrder,), (ColorInAnotherOrder,)>("next");
    assert!(
        message.contains("`green` in Rust, `red` in the type"),
        "{message}"
    );
}

#[test]
fn flags_with_another_name_are_refused() {
    let message = mismatch::<(PermsWithAnotherName,), (PermsWithAnotherName,)>("invert");
    assert!(
        message.contains("`execute` in Rust, `exec` in the type"),
        "{message}"
    );
}

#[test]
fn a_derived_type_for_another_kind_of_type_is_refused() {
    let message = mismatch::<(Color,), (Color,)>("invert");
    assert!(message.contains("not an enum"), "{message}");
    let message = mismatch::<(Person,), (Command,)>("bump");
    assert!(message.contains("not a record"), "{message}");
    let message = mismatch::<(Command,), (Command,)>("birthday");
    assert!(message.contains("not a variant"), "{message}");
    let message = mismatch::<(Perms,), (Perms,)>("next");
    assert!(message.contains("not a flags type"), "{message}");
}

#[derive(ComponentType, Lift, Lower, Debug, PartialEq)]
#[component(record)]
struct Pair<T> {
    first: T,
    second: T,
}

#[test]
fn generic_records_take_their_parameters_component_types() {
    let ty = ward::component::Type::Record(
        vec![
            ("first".to_string(), ward::component::Type::U32),
            ("second".to_string(), ward::component::Type::U32),
        ]
        .into(),
    );
    Pair::<u32>::typecheck(&ty).unwrap();
    assert!(Pair::<String>::typecheck(&ty).is_err());
    let pair = Pair {
        first: 1u32,
        second: 2,
    };
    assert_eq!(Pair::<u32>::lift(pair.lower()).unwrap(), pair);
}

#[test]
fn a_value_of_another_shape_is_an_error_when_lifted() {
    use ward::component::Val;
    let err = Color::lift(Val::Enum("purple".into())).unwrap_err();
    assert!(
        err.to_string().contains("Color has no case `purple`"),
        "{err}"
    );
    let err = Command::lift(Val::Variant("go".into(), None)).unwrap_err();
    assert!(
        err.to_string()
            .contains("case `go` of Command has no payload"),
        "{err}"
    );
    let err = Perms::lift(Val::Flags(vec!["sudo".into()])).unwrap_err();
    assert!(
        err.to_string().contains("Perms has no flag `sudo`"),
        "{err}"
    );
    assert!(Person::lift(Val::U32(1)).is_err());
}
