//! Parses and validates a component binary into a [`ComponentDef`].
//!
//! One wasmparser validator, with the component-model features and the engine's core proposals,
//! walks every payload, nested modules and components included. Each component being parsed has a
//! [`Builder`] on a stack; a nested core module is compiled with [`Module::from_binary`] once the
//! validator has seen all of it (that compilation validates its function bodies, which the component
//! validator leaves to its caller). Outer aliases of modules and components are resolved here, to
//! the enclosing component's definition, so that instantiation never looks outward. The `stream`,
//! `future` and `error-context` types are rejected with [`Error::Unsupported`] naming `async`,
//! after the whole component validated; the async canonical options are recorded for `func`. If
//! wasmparser reports a name clash that only its hyphen-blind comparison finds, the walk is done
//! again on a copy with encoded names, and every name kept is decoded (`kebab`). Called by
//! [`Component::from_binary`](super::Component::from_binary).

use std::ops::Range;
use std::sync::Arc;

use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind,
    ComponentOuterAliasKind, ComponentTypeRef, Encoding, ExternalKind, Instance, Parser, Payload,
    ValidPayload, Validator, WasmFeatures,
};

use super::definition::{
    CanonOptions, ComponentDef, CoreSort, Definition, ResourceIntrinsic, Sort, Space,
    StringEncoding, TaskBuiltin,
};
use super::kebab::{self, Names};
use super::types::{ResourceType, TypeConverter};
use crate::{Engine, Error, Module, Result};
use wasmparser::component_types::ComponentAnyTypeId;

/// The component-model features ward validates with, on top of the engine's core proposals. The
/// async ABI and its companions are on so that a component using them validates and is then
/// reported as unsupported (`async: …`) rather than as invalid.
pub(crate) fn component_features() -> WasmFeatures {
    WasmFeatures::COMPONENT_MODEL
        | WasmFeatures::CM_ASYNC
        | WasmFeatures::CM_ASYNC_STACKFUL
        | WasmFeatures::CM_MORE_ASYNC_BUILTINS
        | WasmFeatures::CM_THREADING
        | WasmFeatures::CM_ERROR_CONTEXT
        | WasmFeatures::CM_IMPLEMENTS
        | WasmFeatures::CM_FIXED_LENGTH_LISTS
        | WasmFeatures::CM_MAP
}

/// A component under construction.
#[derive(Default)]
struct Builder {
    def: ComponentDef,
    /// The module index space as far as it is known before instantiation: `Some` for modules
    /// defined (or outer-aliased) here, `None` for imported or aliased ones.
    modules: Vec<Option<Module>>,
    /// The component index space, likewise.
    components: Vec<Option<Arc<ComponentDef>>>,
    /// How many items each component-level index space holds so far.
    counts: SpaceCounts,
    converter: Option<TypeConverter>,
    /// Whether the names in the binary are the component's own or encoded ones (see `kebab`).
    names: Names,
}

#[derive(Default)]
struct SpaceCounts {
    core_funcs: u32,
    core_instances: u32,
    types: u32,
    funcs: u32,
    instances: u32,
}

/// What the parser is inside of.
enum Frame {
    Component(Box<Builder>),
    /// A nested core module: its bytes' range in the component.
    Module(Range<usize>),
}

/// The first construct ward does not support, reported once the component is known to be valid.
type Deferred = Option<Error>;

pub(crate) fn parse(engine: &Engine, bytes: &[u8]) -> Result<ComponentDef> {
    // The same bytes, offsets included, with the `cancellable` flags wasmparser cannot read yet
    // cleared (see `cancel_flag`).
    let normalized = super::cancel_flag::normalize(bytes)?;
    let first = parse_names(engine, &normalized, Names::AsWritten);
    // wasmparser ignores hyphens when it checks that names are unique; when that is the only
    // reason it found a clash, the component is walked again through a copy with encoded names
    // (see `kebab`).
    let Err(Error::Invalid { message, offset }) = first else {
        return first;
    };
    let spurious = kebab::conflict(&message).is_some_and(|(a, b)| !kebab::really_equal(a, b));
    let copy = if spurious {
        kebab::rename_labels(&normalized)
    } else {
        None
    };
    let Some(copy) = copy else {
        return Err(Error::Invalid { message, offset });
    };
    match parse_names(engine, &copy, Names::Encoded) {
        Err(Error::Invalid {
            message: second,
            offset: second_offset,
        }) => {
            let second = kebab::restore_message(&second);
            // The same clash again (names that `really_equal` told apart only by the version
            // suffix the message appends, say): wasmparser's first report, with its offset in
            // the original.
            let offset = if second == message {
                offset
            } else {
                second_offset
            };
            Err(Error::Invalid {
                message: second,
                offset,
            })
        }
        second => second,
    }
}

