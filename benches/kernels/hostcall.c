// Host-call-heavy workload: many small calls across the Wasm/host boundary.
__attribute__((import_module("host"), import_name("add"))) int host_add(int a, int b);
__attribute__((export_name("run"))) int run(int n) {
  int acc = 0;
  for (int i = 0; i < n; i++) acc = host_add(acc, i);
  return acc;
}
