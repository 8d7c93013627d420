/* ward benchmark port of CoreMark to wasm32-wasi (written for ward; not part of EEMBC's sources).
 *
 * Seeds and the iteration count come from the command line (SEED_ARG):
 *     coremark.wasm 0 0 0x66 ITERATIONS
 * is CoreMark's "6k performance run" (its CRCs are checked against the known values).
 * Timing uses clock_gettime(CLOCK_MONOTONIC), i.e. WASI clock_time_get. */
#ifndef CORE_PORTME_H
#define CORE_PORTME_H

#include <stddef.h>
#include <stdint.h>

#define HAS_FLOAT 1
#define HAS_TIME_H 1
#define USE_CLOCK 0
#define HAS_STDIO 1
#define HAS_PRINTF 1

#ifndef COMPILER_VERSION
#define COMPILER_VERSION __VERSION__
#endif
#ifndef COMPILER_FLAGS
#define COMPILER_FLAGS "-O2 (wasm32-wasi)"
#endif
#define MEM_LOCATION "STATIC"

typedef int16_t ee_s16;
typedef uint16_t ee_u16;
typedef int32_t ee_s32;
typedef double ee_f32;
typedef uint8_t ee_u8;
typedef uint32_t ee_u32;
typedef uintptr_t ee_ptr_int;
typedef size_t ee_size_t;

/* core_list_join.c sizes a list item as 2 * POINTER_SPACE + 4 bytes; 8 keeps the 20-byte item
 * of the reference runs on 32-bit wasm, so the known CRCs apply. */
#define POINTER_SPACE 8

#define align_mem(x) (void *)(4 + (((ee_ptr_int)(x)-1) & ~3))

typedef uint64_t CORE_TICKS;

#define SEED_METHOD SEED_ARG
#define MEM_METHOD MEM_STATIC
#define MULTITHREAD 1
#define MAIN_HAS_NOARGC 0
#define MAIN_HAS_NORETURN 0

typedef struct CORE_PORTABLE_S {
    ee_u8 portable_id;
} core_portable;

extern ee_u32 default_num_contexts;

void portable_init(core_portable *p, int *argc, char *argv[]);
void portable_fini(core_portable *p);

#endif
