//! Pausing a call and snapshots of a paused call: [`Func::call_resumable`] returns a
//! [`PausedCall`] when the call runs out of fuel or reaches an interruption point (epoch deadline,
//! interrupt request) instead of trapping; [`PausedCall::resume`] goes on with it, and
//! [`Store::snapshot`] writes it with the store's state to bytes that [`Store::restore`] reads back,
//! in another process, into a store set up the same way.
//!
//! This works because the interpreter keeps every Wasm frame in its own data (`interp::stack`):
//! a paused call is its value stack, its frame records and the registers of the current function,
//! with no host frame in between. The format is documented in `docs/SNAPSHOTS.md`; every number in
//! it is checked on restore, since a snapshot file is input ward does not trust.
//!
//! Uses the executor's pausable entry points (`interp::exec::{invoke_pausable, resume}`) and the
//! store's entities (`runtime`).

use sha2::{Digest, Sha256};

use crate::embedder::write_results;
use crate::func::{Caller, Func};
use crate::gc_repr::Layout;
use crate::handle::StoreId;
use crate::interp::exec::{self, Outcome, PauseReason as ExecPause, Paused};
use crate::interp::stack::{Current, ExecStack, Frame};
use crate::runtime::gc::{GcHeap, GcObject, ObjectKind, array_words};
use crate::runtime::store::{FuncKind, StoreInner};
use crate::store::{AsContext, AsContextMut, Store};
use crate::types::{HeapType, TypeId, ValType, slot_count};
use crate::values::{Val, vals_from_slots};
use crate::{Error, Result};

/// The first bytes of every snapshot.
const MAGIC: &[u8; 8] = b"WARDSNAP";
/// The format version; a snapshot of another version is refused.
const VERSION: u32 = 1;
/// Memory is written in chunks of this many bytes; chunks of zeros are left out.
const CHUNK: usize = 4096;

/// How a [`Func::call_resumable`] call came back.
#[derive(Debug)]
pub enum ResumableCall {
    /// The function returned these results.
    Finished(Vec<Val>),
    /// The call paused; [`PausedCall::resume`] goes on with it.
    Paused(PausedCall),
}

/// Why a call paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PauseReason {
    /// The store's fuel ran out. Nothing of the straight-line run that needed more fuel has
    /// executed; it is charged again when the call resumes, so add fuel first
    /// ([`Store::set_fuel`]).
    OutOfFuel,
    /// An interruption point fired: the epoch deadline was reached, or an
    /// [`InterruptHandle`](crate::InterruptHandle) asked. Move the deadline
    /// ([`Store::set_epoch_deadline`]) before resuming, or the call pauses again at its next check.
    Interrupt,
    /// The call was snapshotted inside a host function ([`Caller::snapshot`]) and restored: it
    /// goes on when given that host function's results ([`PausedCall::resume_with_results`]).
    HostCall,
}

/// A call into Wasm that paused: its value stack, frame records and registers. Resume it in the
/// store it ran in ([`PausedCall::resume`]), or save it with [`Store::snapshot`].
pub struct PausedCall {
    store: StoreId,
    paused: Box<Paused>,
}

impl std::fmt::Debug for PausedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PausedCall")
            .field("reason", &self.reason())
            .field("depth", &(self.paused.stack.frames().len() + 1))
            .finish_non_exhaustive()
    }
}

impl PausedCall {
    /// Why the call paused.
    pub fn reason(&self) -> PauseReason {
        match self.paused.reason {
            ExecPause::OutOfFuel => PauseReason::OutOfFuel,
            ExecPause::Interrupt => PauseReason::Interrupt,
            ExecPause::HostCall { .. } => PauseReason::HostCall,
        }
    }

    /// The function the call was made to.
    pub fn func(&self) -> Func {
        Func {
            store: self.store,
            index: self.paused.entry,
        }
    }

    /// Gives the call up: the trap it would have ended with had it not been pausable
    /// ([`TrapKind::OutOfFuel`](crate::TrapKind::OutOfFuel) or
    /// [`TrapKind::Interrupt`](crate::TrapKind::Interrupt)), with its Wasm backtrace.
    pub fn into_trap(self, store: impl AsContext) -> Error {
        let inner = &store.as_context().inner;
        crate::coredump::attach(inner, Error::Trap(self.paused.trap(inner)))
    }

    /// Goes on with the call from where it paused. It may pause again.
    pub fn resume(self, mut store: impl AsContextMut) -> Result<ResumableCall> {
        let store = store.as_context_mut();
        if store.inner.id != self.store {
            return Err(Error::Usage(
                "a paused call resumes only in the store it ran in".into(),
            ));
        }
        outside_activations(&store.inner, "resume a paused call")?;
        if let ExecPause::HostCall { .. } = self.paused.reason {
            return Err(Error::Usage(
                "the call is paused in a host call: give its results with \
                 PausedCall::resume_with_results"
                    .into(),
            ));
        }
        let entry = self.paused.entry;
        let outcome = exec::resume(store, *self.paused, exec::Mode::RESUMABLE);
        finish(store, entry, outcome)
    }
}

