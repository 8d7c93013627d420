//! The on-disk code cache (`Config::cache`, `ward run -C cache=y`): precompiled modules
//! (`artifact`) keyed by the SHA-256 of the Wasm, the configuration and the versions, each followed
//! by an HMAC-SHA256 of the artifact under a key made for this host on first use.
//!
//! An entry is used only if its HMAC verifies, it decodes, its header matches this engine and host,
//! and its Wasm is byte for byte the module being compiled; otherwise it is a miss (recorded as
//! refused, with a warning) and the module is compiled and the entry replaced. Writes go to a
//! temporary file renamed into place, so a reader never sees half an entry. Cache errors are
//! warnings, never failures. Depends on `artifact` and `engine`; used by `module`.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::artifact::{Artifact, HostIdentity, Piece};
use crate::engine::Engine;

/// The name of the key file in the cache directory.
const KEY_FILE: &str = "hmac-key";
/// Bytes of the key.
const KEY_LEN: usize = 32;
/// Bytes of an entry's HMAC (after the artifact).
const MAC_LEN: usize = 32;

/// The cache directory of `engine`: `Config::cache_directory`, else `$XDG_CACHE_HOME/ward`, else
/// `$HOME/.cache/ward`.
fn directory(engine: &Engine) -> Option<PathBuf> {
    if let Some(dir) = &engine.config().cache_directory {
        return Some(dir.clone());
    }
    let non_empty = |v: std::ffi::OsString| (!v.is_empty()).then(|| PathBuf::from(v));
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").and_then(non_empty) {
        return Some(xdg.join("ward"));
    }
    std::env::var_os("HOME")
        .and_then(non_empty)
        .map(|home| home.join(".cache").join("ward"))
}

/// The cache of one engine, ready to use: its directory exists and its key is read.
pub(crate) struct Cache {
    dir: PathBuf,
    key: [u8; KEY_LEN],
    host: HostIdentity,
}

impl Cache {
    /// The cache of `engine`, if it is on and usable (a warning is recorded if it is on but not
    /// usable).
    pub(crate) fn open(engine: &Engine) -> Option<Cache> {
        // Only eagerly compiled modules have code to keep.
        if !engine.config().cache || !super::compiles(engine) {
            return None;
        }
        let host = HostIdentity::of(engine)?;
        let opened = directory(engine)
            .ok_or_else(|| "no cache directory (set XDG_CACHE_HOME or HOME)".to_string())
            .and_then(|dir| {
                create_dir(&dir)
                    .map_err(|e| format!("creating {}: {e}", dir.display()))
                    .map(|()| dir)
            })
            .and_then(|dir| {
                host_key(&dir)
                    .map_err(|e| format!("the cache key in {}: {e}", dir.display()))
                    .map(|key| (dir, key))
            });
        match opened {
            Ok((dir, key)) => Some(Cache { dir, key, host }),
            Err(e) => {
                warn(engine, format!("code cache disabled: {e}"));
                None
            }
        }
    }

