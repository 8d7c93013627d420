//! Tier-up (`Strategy::Auto`): queuing a hot function and compiling it. The interpreter counts
//! function entries and loop iterations at its tier-up points (`Instr::TierUpEntry`/`TierUpLoop`,
//! placed where it checks for interruption; the counts are `NativeCode::tier_up_point`'s); a
//! function whose count runs out is queued here on the engine's compile thread
//! (`compile_thread`), and once its machine code is in the module's function table, its next
//! entry runs that code (the entry's tier-up point asks the driver, as `EnterNative` does). Cold
//! code never pays compile time.
//!
//! A request the bounded queue cannot take is dropped and the function's count starts over. A
//! job holds its module weakly: a module dropped before its job runs is not compiled. Calls
//! already running in the interpreter go on there (there is no on-stack replacement).
//!
//! Used by the executor (`exec::run`'s `Request::TierUp`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ward_cranelift::Compiler;
use wasmparser::{BinaryReader, FunctionBody};

use super::abi::{self, NativeFn};
use super::code_memory::CodeMemory;
use super::{HOT, metering};
use crate::interp::code::FuncCode;
use crate::module::ModuleInner;
use crate::runtime::store::StoreInner;

/// Queues defined function `index` of store instance `instance`, which just got hot.
pub(crate) fn request(store: &StoreInner, instance: u32, index: u32) {
    let module = &store.instances[instance as usize].module.inner;
    let Some(tier_up) = module.native.as_ref().and_then(|n| n.tier_up.as_ref()) else {
        return;
    };
    let i = index as usize;
    if tier_up.queued[i].swap(true, Ordering::AcqRel) {
        return;
    }
    let module = Arc::downgrade(module);
    let job = Box::new(move |compiler: &Compiler| {
        // A module dropped before its turn is not compiled.
        if let Some(module) = module.upgrade() {
            compile(compiler, &module, index);
        }
    });
    if !store.engine.inner.tier_up.submit(job) {
        tier_up.queued[i].store(false, Ordering::Release);
        tier_up.counters[i].store(HOT, Ordering::Relaxed);
    }
}

/// Compiles defined function `index` of `module` and installs its machine code. A function the
/// tier does not compile (or any failure) leaves it interpreted.
fn compile(compiler: &Compiler, module: &ModuleInner, index: u32) {
    let Some(native) = module.native.as_ref() else {
        return;
    };
    let Some(tier_up) = native.tier_up.as_ref() else {
        return;
    };
    let Some(range) = tier_up.bodies.ranges.get(index as usize).cloned() else {
        return;
    };
    let reader = BinaryReader::new_features(
        &tier_up.bodies.bytes[range.clone()],
        (tier_up.bodies.offset + range.start) as u64,
        module.engine.features(),
    );
    let body = FunctionBody::new(reader);
    let plan = module
        .interp
        .funcs
        .get(index as usize)
        .and_then(FuncCode::get)
        .map(metering::plan_of)
        .unwrap_or_default();
    let func_index = module.num_imported_funcs + index;
    let Ok(code) = compiler.compile(&tier_up.desc, &abi::layout(), func_index, &body, &plan) else {
        return;
    };
    let Ok((memory, offsets)) = CodeMemory::new(&[(code.code.as_slice(), code.alignment)]) else {
        return;
    };
    // SAFETY: the code at `offsets[0]` is a complete function compiled for the host with the
    // native signature (`ward_cranelift`), in executable memory the module keeps (`set_func`).
    let entry = unsafe { std::mem::transmute::<*const u8, NativeFn>(memory.at(offsets[0])) };
    native.set_func(index, func_index, entry, memory);
    let [compiled, interpreted] = &module.engine.inner.tier_counts;
    compiled.fetch_add(1, Ordering::Relaxed);
    interpreted.fetch_sub(1, Ordering::Relaxed);
}
