//! Tier-up (`Strategy::Auto`): queuing a hot function and compiling it. The interpreter counts
//! function entries and loop iterations at its tier-up points (`Instr::TierUpEntry`/`TierUpLoop`,
//! placed where it checks for interruption; the counts are `NativeCode::tier_up_point`'s); a
//! function whose count runs out is queued here on the engine's compile thread
//! (`compile_thread`), and once its machine code is in the module's function table, its next
//! entry runs that code (the entry's tier-up point asks the driver, as `EnterNative` does). Cold
//! code never pays compile time.
//!
//! A request the bounded queue cannot take is dropped and the function's count starts over. A
//! job holds its module weakly: a module dropped before its job runs is not compiled.
//!
//! A call already running in the interpreter when its function is compiled moves to machine code
//! at a loop header (on-stack replacement): its loops' tier-up points then look, every
//! `LOOP_POLL` iterations, for code compiled to enter the function at that loop
//! ([`loop_entry`]), which the first look queues. The interpreter frame's locals are all the
//! state there is at such a header (loops entered with operands on the stack are refused), and
//! the machine code charges the header's fuel itself, so fuel stays exact.
//!
//! Used by the executor (`exec::run`'s `Request::TierUp`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ward_cranelift::Compiler;
use wasmparser::{BinaryReader, FunctionBody};

use super::abi::{self, NativeFn};
use super::code_memory::CodeMemory;
use super::{LoopCode, TierUp, compile_thread, metering};
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
            compile(compiler, &module, index, None);
        }
    });
    if !submit(store, job) {
        tier_up.queued[i].store(false, Ordering::Release);
        tier_up.counters[i].store(tier_up.hot, Ordering::Relaxed);
    }
}

/// At a loop header of defined function `index` of store instance `instance`, in a call that
/// began before the function was compiled: whether machine code that enters the function at this
/// loop (module offset `loop_offset`) is ready. The first time a loop asks, compiling that code
/// is queued.
pub(crate) fn loop_entry(store: &StoreInner, instance: u32, index: u32, loop_offset: u32) -> bool {
    let module = &store.instances[instance as usize].module.inner;
    let Some(tier_up) = module.native.as_ref().and_then(|n| n.tier_up.as_ref()) else {
        return false;
    };
    {
        let mut loops = tier_up.loops.lock().unwrap_or_else(|e| e.into_inner());
        match loops.get(&(index, loop_offset)) {
            Some(LoopCode::Ready(_)) => return true,
            Some(LoopCode::Queued | LoopCode::Refused) => return false,
            None => loops.insert((index, loop_offset), LoopCode::Queued),
        };
    }
    let weak = Arc::downgrade(module);
    let job = Box::new(move |compiler: &Compiler| {
        if let Some(module) = weak.upgrade() {
            compile(compiler, &module, index, Some(loop_offset));
        }
    });
    if !submit(store, job) {
        set_loop(tier_up, index, loop_offset, LoopCode::Refused);
    }
    // With `Config::tier_up_at_once` the code is compiled by now.
    matches!(
        tier_up
            .loops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(index, loop_offset)),
        Some(LoopCode::Ready(_))
    )
}

/// Queues `job` on the engine's compile thread (or, with `Config::tier_up_at_once`, runs it there
/// and waits); false if it could not be queued.
fn submit(store: &StoreInner, job: compile_thread::Job) -> bool {
    let thread = &store.engine.inner.tier_up;
    if store.engine.config().tier_up_at_once {
        thread.run(job)
    } else {
        thread.submit(job)
    }
}

fn set_loop(tier_up: &TierUp, index: u32, loop_offset: u32, code: LoopCode) {
    let mut loops = tier_up.loops.lock().unwrap_or_else(|e| e.into_inner());
    loops.insert((index, loop_offset), code);
}

/// Compiles defined function `index` of `module` and installs its machine code: the function's
/// own, or with `loop_offset` the code that enters it at that loop. A function the tier does not
/// compile (or any failure) leaves it interpreted.
fn compile(compiler: &Compiler, module: &ModuleInner, index: u32, loop_offset: Option<u32>) {
    let Some(native) = module.native.as_ref() else {
        return;
    };
    let Some(tier_up) = native.tier_up.as_ref() else {
        return;
    };
    // Compiled code calls through its types' adapters, which the first tier-up compiles.
    if !native.ensure_adapters(compiler) {
        if let Some(at) = loop_offset {
            set_loop(tier_up, index, at, LoopCode::Refused);
        }
        return;
    }
    let compiled = compile_code(compiler, module, tier_up, index, loop_offset).map(
        |(code, memory, len, sites)| {
            native.code_map.add(super::guard::CodeRange {
                start: code as usize,
                len,
                func_index: module.num_imported_funcs + index,
                sites,
            });
            (code, memory)
        },
    );
    match (compiled, loop_offset) {
        (Some((code, memory)), None) => {
            native.keep(memory);
            native.set_func(index, module.num_imported_funcs + index, code);
            let [compiled, interpreted] = &module.engine.inner.tier_counts;
            compiled.fetch_add(1, Ordering::Relaxed);
            interpreted.fetch_sub(1, Ordering::Relaxed);
        }
        (Some((code, memory)), Some(at)) => {
            native.keep(memory);
            // SAFETY: code that enters a function at a loop has the slot signature `NativeFn`
            // (`Compiler::compile_loop_entry`), in code memory the module now keeps.
            let entry = unsafe { std::mem::transmute::<*const u8, NativeFn>(code) };
            set_loop(tier_up, index, at, LoopCode::Ready(entry));
        }
        (None, Some(at)) => set_loop(tier_up, index, at, LoopCode::Refused),
        (None, None) => {}
    }
}

/// The machine code of defined function `index` (entered at the loop at `loop_offset`, if
/// given) in code memory of its own, or `None` if the tier does not compile it: the function's
/// body has its type's direct signature, code entered at a loop the slot signature.
fn compile_code(
    compiler: &Compiler,
    module: &ModuleInner,
    tier_up: &TierUp,
    index: u32,
    loop_offset: Option<u32>,
) -> Option<(*const u8, CodeMemory, usize, ward_cranelift::CodeSites)> {
    let range = tier_up.bodies.ranges.get(index as usize).cloned()?;
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
    let (desc, layout) = (&tier_up.desc, &abi::layout());
    let code = match loop_offset {
        None => compiler.compile(desc, layout, func_index, &body, &plan),
        Some(at) => compiler.compile_loop_entry(desc, layout, func_index, &body, &plan, at),
    }
    .ok()?;
    let (memory, offsets) = CodeMemory::new(&[(code.code.as_slice(), code.alignment)]).ok()?;
    Some((memory.at(offsets[0]), memory, code.code.len(), code.sites))
}
