//! Unit tests of the translator: what each fusion rule makes of the code it applies to, and the code
//! it must leave alone. Each test translates a small module and looks at the instructions of its
//! first function.

use crate::interp::bytecode::{BranchOffset, Instr, Slot};
use crate::{Config, Engine, Module};

/// The instructions of function 0 of `wat`.
fn code(wat: &str) -> Vec<Instr> {
    let engine = Engine::new(&Config::new()).expect("default config");
    let module = Module::new(&engine, wat).expect("test module compiles");
    module.inner.compiled(0).expect("translates").code.to_vec()
}

/// The names of the instructions of function 0 of `wat`.
fn names(wat: &str) -> Vec<&'static str> {
    code(wat).iter().map(Instr::name).collect()
}

/// A function `(param i32 i32) (result i32)` with `body`, and a memory.
fn func(body: &str) -> String {
    format!(
        "(module (memory 1) (func (param $a i32) (param $b i32) (result i32) (local $i i32) (local $x i64) (local $f f64) {body}))"
    )
}

#[test]
fn a_constant_operand_becomes_an_immediate() {
    let code = code(&func("(i32.add (local.get $a) (i32.const 7))"));
    assert!(
        matches!(
            code[0],
            Instr::I32AddImm {
                a: Slot(0),
                imm: 7,
                ..
            }
        ),
        "{code:?}"
    );
    // `x - c` is `x + (-c)`.
    let code = self::code(&func("(i32.sub (local.get $a) (i32.const 7))"));
    assert!(
        matches!(code[0], Instr::I32AddImm { a: Slot(0), imm, .. } if imm == 7u32.wrapping_neg()),
        "{code:?}"
    );
}

#[test]
fn a_64_bit_constant_outside_i32_is_not_an_immediate() {
    let wat =
        "(module (func (param i64) (result i64) (i64.add (local.get 0) (i64.const 0x100000000))))";
    let names = names(wat);
    assert!(!names.contains(&"I64AddImm"), "{names:?}");
    assert!(names.contains(&"I64Add"), "{names:?}");
    let wat = "(module (func (param i64) (result i64) (i64.add (local.get 0) (i64.const -5))))";
    assert!(matches!(code(wat)[0], Instr::I64AddImm { imm, .. } if imm == -5i32 as u32));
}

#[test]
fn a_result_stored_to_a_local_is_written_there_directly() {
    // `local.set` of a fresh result retargets the instruction instead of copying.
    let code = code(&func(
        "(local.set $i (i32.mul (local.get $a) (local.get $b))) (local.get $i)",
    ));
    assert!(
        matches!(
            code[0],
            Instr::I32Mul {
                dst: Slot(2),
                a: Slot(0),
                b: Slot(1)
            }
        ),
        "{code:?}"
    );
    assert!(
        !code.iter().any(|i| matches!(i, Instr::Copy { .. })),
        "{code:?}"
    );
}

#[test]
fn compare_and_branch_fuse() {
    let wat = func("(block (br_if 0 (i32.lt_s (local.get $a) (local.get $b)))) (i32.const 0)");
    let code = code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::BrI32LtS {
                a: Slot(0),
                b: Slot(1),
                ..
            }
        ),
        "{code:?}"
    );
    // An `if` jumps over its body when the condition is false: the negated comparison.
    let wat = func(
        "(if (i32.lt_u (local.get $a) (i32.const 10)) (then (local.set $i (i32.const 1)))) (local.get $i)",
    );
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::BrI32GeUImm {
                a: Slot(0),
                imm: 10,
                ..
            }
        ),
        "{code:?}"
    );
    // `i32.eqz` becomes the opposite test of its operand.
    let wat = func("(block (br_if 0 (i32.eqz (local.get $a)))) (i32.const 0)");
    let code = self::code(&wat);
    assert!(
        matches!(code[0], Instr::BrIfEqz { cond: Slot(0), .. }),
        "{code:?}"
    );
}

