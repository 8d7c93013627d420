//! An engine's background compilation thread (tier-up, `Strategy::Auto`): a queue of jobs run
//! one at a time with a Cranelift compiler for the host, which the thread makes when it starts,
//! at the engine's first request, so start-up never pays for it. Jobs run in the order they
//! came, except that a function's own code goes before code that enters a running call at a
//! loop (which only that call needs). The thread ends once the engine, which owns the queue, is
//! dropped.
//!
//! A leaf: it knows nothing of modules (a job is a closure; `tier_up` makes them). Held by
//! `engine::EngineInner`.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use ward_cranelift::Compiler;

/// A compilation job.
pub(crate) type Job = Box<dyn FnOnce(&Compiler) + Send>;

/// How soon a job should run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Priority {
    /// A function's code: every later call of the function runs it.
    Function,
    /// Code that enters a function at a loop: only the calls already running need it.
    Loop,
}

/// The thread, started by the first [`CompileThread::submit`].
///
/// The queue is not bounded here: tier-up queues a function at most twice (its code, and the
/// code that enters it at its loops), so a module's jobs are bounded by its function count, and
/// a request is never dropped (dropping one left a hot function interpreted until it got hot
/// again, and a program's hottest function could miss the queue for its whole run).
#[derive(Default)]
pub(crate) struct CompileThread {
    /// The queue the thread serves; `None` if it could not be started.
    shared: OnceLock<Option<Arc<Shared>>>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

#[derive(Default)]
struct Queue {
    functions: VecDeque<Job>,
    loops: VecDeque<Job>,
    /// Set when the engine is dropped: the thread ends without running what is left.
    closed: bool,
}

impl CompileThread {
    /// Queues `job`; false if the thread could not be started.
    pub fn submit(&self, job: Job, priority: Priority) -> bool {
        let Some(shared) = self.shared() else {
            return false;
        };
        let mut queue = lock(&shared.queue);
        match priority {
            Priority::Function => queue.functions.push_back(job),
            Priority::Loop => queue.loops.push_back(job),
        }
        shared.ready.notify_one();
        true
    }

    /// Runs `job` on the thread and waits until it has run; false if it could not be run.
    pub fn run(&self, job: Job) -> bool {
        let (done, finished) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move |compiler| {
            job(compiler);
            let _ = done.send(());
        });
        self.submit(job, Priority::Function) && finished.recv().is_ok()
    }

    fn shared(&self) -> Option<&Arc<Shared>> {
        self.shared
            .get_or_init(|| {
                let shared = Arc::new(Shared::default());
                let serving = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name("ward-tier-up".into())
                    .spawn(move || serve(&serving))
                    .ok()
                    .map(|_| shared)
            })
            .as_ref()
    }
}

impl Drop for CompileThread {
    fn drop(&mut self) {
        if let Some(Some(shared)) = self.shared.get() {
            lock(&shared.queue).closed = true;
            shared.ready.notify_one();
        }
    }
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // A job that panicked poisoned nothing the queue relies on.
    queue.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes a compiler for the host, then runs jobs until the engine is dropped. If Cranelift cannot
/// compile for the host, no job runs (and a `run` waiting for one returns false).
fn serve(shared: &Shared) {
    let compiler = Compiler::new().ok();
    loop {
        let job = {
            let mut queue = lock(&shared.queue);
            loop {
                if queue.closed {
                    return;
                }
                if let Some(job) = queue
                    .functions
                    .pop_front()
                    .or_else(|| queue.loops.pop_front())
                {
                    break job;
                }
                queue = shared.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
            }
        };
        match &compiler {
            Some(compiler) => job(compiler),
            // Dropping the job drops a waiting `run`'s sender: it returns false.
            None => drop(job),
        }
    }
}
