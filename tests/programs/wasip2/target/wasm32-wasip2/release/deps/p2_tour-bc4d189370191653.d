/work/wt-comp2/tests/programs/wasip2/target/wasm32-wasip2/release/deps/p2_tour-bc4d189370191653.d: src/bin/p2_tour.rs

/work/wt-comp2/tests/programs/wasip2/target/wasm32-wasip2/release/deps/p2_tour-bc4d189370191653.wasm: src/bin/p2_tour.rs

src/bin/p2_tour.rs:
