//! Component scripts: `(component …)` definitions and instances, invokes of component functions with
//! component values, and `assert_invalid`/`assert_malformed`/`assert_unlinkable` on components.
//!
//! [`ComponentState`] holds what a script has defined and instantiated; the runner in `lib.rs`
//! first offers each directive to `Runner::run_component`, which takes those whose text is a
//! component or whose invoke targets a component instance. Values convert between `wast`'s
//! [`WastVal`] and [`Val`].

use std::collections::HashMap;

use wast::WastArg;
use wast::component::WastVal;

use ward::component::{AbiTrap, Component, Instance, Linker, Val};
use ward::{Engine, Error, Store};

/// The components a script has defined and instantiated.
pub(crate) struct ComponentState {
    linker: Linker<()>,
    definitions: HashMap<String, Component>,
    last_definition: Option<Component>,
    instances: HashMap<String, Instance>,
    /// The most recent component instance, if it is more recent than any module instance.
    pub(crate) current: Option<Instance>,
}

impl ComponentState {
    pub(crate) fn new(engine: &Engine) -> Self {
        ComponentState {
            linker: Linker::new(engine),
            definitions: HashMap::new(),
            last_definition: None,
            instances: HashMap::new(),
            current: None,
        }
    }

    /// Records a component definition (`(component definition $C …)` or any `(component …)`).
    pub(crate) fn define(&mut self, name: Option<&str>, component: Component) {
        if let Some(name) = name {
            self.definitions.insert(name.to_string(), component.clone());
        }
        self.last_definition = Some(component);
    }

    /// The definition named `name`, or the last one.
    pub(crate) fn definition(&self, name: Option<&str>) -> Option<Component> {
        match name {
            Some(name) => self.definitions.get(name).cloned(),
            None => self.last_definition.clone(),
        }
    }

    /// Whether a definition is called `name`.
    pub(crate) fn has_definition(&self, name: &str) -> bool {
        self.definitions.contains_key(name)
    }

    /// Instantiates `component` and makes it the current instance (named `name`, if given).
    pub(crate) fn instantiate(
        &mut self,
        store: &mut Store<()>,
        component: &Component,
        name: Option<&str>,
    ) -> Result<(), Error> {
        // A failed instantiation leaves no current instance, so that later invokes fail plainly.
        self.current = None;
        let instance = self.linker.instantiate(store, component)?;
        if let Some(name) = name {
            self.instances.insert(name.to_string(), instance.clone());
        }
        self.current = Some(instance);
        Ok(())
    }

    /// Only instantiates, for `assert_unlinkable`.
    pub(crate) fn try_instantiate(
        &self,
        store: &mut Store<()>,
        component: &Component,
    ) -> Result<Instance, Error> {
        self.linker.instantiate(store, component)
    }

    /// The component instance an invoke of `module` targets, if it is one.
    pub(crate) fn target(&self, module: Option<&str>) -> Option<Instance> {
        match module {
            Some(name) => self.instances.get(name).cloned(),
            None => self.current.clone(),
        }
    }
}

