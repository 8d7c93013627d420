//! Tier-up (`Strategy::Auto`): modules start in the interpreter; the interpreter counts function
//! entries and loop iterations at its tier-up points (`Instr::TierUpEntry`/`TierUpLoop`, placed
//! where it checks for interruption: function entries and loop headers); a function whose count
//! runs out is queued for compilation on the engine's background thread ([`Worker`]), and once its
//! machine code is in the module's function table, its next entry runs that code (the entry's
//! tier-up point asks the driver, as `EnterNative` does). Cold code never pays compile time.
//!
//! The queue is bounded ([`QUEUE`]): a request that does not fit is dropped and the function's
//! count starts over. A job holds its module weakly: a module dropped before its job runs is not
//! compiled, and the thread ends once its engine is dropped (the queue's sender is the engine's).
//! Calls already running in the interpreter go on there (there is no on-stack replacement).
//!
//! Used by the executor (`interp::ops::tier_up`, `exec::run`'s `Request::TierUp`) and by
//! `native::compile_module`, which sets a module up for tier-up.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, OnceLock, Weak};

use ward_cranelift::{Compiler, ModuleDesc};
use wasmparser::{BinaryReader, FunctionBody};

use super::abi::{self, NativeFn};
use super::code_memory::CodeMemory;
use super::{NativeCode, metering};
use crate::interp::code::FuncCode;
use crate::module::ModuleInner;
use crate::runtime::store::StoreInner;

/// Tier-up points a function passes (entries plus loop iterations) before it is compiled.
pub(crate) const HOT: u32 = 1000;

/// Compilation requests waiting for the background thread at most.
const QUEUE: usize = 64;

/// What a tier-up point does.
pub(crate) enum TierUpStep {
    /// Run the function's machine code (at an entry, once it is compiled).
    Run,
    /// The function just got hot: queue it.
    Compile,
    /// Go on interpreting.
    Go,
}

/// A module's function bodies, copied from its binary for compiling them later.
pub(crate) struct Bodies {
    /// From the first body's start to the last one's end.
    pub bytes: Box<[u8]>,
    /// Offset of `bytes` in the module binary (compiled code's trap offsets are module offsets).
    pub offset: usize,
    /// Each defined function's body, as a range of `bytes`.
    pub ranges: Box<[Range<usize>]>,
}

/// A module's tier-up state.
pub(crate) struct TierUp {
    desc: ModuleDesc,
    bodies: Bodies,
    /// Per defined function: tier-up points left until it is hot (0 once it was queued).
    counters: Box<[AtomicU32]>,
    /// Per defined function: queued (or compiled, or refused by the compiler) already.
    queued: Box<[AtomicBool]>,
}

impl TierUp {
    pub fn new(desc: ModuleDesc, bodies: Bodies) -> TierUp {
        let n = bodies.ranges.len();
        TierUp {
            desc,
            bodies,
            counters: (0..n).map(|_| AtomicU32::new(HOT)).collect(),
            queued: (0..n).map(|_| AtomicBool::new(false)).collect(),
        }
    }
}

impl NativeCode {
    /// A tier-up point of defined function `index`, at its entry or a loop header.
    ///
    /// The count is a relaxed load and store, not a read-modify-write: racing threads may lose a
    /// count or both see the function get hot (the queue takes it once), and this stays as cheap
    /// as the interpreter's other check points.
    pub(crate) fn tier_up_point(&self, index: u32, entry: bool) -> TierUpStep {
        if entry && self.is_compiled(index) {
            return TierUpStep::Run;
        }
        let Some(counter) = self
            .tier_up
            .as_ref()
            .and_then(|t| t.counters.get(index as usize))
        else {
            return TierUpStep::Go;
        };
        match counter.load(Ordering::Relaxed) {
            0 => TierUpStep::Go,
            1 => {
                counter.store(0, Ordering::Relaxed);
                TierUpStep::Compile
            }
            n => {
                counter.store(n - 1, Ordering::Relaxed);
                TierUpStep::Go
            }
        }
    }
}

/// A function to compile: defined function `index` of `module`, unless the module is gone.
struct Job {
    module: Weak<ModuleInner>,
    index: u32,
}

/// An engine's background compilation thread, started by its first request.
#[derive(Default)]
pub(crate) struct Worker {
    queue: OnceLock<SyncSender<Job>>,
}

impl Worker {
    /// Queues `job`; false if the queue is full or the thread could not be started.
    fn submit(&self, job: Job) -> bool {
        let queue = self.queue.get_or_init(|| {
            let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE);
            // If the thread cannot be started, the receiver is dropped with the closure and
            // every request fails to queue: the module stays interpreted.
            let _ = std::thread::Builder::new()
                .name("ward-tier-up".into())
                .spawn(move || serve(receiver));
            sender
        });
        queue.try_send(job).is_ok()
    }
}

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
    let job = Job {
        module: Arc::downgrade(module),
        index,
    };
    if !store.engine.inner.tier_up.submit(job) {
        tier_up.queued[i].store(false, Ordering::Release);
        tier_up.counters[i].store(HOT, Ordering::Relaxed);
    }
}

/// The background thread: makes a compiler for the host, then compiles queued functions until the
/// engine is dropped. If Cranelift cannot compile for the host, nothing is compiled.
fn serve(jobs: Receiver<Job>) {
    let Ok(compiler) = Compiler::new() else {
        return;
    };
    for job in jobs {
        if let Some(module) = job.module.upgrade() {
            compile(&compiler, &module, job.index);
        }
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
