#define _POSIX_C_SOURCE 200809L
#include "mer/fs.h"
#include "mer/error.h"

#include <cjson/cJSON.h>

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

int mer_self_exe(char *buf, size_t size)
{
    ssize_t len = size > 1 ? readlink("/proc/self/exe", buf, size - 1) : -1;
    if (len <= 0)
        return mer_error("cannot find the mer binary (/proc/self/exe)");
    buf[len] = '\0';
    return 0;
}

int mer_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

cJSON *mer_read_json(const char *path)
{
    char *text = NULL;
    size_t size, line = 1;
    const char *end = NULL;
    cJSON *root;
    if (mer_read_file(path, &text, &size) < 0)
        return NULL;
    root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        for (const char *c = text; end && c < end; c++)
            line += *c == '\n';
        mer_error("'%s':%zu: malformed JSON", path, line);
    } else if (!cJSON_IsObject(root)) {
        mer_error("'%s': expected a JSON object", path);
        cJSON_Delete(root);
        root = NULL;
    }
    free(text);
    return root;
}

int mer_write_json_atomic(const char *path, const struct cJSON *root)
{
    char *text = cJSON_Print(root);
    int ret = text ? mer_write_file_atomic(path, text, strlen(text)) : mer_error("out of memory");
    free(text);
    return ret;
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

/* What a non-regular file is, for "'p' is a FIFO, not a regular file". */
static const char *file_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

static int regular_check(const char *path, const struct stat *st)
{
    if (S_ISREG(st->st_mode))
        return 0;
    if (S_ISDIR(st->st_mode))
        return mer_error("'%s' is a directory (expected a file)", path);
    return mer_error("'%s' is %s, not a regular file (mer reads files, not streams)", path,
                     file_kind(st->st_mode));
}

int mer_fd_check_regular(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return mer_error("'%s': cannot stat: %s", path, strerror(errno));
    return regular_check(path, &st);
}

int mer_open_regular(const char *path)
{
    struct stat st;
    int fd, fl;
    /* stat first, so that a FIFO or device is not even opened; O_NONBLOCK in case it was
     * swapped in since (an open of a FIFO would wait for a writer), fstat to be sure. */
    if (stat(path, &st) < 0)
        return mer_error("'%s': cannot open: %s", path, strerror(errno));
    if (regular_check(path, &st) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return mer_error("'%s': cannot open: %s", path, strerror(errno));
    if (mer_fd_check_regular(fd, path) < 0) {
        close(fd);
        return -1;
    }
    if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        mer_error("'%s': cannot open: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

FILE *mer_fopen_regular(const char *path)
{
    int fd = mer_open_regular(path);
    FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (fd >= 0 && !fp) {
        mer_error("'%s': cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return fp;
}

int mer_read_line(FILE *f, const char *path, size_t lineno, size_t max, char **line, size_t *cap,
                  size_t *len)
{
    size_t n = 0;
    int c = 0;
    flockfile(f);
    while ((c = getc_unlocked(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t want = *cap ? *cap * 2 : 256;
            char *grown;
            if (want > max + 2)
                want = max + 2;
            if (!(grown = realloc(*line, want))) {
                funlockfile(f);
                return mer_error("'%s':%zu: out of memory", path, lineno);
            }
            *line = grown;
            *cap = want;
        }
        (*line)[n++] = (char)c;
        if (c == '\n')
            break;
        if (n > max) {
            funlockfile(f);
            return mer_error("'%s':%zu: line longer than %zu bytes", path, lineno, max);
        }
    }
    funlockfile(f);
    if (c == EOF && ferror(f))
        return mer_error("'%s':%zu: read error: %s", path, lineno, strerror(errno));
    if (*line)
        (*line)[n] = '\0';
    *len = n;
    return n > 0;
}

int mer_read_stream_lines(FILE *f, const char *path, size_t max, mer_line_fn fn, void *ctx)
{
    struct mer_text_line l = {0};
    size_t cap = 0, len = 0;
    int got = 0, ret = 0;
    while (ret == 0 && (got = mer_read_line(f, path, l.lineno + 1, max, &l.text, &cap, &len)) > 0) {
        l.len = l.body = len;
        while (l.body && (l.text[l.body - 1] == '\n' || l.text[l.body - 1] == '\r'))
            l.body--;
        l.lineno++;
        ret = fn(ctx, path, &l);
        l.offset += (off_t)len;
    }
    free(l.text);
    return ret < 0 || got < 0 ? -1 : 0;
}

int mer_read_lines(const char *path, size_t max, mer_line_fn fn, void *ctx)
{
    FILE *f = mer_fopen_regular(path);
    int ret = f ? mer_read_stream_lines(f, path, max, fn, ctx) : -1;
    if (f)
        fclose(f);
    return ret;
}

int mer_read_file(const char *path, char **data, size_t *size)
{
    FILE *fp = mer_fopen_regular(path);
    char *buf = NULL;
    size_t cap = 0, len = 0;
    if (!fp)
        return -1;
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
        mer_error("'%s': read error: %s", path, strerror(errno));
        free(buf);
        fclose(fp);
        return -1;
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