#[test]
fn a_flag_test_fuses_with_its_branch() {
    // `br_if` on `a & mask`: jump when a bit is set.
    let wat = func("(block (br_if 0 (i32.and (local.get $a) (i32.const 4)))) (i32.const 0)");
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::BrI32AndImmNez {
                a: Slot(0),
                imm: 4,
                ..
            }
        ),
        "{code:?}"
    );
    // `if` on `a & b` jumps over its body when no bit is common.
    let wat = func(
        "(if (i32.and (local.get $a) (local.get $b)) (then (local.set $i (i32.const 1)))) (local.get $i)",
    );
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::BrI32AndEqz {
                a: Slot(0),
                b: Slot(1),
                ..
            }
        ),
        "{code:?}"
    );
    // `br_if (i32.eqz (a & mask))`: jump when no bit is set.
    let wat =
        func("(block (br_if 0 (i32.eqz (i32.and (local.get $a) (i32.const 4))))) (i32.const 0)");
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::BrI32AndImmEqz {
                a: Slot(0),
                imm: 4,
                ..
            }
        ),
        "{code:?}"
    );
    // A mask whose result is also kept stays an `I32AndImm` followed by a plain branch.
    let wat = func(
        "(block (br_if 0 (local.tee $i (i32.and (local.get $a) (i32.const 4))))) (local.get $i)",
    );
    let names = names(&wat);
    assert!(names.contains(&"I32AndImm"), "{names:?}");
    assert!(!names.contains(&"BrI32AndImmNez"), "{names:?}");
}

#[test]
fn float_comparisons_do_not_fuse_with_a_negated_branch() {
    // `!(a < b)` is not `a >= b` when either is NaN: the comparison stays, the branch tests it.
    let wat = "(module (func (param f64 f64) (result i32)
        (if (f64.lt (local.get 0) (local.get 1)) (then (return (i32.const 1)))) (i32.const 0)))";
    let names = names(wat);
    assert_eq!(names[..2], ["F64Lt", "BrIfEqz"], "{names:?}");
}

#[test]
fn a_comparison_whose_result_is_kept_does_not_fuse() {
    // The comparison's result is stored in a local as well as branched on.
    let wat = func(
        "(block (br_if 0 (local.tee $i (i32.lt_s (local.get $a) (local.get $b))))) (local.get $i)",
    );
    let names = names(&wat);
    assert!(names.contains(&"I32LtS"), "{names:?}");
    assert!(!names.contains(&"BrI32LtS"), "{names:?}");
}

#[test]
fn a_loop_counter_increment_fuses_with_its_exit_test() {
    let wat = func(
        "(loop $l (br_if $l (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $a)))) (local.get $i)",
    );
    let code = code(&wat);
    assert!(
        matches!(code[0], Instr::I32AddImmBrLtS { d: 2, imm: 1, a: 2, c: 0, target } if target == BranchOffset(0)),
        "{code:?}"
    );
    // Against a constant, with the counter updated in place.
    let wat = func(
        "(loop $l (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 100)))) (local.get $i)",
    );
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::I32AddImmBrNeImm {
                s: 2,
                imm: 4,
                cmp: 100,
                ..
            }
        ),
        "{code:?}"
    );
    // The sum on the right of the comparison: the comparison is mirrored.
    let wat = func(
        "(loop $l (br_if $l (i32.lt_u (local.get $a) (local.tee $i (i32.add (local.get $i) (local.get $b)))))) (local.get $i)",
    );
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::I32AddBrGtU {
                d: 2,
                a: 2,
                b: 1,
                c: 0,
                ..
            }
        ),
        "{code:?}"
    );
}

#[test]
fn a_load_fuses_with_the_branch_on_its_value() {
    let wat = func("(block (br_if 0 (i32.load offset=8 (local.get $a)))) (i32.const 0)");
    let code = code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::I32LoadBrNez {
                addr: 0,
                end: 12,
                ..
            }
        ),
        "{code:?}"
    );
    let wat = func(
        "(block (br_if 0 (i32.eq (i32.load8_u (local.get $a)) (local.get $b)))) (i32.const 0)",
    );
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::I32Load8UBrEq {
                addr: 0,
                c: 1,
                end: 1,
                ..
            }
        ),
        "{code:?}"
    );
    // A signed byte load has no fused form.
    let wat = func("(block (br_if 0 (i32.load8_s (local.get $a)))) (i32.const 0)");
    let names = names(&wat);
    assert_eq!(names[0], "I32Load8S", "{names:?}");
}