/// Validates and walks `bytes`, whose component-level names are as `names` says.
fn parse_names(engine: &Engine, bytes: &[u8], names: Names) -> Result<ComponentDef> {
    let mut validator = Validator::new_with_features(engine.features() | component_features());
    let mut stack: Vec<Frame> = Vec::new();
    let mut finished: Option<ComponentDef> = None;
    let mut deferred: Deferred = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(Error::invalid)?;
        let valid = validator.payload(&payload).map_err(Error::invalid)?;
        if let ValidPayload::End(_) = valid {
            match stack.pop() {
                Some(Frame::Module(range)) => {
                    let module = match compile_nested_module(engine, bytes, range) {
                        Ok(module) => Some(module),
                        Err(e @ Error::Unsupported { .. }) => {
                            deferred.get_or_insert(e);
                            None
                        }
                        Err(e) => return Err(e),
                    };
                    if let Some(Frame::Component(parent)) = stack.last_mut() {
                        parent.push_module(module);
                    }
                }
                Some(Frame::Component(builder)) => {
                    let def = Arc::new(builder.def);
                    match stack.last_mut() {
                        Some(Frame::Component(parent)) => parent.push_component(def),
                        Some(Frame::Module(_)) => unreachable!("a module cannot hold a component"),
                        None => {
                            finished = Some(
                                Arc::try_unwrap(def).expect("only the stack held the component"),
                            )
                        }
                    }
                }
                None => {}
            }
            continue;
        }
        match &payload {
            Payload::Version {
                encoding, range, ..
            } => match encoding {
                Encoding::Component => stack.push(Frame::Component(Box::new(Builder {
                    names,
                    ..Builder::default()
                }))),
                Encoding::Module if stack.is_empty() => {
                    return Err(Error::Invalid {
                        message:
                            "expected a component, found a core module (load it with `Module::new`)"
                                .into(),
                        offset: range.start as usize,
                    });
                }
                // The module's frame was pushed at its `ModuleSection`.
                Encoding::Module => {}
            },
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                let range = unchecked_range.start as usize..unchecked_range.end as usize;
                stack.push(Frame::Module(range));
            }
            // The nested component's frame is pushed at its `Version` payload.
            Payload::ComponentSection { .. } => {}
            _ => {
                if deferred.is_some() {
                    continue;
                }
                // Inside a nested module, payloads belong to that module's own compilation.
                let (Some(Frame::Component(builder)), parents) = split_last(&mut stack) else {
                    continue;
                };
                let types = validator
                    .types(0)
                    .expect("the validator is inside the component being parsed");
                let offset = payload.as_section().map_or(0, |(_, r)| r.start as usize);
                if let Err(e) = builder.collect(payload, types, parents, offset) {
                    match e {
                        Error::Unsupported { .. } => deferred = Some(e),
                        e => return Err(e),
                    }
                }
            }
        }
    }
    if let Some(e) = deferred {
        return Err(e);
    }
    finished.ok_or_else(|| Error::Invalid {
        message: "unexpected end of component".into(),
        offset: bytes.len(),
    })
}

fn split_last(stack: &mut [Frame]) -> (Option<&mut Frame>, &[Frame]) {
    match stack.split_last_mut() {
        Some((last, rest)) => (Some(last), rest),
        None => (None, &[]),
    }
}

fn compile_nested_module(engine: &Engine, bytes: &[u8], range: Range<usize>) -> Result<Module> {
    let start = range.start;
    let module_bytes = bytes.get(range).ok_or_else(|| Error::Invalid {
        message: "nested module outside the component".into(),
        offset: start,
    })?;
    Module::from_binary(engine, module_bytes).map_err(|e| match e {
        Error::Invalid { message, offset } => Error::Invalid {
            message,
            offset: offset + start,
        },
        Error::Unsupported { feature, offset } => Error::Unsupported {
            feature,
            offset: offset + start,
        },
        e => e,
    })
}

