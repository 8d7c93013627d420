//! What a call did, in a form two tiers' runs compare on (the Cranelift tests).

use ward::{Error, Instance, Store, TrapKind, Val};

/// What a call did, comparable across tiers: the results' bits, or the trap's kind and backtrace
/// (function index and module offset of each frame, innermost first), or another error's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Returned(Vec<u128>),
    Trapped(TrapKind, Vec<(u32, Option<usize>)>),
    Failed(String),
}

pub fn bits(v: &Val) -> u128 {
    match v {
        Val::I32(x) => *x as u32 as u128,
        Val::I64(x) => *x as u64 as u128,
        Val::F32(x) => *x as u128,
        Val::F64(x) => *x as u128,
        Val::V128(x) => *x,
        other => panic!("unexpected result {other:?}"),
    }
}

pub fn outcome_of(result: Result<Vec<Val>, Error>) -> Outcome {
    match result {
        Ok(values) => Outcome::Returned(values.iter().map(bits).collect()),
        Err(e) => match e.as_trap() {
            Some(trap) => Outcome::Trapped(
                trap.kind(),
                trap.backtrace()
                    .frames
                    .iter()
                    .map(|f| (f.func_index, f.module_offset))
                    .collect(),
            ),
            None => Outcome::Failed(e.to_string()),
        },
    }
}

pub fn call<T>(store: &mut Store<T>, instance: &Instance, name: &str, args: &[Val]) -> Outcome {
    let func = instance
        .get_func(&mut *store, name)
        .unwrap_or_else(|| panic!("export {name}"));
    let n = func.ty(&*store).results().len();
    let mut results = vec![Val::I32(0); n];
    outcome_of(func.call(&mut *store, args, &mut results).map(|()| results))
}
