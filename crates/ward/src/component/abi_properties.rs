//! Property tests of the canonical ABI (tests only): seeded generators of component types (every
//! kind, nested, with the sizes that change layouts: enums and variants past 256 cases, flags up
//! to 32) and of values of those types (non-ASCII strings with latin1-range characters and
//! surrogate pairs, floats with infinities, zeros of both signs and subnormals). Every value
//! must round-trip through flat core values and through memory in each string encoding, strings
//! must be laid out as each encoding says, and values must come back unchanged through a real
//! component that echoes them across a boundary between two string encodings (host to outer
//! component to inner component and back, so values are transcoded twice each way).
//!
//! The seed is fixed; `WARD_ABI_CASES=N` scales the number of cases (default 1).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::Arc;

use super::abi::{FlatReader, GuestMemory, flatten, lift_flat, load, lower_flat, store};
use super::definition::StringEncoding;
use super::layout::align_to;
use super::resources::{HOST_OWNER, ResourceAny, ResourceRt};
use super::strings::{UTF16_TAG, load_string_from, store_string_into};
use super::types::{ResourceType, Type};
use super::val::Val;
use super::{Component, Linker};
use crate::{Engine, Result, Store, ValType};

const ENCODINGS: [StringEncoding; 3] = [
    StringEncoding::Utf8,
    StringEncoding::Utf16,
    StringEncoding::CompactUtf16,
];

/// The case-count multiplier from `WARD_ABI_CASES`.
fn scale() -> usize {
    std::env::var("WARD_ABI_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// SplitMix64: small, seedable, good enough to spread cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// What the type generator may produce.
#[derive(Clone, Copy)]
struct Allowed {
    resources: bool,
    maps: bool,
}

/// A case or field count, now and then one past a discriminant width.
fn case_count(rng: &mut Rng) -> usize {
    match rng.below(20) {
        0 => 257 + rng.below(3),
        1 => 256,
        _ => 1 + rng.below(5),
    }
}

fn gen_type(rng: &mut Rng, depth: u32, allowed: Allowed, resource: ResourceType) -> Type {
    let leaves = 14 + if allowed.resources { 2 } else { 0 };
    if depth == 0 || rng.chance(35) {
        return match rng.below(leaves) {
            0 => Type::Bool,
            1 => Type::S8,
            2 => Type::U8,
            3 => Type::S16,
            4 => Type::U16,
            5 => Type::S32,
            6 => Type::U32,
            7 => Type::S64,
            8 => Type::U64,
            9 => Type::Float32,
            10 => Type::Float64,
            11 => Type::Char,
            12 | 13 => Type::String,
            14 => Type::Own(resource),
            _ => Type::Borrow(resource),
        };
    }
    let sub = |rng: &mut Rng| gen_type(rng, depth - 1, allowed, resource);
    match rng.below(if allowed.maps { 10 } else { 9 }) {
        0 => Type::List(Arc::new(sub(rng))),
        1 => Type::Record(
            (0..1 + rng.below(4))
                .map(|i| (format!("f{i}"), sub(rng)))
                .collect(),
        ),
        2 => Type::Tuple((0..1 + rng.below(4)).map(|_| sub(rng)).collect()),
        3 => {
            let count = case_count(rng);
            Type::Variant(
                (0..count)
                    .map(|i| {
                        let payload = (count < 8 && rng.chance(70)).then(|| sub(rng));
                        (format!("c{i}"), payload)
                    })
                    .collect(),
            )
        }
        4 => Type::Enum((0..case_count(rng)).map(|i| format!("e{i}")).collect()),
        5 => Type::Option(Arc::new(sub(rng))),
        6 => Type::Result {
            ok: rng.chance(70).then(|| Arc::new(sub(rng))),
            err: rng.chance(70).then(|| Arc::new(sub(rng))),
        },
        7 | 8 => Type::Flags((0..1 + rng.below(32)).map(|i| format!("g{i}")).collect()),
        _ => Type::Map(Arc::new((sub(rng), sub(rng)))),
    }
}

/// A character from one of the ranges that encodings treat differently.
fn gen_char(rng: &mut Rng, latin1_only: bool) -> char {
    let code = match rng.below(if latin1_only { 2 } else { 5 }) {
        0 => 0x20 + rng.below(0x5f) as u32,
        1 => 0x80 + rng.below(0x80) as u32,
        2 => 0x100 + rng.below(0xd800 - 0x100) as u32,
        3 => 0xe000 + rng.below(0x2000) as u32,
        // Astral: a surrogate pair in UTF-16.
        _ => 0x10000 + rng.below(0x10_0000) as u32,
    };
    char::from_u32(code).expect("the ranges hold only scalar values")
}

fn gen_string(rng: &mut Rng) -> String {
    let latin1_only = rng.chance(40);
    let len = match rng.below(10) {
        0 => 0,
        1 => 40 + rng.below(40),
        _ => 1 + rng.below(10),
    };
    (0..len).map(|_| gen_char(rng, latin1_only)).collect()
}

fn gen_f32(rng: &mut Rng) -> f32 {
    let special = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE / 4.0,
    ];
    if rng.chance(30) {
        return special[rng.below(special.len())];
    }
    let x = f32::from_bits(rng.next() as u32);
    if x.is_nan() { 1.5 } else { x }
}

fn gen_f64(rng: &mut Rng) -> f64 {
    let special = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 4.0,
    ];
    if rng.chance(30) {
        return special[rng.below(special.len())];
    }
    let x = f64::from_bits(rng.next());
    if x.is_nan() { -2.5 } else { x }
}