#[test]
fn an_address_plus_constant_fuses_into_the_access() {
    let wat = func("(i32.load (i32.add (local.get $a) (i32.const 16)))");
    let code = code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::I32LoadAt {
                a: Slot(0),
                imm: 16,
                ..
            }
        ),
        "{code:?}"
    );
    let wat =
        func("(i32.store8 (i32.add (local.get $a) (i32.const 3)) (local.get $b)) (i32.const 0)");
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::I32Store8At {
                a: Slot(0),
                value: Slot(1),
                imm: 3
            }
        ),
        "{code:?}"
    );
    // With a static offset as well the sum would have to wrap before the offset is added, which
    // the fused form does not do: no fusion.
    let wat = func("(i32.load offset=4 (i32.add (local.get $a) (i32.const 16)))");
    let names = names(&wat);
    assert_eq!(names[..2], ["I32AddImm", "I32Load"], "{names:?}");
}

#[test]
fn a_memory_0_access_carries_its_offset_plus_width() {
    // Each width: the immediate is the end of the access relative to the address.
    for (op, width) in [
        ("i32.load8_u", 1),
        ("i32.load16_s", 2),
        ("i32.load", 4),
        ("i64.load", 8),
        ("f64.load", 8),
    ] {
        let instrs = code(&format!(
            "(module (memory 1) (func (param i32) (result i64) ({op} offset=100 (local.get 0)) drop (i64.const 0)))"
        ));
        let end = match instrs[0] {
            Instr::I32Load8U { end, .. }
            | Instr::I32Load16S { end, .. }
            | Instr::I32Load { end, .. }
            | Instr::I64Load { end, .. }
            | Instr::F64Load { end, .. } => end,
            other => panic!("{op}: {other:?}"),
        };
        assert_eq!(end, 100 + width, "{op}");
    }
    let stored = code(&func(
        "(i64.store16 offset=7 (local.get $a) (local.get $x)) (i32.const 0)",
    ));
    assert!(
        matches!(stored[0], Instr::I64Store16 { end: 9, .. }),
        "{stored:?}"
    );
    let vector = code(&func(
        "(v128.store offset=3 (local.get $a) (v128.const i64x2 0 0)) (i32.const 0)",
    ));
    assert!(
        vector
            .iter()
            .any(|i| matches!(i, Instr::V128Store { end: 19, .. })),
        "{vector:?}"
    );
}

#[test]
fn an_offset_whose_end_does_not_fit_32_bits_goes_through_the_side_table() {
    // 0xffff_fffb + 4 is the largest end that fits; one more and the access takes a side-table
    // memarg (it can only trap, but it must trap as out of bounds).
    let last = code(&func("(i32.load offset=0xfffffffb (local.get $a))"));
    assert!(
        matches!(last[0], Instr::I32Load { end: u32::MAX, .. }),
        "{last:?}"
    );
    for wat in [
        func("(i32.load offset=0xfffffffc (local.get $a))"),
        func("(i32.load8_u offset=0xffffffff (local.get $a))"),
    ] {
        let names = names(&wat);
        assert!(
            names[0] == "I32LoadX" || names[0] == "I32Load8UX",
            "{names:?}"
        );
    }
    let store = code(&func(
        "(i32.store offset=0xfffffffd (local.get $a) (i32.const 1)) (i32.const 0)",
    ));
    assert!(
        !store
            .iter()
            .any(|i| matches!(i, Instr::StoreImm32 { .. } | Instr::I32Store { .. })),
        "{store:?}"
    );
}