impl PausedCall {
    /// Goes on with a call restored from a snapshot taken inside a host function
    /// ([`Caller::snapshot`]): the host function returns `results` to its Wasm caller, which
    /// continues from there.
    pub fn resume_with_results(
        self,
        mut store: impl AsContextMut,
        results: &[Val],
    ) -> Result<ResumableCall> {
        let store = store.as_context_mut();
        if store.inner.id != self.store {
            return Err(Error::Usage(
                "a paused call resumes only in the store it ran in".into(),
            ));
        }
        outside_activations(&store.inner, "resume a paused call")?;
        let ExecPause::HostCall { callee, fp, .. } = self.paused.reason else {
            return Err(Error::Usage(
                "resume_with_results is for a call paused in a host call (use PausedCall::resume)"
                    .into(),
            ));
        };
        let sig = store.inner.funcs[callee as usize].sig.clone();
        if results.len() != sig.results().len() {
            return Err(Error::Usage(format!(
                "the host function returns {} results, {} were given",
                sig.results().len(),
                results.len()
            )));
        }
        let mut paused = *self.paused;
        let width = slot_count(sig.params()).max(slot_count(sig.results()));
        write_results(
            &store.inner,
            results,
            sig.results(),
            &mut paused.stack.slots_mut()[fp..fp + width],
        )?;
        let entry = paused.entry;
        let outcome = exec::resume_after_host(store, paused, Ok(()), exec::Mode::RESUMABLE);
        finish(store, entry, outcome)
    }
}

impl<T> Caller<'_, T> {
    /// A snapshot of the running call, taken inside this host function: restored
    /// ([`Store::restore`]) into a store set up the same way, the call comes back paused in this
    /// host call ([`PauseReason::HostCall`]), and
    /// [`PausedCall::resume_with_results`] returns the host function's results to the Wasm code.
    /// Meanwhile this call goes on as usual. What the snapshot holds and refuses is as for
    /// [`Store::snapshot`]; it can be taken only in a host function called by the outermost call
    /// into Wasm, not from Wasm called by another host function.
    ///
    /// ```
    /// use ward::{Caller, Engine, Linker, Module, PauseReason, ResumableCall, Store, Val};
    ///
    /// let engine = Engine::default();
    /// let wat = r#"(module
    ///     (import "host" "checkpoint" (func $checkpoint (result i32)))
    ///     (func (export "run") (result i32)
    ///       (i32.add (i32.const 100) (call $checkpoint))))"#;
    /// let module = Module::new(&engine, wat)?;
    /// let mut linker: Linker<Vec<u8>> = Linker::new(&engine);
    /// linker.func_wrap("host", "checkpoint", |mut caller: Caller<'_, Vec<u8>>| -> ward::Result<i32> {
    ///     let snapshot = caller.snapshot(b"")?;
    ///     *caller.data_mut() = snapshot;
    ///     Ok(1)
    /// })?;
    /// let mut store = Store::new(&engine, Vec::new());
    /// let run = linker.instantiate(&mut store, &module)?.get_func(&store, "run").unwrap();
    /// let mut result = [Val::I32(0)];
    /// run.call(&mut store, &[], &mut result)?;
    /// assert_eq!(result[0].unwrap_i32(), 101);
    ///
    /// // Elsewhere: the same setup, then the snapshot; the checkpoint returns 2 this time.
    /// let snapshot = store.into_data();
    /// let mut store = Store::new(&engine, Vec::new());
    /// linker.instantiate(&mut store, &module)?;
    /// let (paused, _) = store.restore(&snapshot)?;
    /// assert_eq!(paused.reason(), PauseReason::HostCall);
    /// let ResumableCall::Finished(result) = paused.resume_with_results(&mut store, &[Val::I32(2)])? else {
    ///     unreachable!()
    /// };
    /// assert_eq!(result[0].unwrap_i32(), 102);
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn snapshot(&self, host_state: &[u8]) -> Result<Vec<u8>> {
        let inner = &self.store.inner;
        let [site] = inner.host_calls.as_slice() else {
            return Err(refuse(
                "a snapshot is taken in a host function called by the outermost call into Wasm",
            ));
        };
        if inner.activations != 1 {
            return Err(refuse(
                "a snapshot is taken in a host function called by the outermost call into Wasm",
            ));
        }
        // SAFETY: `site` names the frame records and value stack of the activation suspended in
        // this host call, which neither moves nor changes them until the host returns (see the
        // `Request::HostCall` arm of `interp::exec::run`); only shared reads are made here.
        let (frames, slots) = unsafe {
            (
                std::slice::from_raw_parts(site.frames, site.n_frames),
                std::slice::from_raw_parts(site.slots, site.live),
            )
        };
        let stopped = Stopped {
            entry: site.entry,
            reason: ExecPause::HostCall {
                callee: site.callee,
                fp: site.args_fp,
                tail: site.tail,
            },
            frames,
            cur: site.cur,
            fp: site.fp,
            ip: site.ip,
            slots,
        };
        write_snapshot(inner, &stopped, host_state)
    }
}

impl Func {
    /// Calls the function like [`Func::call`], except that running out of fuel or reaching an
    /// interruption point pauses the call instead of trapping: it comes back as
    /// [`ResumableCall::Paused`]. Only a call from outside Wasm can pause (not one made by a host
    /// function); inside host functions, nested calls trap as usual.
    ///
    /// ```
    /// use ward::{Config, Engine, Instance, Module, ResumableCall, Store, Val};
    ///
    /// let mut config = Config::new();
    /// config.consume_fuel(true);
    /// let engine = Engine::new(&config)?;
    /// let module = Module::new(&engine, r#"(module (func (export "sum") (param i32) (result i32)
    ///     (local i32)
    ///     (loop $l
    ///       (local.set 1 (i32.add (local.get 1) (local.get 0)))
    ///       (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    ///     (local.get 1)))"#)?;
    /// let mut store = Store::new(&engine, ());
    /// let sum = Instance::new(&mut store, &module, &[])?.get_func(&store, "sum").unwrap();
    /// store.set_fuel(100)?;
    /// let mut call = sum.call_resumable(&mut store, &[Val::I32(1000)])?;
    /// let mut pauses = 0;
    /// let results = loop {
    ///     match call {
    ///         ResumableCall::Finished(results) => break results,
    ///         ResumableCall::Paused(paused) => {
    ///             pauses += 1;
    ///             store.set_fuel(100)?;
    ///             call = paused.resume(&mut store)?;
    ///         }
    ///     }
    /// };
    /// assert_eq!(results[0].unwrap_i32(), 500_500);
    /// assert!(pauses > 10);
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn call_resumable(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
    ) -> Result<ResumableCall> {
        let store = store.as_context_mut();
        let (_, raw) = self.raw_args(&store.inner, params)?;
        outside_activations(&store.inner, "make a resumable call")?;
        let outcome = exec::invoke_pausable(store, self.index, &raw, exec::Mode::RESUMABLE);
        finish(store, self.index, outcome)
    }
}

