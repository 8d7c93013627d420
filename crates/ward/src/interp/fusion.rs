//! The fusion rules: pairs of adjacent instructions the translator replaces by one, each rule a
//! pattern and the fused instruction. The table lists every rule; the first eight are in this file.
//!
//! | rule | pattern | fused |
//! |---|---|---|
//! | compare + branch | `I32LtS` (or `…Imm`, `I32Eqz`) whose result only a branch reads | `BrI32LtS` (negated for `if`) |
//! | high-half constant + branch | `I64LtUHi`, `I64GeUHi`, `I64EqHi`, `I64NeHi` whose result only a branch reads | `BrI64LtUHi` … (negated for `if`) |
//! | flag test + branch | `I32And`/`I32AndImm` whose result only a branch reads | `BrI32AndNez`, `BrI32AndImmNez` (`…Eqz` for `if`) |
//! | add + branch | `I32Add`/`I32AddImm` then a compare-and-branch on the sum | `I32AddBr*`, `I32AddImmBr*`, `…Imm` |
//! | load + branch | `I32Load`/`I32Load8U` then a compare-and-branch on the loaded value | `I32LoadBr*`, `I32Load8UBr*` |
//! | address + access | `I32AddImm` computing the address of an offset-0 access | `*At` |
//! | `f64` pair | `f64` add/sub/mul whose result only another one reads | `F64{Op1}{Op2}{L,R}` |
//! | `f64` op + store | `f64` add/sub/mul whose result only an `f64.store` reads | `F64{Op}Store` |
//!
//! | table bias | `I32AddImm` computing a `br_table` index | `BrTable` with `bias` |
//! | copy pair | two adjacent `Copy`s | `CopyPair` |
//! | constant sum | `I32AddImm` of an `I32AddImm`'s result | one `I32AddImm` |
//! | scaled index | `I32ShlImm` whose result only an `i32.add` reads | `I32AddShl` |
//! | scaled load | `I32ShlImm` computing the address of an `i32.load` | `I32LoadShl` |
//! | wrap | `I32WrapI64` whose result only an `i32` register-immediate operator reads | the operator on the `i64` |
//! | high-half constant | an `i64` compare or `and` with `c << 32` | `I64LtUHi`, …, `I64AndHi` |
//! | global update | `GlobalGet` of `g`, `I32AddImm` of it, `GlobalSet` of `g` (a stack-pointer prologue); or an `I32AddImm` whose sum only a `GlobalSet` reads | `GlobalAddImm`; `GlobalSetAddImm` |
//!
//! The last eight rules are small enough that their patterns live beside the
//! translator step that applies them (`translate`: `translate_br_table`, `fuse_copy_pair`,
//! `fold_add_imm`, `fuse_add_shl`, `fuse_address`, `skip_wrap`, `high_half_constant`,
//! `fuse_global_update`).
//!
//! The translator (`translate`) decides *when* a rule may apply (the first instruction wrote a
//! fresh temporary that nothing else reads, no label lies between the two); this file decides
//! *what* the fused instruction is. Unit tests: `translate::tests`.

use super::bytecode::{BranchOffset, Instr, PairSlot, Slot};

/// An integer comparison, as the fused branches name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

impl Cmp {
    /// The comparison with its operands swapped: `a < b` is `b > a`.
    fn mirrored(self) -> Cmp {
        use Cmp::*;
        match self {
            Eq => Eq,
            Ne => Ne,
            LtS => GtS,
            LtU => GtU,
            GtS => LtS,
            GtU => LtU,
            LeS => GeS,
            LeU => GeU,
            GeS => LeS,
            GeU => LeU,
        }
    }
}

/// The right-hand side of a comparison: a slot or an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Against<S> {
    Slot(S),
    Imm(u32),
}

/// What an `i32.add` fused into a branch adds: two slots, or a slot and an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sum {
    Slots(PairSlot, PairSlot),
    Imm(PairSlot, u32),
}

