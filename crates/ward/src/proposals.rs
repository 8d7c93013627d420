//! The WebAssembly proposals an [`Engine`](crate::Engine) can switch on and off ([`WasmProposal`]),
//! declared once: the [`Config`] methods (`Config::wasm_simd`, …), the CLI's `-W NAME=y|n` names,
//! the defaults and the wasmparser features each one enables all come from [`proposals!`]'s table.
//!
//! Defaults follow Wasmtime 48: the proposals of WebAssembly 3.0 and threads are on, the newer ones
//! (wide arithmetic, custom page sizes, legacy exception handling) are off.
//!
//! Also explains a validation error caused by a switched-off proposal ([`name_the_switch`]): the
//! module is validated again with each switched-off proposal turned on, and the first that changes
//! the outcome is named in the message. That costs a validation per switched-off proposal, only on
//! the error path. Used by `engine` (the features of a `Config`) and `module` (validation).

use wasmparser::{Validator, WasmFeatures};

use crate::{Config, Error};

macro_rules! proposals {
    ($(
        $(#[$doc:meta])*
        $variant:ident {
            cli: $cli:literal,
            method: $method:ident,
            default: $default:literal,
            features: $features:expr,
            requires: [$($required:ident),*],
            summary: $summary:literal $(,)?
        }
    )*) => {
        /// A WebAssembly proposal that a [`Config`] can switch on or off.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum WasmProposal {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl WasmProposal {
            /// Every switchable proposal, in the order `ward run -W help` lists them.
            pub const ALL: &'static [WasmProposal] = &[$(WasmProposal::$variant),*];

            /// The name of the proposal's switch on the command line (`-W NAME=y|n`), spelled as
            /// Wasmtime spells it.
            pub fn cli_name(self) -> &'static str {
                match self { $(WasmProposal::$variant => $cli,)* }
            }

            /// The [`Config`] method that switches it.
            pub fn config_method(self) -> &'static str {
                match self { $(WasmProposal::$variant => concat!("Config::", stringify!($method)),)* }
            }

            /// Whether a new [`Config`] has it on.
            pub fn enabled_by_default(self) -> bool {
                match self { $(WasmProposal::$variant => $default,)* }
            }

            /// One line describing the proposal.
            pub fn summary(self) -> &'static str {
                match self { $(WasmProposal::$variant => $summary,)* }
            }

            /// The proposal whose command-line name is `name`.
            pub fn from_cli_name(name: &str) -> Option<WasmProposal> {
                WasmProposal::ALL.iter().copied().find(|p| p.cli_name() == name)
            }

            /// The validator features the proposal adds.
            pub(crate) fn features(self) -> WasmFeatures {
                match self { $(WasmProposal::$variant => $features,)* }
            }

            /// The proposals it builds on: switching one of those off switches this one off too.
            pub fn requires(self) -> &'static [WasmProposal] {
                match self { $(WasmProposal::$variant => &[$(WasmProposal::$required),*],)* }
            }
        }

        impl Config {
            $(
                $(#[$doc])*
                ///
                #[doc = concat!("Default: ", stringify!($default), "; on the command line `-W ", $cli, "=y|n`.")]
                pub fn $method(&mut self, enable: bool) -> &mut Self {
                    self.wasm_proposal(WasmProposal::$variant, enable)
                }
            )*
        }
    };
}