/// Fails when Wasm is running in the store (a host function is calling).
fn outside_activations(inner: &StoreInner, what: &str) -> Result<()> {
    if inner.activations > 0 {
        return Err(Error::Usage(format!(
            "cannot {what} from inside a host function (only a call from outside Wasm can pause)"
        )));
    }
    Ok(())
}

/// The public form of an executor outcome.
fn finish<T>(store: &mut Store<T>, entry: u32, outcome: Result<Outcome>) -> Result<ResumableCall> {
    let outcome = outcome.map_err(|err| crate::coredump::attach(&store.inner, err))?;
    Ok(match outcome {
        Outcome::Done(raw) => {
            let sig = store.inner.funcs[entry as usize].sig.clone();
            ResumableCall::Finished(vals_from_slots(&raw, sig.results(), &store.inner))
        }
        Outcome::Paused(paused) => ResumableCall::Paused(PausedCall {
            store: store.inner.id,
            paused,
        }),
    })
}

impl<T> Store<T> {
    /// Writes `paused` and this store's state to bytes that [`Store::restore`] reads back, with
    /// `host_state` (the embedder's own state, such as WASI's descriptor table) carried alongside.
    ///
    /// The snapshot holds the hashes of the instances' modules, the memories, tables and globals,
    /// the dropped segments, the GC heap (structs, arrays and exceptions, with their handles), the
    /// fuel left and the paused call's value stack and frames. It does not hold host functions'
    /// state or the host data `T`. Refused (with [`Error::Snapshot`]): a store holding host
    /// references (`externref`s of host values) and a shared memory.
    pub fn snapshot(&self, paused: &PausedCall, host_state: &[u8]) -> Result<Vec<u8>> {
        if paused.store != self.inner.id {
            return Err(Error::Usage(
                "the paused call belongs to another store".into(),
            ));
        }
        if let ExecPause::HostCall { .. } = paused.paused.reason {
            return Err(refuse("the call is paused in an async host function"));
        }
        write_snapshot(&self.inner, &Stopped::of_paused(&paused.paused), host_state)
    }

    /// Restores a [`Store::snapshot`] into this store, which must have been set up the same way
    /// as the one it was taken of: the same engine settings, and the same modules instantiated
    /// and host functions defined in the same order (as running the same program's setup again
    /// does). Memories, tables, globals and fuel take the snapshot's values; the paused call comes
    /// back, ready to [resume](PausedCall::resume), with the embedder's `host_state`.
    ///
    /// Every part of the snapshot is checked against the store before anything changes: a
    /// truncated or corrupt file, another format version, a different module or a different
    /// setup is an [`Error::Snapshot`] and leaves the store as it was. The GC heap's size is then
    /// asked of the store's resource limiter, and memories and tables grow to the snapshot's
    /// sizes through it; if it refuses, the restore fails with the store's memories possibly grown
    /// but nothing else changed.
    pub fn restore(&mut self, snapshot: &[u8]) -> Result<(PausedCall, Vec<u8>)> {
        outside_activations(&self.inner, "restore a snapshot")?;
        let parsed = parse_snapshot(&self.inner, snapshot)?;
        apply(self, parsed)
    }
}

// ----- writing -----

/// Little-endian output.
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, v: usize) {
        self.u64(v as u64);
    }
    fn bytes(&mut self, v: &[u8]) {
        self.len(v.len());
        self.0.extend_from_slice(v);
    }
}

fn refuse(what: impl std::fmt::Display) -> Error {
    Error::Snapshot(format!("cannot snapshot this store: {what}"))
}

/// The engine settings the translated code depends on: instruction indices in a snapshot are
/// indices into code translated with these.
fn settings(inner: &StoreInner) -> [u8; 4] {
    let config = inner.engine.config();
    [
        config.consume_fuel as u8,
        config.epoch_interruption as u8,
        config.deterministic as u8,
        0,
    ]
}

/// Whether a reference of type `ty` may be written: function references are store indices and GC
/// references heap handles, which the restored store has too; a host's `externref` (an index into
/// the store's host objects, which a snapshot cannot hold) is refused.
fn check_reference(ty: ValType, raw: u128, what: &str) -> Result<()> {
    match ty {
        ValType::Ref(r) if is_host_extern(r.heap, raw) => {
            Err(refuse(format!("{what} holds a host reference (externref)")))
        }
        _ => Ok(()),
    }
}

/// Whether `raw`, a reference of `heap`, is a host object's `externref` (not null, and not a GC
/// reference made external with `extern.convert_any`).
fn is_host_extern(heap: HeapType, raw: u128) -> bool {
    matches!(heap, HeapType::Extern | HeapType::NoExtern)
        && raw != 0
        && (raw as u64) & crate::gc_repr::EXTERNALIZED == 0
}

/// Whether references of `heap` are function references.
fn is_func_heap(inner: &StoreInner, heap: HeapType) -> bool {
    match heap {
        HeapType::Func | HeapType::NoFunc => true,
        HeapType::Concrete(id) => inner.engine.type_is(id, |info| info.func.is_some()),
        _ => false,
    }
}

/// A stopped activation as a snapshot writes it: a paused call's, or one suspended in a host call.
struct Stopped<'a> {
    entry: u32,
    reason: ExecPause,
    frames: &'a [Frame],
    cur: Current,
    fp: usize,
    ip: u32,
    /// The live slots.
    slots: &'a [u64],
}

impl<'a> Stopped<'a> {
    fn of_paused(paused: &'a Paused) -> Stopped<'a> {
        let live = paused.fp + paused.cur.compiled().frame_size as usize;
        Stopped {
            entry: paused.entry,
            reason: paused.reason,
            frames: paused.stack.frames(),
            cur: paused.cur,
            fp: paused.fp,
            ip: paused.ip,
            slots: &paused.stack.slots()[..live],
        }
    }
}

fn write_snapshot(inner: &StoreInner, paused: &Stopped<'_>, host_state: &[u8]) -> Result<Vec<u8>> {
    if !inner.externs.is_empty() {
        return Err(refuse("it holds host references (externref)"));
    }
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(&settings(inner));
    w.bytes(env!("CARGO_PKG_VERSION").as_bytes());
    // Instances: their modules and dropped segments.
    w.len(inner.instances.len());
    for instance in &inner.instances {
        w.0.extend_from_slice(&instance.module.inner.hash);
        w.len(instance.data.len());
        for segment in &instance.data {
            w.u8(segment.is_empty() as u8);
        }
        w.len(instance.elems.len());
        for segment in &instance.elems {
            w.u8(segment.is_empty() as u8);
        }
    }
    // Functions: what each store index runs.
    w.len(inner.funcs.len());
    for func in &inner.funcs {
        match func.kind {
            FuncKind::Wasm { instance, index } => {
                w.u8(0);
                w.u32(instance);
                w.u32(index);
            }
            FuncKind::Host { index } => {
                w.u8(1);
                w.u32(index);
                w.u32(0);
            }
            FuncKind::AsyncHost { index } => {
                w.u8(2);
                w.u32(index);
                w.u32(0);
            }
        }
    }
    // Memories: size, then the runs of chunks that are not all zeros.
    w.len(inner.memories.len());
    for (i, memory) in inner.memories.iter().enumerate() {
        if memory.shared().is_some() {
            return Err(refuse(format!("memory {i} is shared")));
        }
        let data = memory.data();
        w.u64(data.len() as u64);
        let runs = nonzero_runs(data);
        w.len(runs.len());
        for run in runs {
            w.u64(run.start as u64);
            w.bytes(&data[run]);
        }
    }
    // Tables.
    w.len(inner.tables.len());
    for (i, table) in inner.tables.iter().enumerate() {
        let ty = ValType::Ref(table.ty.element);
        w.len(table.elements.len());
        for &element in &table.elements {
            check_reference(ty, element as u128, &format!("table {i}"))?;
            w.u64(element);
        }
    }
    // Globals.
    w.len(inner.globals.len());
    for (i, global) in inner.globals.iter().enumerate() {
        check_reference(global.ty.content, global.value, &format!("global {i}"))?;
        w.u128(global.value);
    }
    write_heap(&mut w, inner)?;
    w.u64(inner.fuel);
    w.bytes(host_state);
    // The paused call.
    w.u32(paused.entry);
    match paused.reason {
        ExecPause::OutOfFuel => w.u8(0),
        ExecPause::Interrupt => w.u8(1),
        ExecPause::HostCall { callee, fp, tail } => {
            w.u8(2);
            w.u32(callee);
            w.len(fp);
            w.u8(tail as u8);
        }
    }
    w.len(paused.frames.len());
    for frame in paused.frames {
        write_position(&mut w, &frame.cur, frame.fp, frame.ip);
    }
    write_position(&mut w, &paused.cur, paused.fp, paused.ip);
    w.len(paused.slots.len());
    for &slot in paused.slots {
        w.u64(slot);
    }

    let payload = w.0;
    let mut out = Vec::with_capacity(payload.len() + 52);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&Sha256::digest(&payload));
    Ok(out)
}

/// A function position: instance, defined-function index, the length of its code (a check that
/// the code is the same translation), frame pointer and instruction index.
fn write_position(w: &mut Writer, cur: &Current, fp: usize, ip: u32) {
    w.u32(cur.instance);
    w.u32(cur.index);
    w.len(cur.compiled().code.len());
    w.len(fp);
    w.u32(ip);
}

/// The byte ranges of `data`, in whole chunks, that are not all zeros, adjacent ones merged.
fn nonzero_runs(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, chunk) in data.chunks(CHUNK).enumerate() {
        if chunk.iter().all(|&b| b == 0) {
            continue;
        }
        let start = i * CHUNK;
        let end = start + chunk.len();
        match runs.last_mut() {
            Some(last) if last.end == start => last.end = end,
            _ => runs.push(start..end),
        }
    }
    runs
}

// ----- the GC heap -----

/// A fingerprint of a type's structure (its signature or layout, its supertype), so that a type
/// id in a snapshot is checked to name the same type in the restoring engine.
fn type_fingerprint(inner: &StoreInner, ty: TypeId) -> Option<[u8; 32]> {
    let info = inner.engine.type_info(ty)?;
    Some(Sha256::digest(format!("{info:?}").as_bytes()).into())
}