/// The rules of the fused `i32` branches, one row per comparison: the compare-and-branch
/// instructions (slot and immediate forms) and the add+branch and load+branch instructions they
/// fuse into.
macro_rules! branch_fusion_rules {
    ($(
        $cmp:ident: $br:ident / $bri:ident,
            add $add:ident / $add_imm:ident / $add_cmp_imm:ident / $add_imm_cmp_imm:ident,
            load $load:ident, load8 $load8:ident;
    )*) => {
        /// An `i32` conditional branch as `(comparison, left slot, right operand, target)`;
        /// `br_if` on a value is a comparison with zero.
        fn i32_branch(instr: &Instr) -> Option<(Cmp, Slot, Against<Slot>, BranchOffset)> {
            Some(match *instr {
                $(
                    Instr::$br { a, b, target } => (Cmp::$cmp, a, Against::Slot(b), target),
                    Instr::$bri { a, imm, target } => (Cmp::$cmp, a, Against::Imm(imm), target),
                )*
                Instr::BrIfNez { cond, target } => (Cmp::Ne, cond, Against::Imm(0), target),
                Instr::BrIfEqz { cond, target } => (Cmp::Eq, cond, Against::Imm(0), target),
                _ => return None,
            })
        }

        /// The add+branch instruction: `slot[d] = sum`, then jump if `sum cmp against`. The
        /// immediate-immediate form exists only for a counter updated in place.
        fn add_branch(cmp: Cmp, d: PairSlot, sum: Sum, against: Against<PairSlot>, target: BranchOffset) -> Option<Instr> {
            Some(match (cmp, sum, against) {
                $(
                    (Cmp::$cmp, Sum::Slots(a, b), Against::Slot(c)) => Instr::$add { d, a, b, c, target },
                    (Cmp::$cmp, Sum::Imm(a, imm), Against::Slot(c)) => Instr::$add_imm { d, imm, a, c, target },
                    (Cmp::$cmp, Sum::Slots(a, b), Against::Imm(cmp)) => Instr::$add_cmp_imm { d, a, b, cmp, target },
                    (Cmp::$cmp, Sum::Imm(a, imm), Against::Imm(cmp)) if a == d => {
                        Instr::$add_imm_cmp_imm { s: d, imm, cmp, target }
                    }
                )*
                _ => return None,
            })
        }

        /// The load+branch instruction: load into `slot[d]`, then jump if the value compares true
        /// against a slot (or, for `Eq`/`Ne`, against zero).
        fn load_branch(
            byte: bool,
            cmp: Cmp,
            (d, addr, end): (PairSlot, PairSlot, u32),
            against: Against<PairSlot>,
            target: BranchOffset,
        ) -> Option<Instr> {
            Some(match (byte, cmp, against) {
                $(
                    (false, Cmp::$cmp, Against::Slot(c)) => Instr::$load { d, addr, c, end, target },
                    (true, Cmp::$cmp, Against::Slot(c)) => Instr::$load8 { d, addr, c, end, target },
                )*
                (false, Cmp::Eq, Against::Imm(0)) => Instr::I32LoadBrEqz { d, addr, end, target },
                (false, Cmp::Ne, Against::Imm(0)) => Instr::I32LoadBrNez { d, addr, end, target },
                (true, Cmp::Eq, Against::Imm(0)) => Instr::I32Load8UBrEqz { d, addr, end, target },
                (true, Cmp::Ne, Against::Imm(0)) => Instr::I32Load8UBrNez { d, addr, end, target },
                _ => return None,
            })
        }
    };
}

