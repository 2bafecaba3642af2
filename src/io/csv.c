/* RFC 4180 CSV reader and writer; see csv.h. */
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/utf8.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void mer_csv_free(struct mer_csv *csv)
{
    if (!csv)
        return;
    for (size_t r = 0; r < csv->n_rows; r++) {
        for (size_t f = 0; f < csv->rows[r].n_fields; f++)
            free(csv->rows[r].fields[f]);
        free(csv->rows[r].fields);
    }
    free(csv->rows);
    free(csv->path);
    free(csv);
}

/* Makes room for item n of an array that grows by doubling (its capacity is the smallest
 * power of two above n - 1, so the public structs need no capacity field). Returns the array,
 * moved if it grew; NULL with the error set on out of memory (the old array stays valid). */
static void *grow(void *array, size_t n, size_t item)
{
    void *grown;
    size_t cap;
    if (n && (n & (n - 1)))
        return array; /* n is not a power of two: room is left */
    cap = n ? 2 * n : 1;
    if (cap > ((size_t)-1) / item || !(grown = realloc(array, cap * item))) {
        mer_error("out of memory");
        return NULL;
    }
    return grown;
}

/* The field being read: a growing byte buffer. */
struct field {
    char *s;
    size_t n, cap;
};

static int field_put(struct field *f, const char *bytes, size_t n)
{
    if (f->n + n + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 64;
        char *grown;
        while (cap < f->n + n + 1)
            cap *= 2;
        if (!(grown = realloc(f->s, cap)))
            return mer_error("out of memory");
        f->s = grown;
        f->cap = cap;
    }
    memcpy(f->s + f->n, bytes, n);
    f->n += n;
    return 0;
}

/* Appends the field read so far to row as a new string and empties it. */
static int row_push(struct mer_csv_row *row, struct field *f)
{
    char *copy = malloc(f->n + 1), **fields = grow(row->fields, row->n_fields, sizeof(*fields));
    if (fields)
        row->fields = fields;
    if (!copy || !fields) {
        free(copy);
        return mer_error("out of memory");
    }
    if (f->n)
        memcpy(copy, f->s, f->n);
    copy[f->n] = '\0';
    row->fields[row->n_fields++] = copy;
    f->n = 0;
    return 0;
}

struct parser {
    struct mer_csv *csv;
    const char *b;
    size_t len, i;
    size_t line, line_start; /* current line (1-based) and the offset where it starts */
    struct field f;
};

static size_t column(const struct parser *p, size_t i)
{
    return i - p->line_start + 1;
}

/* Moves past a line end at p->i (n bytes), counting the line; copies it into the field
 * when inside quotes. */
static int pass_eol(struct parser *p, size_t n, int keep)
{
    if (keep && field_put(&p->f, p->b + p->i, n) < 0)
        return -1;
    p->i += n;
    p->line++;
    p->line_start = p->i;
    return 0;
}

/* A quoted field, from its opening quote to the closing one; "" stands for ". */
static int quoted_field(struct parser *p)
{
    size_t open_line = p->line, open_col = column(p, p->i), eol;
    p->i++;
    for (;;) {
        if (p->i >= p->len)
            return mer_error("'%s':%zu:%zu: unterminated quoted field (its quote opens here)",
                             p->csv->path, open_line, open_col);
        if (p->b[p->i] == '"') {
            if (p->i + 1 < p->len && p->b[p->i + 1] == '"') {
                if (field_put(&p->f, "\"", 1) < 0)
                    return -1;
                p->i += 2;
                continue;
            }
            p->i++;
            break;
        }
        if ((eol = mer_text_eol(p->b, p->len, p->i))) {
            if (pass_eol(p, eol, 1) < 0)
                return -1;
            continue;
        }
        if (field_put(&p->f, p->b + p->i++, 1) < 0)
            return -1;
    }
    if (p->i < p->len && p->b[p->i] != ',' && !mer_text_eol(p->b, p->len, p->i))
        return mer_error("'%s':%zu:%zu: unexpected character after the closing quote of a field",
                         p->csv->path, p->line, column(p, p->i));
    return 0;
}

