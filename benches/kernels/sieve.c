// Sieve of Eratosthenes over a byte array: tight loops of byte loads and stores.
#define MAX 1000000
static unsigned char composite[MAX];
__attribute__((export_name("run"))) int run(int n) {
  if (n > MAX) n = MAX;
  for (int i = 0; i < n; i++) composite[i] = 0;
  int count = 0;
  for (int i = 2; i < n; i++) {
    if (!composite[i]) {
      count++;
      for (int j = i + i; j < n; j += i) composite[j] = 1;
    }
  }
  return count;
}
