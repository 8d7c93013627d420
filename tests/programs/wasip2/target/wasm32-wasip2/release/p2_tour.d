/work/wt-comp2/tests/programs/wasip2/target/wasm32-wasip2/release/p2_tour.wasm: /work/wt-comp2/tests/programs/wasip2/src/bin/p2_tour.rs
