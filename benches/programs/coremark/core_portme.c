/* ward benchmark port of CoreMark to wasm32-wasi (written for ward; not part of EEMBC's sources). */
#include <time.h>

#include "coremark.h"

ee_u32 default_num_contexts = 1;

static CORE_TICKS start_ns, stop_ns;

static CORE_TICKS now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (CORE_TICKS)ts.tv_sec * 1000000000u + (CORE_TICKS)ts.tv_nsec;
}

void start_time(void) { start_ns = now_ns(); }

void stop_time(void) { stop_ns = now_ns(); }

CORE_TICKS get_time(void) { return stop_ns - start_ns; }

secs_ret time_in_secs(CORE_TICKS ticks) { return (secs_ret)ticks / 1e9; }

void portable_init(core_portable *p, int *argc, char *argv[]) {
    (void)argc;
    (void)argv;
    if (sizeof(ee_ptr_int) != sizeof(ee_u8 *)) {
        ee_printf("ERROR! ee_ptr_int does not hold a pointer\n");
    }
    p->portable_id = 1;
}

void portable_fini(core_portable *p) { p->portable_id = 0; }