/// Writes the GC heap: the types its objects have, then every slot (generation, and the object
/// if there is one: its type, kind and words), then the free list. Handles in slots, globals,
/// tables and objects are (slot, generation) pairs, so the restored heap answers to them as is.
fn write_heap(w: &mut Writer, inner: &StoreInner) -> Result<()> {
    let (objects, generations, free) = inner.gc.parts();
    let mut types: Vec<TypeId> = objects.iter().flatten().map(|o| o.ty).collect();
    types.sort_by_key(|t| (t.index, t.generation));
    types.dedup();
    w.len(types.len());
    for ty in &types {
        let fingerprint = type_fingerprint(inner, *ty)
            .ok_or_else(|| refuse("a GC object's type is not registered"))?;
        w.u32(ty.index);
        w.u32(ty.generation);
        w.0.extend_from_slice(&fingerprint);
    }
    w.len(objects.len());
    for (object, generation) in objects.iter().zip(generations) {
        w.u32(*generation);
        let Some(object) = object else {
            w.u8(0);
            continue;
        };
        let ty = types
            .binary_search_by_key(&(object.ty.index, object.ty.generation), |t| {
                (t.index, t.generation)
            })
            .expect("every object's type is in the table");
        match object.kind {
            ObjectKind::Struct { .. } => {
                w.u8(1);
                w.u32(ty as u32);
            }
            ObjectKind::Array { len, .. } => {
                w.u8(2);
                w.u32(ty as u32);
                w.u32(len);
            }
            ObjectKind::Exception { tag } => {
                w.u8(3);
                w.u32(ty as u32);
                w.u32(tag);
            }
        }
        w.len(object.words.len());
        for word in object.words.iter() {
            w.u64(*word);
        }
    }
    w.len(free.len());
    for index in free {
        w.u32(*index);
    }
    Ok(())
}

/// Reads the GC heap and checks every object against the restoring store: its type names the same
/// structure here, a struct has its layout's size (and traces its layout's reference words), an
/// array its element storage and length, an exception a tag of the store with that tag's payload;
/// the free list names empty slots once each; the objects fit the heap's limit.
fn read_heap(r: &mut Reader<'_>, inner: &StoreInner) -> Result<HeapImage> {
    let n_types = r.count(40)?;
    let mut types = Vec::with_capacity(n_types);
    for _ in 0..n_types {
        let ty = TypeId {
            index: r.u32()?,
            generation: r.u32()?,
        };
        let fingerprint = r.array::<32>()?;
        if type_fingerprint(inner, ty) != Some(fingerprint) {
            return Err(mismatch(
                "a GC object's type is not the same type here (was the setup different?)",
            ));
        }
        let info = inner.engine.type_info(ty).expect("fingerprinted above");
        types.push((ty, info));
    }
    let n_slots = r.count(5)?;
    let mut objects = Vec::with_capacity(n_slots);
    let mut generations = Vec::with_capacity(n_slots);
    for slot in 0..n_slots {
        let generation = r.u32()?;
        if generation > GcHeap::MAX_GENERATION {
            return Err(corrupt(format!(
                "heap slot {slot} has generation {generation}"
            )));
        }
        generations.push(generation);
        let kind = r.u8()?;
        if kind == 0 {
            objects.push(None);
            continue;
        }
        let (ty, info) = types
            .get(r.u32()? as usize)
            .ok_or_else(|| corrupt(format!("heap slot {slot} names no type")))?;
        let kind = match (kind, &info.layout) {
            (1, Some(Layout::Struct { trace, .. })) => ObjectKind::Struct { trace: *trace },
            (2, Some(Layout::Array(storage))) => ObjectKind::Array {
                storage: *storage,
                len: r.u32()?,
            },
            (3, _) => {
                let tag = r.u32()?;
                match inner.tags.get(tag as usize) {
                    Some(t) if t.ty == *ty => ObjectKind::Exception { tag },
                    _ => return Err(corrupt(format!("heap slot {slot} names tag {tag}"))),
                }
            }
            _ => return Err(corrupt(format!("heap slot {slot} does not fit its type"))),
        };
        let n_words = r.count(8)?;
        let expected = match (&kind, &info.layout) {
            (ObjectKind::Struct { .. }, Some(Layout::Struct { words, .. })) => {
                Some(*words as usize)
            }
            (ObjectKind::Array { storage, len }, _) => array_words(*storage, *len as usize),
            (ObjectKind::Exception { tag }, _) => {
                Some(slot_count(inner.tags[*tag as usize].sig.params()))
            }
            _ => None,
        };
        if expected != Some(n_words) {
            return Err(corrupt(format!("heap slot {slot} has {n_words} words")));
        }
        let words = (0..n_words)
            .map(|_| r.u64())
            .collect::<Result<Vec<u64>>>()?;
        objects.push(Some(GcObject {
            ty: *ty,
            kind,
            words: words.into(),
        }));
    }
    let n_free = r.count(4)?;
    let mut seen = vec![false; n_slots];
    let mut free = Vec::with_capacity(n_free);
    for _ in 0..n_free {
        let index = r.u32()? as usize;
        match (objects.get(index), seen.get_mut(index)) {
            (Some(None), Some(seen @ false)) => *seen = true,
            _ => return Err(corrupt(format!("the free list names heap slot {index}"))),
        }
        free.push(index as u32);
    }
    if GcHeap::bytes_of(&objects) > inner.gc.limit() {
        return Err(mismatch("the GC heap exceeds this engine's max_gc_heap"));
    }
    Ok((objects, generations, free))
}

// ----- reading -----

/// Little-endian input; running past the end is a truncated snapshot.
struct Reader<'a> {
    bytes: &'a [u8],
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Snapshot(format!("invalid snapshot: {what}"))
}

