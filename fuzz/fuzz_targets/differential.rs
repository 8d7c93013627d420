//! wasm-smith modules of every feature set run in ward, Wasmtime and (where it implements the set)
//! wasmi: results, traps, globals, memories and tables must agree between ward and Wasmtime; wasmi
//! disagreeing alone is a known oracle bug, not a failure.
#![no_main]

#[path = "../../crates/ward/tests/support/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let set = oracle::FeatureSet::ALL[usize::from(selector) % oracle::FeatureSet::ALL.len()];
    let (module_data, arg_data) = data.split_at(data.len() * 3 / 4);
    if let Some(wasm) = oracle::generate_for(set, module_data)
        && let Err(mismatch) = oracle::differential(&wasm, arg_data, set)
    {
        panic!("ward and Wasmtime disagree ({}): {mismatch}", set.name());
    }
});
