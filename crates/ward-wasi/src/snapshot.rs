//! The WASI part of a snapshot ([`WasiCtx::snapshot_state`], [`WasiCtx::restore_state`]): the
//! guest's arguments, environment and descriptor table, with what each descriptor refers to named
//! so that another process can bind it again — a standard stream by its number, a preopened
//! directory by its guest name, a file or directory beneath one by that name and its path, with
//! the file's offset, access and status flags — and the state of virtual clocks and seeded
//! randomness.
//!
//! Restoring binds everything through the grants of the context it is restored into: a preopen
//! the snapshot names must be granted again (under the same guest name), and a read-only grant now
//! makes the restored descriptors read-only too; nothing is opened outside a granted directory
//! (cap-std resolves every path beneath its preopen, as for the guest's own opens). What cannot be
//! bound again is refused: an open socket when saving, a file that is gone or a missing grant when
//! restoring. The bytes are ward's `host_state` in `Store::snapshot`, inside its checksum; they
//! are still checked as untrusted input here.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use cap_std::fs::{Dir, OpenOptions};

use crate::ctx::{WasiCtx, WasiError, WasiState};
use crate::determinism::{Clocks, Randomness, SeededRandom, VirtualClock};
use crate::fs::{set_status_flags, status_flags};
use crate::table::{Descriptor, Entry, OpenDir, OpenFile, Origin, Rights};

const MAGIC: &[u8; 8] = b"WARDWASI";
const VERSION: u32 = 1;

fn error(message: impl std::fmt::Display) -> WasiError {
    WasiError::Snapshot(message.to_string())
}

/// One descriptor as saved.
enum Saved {
    Stream,
    Dir {
        preopen: bool,
        origin: Origin,
        writable: bool,
    },
    File {
        origin: Origin,
        read: bool,
        write: bool,
        mutable: bool,
        status: u16,
        offset: u64,
    },
}

impl WasiCtx {
    /// The guest's WASI state as bytes for a snapshot (ward's `Store::snapshot` carries them as
    /// its host state): arguments, environment, and every open descriptor with what it refers to.
    /// Refused when a descriptor cannot be bound again in another process: an open socket or
    /// listener. Virtual clocks and seeded randomness are saved too, so a deterministic run goes
    /// on exactly as an uninterrupted one.
    ///
    /// `fuel_left` is the store's fuel at the snapshot when it meters fuel: a virtual clock counts
    /// the fuel executed up to there ([`WasiCtx::restore_state`] goes on counting from its own).
    pub fn snapshot_state(&self, fuel_left: Option<u64>) -> Result<Vec<u8>, WasiError> {
        let mut state = self.lock();
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, VERSION);
        for list in [&state.args, &state.env] {
            put_u64(&mut out, list.len() as u64);
            for item in list.iter() {
                put_bytes(&mut out, item);
            }
        }
        put_u64(&mut out, state.fds.len() as u64);
        for (&number, entry) in state.fds.iter_mut() {
            put_u32(&mut out, number);
            put_u64(&mut out, entry.dropped.base);
            put_u64(&mut out, entry.dropped.inheriting);
            match &mut entry.descriptor {
                Descriptor::Stream(_) => out.push(0),
                Descriptor::Dir(dir) => {
                    out.push(1);
                    out.push(dir.preopen.is_some() as u8);
                    put_origin(&mut out, &dir.origin);
                    out.push(dir.writable as u8);
                }
                Descriptor::File(open) => {
                    out.push(2);
                    put_origin(&mut out, &open.origin);
                    out.extend_from_slice(&[open.read as u8, open.write as u8, open.mutable as u8]);
                    put_u32(&mut out, status_flags(open.file.as_raw_fd()) as u32);
                    let offset = open.file.stream_position().map_err(|e| {
                        error(format!("cannot read the offset of fd {number}: {e}"))
                    })?;
                    put_u64(&mut out, offset);
                }
                Descriptor::Listener(_) | Descriptor::Socket(_) => {
                    return Err(error(format!(
                        "fd {number} is an open socket, which cannot be snapshotted"
                    )));
                }
            }
        }
        match &mut state.clocks {
            Clocks::Real => out.push(0),
            Clocks::Virtual(clock) => {
                out.push(1);
                for word in clock.save(fuel_left) {
                    put_u64(&mut out, word);
                }
            }
        }
        match &state.random {
            Randomness::Real => out.push(0),
            Randomness::Seeded(random) => {
                out.push(1);
                for word in random.state() {
                    put_u64(&mut out, word);
                }
            }
        }
        Ok(out)
    }

    /// Restores [`WasiCtx::snapshot_state`] bytes into this context, built by the resuming
    /// program with its own grants: arguments and environment become the saved ones; standard
    /// streams stay this context's; directories and files are opened again beneath this context's
    /// preopens with the saved guest names (a read-only grant makes them read-only), files at their
    /// saved offsets. Virtual clocks and seeded randomness continue from the snapshot's state (a
    /// virtual clock counts fuel from `fuel_now`, the store's fuel as the call resumes), whatever
    /// this context was built with. On an error this context is unchanged.
    pub fn restore_state(&self, bytes: &[u8], fuel_now: Option<u64>) -> Result<(), WasiError> {
        let parsed = parse(bytes)?;
        let mut state = self.lock();
        let fds = rebind(&mut state, parsed.fds)?;
        state.args = parsed.args;
        state.env = parsed.env;
        state.fds = fds;
        state.clocks = match parsed.clock {
            None => Clocks::Real,
            Some(words) => Clocks::Virtual(VirtualClock::restore(words, fuel_now)),
        };
        state.random = match parsed.random {
            None => Randomness::Real,
            Some(random) => Randomness::Seeded(random),
        };
        Ok(())
    }
}

