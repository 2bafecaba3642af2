/* The RFC 4180 CSV reader (quoting, line ends, encoding, where errors point) and writer (what it
 * writes reads back field for field, here and in Python's csv module). */
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/utf8.h"
#include "testhelp.h"

/* Parses a string literal (sizeof - 1 keeps embedded NULs); NULL on error. */
#define PARSE(lit) parse_n(lit, sizeof(lit) - 1)

static struct mer_csv *parse_n(const char *buf, size_t len)
{
    struct mer_csv *csv = NULL;
    if (mer_csv_parse(&csv, "t.csv", buf, len) < 0)
        return NULL;
    return csv;
}

/* The error of parsing a literal that must fail. */
#define PARSE_ERROR(lit) parse_error(lit, sizeof(lit) - 1)

static const char *parse_error(const char *buf, size_t len)
{
    struct mer_csv *csv = NULL;
    mer_error_clear();
    if (mer_csv_parse(&csv, "t.csv", buf, len) == 0) {
        mer_csv_free(csv);
        return "(parsed)";
    }
    return mer_errmsg();
}

static const char *field(const struct mer_csv *csv, size_t r, size_t f)
{
    if (!csv || r >= csv->n_rows || f >= csv->rows[r].n_fields)
        return NULL;
    return csv->rows[r].fields[f];
}

static void simple(void)
{
    TEST("a header and rows; columns found by name")
    {
        struct mer_csv *csv = PARSE("name, label ,valence\nx,happy,1.5\ny,sad,-2\n");
        CHECK(csv != NULL);
        CHECK_EQ_INT(csv->n_rows, 3);
        CHECK_EQ_INT(mer_csv_column(csv, "name"), 0);
        CHECK_EQ_INT(mer_csv_column(csv, "label"), 1); /* spaces around header names trimmed */
        CHECK_EQ_INT(mer_csv_column(csv, "valence"), 2);
        CHECK_EQ_INT(mer_csv_column(csv, "split"), -1);
        CHECK_EQ_INT(mer_csv_column(csv, "nam"), -1);
        CHECK_EQ_STR(field(csv, 2, 1), "sad");
        CHECK_EQ_INT(csv->rows[2].line, 3);
        CHECK_EQ_STR(csv->path, "t.csv");
        mer_csv_free(csv);
    }
    TEST("empty input: no rows, no columns")
    {
        struct mer_csv *csv = parse_n("", 0);
        CHECK(csv != NULL);
        CHECK_EQ_INT(csv->n_rows, 0);
        CHECK_EQ_INT(mer_csv_column(csv, "name"), -1);
        mer_csv_free(csv);
        mer_csv_free(NULL);
    }
    TEST("empty fields, a trailing comma, a final line without a newline")
    {
        struct mer_csv *csv = PARSE("a,,c\n,\nx,y,");
        CHECK(csv != NULL);
        CHECK_EQ_INT(csv->n_rows, 3);
        CHECK_EQ_INT(csv->rows[0].n_fields, 3);
        CHECK_EQ_STR(field(csv, 0, 1), "");
        CHECK_EQ_INT(csv->rows[1].n_fields, 2);
        CHECK_EQ_STR(field(csv, 1, 0), "");
        CHECK_EQ_STR(field(csv, 1, 1), "");
        CHECK_EQ_INT(csv->rows[2].n_fields, 3);
        CHECK_EQ_STR(field(csv, 2, 2), "");
        mer_csv_free(csv);
    }
    TEST("ragged rows are kept as they are (callers check widths)")
    {
        struct mer_csv *csv = PARSE("a,b,c\n1\n1,2,3,4\n");
        CHECK(csv != NULL);
        CHECK_EQ_INT(csv->rows[1].n_fields, 1);
        CHECK_EQ_INT(csv->rows[2].n_fields, 4);
        CHECK_EQ_STR(field(csv, 2, 3), "4");
        mer_csv_free(csv);
    }
    TEST("blank lines are skipped; line numbers still count them")
    {
        struct mer_csv *csv = PARSE("a\n\n\nb\r\n\r\nc");
        CHECK(csv != NULL);
        CHECK_EQ_INT(csv->n_rows, 3);
        CHECK_EQ_INT(csv->rows[1].line, 4);
        CHECK_EQ_INT(csv->rows[2].line, 6);
        CHECK_EQ_STR(field(csv, 2, 0), "c");
        mer_csv_free(csv);
    }
}

