//! The WASI 0.2 host (`ward_wasi::p2`) through the public API: what a component importing it gets
//! with nothing granted. The Rust wasip2 program's tests are in ward-cli's `tests/wasip2.rs`.

use ward::component::{Component, Linker, Val};
use ward::{Engine, Store};
use ward_wasi::{WasiCtx, WasiCtxBuilder};

/// A component that re-exports functions it imports from `wasi:sockets` and `wasi:cli`, at a
/// later 0.2 version than the host defines, so the host can call them through it.
const SOCKETS: &str = r#"
(component
  (import "wasi:sockets/tcp-create-socket@0.2.9" (instance $create
    (type $ec (enum "unknown" "access-denied" "not-supported"))
    (export "error-code" (type $ec' (eq $ec)))
    (type $af (enum "ipv4" "ipv6"))
    (export "ip-address-family" (type $af' (eq $af)))
    (export "tcp-socket" (type $tcp (sub resource)))
    (export "create-tcp-socket"
      (func (param "address-family" $af') (result (result (own $tcp) (error $ec')))))))
  (import "wasi:cli/environment@0.2.0" (instance $env
    (export "get-arguments" (func (result (list string))))))
  (alias export $create "create-tcp-socket" (func $create-tcp-socket))
  (alias export $env "get-arguments" (func $get-arguments))
  (export "create" (func $create-tcp-socket))
  (export "args" (func $get-arguments)))
"#;

fn instantiate(ctx: WasiCtx) -> (Store<WasiCtx>, ward::component::Instance) {
    let engine = Engine::default();
    let component = Component::new(&engine, SOCKETS).unwrap();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::p2::add_to_linker(&mut linker, |ctx| ctx);
    let mut store = Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    (store, instance)
}

#[test]
fn sockets_link_and_every_socket_is_denied() {
    let (mut store, instance) = instantiate(WasiCtxBuilder::new().build());
    let mut result = [Val::Bool(false)];
    instance
        .get_func("create")
        .unwrap()
        .call(&mut store, &[Val::Enum("ipv4".into())], &mut result)
        .unwrap();
    assert_eq!(
        result[0],
        Val::Result(Err(Some(Box::new(Val::Enum("access-denied".into())))))
    );
}

#[test]
fn arguments_are_only_what_the_context_grants() {
    let (mut store, instance) = instantiate(WasiCtxBuilder::new().build());
    let mut result = [Val::Bool(false)];
    let args = instance.get_func("args").unwrap();
    args.call(&mut store, &[], &mut result).unwrap();
    assert_eq!(result[0], Val::List(vec![]));

    let (mut store, instance) =
        instantiate(WasiCtxBuilder::new().args(["app", "x"]).unwrap().build());
    let args = instance.get_func("args").unwrap();
    args.call(&mut store, &[], &mut result).unwrap();
    assert_eq!(
        result[0],
        Val::List(vec![Val::String("app".into()), Val::String("x".into())])
    );
}
