//! wasi-threads: `wasi::thread-spawn` starts a new instance of the same module, in a store of its
//! own, on a new OS thread, sharing the module's shared memory and the [`WasiCtx`] state.
//!
//! The module must import its memory as a shared memory; the embedder defines it in the linker
//! (one [`ward::SharedMemory`] for all threads) before instantiating the main instance. A thread
//! runs the module's `wasi_thread_start(tid, start_arg)` export and ends when it returns. A trap or
//! `proc_exit` in any thread ends the whole program: the embedder's `on_exit` is called with the
//! error (the CLI prints it and exits the process), as the wasi-threads proposal specifies.
//!
//! A guest can start at most [`WasiThreads::max_threads`] threads at once; `thread-spawn` beyond
//! that returns a negative number (an `EAGAIN`), as when the host cannot start a thread.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use ward::{Caller, Linker, Module, Store};

/// Most wasi-threads threads a program may run at once by default.
pub const DEFAULT_MAX_THREADS: usize = 64;

/// Highest thread id: wasi-threads ids are positive and below 2^29.
const MAX_TID: i32 = 0x1FFF_FFFF;

/// Makes a new thread's store data from the spawning thread's (sharing its [`crate::WasiCtx`] with
/// [`crate::WasiCtx::share`]), and may configure the new store (limits, fuel).
pub type SpawnData<T> = dyn Fn(&mut T) -> T + Send + Sync;
/// Sets up a new thread's store before it instantiates the module.
pub type ConfigureStore<T> = dyn Fn(&mut Store<T>) + Send + Sync;
/// Told when a thread ends the program with a trap or `proc_exit`.
pub type OnExit = dyn Fn(ward::Error) + Send + Sync;

/// The wasi-threads host state of one program.
pub struct WasiThreads<T> {
    module: Module,
    /// The complete linker, set once the embedder has defined everything (see
    /// [`WasiThreads::set_linker`]).
    linker: OnceLock<Linker<T>>,
    spawn_data: Box<SpawnData<T>>,
    configure: Box<ConfigureStore<T>>,
    on_exit: Box<OnExit>,
    next_tid: AtomicI32,
    running: AtomicUsize,
    max_threads: usize,
}

impl<T: Send + 'static> WasiThreads<T> {
    /// wasi-threads for `module`: `spawn_data` makes each new thread's store data, `configure`
    /// sets its store up, `on_exit` is told when a thread ends the program.
    pub fn new(
        module: &Module,
        spawn_data: impl Fn(&mut T) -> T + Send + Sync + 'static,
        configure: impl Fn(&mut Store<T>) + Send + Sync + 'static,
        on_exit: impl Fn(ward::Error) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(WasiThreads {
            module: module.clone(),
            linker: OnceLock::new(),
            spawn_data: Box::new(spawn_data),
            configure: Box::new(configure),
            on_exit: Box::new(on_exit),
            next_tid: AtomicI32::new(1),
            running: AtomicUsize::new(0),
            max_threads: DEFAULT_MAX_THREADS,
        })
    }

    /// Most threads that may run at once.
    pub fn max_threads(&self) -> usize {
        self.max_threads
    }

    /// Defines `wasi::thread-spawn` in `linker`.
    pub fn add_to_linker(self: &Arc<Self>, linker: &mut Linker<T>) -> ward::Result<()> {
        let threads = Arc::clone(self);
        linker.func_wrap(
            "wasi",
            "thread-spawn",
            move |mut caller: Caller<'_, T>, start_arg: i32| -> i32 {
                threads.spawn(caller.data_mut(), start_arg)
            },
        )?;
        Ok(())
    }

    /// Gives the threads the complete linker (everything the module imports, `thread-spawn`
    /// included), once; spawning fails before.
    pub fn set_linker(&self, linker: &Linker<T>) {
        let _ = self.linker.set(linker.clone());
    }

    /// `thread-spawn`: a new thread id, or a negative number if no thread could be started.
    fn spawn(self: &Arc<Self>, data: &mut T, start_arg: i32) -> i32 {
        const EAGAIN: i32 = -6;
        if self.linker.get().is_none() {
            return EAGAIN;
        }
        let running = self.running.fetch_add(1, Ordering::AcqRel);
        if running >= self.max_threads {
            self.running.fetch_sub(1, Ordering::AcqRel);
            return EAGAIN;
        }
        let tid = self
            .next_tid
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(if t >= MAX_TID { 1 } else { t + 1 })
            })
            .unwrap_or(1);
        let data = (self.spawn_data)(data);
        let threads = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name(format!("wasi-thread-{tid}"))
            .spawn(move || {
                let result = threads.run(data, tid, start_arg);
                threads.running.fetch_sub(1, Ordering::AcqRel);
                if let Err(error) = result {
                    (threads.on_exit)(error);
                }
            });
        match started {
            Ok(_) => tid,
            Err(_) => {
                self.running.fetch_sub(1, Ordering::AcqRel);
                EAGAIN
            }
        }
    }

    /// A thread's life: its own store and instance, then `wasi_thread_start(tid, start_arg)`.
    fn run(&self, data: T, tid: i32, start_arg: i32) -> ward::Result<()> {
        let linker = self
            .linker
            .get()
            .expect("checked before the thread started");
        let mut store = Store::new(self.module.engine(), data);
        (self.configure)(&mut store);
        let instance = linker.instantiate(&mut store, &self.module)?;
        let start = instance.get_typed_func::<(i32, i32), ()>(&store, "wasi_thread_start")?;
        start.call(&mut store, (tid, start_arg))
    }
}