#[test]
fn a_stack_pointer_update_is_one_instruction() {
    let module = |body: &str| {
        format!(
            "(module (global $sp (mut i32) (i32.const 4096)) (global $other (mut i32) (i32.const 0)) (func (param $a i32) (result i32) (local $fp i32) {body}))"
        )
    };
    // Prologue: `sp = sp - 32` kept in a local.
    let prologue = code(&module(
        "(local.set $fp (global.get $sp)) (global.set $sp (local.tee $fp (i32.sub (global.get $sp) (i32.const 32)))) (local.get $fp)",
    ));
    assert!(
        prologue.iter().any(|i| matches!(
            i,
            Instr::GlobalAddImm {
                global: 0,
                imm: 0xffff_ffe0,
                ..
            }
        )),
        "{prologue:?}"
    );
    // Epilogue: `sp = fp + 32`, the sum read by nothing else.
    let epilogue = code(&module(
        "(global.set $sp (i32.add (local.get $fp) (i32.const 32))) (local.get $a)",
    ));
    assert!(
        matches!(
            epilogue[0],
            Instr::GlobalSetAddImm {
                global: 0,
                a: Slot(1),
                imm: 32
            }
        ),
        "{epilogue:?}"
    );
    // Not fused: the sum of another global, and a sum kept in a local without the `global.get`.
    let other = names(&module(
        "(global.set $sp (local.tee $fp (i32.add (global.get $other) (i32.const 8)))) (local.get $fp)",
    ));
    assert_eq!(
        other[..3],
        ["GlobalGet", "I32AddImm", "GlobalSet"],
        "{other:?}"
    );
    let kept = names(&module(
        "(global.set $sp (local.tee $fp (i32.add (local.get $a) (i32.const 8)))) (local.get $fp)",
    ));
    assert_eq!(kept[..2], ["I32AddImm", "GlobalSet"], "{kept:?}");
    // Not fused across a label: the sum arrives from one arm of an `if`.
    let merged = names(&module(
        "(global.set $sp (if (result i32) (local.get $a) (then (i32.add (local.get $a) (i32.const 8))) (else (i32.const 0)))) (local.get $a)",
    ));
    assert!(merged.contains(&"GlobalSet"), "{merged:?}");
}

#[test]
fn a_constant_store_needs_no_slot() {
    let wat = func("(i32.store offset=4 (local.get $a) (i32.const 9)) (i32.const 0)");
    let code = code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::StoreImm32 {
                addr: Slot(0),
                imm: 9,
                end: 8
            }
        ),
        "{code:?}"
    );
    // An `i64` constant that is not a sign-extended `i32` is stored from a slot.
    let wat = func("(i64.store (local.get $a) (i64.const 0x123456789)) (i32.const 0)");
    let names = names(&wat);
    assert!(names.contains(&"I64Store"), "{names:?}");
    assert!(!names.contains(&"StoreImm64"), "{names:?}");
}

#[test]
fn two_f64_operators_fuse_into_a_pair() {
    let wat = "(module (func (param f64 f64 f64) (result f64)
        (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2))))";
    let code = code(wat);
    assert!(
        matches!(
            code[0],
            Instr::F64MulAddL {
                a: 0,
                b: 1,
                c: 2,
                ..
            }
        ),
        "{code:?}"
    );
    let wat = "(module (func (param f64 f64 f64) (result f64)
        (f64.sub (local.get 2) (f64.add (local.get 0) (local.get 1)))))";
    let code = self::code(wat);
    assert!(
        matches!(
            code[0],
            Instr::F64AddSubR {
                a: 0,
                b: 1,
                c: 2,
                ..
            }
        ),
        "{code:?}"
    );
    // The first result is also kept in a local: both operators stay.
    let wat = "(module (func (param f64 f64 f64) (result f64) (local f64)
        (f64.add (local.tee 3 (f64.mul (local.get 0) (local.get 1))) (local.get 2))))";
    let names = names(wat);
    assert!(
        !names.iter().any(|n| n.starts_with("F64MulAdd")),
        "{names:?}"
    );
}

#[test]
fn an_f64_result_stored_to_memory_fuses_with_the_store() {
    let wat = "(module (memory 1) (func (param i32 f64 f64)
        (f64.store offset=8 (local.get 0) (f64.sub (local.get 1) (local.get 2)))))";
    let code = code(wat);
    assert!(
        matches!(
            code[0],
            Instr::F64SubStore {
                a: 1,
                b: 2,
                addr: 0,
                end: 16
            }
        ),
        "{code:?}"
    );
}