fn unsupported(feature: impl Into<String>, offset: usize) -> Error {
    Error::Unsupported {
        feature: feature.into(),
        offset,
    }
}

fn core_sort(kind: ExternalKind) -> CoreSort {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => CoreSort::Func,
        ExternalKind::Table => CoreSort::Table,
        ExternalKind::Memory => CoreSort::Memory,
        ExternalKind::Global => CoreSort::Global,
        ExternalKind::Tag => CoreSort::Tag,
    }
}

fn sort(kind: ComponentExternalKind) -> Sort {
    match kind {
        ComponentExternalKind::Module => Sort::Module,
        ComponentExternalKind::Func => Sort::Func,
        ComponentExternalKind::Value => Sort::Value,
        ComponentExternalKind::Type => Sort::Type,
        ComponentExternalKind::Instance => Sort::Instance,
        ComponentExternalKind::Component => Sort::Component,
    }
}

fn type_ref_sort(ty: &ComponentTypeRef) -> Sort {
    match ty {
        ComponentTypeRef::Module(_) => Sort::Module,
        ComponentTypeRef::Func(_) => Sort::Func,
        ComponentTypeRef::Value(_) => Sort::Value,
        ComponentTypeRef::Type(_) => Sort::Type,
        ComponentTypeRef::Instance(_) => Sort::Instance,
        ComponentTypeRef::Component(_) => Sort::Component,
    }
}

fn canon_options(options: &[CanonicalOption], offset: usize) -> Result<CanonOptions> {
    let mut out = CanonOptions::default();
    for option in options {
        match option {
            CanonicalOption::UTF8 => out.string_encoding = StringEncoding::Utf8,
            CanonicalOption::UTF16 => out.string_encoding = StringEncoding::Utf16,
            CanonicalOption::CompactUTF16 => out.string_encoding = StringEncoding::CompactUtf16,
            CanonicalOption::Memory(m) => out.memory = Some(*m),
            CanonicalOption::Realloc(f) => out.realloc = Some(*f),
            CanonicalOption::PostReturn(f) => out.post_return = Some(*f),
            CanonicalOption::Async => out.is_async = true,
            CanonicalOption::Callback(_) => out.callback = true,
            CanonicalOption::CoreType(_) | CanonicalOption::Gc => {
                return Err(unsupported(
                    "the GC canonical ABI (`gc` and `core-type` options)",
                    offset,
                ));
            }
        }
    }
    Ok(out)
}