proposals! {
    /// Fixed-width SIMD: the `v128` type and its instructions.
    Simd {
        cli: "simd",
        method: wasm_simd,
        default: true,
        features: WasmFeatures::SIMD,
        requires: [],
        summary: "fixed-width SIMD (`v128`)",
    }
    /// Relaxed SIMD: SIMD instructions whose results may depend on the host (ward gives the
    /// deterministic ones). Needs [`Config::wasm_simd`].
    RelaxedSimd {
        cli: "relaxed-simd",
        method: wasm_relaxed_simd,
        default: true,
        features: WasmFeatures::RELAXED_SIMD,
        requires: [Simd],
        summary: "relaxed SIMD",
    }
    /// Reference types: `funcref`/`externref` values, several tables, table instructions.
    ReferenceTypes {
        cli: "reference-types",
        method: wasm_reference_types,
        default: true,
        features: WasmFeatures::REFERENCE_TYPES,
        requires: [],
        summary: "reference types (`funcref`, `externref`, table instructions)",
    }
    /// Typed function references: `call_ref`, `ref.as_non_null`, `br_on_null`, non-nullable
    /// references. Needs [`Config::wasm_reference_types`].
    FunctionReferences {
        cli: "function-references",
        method: wasm_function_references,
        default: true,
        features: WasmFeatures::FUNCTION_REFERENCES,
        requires: [ReferenceTypes],
        summary: "typed function references",
    }
    /// Garbage collection: structs, arrays, `i31`, casts. Needs
    /// [`Config::wasm_function_references`] and [`Config::wasm_reference_types`].
    Gc {
        cli: "gc",
        method: wasm_gc,
        default: true,
        features: WasmFeatures::GC,
        requires: [FunctionReferences, ReferenceTypes],
        summary: "garbage-collected structs and arrays",
    }
    /// Exception handling: tags, `throw`, `throw_ref`, `try_table`, `exnref`.
    Exceptions {
        cli: "exceptions",
        method: wasm_exceptions,
        default: true,
        features: WasmFeatures::EXCEPTIONS,
        requires: [],
        summary: "exception handling (`try_table`, `throw`, `exnref`)",
    }
    /// The legacy exception-handling instructions (`try`, `catch`, `catch_all`, `delegate`,
    /// `rethrow`) that Emscripten and older toolchains emit. Wasmtime has no command-line switch for
    /// it; ward's is `-W legacy-exceptions=y`.
    LegacyExceptions {
        cli: "legacy-exceptions",
        method: wasm_legacy_exceptions,
        default: false,
        features: WasmFeatures::LEGACY_EXCEPTIONS,
        requires: [],
        summary: "legacy exception handling (`try`/`catch`/`delegate`/`rethrow`)",
    }
    /// Tail calls: `return_call`, `return_call_indirect`, `return_call_ref`.
    TailCall {
        cli: "tail-call",
        method: wasm_tail_call,
        default: true,
        features: WasmFeatures::TAIL_CALL,
        requires: [],
        summary: "tail calls (`return_call*`)",
    }
    /// Several memories per module.
    MultiMemory {
        cli: "multi-memory",
        method: wasm_multi_memory,
        default: true,
        features: WasmFeatures::MULTI_MEMORY,
        requires: [],
        summary: "several memories per module",
    }
    /// Several results per function and block parameters.
    MultiValue {
        cli: "multi-value",
        method: wasm_multi_value,
        default: true,
        features: WasmFeatures::MULTI_VALUE,
        requires: [],
        summary: "several results per function, block parameters",
    }
    /// Bulk memory operations: `memory.copy`, `memory.fill`, passive segments.
    BulkMemory {
        cli: "bulk-memory",
        method: wasm_bulk_memory,
        default: true,
        features: WasmFeatures::BULK_MEMORY.union(WasmFeatures::BULK_MEMORY_OPT),
        requires: [],
        summary: "bulk memory operations and passive segments",
    }
    /// 64-bit memories and tables.
    Memory64 {
        cli: "memory64",
        method: wasm_memory64,
        default: true,
        features: WasmFeatures::MEMORY64,
        requires: [],
        summary: "64-bit memories and tables",
    }
    /// Extended constant expressions (`i32.add` and friends in initializers).
    ExtendedConst {
        cli: "extended-const",
        method: wasm_extended_const,
        default: true,
        features: WasmFeatures::EXTENDED_CONST,
        requires: [],
        summary: "arithmetic in constant expressions",
    }
    /// Wide arithmetic: `i64.add128`, `i64.sub128`, `i64.mul_wide_s`, `i64.mul_wide_u`.
    WideArithmetic {
        cli: "wide-arithmetic",
        method: wasm_wide_arithmetic,
        default: false,
        features: WasmFeatures::WIDE_ARITHMETIC,
        requires: [],
        summary: "128-bit add/sub and 64x64->128-bit multiplication",
    }
    /// Custom page sizes: memories whose pages are 1 byte instead of 64 KiB.
    CustomPageSizes {
        cli: "custom-page-sizes",
        method: wasm_custom_page_sizes,
        default: false,
        features: WasmFeatures::CUSTOM_PAGE_SIZES,
        requires: [],
        summary: "memories with 1-byte pages",
    }
    /// Threads: shared memories, atomic instructions, `memory.atomic.wait`/`notify`.
    Threads {
        cli: "threads",
        method: wasm_threads,
        default: true,
        features: WasmFeatures::THREADS,
        requires: [],
        summary: "shared memories and atomic instructions",
    }
    /// The component model: components, their types and the canonical ABI
    /// ([`ward::component`](crate::component)). Core modules are unaffected.
    ComponentModel {
        cli: "component-model",
        method: wasm_component_model,
        default: true,
        features: WasmFeatures::COMPONENT_MODEL,
        requires: [],
        summary: "the component model (`ward::component`)",
    }
}