fn mismatch(what: impl std::fmt::Display) -> Error {
    Error::Snapshot(format!("the snapshot does not fit this store: {what}"))
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(corrupt("it ends early"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.array()?))
    }
    /// A count or offset, which must fit the host's address space.
    fn len(&mut self) -> Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| corrupt("a length exceeds the address space"))
    }
    /// A count of items at least `item_bytes` long each: bounded by the bytes left, so that a
    /// corrupt count cannot make the reader allocate more than the snapshot's size.
    fn count(&mut self, item_bytes: usize) -> Result<usize> {
        let n = self.len()?;
        if n.saturating_mul(item_bytes.max(1)) > self.bytes.len() {
            return Err(corrupt("a count exceeds the snapshot's size"));
        }
        Ok(n)
    }
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }
}

/// A function position as read, checked against the store.
struct Position {
    instance: u32,
    index: u32,
    fp: usize,
    ip: u32,
}

/// The GC heap as read: its slots, their generations and the free list.
type HeapImage = (Vec<Option<GcObject>>, Vec<u32>, Vec<u32>);

/// A memory as read: its size in bytes and its runs of nonzero chunks (offset, bytes).
type MemoryImage = (u64, Vec<(usize, Vec<u8>)>);

/// A snapshot read and checked against a store, not yet applied.
struct Parsed {
    data_dropped: Vec<Vec<bool>>,
    elems_dropped: Vec<Vec<bool>>,
    memories: Vec<MemoryImage>,
    tables: Vec<Vec<u64>>,
    globals: Vec<u128>,
    heap: HeapImage,
    fuel: u64,
    host_state: Vec<u8>,
    entry: u32,
    reason: ExecPause,
    frames: Vec<Position>,
    current: Position,
    slots: Vec<u64>,
}