branch_fusion_rules! {
    Eq: BrI32Eq / BrI32EqImm, add I32AddBrEq / I32AddImmBrEq / I32AddBrEqImm / I32AddImmBrEqImm,
        load I32LoadBrEq, load8 I32Load8UBrEq;
    Ne: BrI32Ne / BrI32NeImm, add I32AddBrNe / I32AddImmBrNe / I32AddBrNeImm / I32AddImmBrNeImm,
        load I32LoadBrNe, load8 I32Load8UBrNe;
    LtS: BrI32LtS / BrI32LtSImm, add I32AddBrLtS / I32AddImmBrLtS / I32AddBrLtSImm / I32AddImmBrLtSImm,
        load I32LoadBrLtS, load8 I32Load8UBrLtS;
    LtU: BrI32LtU / BrI32LtUImm, add I32AddBrLtU / I32AddImmBrLtU / I32AddBrLtUImm / I32AddImmBrLtUImm,
        load I32LoadBrLtU, load8 I32Load8UBrLtU;
    GtS: BrI32GtS / BrI32GtSImm, add I32AddBrGtS / I32AddImmBrGtS / I32AddBrGtSImm / I32AddImmBrGtSImm,
        load I32LoadBrGtS, load8 I32Load8UBrGtS;
    GtU: BrI32GtU / BrI32GtUImm, add I32AddBrGtU / I32AddImmBrGtU / I32AddBrGtUImm / I32AddImmBrGtUImm,
        load I32LoadBrGtU, load8 I32Load8UBrGtU;
    LeS: BrI32LeS / BrI32LeSImm, add I32AddBrLeS / I32AddImmBrLeS / I32AddBrLeSImm / I32AddImmBrLeSImm,
        load I32LoadBrLeS, load8 I32Load8UBrLeS;
    LeU: BrI32LeU / BrI32LeUImm, add I32AddBrLeU / I32AddImmBrLeU / I32AddBrLeUImm / I32AddImmBrLeUImm,
        load I32LoadBrLeU, load8 I32Load8UBrLeU;
    GeS: BrI32GeS / BrI32GeSImm, add I32AddBrGeS / I32AddImmBrGeS / I32AddBrGeSImm / I32AddImmBrGeSImm,
        load I32LoadBrGeS, load8 I32Load8UBrGeS;
    GeU: BrI32GeU / BrI32GeUImm, add I32AddBrGeU / I32AddImmBrGeU / I32AddBrGeUImm / I32AddImmBrGeUImm,
        load I32LoadBrGeU, load8 I32Load8UBrGeU;
}

/// `slot` as the 16-bit slot of a fused instruction, if it fits.
fn pair(slot: Slot) -> Option<PairSlot> {
    slot.try_into().ok()
}

/// The comparison of `branch` with the value of slot `d` on its left, and what it is compared
/// against (the comparison mirrored when `d` is its right operand). `None` if the branch does not
/// read `d`, reads it on both sides, or uses a slot that does not fit a fused instruction.
fn on_value(branch: &Instr, d: PairSlot) -> Option<(Cmp, Against<PairSlot>, BranchOffset)> {
    let (cmp, a, b, target) = i32_branch(branch)?;
    match b {
        Against::Imm(imm) if pair(a) == Some(d) => Some((cmp, Against::Imm(imm), target)),
        Against::Slot(b) if pair(a) == Some(d) && b != a => {
            Some((cmp, Against::Slot(pair(b)?), target))
        }
        Against::Slot(b) if pair(b) == Some(d) && a != b => {
            Some((cmp.mirrored(), Against::Slot(pair(a)?), target))
        }
        _ => None,
    }
}

