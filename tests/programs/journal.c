// A long-running program with state everywhere a snapshot must carry it: it reads input.txt line by
// line and appends to journal.txt (two files open across the whole run, beneath the preopen given as
// argv[1]), keeps a heap buffer and a running hash, prints progress to stdout, and ends with exit
// code 3 after printing the journal back. Used by the snapshot/resume tests (`ward run
// --snapshot-at-fuel`, `ward resume`): output cut at any fuel point and resumed must equal an
// uninterrupted run's.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t mix(uint32_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: journal DIR STEPS\n");
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/input.txt", argv[1]);
    FILE *in = fopen(path, "r");
    snprintf(path, sizeof path, "%s/journal.txt", argv[1]);
    FILE *journal = fopen(path, "a");
    if (!in || !journal) {
        perror("fopen");
        return 1;
    }
    int steps = atoi(argv[2]);
    size_t size = 1 << 16;
    unsigned char *buffer = malloc(size);
    for (size_t i = 0; i < size; i++) {
        buffer[i] = (unsigned char)(i * 31 + 7);
    }
    uint32_t hash = 2166136261u;
    char line[256];
    for (int step = 0; step < steps; step++) {
        // Work that takes fuel: stir the buffer and hash it.
        for (size_t i = 1; i < size; i++) {
            buffer[i] = (unsigned char)(buffer[i] + buffer[i - 1] * 3 + step);
        }
        hash = mix(hash, buffer, size);
        const char *word = "-";
        if (fgets(line, sizeof line, in)) {
            line[strcspn(line, "\n")] = 0;
            word = line;
        }
        printf("step %d: %08x %s\n", step, hash, word);
        fprintf(journal, "%d %08x %s\n", step, hash, word);
        fflush(journal);
    }
    fclose(journal);
    fclose(in);
    journal = fopen(path, "r");
    size_t total = 0;
    uint32_t file_hash = 2166136261u;
    while (fgets(line, sizeof line, journal)) {
        total += strlen(line);
        file_hash = mix(file_hash, (const unsigned char *)line, strlen(line));
    }
    fclose(journal);
    printf("journal: %zu bytes, hash %08x\n", total, file_hash);
    fprintf(stderr, "done after %d steps\n", steps);
    return 3;
}
