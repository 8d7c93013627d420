//! Why a precompiled module (`.cwasm`, [`Module::deserialize`](crate::Module::deserialize)) or a
//! code-cache entry was refused. The format itself is `native::artifact` (with the `cranelift`
//! feature); see `docs/CRANELIFT.md`.

/// Why a precompiled artifact cannot be loaded by this engine on this host.
///
/// Every length and offset of an artifact is checked; a refused artifact is never executed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The bytes do not start with ward's magic (`\0wardaot`).
    #[error("not a ward precompiled module (bad magic)")]
    NotAnArtifact,
    /// The artifact was written in another version of the format.
    #[error(
        "precompiled module format version {found} is not supported (this ward reads version {expected})"
    )]
    FormatVersion {
        /// The artifact's.
        found: u32,
        /// This ward's.
        expected: u32,
    },
    /// The artifact ends before one of its parts (`what`).
    #[error("precompiled module is truncated (ends inside {what})")]
    Truncated {
        /// The part that is cut short.
        what: &'static str,
    },
    /// A structural check or the artifact's checksum failed.
    #[error("precompiled module is corrupt: {0}")]
    Corrupt(String),
    /// Compiled by another version of ward or of Cranelift.
    #[error("precompiled module was compiled by {what} {found}, but this is {what} {expected}")]
    Version {
        /// `ward` or `Cranelift`.
        what: &'static str,
        /// The artifact's version.
        found: String,
        /// This build's.
        expected: String,
    },
    /// Compiled for another target.
    #[error("precompiled module was compiled for {found}, but this host is {expected}")]
    Target {
        /// The artifact's target triple.
        found: String,
        /// The host's.
        expected: String,
    },
    /// The code needs a CPU feature this host does not have.
    #[error(
        "precompiled module was compiled for {target} with {feature}, but this host lacks {feature}"
    )]
    MissingCpuFeature {
        /// The artifact's target triple.
        target: String,
        /// The feature, as Cranelift names it without `has_` (`avx2`).
        feature: String,
    },
    /// A setting of the engine that changes generated code differs (`setting` names it).
    #[error(
        "precompiled module was compiled with a different configuration ({setting}: {found}, this engine: {expected})"
    )]
    Config {
        /// The setting (`fuel`, `epoch interruption`, `wasm features`, ...).
        setting: String,
        /// The artifact's value.
        found: String,
        /// The loading engine's.
        expected: String,
    },
    /// The embedded Wasm does not hash to the SHA-256 the header records.
    #[error("precompiled module is corrupt: the WebAssembly bytes do not match their SHA-256")]
    WasmHash,
    /// The engine does not compile eagerly with Cranelift (another strategy, or a setting that
    /// keeps every function interpreted).
    #[error(
        "precompiled modules need an engine that compiles with Cranelift (`Strategy::Cranelift`, \
         `-C compiler=cranelift`, without deterministic NaNs, async support or lazy translation)"
    )]
    Strategy,
}
