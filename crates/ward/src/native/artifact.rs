//! The precompiled-module format (`.cwasm`, `Module::serialize`, the code cache): the Wasm binary
//! plus the machine code the Cranelift tier made of its functions, with a header that says what
//! the code was compiled for. Pure data: encoding, decoding (every length is hostile input) and
//! the compatibility checks against the loading engine. See `docs/CRANELIFT.md`.
//!
//! Layout, little-endian, each string and byte string preceded by its length (`u32`, the Wasm and
//! code `u64`):
//!
//! ```text
//! magic "\0wardaot" · format version u32
//! ward version · Cranelift version · target triple
//! CPU features: u32 count, names · configuration: u32 count, (name, value) pairs
//! SHA-256 of the Wasm (32 bytes) · Wasm
//! functions: u32 count (defined functions), each u8 0 (interpreted) or 1 then u32 alignment and code
//! SHA-256 of everything above (32 bytes)
//! ```
//!
//! The code is relocation-free (`ward_cranelift::CompiledFunction`), so nothing else is needed to
//! place it. Depends on `engine` (the configuration) and `aot` (the error); used by
//! `module::aot` and `native::cache`.

use sha2::{Digest, Sha256};
use ward_cranelift::{CodeSite, CodeSites};

use crate::aot::ArtifactError;
use crate::engine::Engine;

/// The artifact's first bytes.
pub(crate) const MAGIC: &[u8; 8] = b"\0wardaot";
/// The version of this layout; bumped whenever it changes, or the code's ABI does (the context's
/// layout, the libcall table: version 2 added `Libcall::ResolveIndirect`, version 3 the direct
/// calling convention, the direct table and the adapters of each function type).
pub(crate) const FORMAT_VERSION: u32 = 4;

/// A decoded artifact (or one about to be encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Artifact {
    pub ward_version: String,
    pub cranelift_version: String,
    pub target: String,
    pub cpu_features: Vec<String>,
    /// Every setting that changes the generated code: `(name, value)`.
    pub config: Vec<(String, String)>,
    pub wasm_sha256: [u8; 32],
    pub wasm: Vec<u8>,
    /// Per defined function: its machine code and alignment, or `None` if it stays interpreted;
    /// then (when any function is compiled) the adapters of each function type the tier compiles,
    /// slot entry and direct exit, in the order of the types' first use.
    pub funcs: Vec<Option<Piece>>,
}

/// The machine code of one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    pub alignment: u32,
    pub code: Vec<u8>,
    /// Its heap-access and call sites (empty for an adapter).
    pub sites: CodeSites,
}

/// What the header of an artifact made by `engine` on this host says: versions, target, CPU
/// features, configuration. `None` if the engine has no compiler.
pub(crate) struct HostIdentity {
    pub ward_version: String,
    pub cranelift_version: String,
    pub target: String,
    pub cpu_features: Vec<String>,
    pub config: Vec<(String, String)>,
}

impl HostIdentity {
    pub(crate) fn of(engine: &Engine) -> Option<HostIdentity> {
        let compiler = engine.inner.compiler.as_ref()?;
        let c = engine.config();
        let mut config = vec![
            ("strategy".to_string(), format!("{:?}", c.strategy)),
            ("fuel".to_string(), c.consume_fuel.to_string()),
            (
                "epoch interruption".to_string(),
                c.epoch_interruption.to_string(),
            ),
            ("deterministic".to_string(), c.deterministic.to_string()),
            ("async support".to_string(), c.async_support.to_string()),
            (
                "lazy translation".to_string(),
                c.lazy_translation.to_string(),
            ),
            (
                "cranelift skip functions".to_string(),
                format!("{:?}", c.cranelift_skip),
            ),
            ("wasm features".to_string(), c.proposals.fingerprint()),
            (
                "memory guard".to_string(),
                engine.memory_guard().to_string(),
            ),
        ];
        config.extend(
            compiler
                .settings()
                .into_iter()
                .map(|s| match s.split_once('=') {
                    Some((name, value)) => (format!("cranelift {name}"), value.to_string()),
                    None => (format!("cranelift {s}"), String::new()),
                }),
        );
        Some(HostIdentity {
            ward_version: env!("CARGO_PKG_VERSION").to_string(),
            cranelift_version: ward_cranelift::CRANELIFT_VERSION.to_string(),
            target: compiler.target(),
            cpu_features: compiler.cpu_features(),
            config,
        })
    }

