//! `ward run --snapshot-at-fuel N --snapshot FILE` and `ward resume FILE`: run a program until it
//! has used N units of fuel, write everything needed to go on (the paused call, the store, the
//! guest's WASI state) to FILE and exit 0; later, in another process, set the same program up
//! again, restore FILE into it and continue exactly where it stopped.
//!
//! The file is a small CLI header — the module's path, as a hint where to find it — followed by
//! the library's snapshot (`ward::Store::snapshot`, format in `docs/SNAPSHOTS.md`), whose host
//! state is `ward_wasi::WasiCtx::snapshot_state`. The library checks the module's hash, so a
//! changed module is refused whatever path the header names. Read by `main.rs`, which runs both
//! through its `run` with a [`Plan`].

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use ward::{Error, Func, PauseReason, ResumableCall, Store, Val};

use crate::Host;

const MAGIC: &[u8; 8] = b"WARDRUN1";

/// The header's flag for a deterministic run (`--deterministic` or a deterministic policy): the
/// resumed run is deterministic too.
const DETERMINISTIC: u8 = 1;

/// What a run does about snapshots.
#[derive(Default, Clone)]
pub(crate) struct Plan {
    /// Stop after this much fuel and write a snapshot to this file.
    pub snapshot_at: Option<(u64, PathBuf)>,
    /// Continue from this snapshot (the library's part of the file) instead of calling the entry.
    pub resume_from: Option<Vec<u8>>,
    /// The run is deterministic (recorded in the snapshot file).
    pub deterministic: bool,
}

impl Plan {
    /// Whether the run needs fuel metering.
    pub fn meters(&self) -> bool {
        self.snapshot_at.is_some() || self.resume_from.is_some()
    }
}

/// How a planned call ended.
pub(crate) enum Ending {
    /// The entry function returned.
    Finished(Vec<Val>),
    /// A snapshot was written: the run stops here.
    Snapshotted,
}

/// A snapshot file as read.
pub(crate) struct SnapshotFile {
    /// The module path it names.
    pub module: PathBuf,
    /// Whether the run was deterministic.
    pub deterministic: bool,
    /// The library's snapshot.
    pub snapshot: Vec<u8>,
}

/// Reads a snapshot file written by `ward run --snapshot-at-fuel`.
pub(crate) fn read_file(path: &Path) -> Result<SnapshotFile> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        anyhow!(
            "failed to read snapshot \"{shown}\": {}",
            crate::describe_io(&e)
        )
    })?;
    let bad = || anyhow!("\"{shown}\" is not a ward snapshot (or it is damaged)");
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(bad)?;
    let (&flags, rest) = rest.split_first().ok_or_else(bad)?;
    if flags & !DETERMINISTIC != 0 {
        return Err(bad());
    }
    let len = rest
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(bad)?;
    let len = usize::try_from(len).map_err(|_| bad())?;
    let module = rest
        .get(8..8usize.checked_add(len).ok_or_else(bad)?)
        .ok_or_else(bad)?;
    let module = String::from_utf8(module.to_vec()).map_err(|_| bad())?;
    Ok(SnapshotFile {
        module: PathBuf::from(module),
        deterministic: flags & DETERMINISTIC != 0,
        snapshot: rest[8 + len..].to_vec(),
    })
}

/// Calls `func` (or resumes the plan's snapshot) and writes a snapshot when the plan says so.
/// Fuel: a snapshot plan gives the call exactly its budget; otherwise a resumed call gets
/// `fuel` (the `--fuel` limit) or no limit.
pub(crate) fn call(
    store: &mut Store<Host>,
    func: Func,
    params: &[Val],
    plan: &Plan,
    fuel: Option<u64>,
    module: &Path,
) -> Result<Ending, Error> {
    let budget = match &plan.snapshot_at {
        Some((at, _)) => *at,
        None => fuel.unwrap_or(u64::MAX),
    };
    let outcome = match &plan.resume_from {
        Some(bytes) => {
            let (paused, host_state) = store.restore(bytes)?;
            store.set_fuel(budget)?;
            store
                .data()
                .wasi
                .restore_state(&host_state, Some(budget))
                .map_err(|e| Error::Snapshot(format!("restoring the WASI state: {e}")))?;
            paused.resume(&mut *store)?
        }
        None => {
            store.set_fuel(budget)?;
            func.call_resumable(&mut *store, params)?
        }
    };
    let paused = match outcome {
        ResumableCall::Finished(results) => return Ok(Ending::Finished(results)),
        ResumableCall::Paused(paused) => paused,
    };
    match (&plan.snapshot_at, paused.reason()) {
        (Some((_, file)), PauseReason::OutOfFuel) => {
            let fuel_left = store.get_fuel()?;
            let wasi = store
                .data()
                .wasi
                .snapshot_state(Some(fuel_left))
                .map_err(|e| Error::Snapshot(e.to_string()))?;
            let snapshot = store.snapshot(&paused, &wasi)?;
            write_file(file, module, plan.deterministic, &snapshot)?;
            Ok(Ending::Snapshotted)
        }
        // The `--fuel` limit of a resumed run, or a `--timeout`: the trap a run without
        // snapshots would have ended with.
        _ => Err(paused.into_trap(&*store)),
    }
}

fn write_file(
    path: &Path,
    module: &Path,
    deterministic: bool,
    snapshot: &[u8],
) -> Result<(), Error> {
    let module = module
        .to_str()
        .ok_or_else(|| Error::Usage("the module path is not valid UTF-8".into()))?;
    let mut bytes = Vec::with_capacity(snapshot.len() + module.len() + 16);
    bytes.extend_from_slice(MAGIC);
    bytes.push(if deterministic { DETERMINISTIC } else { 0 });
    bytes.extend_from_slice(&(module.len() as u64).to_le_bytes());
    bytes.extend_from_slice(module.as_bytes());
    bytes.extend_from_slice(snapshot);
    // Written beside the target and renamed over it, so a failed write leaves no half file.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, &bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| {
            Error::Usage(format!(
                "failed to write snapshot \"{}\": {}",
                path.display(),
                crate::describe_io(&e)
            ))
        })
}

/// Checks the options that cannot go with snapshots.
pub(crate) fn check_options(
    plan: &Plan,
    invoke: bool,
    preloads: bool,
    fuel: Option<u64>,
) -> Result<()> {
    if plan.snapshot_at.is_some() && fuel.is_some() && plan.resume_from.is_none() {
        bail!(
            "--snapshot-at-fuel and --fuel cannot be combined (give `ward resume` a --fuel to \
             limit the rest of the run)"
        );
    }
    if plan.meters() && invoke {
        bail!("--invoke cannot be used with snapshots (they continue a program's `_start`)");
    }
    if plan.meters() && preloads {
        bail!("--preload cannot be used with snapshots");
    }
    Ok(())
}
