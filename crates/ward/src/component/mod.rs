//! The component model: [`Component`]s, compiled from binary or text and validated with
//! wasmparser's component-model validator, shaped like Wasmtime's `wasmtime::component`.
//!
//! - `parse` walks a component binary into a `ComponentDef` (`definition`): its definitions in
//!   order, nested core modules compiled with [`Module`](crate::Module), outer aliases resolved.
//! - `types` holds ward's view of component value types ([`Type`], [`FuncType`]).
//!
//! The async ABI (streams, futures, `async` lifts and lowers, task and waitable builtins) is not
//! supported: a component using it is valid but fails to compile with [`Error::Unsupported`] whose
//! feature starts with `async`. Depends on `module` and `engine`.
//!
//! ```
//! use ward::Engine;
//! use ward::component::Component;
//!
//! let engine = Engine::default();
//! let component = Component::new(&engine, r#"
//!     (component
//!       (core module $m (func (export "answer") (result i32) i32.const 42))
//!       (core instance $i (instantiate $m))
//!       (func (export "answer") (result u32) (canon lift (core func $i "answer"))))
//! "#)?;
//! assert_eq!(component.exports().collect::<Vec<_>>(), ["answer"]);
//! # Ok::<(), ward::Error>(())
//! ```

mod abi;
mod definition;
mod instance;
mod parse;
mod resources;
mod types;
mod val;

use std::sync::Arc;

pub use abi::AbiTrap;
pub use instance::{Func, Instance, Linker};
pub use resources::ResourceAny;
pub use types::{FuncType, ResourceType, Type};
pub use val::Val;

use crate::{Engine, Error, Result};
use definition::ComponentDef;

/// The feature named by the error for a function type marked `async`.
const ASYNC_FUNCTION_TYPE: &str = "async: an `async` function type";
/// The feature named by the error for the `async` canonical option.
const ASYNC_OPTION: &str = "async: the `async` canonical option";

/// Whether `error` is the one ward gives for a component using the async ABI.
pub fn is_unsupported_async(error: &Error) -> bool {
    matches!(error, Error::Unsupported { feature, .. } if feature.starts_with("async"))
}

/// A compiled component. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Component {
    inner: Arc<ComponentInner>,
}

struct ComponentInner {
    engine: Engine,
    def: Arc<ComponentDef>,
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
        let bytes = bytes.as_ref();
        #[cfg(feature = "wat")]
        let bytes = &wat::parse_bytes(bytes).map_err(|e| Error::Parse(e.to_string()))?;
        Component::from_binary(engine, bytes)
    }

    /// Compiles a component from a file holding its binary or text form; errors in the text form
    /// name the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Component> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Usage(format!("failed to read {}: {e}", path.display())))?;
        #[cfg(feature = "wat")]
        let bytes = wat::parse_bytes(&bytes)
            .map_err(|mut e| {
                e.set_path(path);
                Error::Parse(e.to_string())
            })?
            .into_owned();
        Component::from_binary(engine, &bytes)
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