#[test]
fn branch_targets_are_relative_to_the_branch() {
    // A backward branch to the loop's first instruction, from instruction 2.
    let wat = func(
        "(loop $l (local.set $i (i32.add (local.get $i) (local.get $a))) (local.set $i (i32.mul (local.get $i) (local.get $b))) (br_if $l (local.get $i))) (local.get $i)",
    );
    let code = code(&wat);
    let (at, target) = code
        .iter()
        .enumerate()
        .find_map(|(at, i)| match *i {
            Instr::BrIfNez { target, .. } => Some((at, target)),
            _ => None,
        })
        .expect("a conditional branch");
    assert_eq!(target.target_of(at), 0, "{code:?}");
    // The disassembler prints the absolute target.
    let mut text = String::new();
    code[at].display_at(at, &mut text).unwrap();
    assert!(text.ends_with("target=@0"), "{text}");
}

#[test]
fn every_instruction_has_a_name_and_disassembles() {
    // The disassembler covers SIMD, GC, calls and memory instructions alike.
    let wat = r#"(module (memory 1) (table 1 funcref) (global $g (mut i32) (i32.const 0))
        (type $t (func (param i32) (result i32)))
        (type $s (struct (field (mut i32))))
        (func $f (param i32) (result i32)
          (drop (struct.new $s (local.get 0)))
          (global.set $g (i32.add (global.get $g) (memory.grow (i32.const 0))))
          (drop (i32x4.extract_lane 1 (i32x4.add (v128.load (local.get 0)) (v128.const i32x4 1 2 3 4))))
          (call_indirect (type $t) (local.get 0) (i32.const 0))))"#;
    let code = code(wat);
    for (at, instr) in code.iter().enumerate() {
        let mut text = String::new();
        instr.display_at(at, &mut text).unwrap();
        assert!(text.starts_with(instr.name()), "{text}");
    }
    let names: Vec<_> = code.iter().map(Instr::name).collect();
    for expected in [
        "Gc",
        "GlobalGet",
        "MemoryGrow",
        "GlobalSet",
        "SimdI32x4Add",
        "CallIndirect",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[test]
fn a_biased_table_index_fuses_into_the_br_table() {
    // `br_table (x - 2)`: the subtraction becomes the table's bias.
    let wat = func(
        "(block (block (block (br_table 0 1 2 (i32.sub (local.get $a) (i32.const 2)))))) (i32.const 0)",
    );
    let code = self::code(&wat);
    assert!(
        matches!(
            code[0],
            Instr::BrTable {
                index: Slot(0),
                len: 2,
                bias: 0xffff_fffe
            }
        ),
        "{code:?}"
    );
    // An index kept in a local as well is computed, and the table has no bias.
    let wat = func(
        "(block (block (block (br_table 0 1 2 (local.tee $i (i32.sub (local.get $a) (i32.const 2))))))) (i32.const 0)",
    );
    let code = self::code(&wat);
    assert!(
        code.iter()
            .any(|i| matches!(i, Instr::BrTable { bias: 0, .. })),
        "{code:?}"
    );
}

#[test]
fn adjacent_copies_fuse_into_a_pair() {
    // Two locals set from two others: two copies, one instruction.
    let wat = "(module (func (param i32 i32) (result i32) (local i32 i32)
        (local.set 2 (local.get 0)) (local.set 3 (local.get 1)) (i32.add (local.get 2) (local.get 3))))";
    let code = code(wat);
    assert!(
        matches!(
            code[0],
            Instr::CopyPair {
                d1: 2,
                s1: 0,
                d2: 3,
                s2: 1
            }
        ),
        "{code:?}"
    );
    // A copy at a loop head (a label) does not join the copy before it.
    let wat = "(module (func (param i32 i32) (result i32) (local i32 i32)
        (local.set 2 (local.get 0)) (loop (local.set 3 (local.get 1)) (br_if 0 (local.get 3))) (local.get 2)))";
    let names = names(wat);
    assert!(!names.contains(&"CopyPair"), "{names:?}");
}

#[test]
fn constant_additions_fold() {
    let code = code(&func(
        "(i32.add (i32.add (local.get $a) (i32.const 16)) (i32.const -4))",
    ));
    assert!(
        matches!(
            code[0],
            Instr::I32AddImm {
                a: Slot(0),
                imm: 12,
                ..
            }
        ),
        "{code:?}"
    );
    // The inner sum is kept in a local: both additions stay.
    let names = names(&func(
        "(i32.add (local.tee $i (i32.add (local.get $a) (i32.const 16))) (i32.const -4))",
    ));
    assert_eq!(
        names.iter().filter(|n| **n == "I32AddImm").count(),
        2,
        "{names:?}"
    );
}