/// Saved WASI state as read.
struct Parsed {
    args: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    fds: Vec<(u32, Rights, Saved)>,
    clock: Option<[u64; 4]>,
    random: Option<SeededRandom>,
}

fn parse(bytes: &[u8]) -> Result<Parsed, WasiError> {
    let r = &mut Reader { bytes };
    if r.take(MAGIC.len())? != MAGIC {
        return Err(error(
            "the snapshot holds no WASI state (wrong magic bytes)",
        ));
    }
    let version = r.u32()?;
    if version != VERSION {
        return Err(error(format!(
            "WASI state version {version} is not supported (this ward reads version {VERSION})"
        )));
    }
    let mut lists = Vec::new();
    for _ in 0..2 {
        let n = r.count(8)?;
        let list = (0..n)
            .map(|_| {
                let item = r.bytes()?;
                if item.contains(&0) {
                    return Err(error("an argument or environment entry contains NUL"));
                }
                Ok(item.to_vec())
            })
            .collect::<Result<Vec<_>, _>>()?;
        lists.push(list);
    }
    let n = r.count(21)?;
    let mut saved = Vec::with_capacity(n);
    let mut last = None;
    for _ in 0..n {
        let number = r.u32()?;
        if last.is_some_and(|last| number <= last) {
            return Err(error("descriptors out of order"));
        }
        last = Some(number);
        let dropped = Rights {
            base: r.u64()?,
            inheriting: r.u64()?,
        };
        let descriptor = match r.u8()? {
            0 => Saved::Stream,
            1 => Saved::Dir {
                preopen: r.flag()?,
                origin: r.origin()?,
                writable: r.flag()?,
            },
            2 => Saved::File {
                origin: r.origin()?,
                read: r.flag()?,
                write: r.flag()?,
                mutable: r.flag()?,
                status: u16::try_from(r.u32()?).map_err(|_| error("invalid status flags"))?,
                offset: r.u64()?,
            },
            other => return Err(error(format!("descriptor kind {other}"))),
        };
        saved.push((number, dropped, descriptor));
    }
    let clock = match r.u8()? {
        0 => None,
        1 => Some([r.u64()?, r.u64()?, r.u64()?, r.u64()?]),
        other => return Err(error(format!("clock kind {other}"))),
    };
    let random = match r.u8()? {
        0 => None,
        1 => {
            let state = [r.u64()?, r.u64()?, r.u64()?, r.u64()?];
            Some(SeededRandom::from_state(state).ok_or_else(|| error("an all-zero random state"))?)
        }
        other => return Err(error(format!("random kind {other}"))),
    };
    if !r.bytes.is_empty() {
        return Err(error("bytes follow the WASI state"));
    }
    let env = lists.pop().unwrap_or_default();
    let args = lists.pop().unwrap_or_default();
    Ok(Parsed {
        args,
        env,
        fds: saved,
        clock,
        random,
    })
}