fn gen_val(rng: &mut Rng, ty: &Type, resource: &Arc<ResourceRt>) -> Val {
    match ty {
        Type::Bool => Val::Bool(rng.chance(50)),
        Type::S8 => Val::S8(rng.next() as i8),
        Type::U8 => Val::U8(rng.next() as u8),
        Type::S16 => Val::S16(rng.next() as i16),
        Type::U16 => Val::U16(rng.next() as u16),
        Type::S32 => Val::S32(rng.next() as i32),
        Type::U32 => Val::U32(rng.next() as u32),
        Type::S64 => Val::S64(rng.next() as i64),
        Type::U64 => Val::U64(rng.next()),
        Type::Float32 => Val::Float32(gen_f32(rng)),
        Type::Float64 => Val::Float64(gen_f64(rng)),
        Type::Char => Val::Char(gen_char(rng, false)),
        Type::String => Val::String(gen_string(rng)),
        Type::List(t) => Val::List(
            (0..rng.below(4))
                .map(|_| gen_val(rng, t, resource))
                .collect(),
        ),
        Type::Map(kv) => Val::Map(
            (0..rng.below(3))
                .map(|_| (gen_val(rng, &kv.0, resource), gen_val(rng, &kv.1, resource)))
                .collect(),
        ),
        Type::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(name, t)| (name.clone(), gen_val(rng, t, resource)))
                .collect(),
        ),
        Type::Tuple(types) => Val::Tuple(types.iter().map(|t| gen_val(rng, t, resource)).collect()),
        Type::Variant(cases) => {
            let (name, payload) = &cases[rng.below(cases.len())];
            Val::Variant(
                name.clone(),
                payload
                    .as_ref()
                    .map(|t| Box::new(gen_val(rng, t, resource))),
            )
        }
        Type::Enum(names) => Val::Enum(names[rng.below(names.len())].clone()),
        Type::Option(t) => Val::Option(rng.chance(60).then(|| Box::new(gen_val(rng, t, resource)))),
        Type::Result { ok, err } => {
            let payload = |rng: &mut Rng, t: &Option<Arc<Type>>| {
                t.as_ref().map(|t| Box::new(gen_val(rng, t, resource)))
            };
            Val::Result(if rng.chance(50) {
                Ok(payload(rng, ok))
            } else {
                Err(payload(rng, err))
            })
        }
        Type::Flags(names) => {
            Val::Flags(names.iter().filter(|_| rng.chance(50)).cloned().collect())
        }
        Type::Own(_) | Type::Borrow(_) => Val::Resource(ResourceAny {
            ty: resource.clone(),
            rep: rng.next() as u32,
            own: matches!(ty, Type::Own(_)),
        }),
    }
}

