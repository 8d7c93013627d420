/* fsops: a tiny shell of file-system commands for testing a WASI runtime.
 *
 * Usage: fsops CMD ARGS... [CMD ARGS...]...
 * Each command prints one line; a failing command prints "CMD ARG: ENAME" and makes the exit status 1.
 * Commands: write P TEXT | append P TEXT | read P | stat P | lstat P | mkdir P | rmdir P | unlink P |
 *           rename A B | symlink TARGET LINK | readlink P | link A B | ls P | patch P OFFSET TEXT |
 *           truncate P N | excl P | utime P SECONDS | fdstat P
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int status = 0;

static const char *errname(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case EXDEV: return "EXDEV";
    case EBADF: return "EBADF";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case ENOSYS: return "ENOSYS";
    case ENOTSUP: return "ENOTSUP";
    case EFAULT: return "EFAULT";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

static void fail(const char *cmd, const char *arg) {
    printf("%s %s: %s\n", cmd, arg, errname(errno));
    status = 1;
}

static void put(const char *cmd, const char *path, const char *text, const char *mode) {
    FILE *f = fopen(path, mode);
    if (!f) return fail(cmd, path);
    size_t len = strlen(text);
    if (fwrite(text, 1, len, f) != len) { fclose(f); return fail(cmd, path); }
    if (fclose(f) != 0) return fail(cmd, path);
    printf("%s %s: ok\n", cmd, path);
}

static void get(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return fail("read", path);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    if (ferror(f)) { fclose(f); return fail("read", path); }
    buf[n] = 0;
    fclose(f);
    printf("read %s: %s\n", path, buf);
}

static const char *kind(mode_t m) {
    if (S_ISREG(m)) return "file";
    if (S_ISDIR(m)) return "dir";
    if (S_ISLNK(m)) return "link";
    return "other";
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) return fail("ls", path);
    char *names[256];
    int n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) && n < 256) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        names[n++] = strdup(e->d_name);
    }
    if (errno) { closedir(d); return fail("ls", path); }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("ls %s:", path);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

static void patch(const char *path, long offset, const char *text) {
    FILE *f = fopen(path, "r+");
    if (!f) return fail("patch", path);
    if (fseek(f, offset, SEEK_SET) != 0) { fclose(f); return fail("patch", path); }
    fwrite(text, 1, strlen(text), f);
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return fail("patch", path); }
    long end = ftell(f);
    if (fclose(f) != 0) return fail("patch", path);
    printf("patch %s: size %ld\n", path, end);
}

int main(int argc, char **argv) {
    int i = 1;
#define ARG (i < argc ? argv[i++] : (fprintf(stderr, "missing argument\n"), exit(2), ""))
    while (i < argc) {
        const char *cmd = argv[i++];
        if (!strcmp(cmd, "write")) { const char *p = ARG; put(cmd, p, ARG, "w"); }
        else if (!strcmp(cmd, "append")) { const char *p = ARG; put(cmd, p, ARG, "a"); }
        else if (!strcmp(cmd, "read")) get(ARG);
        else if (!strcmp(cmd, "stat") || !strcmp(cmd, "lstat")) {
            const char *p = ARG;
            struct stat st;
            int rc = cmd[0] == 's' ? stat(p, &st) : lstat(p, &st);
            if (rc != 0) fail(cmd, p);
            else printf("%s %s: %s size=%lld nlink=%llu\n", cmd, p, kind(st.st_mode), (long long)st.st_size, (unsigned long long)st.st_nlink);
        }
        else if (!strcmp(cmd, "mkdir")) { const char *p = ARG; if (mkdir(p, 0755)) fail(cmd, p); else printf("mkdir %s: ok\n", p); }
        else if (!strcmp(cmd, "rmdir")) { const char *p = ARG; if (rmdir(p)) fail(cmd, p); else printf("rmdir %s: ok\n", p); }
        else if (!strcmp(cmd, "unlink")) { const char *p = ARG; if (unlink(p)) fail(cmd, p); else printf("unlink %s: ok\n", p); }
        else if (!strcmp(cmd, "rename")) { const char *a = ARG, *b = ARG; if (rename(a, b)) fail(cmd, a); else printf("rename %s: ok\n", a); }
        else if (!strcmp(cmd, "symlink")) { const char *t = ARG, *l = ARG; if (symlink(t, l)) fail(cmd, l); else printf("symlink %s: ok\n", l); }
        else if (!strcmp(cmd, "link")) { const char *a = ARG, *b = ARG; if (link(a, b)) fail(cmd, b); else printf("link %s: ok\n", b); }
        else if (!strcmp(cmd, "readlink")) {
            const char *p = ARG;
            char buf[256];
            ssize_t n = readlink(p, buf, sizeof buf - 1);
            if (n < 0) fail(cmd, p); else { buf[n] = 0; printf("readlink %s: %s\n", p, buf); }
        }
        else if (!strcmp(cmd, "ls")) list(ARG);
        else if (!strcmp(cmd, "patch")) { const char *p = ARG; long off = atol(ARG); patch(p, off, ARG); }
        else if (!strcmp(cmd, "truncate")) { const char *p = ARG; if (truncate(p, atol(ARG))) fail(cmd, p); else printf("truncate %s: ok\n", p); }
        else if (!strcmp(cmd, "excl")) {
            const char *p = ARG;
            int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
            if (fd < 0) fail(cmd, p); else { close(fd); printf("excl %s: ok\n", p); }
        }
        else if (!strcmp(cmd, "utime")) {
            const char *p = ARG;
            struct timespec ts[2] = {{atol(ARG), 0}, {0, 0}};
            ts[1] = ts[0];
            if (utimensat(AT_FDCWD, p, ts, 0)) fail(cmd, p); else printf("utime %s: ok\n", p);
        }
        else { fprintf(stderr, "unknown command %s\n", cmd); return 2; }
    }
    return status;
}
