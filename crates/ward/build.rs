//! Sets `ward_tail_calls` when the interpreter's threaded handlers may call each other as sibling
//! calls: an optimized build (LLVM does not make sibling calls below opt-level 2) for an
//! architecture whose LLVM backend performs them. See `src/interp/fast.rs`.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=WARD_NO_TAIL_CALLS");
    println!("cargo::rustc-check-cfg=cfg(ward_tail_calls)");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    // The profile's level, unless RUSTFLAGS overrides it (the last `opt-level` given wins).
    let rustflags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let level = rustflags
        .split('\x1f')
        .filter_map(|flag| {
            flag.rsplit_once("opt-level=")
                .map(|(_, level)| level.to_string())
        })
        .next_back()
        .or_else(|| std::env::var("OPT_LEVEL").ok());
    let optimized = matches!(level.as_deref(), Some("2" | "3" | "s" | "z"));
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let sibling_calls = matches!(arch.as_str(), "x86_64" | "aarch64" | "riscv64");
    if optimized && sibling_calls && std::env::var_os("WARD_NO_TAIL_CALLS").is_none() {
        println!("cargo::rustc-cfg=ward_tail_calls");
    }
}
