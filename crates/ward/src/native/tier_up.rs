//! Tier-up (`Strategy::Auto`): queuing a hot function and compiling it. The interpreter counts
//! function entries and loop iterations at its tier-up points (`Instr::TierUpEntry`/`TierUpLoop`,
//! placed where it checks for interruption; the counts are `NativeCode::tier_up_point`'s); a
//! function whose count runs out is queued here on the engine's compile thread
//! (`compile_thread`), and once its machine code is in the module's function table, its next
//! entry runs that code (the entry's tier-up point asks the driver, as `EnterNative` does). Cold
//! code never pays compile time.
//!
//! Requests are never dropped; a function's own code is compiled before code that enters a
//! running call at its loops (which only the calls already running need), each in the order
//! asked for. A job holds its module weakly: a module dropped before its job runs is not
//! compiled.
//!
//! A call already running in the interpreter when its function is compiled moves to machine code
//! at a loop header (on-stack replacement): its loops' tier-up points then look, every
//! `LOOP_POLL` iterations, for code compiled to enter the function at that loop
//! ([`loop_entry`]), queued once the calls have looked `LOOP_ASKS` times (a call that ends soon
//! after is not worth a second compilation). One compilation enters the function at every
//! loop it can (so the calls of a recursive function, each in a loop of its own, wait for one
//! job): the interpreter frame's locals are all the state there is at such a header (loops
//! entered with operands on the stack are left out), and the machine code charges the header's
//! fuel itself, so fuel stays exact.
//!
//! Used by the executor (`exec::run`'s `Request::TierUp`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ward_cranelift::Compiler;
use wasmparser::{BinaryReader, FunctionBody};

use super::abi::{self, NativeFn};
use super::code_memory::CodeMemory;
use super::compile_thread::{self, Priority};
use super::{LOOP_ASKS, LoopCode, TierUp, metering};
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
    let job = function_job(module, index);
    if !submit(store, job, Priority::Function) {
        tier_up.queued[i].store(false, Ordering::Release);
        tier_up.counters[i].store(tier_up.hot, Ordering::Relaxed);
    }
}

/// Submits compiling the code that enters defined function `index` at its loops (marked queued).
fn submit_loop_entry(store: &StoreInner, module: &Arc<ModuleInner>, tier_up: &TierUp, index: u32) {
    let weak = Arc::downgrade(module);
    let job = Box::new(move |compiler: &Compiler| {
        if let Some(module) = weak.upgrade() {
            compile(compiler, &module, index, true);
        }
    });
    if !submit(store, job, Priority::Loop) {
        set_loop(tier_up, index, LoopCode::Refused);
    }
}

/// Compiling defined function `index` of `module`, unless the module is dropped before.
fn function_job(module: &Arc<ModuleInner>, index: u32) -> compile_thread::Job {
    let module = Arc::downgrade(module);
    Box::new(move |compiler: &Compiler| {
        if let Some(module) = module.upgrade() {
            compile(compiler, &module, index, false);
        }
    })
}

fn tier_up_at_once(store: &StoreInner) -> bool {
    store.engine.config().tier_up_at_once
}

/// At a loop header of defined function `index` of store instance `instance`, in a call that
/// began before the function was compiled: whether machine code that enters the function at this
/// loop (module offset `loop_offset`) is ready. Compiling the code that enters it at its loops is
/// queued at the function's `LOOP_ASKS`th look (the first with `Config::tier_up_at_once`).
pub(crate) fn loop_entry(store: &StoreInner, instance: u32, index: u32, loop_offset: u32) -> bool {
    let module = &store.instances[instance as usize].module.inner;
    let Some(native) = module.native.as_ref() else {
        return false;
    };
    let Some(tier_up) = native.tier_up.as_ref() else {
        return false;
    };
    {
        let mut loops = tier_up.loops.lock().unwrap_or_else(|e| e.into_inner());
        let asks = match loops.get(&index) {
            Some(LoopCode::Ready { loops, .. }) => {
                return loops.binary_search(&loop_offset).is_ok();
            }
            Some(LoopCode::Queued | LoopCode::Refused) => return false,
            Some(LoopCode::Asked(asks)) => asks + 1,
            None => 1,
        };
        // With `Config::tier_up_at_once`, at the first look.
        if asks < LOOP_ASKS && !tier_up_at_once(store) {
            loops.insert(index, LoopCode::Asked(asks));
            return false;
        }
        loops.insert(index, LoopCode::Queued);
    }
    submit_loop_entry(store, module, tier_up, index);
    // With `Config::tier_up_at_once` the code is compiled by now.
    native.loop_code(index, loop_offset).is_some()
}

