//! Validation and translation of one function body in a single pass over its operators.
//!
//! The operator reader decodes each operator straight into a call of one `visit_*` method of
//! [`BodyVisitor`], which validates it with a direct call into wasmparser's function validator and then
//! hands it to the translator. Reading `Operator` values and feeding them to the validator and the
//! translator separately dispatched on every operator three times (decode, validate, translate) and
//! moved and dropped each `Operator` in between; this is the one decode dispatch plus the
//! translator's.
//!
//! A lazily translated module validates its bodies with wasmparser alone when it is compiled and
//! translates each later, at its first call, with [`translate_validated`] (the same translator,
//! without the validator).
//!
//! Used by `module` (compilation); depends on `interp::translate`.

use std::mem::ManuallyDrop;

use wasmparser::{
    FuncValidator, FunctionBody, Operator, OperatorsReader, OperatorsReaderAllocations,
    ValidatorResources, VisitOperator, VisitSimdOperator,
};

use crate::interp::translate::Translator;
use crate::{Error, Result};

/// Buffers of the operator reader, kept from one function body to the next.
#[derive(Default)]
pub(crate) struct ReaderScratch(Option<OperatorsReaderAllocations>);

/// Operators translated between two checks of the compilation budget.
const OPERATORS_PER_BUDGET_CHECK: u32 = 4096;

/// What compiling one module may still take: the `Config`'s `max_translated_size` and
/// `max_compile_time`, checked every `OPERATORS_PER_BUDGET_CHECK` operators and after each function.
pub(crate) struct CompileBudget {
    /// Bytes of translated code the module's finished functions take.
    pub translated: usize,
    pub max_translated: usize,
    pub deadline: Option<std::time::Instant>,
}

/// Bytes one instruction takes in a compiled function: the instruction and its Wasm offset.
const BYTES_PER_INSTR: usize = std::mem::size_of::<crate::interp::bytecode::Instr>() + 4;

/// Bytes a function of `instructions` instructions counts against `Config::max_translated_size`.
pub(crate) fn translated_size(instructions: usize) -> usize {
    instructions.saturating_mul(BYTES_PER_INSTR)
}

impl CompileBudget {
    /// Fails once the translated code (`in_progress` instructions of the current function on top of
    /// the finished ones) or the time exceeds the budget.
    pub fn check(&self, in_progress: usize) -> Result<()> {
        let bytes = self
            .translated
            .saturating_add(in_progress.saturating_mul(BYTES_PER_INSTR));
        if bytes > self.max_translated {
            return Err(Error::CompileLimit(format!(
                "the module's translated code exceeds the limit of {} bytes (Config::max_translated_size)",
                self.max_translated
            )));
        }
        if self
            .deadline
            .is_some_and(|deadline| std::time::Instant::now() > deadline)
        {
            return Err(Error::CompileLimit(
                "compiling the module took longer than allowed (Config::max_compile_time)".into(),
            ));
        }
        Ok(())
    }

    /// Counts a finished function's code against the budget.
    pub fn add_function(&mut self, instructions: usize) -> Result<()> {
        self.check(instructions)?;
        self.translated += instructions * BYTES_PER_INSTR;
        Ok(())
    }
}

/// Validates the locals and operators of `body` and translates them with `translator`.
pub(super) fn validate_and_translate(
    validator: &mut FuncValidator<ValidatorResources>,
    translator: &mut Translator<'_, '_>,
    body: &FunctionBody<'_>,
    scratch: &mut ReaderScratch,
    budget: &CompileBudget,
) -> Result<()> {
    let mut reader = body.get_binary_reader();
    let groups = reader.read_var_u32().map_err(Error::invalid)?;
    for _ in 0..groups {
        let offset = reader.original_position();
        let count = reader.read_var_u32().map_err(Error::invalid)?;
        let ty = reader.read().map_err(Error::invalid)?;
        validator
            .define_locals(offset, count, ty)
            .map_err(Error::invalid)?;
        translator.add_locals(count, ty)?;
    }
    let mut visitor = BodyVisitor {
        validator,
        translator,
        offset: 0,
    };
    visit_operators(reader, &mut visitor, scratch, budget)
}

/// Translates the locals and operators of `body`, which was validated before (a lazily translated
/// function at its first call).
pub(crate) fn translate_validated(
    translator: &mut Translator<'_, '_>,
    body: &FunctionBody<'_>,
    scratch: &mut ReaderScratch,
    budget: &CompileBudget,
) -> Result<()> {
    let mut reader = body.get_binary_reader();
    let groups = reader.read_var_u32().map_err(Error::invalid)?;
    for _ in 0..groups {
        let count = reader.read_var_u32().map_err(Error::invalid)?;
        let ty = reader.read().map_err(Error::invalid)?;
        translator.add_locals(count, ty)?;
    }
    let mut visitor = TranslateVisitor {
        translator,
        offset: 0,
    };
    visit_operators(reader, &mut visitor, scratch, budget)
}