#[test]
fn a_scaled_index_fuses_with_its_addition() {
    for body in [
        "(i32.add (local.get $b) (i32.shl (local.get $a) (i32.const 3)))",
        "(i32.add (i32.shl (local.get $a) (i32.const 3)) (local.get $b))",
    ] {
        let code = code(&func(body));
        assert!(
            matches!(
                code[0],
                Instr::I32AddShl {
                    a: Slot(0),
                    b: Slot(1),
                    shift: 3,
                    ..
                }
            ),
            "{body}: {code:?}"
        );
    }
    // A shift whose result is kept too stays a shift.
    let names = names(&func(
        "(i32.add (local.get $b) (local.tee $i (i32.shl (local.get $a) (i32.const 3))))",
    ));
    assert!(names.contains(&"I32ShlImm"), "{names:?}");
    assert!(!names.contains(&"I32AddShl"), "{names:?}");
}

#[test]
fn high_half_constants_become_immediates() {
    let wat = "(module (func (param i64) (result i32)
        (block (br_if 0 (i64.lt_u (local.get 0) (i64.const 0xfffffff700000000)))) (i32.const 0)))";
    let code = code(wat);
    assert!(
        matches!(
            code[0],
            Instr::BrI64LtUHi {
                a: Slot(0),
                hi: 0xffff_fff7,
                ..
            }
        ),
        "{code:?}"
    );
    // `x >u c` with `c + 1` a high-half constant is `x >=u c + 1`.
    let wat = "(module (func (param i64) (result i64)
        (i64.extend_i32_u (i64.gt_u (local.get 0) (i64.const 0x00000002ffffffff)))))";
    let code = self::code(wat);
    assert!(
        matches!(
            code[0],
            Instr::I64GeUHi {
                a: Slot(0),
                hi: 3,
                ..
            }
        ),
        "{code:?}"
    );
    // A constant with low bits set, or one that fits an immediate, keeps the other forms.
    let kept = names(
        "(module (func (param i64) (result i64) (i64.and (local.get 0) (i64.const 0x100000001))))",
    );
    assert_eq!(kept[..2], ["Const64", "I64And"], "{kept:?}");
    let masked = names(
        "(module (func (param i64) (result i64) (i64.and (local.get 0) (i64.const -4294967296))))",
    );
    assert_eq!(masked[0], "I64AndHi", "{masked:?}");
}

#[test]
fn a_wrap_read_only_by_an_i32_immediate_operator_is_dropped() {
    let wat = "(module (func (param i64) (result i32)
        (i32.add (i32.wrap_i64 (local.get 0)) (i32.const 8))))";
    let code = code(wat);
    assert!(
        matches!(
            code[0],
            Instr::I32AddImm {
                a: Slot(0),
                imm: 8,
                ..
            }
        ),
        "{code:?}"
    );
    // A wrapped value kept in a local stays wrapped (the local must hold a zero-extended i32).
    let wat = "(module (func (param i64) (result i32) (local i32)
        (i32.add (local.tee 1 (i32.wrap_i64 (local.get 0))) (i32.const 8))))";
    let names = names(wat);
    assert!(names.contains(&"I32WrapI64"), "{names:?}");
}

#[test]
fn a_table_lookup_fuses_its_scaled_index_into_the_load() {
    let code = code(&func(
        "(i32.load offset=64 (i32.shl (local.get $a) (i32.const 2)))",
    ));
    assert!(
        matches!(
            code[0],
            Instr::I32LoadShl {
                shift: 2,
                a: Slot(0),
                end: 68,
                ..
            }
        ),
        "{code:?}"
    );
    // A narrower load keeps the shift.
    let names = names(&func(
        "(i32.load8_u offset=64 (i32.shl (local.get $a) (i32.const 2)))",
    ));
    assert_eq!(names[..2], ["I32ShlImm", "I32Load8U"], "{names:?}");
}