static void quoting(void)
{
    TEST("quoted fields: \"\" escapes, commas and newlines inside")
    {
        struct mer_csv *csv = PARSE("name,text\n"
                                    "a,\"Sample 1, a line\"\n"
                                    "b,\"she said \"\"hi\"\"\"\n"
                                    "c,\"two\nlines\"\n"
                                    "d,\"\"\n"
                                    "\"e\",\"\"\"\"\n");
        CHECK(csv != NULL);
        CHECK_EQ_INT(csv->n_rows, 6);
        CHECK_EQ_STR(field(csv, 1, 1), "Sample 1, a line");
        CHECK_EQ_STR(field(csv, 2, 1), "she said \"hi\"");
        CHECK_EQ_STR(field(csv, 3, 1), "two\nlines");
        CHECK_EQ_INT(csv->rows[3].line, 4);
        CHECK_EQ_INT(csv->rows[4].line, 6); /* the record after a two-line field */
        CHECK_EQ_STR(field(csv, 4, 1), "");
        CHECK_EQ_STR(field(csv, 5, 0), "e");
        CHECK_EQ_STR(field(csv, 5, 1), "\"");
        mer_csv_free(csv);
    }
    TEST("a quoted field keeps its CRLF; the record after it has the right line")
    {
        struct mer_csv *csv = PARSE("\"x\r\ny\",1\r\nz,2");
        CHECK(csv != NULL);
        CHECK_EQ_STR(field(csv, 0, 0), "x\r\ny");
        CHECK_EQ_INT(csv->rows[1].line, 3);
        mer_csv_free(csv);
    }
    TEST("a quoted last field at the end of input")
    {
        struct mer_csv *csv = PARSE("a,\"b\"");
        CHECK(csv != NULL);
        CHECK_EQ_STR(field(csv, 0, 1), "b");
        mer_csv_free(csv);
    }
    TEST("unterminated quote: the error points at the opening quote")
    {
        CHECK_EQ_STR(PARSE_ERROR("a,b\n1,\"open\nmore\n"),
                     "'t.csv':2:3: unterminated quoted field (its quote opens here)");
        CHECK_EQ_STR(PARSE_ERROR("\""),
                     "'t.csv':1:1: unterminated quoted field (its quote opens here)");
    }
    TEST("a quote inside an unquoted field")
    {
        CHECK_EQ_STR(PARSE_ERROR("a,b\nx,ab\"c\n"), "'t.csv':2:5: quote inside an unquoted field "
                                                    "(quote the whole field and double the quote)");
        /* A space before the opening quote makes the field unquoted. */
        CHECK(strstr(PARSE_ERROR("a, \"b\"\n"), "'t.csv':1:4: quote inside") != NULL);
    }
    TEST("text after a closing quote")
    {
        CHECK_EQ_STR(PARSE_ERROR("x\n\"ab\"c,d\n"),
                     "'t.csv':2:5: unexpected character after the closing quote of a field");
    }
}

static void line_ends(void)
{
    TEST("CRLF, LF and lone CR line ends")
    {
        struct mer_csv *csv = PARSE("a,b\r\n1,2\n3,4\r5,6\r\n");
        CHECK(csv != NULL);
        CHECK_EQ_INT(csv->n_rows, 4);
        CHECK_EQ_STR(field(csv, 0, 1), "b"); /* no stray \r */
        CHECK_EQ_STR(field(csv, 2, 1), "4");
        CHECK_EQ_INT(csv->rows[3].line, 4);
        CHECK_EQ_STR(field(csv, 3, 1), "6");
        mer_csv_free(csv);
    }
    TEST("errors after CR line ends have the right line and column")
    {
        CHECK_EQ_STR(PARSE_ERROR("a\r\nb\rc,x\"\n"),
                     "'t.csv':3:4: quote inside an unquoted field "
                     "(quote the whole field and double the quote)");
    }
}

