/*
 * npy.h: reads NumPy .npy files (format versions 1, 2 and 3), as MERTools' feature
 * extractors write them: float16/32/64, either byte order, C or Fortran order.
 *
 *     float *x; int64_t rows, cols;
 *     if (mer_npy_read_matrix("feat/sample_1.npy", &x, &rows, &cols) < 0) ...;
 *     // x is [rows, cols] row-major float32: [D] and [1, D] give 1 x D, [T, D] gives T x D
 *     free(x);
 */
#ifndef MER_NPY_H
#define MER_NPY_H

#include <stddef.h>
#include <stdint.h>

#define MER_NPY_MAX_DIMS 8

struct mer_npy_header {
    char descr[16]; /* as written, e.g. "<f4" */
    char kind;      /* 'f' (float), 'i', 'u', 'b', ... as in descr */
    int item_size;  /* bytes per element */
    int big_endian; /* descr '>' */
    int fortran_order;
    int ndim;
    int64_t shape[MER_NPY_MAX_DIMS];
    int64_t numel;
    size_t data_offset; /* bytes before the data */
};

/*
 * Parses the header of an in-memory .npy and checks that the data fits in size. The header
 * is read as the strict subset of a Python dict literal that numpy writes: keys 'descr' (a
 * plain dtype string: byte order '<', '>', '|' or '=', kind, item size), 'fortran_order'
 * (True/False) and 'shape' (a tuple of sizes), each once. name is used in errors, which
 * are one line naming the file and, where there is one, the byte:
 *     'a.npy': byte 10: header is not a Python dict literal
 */
int mer_npy_parse(const char *name, const void *buf, size_t size, struct mer_npy_header *h);

/*
 * Decodes an in-memory float16/32/64 .npy (either byte order, C or Fortran order) into a
 * new row-major float32 matrix: [D] and [1, D] give 1 x D, [T, D] gives T x D, and leading
 * sizes of 1 are dropped from higher ranks ([1, T, D] is [T, D]). Empty arrays are refused.
 * *out is new (free with free()).
 */
int mer_npy_decode_matrix(const char *name, const void *buf, size_t size, float **out,
                          int64_t *rows, int64_t *cols);

/* Reads a file with mer_npy_decode_matrix; *out is new (free with free()). */
int mer_npy_read_matrix(const char *path, float **out, int64_t *rows, int64_t *cols);

#endif
