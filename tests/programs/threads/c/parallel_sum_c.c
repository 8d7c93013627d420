/* Sums 1..=4,000,000 in four POSIX threads, each over its own quarter, and prints the total. */
#include <stdio.h>
#include "pthreads.h"

static long long parts[4];

static void *work(void *arg) {
    long part = (long)arg;
    long long sum = 0;
    for (long long k = part * 1000000 + 1; k <= (part + 1) * 1000000; k++)
        sum += k;
    parts[part] = sum;
    return 0;
}

int main(void) {
    pthread_t threads[4];
    for (long i = 0; i < 4; i++)
        if (pthread_create(&threads[i], 0, work, (void *)i) != 0) {
            puts("pthread_create failed");
            return 1;
        }
    long long total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], 0);
        total += parts[i];
    }
    printf("sum %lld\n", total);
    return 0;
}
