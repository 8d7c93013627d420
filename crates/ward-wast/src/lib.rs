//! Runs WebAssembly spec scripts (`.wast`) against ward through its public embedding API.
//!
//! [`run_file`] executes every directive of one script and returns a [`Report`] of passed, failed and
//! skipped directives with the reason of each failure. Used by the `ward wast` command and by the spec
//! test driver in `tests/`.

mod component;
mod legacy_try;
mod text;

use std::collections::HashMap;
use std::path::Path;

use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

use ward::{
    AnyRef, Config, Engine, Error, Extern, ExternRef, Global, GlobalType, Instance, Linker, Memory,
    MemoryType, Module, Mutability, RefType, SharedMemory, Store, Table, TableType, TrapKind, Val,
    ValType,
};

/// The payload of a spec-script `ref.extern N` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternPayload(pub u32);

/// The payload of a spec-script `ref.host N` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPayload(pub u32);

/// One failed directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the directive in the script.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// The outcome of one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Directives that behaved as the script expects.
    pub passed: usize,
    /// Directives that did not.
    pub failed: usize,
    /// Directives ward does not run (threads, stack switching).
    pub skipped: usize,
    /// Why each failed directive failed.
    pub failures: Vec<Failure>,
    /// Defined functions of the script's modules the Cranelift tier compiled (0 unless the
    /// configuration's strategy is Cranelift).
    pub compiled_functions: u64,
    /// Defined functions of the script's modules left to the interpreter under the Cranelift
    /// strategy (0 with another strategy).
    pub interpreted_functions: u64,
    /// With fuel metering on: the fuel each `invoke` of the main thread consumed, in script
    /// order, or `None` for one that exhausted the stack (where the depth, and so the fuel,
    /// legitimately differs between tiers). For comparing tiers: fuel must not depend on them.
    pub fuel_consumed: Vec<Option<u64>>,
}

/// Errors that stop a script before its directives run.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The script path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The script text could not be parsed.
    #[error("failed to parse {path}: {message}")]
    Parse {
        /// The script path.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// The engine configuration was rejected.
    #[error("invalid engine configuration: {0}")]
    Engine(ward::Error),
}

/// The configuration scripts run in by default: every proposal ward implements is switched on,
/// including those off in a new [`Config`] (wide arithmetic, custom page sizes, legacy exception
/// handling), so that the spec's proposal scripts run as they are.
pub fn spec_config() -> Config {
    let mut config = Config::new();
    for proposal in ward::WasmProposal::ALL {
        config.wasm_proposal(*proposal, true);
    }
    config
}

/// Runs the script at `path` (in [`spec_config`]).
pub fn run_file(path: &Path) -> Result<Report, ScriptError> {
    run_file_with_config(path, &spec_config())
}

/// Runs the script at `path` in an engine made with `config` (with fuel metering on, the store gets
/// unlimited fuel: the point is to check that metering does not change behaviour).
///
/// The threads proposal's scripts (under a `proposals/threads` directory) were written before
/// multi-memory and reference types were standard, and expect modules with several memories or
/// tables to be invalid: they run with those two proposals switched off, as in the proposal's own
/// repository.
pub fn run_file_with_config(path: &Path, config: &Config) -> Result<Report, ScriptError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let in_threads_proposal = path
        .components()
        .map(|c| c.as_os_str())
        .collect::<Vec<_>>()
        .windows(2)
        .any(|pair| pair[0] == "proposals" && pair[1] == "threads");
    let mut config = config.clone();
    if in_threads_proposal {
        config.wasm_multi_memory(false).wasm_reference_types(false);
    }
    run_script_with_config(&text, &path.display().to_string(), &config)
}

/// Runs a script given as text (in [`spec_config`]); `name` is used in error messages.
pub fn run_script(text: &str, name: &str) -> Result<Report, ScriptError> {
    run_script_with_config(text, name, &spec_config())
}