    /// The entry's file for `wasm`.
    fn entry_path(&self, wasm: &[u8]) -> PathBuf {
        let mut h = Sha256::new();
        h.update(b"ward code cache entry\0");
        for part in [
            self.host.ward_version.as_str(),
            self.host.cranelift_version.as_str(),
            self.host.target.as_str(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        for f in &self.host.cpu_features {
            h.update((f.len() as u64).to_le_bytes());
            h.update(f.as_bytes());
        }
        for (name, value) in &self.host.config {
            h.update((name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
            h.update((value.len() as u64).to_le_bytes());
            h.update(value.as_bytes());
        }
        h.update((wasm.len() as u64).to_le_bytes());
        h.update(wasm);
        let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{key}.cwasm"))
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    /// The code of `wasm`'s functions from the cache, if it has a valid entry for it.
    pub(crate) fn lookup(&self, engine: &Engine, wasm: &[u8]) -> Option<Vec<Option<Piece>>> {
        let path = self.entry_path(wasm);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    warn(engine, format!("reading {}: {e}", path.display()));
                }
                stats(engine, |s| s.misses += 1);
                return None;
            }
        };
        match self.verify(&bytes, wasm) {
            Ok(funcs) => {
                stats(engine, |s| s.hits += 1);
                Some(funcs)
            }
            Err(why) => {
                stats(engine, |s| s.refused += 1);
                warn(
                    engine,
                    format!(
                        "refused code cache entry {} ({why}); compiling again",
                        path.display()
                    ),
                );
                None
            }
        }
    }

    fn verify(&self, bytes: &[u8], wasm: &[u8]) -> Result<Vec<Option<Piece>>, String> {
        let split = bytes
            .len()
            .checked_sub(MAC_LEN)
            .ok_or("truncated: shorter than its HMAC")?;
        let (artifact, tag) = bytes.split_at(split);
        let mut mac = self.mac();
        mac.update(artifact);
        mac.verify_slice(tag)
            .map_err(|_| "bad HMAC: tampered, corrupt or made on another host")?;
        let artifact = Artifact::decode(artifact).map_err(|e| e.to_string())?;
        self.host.check(&artifact).map_err(|e| e.to_string())?;
        if artifact.wasm != wasm {
            return Err("made for another module".into());
        }
        Ok(artifact.funcs)
    }

    /// Writes the entry of `wasm`, whose functions' code is `funcs`.
    pub(crate) fn store(&self, engine: &Engine, wasm: &[u8], funcs: Vec<Option<Piece>>) {
        let artifact = Artifact::new(
            HostIdentity {
                ward_version: self.host.ward_version.clone(),
                cranelift_version: self.host.cranelift_version.clone(),
                target: self.host.target.clone(),
                cpu_features: self.host.cpu_features.clone(),
                config: self.host.config.clone(),
            },
            wasm.to_vec(),
            funcs,
        );
        let mut bytes = artifact.encode();
        let mut mac = self.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        let path = self.entry_path(wasm);
        match write_atomically(&path, &bytes, 0o644) {
            Ok(()) => stats(engine, |s| s.stored += 1),
            Err(e) => warn(engine, format!("writing {}: {e}", path.display())),
        }
    }
}

fn stats(engine: &Engine, f: impl FnOnce(&mut crate::engine::CacheStatistics)) {
    f(&mut engine
        .inner
        .cache_stats
        .lock()
        .unwrap_or_else(|e| e.into_inner()));
}

fn warn(engine: &Engine, warning: String) {
    stats(engine, |s| s.warnings.push(warning));
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A name for a temporary file beside `path`, unique to this process and call.
fn temporary_beside(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{n}-{nanos}", std::process::id()))
}

/// Writes `bytes` to a temporary file of mode `mode` beside `path`, then renames it to `path`.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = temporary_beside(path);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The host's cache key in `dir`: read, or made from 32 bytes of the OS's randomness on first use
/// (mode 0600; written to a temporary file and linked into place, so racing processes agree on
/// one key and none reads half of one).
fn host_key(dir: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    let path = dir.join(KEY_FILE);
    match read_key(&path) {
        Ok(key) => return Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut key = [0u8; KEY_LEN];
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    }
    let tmp = temporary_beside(&path);
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&key)?;
        file.sync_all()?;
    }
    // `hard_link` fails if another process made the key first; theirs is the one to use.
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path),
        Err(e) => Err(e),
    }
}

fn read_key(path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    let bytes = std::fs::read(path)?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        std::io::Error::other(format!(
            "{} holds {} bytes, not a {KEY_LEN}-byte key",
            path.display(),
            b.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_key_is_made_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let key = host_key(dir.path()).expect("made");
        assert_eq!(host_key(dir.path()).expect("read"), key);
        assert_ne!(key, [0u8; KEY_LEN]);
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Only the key is left: no temporary files.
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn a_short_key_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(KEY_FILE), b"short").expect("write");
        assert!(host_key(dir.path()).is_err());
    }
}
