// Open-addressing hash map (linear probing) with integer keys: inserts, then hits and misses.
#define CAP (1 << 17)
static unsigned keys[CAP];
static int vals[CAP];
static unsigned hash(unsigned k) { k ^= k >> 16; k *= 0x45d9f3bu; k ^= k >> 16; return k; }
static void put(unsigned k, int v) {
  unsigned i = hash(k) & (CAP - 1);
  while (keys[i] && keys[i] != k) i = (i + 1) & (CAP - 1);
  keys[i] = k; vals[i] = v;
}
static int get(unsigned k) {
  unsigned i = hash(k) & (CAP - 1);
  while (keys[i]) { if (keys[i] == k) return vals[i]; i = (i + 1) & (CAP - 1); }
  return -1;
}
__attribute__((export_name("run"))) int run(int n) {
  if (n > CAP / 2) n = CAP / 2;
  for (int i = 0; i < CAP; i++) keys[i] = 0;
  for (int i = 1; i <= n; i++) put((unsigned)i * 2654435761u | 1u, i);
  int sum = 0;
  for (int i = 1; i <= 2 * n; i++) sum += get((unsigned)i * 2654435761u | 1u);
  return sum;
}