/// Runs a script given as text in an engine made with `config`.
pub fn run_script_with_config(
    text: &str,
    name: &str,
    config: &Config,
) -> Result<Report, ScriptError> {
    let unfolded = legacy_try::unfold(text);
    let text = unfolded.as_deref().unwrap_or(text);
    let parse_error = |e: wast::Error| {
        let mut e = e;
        e.set_path(Path::new(name));
        e.set_text(text);
        ScriptError::Parse {
            path: name.to_string(),
            message: e.to_string(),
        }
    };
    // The spec's names.wast deliberately uses bidirectional and invisible characters in export names.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = ParseBuffer::new_with_lexer(lexer).map_err(parse_error)?;
    let script = parser::parse::<Wast>(&buffer).map_err(parse_error)?;
    let engine = Engine::new(config).map_err(ScriptError::Engine)?;
    let trace = std::env::var_os("WARD_WAST_TRACE").is_some();
    let context = Context { text, name, trace };
    let mut report = std::thread::scope(|scope| {
        Runner::new(&engine).run_all(script.directives, &context, scope)
    });
    (report.compiled_functions, report.interpreted_functions) = engine.tier_function_counts();
    Ok(report)
}

/// What the directives of a script (or of a thread in it) are run with.
struct Context<'t> {
    text: &'t str,
    name: &'t str,
    trace: bool,
}

/// A `thread` directive's directives running on their own OS thread, with their own store.
type ThreadHandle<'scope> = std::thread::ScopedJoinHandle<'scope, Report>;

impl Runner {
    /// Runs `directives` in order and reports them; `thread` directives run theirs on scoped OS
    /// threads, and `wait` joins one and adds its report.
    fn run_all<'scope, 'env, 'a: 'scope>(
        mut self,
        directives: Vec<WastDirective<'a>>,
        context: &'scope Context<'scope>,
        scope: &'scope std::thread::Scope<'scope, 'env>,
    ) -> Report {
        let mut report = Report::default();
        let mut threads: HashMap<String, ThreadHandle<'scope>> = HashMap::new();
        let total = directives.len();
        for (done, directive) in directives.into_iter().enumerate() {
            let line = directive.span().linecol_in(context.text).0 + 1;
            if context.trace {
                eprintln!("{}:{line}: running", context.name);
            }
            let outcome = match directive {
                WastDirective::Thread(thread) => {
                    let mut runner = Runner::new(&self.engine);
                    if let Some(id) = thread.shared_module {
                        match self.shared_exports(id) {
                            Ok(exports) => {
                                runner.shared_modules.insert(id.name().to_string(), exports)
                            }
                            Err(e) => {
                                report.record(line, Outcome::Fail(e));
                                continue;
                            }
                        };
                    }
                    let directives = thread.directives;
                    let handle = scope.spawn(move || runner.run_all(directives, context, scope));
                    threads.insert(thread.name.name().to_string(), handle);
                    Outcome::Pass
                }
                WastDirective::Wait { thread, .. } => match threads.remove(thread.name()) {
                    None => Outcome::Fail(format!("unknown thread ${}", thread.name())),
                    Some(handle) => match handle.join() {
                        Ok(thread_report) => {
                            report.merge(thread_report);
                            Outcome::Pass
                        }
                        Err(_) => Outcome::Fail(format!("thread ${} panicked", thread.name())),
                    },
                },
                directive => {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(directive)))
                        .unwrap_or_else(|panic| {
                            let message = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_else(|| "unknown panic".into());
                            Outcome::Fail(format!("ward panicked: {message}"))
                        })
                }
            };
            let stop = matches!(outcome, Outcome::Unsupported(_));
            report.record(line, outcome);
            if stop {
                report.skipped += total - done - 1;
                break;
            }
        }
        // Threads nobody waited for still count.
        for (name, handle) in threads {
            match handle.join() {
                Ok(thread_report) => report.merge(thread_report),
                Err(_) => report.record(0, Outcome::Fail(format!("thread ${name} panicked"))),
            }
        }
        report.fuel_consumed = self.fuel_log;
        report
    }

    /// The exports of instance `id` that may be used from another thread: its shared memories.
    fn shared_exports(&mut self, id: wast::token::Id<'_>) -> Result<Vec<(String, Extern)>, String> {
        let instance = self.instance(Some(id))?;
        Ok(instance
            .exports(&mut self.store)
            .into_iter()
            .filter(|(_, e)| matches!(e, Extern::SharedMemory(_)))
            .collect())
    }
}

impl Report {
    fn record(&mut self, line: usize, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Skip => self.skipped += 1,
            Outcome::Fail(message) | Outcome::Unsupported(message) => {
                self.failed += 1;
                self.failures.push(Failure { line, message });
            }
        }
    }

    fn merge(&mut self, other: Report) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.failures.extend(other.failures);
    }
}

