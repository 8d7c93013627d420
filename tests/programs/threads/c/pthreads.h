/* The few pthread declarations these programs need. Debian's wasi-libc is built without threads,
 * so it has no <pthread.h>; the programs link against the threads build of wasi-libc that Rust's
 * wasm32-wasip1-threads target ships (see ../build.sh), where pthread_t is a pointer. */
#ifndef WARD_TEST_PTHREADS_H
#define WARD_TEST_PTHREADS_H
typedef struct __pthread *pthread_t;
int pthread_create(pthread_t *thread, const void *attr, void *(*start)(void *), void *arg);
int pthread_join(pthread_t thread, void **result);
#endif
