/* Inputs: only regular files are opened (a FIFO, a device or a directory is refused at once,
 * by what it is), and lines are read up to a bound, one by one to a callback. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"
#include "testhelp.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void regular_only(void)
{
    char *fifo = mer_path_join(test_tmpdir(), "fifo"), *dir = mer_path_join(test_tmpdir(), "d");
    char *data = NULL;
    mer_st_file *f = NULL;
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(mer_mkdir_p(dir) == 0);
    /* (each of these would block on the FIFO, with no writer, if it were opened plainly) */
    CHECK(mer_open_regular(fifo) == -1);
    CHECK(strstr(mer_errmsg(), "fifo' is a FIFO, not a regular file") != NULL);
    CHECK(mer_read_file(fifo, &data, NULL) == -1);
    CHECK(strstr(mer_errmsg(), "is a FIFO") != NULL);
    CHECK(mer_st_open(&f, fifo, 0) == -1);
    CHECK(strstr(mer_errmsg(), "is a FIFO") != NULL);
    CHECK(mer_fopen_regular(fifo) == NULL);
    CHECK(mer_read_file(dir, &data, NULL) == -1);
    CHECK(strstr(mer_errmsg(), "d' is a directory (expected a file)") != NULL);
    CHECK(mer_st_open(&f, dir, 0) == -1);
    CHECK(strstr(mer_errmsg(), "is a directory") != NULL);
    CHECK(mer_read_file("/dev/zero", &data, NULL) == -1);
    CHECK_EQ_STR(mer_errmsg(),
                 "'/dev/zero' is a device, not a regular file (mer reads files, not streams)");
    CHECK(mer_open_regular("/nonexistent/x") == -1);
    CHECK_EQ_STR(mer_errmsg(), "'/nonexistent/x': cannot open: No such file or directory");
    CHECK(data == NULL && f == NULL);
    unlink(fifo);
    free(fifo);
    free(dir);
}

static void bounded_lines(void)
{
    char *p = mer_path_join(test_tmpdir(), "lines.txt"), *line = NULL;
    const char text[] = "abcd\n\nef\0gh\nlast";
    size_t cap = 0, len = 0;
    FILE *f;
    CHECK(mer_write_file_atomic(p, text, sizeof(text) - 1) == 0);
    f = mer_fopen_regular(p);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mer_read_line(f, p, 1, 5, &line, &cap, &len) == 1);
    CHECK(len == 5 && !memcmp(line, "abcd\n", 6));
    CHECK(mer_read_line(f, p, 2, 5, &line, &cap, &len) == 1);
    CHECK(len == 1 && !strcmp(line, "\n"));
    CHECK(mer_read_line(f, p, 3, 5, &line, &cap, &len) == 1); /* a NUL counts, as with getline */
    CHECK(len == 6 && !memcmp(line, "ef\0gh\n", 6));
    CHECK(mer_read_line(f, p, 4, 5, &line, &cap, &len) == 1); /* no final line end */
    CHECK(len == 4 && !strcmp(line, "last"));
    CHECK(mer_read_line(f, p, 5, 5, &line, &cap, &len) == 0);
    CHECK(len == 0);
    rewind(f);
    free(line);
    line = NULL;
    cap = 0;
    CHECK(mer_read_line(f, p, 1, 3, &line, &cap, &len) == -1);
    CHECK(strstr(mer_errmsg(), "lines.txt':1: line longer than 3 bytes") != NULL);
    CHECK(cap <= 3 + 2); /* the bound holds memory too */
    fclose(f);
    free(line);
    free(p);
}

/* What mer_read_lines hands over, line by line: "a\r\n", "\n", "bc", then a stop at "stop". */
struct seen_lines {
    int n;
    char text[4][8];
    size_t len[4], body[4], lineno[4];
    long long offset[4];
};

static int note_line(void *ctx, const char *path, struct mer_text_line *l)
{
    struct seen_lines *s = ctx;
    (void)path;
    if (s->n == 4)
        return mer_error("too many lines");
    snprintf(s->text[s->n], sizeof(s->text[0]), "%s", l->text);
    s->len[s->n] = l->len;
    s->body[s->n] = l->body;
    s->lineno[s->n] = l->lineno;
    s->offset[s->n] = (long long)l->offset;
    s->n++;
    return strncmp(l->text, "stop", 4) ? 0 : mer_error("stopped at line %zu", l->lineno);
}

static void each_line(void)
{
    char *p = mer_path_join(test_tmpdir(), "each.txt"), *q = mer_path_join(test_tmpdir(), "x");
    struct seen_lines s = {0};
    CHECK(mer_write_file_atomic(p, "a\r\n\nbc", 6) == 0);
    CHECK(mer_read_lines(p, 16, note_line, &s) == 0);
    CHECK_EQ_INT(s.n, 3);
    CHECK_EQ_STR(s.text[0], "a\r\n");
    CHECK(s.len[0] == 3 && s.body[0] == 1 && s.lineno[0] == 1 && s.offset[0] == 0);
    CHECK(s.len[1] == 1 && s.body[1] == 0 && s.lineno[1] == 2 && s.offset[1] == 3);
    CHECK(s.len[2] == 2 && s.body[2] == 2 && s.lineno[2] == 3 && s.offset[2] == 4);
    memset(&s, 0, sizeof(s));
    CHECK(mer_write_file_atomic(p, "x\nstop\nnever\n", 13) == 0);
    CHECK(mer_read_lines(p, 16, note_line, &s) == -1); /* the callback's error, and no more */
    CHECK_EQ_STR(mer_errmsg(), "stopped at line 2");
    CHECK_EQ_INT(s.n, 2);
    CHECK(mer_read_lines(q, 16, note_line, &s) == -1); /* a file that is not there */
    CHECK(strstr(mer_errmsg(), "x'") != NULL);
    free(p);
    free(q);
}

int main(void)
{
    TEST("only regular files are opened") regular_only();
    TEST("lines are read up to a bound") bounded_lines();
    TEST("mer_read_lines hands over every line, its end, number and offset") each_line();
    return test_report();
}
