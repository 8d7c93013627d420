//! Arbitrary bytes through compile and instantiation: ward must answer with a module or an error.
#![no_main]

#[path = "../../crates/ward/tests/support/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracle::check_bytes(data);
});
