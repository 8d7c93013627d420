//! wasm-smith modules run under fuel: no panic, whatever the module does.
#![no_main]

#[path = "../../crates/ward/tests/support/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(wasm) = oracle::generate(data) {
        oracle::check_smith_module(&wasm);
    }
});