/// The async-ABI and threading builtins: their `canon` names, for the error.
fn builtin_name(f: &CanonicalFunction) -> &'static str {
    use CanonicalFunction as C;
    match f {
        C::Lift { .. } => "lift",
        C::Lower { .. } => "lower",
        C::ResourceNew { .. } => "resource.new",
        C::ResourceDrop { .. } => "resource.drop",
        C::ResourceRep { .. } => "resource.rep",
        C::ThreadSpawnRef { .. } => "thread.spawn-ref",
        C::ThreadSpawnIndirect { .. } => "thread.spawn-indirect",
        C::ThreadAvailableParallelism => "thread.available-parallelism",
        C::BackpressureInc => "backpressure.inc",
        C::BackpressureDec => "backpressure.dec",
        C::TaskReturn { .. } => "task.return",
        C::TaskCancel => "task.cancel",
        C::ContextGet { .. } => "context.get",
        C::ContextSet { .. } => "context.set",
        C::ThreadYield => "thread.yield",
        C::SubtaskDrop => "subtask.drop",
        C::SubtaskCancel { .. } => "subtask.cancel",
        C::StreamNew { .. } => "stream.new",
        C::StreamRead { .. } => "stream.read",
        C::StreamWrite { .. } => "stream.write",
        C::StreamForward { .. } => "stream.forward",
        C::StreamCancelRead { .. } => "stream.cancel-read",
        C::StreamCancelWrite { .. } => "stream.cancel-write",
        C::StreamDropReadable { .. } => "stream.drop-readable",
        C::StreamDropWritable { .. } => "stream.drop-writable",
        C::FutureNew { .. } => "future.new",
        C::FutureRead { .. } => "future.read",
        C::FutureWrite { .. } => "future.write",
        C::FutureForward { .. } => "future.forward",
        C::FutureCancelRead { .. } => "future.cancel-read",
        C::FutureCancelWrite { .. } => "future.cancel-write",
        C::FutureDropReadable { .. } => "future.drop-readable",
        C::FutureDropWritable { .. } => "future.drop-writable",
        C::ErrorContextNew { .. } => "error-context.new",
        C::ErrorContextDebugMessage { .. } => "error-context.debug-message",
        C::ErrorContextDrop => "error-context.drop",
        C::WaitableSetNew => "waitable-set.new",
        C::WaitableSetWait { .. } => "waitable-set.wait",
        C::WaitableSetPoll { .. } => "waitable-set.poll",
        C::WaitableSetDrop => "waitable-set.drop",
        C::WaitableJoin => "waitable.join",
        C::ThreadIndex => "thread.index",
        C::ThreadNewIndirect { .. } => "thread.new-indirect",
        C::ThreadResumeLater => "thread.resume-later",
        C::ThreadSuspend => "thread.suspend",
        C::ThreadSuspendThenResume => "thread.suspend-then-resume",
        C::ThreadYieldThenResume => "thread.yield-then-resume",
        C::ThreadSuspendThenPromote => "thread.suspend-then-promote",
        C::ThreadYieldThenPromote => "thread.yield-then-promote",
    }
}

impl Builder {
    fn push(&mut self, definition: Definition) {
        match definition.space() {
            Space::Core(CoreSort::Func) => self.counts.core_funcs += 1,
            Space::CoreInstance => self.counts.core_instances += 1,
            Space::Component(Sort::Func) => self.counts.funcs += 1,
            Space::Component(Sort::Instance) => self.counts.instances += 1,
            Space::Component(Sort::Type) => self.counts.types += 1,
            Space::Component(Sort::Module) => {
                let known = match &definition {
                    Definition::Module(m) => Some(m.clone()),
                    _ => None,
                };
                self.modules.push(known);
            }
            Space::Component(Sort::Component) => {
                let known = match &definition {
                    Definition::Component(c) => Some(c.clone()),
                    _ => None,
                };
                self.components.push(known);
            }
            Space::Core(_) | Space::Component(_) => {}
        }
        self.def.definitions.push(definition);
    }

    /// Adds a nested module; `None` when it could not be compiled (an unsupported construct,
    /// reported once the whole component validated).
    fn push_module(&mut self, module: Option<Module>) {
        match module {
            Some(module) => self.push(Definition::Module(module)),
            None => self.modules.push(None),
        }
    }

    fn push_component(&mut self, component: Arc<ComponentDef>) {
        self.push(Definition::Component(component));
    }