enum Outcome {
    Pass,
    Fail(String),
    Skip,
    /// A construct ward does not support: one failure, and the rest of the script is skipped.
    Unsupported(String),
}

macro_rules! fail {
    ($($arg:tt)*) => { return Outcome::Fail(format!($($arg)*)) };
}

struct Runner {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    current: Option<Instance>,
    instances: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    last_definition: Option<Module>,
    /// Modules of another thread this thread may register (`thread … (shared (module $M))`): their
    /// shared memories.
    shared_modules: HashMap<String, Vec<(String, Extern)>>,
    /// The script's components.
    components: component::ComponentState,
    /// See [`Report::fuel_consumed`].
    fuel_log: Vec<Option<u64>>,
}

impl Runner {
    fn new(engine: &Engine) -> Self {
        let engine = engine.clone();
        let components = component::ComponentState::new(&engine);
        let mut store = Store::new(&engine, ());
        // Only fails when fuel is off, where there is nothing to set.
        let _ = store.set_fuel(u64::MAX);
        let mut linker = Linker::new(&engine);
        linker.allow_shadowing(true);
        define_spectest(&mut linker, &mut store).expect("the spectest module is well-formed");
        Runner {
            engine,
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            shared_modules: HashMap::new(),
            components,
            fuel_log: Vec::new(),
        }
    }

    fn compile(&self, wat: &mut QuoteWat<'_>) -> Result<Module, String> {
        let bytes = wat
            .encode()
            .map_err(|e| format!("failed to encode module: {e}"))?;
        Module::from_binary(&self.engine, &bytes).map_err(|e| e.to_string())
    }

