//! Precompiled modules, as in Wasmtime: [`Engine::precompile_module`], [`Module::serialize`],
//! [`Module::deserialize`] and [`Module::deserialize_file`]. The format and its checks are
//! `native::artifact`; see `docs/CRANELIFT.md`. Without the `cranelift` feature they fail with
//! `Error::CompilerUnavailable`.

#[cfg(not(feature = "cranelift"))]
mod unavailable {
    use super::super::Module;
    use crate::engine::Engine;
    use crate::{Error, Result};

    fn unavailable() -> Error {
        Error::CompilerUnavailable(
            "precompiled modules need the Cranelift compiler, which is not built into this ward \
             (enable its `cranelift` feature)"
                .into(),
        )
    }

    impl Engine {
        /// Compiles a module to a precompiled artifact (needs the `cranelift` feature).
        pub fn precompile_module(&self, _bytes: &[u8]) -> Result<Vec<u8>> {
            Err(unavailable())
        }

        /// Whether `bytes` look like a precompiled module (they start with its magic).
        pub fn is_precompiled(bytes: &[u8]) -> bool {
            bytes.starts_with(b"\0wardaot")
        }
    }

    impl Module {
        /// The module as a precompiled artifact (needs the `cranelift` feature).
        pub fn serialize(&self) -> Result<Vec<u8>> {
            Err(unavailable())
        }

        /// Loads a precompiled module (needs the `cranelift` feature).
        ///
        /// # Safety
        ///
        /// The artifact's machine code would run unchecked; without the feature this always fails.
        pub unsafe fn deserialize(_engine: &Engine, _bytes: impl AsRef<[u8]>) -> Result<Module> {
            Err(unavailable())
        }

        /// Loads a precompiled module from a file (needs the `cranelift` feature).
        ///
        /// # Safety
        ///
        /// As for [`Module::deserialize`].
        pub unsafe fn deserialize_file(
            _engine: &Engine,
            _path: impl AsRef<std::path::Path>,
        ) -> Result<Module> {
            Err(unavailable())
        }
    }
}

#[cfg(feature = "cranelift")]
mod compiled {
    use std::sync::Arc;

    use super::super::{Module, parse};
    use crate::aot::ArtifactError;
    use crate::engine::Engine;
    use crate::native::artifact::{Artifact, HostIdentity};
    use crate::{Error, Result};

    /// The identity of `engine` for artifacts, if it compiles with Cranelift.
    fn host(engine: &Engine) -> Result<HostIdentity> {
        if !crate::native::compiles(engine) {
            return Err(ArtifactError::Strategy.into());
        }
        HostIdentity::of(engine).ok_or_else(|| ArtifactError::Strategy.into())
    }

    impl Engine {
        /// Compiles `bytes` (binary or text) with Cranelift and returns the precompiled module
        /// ([`Module::deserialize`] loads it), without keeping a [`Module`]. The engine needs
        /// [`Strategy::Cranelift`](crate::Strategy::Cranelift).
        pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
            host(self)?;
            Module::new(self, bytes)?.serialize()
        }

        /// Whether `bytes` look like a precompiled module (they start with its magic); says nothing
        /// of whether it is valid or loadable here.
        pub fn is_precompiled(bytes: &[u8]) -> bool {
            bytes.starts_with(crate::native::artifact::MAGIC)
        }
    }

    impl Module {
        /// The module as a precompiled artifact: its Wasm binary and the machine code Cranelift made
        /// of its functions, with a header naming the ward and Cranelift versions, the target and its
        /// CPU features, the engine's code-generation settings and the Wasm's SHA-256.
        /// [`Module::deserialize`] loads it in an engine with the same settings on a compatible host
        /// without compiling again. Needs a module of an engine with
        /// [`Strategy::Cranelift`](crate::Strategy::Cranelift).
        pub fn serialize(&self) -> Result<Vec<u8>> {
            let host = host(&self.inner.engine)?;
            let wasm = self
                .inner
                .wasm
                .as_ref()
                .ok_or(Error::Artifact(ArtifactError::Strategy))?;
            let funcs = match &self.inner.native {
                Some(native) => native.pieces(),
                None => vec![None; self.inner.body_starts.len()],
            };
            Ok(Artifact::new(host, wasm.to_vec(), funcs).encode())
        }

        /// Loads a precompiled module made by [`Module::serialize`] or
        /// [`Engine::precompile_module`] (`ward compile`).
        ///
        /// The artifact is refused with [`Error::Artifact`] if it is not one, is truncated or fails
        /// its checksum, was made by another ward or Cranelift version, for another target, for a CPU
        /// feature this host lacks, or with other code-generation settings than `engine`'s, or if its
        /// Wasm does not match its SHA-256. The Wasm is validated and translated for the interpreter
        /// again; Cranelift does not run: the machine code is copied into executable memory as is.
        ///
        /// # Safety
        ///
        /// The machine code is run without being checked (as in Wasmtime): the checksum catches
        /// accidents, not an attacker, who can recompute it. Only load artifacts that this ward made
        /// and that no one else could modify since. The on-disk cache ([`Config::cache`](crate::Config::cache))
        /// authenticates its entries with an HMAC under a host key instead.
        pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
            let host = host(engine)?;
            let artifact = Artifact::decode(bytes.as_ref())?;
            host.check(&artifact)?;
            let Artifact { wasm, funcs, .. } = artifact;
            let parsed = parse(engine, &wasm, Some(funcs)).map_err(|e| {
                crate::proposals::name_the_switch(&wasm, engine.config().proposals, e)
            })?;
            Ok(Module {
                inner: Arc::new(parsed),
            })
        }

        /// [`Module::deserialize`] of a file's contents.
        ///
        /// # Safety
        ///
        /// As for [`Module::deserialize`]: the file's machine code runs unchecked.
        pub unsafe fn deserialize_file(
            engine: &Engine,
            path: impl AsRef<std::path::Path>,
        ) -> Result<Module> {
            let path = path.as_ref();
            let bytes = std::fs::read(path)
                .map_err(|e| Error::Usage(format!("failed to read {}: {e}", path.display())))?;
            // SAFETY: the caller vouches for the file's code (this function's contract).
            unsafe { Module::deserialize(engine, bytes) }
        }
    }
}