/// A growable byte memory with a bump `realloc`, and a handle table that gives each lowered
/// resource a fresh handle.
struct TestMemory {
    bytes: Vec<u8>,
    next: u32,
    handles: RefCell<Vec<ResourceAny>>,
}

impl TestMemory {
    fn new() -> Self {
        TestMemory {
            bytes: vec![0; 1 << 16],
            next: 1024,
            handles: RefCell::default(),
        }
    }

    fn handle(&self, resource: &ResourceAny) -> u32 {
        let mut handles = self.handles.borrow_mut();
        handles.push(resource.clone());
        handles.len() as u32
    }

    fn resource(&self, handle: u32, own: bool) -> Result<ResourceAny> {
        let handles = self.handles.borrow();
        let mut resource = handles
            .get(handle.wrapping_sub(1) as usize)
            .cloned()
            .ok_or_else(|| super::errors::trap(format!("unknown handle index {handle}")))?;
        resource.own = own;
        Ok(resource)
    }
}

impl GuestMemory for TestMemory {
    fn bytes(&self) -> Result<&[u8]> {
        Ok(&self.bytes)
    }
    fn bytes_mut(&mut self) -> Result<&mut [u8]> {
        Ok(&mut self.bytes)
    }
    fn realloc(&mut self, _: u32, _: u32, align: u32, size: u32) -> Result<u32> {
        let ptr = align_to(self.next, align);
        self.next = ptr + size;
        if self.next as usize > self.bytes.len() {
            self.bytes.resize(self.next as usize, 0);
        }
        Ok(ptr)
    }
    fn lift_own(&self, _: &ResourceType, handle: u32) -> Result<ResourceAny> {
        self.resource(handle, true)
    }
    fn lift_borrow(&self, _: &ResourceType, handle: u32) -> Result<ResourceAny> {
        self.resource(handle, false)
    }
    fn lower_own(&self, _: &ResourceType, resource: &ResourceAny) -> Result<u32> {
        Ok(self.handle(resource))
    }
    fn lower_borrow(&self, _: &ResourceType, resource: &ResourceAny) -> Result<u32> {
        Ok(self.handle(resource))
    }
}

/// A static resource type for the generated types (the test memory does not look at it).
fn resource_type() -> ResourceType {
    let mut validator = wasmparser::Validator::new();
    let bytes = wat::parse_str("(component (type (resource (rep i32))))").expect("valid text");
    let types = validator.validate_all(&bytes).expect("valid component");
    let id = types.component_any_type_at(0).unwrap_resource();
    ResourceType(id.resource())
}

/// The kinds of type in `ty` (its own and those nested in it), to check that the generator
/// reaches every kind.
fn kinds(ty: &Type, seen: &mut std::collections::BTreeSet<String>) {
    let name = ty.to_string();
    let kind = name.split(['<', ' ']).next().unwrap_or_default();
    seen.insert(kind.to_string());
    match ty {
        Type::List(t) | Type::Option(t) => kinds(t, seen),
        Type::Map(kv) => {
            kinds(&kv.0, seen);
            kinds(&kv.1, seen);
        }
        Type::Record(fields) => fields.iter().for_each(|(_, t)| kinds(t, seen)),
        Type::Tuple(types) => types.iter().for_each(|t| kinds(t, seen)),
        Type::Variant(cases) => cases
            .iter()
            .flat_map(|(_, t)| t)
            .for_each(|t| kinds(t, seen)),
        Type::Result { ok, err } => [ok, err].into_iter().flatten().for_each(|t| kinds(t, seen)),
        _ => {}
    }
}

