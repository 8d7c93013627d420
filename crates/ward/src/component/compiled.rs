//! [`Component`]: a compiled component, made by `parse` from a binary or text, with its imports,
//! exports and function types. Instantiated by `instance`.

use std::sync::Arc;

use super::definition::ComponentDef;
use super::parse;
use super::types::FuncType;
use crate::{Engine, Error, Result};

/// A compiled component. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Component {
    pub(super) inner: Arc<ComponentInner>,
}

pub(super) struct ComponentInner {
    engine: Engine,
    pub(super) def: Arc<ComponentDef>,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Component")
            .field("imports", &self.inner.def.imports)
            .field("exports", &self.inner.def.exports)
            .finish_non_exhaustive()
    }
}

impl Component {
    /// Compiles a component from its binary or (with the `wat` feature) text form.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Component> {
        Component::from_binary(engine, &crate::module::binary_of(bytes.as_ref())?)
    }

    /// Compiles a component from a file holding its binary or text form; errors in the text form
    /// name the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Component> {
        Component::from_binary(engine, &crate::module::read_binary(path.as_ref())?)
    }

    /// Compiles a component from its binary form.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Component> {
        if !engine
            .config()
            .proposals
            .effective(crate::WasmProposal::ComponentModel)
        {
            return Err(Error::Unsupported {
                feature: "the component model is switched off (enable with \
                          `-W component-model=y` / `Config::wasm_component_model`)"
                    .into(),
                offset: 0,
            });
        }
        let def = parse::parse(engine, bytes)?;
        Ok(Component {
            inner: Arc::new(ComponentInner {
                engine: engine.clone(),
                def: Arc::new(def),
            }),
        })
    }

    /// The engine the component was compiled in.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The names of the component's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.inner.def.imports.iter().map(|(name, _)| name.as_str())
    }

    /// The names of the component's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.inner
            .def
            .exports
            .iter()
            .map(|(name, _, _)| name.as_str())
    }

    /// The type of function export `name`, if the component exports a function by that name.
    pub fn export_func_type(&self, name: &str) -> Option<&FuncType> {
        self.inner.def.export_func_type(name)
    }
}