/// Calls export `name` of `instance` with script arguments; returns its results.
pub(crate) fn invoke(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[WastArg<'_>],
) -> Result<Vec<Val>, Error> {
    let func = instance
        .get_func(name)
        .ok_or_else(|| Error::Usage(format!("no component function export `{name}`")))?;
    let params = args
        .iter()
        .map(|arg| match arg {
            WastArg::Component(v) => val(v),
            _ => Err(Error::Usage(
                "a core value passed to a component function".into(),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut results = vec![Val::Bool(false); usize::from(func.ty().result().is_some())];
    func.call(&mut *store, &params, &mut results)?;
    Ok(results)
}

/// The script value as a component value.
fn val(v: &WastVal<'_>) -> Result<Val, Error> {
    let boxed = |v: &Option<Box<WastVal<'_>>>| -> Result<Option<Box<Val>>, Error> {
        v.as_deref().map(|v| val(v).map(Box::new)).transpose()
    };
    Ok(match v {
        WastVal::Bool(b) => Val::Bool(*b),
        WastVal::U8(x) => Val::U8(*x),
        WastVal::S8(x) => Val::S8(*x),
        WastVal::U16(x) => Val::U16(*x),
        WastVal::S16(x) => Val::S16(*x),
        WastVal::U32(x) => Val::U32(*x),
        WastVal::S32(x) => Val::S32(*x),
        WastVal::U64(x) => Val::U64(*x),
        WastVal::S64(x) => Val::S64(*x),
        WastVal::F32(x) => Val::Float32(f32::from_bits(x.bits)),
        WastVal::F64(x) => Val::Float64(f64::from_bits(x.bits)),
        WastVal::Char(c) => Val::Char(*c),
        WastVal::String(s) => Val::String(s.to_string()),
        WastVal::List(items) => Val::List(items.iter().map(val).collect::<Result<_, _>>()?),
        WastVal::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(n, v)| Ok((n.to_string(), val(v)?)))
                .collect::<Result<_, Error>>()?,
        ),
        WastVal::Tuple(items) => Val::Tuple(items.iter().map(val).collect::<Result<_, _>>()?),
        WastVal::Variant(name, payload) => Val::Variant(name.to_string(), boxed(payload)?),
        WastVal::Enum(name) => Val::Enum(name.to_string()),
        WastVal::Option(payload) => Val::Option(boxed(payload)?),
        WastVal::Result(Ok(payload)) => Val::Result(Ok(boxed(payload)?)),
        WastVal::Result(Err(payload)) => Val::Result(Err(boxed(payload)?)),
        WastVal::Flags(names) => Val::Flags(names.iter().map(|n| n.to_string()).collect()),
        WastVal::Map(pairs) => Val::Map(
            pairs
                .iter()
                .map(|(k, v)| Ok((val(k)?, val(v)?)))
                .collect::<Result<_, Error>>()?,
        ),
    })
}

/// Whether `actual` is the script's `expected` value (NaN matches any NaN; flags in any order).
pub(crate) fn matches(actual: &Val, expected: &WastVal<'_>) -> bool {
    let payload = |a: &Option<Box<Val>>, e: &Option<Box<WastVal<'_>>>| match (a, e) {
        (None, None) => true,
        (Some(a), Some(e)) => matches(a, e),
        _ => false,
    };
    match (actual, expected) {
        (Val::Bool(a), WastVal::Bool(e)) => a == e,
        (Val::U8(a), WastVal::U8(e)) => a == e,
        (Val::S8(a), WastVal::S8(e)) => a == e,
        (Val::U16(a), WastVal::U16(e)) => a == e,
        (Val::S16(a), WastVal::S16(e)) => a == e,
        (Val::U32(a), WastVal::U32(e)) => a == e,
        (Val::S32(a), WastVal::S32(e)) => a == e,
        (Val::U64(a), WastVal::U64(e)) => a == e,
        (Val::S64(a), WastVal::S64(e)) => a == e,
        (Val::Float32(a), WastVal::F32(e)) => {
            let e = f32::from_bits(e.bits);
            (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits()
        }
        (Val::Float64(a), WastVal::F64(e)) => {
            let e = f64::from_bits(e.bits);
            (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits()
        }
        (Val::Char(a), WastVal::Char(e)) => a == e,
        (Val::String(a), WastVal::String(e)) => a == e,
        (Val::List(a), WastVal::List(e)) | (Val::Tuple(a), WastVal::Tuple(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(a, e)| matches(a, e))
        }
        (Val::Map(a), WastVal::Map(e)) => {
            a.len() == e.len()
                && a.iter()
                    .zip(e)
                    .all(|((ak, av), (ek, ev))| matches(ak, ek) && matches(av, ev))
        }
        (Val::Record(a), WastVal::Record(e)) => {
            a.len() == e.len()
                && a.iter()
                    .zip(e)
                    .all(|((an, av), (en, ev))| an == en && matches(av, ev))
        }
        (Val::Variant(an, ap), WastVal::Variant(en, ep)) => an == en && payload(ap, ep),
        (Val::Enum(a), WastVal::Enum(e)) => a == e,
        (Val::Option(a), WastVal::Option(e)) => payload(a, e),
        (Val::Result(Ok(a)), WastVal::Result(Ok(e))) => payload(a, e),
        (Val::Result(Err(a)), WastVal::Result(Err(e))) => payload(a, e),
        (Val::Flags(a), WastVal::Flags(e)) => {
            a.len() == e.len() && e.iter().all(|name| a.iter().any(|n| n == name))
        }
        _ => false,
    }
}

/// The message of a trap from a component call: a Wasm trap's, or the canonical ABI's.
pub(crate) fn trap_message(error: &Error) -> Option<String> {
    if let Some(trap) = error.downcast_ref::<AbiTrap>() {
        return Some(trap.to_string());
    }
    error.as_trap().map(|t| t.kind().message().to_string())
}

use wast::{QuoteWat, WastDirective, WastExecute, WastRet, Wat};

use crate::{Outcome, Runner};

/// Whether the script text is a component rather than a core module.
fn is_component_text(wat: &QuoteWat<'_>) -> bool {
    matches!(
        wat,
        QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
    )
}

/// The outcome of a component that failed to compile: a component using the async ABI stops the
/// script with one failure (`Outcome::Unsupported`), anything else fails the directive.
fn compile_failure(what: &str, error: Error) -> Outcome {
    if ward::component::is_unsupported_async(&error) {
        Outcome::Unsupported(format!("unsupported: {error}"))
    } else {
        Outcome::Fail(format!("{what} failed to compile: {error}"))
    }
}

/// The outcome of a directive that failed with `error`: what ward cannot run (the async ABI)
/// stops the script with one failure, anything else fails the directive.
fn failure(what: &str, error: Error) -> Outcome {
    if ward::component::is_unsupported_async(&error) {
        Outcome::Unsupported(format!("unsupported: {error}"))
    } else {
        Outcome::Fail(format!("{what}: {error}"))
    }
}

impl Runner {
    fn compile_component(&self, wat: &mut QuoteWat<'_>) -> Result<Component, Outcome> {
        let bytes = wat
            .encode()
            .map_err(|e| Outcome::Fail(format!("failed to encode component: {e}")))?;
        Component::from_binary(&self.engine, &bytes).map_err(|e| compile_failure("component", e))
    }

    /// Runs `directive` if it is about components; `None` hands it back to the core runner.
    pub(crate) fn run_component(&mut self, directive: &mut WastDirective<'_>) -> Option<Outcome> {
        Some(match directive {
            WastDirective::Module(wat) if is_component_text(wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                let component = match self.compile_component(wat) {
                    Ok(c) => c,
                    Err(outcome) => return Some(outcome),
                };
                self.components.define(None, component.clone());
                match self
                    .components
                    .instantiate(&mut self.store, &component, name.as_deref())
                {
                    Ok(()) => Outcome::Pass,
                    Err(e) => failure("component failed to instantiate", e),
                }
            }
            WastDirective::ModuleDefinition(wat) if is_component_text(wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                match self.compile_component(wat) {
                    Ok(component) => {
                        self.components.define(name.as_deref(), component);
                        Outcome::Pass
                    }
                    Err(outcome) => outcome,
                }
            }
            WastDirective::ModuleInstance {
                instance,
                module: Some(module),
                ..
            } if self.components.has_definition(module.name()) => {
                let component = self
                    .components
                    .definition(Some(module.name()))
                    .expect("checked by has_definition");
                let name = instance.map(|i| i.name().to_string());
                match self
                    .components
                    .instantiate(&mut self.store, &component, name.as_deref())
                {
                    Ok(()) => Outcome::Pass,
                    Err(e) => failure("component failed to instantiate", e),
                }
            }
            WastDirective::AssertInvalid {
                module, message, ..
            } if is_component_text(module) => {
                let Ok(bytes) = module.encode() else {
                    return Some(Outcome::Fail(format!(
                        "invalid component failed to encode (expected \"{message}\")"
                    )));
                };
                match Component::from_binary(&self.engine, &bytes) {
                    Ok(_) => Outcome::Fail(format!(
                        "expected invalid component (\"{message}\"), but it compiled"
                    )),
                    Err(Error::Invalid { .. }) => Outcome::Pass,
                    Err(e) => Outcome::Fail(format!(
                        "expected invalid component (\"{message}\"), got: {e}"
                    )),
                }
            }
            WastDirective::AssertMalformed {
                module, message, ..
            } if is_component_text(module) => {
                // Text that does not parse is malformed; a binary must be rejected by ward.
                let Ok(bytes) = module.encode() else {
                    return Some(Outcome::Pass);
                };
                match Component::from_binary(&self.engine, &bytes) {
                    Ok(_) => Outcome::Fail(format!(
                        "expected malformed component (\"{message}\"), but it compiled"
                    )),
                    Err(Error::Invalid { .. }) => Outcome::Pass,
                    Err(e) => Outcome::Fail(format!(
                        "expected malformed component (\"{message}\"), got: {e}"
                    )),
                }
            }
            WastDirective::AssertUnlinkable {
                module, message, ..
            } if matches!(module, Wat::Component(_)) => {
                let component = match module.encode() {
                    Ok(bytes) => match Component::from_binary(&self.engine, &bytes) {
                        Ok(c) => c,
                        Err(e) => return Some(compile_failure("component", e)),
                    },
                    Err(e) => {
                        return Some(Outcome::Fail(format!("failed to encode component: {e}")));
                    }
                };
                match self.components.try_instantiate(&mut self.store, &component) {
                    Ok(_) => Outcome::Fail(format!(
                        "expected unlinkable component (\"{message}\"), but it instantiated"
                    )),
                    Err(Error::Link(_)) => Outcome::Pass,
                    Err(e) => {
                        Outcome::Fail(format!("expected a link error (\"{message}\"), got: {e}"))
                    }
                }
            }
            WastDirective::Invoke(invoke) => {
                let target = self.components.target(invoke.module.map(|m| m.name()))?;
                match invoke_in(&mut self.store, &target, invoke.name, &invoke.args) {
                    Ok(_) => Outcome::Pass,
                    Err(e) => failure("invoke failed", e),
                }
            }
            WastDirective::AssertReturn {
                exec: WastExecute::Invoke(invoke),
                results,
                ..
            } => {
                let target = self.components.target(invoke.module.map(|m| m.name()))?;
                let actual = match invoke_in(&mut self.store, &target, invoke.name, &invoke.args) {
                    Ok(values) => values,
                    Err(e) => {
                        return Some(failure("expected a return, got error", e));
                    }
                };
                if actual.len() != results.len() {
                    return Some(Outcome::Fail(format!(
                        "expected {} results, got {}",
                        results.len(),
                        actual.len()
                    )));
                }
                for (i, (value, expected)) in actual.iter().zip(results.iter()).enumerate() {
                    let ok = match expected {
                        WastRet::Component(expected) => matches(value, expected),
                        _ => false,
                    };
                    if !ok {
                        return Some(Outcome::Fail(format!(
                            "result {i}: expected {expected:?}, got {value:?}"
                        )));
                    }
                }
                Outcome::Pass
            }
            WastDirective::AssertTrap {
                exec: WastExecute::Invoke(invoke),
                message,
                ..
            } => {
                let target = self.components.target(invoke.module.map(|m| m.name()))?;
                match invoke_in(&mut self.store, &target, invoke.name, &invoke.args) {
                    Ok(values) => {
                        Outcome::Fail(format!("expected trap \"{message}\", got {values:?}"))
                    }
                    Err(e) => match trap_message(&e) {
                        Some(actual) if trap_matches(&e, &actual, message) => Outcome::Pass,
                        Some(actual) => {
                            Outcome::Fail(format!("expected trap \"{message}\", got \"{actual}\""))
                        }
                        None => failure(&format!("expected trap \"{message}\", got error"), e),
                    },
                }
            }
            WastDirective::AssertTrap {
                exec: WastExecute::Wat(wat @ Wat::Component(_)),
                message,
                ..
            } => {
                let component = match wat.encode() {
                    Ok(bytes) => match Component::from_binary(&self.engine, &bytes) {
                        Ok(c) => c,
                        Err(e) => return Some(compile_failure("component", e)),
                    },
                    Err(e) => {
                        return Some(Outcome::Fail(format!("failed to encode component: {e}")));
                    }
                };
                match self.components.try_instantiate(&mut self.store, &component) {
                    Ok(_) => Outcome::Fail(format!(
                        "expected trap \"{message}\", but the component instantiated"
                    )),
                    Err(e) => match trap_message(&e) {
                        Some(actual) if trap_matches(&e, &actual, message) => Outcome::Pass,
                        Some(actual) => {
                            Outcome::Fail(format!("expected trap \"{message}\", got \"{actual}\""))
                        }
                        None => failure(&format!("expected trap \"{message}\", got error"), e),
                    },
                }
            }
            _ => return None,
        })
    }
}

/// Whether trap `error` (with message `actual`) is the one a script expects. The canonical ABI's
/// messages must contain the expected text; a core Wasm trap's short message (`unreachable`) may
/// also be contained in it, as in core scripts, since the reference tests spell Wasmtime's longer
/// ones (`wasm trap: wasm `unreachable` instruction executed`).
fn trap_matches(error: &Error, actual: &str, expected: &str) -> bool {
    actual.contains(expected) || (error.as_trap().is_some() && expected.contains(actual))
}

fn invoke_in(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[WastArg<'_>],
) -> Result<Vec<Val>, Error> {
    invoke(store, instance, name, args)
}
