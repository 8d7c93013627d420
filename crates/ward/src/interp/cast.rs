//! Run-time type tests of references: `ref.test`, `ref.cast`, `br_on_cast(_fail)`.
//!
//! The static type of the operand (checked by validation) fixes the hierarchy, so the slot encoding
//! can be read without tags for functions, externs and exceptions. In the `any` hierarchy the low bits
//! tell `i31`, heap object and internalized host reference apart (see `gc`), and objects carry their
//! canonical type id, compared with the engine's declared-supertype chain. Called by the executor and
//! by `values` (checking host-provided `Val`s).

use crate::gc_repr;
use crate::runtime::gc;
use crate::runtime::store::StoreInner;
use crate::types::{HeapType, RefType};

/// Whether the slot value `raw` is a value of reference type `ty`.
pub(crate) fn ref_test(store: &StoreInner, raw: u64, ty: RefType) -> bool {
    if raw == 0 {
        return ty.nullable;
    }
    let engine = &store.engine;
    match ty.heap {
        HeapType::Func | HeapType::Extern | HeapType::Exn | HeapType::Any => true,
        HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn | HeapType::None => false,
        HeapType::Eq => gc_repr::is_i31(raw) || store.gc.get(raw).is_some(),
        HeapType::I31 => gc_repr::is_i31(raw),
        HeapType::Struct => {
            !gc_repr::is_i31(raw)
                && store
                    .gc
                    .get(raw)
                    .is_some_and(|o| matches!(o.kind, gc::ObjectKind::Struct { .. }))
        }
        HeapType::Array => {
            !gc_repr::is_i31(raw)
                && store
                    .gc
                    .get(raw)
                    .is_some_and(|o| matches!(o.kind, gc::ObjectKind::Array { .. }))
        }
        HeapType::Concrete(id) => {
            let is_func = engine.type_is(id, |i| i.func.is_some());
            if is_func {
                store
                    .funcs
                    .get((raw - 1) as usize)
                    .is_some_and(|f| engine.id_is_subtype(f.ty, id))
            } else {
                !gc_repr::is_i31(raw)
                    && store
                        .gc
                        .get(raw)
                        .is_some_and(|o| engine.id_is_subtype(o.ty, id))
            }
        }
    }
}