impl Instr {
    /// Add+branch and load+branch fusion: `self` is a conditional branch and `first` the
    /// instruction just before it in the same straight-line code. If `first` is an `i32.add`
    /// (`I32Add`, `I32AddImm`) or a memory-0 `i32.load`/`i32.load8_u` and the branch compares its
    /// result, returns the one instruction doing both. The target is kept.
    pub(crate) fn fuse_add_branch(&self, first: &Instr) -> Option<Instr> {
        match *first {
            Instr::I32Add { dst, a, b } => {
                let d = pair(dst)?;
                let (cmp, against, target) = on_value(self, d)?;
                add_branch(cmp, d, Sum::Slots(pair(a)?, pair(b)?), against, target)
            }
            Instr::I32AddImm { dst, a, imm } => {
                let d = pair(dst)?;
                let (cmp, against, target) = on_value(self, d)?;
                add_branch(cmp, d, Sum::Imm(pair(a)?, imm), against, target)
            }
            // (Both keep their `end`: the fused forms access the same width.)
            Instr::I32Load { dst, addr, end } | Instr::I32Load8U { dst, addr, end } => {
                let byte = matches!(first, Instr::I32Load8U { .. });
                let d = pair(dst)?;
                let (cmp, against, target) = on_value(self, d)?;
                load_branch(byte, cmp, (d, pair(addr)?, end), against, target)
            }
            _ => None,
        }
    }
}

/// Declares which comparisons fuse with a following conditional branch: each row names the
/// comparison, its immediate form, the fused branch on the comparison and the fused branch on its
/// negation (integers only: a negated float comparison is not the opposite comparison because of NaN).
macro_rules! compare_branch_rules {
    ($($cmp:ident / $cmpi:ident => $br:ident / $bri:ident, not $nbr:ident / $nbri:ident;)*) => {
        impl Instr {
            /// Compare+branch fusion: if this instruction is an integer comparison (or `i32.eqz`)
            /// writing `cond`, the fused branch that jumps when the comparison holds (or, with
            /// `negate`, when it does not); its target is unset.
            pub(crate) fn fuse_compare_branch(&self, cond: Slot, negate: bool) -> Option<Instr> {
                let target = BranchOffset::default();
                Some(match *self {
                    $(
                        Instr::$cmp { dst, a, b } if dst == cond => {
                            if negate { Instr::$nbr { a, b, target } } else { Instr::$br { a, b, target } }
                        }
                        Instr::$cmpi { dst, a, imm } if dst == cond => {
                            if negate { Instr::$nbri { a, imm, target } } else { Instr::$bri { a, imm, target } }
                        }
                    )*
                    Instr::I32Eqz { dst, src } if dst == cond => {
                        if negate { Instr::BrIfNez { cond: src, target } } else { Instr::BrIfEqz { cond: src, target } }
                    }
                    // Comparisons with a high-half constant: the four form two negation pairs.
                    Instr::I64LtUHi { dst, a, hi } if dst == cond => {
                        if negate { Instr::BrI64GeUHi { a, hi, target } } else { Instr::BrI64LtUHi { a, hi, target } }
                    }
                    Instr::I64GeUHi { dst, a, hi } if dst == cond => {
                        if negate { Instr::BrI64LtUHi { a, hi, target } } else { Instr::BrI64GeUHi { a, hi, target } }
                    }
                    Instr::I64EqHi { dst, a, hi } if dst == cond => {
                        if negate { Instr::BrI64NeHi { a, hi, target } } else { Instr::BrI64EqHi { a, hi, target } }
                    }
                    Instr::I64NeHi { dst, a, hi } if dst == cond => {
                        if negate { Instr::BrI64EqHi { a, hi, target } } else { Instr::BrI64NeHi { a, hi, target } }
                    }
                    // A flag test: the branch on `a & b` (or `a & mask`) tests the bits directly.
                    Instr::I32And { dst, a, b } if dst == cond => {
                        if negate { Instr::BrI32AndEqz { a, b, target } } else { Instr::BrI32AndNez { a, b, target } }
                    }
                    Instr::I32AndImm { dst, a, imm } if dst == cond => {
                        if negate { Instr::BrI32AndImmEqz { a, imm, target } } else { Instr::BrI32AndImmNez { a, imm, target } }
                    }
                    _ => return None,
                })
            }
        }
    };
}

