/* libFuzzer target: the CSV reader over arbitrary bytes. It must accept or refuse without
 * crashing, leaking or reading outside the buffer; what it accepts must be consistent, and
 * what it refuses must name the input and a line:column inside it. */
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Accepted tables: rows in line order, each with fields of valid UTF-8 no longer than the
 * input, and a header whose columns are found by name. */
static void check_table(const struct mer_csv *csv, size_t size)
{
    size_t total = 0, last_line = 0;
    for (size_t r = 0; r < csv->n_rows; r++) {
        const struct mer_csv_row *row = &csv->rows[r];
        if (row->n_fields < 1 || row->line <= last_line)
            abort();
        last_line = row->line;
        for (size_t f = 0; f < row->n_fields; f++) {
            size_t n = strlen(row->fields[f]);
            if (mer_utf8_check(row->fields[f], n) != n)
                abort();
            total += n;
        }
    }
    if (total > size)
        abort();
    if (csv->n_rows) {
        int c = mer_csv_column(csv, csv->rows[0].fields[0]);
        if (c != 0 && strchr(csv->rows[0].fields[0], ' ') == NULL)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mer_csv *csv = NULL;
    size_t line = 0, col = 0;
    if (mer_csv_parse(&csv, "fuzz.csv", (const char *)data, size) == 0) {
        check_table(csv, size);
        mer_csv_free(csv);
        return 0;
    }
    /* "'fuzz.csv':L:C: ..." with L:C a position in the input (or just past it). */
    if (csv || sscanf(mer_errmsg(), "'fuzz.csv':%zu:%zu: ", &line, &col) != 2 || line < 1 ||
        col < 1 || line > size + 1 || col > size + 1)
        abort();
    return 0;
}