    /// Refuses an artifact this engine cannot run on this host: other versions, another target, a
    /// CPU feature the host lacks, another configuration. The first difference is reported.
    pub(crate) fn check(&self, artifact: &Artifact) -> Result<(), ArtifactError> {
        if artifact.ward_version != self.ward_version {
            return Err(ArtifactError::Version {
                what: "ward",
                found: artifact.ward_version.clone(),
                expected: self.ward_version.clone(),
            });
        }
        if artifact.cranelift_version != self.cranelift_version {
            return Err(ArtifactError::Version {
                what: "Cranelift",
                found: artifact.cranelift_version.clone(),
                expected: self.cranelift_version.clone(),
            });
        }
        if artifact.target != self.target {
            return Err(ArtifactError::Target {
                found: artifact.target.clone(),
                expected: self.target.clone(),
            });
        }
        if let Some(missing) = artifact
            .cpu_features
            .iter()
            .find(|f| !self.cpu_features.contains(f))
        {
            return Err(ArtifactError::MissingCpuFeature {
                target: artifact.target.clone(),
                feature: missing.clone(),
            });
        }
        let value_of = |config: &[(String, String)], name: &str| {
            config
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "(not set)".to_string())
        };
        let names = self
            .config
            .iter()
            .map(|(n, _)| n)
            .chain(artifact.config.iter().map(|(n, _)| n));
        for name in names {
            let (found, expected) = (
                value_of(&artifact.config, name),
                value_of(&self.config, name),
            );
            if found != expected {
                return Err(ArtifactError::Config {
                    setting: name.clone(),
                    found,
                    expected,
                });
            }
        }
        Ok(())
    }
}

impl Artifact {
    /// The artifact of `wasm` and its functions' code, made on this host by `host`.
    pub(crate) fn new(host: HostIdentity, wasm: Vec<u8>, funcs: Vec<Option<Piece>>) -> Artifact {
        Artifact {
            ward_version: host.ward_version,
            cranelift_version: host.cranelift_version,
            target: host.target,
            cpu_features: host.cpu_features,
            config: host.config,
            wasm_sha256: Sha256::digest(&wasm).into(),
            wasm,
            funcs,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let code_len: usize = self.funcs.iter().flatten().map(|p| p.code.len() + 16).sum();
        let mut out = Vec::with_capacity(self.wasm.len() + code_len + 4096);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        put_str(&mut out, &self.ward_version);
        put_str(&mut out, &self.cranelift_version);
        put_str(&mut out, &self.target);
        put_u32(&mut out, self.cpu_features.len());
        for f in &self.cpu_features {
            put_str(&mut out, f);
        }
        put_u32(&mut out, self.config.len());
        for (name, value) in &self.config {
            put_str(&mut out, name);
            put_str(&mut out, value);
        }
        out.extend_from_slice(&self.wasm_sha256);
        put_bytes64(&mut out, &self.wasm);
        put_u32(&mut out, self.funcs.len());
        for func in &self.funcs {
            match func {
                None => out.push(0),
                Some(piece) => {
                    out.push(1);
                    out.extend_from_slice(&piece.alignment.to_le_bytes());
                    put_bytes64(&mut out, &piece.code);
                    put_sites(&mut out, &piece.sites.heap_traps);
                    put_sites(&mut out, &piece.sites.calls);
                }
            }
        }
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum);
        out
    }