static void encoding(void)
{
    TEST("a UTF-8 BOM is skipped")
    {
        struct mer_csv *csv = PARSE("\xef\xbb\xbfname,label\nx,y\n");
        CHECK(csv != NULL);
        CHECK_EQ_INT(mer_csv_column(csv, "name"), 0);
        CHECK_EQ_STR(field(csv, 0, 0), "name");
        mer_csv_free(csv);
    }
    TEST("UTF-8 text of 2, 3 and 4 bytes per character")
    {
        struct mer_csv *csv =
            PARSE("name,chinese\nx,\xe6\xa0\xb7\xe6\x9c\xac caf\xc3\xa9 \xf0\x9f\x98\x80\n");
        CHECK(csv != NULL);
        CHECK_EQ_STR(field(csv, 1, 1), "\xe6\xa0\xb7\xe6\x9c\xac caf\xc3\xa9 \xf0\x9f\x98\x80");
        mer_csv_free(csv);
    }
    TEST("invalid UTF-8: file:line:column of the first bad byte")
    {
        CHECK_EQ_STR(PARSE_ERROR("a,b\nc,\xff\n"), "'t.csv':2:3: invalid UTF-8 (byte 0xff)");
        /* Latin-1 e-acute, as a Windows tool might write it. */
        CHECK_EQ_STR(PARSE_ERROR("name\ncaf\xe9,x\n"), "'t.csv':2:4: invalid UTF-8 (byte 0xe9)");
        /* Inside a quoted field on its second line. */
        CHECK_EQ_STR(PARSE_ERROR("\"a\nbc\x80\"\n"), "'t.csv':2:3: invalid UTF-8 (byte 0x80)");
        CHECK_EQ_STR(PARSE_ERROR("x,\xc0\xaf"), "'t.csv':1:3: invalid UTF-8 (byte 0xc0)");
        CHECK_EQ_STR(PARSE_ERROR("\xed\xa0\x80"), "'t.csv':1:1: invalid UTF-8 (byte 0xed)");
        CHECK_EQ_STR(PARSE_ERROR("ab\xe6\xa0"), "'t.csv':1:3: invalid UTF-8 (byte 0xe6)");
    }
    TEST("a NUL byte")
    {
        CHECK_EQ_STR(PARSE_ERROR("a,b\nc\0d\n"), "'t.csv':2:2: NUL byte in a text file");
    }
    TEST("mer_utf8_check")
    {
        CHECK_EQ_INT(mer_utf8_check("abc", 3), 3);
        CHECK_EQ_INT(mer_utf8_check("\xc3\xa9", 2), 2);
        CHECK_EQ_INT(mer_utf8_check("\xc3\xa9", 1), 0);                 /* cut short */
        CHECK_EQ_INT(mer_utf8_check("a\xc1\xbf", 3), 1);                /* overlong */
        CHECK_EQ_INT(mer_utf8_check("ab\xe0\x80\xaf", 5), 2);           /* overlong 3-byte */
        CHECK_EQ_INT(mer_utf8_check("\xf0\x8f\xbf\xbf", 4), 0);         /* overlong 4-byte */
        CHECK_EQ_INT(mer_utf8_check("\xf4\x90\x80\x80", 4), 0);         /* past U+10FFFF */
        CHECK_EQ_INT(mer_utf8_check("\xf4\x8f\xbf\xbf", 4), 4);         /* U+10FFFF */
        CHECK_EQ_INT(mer_utf8_check("\xef\xbf\xbf", 3), 3);             /* U+FFFF */
        CHECK_EQ_INT(mer_utf8_check("\xed\x9f\xbf\xed\xbf\xbf", 6), 3); /* U+D7FF, surrogate */
        CHECK_EQ_INT(mer_utf8_check("\xe6\x28\xa0", 3), 0);             /* bad continuation */
    }
    TEST("mer_text_position")
    {
        size_t line, col;
        mer_text_position("ab\ncd\r\nef\rg", 8, &line, &col);
        CHECK_EQ_INT(line, 3);
        CHECK_EQ_INT(col, 2);
        mer_text_position("ab\ncd\r\nef\rg", 10, &line, &col);
        CHECK_EQ_INT(line, 4);
        CHECK_EQ_INT(col, 1);
        mer_text_position("x", 0, &line, &col);
        CHECK_EQ_INT(line, 1);
        CHECK_EQ_INT(col, 1);
    }
}

