/*
 * csv.h: RFC 4180 CSV: quoted fields with "" escapes, commas and newlines inside
 * quotes, LF or CRLF line ends, UTF-8 (checked; a BOM is skipped), a final line
 * with or without a newline. Errors name file:line:column.
 *
 *     struct mer_csv *csv;
 *     if (mer_csv_read(&csv, "labels.csv") < 0) ...;
 *     int name = mer_csv_column(csv, "name");        // in the header row, or -1
 *     for (size_t r = 1; r < csv->n_rows; r++) use(csv->rows[r].fields[name]);
 *     mer_csv_free(csv);
 */
#ifndef MER_CSV_H
#define MER_CSV_H

#include <stddef.h>

struct mer_csv_row {
    size_t line;     /* 1-based line where the record starts */
    size_t n_fields;
    char **fields;   /* NUL-terminated, unquoted */
};

struct mer_csv {
    char *path;
    struct mer_csv_row *rows; /* rows[0] is the header when there is one */
    size_t n_rows;
};

/* Parses a buffer (name is used in errors); new table in *out, free with mer_csv_free. */
int mer_csv_parse(struct mer_csv **out, const char *name, const char *buf, size_t len);
int mer_csv_read(struct mer_csv **out, const char *path);
void mer_csv_free(struct mer_csv *csv);

/* Index of a column in the header row (exact, after trimming spaces), or -1. */
int mer_csv_column(const struct mer_csv *csv, const char *name);

/* Offset of the first invalid UTF-8 sequence in buf, or len if it is valid. */
size_t mer_utf8_check(const char *buf, size_t len);

#endif
