//! Host→guest calls of a component function through ward's and Wasmtime's component APIs:
//! `echo: func(s: string, xs: list<u32>) -> tuple<string, list<u32>>`, whose core code returns
//! its arguments' memory unchanged, so a call is what the canonical ABI costs: lowering a
//! string and a list into guest memory (through `realloc`), the call, and lifting them back.
//! Both engines use typed calls (`get_typed_func`) with owned parameters (copied per call). Used by `benches/engines.rs`.

use crate::{Ward, Wasmtime};

/// The component (text): a bump allocator reset by `post-return`, so memory stays small.
pub const ECHO_COMPONENT: &str = r#"
(component
  (core module $m
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $ptr) (local.get 3)))
      (if (i32.gt_u (global.get $next) (i32.const 65536)) (then unreachable))
      (local.get $ptr))
    (func (export "echo") (param i32 i32 i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.store (i32.const 24) (local.get 2))
      (i32.store (i32.const 28) (local.get 3))
      (i32.const 16))
    (func (export "reset") (param i32) (global.set $next (i32.const 1024))))
  (core instance $i (instantiate $m))
  (func (export "echo") (param "s" string) (param "xs" (list u32))
    (result (tuple string (list u32)))
    (canon lift (core func $i "echo") (memory (core memory $i "mem"))
      (realloc (core func $i "realloc")) (post-return (core func $i "reset")))))
"#;

/// The parameters of `echo`.
type Args = (String, Vec<u32>);
/// The result of `echo` (a one-element tuple: one result).
type Returned = ((String, Vec<u32>),);

/// One instance of the echo component, called with a string and a list.
pub trait EchoRunner {
    /// Calls `echo(s, xs)` and returns what it returned.
    fn echo(&mut self, s: &str, xs: &[u32]) -> (String, Vec<u32>);
}

struct WardEcho {
    store: ward::Store<()>,
    func: ward::component::TypedFunc<Args, Returned>,
}

impl EchoRunner for WardEcho {
    fn echo(&mut self, s: &str, xs: &[u32]) -> (String, Vec<u32>) {
        // ward's typed parameters are owned values: the copies are part of its call.
        let ((s, xs),) = self
            .func
            .call(&mut self.store, (s.to_string(), xs.to_vec()))
            .expect("ward echo");
        (s, xs)
    }
}

struct WasmtimeEcho {
    store: wasmtime::Store<()>,
    func: wasmtime::component::TypedFunc<Args, Returned>,
}

impl EchoRunner for WasmtimeEcho {
    fn echo(&mut self, s: &str, xs: &[u32]) -> (String, Vec<u32>) {
        // Owned parameters, as for ward (a `TypedFunc` of borrowed ones cannot be kept).
        let ((s, xs),) = self
            .func
            .call(&mut self.store, (s.to_string(), xs.to_vec()))
            .expect("wasmtime echo");
        (s, xs)
    }
}

/// ward's echo instance.
pub fn ward_echo(ward: &Ward) -> Box<dyn EchoRunner> {
    let bytes = wat::parse_str(ECHO_COMPONENT).expect("echo component text");
    let component =
        ward::component::Component::new(&ward.engine, &bytes).expect("ward compiles echo");
    let mut store = ward::Store::new(&ward.engine, ());
    let instance = ward::component::Linker::new(&ward.engine)
        .instantiate(&mut store, &component)
        .expect("ward instantiates echo");
    let func = instance.get_typed_func("echo").expect("ward echo type");
    Box::new(WardEcho { store, func })
}

/// Wasmtime's echo instance (Cranelift or Pulley, as `wasmtime`'s engine is configured).
pub fn wasmtime_echo(wasmtime: &Wasmtime) -> Box<dyn EchoRunner> {
    let bytes = wat::parse_str(ECHO_COMPONENT).expect("echo component text");
    let component = wasmtime::component::Component::new(&wasmtime.engine, &bytes)
        .expect("wasmtime compiles echo");
    let mut store = wasmtime::Store::new(&wasmtime.engine, ());
    let instance = wasmtime::component::Linker::new(&wasmtime.engine)
        .instantiate(&mut store, &component)
        .expect("wasmtime instantiates echo");
    let func = instance
        .get_typed_func(&mut store, "echo")
        .expect("wasmtime echo type");
    Box::new(WasmtimeEcho { store, func })
}