/// Queues `job` on the engine's compile thread (or, with `Config::tier_up_at_once`, runs it there
/// and waits); false if it could not be queued.
fn submit(store: &StoreInner, job: compile_thread::Job, priority: Priority) -> bool {
    let thread = &store.engine.inner.tier_up;
    if tier_up_at_once(store) {
        thread.run(job)
    } else {
        thread.submit(job, priority)
    }
}

fn set_loop(tier_up: &TierUp, index: u32, code: LoopCode) {
    let mut loops = tier_up.loops.lock().unwrap_or_else(|e| e.into_inner());
    loops.insert(index, code);
}

/// Compiles defined function `index` of `module` and installs its machine code: the function's
/// own, or with `at_loops` the code that enters it at its loops. A function the tier does not
/// compile (or any failure) leaves it interpreted.
fn compile(compiler: &Compiler, module: &ModuleInner, index: u32, at_loops: bool) {
    let Some(native) = module.native.as_ref() else {
        return;
    };
    let Some(tier_up) = native.tier_up.as_ref() else {
        return;
    };
    // Compiled code calls through its types' adapters, which the first tier-up compiles.
    let compiled = match native.ensure_adapters(compiler) {
        true => compile_code(compiler, module, tier_up, index, at_loops),
        false => None,
    };
    let Some((code, memory, len, sites, loops)) = compiled else {
        if at_loops {
            set_loop(tier_up, index, LoopCode::Refused);
        }
        return;
    };
    native.code_map.add(super::guard::CodeRange {
        start: code as usize,
        len,
        func_index: module.num_imported_funcs + index,
        sites,
    });
    native.keep(memory);
    if at_loops {
        // SAFETY: code that enters a function at its loops has the slot signature `NativeFn`
        // (`Compiler::compile_loop_entry`), in code memory the module now keeps.
        let code = unsafe { std::mem::transmute::<*const u8, NativeFn>(code) };
        set_loop(tier_up, index, LoopCode::Ready { code, loops });
    } else {
        native.set_func(index, module.num_imported_funcs + index, code);
        let [compiled, interpreted] = &module.engine.inner.tier_counts;
        compiled.fetch_add(1, Ordering::Relaxed);
        interpreted.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What [`compile_code`] makes: the entry, the code memory holding it, the code's length, its
/// sites and (for code entered at loops) the loops it enters at.
type Compiled = (
    *const u8,
    CodeMemory,
    usize,
    ward_cranelift::CodeSites,
    Box<[u32]>,
);

/// The machine code of defined function `index` (or with `at_loops` the code that enters it at
/// its loops) in code memory of its own, or `None` if the tier does not compile it: the
/// function's body has its type's direct signature, code entered at loops the slot signature.
fn compile_code(
    compiler: &Compiler,
    module: &ModuleInner,
    tier_up: &TierUp,
    index: u32,
    at_loops: bool,
) -> Option<Compiled> {
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
    let (code, loops) = if at_loops {
        let entry = compiler
            .compile_loop_entry(desc, layout, func_index, &body, &plan)
            .ok()?;
        (entry.code, entry.loops.into_boxed_slice())
    } else {
        let code = compiler
            .compile(desc, layout, func_index, &body, &plan)
            .ok()?;
        (code, Box::default())
    };
    let (memory, offsets) = CodeMemory::new(&[(code.code.as_slice(), code.alignment)]).ok()?;
    Some((
        memory.at(offsets[0]),
        memory,
        code.code.len(),
        code.sites,
        loops,
    ))
}