    /// Decodes an artifact, checking its structure, its checksum and the SHA-256 of its Wasm (not
    /// whether this host can run it: `HostIdentity::check`).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Artifact, ArtifactError> {
        let mut r = Reader { bytes, at: 0 };
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ArtifactError::NotAnArtifact);
        }
        r.at = MAGIC.len();
        let version = r.u32("the format version")?;
        if version != FORMAT_VERSION {
            return Err(ArtifactError::FormatVersion {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let ward_version = r.str("the ward version")?;
        let cranelift_version = r.str("the Cranelift version")?;
        let target = r.str("the target")?;
        let n = r.u32("the CPU features")?;
        let mut cpu_features = Vec::new();
        for _ in 0..n {
            cpu_features.push(r.str("the CPU features")?);
        }
        let n = r.u32("the configuration")?;
        let mut config = Vec::new();
        for _ in 0..n {
            let name = r.str("the configuration")?;
            let value = r.str("the configuration")?;
            config.push((name, value));
        }
        let wasm_sha256: [u8; 32] =
            r.take(32, "the Wasm's SHA-256")?
                .try_into()
                .map_err(|_| ArtifactError::Truncated {
                    what: "the Wasm's SHA-256",
                })?;
        let wasm = r.bytes64("the Wasm")?.to_vec();
        let n = r.u32("the function table")?;
        let mut funcs = Vec::new();
        for _ in 0..n {
            match r.take(1, "the function table")?[0] {
                0 => funcs.push(None),
                1 => {
                    let alignment = r.u32("a function's alignment")?;
                    if !alignment.is_power_of_two() || alignment > 4096 {
                        return Err(ArtifactError::Corrupt(format!(
                            "function code alignment {alignment} is not a power of two up to 4096"
                        )));
                    }
                    let code = r.bytes64("a function's code")?.to_vec();
                    if code.is_empty() {
                        return Err(ArtifactError::Corrupt("empty function code".into()));
                    }
                    let heap_traps = r.sites(code.len(), "a function's heap-access sites")?;
                    let calls = r.sites(code.len(), "a function's call sites")?;
                    funcs.push(Some(Piece {
                        alignment,
                        code,
                        sites: CodeSites { heap_traps, calls },
                    }));
                }
                other => {
                    return Err(ArtifactError::Corrupt(format!(
                        "function entry tag {other} (expected 0 or 1)"
                    )));
                }
            }
        }
        let body_end = r.at;
        let checksum = r.take(32, "the checksum")?;
        if r.at != bytes.len() {
            return Err(ArtifactError::Corrupt(format!(
                "{} trailing bytes after the checksum",
                bytes.len() - r.at
            )));
        }
        if Sha256::digest(&bytes[..body_end]).as_slice() != checksum {
            return Err(ArtifactError::Corrupt("checksum mismatch".into()));
        }
        if <[u8; 32]>::from(Sha256::digest(&wasm)) != wasm_sha256 {
            return Err(ArtifactError::WasmHash);
        }
        Ok(Artifact {
            ward_version,
            cranelift_version,
            target,
            cpu_features,
            config,
            wasm_sha256,
            wasm,
            funcs,
        })
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("artifact counts and strings fit in u32");
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_sites(out: &mut Vec<u8>, sites: &[CodeSite]) {
    put_u32(out, sites.len());
    for site in sites {
        out.extend_from_slice(&site.code_offset.to_le_bytes());
        out.extend_from_slice(&site.wasm_offset.to_le_bytes());
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_bytes64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A bounds-checked cursor over hostile bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ArtifactError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(ArtifactError::Truncated { what })?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ArtifactError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, ArtifactError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A list of code sites in code of `code_len` bytes: strictly ascending code offsets inside
    /// the code (a return address may be its end).
    fn sites(
        &mut self,
        code_len: usize,
        what: &'static str,
    ) -> Result<Vec<CodeSite>, ArtifactError> {
        let n = self.u32(what)?;
        let mut sites: Vec<CodeSite> = Vec::new();
        for _ in 0..n {
            let code_offset = self.u32(what)?;
            let wasm_offset = self.u32(what)?;
            let ascending = sites.last().is_none_or(|s| s.code_offset < code_offset);
            if !ascending || code_offset as usize > code_len {
                return Err(ArtifactError::Corrupt(format!(
                    "{what}: code offset {code_offset} out of order or past the code"
                )));
            }
            sites.push(CodeSite {
                code_offset,
                wasm_offset,
            });
        }
        Ok(sites)
    }

    fn str(&mut self, what: &'static str) -> Result<String, ArtifactError> {
        let n = self.u32(what)? as usize;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| ArtifactError::Corrupt(format!("{what} is not UTF-8")))
    }

    fn bytes64(&mut self, what: &'static str) -> Result<&'a [u8], ArtifactError> {
        let n = self.u64(what)?;
        let n = usize::try_from(n).map_err(|_| ArtifactError::Truncated { what })?;
        self.take(n, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Artifact {
        let host = HostIdentity {
            ward_version: "0.1.0".into(),
            cranelift_version: "0.135.8".into(),
            target: "x86_64-unknown-linux-gnu".into(),
            cpu_features: vec!["avx".into(), "sse3".into()],
            config: vec![("fuel".into(), "false".into())],
        };
        Artifact::new(
            host,
            b"\0asm\x01\0\0\0".to_vec(),
            vec![
                None,
                Some(Piece {
                    alignment: 16,
                    code: vec![0xc3; 7],
                    sites: CodeSites {
                        heap_traps: vec![CodeSite {
                            code_offset: 2,
                            wasm_offset: 40,
                        }],
                        calls: vec![CodeSite {
                            code_offset: 7,
                            wasm_offset: 44,
                        }],
                    },
                }),
            ],
        )
    }

    fn host_of(a: &Artifact) -> HostIdentity {
        HostIdentity {
            ward_version: a.ward_version.clone(),
            cranelift_version: a.cranelift_version.clone(),
            target: a.target.clone(),
            cpu_features: a.cpu_features.clone(),
            config: a.config.clone(),
        }
    }

    #[test]
    fn an_artifact_round_trips() {
        let a = sample();
        let bytes = a.encode();
        assert!(bytes.starts_with(MAGIC));
        assert_eq!(Artifact::decode(&bytes), Ok(a.clone()));
        assert_eq!(host_of(&a).check(&a), Ok(()));
    }

    #[test]
    fn every_truncation_is_refused_without_panicking() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            let err = Artifact::decode(&bytes[..len]).expect_err("truncated");
            assert!(
                matches!(
                    err,
                    ArtifactError::NotAnArtifact | ArtifactError::Truncated { .. }
                ),
                "at {len}: {err}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(Artifact::decode(&b).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn huge_lengths_are_refused() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Artifact::decode(&bytes),
            Err(ArtifactError::Truncated {
                what: "the ward version"
            })
        );
    }

    #[test]
    fn a_cpu_feature_the_host_lacks_is_refused() {
        let mut a = sample();
        let host = host_of(&a);
        a.cpu_features.push("avx512vbmi".into());
        let decoded = Artifact::decode(&a.encode()).expect("well-formed");
        let err = host.check(&decoded).expect_err("missing feature");
        assert_eq!(
            err.to_string(),
            "precompiled module was compiled for x86_64-unknown-linux-gnu with avx512vbmi, \
             but this host lacks avx512vbmi"
        );
    }

    #[test]
    fn another_configuration_or_version_is_refused() {
        let a = sample();
        let mut host = host_of(&a);
        host.config[0].1 = "true".into();
        let err = host.check(&a).expect_err("fuel differs");
        assert!(
            matches!(&err, ArtifactError::Config { setting, .. } if setting == "fuel"),
            "{err}"
        );
        assert!(err.to_string().contains("different configuration (fuel"));
        let mut host = host_of(&a);
        host.ward_version = "9.9.9".into();
        assert!(matches!(
            host.check(&a),
            Err(ArtifactError::Version { what: "ward", .. })
        ));
        let mut host = host_of(&a);
        host.target = "aarch64-unknown-linux-gnu".into();
        assert!(matches!(host.check(&a), Err(ArtifactError::Target { .. })));
    }

    #[test]
    fn a_wasm_that_does_not_match_its_hash_is_refused() {
        let mut a = sample();
        a.wasm_sha256[0] ^= 1;
        assert_eq!(Artifact::decode(&a.encode()), Err(ArtifactError::WasmHash));
    }
}
