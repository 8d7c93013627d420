/* exit_code: ends the way its argument says: a number N exits with N, "trap" traps, "return" returns
 * 0 from main, "abort" calls abort(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "return")) return 0;
    if (!strcmp(argv[1], "trap")) __builtin_trap();
    if (!strcmp(argv[1], "abort")) abort();
    printf("exiting with %s\n", argv[1]);
    exit(atoi(argv[1]));
}