static int plain_field(struct parser *p)
{
    size_t start = p->i;
    while (p->i < p->len && p->b[p->i] != ',' && !mer_text_eol(p->b, p->len, p->i)) {
        if (p->b[p->i] == '"')
            return mer_error("'%s':%zu:%zu: quote inside an unquoted field (quote the whole "
                             "field and double the quote)",
                             p->csv->path, p->line, column(p, p->i));
        p->i++;
    }
    return field_put(&p->f, p->b + start, p->i - start);
}

/* One record from p->i through its line end; a blank line is skipped. */
static int record(struct parser *p)
{
    struct mer_csv *csv = p->csv;
    struct mer_csv_row *row;
    size_t eol = mer_text_eol(p->b, p->len, p->i);
    if (eol)
        return pass_eol(p, eol, 0);
    if (!(row = grow(csv->rows, csv->n_rows, sizeof(*row))))
        return -1;
    csv->rows = row;
    row = &csv->rows[csv->n_rows++];
    memset(row, 0, sizeof(*row));
    row->line = p->line;
    for (;;) {
        int r = p->i < p->len && p->b[p->i] == '"' ? quoted_field(p) : plain_field(p);
        if (r < 0 || row_push(row, &p->f) < 0)
            return -1;
        if (p->i >= p->len || p->b[p->i] != ',')
            break;
        p->i++; /* a comma: another field follows, empty if the line ends here */
    }
    eol = mer_text_eol(p->b, p->len, p->i);
    return eol ? pass_eol(p, eol, 0) : 0;
}

int mer_csv_parse(struct mer_csv **out, const char *name, const char *buf, size_t len)
{
    struct parser p = {0};
    int ret = -1;
    if (!(p.csv = calloc(1, sizeof(*p.csv))) || !(p.csv->path = strdup(name))) {
        mer_error("out of memory");
        goto done;
    }
    /* Encoding first, so that every later error can assume valid text. */
    if (mer_text_check(name, buf, len) < 0)
        goto done;
    p.b = buf;
    p.len = len;
    p.line = 1;
    if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
        p.i = 3; /* a BOM, as Excel writes "CSV UTF-8"; columns still count its bytes */
    while (p.i < p.len)
        if (record(&p) < 0)
            goto done;
    *out = p.csv;
    p.csv = NULL;
    ret = 0;
done:
    free(p.f.s);
    mer_csv_free(p.csv);
    return ret;
}

int mer_csv_read(struct mer_csv **out, const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    int ret = -1;
    if (mer_read_file(path, &buf, &len) < 0)
        goto done;
    ret = mer_csv_parse(out, path, buf, len);
done:
    free(buf);
    return ret;
}

int mer_csv_column(const struct mer_csv *csv, const char *name)
{
    size_t want = strlen(name);
    if (!csv->n_rows)
        return -1;
    for (size_t i = 0; i < csv->rows[0].n_fields; i++) {
        const char *f = csv->rows[0].fields[i];
        size_t n = strlen(f);
        while (*f == ' ')
            f++, n--;
        while (n && f[n - 1] == ' ')
            n--;
        if (n == want && !memcmp(f, name, n))
            return (int)i;
    }
    return -1;
}

/* Whether a field must be quoted to read back as it is. */
static int needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        return 1;
    return s[strcspn(s, ",\"\r\n")] != '\0';
}

int mer_csv_write_field(FILE *f, const char *s)
{
    if (!needs_quotes(s)) {
        fputs(s, f);
        return 0;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
    return 0;
}

int mer_csv_write_fieldf(FILE *f, const char *fmt, ...)
{
    char small[256], *s = small;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return mer_error("out of memory");
    if ((size_t)n >= sizeof(small)) {
        if (!(s = malloc((size_t)n + 1)))
            return mer_error("out of memory");
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    mer_csv_write_field(f, s);
    if (s != small)
        free(s);
    return 0;
}

int mer_csv_write_row(FILE *f, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        if (n == 1 && !*fields[i])
            fputs("\"\"", f);
        else
            mer_csv_write_field(f, fields[i]);
    }
    fputc('\n', f);
    return 0;
}