    fn instantiate(&mut self, module: &Module, name: Option<&str>) -> Result<Instance, Error> {
        let instance = self.linker.instantiate(&mut self.store, module)?;
        self.current = Some(instance);
        self.components.current = None;
        if let Some(name) = name {
            self.instances.insert(name.to_string(), instance);
        }
        Ok(instance)
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Instance, String> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("unknown module ${}", id.name())),
            None => self
                .current
                .ok_or_else(|| "no module instantiated".to_string()),
        }
    }

    fn run(&mut self, mut directive: WastDirective<'_>) -> Outcome {
        if let Some(outcome) = self.run_component(&mut directive) {
            return outcome;
        }
        match directive {
            WastDirective::Module(mut wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                let module = match self.compile(&mut wat) {
                    Ok(m) => m,
                    Err(e) => fail!("module failed to compile: {e}"),
                };
                match self.instantiate(&module, name.as_deref()) {
                    Ok(_) => Outcome::Pass,
                    Err(e) => fail!("module failed to instantiate: {e}"),
                }
            }
            WastDirective::ModuleDefinition(mut wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                match self.compile(&mut wat) {
                    Ok(module) => {
                        if let Some(name) = name {
                            self.definitions.insert(name, module.clone());
                        }
                        self.last_definition = Some(module);
                        Outcome::Pass
                    }
                    Err(e) => fail!("module definition failed to compile: {e}"),
                }
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let definition = match module {
                    Some(id) => self.definitions.get(id.name()).cloned(),
                    None => self.last_definition.clone(),
                };
                let Some(definition) = definition else {
                    fail!("unknown module definition")
                };
                match self.instantiate(&definition, instance.map(|i| i.name())) {
                    Ok(_) => Outcome::Pass,
                    Err(e) => fail!("module failed to instantiate: {e}"),
                }
            }
            WastDirective::Register { name, module, .. } => {
                if let Some(exports) = module.and_then(|id| self.shared_modules.get(id.name())) {
                    for (export, item) in exports.clone() {
                        if let Err(e) = self.linker.define(&self.store, name, &export, item) {
                            fail!("register failed: {e}")
                        }
                    }
                    return Outcome::Pass;
                }
                let instance = match self.instance(module) {
                    Ok(i) => i,
                    Err(e) => fail!("{e}"),
                };
                match self.linker.instance(&mut self.store, name, instance) {
                    Ok(_) => Outcome::Pass,
                    Err(e) => fail!("register failed: {e}"),
                }
            }
            WastDirective::Invoke(invoke) => match self.invoke(&invoke) {
                Ok(_) => Outcome::Pass,
                Err(e) => fail!("invoke failed: {e}"),
            },
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = match self.execute(exec) {
                    Ok(values) => values,
                    Err(e) => fail!("expected a return, got error: {e}"),
                };
                if actual.len() != results.len() {
                    fail!("expected {} results, got {}", results.len(), actual.len());
                }
                for (i, (value, expected)) in actual.iter().zip(&results).enumerate() {
                    let ok = match expected {
                        WastRet::Core(expected) => self.matches(value, expected),
                        _ => false,
                    };
                    if !ok {
                        let expected = match expected {
                            WastRet::Core(core) => text::expected_text(core),
                            _ => "a component value".to_string(),
                        };
                        fail!(
                            "result {i}: expected {expected}, got {}",
                            text::val_text(&self.store, value)
                        );
                    }
                }
                Outcome::Pass
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(values) => fail!(
                    "expected trap \"{message}\", got {}",
                    text::vals_text(&self.store, &values)
                ),
                Err(Error::Trap(trap)) => {
                    let actual = trap.kind().message();
                    if actual.contains(message) || message.contains(actual) {
                        Outcome::Pass
                    } else {
                        fail!("expected trap \"{message}\", got \"{actual}\"")
                    }
                }
                Err(e) => fail!("expected trap \"{message}\", got error: {e}"),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(values) => fail!(
                    "expected exhaustion \"{message}\", got {}",
                    text::vals_text(&self.store, &values)
                ),
                Err(Error::Trap(trap)) if trap.kind() == TrapKind::StackOverflow => Outcome::Pass,
                Err(e) => fail!("expected exhaustion \"{message}\", got: {e}"),
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => {
                let bytes = match module.encode() {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        fail!("invalid module failed to encode (expected \"{message}\"): {e}")
                    }
                };
                match Module::from_binary(&self.engine, &bytes) {
                    Ok(_) => fail!("expected invalid module (\"{message}\"), but it compiled"),
                    Err(Error::Invalid { .. }) => Outcome::Pass,
                    Err(e) => fail!("expected invalid module (\"{message}\"), got: {e}"),
                }
            }
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => {
                // Text that does not parse is malformed; a binary must be rejected by ward.
                let Ok(bytes) = module.encode() else {
                    return Outcome::Pass;
                };
                match Module::from_binary(&self.engine, &bytes) {
                    Ok(_) => fail!("expected malformed module (\"{message}\"), but it compiled"),
                    Err(Error::Invalid { .. }) => Outcome::Pass,
                    Err(e) => fail!("expected malformed module (\"{message}\"), got: {e}"),
                }
            }
            WastDirective::AssertInvalidCustom { mut module, .. }
            | WastDirective::AssertMalformedCustom { mut module, .. } => {
                // A broken custom section does not make a module invalid; ward must still accept it.
                match self.compile(&mut module) {
                    Ok(_) => Outcome::Pass,
                    Err(e) => fail!("module with a malformed custom section was rejected: {e}"),
                }
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = match module.encode() {
                    Ok(bytes) => bytes,
                    Err(e) => fail!("module failed to encode: {e}"),
                };
                let module = match Module::from_binary(&self.engine, &bytes) {
                    Ok(m) => m,
                    Err(e) => fail!("expected unlinkable module, but it failed to compile: {e}"),
                };
                match self.linker.instantiate(&mut self.store, &module) {
                    Ok(_) => {
                        fail!("expected unlinkable module (\"{message}\"), but it instantiated")
                    }
                    Err(Error::Link(_)) => Outcome::Pass,
                    Err(e) => fail!("expected a link error (\"{message}\"), got: {e}"),
                }
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(values) => fail!(
                    "expected an exception, got {}",
                    text::vals_text(&self.store, &values)
                ),
                Err(Error::Exception(_)) => Outcome::Pass,
                Err(e) => fail!("expected an exception, got error: {e}"),
            },
            WastDirective::AssertSuspension { .. } => Outcome::Skip,
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                unreachable!("run by `run_all`")
            }
        }
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>, Error> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module).map_err(Error::Usage)?;
                let global = instance
                    .get_global(&self.store, global)
                    .ok_or_else(|| Error::Usage(format!("no global export `{global}`")))?;
                Ok(vec![global.get(&self.store)])
            }
            WastExecute::Wat(wat) => {
                let mut wat = QuoteWat::Wat(wat);
                let module = self.compile(&mut wat).map_err(Error::Usage)?;
                self.linker.instantiate(&mut self.store, &module)?;
                Ok(Vec::new())
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>, Error> {
        let instance = self.instance(invoke.module).map_err(Error::Usage)?;
        let func = instance
            .get_func(&self.store, invoke.name)
            .ok_or_else(|| Error::Usage(format!("no function export `{}`", invoke.name)))?;
        let mut args = Vec::with_capacity(invoke.args.len());
        for arg in &invoke.args {
            let WastArg::Core(arg) = arg else {
                return Err(Error::Usage(
                    "component-model arguments are not supported".into(),
                ));
            };
            args.push(self.arg(arg)?);
        }
        let ty = func.ty(&self.store);
        // A host reference passed where the function takes an `any` reference is internalized.
        for (arg, param) in args.iter_mut().zip(ty.params()) {
            if let (Val::ExternRef(Some(e)), ValType::Ref(r)) = (*arg, param)
                && !matches!(r.heap, ward::HeapType::Extern | ward::HeapType::NoExtern)
            {
                *arg = Val::AnyRef(Some(AnyRef::from_extern(e)));
            }
        }
        let mut results: Vec<Val> = ty
            .results()
            .iter()
            .map(|t| Val::default_for(*t).unwrap_or(Val::FuncRef(None)))
            .collect();
        let fuel_before = self.store.get_fuel().ok();
        let outcome = func.call(&mut self.store, &args, &mut results);
        if let (Some(before), Ok(after)) = (fuel_before, self.store.get_fuel()) {
            let exhausted = outcome
                .as_ref()
                .err()
                .and_then(Error::as_trap)
                .is_some_and(|t| t.kind() == ward::TrapKind::StackOverflow);
            self.fuel_log
                .push((!exhausted).then(|| before.saturating_sub(after)));
        }
        outcome?;
        Ok(results)
    }

    fn arg(&mut self, arg: &WastArgCore<'_>) -> Result<Val, Error> {
        Ok(match arg {
            WastArgCore::I32(v) => Val::I32(*v),
            WastArgCore::I64(v) => Val::I64(*v),
            WastArgCore::F32(v) => Val::F32(v.bits),
            WastArgCore::F64(v) => Val::F64(v.bits),
            WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
            WastArgCore::RefNull(heap) => {
                if is_func_heap(heap) {
                    Val::FuncRef(None)
                } else {
                    Val::ExternRef(None)
                }
            }
            WastArgCore::RefExtern(n) => Val::ExternRef(Some(
                ExternRef::new(&mut self.store, ExternPayload(*n))
                    .expect("ward keeps host values outside the GC heap"),
            )),
            // `ref.host N` is host value N seen as an `anyref` (internalized where the parameter
            // asks for one, see `invoke`); `ref.extern N` is the same value as an `externref`.
            WastArgCore::RefHost(n) => Val::ExternRef(Some(
                ExternRef::new(&mut self.store, ExternPayload(*n))
                    .expect("ward keeps host values outside the GC heap"),
            )),
        })
    }

    fn matches(&self, value: &Val, expected: &WastRetCore<'_>) -> bool {
        match (expected, value) {
            (WastRetCore::I32(e), Val::I32(a)) => e == a,
            (WastRetCore::I64(e), Val::I64(a)) => e == a,
            (WastRetCore::F32(e), Val::F32(a)) => f32_matches(e, *a),
            (WastRetCore::F64(e), Val::F64(a)) => f64_matches(e, *a),
            (WastRetCore::V128(e), Val::V128(a)) => v128_matches(e, *a),
            (WastRetCore::RefNull(_), v) => v.is_null(),
            (WastRetCore::RefFunc(_), Val::FuncRef(f)) => f.is_some(),
            (WastRetCore::RefExtern(None), Val::ExternRef(e)) => e.is_some(),
            (WastRetCore::RefExtern(Some(n)), Val::ExternRef(Some(e))) => e
                .data(&self.store)
                .ok()
                .flatten()
                .and_then(|d| d.downcast_ref::<ExternPayload>())
                .is_some_and(|p| p.0 == *n),
            (WastRetCore::RefHost(n), Val::ExternRef(Some(e))) => {
                e.data(&self.store).ok().flatten().is_some_and(|d| {
                    d.downcast_ref::<ExternPayload>().map(|p| p.0) == Some(*n)
                        || d.downcast_ref::<HostPayload>().map(|p| p.0) == Some(*n)
                })
            }
            (WastRetCore::RefHost(n), Val::AnyRef(Some(a))) => a
                .to_extern()
                .data(&self.store)
                .ok()
                .flatten()
                .and_then(|d| d.downcast_ref::<ExternPayload>())
                .is_some_and(|p| p.0 == *n),
            (WastRetCore::RefAny, Val::AnyRef(a)) => a.is_some(),
            (WastRetCore::RefEq, Val::AnyRef(Some(a))) => {
                a.is_i31(&self.store).unwrap_or(false)
                    || a.is_struct(&self.store).unwrap_or(false)
                    || a.is_array(&self.store).unwrap_or(false)
            }
            (WastRetCore::RefI31 | WastRetCore::RefI31Shared, Val::AnyRef(Some(a))) => {
                a.is_i31(&self.store).unwrap_or(false)
            }
            (WastRetCore::RefStruct, Val::AnyRef(Some(a))) => {
                a.is_struct(&self.store).unwrap_or(false)
            }
            (WastRetCore::RefArray, Val::AnyRef(Some(a))) => {
                a.is_array(&self.store).unwrap_or(false)
            }
            (WastRetCore::Either(options), v) => options.iter().any(|o| self.matches(v, o)),
            _ => false,
        }
    }
}

