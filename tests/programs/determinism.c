/* determinism: prints everything a run could take from the host rather than from its inputs: the
 * wall clock, monotonic clock readings around a sleep, clock resolution, random bytes, a directory
 * listing (in the order the host gives it) with each entry's size and timestamps, and the
 * environment. Under `ward run --deterministic` two runs print the same bytes whatever the host's
 * time, environment or directory order. Usage: determinism [DIR] (default "."). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long ns(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return -1;
    return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    printf("time %lld\n", (long long)time(NULL));
    printf("realtime %lld\n", ns(CLOCK_REALTIME));
    long long start = ns(CLOCK_MONOTONIC);
    /* Some work between two readings. */
    volatile unsigned sum = 0;
    for (unsigned i = 0; i < 100000; i++) sum += i * i;
    printf("work took %lld ns (sum %u)\n", ns(CLOCK_MONOTONIC) - start, sum);
    struct timespec nap = {0, 20 * 1000 * 1000};
    long long before = ns(CLOCK_MONOTONIC);
    nanosleep(&nap, NULL);
    printf("slept %lld ns\n", ns(CLOCK_MONOTONIC) - before);
    struct timespec res;
    clock_getres(CLOCK_MONOTONIC, &res);
    printf("resolution %ld ns\n", res.tv_nsec);
    unsigned char bytes[16];
    if (getentropy(bytes, sizeof bytes) != 0) return 1;
    printf("random ");
    for (size_t i = 0; i < sizeof bytes; i++) printf("%02x", bytes[i]);
    printf("\nrand() %d %d\n", rand(), rand());
    DIR *d = opendir(dir);
    if (!d) {
        printf("cannot open %s\n", dir);
        return 1;
    }
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (stat(path, &st) != 0) {
            printf("entry %s (stat failed)\n", entry->d_name);
            continue;
        }
        printf("entry %s ino=%llu size=%lld mtime=%lld atime=%lld ctime=%lld nlink=%llu\n", entry->d_name,
               (unsigned long long)entry->d_ino, (long long)st.st_size,
               (long long)st.st_mtime, (long long)st.st_atime, (long long)st.st_ctime,
               (unsigned long long)st.st_nlink);
    }
    closedir(d);
    for (char **e = environ; *e; e++) printf("env %s\n", *e);
    return 0;
}