    /// Records one validated section.
    fn collect(
        &mut self,
        payload: Payload<'_>,
        types: wasmparser::types::TypesRef<'_>,
        parents: &[Frame],
        section_offset: usize,
    ) -> Result<()> {
        match payload {
            Payload::InstanceSection(reader) => {
                for instance in reader {
                    let definition = match instance.map_err(Error::invalid)? {
                        Instance::Instantiate { module_index, args } => {
                            Definition::CoreInstantiate {
                                module: module_index,
                                args: args.iter().map(|a| (a.name.to_string(), a.index)).collect(),
                            }
                        }
                        Instance::FromExports(exports) => Definition::CoreInstanceFromExports(
                            exports
                                .iter()
                                .map(|e| (e.name.to_string(), core_sort(e.kind), e.index))
                                .collect(),
                        ),
                    };
                    self.push(definition);
                }
            }
            Payload::ComponentInstanceSection(reader) => {
                for instance in reader {
                    let definition = match instance.map_err(Error::invalid)? {
                        wasmparser::ComponentInstance::Instantiate {
                            component_index,
                            args,
                        } => Definition::Instantiate {
                            component: component_index,
                            args: args
                                .iter()
                                .map(|a| (self.names.restore(a.name), sort(a.kind), a.index))
                                .collect(),
                        },
                        wasmparser::ComponentInstance::FromExports(exports) => {
                            Definition::InstanceFromExports(
                                exports
                                    .iter()
                                    .map(|e| {
                                        (self.names.restore(e.name.name), sort(e.kind), e.index)
                                    })
                                    .collect(),
                            )
                        }
                    };
                    self.push(definition);
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader.into_iter_with_offsets() {
                    let (offset, alias) = alias.map_err(Error::invalid)?;
                    let offset = offset as usize;
                    match alias {
                        ComponentAlias::InstanceExport {
                            kind,
                            instance_index,
                            name,
                        } => {
                            let resource = match sort(kind) {
                                Sort::Type => self.next_type_resource(types),
                                _ => None,
                            };
                            self.push(Definition::Alias {
                                instance: instance_index,
                                name: self.names.restore(name),
                                sort: sort(kind),
                                resource,
                            });
                        }
                        ComponentAlias::CoreInstanceExport {
                            kind,
                            instance_index,
                            name,
                        } => self.push(Definition::CoreAlias {
                            instance: instance_index,
                            name: name.to_string(),
                            sort: core_sort(kind),
                        }),
                        ComponentAlias::Outer { kind, count, index } => {
                            if kind == ComponentOuterAliasKind::Type {
                                // The static id is all instantiation needs: the validator
                                // resolved the alias.
                                let resource = self.next_type_resource(types);
                                self.push(Definition::Type { resource });
                            }
                            self.outer_alias(kind, count, index, parents, offset)?
                        }
                    }
                }
            }
            Payload::ComponentCanonicalSection(reader) => {
                for function in reader.into_iter_with_offsets() {
                    let (offset, function) = function.map_err(Error::invalid)?;
                    let offset = offset as usize;
                    let definition = match function {
                        CanonicalFunction::Lift {
                            core_func_index,
                            options,
                            ..
                        } => Definition::Lift {
                            core_func: core_func_index,
                            options: canon_options(&options, offset)?,
                        },
                        CanonicalFunction::Lower {
                            func_index,
                            options,
                        } => Definition::Lower {
                            func: func_index,
                            options: canon_options(&options, offset)?,
                        },
                        CanonicalFunction::ResourceNew { resource } => {
                            Definition::ResourceIntrinsic {
                                intrinsic: ResourceIntrinsic::New,
                                resource,
                            }
                        }
                        CanonicalFunction::ResourceDrop { resource } => {
                            Definition::ResourceIntrinsic {
                                intrinsic: ResourceIntrinsic::Drop,
                                resource,
                            }
                        }
                        CanonicalFunction::ResourceRep { resource } => {
                            Definition::ResourceIntrinsic {
                                intrinsic: ResourceIntrinsic::Rep,
                                resource,
                            }
                        }
                        CanonicalFunction::ContextGet {
                            ty: wasmparser::ValType::I32,
                            slot,
                        } => Definition::TaskBuiltin(TaskBuiltin::ContextGet(slot)),
                        CanonicalFunction::ContextSet {
                            ty: wasmparser::ValType::I32,
                            slot,
                        } => Definition::TaskBuiltin(TaskBuiltin::ContextSet(slot)),
                        CanonicalFunction::TaskReturn { result, options } => {
                            let result = result
                                .map(|t| self.value_type(types, t, offset))
                                .transpose()?;
                            Definition::TaskReturn {
                                result,
                                options: canon_options(&options, offset)?,
                            }
                        }
                        CanonicalFunction::BackpressureInc => {
                            Definition::TaskBuiltin(TaskBuiltin::BackpressureInc)
                        }
                        CanonicalFunction::BackpressureDec => {
                            Definition::TaskBuiltin(TaskBuiltin::BackpressureDec)
                        }
                        f => {
                            let feature = match f {
                                CanonicalFunction::ThreadSpawnRef { .. }
                                | CanonicalFunction::ThreadSpawnIndirect { .. }
                                | CanonicalFunction::ThreadAvailableParallelism => {
                                    format!(
                                        "shared-everything threads: `canon {}`",
                                        builtin_name(&f)
                                    )
                                }
                                _ => format!("async: `canon {}`", builtin_name(&f)),
                            };
                            let signature = self.core_func_signature(types, &feature, offset)?;
                            Definition::UnsupportedBuiltin {
                                feature,
                                signature,
                                offset,
                            }
                        }
                    };
                    self.push(definition);
                }
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader.into_iter_with_offsets() {
                    let (offset, import) = import.map_err(Error::invalid)?;
                    let offset = offset as usize;
                    let sort = type_ref_sort(&import.ty);
                    if sort == Sort::Value {
                        return Err(unsupported("component values (imports of a value)", offset));
                    }
                    let name = self.names.restore(import.name.name);
                    self.def.imports.push((name.clone(), sort));
                    let resource = match sort {
                        Sort::Type => self.next_type_resource(types),
                        _ => None,
                    };
                    let definition = Definition::Import {
                        name,
                        sort,
                        resource,
                    };
                    match sort {
                        // Nothing is known of an imported module or component before
                        // instantiation.
                        Sort::Module => {
                            self.modules.push(None);
                            self.def.definitions.push(definition);
                        }
                        Sort::Component => {
                            self.components.push(None);
                            self.def.definitions.push(definition);
                        }
                        _ => self.push(definition),
                    }
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader.into_iter_with_offsets() {
                    let (offset, export) = export.map_err(Error::invalid)?;
                    let offset = offset as usize;
                    let sort = sort(export.kind);
                    if sort == Sort::Value {
                        return Err(unsupported("component values (exports of a value)", offset));
                    }
                    let name = self.names.restore(export.name.name);
                    self.def.exports.push((name.clone(), sort, export.index));
                    let resource = match sort {
                        Sort::Type => self.next_type_resource(types),
                        _ => None,
                    };
                    let definition = Definition::Export {
                        name,
                        sort,
                        index: export.index,
                        resource,
                    };
                    match sort {
                        // Re-exports keep what is statically known about the item.
                        Sort::Module => {
                            let known = self.modules.get(export.index as usize).cloned().flatten();
                            self.modules.push(known);
                            self.def.definitions.push(definition);
                        }
                        Sort::Component => {
                            let known = self
                                .components
                                .get(export.index as usize)
                                .cloned()
                                .flatten();
                            self.components.push(known);
                            self.def.definitions.push(definition);
                        }
                        _ => self.push(definition),
                    }
                }
            }
            Payload::ComponentStartSection { range, .. } => {
                return Err(unsupported(
                    "component values (a component start function)",
                    range.start as usize,
                ));
            }
            Payload::ComponentTypeSection(reader) => {
                for ty in reader {
                    let definition = match ty.map_err(Error::invalid)? {
                        wasmparser::ComponentType::Resource { dtor, .. } => {
                            let id =
                                self.next_type_resource(types)
                                    .ok_or_else(|| Error::Invalid {
                                        message: "internal error: a resource type that is not one"
                                            .into(),
                                        offset: section_offset,
                                    })?;
                            Definition::DefineResource { id, dtor }
                        }
                        _ => Definition::Type {
                            resource: self.next_type_resource(types),
                        },
                    };
                    self.push(definition);
                }
            }
            // Core types only matter through the validator's view of them.
            Payload::CoreTypeSection(_) => {}
            _ => {}
        }
        if self.counts.types != types.component_type_count() {
            return Err(Error::Invalid {
                message: format!(
                    "internal error: {} component types counted, the validator has {}",
                    self.counts.types,
                    types.component_type_count()
                ),
                offset: section_offset,
            });
        }
        self.sync_func_types(types, section_offset)
    }

    /// The core signature of the next core function (a builtin being defined), for a builtin
    /// that ward defines but cannot run.
    fn core_func_signature(
        &self,
        types: wasmparser::types::TypesRef<'_>,
        feature: &str,
        offset: usize,
    ) -> Result<crate::FuncType> {
        let not_numeric =
            || unsupported(format!("{feature} with reference-typed parameters"), offset);
        let id = types.core_function_at(self.counts.core_funcs);
        let func = types
            .get(id)
            .and_then(|sub| match &sub.composite_type.inner {
                wasmparser::CompositeInnerType::Func(f) => Some(f.clone()),
                _ => None,
            })
            .ok_or_else(not_numeric)?;
        let numeric = |t: &wasmparser::ValType| match t {
            wasmparser::ValType::I32 => Ok(crate::ValType::I32),
            wasmparser::ValType::I64 => Ok(crate::ValType::I64),
            wasmparser::ValType::F32 => Ok(crate::ValType::F32),
            wasmparser::ValType::F64 => Ok(crate::ValType::F64),
            _ => Err(not_numeric()),
        };
        let params = func
            .params()
            .iter()
            .map(numeric)
            .collect::<Result<Vec<_>>>()?;
        let results = func
            .results()
            .iter()
            .map(numeric)
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::FuncType::new(params, results))
    }

    /// The value type `ty` of the binary, named by a type index of the component being parsed.
    fn value_type(
        &mut self,
        types: wasmparser::types::TypesRef<'_>,
        ty: wasmparser::ComponentValType,
        offset: usize,
    ) -> Result<super::types::Type> {
        use wasmparser::component_types::ComponentValType as Validated;
        let validated = match ty {
            wasmparser::ComponentValType::Primitive(p) => Validated::Primitive(p),
            wasmparser::ComponentValType::Type(index) => {
                if index >= types.component_type_count() {
                    return Err(super::types::internal("value type index", offset));
                }
                match types.component_any_type_at(index) {
                    ComponentAnyTypeId::Defined(id) => Validated::Type(id),
                    _ => return Err(super::types::internal("value type", offset)),
                }
            }
        };
        let converter = self
            .converter
            .get_or_insert_with(|| TypeConverter::new(self.names));
        converter.val(types, validated, offset)
    }

    /// The static resource id of the next type index, if that type is a resource type.
    fn next_type_resource(&self, types: wasmparser::types::TypesRef<'_>) -> Option<ResourceType> {
        if self.counts.types >= types.component_type_count() {
            return None;
        }
        match types.component_any_type_at(self.counts.types) {
            ComponentAnyTypeId::Resource(r) => Some(ResourceType(r.resource())),
            _ => None,
        }
    }

    /// Converts the types of the component functions defined since the last section.
    fn sync_func_types(
        &mut self,
        types: wasmparser::types::TypesRef<'_>,
        offset: usize,
    ) -> Result<()> {
        let converter = self
            .converter
            .get_or_insert_with(|| TypeConverter::new(self.names));
        let count = types.component_function_count();
        for index in self.def.func_types.len() as u32..count {
            let ty = converter.func(types, types.component_function_at(index), offset)?;
            self.def.func_types.push(ty);
        }
        Ok(())
    }

    fn outer_alias(
        &mut self,
        kind: ComponentOuterAliasKind,
        count: u32,
        index: u32,
        parents: &[Frame],
        offset: usize,
    ) -> Result<()> {
        match kind {
            // Type spaces are not replayed at instantiation.
            ComponentOuterAliasKind::CoreType => Ok(()),
            // Pushed by the caller, which has the validator's types.
            ComponentOuterAliasKind::Type => Ok(()),
            ComponentOuterAliasKind::CoreModule | ComponentOuterAliasKind::Component => {
                let target: &Builder = if count == 0 {
                    self
                } else {
                    // The validator checked that `count` enclosing components exist.
                    let enclosing: Vec<&Builder> = parents
                        .iter()
                        .rev()
                        .filter_map(|f| match f {
                            Frame::Component(b) => Some(&**b),
                            Frame::Module(_) => None,
                        })
                        .collect();
                    enclosing
                        .get(count as usize - 1)
                        .copied()
                        .ok_or_else(|| Error::Invalid {
                            message: "outer alias count too large".into(),
                            offset,
                        })?
                };
                // What an enclosing component defined is known now; what it imported is known
                // when the enclosing component is instantiated, and captured then.
                let definition = if kind == ComponentOuterAliasKind::CoreModule {
                    match target.modules.get(index as usize).cloned().flatten() {
                        Some(module) => Definition::Module(module),
                        None => Definition::OuterAlias {
                            sort: Sort::Module,
                            count,
                            index,
                        },
                    }
                } else {
                    match target.components.get(index as usize).cloned().flatten() {
                        Some(component) => Definition::Component(component),
                        None => Definition::OuterAlias {
                            sort: Sort::Component,
                            count,
                            index,
                        },
                    }
                };
                self.push(definition);
                Ok(())
            }
        }
    }
}
