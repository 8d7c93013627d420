/* clock_random: checks clocks and randomness from inside the guest and prints the wall clock for the
 * host to compare. Exits 1 on the first failed check, with the reason on stdout. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
    printf("realtime %lld\n", (long long)time(NULL));
    int64_t prev = ns(CLOCK_MONOTONIC);
    for (int i = 0; i < 1000; i++) {
        int64_t now = ns(CLOCK_MONOTONIC);
        if (now < prev) { printf("monotonic clock went backwards\n"); return 1; }
        prev = now;
    }
    printf("monotonic ok\n");
    struct timespec res;
    if (clock_getres(CLOCK_MONOTONIC, &res) != 0 || (res.tv_sec == 0 && res.tv_nsec == 0)) {
        printf("bad resolution\n");
        return 1;
    }
    int64_t before = ns(CLOCK_MONOTONIC);
    struct timespec nap = {0, 50 * 1000 * 1000};
    if (nanosleep(&nap, NULL) != 0) { printf("nanosleep failed\n"); return 1; }
    int64_t slept = ns(CLOCK_MONOTONIC) - before;
    if (slept < 50 * 1000 * 1000) { printf("slept only %lld ns\n", (long long)slept); return 1; }
    printf("sleep ok\n");
    unsigned char a[32], b[32], zero[32] = {0};
    if (getentropy(a, sizeof a) || getentropy(b, sizeof b)) { printf("getentropy failed\n"); return 1; }
    if (!memcmp(a, b, sizeof a) || !memcmp(a, zero, sizeof a)) { printf("random bytes repeat\n"); return 1; }
    printf("random ok\n");
    return 0;
}
