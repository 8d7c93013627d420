//! The two adapters of a function type, which connect the slot signature (the runtime's) with the
//! direct signature (compiled code's) in both directions (see the crate documentation).

use cranelift_codegen::ir::{self, InstBuilder, StackSlotData, StackSlotKind, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

use crate::translate::{
    clif_type, direct_signature, finish, load_slot, slot_flags, slot_indices, slots_of, store_slot,
    wasm_signature,
};
use crate::{CompileError, CompiledFunction, ContextLayout, FuncSig};

/// The entry in `table` (a field of the context at `table_field`) of the function whose module
/// function index is `index` (also how compiled code finds a callee in the direct table).
pub(crate) fn table_entry(
    builder: &mut FunctionBuilder<'_>,
    ptr: ir::Type,
    ctx: Value,
    table_field: i32,
    index: Value,
) -> Value {
    let table = builder.ins().load(ptr, slot_flags(), ctx, table_field);
    let at = builder.ins().uextend(ptr, index);
    let at = builder.ins().imul_imm_u(at, ptr.bytes() as i64);
    let entry = builder.ins().iadd(table, at);
    builder.ins().load(ptr, slot_flags(), entry, 0)
}

/// The slot entry of type `sig`: with the slot signature, calls the direct table's entry of the
/// function it is called for with the arguments from the slots, and writes its results back.
pub(crate) fn slot_entry(
    isa: &dyn TargetIsa,
    layout: &ContextLayout,
    sig: &FuncSig,
) -> Result<CompiledFunction, CompileError> {
    let ptr = isa.pointer_type();
    let mut func =
        ir::Function::with_name_signature(ir::UserFuncName::user(1, 0), wasm_signature(isa));
    let mut context = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut context);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    let &[ctx, slots, index] = builder.block_params(block) else {
        unreachable!("the slot signature has three parameters")
    };
    let mut args = vec![ctx, index];
    let at = slot_indices(sig.params.iter().map(|t| clif_type(*t)));
    for (i, ty) in sig.params.iter().enumerate() {
        args.push(load_slot(&mut builder, slots, at[i], *ty));
    }
    let code = table_entry(&mut builder, ptr, ctx, layout.direct_funcs, index);
    let sig_ref = builder.import_signature(direct_signature(isa, sig));
    let call = builder.ins().call_indirect(sig_ref, code, &args);
    let returned = builder.inst_results(call).to_vec();
    // Results of a failed call are zeros, written where nothing reads them.
    let at = slot_indices(sig.results.iter().map(|t| clif_type(*t)));
    for (i, v) in returned[1..].iter().enumerate() {
        store_slot(&mut builder, slots, at[i], *v);
    }
    builder.ins().return_(&returned[..1]);
    builder.seal_all_blocks();
    builder.finalize(isa.frontend_config());
    finish(isa, func)
}

/// The direct exit of type `sig`: with the direct signature, calls the slot table's entry of the
/// function it is called for (the runtime's entry for an import or an interpreted function) with
/// the arguments in slots, and returns its status and results.
pub(crate) fn direct_exit(
    isa: &dyn TargetIsa,
    layout: &ContextLayout,
    sig: &FuncSig,
) -> Result<CompiledFunction, CompileError> {
    let ptr = isa.pointer_type();
    let mut func =
        ir::Function::with_name_signature(ir::UserFuncName::user(1, 1), direct_signature(isa, sig));
    let mut context = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut context);
    let n_slots = slots_of(&sig.params).max(slots_of(&sig.results)).max(1);
    let slot_area = builder.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        (n_slots * 8) as u32,
        3,
    ));
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    let params = builder.block_params(block).to_vec();
    let (ctx, index) = (params[0], params[1]);
    let slots = builder.ins().stack_addr(ptr, slot_area, 0);
    let at = slot_indices(sig.params.iter().map(|t| clif_type(*t)));
    for (i, v) in params[2..].iter().enumerate() {
        store_slot(&mut builder, slots, at[i], *v);
    }
    let code = table_entry(&mut builder, ptr, ctx, layout.funcs, index);
    let sig_ref = builder.import_signature(wasm_signature(isa));
    let call = builder
        .ins()
        .call_indirect(sig_ref, code, &[ctx, slots, index]);
    let mut returned = vec![builder.inst_results(call)[0]];
    let at = slot_indices(sig.results.iter().map(|t| clif_type(*t)));
    for (i, ty) in sig.results.iter().enumerate() {
        returned.push(load_slot(&mut builder, slots, at[i], *ty));
    }
    builder.ins().return_(&returned);
    builder.seal_all_blocks();
    builder.finalize(isa.frontend_config());
    finish(isa, func)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValType;

    #[test]
    fn adapters_compile_for_wide_signatures() {
        let isa = crate::Compiler::new().expect("a host compiler");
        let layout = crate::tests::layout();
        let all = [
            ValType::I32,
            ValType::I64,
            ValType::F32,
            ValType::F64,
            ValType::V128,
        ];
        let sig = FuncSig {
            params: all.iter().cycle().take(20).copied().collect(),
            results: all.iter().cycle().take(9).copied().collect(),
        };
        for sig in [FuncSig::default(), sig] {
            let entry = slot_entry(&*isa.isa, &layout, &sig).expect("slot entry");
            let exit = direct_exit(&*isa.isa, &layout, &sig).expect("direct exit");
            assert!(!entry.code.is_empty() && !exit.code.is_empty());
        }
    }
}
