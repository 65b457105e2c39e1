/*
 * fault.c: an LD_PRELOAD library for tests/tests/fault_injection.rs. It
 * counts the calls that write to files under one directory and makes one
 * of them fail, as a full or failing disk would.
 *
 *   DUMP2PY_FAULT_DIR=/abs/dir  only files under this directory count
 *   DUMP2PY_FAULT_AT=N          the Nth counted call fails (1-based);
 *                               unset or 0: none fails
 *   DUMP2PY_FAULT_LOG=/file     appends "N call path" for each counted call
 *   DUMP2PY_FAULT_KILL=1        the Nth call kills the process (SIGKILL)
 *                               instead of failing, as `kill -9` or a
 *                               power loss would stop it there
 *
 * Counted: write, writev, pwrite, pwritev, ftruncate, fsync, fdatasync
 * (by the fd's path), open/openat with O_CREAT, mkdir, rename (either
 * path). Writes fail with ENOSPC, the others with EIO. Removing files is
 * never made to fail: cleaning up must work for the test to check it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long counted;

static const char *dir(void) {
    const char *d = getenv("DUMP2PY_FAULT_DIR");
    return d && *d ? d : NULL;
}

static int under(const char *path) {
    const char *d = dir();
    if (!d || !path) return 0;
    size_t n = strlen(d);
    return strncmp(path, d, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int fd_under(int fd) {
    if (fd <= 2 || !dir()) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = '\0';
    return under(path);
}

/* Counts a call; nonzero when this one is to fail. */
static int fault(const char *call, const char *path) {
    long n = __atomic_add_fetch(&counted, 1, __ATOMIC_SEQ_CST);
    const char *log = getenv("DUMP2PY_FAULT_LOG");
    if (log && *log) {
        static ssize_t (*real_write)(int, const void *, size_t);
        if (!real_write) real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
        int (*real_open)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
        int fd = real_open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char line[4200];
            int len = snprintf(line, sizeof line, "%ld %s %s\n", n, call, path ? path : "");
            if (len > 0) real_write(fd, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
            close(fd);
        }
    }
    const char *at = getenv("DUMP2PY_FAULT_AT");
    int hit = at && atol(at) == n;
    const char *kill_it = getenv("DUMP2PY_FAULT_KILL");
    if (hit && kill_it && *kill_it == '1') raise(SIGKILL);
    return hit;
}

static const char *fd_path(int fd, char *buf, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

#define REAL(name)                                                              \
    static __typeof__(&name) real_##name;                                       \
    if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)
#define FD_FAULT(call, fd, err)                                                 \
    if (fd_under(fd)) {                                                         \
        char buf[4096];                                                         \
        if (fault(call, fd_path(fd, buf, sizeof buf))) { errno = err; return -1; } \
    }

ssize_t write(int fd, const void *b, size_t n) {
    REAL(write);
    FD_FAULT("write", fd, ENOSPC);
    return real_write(fd, b, n);
}

ssize_t writev(int fd, const struct iovec *v, int n) {
    REAL(writev);
    FD_FAULT("writev", fd, ENOSPC);
    return real_writev(fd, v, n);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t o) {
    REAL(pwrite);
    FD_FAULT("pwrite", fd, ENOSPC);
    return real_pwrite(fd, b, n, o);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t o) {
    REAL(pwrite64);
    FD_FAULT("pwrite", fd, ENOSPC);
    return real_pwrite64(fd, b, n, o);
}

ssize_t pwritev(int fd, const struct iovec *v, int n, off_t o) {
    REAL(pwritev);
    FD_FAULT("pwritev", fd, ENOSPC);
    return real_pwritev(fd, v, n, o);
}

int ftruncate(int fd, off_t len) {
    REAL(ftruncate);
    FD_FAULT("ftruncate", fd, EIO);
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len) {
    REAL(ftruncate64);
    FD_FAULT("ftruncate", fd, EIO);
    return real_ftruncate64(fd, len);
}

int fsync(int fd) {
    REAL(fsync);
    FD_FAULT("fsync", fd, EIO);
    return real_fsync(fd);
}

int fdatasync(int fd) {
    REAL(fdatasync);
    FD_FAULT("fdatasync", fd, EIO);
    return real_fdatasync(fd);
}

/* open and openat with O_CREAT, under the directory. */
#define OPEN_BODY(name, call, ...)                                              \
    mode_t mode = 0;                                                            \
    if (flags & O_CREAT) {                                                      \
        va_list ap;                                                             \
        va_start(ap, flags);                                                    \
        mode = (mode_t)va_arg(ap, int);                                         \
        va_end(ap);                                                             \
        if (under(path) && fault(call, path)) { errno = ENOSPC; return -1; }    \
    }                                                                           \
    return real_##name(__VA_ARGS__, mode);

int open(const char *path, int flags, ...) {
    REAL(open);
    OPEN_BODY(open, "open", path, flags)
}

int open64(const char *path, int flags, ...) {
    REAL(open64);
    OPEN_BODY(open64, "open", path, flags)
}

int openat(int dirfd, const char *path, int flags, ...) {
    REAL(openat);
    OPEN_BODY(openat, "open", dirfd, path, flags)
}

int openat64(int dirfd, const char *path, int flags, ...) {
    REAL(openat64);
    OPEN_BODY(openat64, "open", dirfd, path, flags)
}

int mkdir(const char *path, mode_t mode) {
    REAL(mkdir);
    if (under(path) && fault("mkdir", path)) { errno = ENOSPC; return -1; }
    return real_mkdir(path, mode);
}

int rename(const char *from, const char *to) {
    REAL(rename);
    if ((under(from) || under(to)) && fault("rename", to)) { errno = EIO; return -1; }
    return real_rename(from, to);
}

int renameat(int fd1, const char *from, int fd2, const char *to) {
    REAL(renameat);
    if ((under(from) || under(to)) && fault("rename", to)) { errno = EIO; return -1; }
    return real_renameat(fd1, from, fd2, to);
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned flags) {
    REAL(renameat2);
    if ((under(from) || under(to)) && fault("rename", to)) { errno = EIO; return -1; }
    return real_renameat2(fd1, from, fd2, to, flags);
}