/// What [`visit_operators`] needs of a visitor besides visiting.
trait OperatorPass {
    /// Records the byte offset of the operator about to be visited.
    fn set_offset(&mut self, offset: u64);
    /// Instructions translated so far in the current function.
    fn code_len(&self) -> usize;
}

/// Shows each operator of a body (after its locals) to `visitor`, checking the budget as it goes.
fn visit_operators<'a, V>(
    reader: wasmparser::BinaryReader<'a>,
    visitor: &mut V,
    scratch: &mut ReaderScratch,
    budget: &CompileBudget,
) -> Result<()>
where
    V: VisitOperator<'a, Output = Result<()>> + OperatorPass,
{
    let mut ops = OperatorsReader::new_with_allocs(reader, scratch.0.take().unwrap_or_default());
    let result = (|| {
        let mut until_check = OPERATORS_PER_BUDGET_CHECK;
        while !ops.eof() {
            visitor.set_offset(ops.original_position());
            ops.visit_operator(visitor).map_err(Error::invalid)??;
            until_check -= 1;
            if until_check == 0 {
                until_check = OPERATORS_PER_BUDGET_CHECK;
                budget.check(visitor.code_len())?;
            }
        }
        ops.finish().map_err(Error::invalid)
    })();
    scratch.0 = Some(ops.into_allocations());
    result
}

/// Validates, then translates, each operator it is shown.
struct BodyVisitor<'v, 't, 'a, 'e> {
    validator: &'v mut FuncValidator<ValidatorResources>,
    translator: &'t mut Translator<'a, 'e>,
    /// Byte offset of the operator being visited.
    offset: u64,
}

impl OperatorPass for BodyVisitor<'_, '_, '_, '_> {
    fn set_offset(&mut self, offset: u64) {
        self.offset = offset;
    }
    fn code_len(&self) -> usize {
        self.translator.code_len()
    }
}

/// Translates each (already validated) operator it is shown.
struct TranslateVisitor<'t, 'a, 'e> {
    translator: &'t mut Translator<'a, 'e>,
    /// Byte offset of the operator being visited.
    offset: u64,
}

impl OperatorPass for TranslateVisitor<'_, '_, '_> {
    fn set_offset(&mut self, offset: u64) {
        self.offset = offset;
    }
    fn code_len(&self) -> usize {
        self.translator.code_len()
    }
}

/// One `visit_*` method per operator: validate (the arguments are `Copy` except for a few rare
/// operators' tables, hence the clones), then translate the same operator. `$validator` names the
/// `FuncValidator` method giving the matching visitor (plain or SIMD).
macro_rules! define_visit {
    ($validator:ident; $(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Result<()> {
                self.validator
                    .$validator(self.offset)
                    .$visit($($($arg.clone()),*)?)
                    .map_err(Error::invalid)?;
                // Most operators hold only `Copy` immediates; not dropping those skips a call of the
                // generic `Operator` drop (1% of compiling `large.wasm`).
                let op = ManuallyDrop::new(Operator::$op $({ $($arg),* })?);
                let result = self.translator.translate(&op, self.offset);
                if false $($(|| std::mem::needs_drop::<$argty>())*)? {
                    drop(ManuallyDrop::into_inner(op));
                }
                result
            }
        )*
    };
}

/// One `visit_*` method per operator that only translates (see `define_visit`).
macro_rules! define_translate {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Result<()> {
                let op = ManuallyDrop::new(Operator::$op $({ $($arg),* })?);
                let result = self.translator.translate(&op, self.offset);
                if false $($(|| std::mem::needs_drop::<$argty>())*)? {
                    drop(ManuallyDrop::into_inner(op));
                }
                result
            }
        )*
    };
}

macro_rules! define_visit_plain {
    ($($tokens:tt)*) => { define_visit!(visitor; $($tokens)*); };
}

macro_rules! define_visit_simd {
    ($($tokens:tt)*) => { define_visit!(simd_visitor; $($tokens)*); };
}

#[allow(clippy::clone_on_copy)]
impl<'a> VisitOperator<'a> for BodyVisitor<'_, '_, '_, '_> {
    type Output = Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Result<()>>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_visit_plain);
}

#[allow(clippy::clone_on_copy)]
impl<'a> VisitSimdOperator<'a> for BodyVisitor<'_, '_, '_, '_> {
    wasmparser::for_each_visit_simd_operator!(define_visit_simd);
}

impl<'a> VisitOperator<'a> for TranslateVisitor<'_, '_, '_> {
    type Output = Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Result<()>>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_translate);
}

impl<'a> VisitSimdOperator<'a> for TranslateVisitor<'_, '_, '_> {
    wasmparser::for_each_visit_simd_operator!(define_translate);
}
