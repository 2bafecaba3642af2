/*
 * config.h: run configuration: JSON file + --set overrides, checked against one
 * schema table (every key, its type, default and meaning; configs/README.md is
 * generated from the same table by `mer config --doc`).
 *
 *     const char *sets[] = {"train.lr=1e-4", "model.prior.mode=gate"};
 *     mer_config *cfg;
 *     if (mer_config_load(&cfg, "configs/mer2024.json", sets, 2) < 0) ...;
 *     int epochs = mer_config_int(cfg, "train.epochs");
 *     mer_config_write(cfg, "runs/x/config.json");
 *     mer_config_free(cfg);
 *
 * Errors name the file and place: a JSON syntax error gives file:line:column,
 * an unknown key gives the dotted key (and the nearest known key as a hint),
 * a wrong type gives the key, the expected and the found type.
 * Asking a getter for a key outside the schema is a bug (MER_BUG).
 */
#ifndef MER_CONFIG_H
#define MER_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef struct mer_config mer_config;

/* Defaults, then the file (path may be NULL), then each "a.b.c=value" in order.
 * A value that parses as JSON is taken as JSON, anything else as a string. */
int mer_config_load(mer_config **out, const char *path, const char *const *sets, size_t n_sets);
void mer_config_free(mer_config *cfg);

int mer_config_bool(const mer_config *cfg, const char *key);
long long mer_config_int(const mer_config *cfg, const char *key);
double mer_config_number(const mer_config *cfg, const char *key);
/* Borrowed; valid until mer_config_free. */
const char *mer_config_string(const mer_config *cfg, const char *key);
/* Items of a string-list key; borrowed. */
size_t mer_config_list_size(const mer_config *cfg, const char *key);
const char *mer_config_list_item(const mer_config *cfg, const char *key, size_t i);

/* The resolved config as pretty JSON (new string, free with free()). */
char *mer_config_to_json(const mer_config *cfg);
/* Writes it atomically. */
int mer_config_write(const mer_config *cfg, const char *path);
/* Dotted keys whose values differ between a and b, comma-separated, in a new string
 * ("" if none); NULL on out of memory. */
char *mer_config_diff(const mer_config *a, const mer_config *b);

/* The key table as markdown (configs/README.md's reference section). */
void mer_config_print_doc(FILE *f);

#endif
