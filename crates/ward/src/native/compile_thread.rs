//! An engine's background compilation thread (tier-up, `Strategy::Auto`): a bounded queue of jobs
//! run one at a time with a Cranelift compiler for the host, which the thread makes when it
//! starts, at the engine's first request, so start-up never pays for it. The thread ends once the
//! engine, which owns the queue's sender, is dropped.
//!
//! A leaf: it knows nothing of modules (a job is a closure; `tier_up` makes them). Held by
//! `engine::EngineInner`.

use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, SyncSender};

use ward_cranelift::Compiler;

/// Jobs waiting for the thread at most.
const QUEUE: usize = 64;

/// A compilation job.
pub(crate) type Job = Box<dyn FnOnce(&Compiler) + Send>;

/// The thread, started by the first [`CompileThread::submit`].
#[derive(Default)]
pub(crate) struct CompileThread {
    queue: OnceLock<SyncSender<Job>>,
}

impl CompileThread {
    /// Queues `job`; false if the queue is full or the thread could not be started.
    pub fn submit(&self, job: Job) -> bool {
        self.queue().try_send(job).is_ok()
    }

    /// Runs `job` on the thread and waits until it has run; false if it could not be run.
    pub fn run(&self, job: Job) -> bool {
        let (done, finished) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move |compiler| {
            job(compiler);
            let _ = done.send(());
        });
        self.queue().send(job).is_ok() && finished.recv().is_ok()
    }

    fn queue(&self) -> &SyncSender<Job> {
        self.queue.get_or_init(|| {
            let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE);
            // If the thread cannot be started, the receiver is dropped with the closure and every
            // job fails to queue: modules stay interpreted.
            let _ = std::thread::Builder::new()
                .name("ward-tier-up".into())
                .spawn(move || serve(receiver));
            sender
        })
    }
}

/// Makes a compiler for the host, then runs jobs until the engine is dropped. If Cranelift cannot
/// compile for the host, no job runs.
fn serve(jobs: Receiver<Job>) {
    let Ok(compiler) = Compiler::new() else {
        return;
    };
    for job in jobs {
        job(&compiler);
    }
}
