//! [`WasmBacktrace::capture`]: the backtrace of the Wasm code that called the running host
//! function. Kept apart from `trap`, which sits below the executor, because it asks the executor
//! (`interp::exec::host_call_backtrace`) where the suspended activations stand.

use crate::interp::exec;
use crate::store::AsContext;
use crate::trap::WasmBacktrace;

impl WasmBacktrace {
    /// The Wasm frames below the host function now running in `store`: the function that called
    /// it first, then its callers (empty when no Wasm code is calling the host). A host function
    /// can report where the guest was, as Wasmtime's function of the same name does.
    ///
    /// ```
    /// use ward::{Caller, Engine, Linker, Module, Store, WasmBacktrace};
    ///
    /// let engine = Engine::default();
    /// let module = Module::new(&engine, r#"(module
    ///     (import "host" "where" (func $where))
    ///     (func $inner (call $where))
    ///     (func (export "outer") (call $inner)))"#)?;
    /// let mut linker: Linker<Vec<u32>> = Linker::new(&engine);
    /// linker.func_wrap("host", "where", |mut caller: Caller<'_, Vec<u32>>| {
    ///     let trace = WasmBacktrace::capture(&caller);
    ///     let indices = trace.frames.iter().map(|f| f.func_index).collect();
    ///     *caller.data_mut() = indices;
    /// })?;
    /// let mut store = Store::new(&engine, Vec::new());
    /// let outer = linker.instantiate(&mut store, &module)?.get_func(&store, "outer").unwrap();
    /// outer.call(&mut store, &[], &mut [])?;
    /// assert_eq!(*store.data(), [1, 2]); // $inner, then the exported function
    /// assert!(WasmBacktrace::capture(&store).frames.is_empty());
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn capture(store: impl AsContext) -> WasmBacktrace {
        exec::host_call_backtrace(&store.as_context().inner)
    }
}
