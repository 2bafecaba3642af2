/*
 * importer.h: per-sample .npy folders (MERTools' layout, <dir>/<name>.npy) into a feature
 * store (store.h), through the one store builder (builder.h): its pooling of frame-level
 * inputs, sample selection, sharding, resume and skip reports.
 *
 *     struct mer_build_params p = mer_build_default_params();
 *     p.input = "features/chinese-hubert-large-FRA"; p.out = "audio.safetensors";
 *     struct mer_build_report r;
 *     if (mer_import_npy_dir(&p, &r) < 0) ...;
 *
 * A sample whose file cannot be read is reported (a warning) and skipped, unless p.strict.
 * With p.ids_file (or p.labels_csv), names listed but without a file ("missing") and files
 * not listed ("extra") are reported by name.
 */
#ifndef MER_IMPORTER_H
#define MER_IMPORTER_H

#include "mer/builder.h"

/* The pools `mer import` takes (mean, max, none). */
#define MER_IMPORT_POOLS ((1u << MER_POOL_MEAN) | (1u << MER_POOL_MAX) | (1u << MER_POOL_NONE))

int mer_import_parse_dtype(const char *s, enum mer_dtype *dt);
/* p->input is the .npy directory; r->skipped counts the unreadable files. */
int mer_import_npy_dir(const struct mer_build_params *p, struct mer_build_report *r);

#endif
