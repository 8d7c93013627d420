/* hello: prints its arguments and environment (sorted), for argument/environment tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    int n = 0;
    while (environ[n]) n++;
    qsort(environ, n, sizeof environ[0], cmp);
    for (int i = 0; i < n; i++) printf("env %s\n", environ[i]);
    return 0;
}
