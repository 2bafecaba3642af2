#define _POSIX_C_SOURCE 200809L
#include "mer/fs.h"
#include "mer/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *mer_strfmt(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = malloc((size_t)n + 1)))
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *mer_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    if (la == 0 || b[0] == '/')
        return mer_strfmt("%s", b);
    return mer_strfmt("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

int mer_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int mer_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mer_output_check(const char *path, int force)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : mer_error("'%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return mer_error("'%s' is a directory (name a file to write)", path);
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return mer_error("'%s' exists and is not a regular file", path);
    if (!force)
        return mer_error("'%s' exists (--force overwrites it)", path);
    return 0;
}

int mer_mkdir_p(const char *path)
{
    char *buf = mer_strfmt("%s", path);
    int ret = -1;
    if (!buf)
        return mer_error("out of memory");
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
            mer_error("'%s': cannot create directory: %s", buf, strerror(errno));
            goto done;
        }
        *p = '/';
    }
    if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
        mer_error("'%s': cannot create directory: %s", buf, strerror(errno));
        goto done;
    }
    if (!mer_is_dir(buf)) {
        mer_error("'%s': exists and is not a directory", buf);
        goto done;
    }
    ret = 0;
done:
    free(buf);
    return ret;
}

int mer_read_file(const char *path, char **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, len = 0;
    if (!fp)
        return mer_error("'%s': cannot open: %s", path, strerror(errno));
    for (;;) {
        size_t got;
        if (cap - len < 65536) {
            char *grown = realloc(buf, cap ? cap * 2 : 65536 + 1);
            if (!grown) {
                free(buf);
                fclose(fp);
                return mer_error("'%s': out of memory", path);
            }
            buf = grown;
            cap = cap ? cap * 2 : 65536 + 1;
        }
        got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        free(buf);
        fclose(fp);
        return mer_error("'%s': read error", path);
    }
    fclose(fp);
    buf[len] = '\0';
    *data = buf;
    if (size)
        *size = len;
    return 0;
}

static void atomic_release(struct mer_atomic_file *f)
{
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    f->fp = NULL;
}

int mer_atomic_open(struct mer_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    f->path = mer_strfmt("%s", path);
    f->tmp_path = mer_strfmt("%s.tmp.%ld", path, (long)getpid());
    if (!f->path || !f->tmp_path) {
        atomic_release(f);
        return mer_error("out of memory");
    }
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        mer_error("'%s': cannot write: %s", path, strerror(errno));
        atomic_release(f);
        return -1;
    }
    return 0;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_parent_dir(const char *path)
{
    char *dir = mer_strfmt("%s", path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    int fd;
    if (!dir)
        return;
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    fd = open(slash ? dir : ".", O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int mer_atomic_commit(struct mer_atomic_file *f)
{
    int bad = fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0;
    int err = errno;
    bad |= fclose(f->fp) != 0;
    f->fp = NULL;
    if (bad) {
        mer_error("'%s': write failed: %s", f->path, strerror(err ? err : errno));
        unlink(f->tmp_path);
        atomic_release(f);
        return -1;
    }
    if (rename(f->tmp_path, f->path) < 0) {
        mer_error("'%s': cannot rename into place: %s", f->path, strerror(errno));
        unlink(f->tmp_path);
        atomic_release(f);
        return -1;
    }
    sync_parent_dir(f->path);
    atomic_release(f);
    return 0;
}

void mer_atomic_abort(struct mer_atomic_file *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    atomic_release(f);
}

int mer_write_file_atomic(const char *path, const void *data, size_t size)
{
    struct mer_atomic_file f;
    if (mer_atomic_open(&f, path) < 0)
        return -1;
    if (size && fwrite(data, 1, size, f.fp) != size) {
        mer_error("'%s': write failed: %s", path, strerror(errno));
        mer_atomic_abort(&f);
        return -1;
    }
    return mer_atomic_commit(&f);
}
