//! The errors of the component model that are its own: [`AbiTrap`], the traps the canonical ABI
//! raises, and the unsupported-async error ward gives for the async ABI
//! ([`is_unsupported_async`]). Used by every other file of `component`.

use std::fmt;

use crate::Error;

/// Whether `error` is the one ward gives for a component using the async ABI.
pub fn is_unsupported_async(error: &Error) -> bool {
    matches!(error, Error::Unsupported { feature, .. } if feature.starts_with("async"))
}

/// A trap raised by the canonical ABI while lifting or lowering a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiTrap {
    message: String,
}

impl AbiTrap {
    /// What went wrong, as the component model's reference tests spell it where they check.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for AbiTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.message)
    }
}

impl std::error::Error for AbiTrap {}

pub(crate) fn trap(message: impl Into<String>) -> Error {
    Error::Host(anyhow::Error::new(AbiTrap {
        message: message.into(),
    }))
}

/// An error for a state ward's own checks rule out (the validator checked the component).
pub(crate) fn internal(what: &str) -> Error {
    Error::Instantiation(format!("internal error: {what}"))
}
