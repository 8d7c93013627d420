//! Names of Wasm operators as the text format spells them (`i32.atomic.rmw8.add_u`), with the
//! proposal that introduced them, for messages about operators ward does not translate: a user
//! sees Wasm names, never the Rust names of wasmparser's `Operator` variants.
//!
//! Derived from wasmparser's operator table (`for_each_operator!`): the visitor name
//! (`visit_i32_atomic_rmw8_add_u`) becomes the text name by turning the separators after a
//! namespace (`i32`, `memory`, `struct`, …), after `atomic` and after `rmw`/`rmwN` into dots. Used
//! by `translate`.

use wasmparser::Operator;

macro_rules! define_operator_info {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The visitor name (`visit_…`) and the proposal of `op`.
        fn operator_info(op: &Operator<'_>) -> (&'static str, &'static str) {
            #[allow(unreachable_patterns)]
            match op {
                $(Operator::$op { .. } => (stringify!($visit), stringify!($proposal)),)*
                _ => ("visit_operator", "unknown"),
            }
        }
    };
}
wasmparser::for_each_operator!(define_operator_info);

/// Prefixes after which the text format puts a dot (`i32.add`, `memory.grow`, `struct.new`).
const NAMESPACES: &[&str] = &[
    "i32", "i64", "f32", "f64", "v128", "i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2",
    "memory", "table", "global", "local", "ref", "struct", "array", "i31", "data", "elem", "any",
    "extern", "atomic", "cont",
];

/// The text name of `op` (`i32.atomic.rmw.add`).
pub(crate) fn text_name(op: &Operator<'_>) -> String {
    let visit = operator_info(op).0;
    let words: Vec<&str> = visit.trim_start_matches("visit_").split('_').collect();
    let mut name = String::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            let previous = words[i - 1];
            let dotted = (i == 1 && NAMESPACES.contains(&previous))
                || previous == "atomic"
                || (previous.starts_with("rmw")
                    && previous[3..].bytes().all(|b| b.is_ascii_digit()));
            name.push(if dotted { '.' } else { '_' });
        }
        name.push_str(word);
    }
    name
}

/// The proposal that introduced `op`, as its repository spells it (`threads`, `stack-switching`;
/// `mvp` for the original instruction set).
pub(crate) fn proposal(op: &Operator<'_>) -> String {
    operator_info(op).1.replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{MemArg, MemArgTarget, Ordering};

    fn memarg() -> MemArg {
        MemArg {
            align: 2,
            max_align: 2,
            offset: 0,
            target: MemArgTarget::Memory(0),
            ordering: None,
        }
    }

    fn fence() -> Operator<'static> {
        Operator::AtomicFence {
            ordering: Ordering::SeqCst,
        }
    }

    #[test]
    fn names_follow_the_text_format() {
        let cases: [(Operator<'_>, &str); 6] = [
            (
                Operator::I32AtomicRmwAdd { memarg: memarg() },
                "i32.atomic.rmw.add",
            ),
            (
                Operator::I32AtomicRmw8AddU { memarg: memarg() },
                "i32.atomic.rmw8.add_u",
            ),
            (
                Operator::MemoryAtomicWait32 { memarg: memarg() },
                "memory.atomic.wait32",
            ),
            (fence(), "atomic.fence"),
            (Operator::I32TruncF32S, "i32.trunc_f32_s"),
            (
                Operator::CallIndirect {
                    type_index: 0,
                    table_index: 0,
                },
                "call_indirect",
            ),
        ];
        for (op, name) in cases {
            assert_eq!(text_name(&op), name);
        }
        assert_eq!(proposal(&fence()), "threads");
        assert_eq!(proposal(&Operator::I32Add), "mvp");
    }
}