static void files(void)
{
    TEST("mer_csv_read: a file, and a missing one")
    {
        char path[4200];
        struct mer_csv *csv = NULL;
        FILE *f;
        snprintf(path, sizeof(path), "%s/x.csv", test_tmpdir());
        f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            fputs("name,label\r\nx,\"a,b\"\r\n", f);
            fclose(f);
        }
        CHECK(mer_csv_read(&csv, path) == 0);
        CHECK_EQ_STR(field(csv, 1, 1), "a,b");
        CHECK_EQ_STR(csv ? csv->path : NULL, path);
        mer_csv_free(csv);
        csv = NULL;
        snprintf(path, sizeof(path), "%s/absent.csv", test_tmpdir());
        CHECK(mer_csv_read(&csv, path) == -1);
        CHECK(csv == NULL);
        CHECK(strstr(mer_errmsg(), "absent.csv': cannot open") != NULL);
    }
    TEST("many rows and fields (growth)")
    {
        size_t cap = 20000 * 16 + 5000 * 2 + 16, n = 0;
        char *buf = malloc(cap);
        struct mer_csv *csv = NULL;
        CHECK(buf != NULL);
        if (buf) {
            for (int i = 0; i < 5000; i++)
                buf[n++] = i ? ',' : 'h', buf[n] = 0;
            buf[n++] = '\n';
            for (int r = 0; r < 20000; r++)
                n += (size_t)snprintf(buf + n, cap - n, "s%07d,%d\n", r, r % 6);
            CHECK(mer_csv_parse(&csv, "big.csv", buf, n) == 0);
            CHECK_EQ_INT(csv ? csv->n_rows : 0, 20001);
            CHECK_EQ_INT(csv ? csv->rows[0].n_fields : 0, 5000);
            CHECK_EQ_STR(field(csv, 20000, 0), "s0019999");
            CHECK_EQ_INT(csv ? csv->rows[20000].line : 0, 20001);
            mer_csv_free(csv);
        }
        free(buf);
    }
}

/* Decodes a field of the oracle's listing ("-" or lowercase hex) into out. */
static void unhex(const char *hex, char *out, size_t size)
{
    size_t n = 0;
    if (strcmp(hex, "-"))
        for (; hex[0] && hex[1] && n + 1 < size; hex += 2) {
            unsigned byte = 0;
            sscanf(hex, "%2x", &byte);
            out[n++] = (char)byte;
        }
    out[n] = '\0';
}

/* One case: the CSV as mer reads it has the rows Python's csv module wrote. */
static void oracle_case(const char *dir, int i)
{
    char path[4300], line[65536], want[16384];
    struct mer_csv *csv = NULL;
    size_t r = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/case-%02d.csv", dir, i);
    CHECK(mer_csv_read(&csv, path) == 0);
    snprintf(path, sizeof(path), "%s/case-%02d.txt", dir, i);
    f = fopen(path, "r");
    CHECK(f != NULL);
    while (csv && f && fgets(line, sizeof(line), f)) {
        char *tok = strtok(line, " \n");
        size_t n = strtoul(tok ? tok : "0", NULL, 10);
        CHECK(r < csv->n_rows);
        if (r >= csv->n_rows)
            break;
        CHECK_EQ_INT(csv->rows[r].n_fields, n);
        for (size_t k = 0; k < n && k < csv->rows[r].n_fields; k++) {
            unhex(strtok(NULL, " \n"), want, sizeof(want));
            CHECK_EQ_STR(csv->rows[r].fields[k], want);
        }
        r++;
    }
    CHECK_EQ_INT(r, csv ? csv->n_rows : 0);
    if (f)
        fclose(f);
    mer_csv_free(csv);
}

static void oracle(void)
{
    TEST("files written by Python's csv module read back field for field")
    {
        char cmd[13000], dir[4200];
        int n = 0;
        FILE *f;
        snprintf(dir, sizeof(dir), "%s/oracle", test_tmpdir());
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && %s %s/tests/oracle/labels_csv.py '%s'", dir,
                 MER_TEST_PYTHON, MER_TEST_SOURCE_DIR, dir);
        CHECK(system(cmd) == 0);
        snprintf(cmd, sizeof(cmd), "%s/count", dir);
        f = fopen(cmd, "r");
        CHECK(f && fscanf(f, "%d", &n) == 1 && n > 0);
        if (f)
            fclose(f);
        for (int i = 0; i < n; i++)
            oracle_case(dir, i);
    }
}

/* Fields that need quoting, and some that do not. */
static const char *const tricky[] = {
    "plain",
    "a,b",
    "say \"hi\"",
    "two\nlines",
    "cr\r\nlf",
    "lone\rcr",
    "\xe4\xb8\xad\xe6\x96\x87,\xe5\x90\x8d",
    " lead",
    "trail ",
    "\ttab",
    "",
    "\"",
    ",",
    "x\"y",
    "\xc3\xa9t\xc3\xa9",
    "\"\"",
    "p_happy",
};
#define N_TRICKY (sizeof(tricky) / sizeof(tricky[0]))

/* What mer_csv_write_field writes for s. */
static char *written(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    mer_csv_write_field(f, s);
    fclose(f);
    return buf;
}

/* Writes the rows of the round-trip tests: each tricky field alone, then all of them in one
 * row, then pairs, into path. */
