/*
 * fs.h: files that are never half-written.
 *
 * Every output of mer goes through an atomic writer: data goes to
 * "<path>.tmp.<pid>", is fsync'd, then renamed over <path>, and the directory
 * is fsync'd. A killed process leaves either the old file or the new one.
 *
 *     struct mer_atomic_file f;
 *     if (mer_atomic_open(&f, "out/x.json") < 0) return -1;
 *     fprintf(f.fp, "{}\n");
 *     return mer_atomic_commit(&f);   // or mer_atomic_abort(&f) on error
 */
#ifndef MER_FS_H
#define MER_FS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct mer_atomic_file {
    FILE *fp;
    char *path;     /* final path (owned) */
    char *tmp_path; /* temporary path (owned) */
};

/* Opens a temporary file beside path; returns 0 or -1 with the error set. */
int mer_atomic_open(struct mer_atomic_file *f, const char *path);
/* Flushes, fsyncs, renames over the final path; always releases f. */
int mer_atomic_commit(struct mer_atomic_file *f);
/* Removes the temporary file and releases f; accepts a never-opened (zeroed) f. */
void mer_atomic_abort(struct mer_atomic_file *f);

/* Writes a whole buffer atomically. */
int mer_write_file_atomic(const char *path, const void *data, size_t size);

struct cJSON;
/* Writes cJSON_Print's text of root atomically (no final newline, as every JSON file of mer
 * has been written); -1 with the error set, out of memory included. */
int mer_write_json_atomic(const char *path, const struct cJSON *root);
/* A JSON file whose top is an object, parsed (new: cJSON_Delete); NULL with the error naming the
 * file and, for malformed JSON, the line ('run/metrics.json':2: malformed JSON). */
struct cJSON *mer_read_json(const char *path);

/* Reads a whole regular file (mer_open_regular) into a new NUL-terminated buffer (free with
 * free()). */
int mer_read_file(const char *path, char **data, size_t *size);

/* Every input mer reads is opened here: a regular file, or a one-line error before anything
 * could block or read forever (a FIFO waits for a writer, /dev/zero never ends):
 *     'x' is a directory (expected a file)
 *     'x' is a FIFO, not a regular file (mer reads files, not streams)    (a device, a socket)
 *     'x': cannot open: No such file or directory
 * Opening never blocks. A new descriptor (O_CLOEXEC), or -1 with the error set. */
int mer_open_regular(const char *path);
/* The same as a stdio stream for reading; NULL with the error set. */
FILE *mer_fopen_regular(const char *path);
/* The same check on an open descriptor (one opened for appending, say): 0, or -1 as above. */
int mer_fd_check_regular(int fd, const char *path);

/* The bound of a text line mer reads (responses, embeddings): far above real data (a Gemini
 * answer line is tens of KB, an embedding of 4096 numbers about 60 KB), low enough that a
 * file without line ends cannot take all memory. */
#define MER_LINE_MAX ((size_t)64 << 20)

/* Reads the next line of f into *line (grown as needed up to max + 2 bytes, NUL-terminated;
 * free with free()): *len bytes, the '\n' included when there is one. 1 if a line was read, 0
 * at the end of the file, -1 with the error set when the line has more than max bytes before
 * its '\n' ("'<path>':<lineno>: line longer than <max> bytes") or reading fails. lineno is
 * the number of the line being read, for the message. */
int mer_read_line(FILE *f, const char *path, size_t lineno, size_t max, char **line, size_t *cap,
                  size_t *len);

/* One line of a text file, as mer_read_lines hands it to its callback. */
struct mer_text_line {
    char *text;    /* NUL-terminated, the '\n' included when there is one; writable, valid
                      until the callback returns */
    size_t len;    /* bytes of text */
    size_t body;   /* bytes before the line end (the trailing '\n' and '\r' bytes) */
    size_t lineno; /* 1-based */
    off_t offset;  /* where the line starts, counted from where f stood when the call began */
};
/* Called for every line: 0 to go on, -1 (with the error set) to stop. */
typedef int (*mer_line_fn)(void *ctx, const char *path, struct mer_text_line *line);
/* Reads the file path (a regular file: mer_fopen_regular) line by line (mer_read_line: lines
 * of at most max bytes), handing each line to fn. 0, or -1 with the error set (the open's,
 * fn's or mer_read_line's).
 *
 *     if (mer_read_lines(path, MER_LINE_MAX, one_line, &state) < 0) ...;
 */
int mer_read_lines(const char *path, size_t max, mer_line_fn fn, void *ctx);
/* The same from f's position to its end (path names it in messages); f stays open. */
int mer_read_stream_lines(FILE *f, const char *path, size_t max, mer_line_fn fn, void *ctx);

/* Creates a directory and its parents (mode 0777 & ~umask); ok if it exists. */
int mer_mkdir_p(const char *path);

/* 1 if path exists (any type), 0 otherwise. */
int mer_path_exists(const char *path);
/* The running binary's path (/proc/self/exe) into buf [size]: what mer starts again for its
 * workers and sweep members, and where it finds its torch plugin; -1 with the error set. */
int mer_self_exe(char *buf, size_t size);
/* 1 if path is a directory. */
int mer_is_dir(const char *path);

/* The one overwrite rule for every file mer writes: a new path is fine; an existing regular
 * file is refused unless force ("'<path>' exists (--force overwrites it)"); a directory or any
 * other non-regular file is always refused, naming what it is. 0 or -1 with the error set. */
int mer_output_check(const char *path, int force);

/* New string "a/b" (free with free()); NULL on out of memory. */
char *mer_path_join(const char *a, const char *b);

/* New string with printf formatting (free with free()); NULL on out of memory. */
char *mer_strfmt(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