fn f32_matches(expected: &NanPattern<wast::token::F32>, actual: u32) -> bool {
    match expected {
        NanPattern::CanonicalNan => actual & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => actual & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => v.bits == actual,
    }
}

fn f64_matches(expected: &NanPattern<wast::token::F64>, actual: u64) -> bool {
    match expected {
        NanPattern::CanonicalNan => actual & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => actual & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => v.bits == actual,
    }
}

/// Compares a `v128` result lane by lane against the expected lane shape.
fn v128_matches(expected: &V128Pattern, actual: u128) -> bool {
    let bytes = actual.to_le_bytes();
    let lane = |i: usize, width: usize| -> u64 {
        let mut buf = [0u8; 8];
        buf[..width].copy_from_slice(&bytes[i * width..(i + 1) * width]);
        u64::from_le_bytes(buf)
    };
    match expected {
        V128Pattern::I8x16(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 1) == *v as u8 as u64),
        V128Pattern::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 2) == *v as u16 as u64),
        V128Pattern::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 4) == *v as u32 as u64),
        V128Pattern::I64x2(e) => e.iter().enumerate().all(|(i, v)| lane(i, 8) == *v as u64),
        V128Pattern::F32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| f32_matches(v, lane(i, 4) as u32)),
        V128Pattern::F64x2(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| f64_matches(v, lane(i, 8))),
    }
}