static void write_rows(FILE *f)
{
    const char *pair[2];
    for (size_t i = 0; i < N_TRICKY; i++)
        mer_csv_write_row(f, &tricky[i], 1);
    mer_csv_write_row(f, tricky, N_TRICKY);
    for (size_t i = 0; i < N_TRICKY; i++) {
        pair[0] = tricky[i];
        pair[1] = tricky[(i + 1) % N_TRICKY];
        mer_csv_write_row(f, pair, 2);
    }
}

/* The fields of row r of write_rows. */
static size_t row_fields(size_t r, const char **v)
{
    if (r < N_TRICKY) {
        v[0] = tricky[r];
        return 1;
    }
    if (r == N_TRICKY) {
        memcpy(v, tricky, sizeof(tricky));
        return N_TRICKY;
    }
    r -= N_TRICKY + 1;
    v[0] = tricky[r];
    v[1] = tricky[(r + 1) % N_TRICKY];
    return 2;
}

static void check_rows(const struct mer_csv *csv)
{
    const char *v[N_TRICKY];
    CHECK_EQ_INT(csv ? csv->n_rows : 0, 2 * N_TRICKY + 1);
    for (size_t r = 0; csv && r < csv->n_rows && r < 2 * N_TRICKY + 1; r++) {
        size_t n = row_fields(r, v);
        CHECK_EQ_INT(csv->rows[r].n_fields, n);
        for (size_t k = 0; k < n && k < csv->rows[r].n_fields; k++)
            CHECK_EQ_STR(csv->rows[r].fields[k], v[k]);
    }
}

static void writer(void)
{
    TEST("a field is quoted only when it must be; quotes are doubled")
    {
        static const char *const want[][2] = {
            {"plain", "plain"},
            {"a,b", "\"a,b\""},
            {"say \"hi\"", "\"say \"\"hi\"\"\""},
            {"two\nlines", "\"two\nlines\""},
            {"lone\rcr", "\"lone\rcr\""},
            {" lead", "\" lead\""},
            {"trail ", "\"trail \""},
            {"\ttab", "\"\ttab\""},
            {"", ""},
            {"in side", "in side"},
            {"\xc3\xa9", "\xc3\xa9"},
            {"p_happy", "p_happy"},
        };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            char *got = written(want[i][0]);
            CHECK_EQ_STR(got, want[i][1]);
            free(got);
        }
    }
    TEST("rows: commas between fields, LF at the end; one empty field is \"\"")
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        const char *row[] = {"name", "a,b", ""}, *empty[] = {""};
        CHECK(f != NULL);
        if (f) {
            mer_csv_write_row(f, row, 3);
            mer_csv_write_row(f, empty, 1);
            CHECK(mer_csv_write_fieldf(f, "p_%s", "x,y") == 0);
            fclose(f);
        }
        CHECK_EQ_STR(buf, "name,\"a,b\",\n\"\"\n\"p_x,y\"");
        free(buf);
    }
    TEST("what the writer writes, the reader reads back field for field")
    {
        char *buf = NULL;
        size_t len = 0;
        struct mer_csv *csv = NULL;
        FILE *f = open_memstream(&buf, &len);
        CHECK(f != NULL);
        if (f) {
            write_rows(f);
            fclose(f);
        }
        CHECK(buf && mer_csv_parse(&csv, "w.csv", buf, len) == 0);
        check_rows(csv);
        mer_csv_free(csv);
        free(buf);
    }
    TEST("and so does Python's csv module")
    {
        char path[4200], cmd[13000];
        struct mer_csv *csv = NULL;
        FILE *f;
        snprintf(path, sizeof(path), "%s/written.csv", test_tmpdir());
        f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            write_rows(f);
            fclose(f);
        }
        /* Python rewrites what it read with its own writer (QUOTE_ALL, CRLF): a different
         * text with the same fields, which mer must read back as the rows written. */
        snprintf(cmd, sizeof(cmd),
                 "%s -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1],newline=\"\","
                 "encoding=\"utf-8\"))); csv.writer(open(sys.argv[1]+\".py\",\"w\",newline=\"\","
                 "encoding=\"utf-8\"),quoting=csv.QUOTE_ALL).writerows(r)' '%s'",
                 MER_TEST_PYTHON, path);
        CHECK(system(cmd) == 0);
        strcat(path, ".py");
        CHECK(mer_csv_read(&csv, path) == 0);
        check_rows(csv);
        mer_csv_free(csv);
    }
}

int main(void)
{
    simple();
    quoting();
    line_ends();
    encoding();
    files();
    oracle();
    writer();
    return test_report();
}
