/* RFC 4180 CSV reader; see csv.h. */
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/fs.h"

#include <stdlib.h>
#include <string.h>

size_t mer_utf8_check(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
        unsigned cp;
        if (n == 9 || i + n >= len + (n == 0))
            return i;
        cp = n == 0 ? c : n == 1 ? c & 0x1f : n == 2 ? c & 0x0f : c & 0x07;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid too. */
        if ((n == 1 && cp < 0x80) || (n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return i;
        i += n + 1;
    }
    return len;
}

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

/* A growing byte buffer for the field being read. */
struct field {
    char *s;
    size_t n, cap;
};

static int field_put(struct field *f, char c)
{
    if (f->n + 1 >= f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        char *grown = realloc(f->s, cap);
        if (!grown)
            return mer_error("out of memory");
        f->s = grown;
        f->cap = cap;
    }
    f->s[f->n++] = c;
    return 0;
}

static int row_push(struct mer_csv_row *row, struct field *f)
{
    char **grown = realloc(row->fields, (row->n_fields + 1) * sizeof(*grown));
    char *copy = malloc(f->n + 1);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            row->fields = grown;
        return mer_error("out of memory");
    }
    memcpy(copy, f->s ? f->s : "", f->n);
    copy[f->n] = '\0';
    row->fields = grown;
    row->fields[row->n_fields++] = copy;
    f->n = 0;
    return 0;
}

static int table_push(struct mer_csv *csv, size_t line)
{
    struct mer_csv_row *grown = realloc(csv->rows, (csv->n_rows + 1) * sizeof(*grown));
    if (!grown)
        return mer_error("out of memory");
    csv->rows = grown;
    memset(&csv->rows[csv->n_rows], 0, sizeof(*grown));
    csv->rows[csv->n_rows++].line = line;
    return 0;
}

/* Column (1-based, in bytes) of position i on its line. */
static size_t column_of(const char *buf, size_t i)
{
    size_t c = 1;
    while (i > 0 && buf[i - 1] != '\n') {
        i--;
        c++;
    }
    return c;
}

static size_t line_of(const char *buf, size_t i)
{
    size_t line = 1;
    for (size_t k = 0; k < i; k++)
        line += buf[k] == '\n';
    return line;
}

/* Length of the line end at i ("\n", "\r\n" or "\r"), 0 if none. */
static size_t eol_at(const char *b, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    if (b[i] == '\n')
        return 1;
    if (b[i] == '\r')
        return i + 1 < len && b[i + 1] == '\n' ? 2 : 1;
    return 0;
}

struct parser {
    struct mer_csv *csv;
    const char *b;
    size_t len, i, line;
    struct field f;
};

/* A quoted field: from the opening quote to the closing one, "" standing for ". */
static int quoted_field(struct parser *p)
{
    size_t open_line = p->line, open_col = column_of(p->b, p->i);
    p->i++;
    for (;;) {
        if (p->i >= p->len)
            return mer_error("'%s':%zu:%zu: quoted field never closed", p->csv->path, open_line,
                             open_col);
        if (p->b[p->i] == '"') {
            if (p->i + 1 < p->len && p->b[p->i + 1] == '"') {
                p->i += 2;
                if (field_put(&p->f, '"') < 0)
                    return -1;
                continue;
            }
            p->i++;
            break;
        }
        p->line += p->b[p->i] == '\n';
        if (field_put(&p->f, p->b[p->i++]) < 0)
            return -1;
    }
    if (p->i < p->len && p->b[p->i] != ',' && !eol_at(p->b, p->len, p->i))
        return mer_error("'%s':%zu:%zu: unexpected character after a closing quote",
                         p->csv->path, p->line, column_of(p->b, p->i));
    return 0;
}

static int plain_field(struct parser *p)
{
    while (p->i < p->len && p->b[p->i] != ',' && !eol_at(p->b, p->len, p->i)) {
        if (p->b[p->i] == '"')
            return mer_error("'%s':%zu:%zu: quote inside an unquoted field", p->csv->path,
                             p->line, column_of(p->b, p->i));
        if (field_put(&p->f, p->b[p->i++]) < 0)
            return -1;
    }
    return 0;
}

/* One record from p->i to its line end; blank lines are skipped. */
static int record(struct parser *p)
{
    struct mer_csv_row *row;
    size_t eol = eol_at(p->b, p->len, p->i);
    if (eol) {
        p->i += eol;
        p->line++;
        return 0;
    }
    if (table_push(p->csv, p->line) < 0)
        return -1;
    row = &p->csv->rows[p->csv->n_rows - 1];
    for (;;) {
        int r = p->b[p->i] == '"' ? quoted_field(p) : plain_field(p);
        if (r < 0 || row_push(row, &p->f) < 0)
            return -1;
        if (p->i < p->len && p->b[p->i] == ',') {
            p->i++;
            if (p->i >= p->len || eol_at(p->b, p->len, p->i)) {
                if (row_push(row, &p->f) < 0) /* a trailing comma ends with an empty field */
                    return -1;
                break;
            }
            continue;
        }
        break;
    }
    eol = eol_at(p->b, p->len, p->i);
    p->i += eol;
    p->line += eol > 0;
    return 0;
}

static int parse_records(struct mer_csv *csv, const char *b, size_t len, size_t start)
{
    struct parser p = {csv, b, len, start, 1, {0}};
    int ret = 0;
    while (p.i < p.len && ret == 0)
        ret = record(&p);
    free(p.f.s);
    return ret;
}

int mer_csv_parse(struct mer_csv **out, const char *name, const char *buf, size_t len)
{
    struct mer_csv *csv = calloc(1, sizeof(*csv));
    size_t bad = mer_utf8_check(buf, len), start = 0;
    if (!csv || !(csv->path = strdup(name))) {
        free(csv);
        return mer_error("out of memory");
    }
    if (bad < len) {
        mer_error("'%s':%zu:%zu: invalid UTF-8 (byte 0x%02x)", name, line_of(buf, bad),
                  column_of(buf, bad), (unsigned char)buf[bad]);
        mer_csv_free(csv);
        return -1;
    }
    if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
        start = 3;
    if (memchr(buf, '\0', len)) {
        size_t z = (size_t)((const char *)memchr(buf, '\0', len) - buf);
        mer_error("'%s':%zu:%zu: NUL byte in a text file", name, line_of(buf, z),
                  column_of(buf, z));
        mer_csv_free(csv);
        return -1;
    }
    if (parse_records(csv, buf, len, start) < 0) {
        mer_csv_free(csv);
        return -1;
    }
    *out = csv;
    return 0;
}

int mer_csv_read(struct mer_csv **out, const char *path)
{
    char *buf;
    size_t len;
    int r;
    if (mer_read_file(path, &buf, &len) < 0)
        return -1;
    r = mer_csv_parse(out, path, buf, len);
    free(buf);
    return r;
}

int mer_csv_column(const struct mer_csv *csv, const char *name)
{
    if (!csv->n_rows)
        return -1;
    for (size_t i = 0; i < csv->rows[0].n_fields; i++) {
        const char *f = csv->rows[0].fields[i];
        size_t n = strlen(f);
        while (*f == ' ')
            f++, n--;
        while (n && f[n - 1] == ' ')
            n--;
        if (n == strlen(name) && !strncmp(f, name, n))
            return (int)i;
    }
    return -1;
}
