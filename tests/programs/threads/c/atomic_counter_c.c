/* Eight POSIX threads each add 1 to a C11 atomic counter 10,000 times, and bump a plain counter
 * under a spin lock made of an atomic flag; prints both counts. */
#include <stdatomic.h>
#include <stdio.h>
#include "pthreads.h"

static atomic_int counter;
static atomic_flag lock = ATOMIC_FLAG_INIT;
static int locked_counter;

static void *work(void *arg) {
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        atomic_fetch_add(&counter, 1);
        while (atomic_flag_test_and_set(&lock))
            ;
        locked_counter++;
        atomic_flag_clear(&lock);
    }
    return 0;
}

int main(void) {
    pthread_t threads[8];
    for (int i = 0; i < 8; i++)
        if (pthread_create(&threads[i], 0, work, 0) != 0) {
            puts("pthread_create failed");
            return 1;
        }
    for (int i = 0; i < 8; i++)
        pthread_join(threads[i], 0);
    printf("atomic %d locked %d\n", atomic_load(&counter), locked_counter);
    return 0;
}
