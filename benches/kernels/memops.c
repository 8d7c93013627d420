// memcpy/memset-heavy code: block moves of varying sizes (memory.copy/memory.fill with bulk memory).
#include <stddef.h>
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memset(void *d, int c, size_t n);
#define LEN (1 << 18)
static unsigned char a[LEN], b[LEN];
__attribute__((export_name("run"))) int run(int rounds) {
  unsigned sum = 0;
  for (int r = 0; r < rounds; r++) {
    memset(a, r & 0xff, LEN);
    for (int size = 16; size <= 4096; size *= 2)
      for (int off = 0; off + size <= LEN; off += 4 * size) memcpy(b + off, a + off + (r & 7), size);
    memcpy(a, b, LEN / 2);
    sum += a[r * 97 % LEN] + b[r * 31 % LEN];
  }
  return (int)sum;
}
