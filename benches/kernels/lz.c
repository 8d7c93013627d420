// A small LZ77 compressor (hash of 4-byte prefixes, greedy matches) and its decompressor, round trip.
typedef unsigned char u8;
#define LEN 65536
static u8 input[LEN], packed[LEN * 2], output[LEN];
static int table[4096];
static unsigned read32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (unsigned)p[3] << 24; }
static int compress(const u8 *in, int n, u8 *out) {
  for (int i = 0; i < 4096; i++) table[i] = -1;
  int i = 0, o = 0, lit = 0;
  while (i + 4 <= n) {
    unsigned h = (read32(in + i) * 2654435761u) >> 20;
    int cand = table[h];
    table[h] = i;
    if (cand >= 0 && i - cand < 65535 && read32(in + cand) == read32(in + i)) {
      int len = 4;
      while (i + len < n && len < 255 && in[cand + len] == in[i + len]) len++;
      out[o++] = 0; out[o++] = (u8)len; out[o++] = (u8)(i - cand); out[o++] = (u8)((i - cand) >> 8);
      i += len;
    } else {
      out[o++] = in[i++] | 0; lit++;
      if (out[o - 1] == 0) out[o++] = 0xff;  // escaped literal zero
    }
  }
  while (i < n) { out[o++] = in[i]; if (in[i++] == 0) out[o++] = 0xff; }
  return o;
}
static int decompress(const u8 *in, int n, u8 *out) {
  int i = 0, o = 0;
  while (i < n) {
    u8 c = in[i++];
    if (c != 0) { out[o++] = c; continue; }
    if (in[i] == 0xff) { out[o++] = 0; i++; continue; }
    int len = in[i], dist = in[i + 1] | in[i + 2] << 8;
    i += 3;
    for (int k = 0; k < len; k++, o++) out[o] = out[o - dist];
  }
  return o;
}
__attribute__((export_name("run"))) int run(int n) {
  if (n > LEN) n = LEN;
  unsigned seed = 7;
  for (int i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    // Text-like data: a small alphabet with repeated phrases.
    input[i] = (seed >> 28) < 5 ? input[i > 40 ? i - 37 : 0] : (u8)('a' + ((seed >> 24) & 15));
  }
  int m = compress(input, n, packed);
  int d = decompress(packed, m, output);
  int ok = d == n;
  for (int i = 0; i < n; i++) ok &= input[i] == output[i];
  return ok ? m : -1;
}