fn is_func_heap(heap: &HeapType<'_>) -> bool {
    match heap {
        HeapType::Abstract { ty, .. } => {
            matches!(ty, AbstractHeapType::Func | AbstractHeapType::NoFunc)
        }
        HeapType::Concrete(_) | HeapType::Exact(_) => true,
    }
}

/// Defines the `spectest` module the scripts import from.
fn define_spectest(linker: &mut Linker<()>, store: &mut Store<()>) -> Result<(), Error> {
    linker.func_wrap("spectest", "print", || {})?;
    linker.func_wrap("spectest", "print_i32", |_: i32| {})?;
    linker.func_wrap("spectest", "print_i64", |_: i64| {})?;
    linker.func_wrap("spectest", "print_f32", |_: f32| {})?;
    linker.func_wrap("spectest", "print_f64", |_: f64| {})?;
    linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?;
    linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;
    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, value) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), value)?;
        linker.define(&*store, "spectest", name, global)?;
    }
    let table = Table::new(
        &mut *store,
        TableType::new(RefType::FUNCREF, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(&*store, "spectest", "table", table)?;
    let table64 = Table::new(
        &mut *store,
        TableType {
            table64: true,
            ..TableType::new(RefType::FUNCREF, 10, Some(20))
        },
        Val::FuncRef(None),
    )?;
    linker.define(&*store, "spectest", "table64", table64)?;
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&*store, "spectest", "memory", memory)?;
    let shared = SharedMemory::new(store.engine(), MemoryType::shared(1, 2))?;
    linker.define(&*store, "spectest", "shared_memory", shared)?;
    Ok(())
}