compare_branch_rules! {
    I32Eq / I32EqImm => BrI32Eq / BrI32EqImm, not BrI32Ne / BrI32NeImm;
    I32Ne / I32NeImm => BrI32Ne / BrI32NeImm, not BrI32Eq / BrI32EqImm;
    I32LtS / I32LtSImm => BrI32LtS / BrI32LtSImm, not BrI32GeS / BrI32GeSImm;
    I32LtU / I32LtUImm => BrI32LtU / BrI32LtUImm, not BrI32GeU / BrI32GeUImm;
    I32GtS / I32GtSImm => BrI32GtS / BrI32GtSImm, not BrI32LeS / BrI32LeSImm;
    I32GtU / I32GtUImm => BrI32GtU / BrI32GtUImm, not BrI32LeU / BrI32LeUImm;
    I32LeS / I32LeSImm => BrI32LeS / BrI32LeSImm, not BrI32GtS / BrI32GtSImm;
    I32LeU / I32LeUImm => BrI32LeU / BrI32LeUImm, not BrI32GtU / BrI32GtUImm;
    I32GeS / I32GeSImm => BrI32GeS / BrI32GeSImm, not BrI32LtS / BrI32LtSImm;
    I32GeU / I32GeUImm => BrI32GeU / BrI32GeUImm, not BrI32LtU / BrI32LtUImm;
    I64Eq / I64EqImm => BrI64Eq / BrI64EqImm, not BrI64Ne / BrI64NeImm;
    I64Ne / I64NeImm => BrI64Ne / BrI64NeImm, not BrI64Eq / BrI64EqImm;
    I64LtS / I64LtSImm => BrI64LtS / BrI64LtSImm, not BrI64GeS / BrI64GeSImm;
    I64LtU / I64LtUImm => BrI64LtU / BrI64LtUImm, not BrI64GeU / BrI64GeUImm;
    I64GtS / I64GtSImm => BrI64GtS / BrI64GtSImm, not BrI64LeS / BrI64LeSImm;
    I64GtU / I64GtUImm => BrI64GtU / BrI64GtUImm, not BrI64LeU / BrI64LeUImm;
    I64LeS / I64LeSImm => BrI64LeS / BrI64LeSImm, not BrI64GtS / BrI64GtSImm;
    I64LeU / I64LeUImm => BrI64LeU / BrI64LeUImm, not BrI64GtU / BrI64GtUImm;
    I64GeS / I64GeSImm => BrI64GeS / BrI64GeSImm, not BrI64LtS / BrI64LtSImm;
    I64GeU / I64GeUImm => BrI64GeU / BrI64GeUImm, not BrI64LtU / BrI64LtUImm;
}

/// The address+access rules: an offset-0 access of memory 0 whose address is `slot[a] + imm`
/// (an `I32AddImm`) becomes the access at `a` with the immediate added in 32 bits. The store
/// rows map a store to the fused form of the same width (`f32`/`f64` by their bits). Each row
/// gives the access width: a memarg offset of 0 is an `end` of that width.
macro_rules! address_rules {
    (
        loads: [$($load:ident($lw:literal) => $load_at:ident),* $(,)?]
        stores: [$($store:ident($sw:literal) => $store_at:ident),* $(,)?]
        constant_stores: [$($cstore:ident($cw:literal) => $cstore_at:ident),* $(,)?]
    ) => {
        impl Instr {
            /// The fused form of this memory-0 access (offset 0, address in `addr`) whose address
            /// is `slot[a] + imm` computed by an `I32AddImm`, if there is one.
            pub(crate) fn fuse_address_add(&self, addr: Slot, a: Slot, imm: u32) -> Option<Instr> {
                Some(match *self {
                    $(Instr::$load { dst, addr: x, end: $lw } if x == addr => Instr::$load_at { dst, a, imm },)*
                    $(Instr::$store { addr: x, value, end: $sw } if x == addr => Instr::$store_at { a, value, imm },)*
                    $(Instr::$cstore { addr: x, imm: value, end: $cw } if x == addr => Instr::$cstore_at { a, value, imm },)*
                    _ => return None,
                })
            }
        }
    };
}

