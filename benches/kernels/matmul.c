// Dense double-precision matrix multiply (n x n, n <= 128): f64 loads, multiply-add, nested loops.
#define N 128
static double a[N * N], b[N * N], c[N * N];
__attribute__((export_name("run"))) double run(int n) {
  if (n > N) n = N;
  for (int i = 0; i < n * n; i++) {
    a[i] = (double)(i % 13) * 0.5;
    b[i] = (double)(i % 7) - 3.0;
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double sum = 0.0;
      for (int k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
      c[i * n + j] = sum;
    }
  double total = 0.0;
  for (int i = 0; i < n * n; i++) total += c[i];
  return total;
}
