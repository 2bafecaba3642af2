/* Inputs: only regular files are opened (a FIFO, a device or a directory is refused at once,
 * by what it is), and lines are read up to a bound. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"
#include "testhelp.h"

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

int main(void)
{
    TEST("only regular files are opened") regular_only();
    TEST("lines are read up to a bound") bounded_lines();
    return test_report();
}