fn parse_snapshot(inner: &StoreInner, snapshot: &[u8]) -> Result<Parsed> {
    let mut header = Reader { bytes: snapshot };
    if header.take(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
        return Err(corrupt("not a ward snapshot (wrong magic bytes)"));
    }
    let version = header.u32()?;
    if version != VERSION {
        return Err(Error::Snapshot(format!(
            "snapshot format version {version} is not supported (this ward reads version {VERSION})"
        )));
    }
    let len = header.len()?;
    let payload = header.take(len)?;
    let digest = header.take(32)?;
    if !header.bytes.is_empty() {
        return Err(corrupt("bytes follow its end"));
    }
    if Sha256::digest(payload).as_slice() != digest {
        return Err(corrupt("its checksum does not match (the file is damaged)"));
    }
    let r = &mut Reader { bytes: payload };

    if r.array::<4>()? != settings(inner) {
        return Err(mismatch(
            "it was taken with other engine settings (fuel, epoch interruption, determinism)",
        ));
    }
    let version = r.bytes()?;
    if version != env!("CARGO_PKG_VERSION").as_bytes() {
        return Err(mismatch(format!(
            "it was taken by ward {} (this is {})",
            String::from_utf8_lossy(version),
            env!("CARGO_PKG_VERSION")
        )));
    }
    let instances = r.count(32)?;
    if instances != inner.instances.len() {
        return Err(mismatch(format!(
            "it has {instances} instances, the store {}",
            inner.instances.len()
        )));
    }
    let mut data_dropped = Vec::with_capacity(instances);
    let mut elems_dropped = Vec::with_capacity(instances);
    for (i, instance) in inner.instances.iter().enumerate() {
        if r.array::<32>()? != instance.module.inner.hash {
            return Err(mismatch(format!(
                "instance {i} was made from a different module (its hash differs)"
            )));
        }
        for (dropped, expected) in [
            (&mut data_dropped, instance.data.len()),
            (&mut elems_dropped, instance.elems.len()),
        ] {
            let n = r.count(1)?;
            if n != expected {
                return Err(corrupt(format!(
                    "instance {i} has {n} segments, not {expected}"
                )));
            }
            let flags = (0..n)
                .map(|_| {
                    Ok(match r.u8()? {
                        0 => false,
                        1 => true,
                        other => return Err(corrupt(format!("segment flag {other}"))),
                    })
                })
                .collect::<Result<Vec<bool>>>()?;
            dropped.push(flags);
        }
    }
    let funcs = r.count(9)?;
    if funcs != inner.funcs.len() {
        return Err(mismatch(format!(
            "it has {funcs} functions, the store {}",
            inner.funcs.len()
        )));
    }
    for (i, func) in inner.funcs.iter().enumerate() {
        let (kind, a, b) = (r.u8()?, r.u32()?, r.u32()?);
        let same = match func.kind {
            FuncKind::Wasm { instance, index } => kind == 0 && a == instance && b == index,
            FuncKind::Host { index } => kind == 1 && a == index && b == 0,
            FuncKind::AsyncHost { index } => kind == 2 && a == index && b == 0,
        };
        if !same {
            return Err(mismatch(format!(
                "function {i} is defined differently (was the store set up in another order?)"
            )));
        }
    }
    let memories = r.count(16)?;
    if memories != inner.memories.len() {
        return Err(mismatch(format!(
            "it has {memories} memories, the store {}",
            inner.memories.len()
        )));
    }
    let mut memory_images = Vec::with_capacity(memories);
    for (i, memory) in inner.memories.iter().enumerate() {
        let size = r.u64()?;
        let page = memory.ty().page_size();
        if size % page != 0 || size > memory.max_bytes() || size < memory.size_bytes() {
            return Err(mismatch(format!(
                "memory {i} has {size} bytes, which it cannot have here"
            )));
        }
        let runs = r.count(16)?;
        let mut image = Vec::with_capacity(runs);
        let mut end = 0u64;
        for _ in 0..runs {
            let start = r.u64()?;
            let bytes = r.bytes()?;
            let stop = start.checked_add(bytes.len() as u64);
            if start < end || stop.is_none_or(|stop| stop > size) {
                return Err(corrupt(format!(
                    "memory {i} has a run out of order or bounds"
                )));
            }
            end = stop.unwrap_or(size);
            image.push((start as usize, bytes.to_vec()));
        }
        memory_images.push((size, image));
    }
    let tables = r.count(8)?;
    if tables != inner.tables.len() {
        return Err(mismatch(format!(
            "it has {tables} tables, the store {}",
            inner.tables.len()
        )));
    }
    let mut table_images = Vec::with_capacity(tables);
    for (i, table) in inner.tables.iter().enumerate() {
        let len = r.count(8)?;
        if (len as u64) < table.size() || table.ty.maximum.is_some_and(|max| len as u64 > max) {
            return Err(mismatch(format!(
                "table {i} has {len} elements, which it cannot have here"
            )));
        }
        let ty = ValType::Ref(table.ty.element);
        let elements = (0..len)
            .map(|_| {
                let raw = r.u64()?;
                check_restored_reference(inner, ty, raw as u128, &format!("table {i}"))?;
                Ok(raw)
            })
            .collect::<Result<Vec<u64>>>()?;
        table_images.push(elements);
    }
    let globals = r.count(16)?;
    if globals != inner.globals.len() {
        return Err(mismatch(format!(
            "it has {globals} globals, the store {}",
            inner.globals.len()
        )));
    }
    let mut global_values = Vec::with_capacity(globals);
    for (i, global) in inner.globals.iter().enumerate() {
        let raw = r.u128()?;
        let ty = global.ty.content;
        check_restored_reference(inner, ty, raw, &format!("global {i}"))?;
        let fits = match ty {
            ValType::I32 | ValType::F32 => raw <= u32::MAX as u128,
            ValType::V128 => true,
            _ => raw <= u64::MAX as u128,
        };
        if !fits {
            return Err(corrupt(format!(
                "global {i} holds a value wider than its type"
            )));
        }
        if global.ty.mutability == crate::types::Mutability::Const && raw != global.value {
            return Err(mismatch(format!("immutable global {i} has another value")));
        }
        global_values.push(raw);
    }
    let heap = read_heap(r, inner)?;
    let fuel = r.u64()?;
    let host_state = r.bytes()?.to_vec();
    let entry = r.u32()?;
    if !matches!(
        inner.funcs.get(entry as usize).map(|f| &f.kind),
        Some(FuncKind::Wasm { .. })
    ) {
        return Err(corrupt(format!(
            "the paused call's function {entry} is not a Wasm function"
        )));
    }
    let reason = match r.u8()? {
        0 => ExecPause::OutOfFuel,
        1 => ExecPause::Interrupt,
        2 => {
            let callee = r.u32()?;
            let fp = r.len()?;
            let tail = match r.u8()? {
                0 => false,
                1 => true,
                other => return Err(corrupt(format!("tail flag {other}"))),
            };
            match inner.funcs.get(callee as usize).map(|f| &f.kind) {
                Some(FuncKind::Host { .. } | FuncKind::AsyncHost { .. }) => {}
                _ => {
                    return Err(corrupt(format!(
                        "the paused host call names function {callee}"
                    )));
                }
            }
            ExecPause::HostCall { callee, fp, tail }
        }
        other => return Err(corrupt(format!("pause reason {other}"))),
    };
    let n_frames = r.count(28)?;
    let frames = (0..n_frames)
        .map(|_| read_position(r, inner, false))
        .collect::<Result<Vec<Position>>>()?;
    // A tail call of a host function returns to the caller once the host is done: its return
    // address may be the end of the code.
    let tail_host = matches!(reason, ExecPause::HostCall { tail: true, .. });
    let current = read_position(r, inner, tail_host)?;
    let n_slots = r.count(8)?;
    let slots = (0..n_slots)
        .map(|_| r.u64())
        .collect::<Result<Vec<u64>>>()?;
    if !r.bytes.is_empty() {
        return Err(corrupt("bytes follow the paused call"));
    }
    // Frames nest upwards, each inside the slots.
    let mut below = 0usize;
    for position in frames.iter().chain(std::iter::once(&current)) {
        let size = frame_size(inner, position);
        if position.fp < below
            || position
                .fp
                .checked_add(size)
                .is_none_or(|end| end > n_slots)
        {
            return Err(corrupt("a frame lies outside the value stack"));
        }
        below = position.fp;
    }
    // The slots end with the current frame, or with a paused host call's arguments and results.
    let mut end = current.fp + frame_size(inner, &current);
    if let ExecPause::HostCall { callee, fp, .. } = reason {
        let sig = &inner.funcs[callee as usize].sig;
        let width = slot_count(sig.params()).max(slot_count(sig.results()));
        let args_end = fp
            .checked_add(width)
            .filter(|args_end| fp >= current.fp && *args_end <= n_slots)
            .ok_or_else(|| corrupt("a host call's arguments lie outside the value stack"))?;
        end = end.max(args_end);
    }
    if end != n_slots {
        return Err(corrupt(
            "the value stack does not end with the current frame",
        ));
    }
    Ok(Parsed {
        data_dropped,
        elems_dropped,
        memories: memory_images,
        tables: table_images,
        globals: global_values,
        heap,
        fuel,
        host_state,
        entry,
        reason,
        frames,
        current,
        slots,
    })
}

/// A reference read from a snapshot: a function reference must name a store function; other
/// references must be null (only those are written).
fn check_restored_reference(inner: &StoreInner, ty: ValType, raw: u128, what: &str) -> Result<()> {
    let n_funcs = inner.funcs.len() as u128;
    match ty {
        ValType::Ref(r) if is_func_heap(inner, r.heap) && raw > n_funcs => Err(corrupt(format!(
            "{what} names function {} of {n_funcs}",
            raw - 1
        ))),
        ValType::Ref(r) if is_host_extern(r.heap, raw) => Err(corrupt(format!(
            "{what} holds a reference that cannot be restored"
        ))),
        _ => Ok(()),
    }
}

