// Quicksort of pseudo-random integers: recursion, compares, swaps through memory.
#define MAX 100000
static int v[MAX];
static void sort(int *a, int lo, int hi) {
  while (lo < hi) {
    int p = a[(lo + hi) >> 1], i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) { int t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { sort(a, lo, j); lo = i; } else { sort(a, i, hi); hi = j; }
  }
}
__attribute__((export_name("run"))) int run(int n) {
  if (n > MAX) n = MAX;
  unsigned seed = 12345;
  for (int i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; v[i] = (int)(seed >> 8); }
  sort(v, 0, n - 1);
  int check = 0;
  for (int i = 1; i < n; i++) check += v[i - 1] <= v[i];
  return check + v[n / 2];
}