fn cases(rng: &mut Rng, allowed: Allowed, count: usize) -> Vec<(Type, Vec<Val>)> {
    let resource = resource_type();
    let rt = Arc::new(ResourceRt::new(HOST_OWNER, None));
    (0..count)
        .map(|_| {
            let ty = gen_type(rng, 3, allowed, resource);
            let values = (0..4).map(|_| gen_val(rng, &ty, &rt)).collect();
            (ty, values)
        })
        .collect()
}

#[test]
fn generated_values_round_trip_through_flat_values_and_memory() {
    let mut rng = Rng(0x5eed_0001);
    let allowed = Allowed {
        resources: true,
        maps: true,
    };
    let mut checked = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (ty, values) in cases(&mut rng, allowed, 300 * scale()) {
        kinds(&ty, &mut seen);
        for value in &values {
            value.check(&ty).expect("generated values have their types");
            for encoding in ENCODINGS {
                let mut mem = TestMemory::new();
                let mut flat = Vec::new();
                lower_flat(&mut mem, encoding, value, &ty, &mut flat).unwrap();
                let mut core_types = Vec::new();
                flatten(&ty, &mut core_types);
                assert_eq!(flat.len(), core_types.len(), "{ty}");
                for (v, t) in flat.iter().zip(&core_types) {
                    let matches = matches!(
                        (v, t),
                        (crate::Val::I32(_), ValType::I32)
                            | (crate::Val::I64(_), ValType::I64)
                            | (crate::Val::F32(_), ValType::F32)
                            | (crate::Val::F64(_), ValType::F64)
                    );
                    assert!(matches, "{ty}: flat value {v:?} for {t:?}");
                }
                let back = lift_flat(&mem, encoding, &mut FlatReader::new(&flat), &ty).unwrap();
                assert_eq!(&back, value, "{ty} flat in {encoding:?}");

                let ptr = mem
                    .realloc(0, 0, super::abi::alignment(&ty), super::abi::size(&ty))
                    .unwrap();
                store(&mut mem, encoding, value, &ty, ptr).unwrap();
                let back = load(&mem, encoding, ptr, &ty).unwrap();
                assert_eq!(&back, value, "{ty} in memory in {encoding:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 300 * 4 * 3, "{checked} round trips");
    let every_kind = [
        "bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64", "char",
        "string", "list", "map", "record", "tuple", "variant", "enum", "option", "result", "flags",
        "own", "borrow",
    ];
    for kind in every_kind {
        assert!(seen.contains(kind), "no {kind} generated: {seen:?}");
    }
}

#[test]
fn strings_are_laid_out_as_their_encoding_says() {
    let mut rng = Rng(0x5eed_0002);
    for _ in 0..500 * scale() {
        let s = gen_string(&mut rng);
        let mut mem = TestMemory::new();

        let (ptr, len) = store_string_into(&mut mem, StringEncoding::Utf8, &s).unwrap();
        assert_eq!(&mem.bytes[ptr as usize..][..len as usize], s.as_bytes());

        let utf16: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let (ptr, len) = store_string_into(&mut mem, StringEncoding::Utf16, &s).unwrap();
        assert_eq!(len as usize, s.encode_utf16().count(), "{s:?}: code units");
        assert_eq!(&mem.bytes[ptr as usize..][..utf16.len()], utf16);

        let (ptr, len) = store_string_into(&mut mem, StringEncoding::CompactUtf16, &s).unwrap();
        if s.chars().all(|c| (c as u32) < 0x100) {
            let latin1: Vec<u8> = s.chars().map(|c| c as u8).collect();
            assert_eq!(len, latin1.len() as u32, "{s:?}: latin1, untagged");
            assert_eq!(&mem.bytes[ptr as usize..][..latin1.len()], latin1);
        } else {
            assert_eq!(len, s.encode_utf16().count() as u32 | UTF16_TAG, "{s:?}");
            assert_eq!(&mem.bytes[ptr as usize..][..utf16.len()], utf16);
        }

        // Transcoding: what one encoding stores, another loads and stores back unchanged.
        for from in ENCODINGS {
            for to in ENCODINGS {
                let (ptr, len) = store_string_into(&mut mem, from, &s).unwrap();
                let loaded = load_string_from(&mem, from, ptr, len).unwrap();
                let (ptr, len) = store_string_into(&mut mem, to, &loaded).unwrap();
                assert_eq!(load_string_from(&mem, to, ptr, len).unwrap(), s);
            }
        }
    }
}

#[test]
fn a_lone_surrogate_in_utf16_traps() {
    let mut mem = TestMemory::new();
    mem.bytes[2048..2052].copy_from_slice(&[0x3d, 0xd8, 0x41, 0x00]); // U+D83D, 'A'
    let err = load_string_from(&mem, StringEncoding::Utf16, 2048, 2).unwrap_err();
    assert!(err.is::<super::AbiTrap>(), "{err}");
    let err =
        load_string_from(&mem, StringEncoding::CompactUtf16, 2048, 2 | UTF16_TAG).unwrap_err();
    assert!(err.is::<super::AbiTrap>(), "{err}");
}

/// Names each record, variant, enum and flags type a component's function uses, exporting it
/// (exported functions may use only named types), and writes the others inline.
struct WatTypes {
    defs: String,
    count: usize,
}

impl WatTypes {
    fn new() -> Self {
        WatTypes {
            defs: String::new(),
            count: 0,
        }
    }

    fn named(&mut self, definition: String) -> String {
        let n = self.count;
        self.count += 1;
        let _ = writeln!(
            self.defs,
            "(type $t{n}' {definition}) (export $t{n} \"t{n}\" (type $t{n}'))"
        );
        format!("$t{n}")
    }

    fn ty(&mut self, ty: &Type) -> String {
        match ty {
            Type::List(t) => format!("(list {})", self.ty(t)),
            Type::Option(t) => format!("(option {})", self.ty(t)),
            Type::Tuple(types) => {
                let types: Vec<String> = types.iter().map(|t| self.ty(t)).collect();
                format!("(tuple {})", types.join(" "))
            }
            Type::Result { ok, err } => {
                let ok = ok.as_ref().map(|t| self.ty(t)).unwrap_or_default();
                let err = err
                    .as_ref()
                    .map(|t| format!("(error {})", self.ty(t)))
                    .unwrap_or_default();
                format!("(result {ok} {err})")
            }
            Type::Record(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(n, t)| format!("(field \"{n}\" {})", self.ty(t)))
                    .collect();
                self.named(format!("(record {})", fields.join(" ")))
            }
            Type::Variant(cases) => {
                let cases: Vec<String> = cases
                    .iter()
                    .map(|(n, t)| match t {
                        Some(t) => format!("(case \"{n}\" {})", self.ty(t)),
                        None => format!("(case \"{n}\")"),
                    })
                    .collect();
                self.named(format!("(variant {})", cases.join(" ")))
            }
            Type::Enum(names) => {
                let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                self.named(format!("(enum {})", names.join(" ")))
            }
            Type::Flags(names) => {
                let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                self.named(format!("(flags {})", names.join(" ")))
            }
            other => other.to_string(),
        }
    }
}

/// A core module with a memory and a `realloc` that bumps and grows the memory.
const LIBC: &str = r#"
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32) (local $end i32) (local $have i32)
      (local.set $ptr (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
      (local.set $end (i32.add (local.get $ptr) (local.get 3)))
      (local.set $have (i32.mul (memory.size) (i32.const 65536)))
      (if (i32.gt_u (local.get $end) (local.get $have))
        (then
          (if (i32.eq (memory.grow (i32.div_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                                       (i32.const 65535))
                                              (i32.const 65536)))
                      (i32.const -1))
            (then unreachable))))
      (global.set $next (local.get $end))
      (local.get $ptr))
"#;

fn encoding_option(encoding: StringEncoding) -> &'static str {
    match encoding {
        StringEncoding::Utf8 => "string-encoding=utf8",
        StringEncoding::Utf16 => "string-encoding=utf16",
        StringEncoding::CompactUtf16 => "string-encoding=latin1+utf16",
    }
}

/// A component exporting `echo: func(xs: list<T>) -> list<T>` whose core code (in `outer`'s
/// string encoding) calls the `echo` of a nested component (in `inner`'s), which returns its
/// argument's memory unchanged.
fn echo_component(ty: &Type, outer: StringEncoding, inner: StringEncoding) -> String {
    let mut inner_types = WatTypes::new();
    let inner_ty = inner_types.ty(ty);
    let mut outer_types = WatTypes::new();
    let outer_ty = outer_types.ty(ty);
    let (inner_defs, outer_defs) = (inner_types.defs, outer_types.defs);
    let (inner_enc, outer_enc) = (encoding_option(inner), encoding_option(outer));
    format!(
        r#"(component
  (component $inner
    (core module $m {LIBC}
      (func (export "echo") (param i32 i32) (result i32)
        (i32.store (i32.const 16) (local.get 0))
        (i32.store (i32.const 20) (local.get 1))
        (i32.const 16)))
    (core instance $i (instantiate $m))
    {inner_defs}
    (func (export "echo") (param "xs" (list {inner_ty})) (result (list {inner_ty}))
      (canon lift (core func $i "echo") (memory (core memory $i "mem"))
        (realloc (core func $i "realloc")) {inner_enc})))
  (instance $inner (instantiate $inner))
  (alias export $inner "echo" (func $inner-echo))
  (core module $libc {LIBC})
  (core instance $libc (instantiate $libc))
  (core func $inner-echo' (canon lower (func $inner-echo) (memory (core memory $libc "mem"))
    (realloc (core func $libc "realloc")) {outer_enc}))
  (core module $m
    (import "" "echo" (func $echo (param i32 i32 i32)))
    (func (export "echo") (param i32 i32) (result i32)
      (call $echo (local.get 0) (local.get 1) (i32.const 16))
      (i32.const 16)))
  (core instance $i (instantiate $m (with "" (instance (export "echo" (func $inner-echo'))))))
  {outer_defs}
  (func (export "echo") (param "xs" (list {outer_ty})) (result (list {outer_ty}))
    (canon lift (core func $i "echo") (memory (core memory $libc "mem"))
      (realloc (core func $libc "realloc")) {outer_enc})))"#
    )
}

#[test]
fn generated_values_come_back_unchanged_through_components_with_other_encodings() {
    let mut rng = Rng(0x5eed_0003);
    let allowed = Allowed {
        resources: false,
        maps: false,
    };
    let pairs = [
        (StringEncoding::Utf8, StringEncoding::Utf8),
        (StringEncoding::Utf8, StringEncoding::Utf16),
        (StringEncoding::Utf16, StringEncoding::CompactUtf16),
        (StringEncoding::CompactUtf16, StringEncoding::Utf8),
        (StringEncoding::CompactUtf16, StringEncoding::Utf16),
    ];
    let engine = Engine::default();
    let mut calls = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (case, (ty, values)) in cases(&mut rng, allowed, 40 * scale())
        .into_iter()
        .enumerate()
    {
        kinds(&ty, &mut seen);
        let (outer, inner) = pairs[case % pairs.len()];
        let source = echo_component(&ty, outer, inner);
        let component = Component::new(&engine, &source)
            .unwrap_or_else(|e| panic!("echo component for {ty} does not compile: {e}\n{source}"));
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &component)
            .unwrap();
        let echo = instance.get_func("echo").expect("echo is exported");
        let list = Val::List(values);
        let mut result = [Val::Bool(false)];
        echo.call(&mut store, std::slice::from_ref(&list), &mut result)
            .unwrap_or_else(|e| panic!("echo of {ty} ({outer:?} to {inner:?}): {e}"));
        assert_eq!(result[0], list, "{ty} ({outer:?} to {inner:?})");
        calls += 1;
    }
    assert_eq!(calls, 40 * scale());
    for kind in [
        "string", "list", "record", "tuple", "variant", "enum", "option", "result", "flags",
    ] {
        assert!(seen.contains(kind), "no {kind} generated: {seen:?}");
    }
}