/// Reads a function position and checks it names a defined function of an instance, translated
/// to code of the recorded length, with the instruction index inside it.
fn read_position(r: &mut Reader<'_>, inner: &StoreInner, end_allowed: bool) -> Result<Position> {
    let (instance, index) = (r.u32()?, r.u32()?);
    let code_len = r.len()?;
    let fp = r.len()?;
    let ip = r.u32()?;
    let module = &inner
        .instances
        .get(instance as usize)
        .ok_or_else(|| corrupt(format!("a frame names instance {instance}")))?
        .module
        .inner;
    if index as usize >= module.interp.funcs.len() {
        return Err(corrupt(format!(
            "a frame names function {index} of instance {instance}"
        )));
    }
    let code = module.compiled(index)?;
    if code.code.len() != code_len {
        return Err(mismatch(
            "a function's code differs from when the snapshot was taken",
        ));
    }
    if ip as usize > code_len || (ip as usize == code_len && !end_allowed) {
        return Err(corrupt("a frame's instruction lies outside its function"));
    }
    Ok(Position {
        instance,
        index,
        fp,
        ip,
    })
}

fn frame_size(inner: &StoreInner, position: &Position) -> usize {
    inner.instances[position.instance as usize]
        .module
        .inner
        .translated(position.index)
        .frame_size as usize
}

fn current(inner: &StoreInner, position: &Position) -> Result<Current> {
    let module = &inner.instances[position.instance as usize].module.inner;
    Current::defined(position.instance, position.index, module)
}

/// Applies a checked snapshot. The GC heap's size and growing memories and tables ask the
/// resource limiter, so a snapshot cannot exceed the limits of the store it is restored into; if
/// it would, nothing of the paused call comes back (the store's memories may have grown).
fn apply<T>(store: &mut Store<T>, parsed: Parsed) -> Result<(PausedCall, Vec<u8>)> {
    // The execution stack first: it is the last thing that can fail for lack of room.
    let frames = parsed
        .frames
        .iter()
        .map(|p| {
            Ok(Frame {
                ip: p.ip,
                fp: p.fp,
                cur: current(&store.inner, p)?,
            })
        })
        .collect::<Result<Vec<Frame>>>()?;
    let cur = current(&store.inner, &parsed.current)?;
    let max_stack = store.inner.engine.config().max_wasm_stack;
    let stack = ExecStack::with_contents(max_stack, &parsed.slots, frames)
        .ok_or_else(|| mismatch("the paused call's stack exceeds this engine's max_wasm_stack"))?;
    // The restored GC heap counts against the resource limiter like a heap that grew to its size.
    let heap_bytes = GcHeap::bytes_of(&parsed.heap.0);
    if let Some((current, desired)) = store.inner.gc.needs_grant_total(heap_bytes)
        && !store.gc_heap_growing(current, desired)?
    {
        return Err(mismatch(format!(
            "the GC heap cannot hold {heap_bytes} bytes here (a limit forbids it)"
        )));
    }
    for (i, (size, _)) in parsed.memories.iter().enumerate() {
        let memory = &store.inner.memories[i];
        let delta = (size - memory.size_bytes()) / memory.ty().page_size();
        if delta > 0 && store.grow_memory(i, delta)?.is_none() {
            return Err(mismatch(format!(
                "memory {i} cannot grow to {size} bytes here (a limit forbids it)"
            )));
        }
    }
    for (i, elements) in parsed.tables.iter().enumerate() {
        let delta = elements.len() as u64 - store.inner.tables[i].size();
        if delta > 0 && store.grow_table(i, delta, 0)?.is_none() {
            return Err(mismatch(format!(
                "table {i} cannot grow to {} elements here (a limit forbids it)",
                elements.len()
            )));
        }
    }
    let inner = &mut store.inner;
    for (memory, (_, image)) in inner.memories.iter_mut().zip(&parsed.memories) {
        let data = memory.data_mut();
        data.fill(0);
        for (start, bytes) in image {
            data[*start..*start + bytes.len()].copy_from_slice(bytes);
        }
        let len = data.len();
        memory.note_written(0..len);
    }
    for (table, elements) in inner.tables.iter_mut().zip(parsed.tables) {
        table.elements = elements;
    }
    for (global, value) in inner.globals.iter_mut().zip(parsed.globals) {
        global.value = value;
    }
    for (instance, (data, elems)) in inner
        .instances
        .iter_mut()
        .zip(parsed.data_dropped.iter().zip(&parsed.elems_dropped))
    {
        for (segment, &dropped) in instance.data.iter_mut().zip(data) {
            if dropped {
                *segment = std::sync::Arc::from(Vec::new());
            }
        }
        for (segment, &dropped) in instance.elems.iter_mut().zip(elems) {
            if dropped {
                *segment = std::sync::Arc::from(Vec::new());
            }
        }
    }
    let (objects, generations, free) = parsed.heap;
    inner.gc.restore(objects, generations, free);
    // References the host received before the restore name the old heap.
    inner.release_host_roots(0);
    inner.fuel = parsed.fuel;
    let paused = Paused {
        stack,
        entry: parsed.entry,
        cur,
        fp: parsed.current.fp,
        ip: parsed.current.ip,
        reason: parsed.reason,
    };
    Ok((
        PausedCall {
            store: inner.id,
            paused: Box::new(paused),
        },
        parsed.host_state,
    ))
}