/// The descriptor table of the saved descriptors bound in `state`'s grants. `state` is unchanged
/// (its preopens are duplicated, its streams moved only when everything succeeded).
fn rebind(
    state: &mut WasiState,
    saved: Vec<(u32, Rights, Saved)>,
) -> Result<BTreeMap<u32, Entry>, WasiError> {
    // The grants of the resuming program: preopens by guest name.
    let grants: BTreeMap<String, (&Dir, bool)> = state
        .fds
        .values()
        .filter_map(|entry| match &entry.descriptor {
            Descriptor::Dir(OpenDir {
                dir,
                writable,
                preopen: Some(name),
                ..
            }) => Some((name.clone(), (dir, *writable))),
            _ => None,
        })
        .collect();
    let grant = |origin: &Origin| {
        grants.get(&origin.preopen).copied().ok_or_else(|| {
            error(format!(
                "the snapshot uses directory \"{}\", which is not granted (grant it again with \
                 --dir HOST::{})",
                origin.preopen, origin.preopen
            ))
        })
    };
    let mut fds = BTreeMap::new();
    let mut streams = Vec::new();
    for (number, dropped, saved) in saved {
        let descriptor = match saved {
            Saved::Stream => {
                match state.fds.get(&number).map(|e| &e.descriptor) {
                    Some(Descriptor::Stream(_)) => streams.push(number),
                    _ => {
                        return Err(error(format!(
                            "fd {number} was a standard stream, and is none here"
                        )));
                    }
                }
                continue;
            }
            Saved::Dir {
                preopen,
                origin,
                writable,
            } => {
                let (base, granted_writable) = grant(&origin)?;
                let dir = if origin.path.as_os_str().is_empty() {
                    base.try_clone()
                } else {
                    base.open_dir(&origin.path)
                }
                .map_err(|e| open_error(&origin, e))?;
                Descriptor::Dir(OpenDir {
                    dir,
                    writable: writable && granted_writable,
                    preopen: preopen.then(|| origin.preopen.clone()),
                    origin,
                })
            }
            Saved::File {
                origin,
                read,
                write,
                mutable,
                status,
                offset,
            } => {
                let (base, granted_writable) = grant(&origin)?;
                if write && !granted_writable {
                    return Err(error(format!(
                        "\"{}\" in \"{}\" was open for writing, and the directory is granted \
                         read-only now",
                        origin.path.display(),
                        origin.preopen
                    )));
                }
                let mut options = OpenOptions::new();
                options.read(read || !write).write(write);
                let mut file = base
                    .open_with(&origin.path, &options)
                    .map_err(|e| open_error(&origin, e))?;
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| open_error(&origin, e))?;
                set_status_flags(file.as_raw_fd(), status).map_err(|e| {
                    error(format!(
                        "cannot set the flags of \"{}\": {e:?}",
                        origin.path.display()
                    ))
                })?;
                Descriptor::File(OpenFile {
                    file,
                    read,
                    write,
                    mutable: mutable && granted_writable,
                    origin,
                })
            }
        };
        let all = descriptor.rights();
        let dropped = Rights {
            base: dropped.base & all.base,
            inheriting: dropped.inheriting & all.inheriting,
        };
        fds.insert(
            number,
            Entry {
                descriptor,
                dropped,
            },
        );
    }
    // Everything bound: the streams move over with their saved dropped rights kept as they are
    // here (a stream's rights depend on the stream the resuming program gives).
    for number in streams {
        if let Some(entry) = state.fds.remove(&number) {
            fds.insert(number, entry);
        }
    }
    Ok(fds)
}

fn open_error(origin: &Origin, e: std::io::Error) -> WasiError {
    error(format!(
        "cannot open \"{}\" in \"{}\" again: {e}",
        origin.path.display(),
        origin.preopen
    ))
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, v: &[u8]) {
    put_u64(out, v.len() as u64);
    out.extend_from_slice(v);
}

fn put_origin(out: &mut Vec<u8>, origin: &Origin) {
    put_bytes(out, origin.preopen.as_bytes());
    put_bytes(out, origin.path.as_os_str().as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WasiError> {
        if n > self.bytes.len() {
            return Err(error("the WASI state ends early"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, WasiError> {
        Ok(self.take(1)?[0])
    }
    fn flag(&mut self) -> Result<bool, WasiError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(error(format!("invalid flag {other}"))),
        }
    }
    fn u32(&mut self) -> Result<u32, WasiError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, WasiError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    /// A count of items at least `item_bytes` long, bounded by the bytes left.
    fn count(&mut self, item_bytes: usize) -> Result<usize, WasiError> {
        let n = self.u64()?;
        if n.saturating_mul(item_bytes as u64) > self.bytes.len() as u64 {
            return Err(error("a count exceeds the WASI state's size"));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self) -> Result<&'a [u8], WasiError> {
        let n = self.count(1)?;
        self.take(n)
    }
    fn origin(&mut self) -> Result<Origin, WasiError> {
        let preopen = String::from_utf8(self.bytes()?.to_vec())
            .map_err(|_| error("a directory's guest name is not UTF-8"))?;
        let path = PathBuf::from(std::ffi::OsString::from_vec(self.bytes()?.to_vec()));
        Ok(Origin { preopen, path })
    }
}