address_rules! {
    loads: [
        I32Load(4) => I32LoadAt, F32Load(4) => I32LoadAt, I64Load(8) => I64LoadAt,
        F64Load(8) => I64LoadAt, I32Load8U(1) => I32Load8UAt, I32Load8S(1) => I32Load8SAt,
        I32Load16U(2) => I32Load16UAt, I32Load16S(2) => I32Load16SAt,
        V128LoadPlain(16) => V128LoadAt,
    ]
    stores: [
        I32Store(4) => I32StoreAt, F32Store(4) => I32StoreAt, I64Store32(4) => I32StoreAt,
        I64Store(8) => I64StoreAt, F64Store(8) => I64StoreAt,
        I32Store8(1) => I32Store8At, I64Store8(1) => I32Store8At,
        I32Store16(2) => I32Store16At, I64Store16(2) => I32Store16At, V128Store(16) => V128StoreAt,
    ]
    constant_stores: [
        StoreImm8(1) => StoreImm8At, StoreImm16(2) => StoreImm16At, StoreImm32(4) => StoreImm32At,
        StoreImm64(8) => StoreImm64At,
    ]
}

/// The `f64` operators that fuse into pairs and stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum F64PairOp {
    Add,
    Sub,
    Mul,
}

/// The `f64` rules: each operator, its instruction and its op+store instruction, and the pair
/// instructions of each two operators, `t = a op1 b` then `t op2 c` (`L`) or `c op2 t` (`R`).
macro_rules! f64_rules {
    (
        ops: [$($op:ident: $instr:ident, store $store:ident;)*]
        pairs: [$($first:ident $second:ident => $left:ident / $right:ident;)*]
    ) => {
        impl Instr {
            /// The `f64` operator of this instruction and its slots `(dst, a, b)`, if it can start
            /// or end a pair.
            pub(crate) fn f64_pair_op(&self) -> Option<(F64PairOp, Slot, Slot, Slot)> {
                match *self {
                    $(Instr::$instr { dst, a, b } => Some((F64PairOp::$op, dst, a, b)),)*
                    _ => None,
                }
            }

            /// The instruction storing `slot[a] op slot[b]` to memory 0 at `slot[addr] + end - 8`.
            pub(crate) fn f64_op_store(op: F64PairOp, a: PairSlot, b: PairSlot, addr: PairSlot, end: u32) -> Instr {
                match op {
                    $(F64PairOp::$op => Instr::$store { a, b, addr, end },)*
                }
            }

            /// The pair instruction `t = slot[a] first slot[b]; slot[dst] = t second slot[c]` (with
            /// `t_left`) or `slot[c] second t`.
            pub(crate) fn f64_pair(
                first: F64PairOp,
                second: F64PairOp,
                t_left: bool,
                dst: Slot,
                (a, b, c): (PairSlot, PairSlot, PairSlot),
            ) -> Instr {
                match (first, second, t_left) {
                    $(
                        (F64PairOp::$first, F64PairOp::$second, true) => Instr::$left { dst, a, b, c },
                        (F64PairOp::$first, F64PairOp::$second, false) => Instr::$right { dst, a, b, c },
                    )*
                }
            }
        }
    };
}

f64_rules! {
    ops: [
        Add: F64Add, store F64AddStore;
        Sub: F64Sub, store F64SubStore;
        Mul: F64Mul, store F64MulStore;
    ]
    pairs: [
        Add Add => F64AddAddL / F64AddAddR;
        Add Sub => F64AddSubL / F64AddSubR;
        Add Mul => F64AddMulL / F64AddMulR;
        Sub Add => F64SubAddL / F64SubAddR;
        Sub Sub => F64SubSubL / F64SubSubR;
        Sub Mul => F64SubMulL / F64SubMulR;
        Mul Add => F64MulAddL / F64MulAddR;
        Mul Sub => F64MulSubL / F64MulSubR;
        Mul Mul => F64MulMulL / F64MulMulR;
    ]
}