/// Validator features that no switch covers: the MVP and the small WebAssembly 2.0 additions.
fn base_features() -> WasmFeatures {
    let switchable = WasmProposal::ALL
        .iter()
        .fold(WasmFeatures::empty(), |all, p| all | p.features());
    (WasmFeatures::WASM3 | WasmFeatures::CALL_INDIRECT_OVERLONG) & !switchable
}

/// The switched-on proposals' features, as a set of [`WasmProposal`] bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProposalSet(u32);

impl Default for ProposalSet {
    fn default() -> Self {
        let mut set = ProposalSet(0);
        for p in WasmProposal::ALL {
            set.set(*p, p.enabled_by_default());
        }
        set
    }
}

impl ProposalSet {
    /// The set as text, for the configuration fingerprint of precompiled modules: the names of
    /// the proposals it turns on.
    #[cfg(feature = "cranelift")]
    pub fn fingerprint(&self) -> String {
        let on: Vec<String> = WasmProposal::ALL
            .iter()
            .filter(|p| self.contains(**p))
            .map(|p| format!("{p:?}"))
            .collect();
        on.join(",")
    }

    fn bit(p: WasmProposal) -> u32 {
        let index = WasmProposal::ALL
            .iter()
            .position(|q| *q == p)
            .expect("ALL lists every proposal");
        1 << index
    }

    pub fn set(&mut self, p: WasmProposal, enable: bool) {
        if enable {
            self.0 |= Self::bit(p);
        } else {
            self.0 &= !Self::bit(p);
        }
    }

    pub fn contains(self, p: WasmProposal) -> bool {
        self.0 & Self::bit(p) != 0
    }

    /// Whether `p` is in effect: switched on, and so is every proposal it builds on.
    pub fn effective(self, p: WasmProposal) -> bool {
        self.contains(p) && p.requires().iter().all(|r| self.contains(*r))
    }

    /// The validator features: the base set and every proposal in effect.
    pub fn features(self) -> WasmFeatures {
        WasmProposal::ALL
            .iter()
            .filter(|p| self.effective(**p))
            .fold(base_features(), |all, p| all | p.features())
    }
}

impl Config {
    /// Switches `proposal` on or off (the same as its own method, such as
    /// [`Config::wasm_wide_arithmetic`]). A module using a switched-off proposal fails to compile
    /// with a message naming the switch. A proposal is in effect only while the proposals it
    /// [requires](WasmProposal::requires) are on too.
    ///
    /// ```
    /// use ward::{Config, Engine, Module, WasmProposal};
    /// let wat = "(module (func (param i64 i64) (result i64 i64) local.get 0 local.get 1 i64.mul_wide_u))";
    /// let err = Module::new(&Engine::default(), wat).unwrap_err();
    /// assert!(err.to_string().contains("-W wide-arithmetic=y"));
    /// let mut config = Config::new();
    /// config.wasm_proposal(WasmProposal::WideArithmetic, true);
    /// assert!(Module::new(&Engine::new(&config).expect("valid engine configuration"), wat).is_ok());
    /// ```
    pub fn wasm_proposal(&mut self, proposal: WasmProposal, enable: bool) -> &mut Self {
        self.proposals.set(proposal, enable);
        self
    }

    /// Whether `proposal` is switched on.
    pub fn proposal_enabled(&self, proposal: WasmProposal) -> bool {
        self.proposals.contains(proposal)
    }
}

/// If `error`, from validating `bytes` with `proposals`, goes away or changes when one switched-off
/// proposal is turned on, returns the error with a hint naming that proposal's switches.
pub(crate) fn name_the_switch(bytes: &[u8], proposals: ProposalSet, error: Error) -> Error {
    let Error::Invalid { message, offset } = &error else {
        return error;
    };
    for proposal in WasmProposal::ALL {
        if proposals.contains(*proposal) {
            continue;
        }
        let mut trial = proposals;
        trial.set(*proposal, true);
        let outcome = Validator::new_with_features(trial.features()).validate_all(bytes);
        let changed = match outcome {
            Ok(_) => true,
            Err(e) => e.offset() as usize != *offset || e.message() != message,
        };
        if changed {
            return Error::Invalid {
                message: format!(
                    "{message} (enable with `-W {}=y` / `{}`)",
                    proposal.cli_name(),
                    proposal.config_method()
                ),
                offset: *offset,
            };
        }
    }
    error
}
