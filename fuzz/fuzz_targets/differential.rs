//! wasm-smith modules run in ward and wasmi: results, traps, globals and memories must agree.
#![no_main]

#[path = "../../crates/ward/tests/support/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (module_data, arg_data) = data.split_at(data.len() * 3 / 4);
    if let Some(wasm) = oracle::generate(module_data)
        && let Err(mismatch) = oracle::differential(&wasm, arg_data)
    {
        panic!("ward and wasmi disagree: {mismatch}");
    }
});
