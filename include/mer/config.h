/*
 * config.h: run configuration: a JSON file plus --set overrides, checked against
 * one schema table in src/io/config.c (every key, its type, allowed values or
 * range, default and meaning). configs/README.md's key table is printed from the
 * same table by `mer config --doc`, and a test keeps the two equal.
 *
 *     const char *sets[] = {"train.lr=1e-4", "model.prior.mode=gate"};
 *     mer_config *cfg;
 *     if (mer_config_load(&cfg, "configs/mer2024.json", sets, 2) < 0) ...;  // mer_errmsg()
 *     long long epochs = mer_config_int(cfg, "train.epochs");
 *     if (mer_config_write(cfg, "runs/x/config.json") < 0) ...;
 *     mer_config_free(cfg);
 *
 * Resolution: the defaults, then the file (which may start from another with
 * "extends": "base.json", a path relative to the file), then each --set in order.
 * Path-valued keys (data.*'s stores, train.pretrain.pseudo_labels, the file of
 * prior.encoder=torchscript:<file>) are made absolute as they are set: a relative path
 * against the directory of the config file that sets it, a --set's against the working
 * directory. So a config means the same files from any directory, and the resolved config
 * (config.json of a run) names them absolutely.
 * The resolved config holds every key of the schema. Keys are dotted paths into
 * nested objects: {"train": {"lr": 1e-3}} sets train.lr; a file may also spell a
 * key flat ({"train.lr": 1e-3}).
 *
 * A --set value is read as JSON when the whole value is valid JSON (numbers,
 * true/false, arrays, "quoted strings") and as a plain string otherwise; a key of
 * type string or enum always takes the raw text unless it is a JSON string.
 *
 * Errors are one line naming the source and the key:
 *   'x.json':3:14: JSON syntax error at '}'
 *   'x.json': key 'loss.tauu': unknown key (did you mean 'loss.tau'?)
 *   'x.json': key 'train.lr': expected number, got string
 *   --set train.epochs=abc: expected integer, got string
 *   --set model.dropout=1.5: expected number in [0, 1), got 1.5
 * Asking a getter for a key outside the schema, or of another type, is a bug
 * (MER_BUG aborts naming the key).
 */
#ifndef MER_CONFIG_H
#define MER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mer_config mer_config;

/* Defaults, then the file at path (NULL: none), then each "a.b.c=value" of sets in
 * order. New config in *out (free with mer_config_free); -1 with the error set. */
int mer_config_load(mer_config **out, const char *path, const char *const *sets, size_t n_sets);
/* Defaults, then the JSON text buf[0..len) (name is used in errors and is the base of a
 * relative "extends"). New config in *out; -1 with the error set. */
int mer_config_parse(mer_config **out, const char *name, const char *buf, size_t len);
/* Applies one "a.b.c=value" override; on error cfg is unchanged. */
int mer_config_set(mer_config *cfg, const char *assignment);
void mer_config_free(mer_config *cfg);

/* Typed getters; the key must be in the schema with that type (else MER_BUG). */
int mer_config_bool(const mer_config *cfg, const char *key);
long long mer_config_int(const mer_config *cfg, const char *key);
/* A number or an integer key. */
double mer_config_number(const mer_config *cfg, const char *key);
/* A string or an enum key; borrowed, valid until the config changes or is freed. */
const char *mer_config_string(const mer_config *cfg, const char *key);
/* An enum key's value as its index in names[0..n-1], the name table its schema choices are
 * made from (xenum.h's MER_ALLOW): e.g. mer_config_enum(cfg, "loss.ce", mer_ce_kind_names,
 * MER_N_CE_KINDS). A value not in names is a bug (MER_BUG naming the key). */
int mer_config_enum(const mer_config *cfg, const char *key, const char *const *names, int n);
/* Items of a string-list or number-list key. */
size_t mer_config_list_size(const mer_config *cfg, const char *key);
/* Item i < mer_config_list_size of a string-list key; borrowed as above. */
const char *mer_config_list_item(const mer_config *cfg, const char *key, size_t i);
/* Item i < mer_config_list_size of a number-list key. */
double mer_config_list_number(const mer_config *cfg, const char *key, size_t i);

/* Where key's value came from, for a message about it: "'x.json': key 'k'" (the file that
 * set it), "--set k=v", or "key 'k'" (the default); written to buf, which is returned. */
const char *mer_config_where(const mer_config *cfg, const char *key, char *buf, size_t size);
/* 0 if the path-valued key is "" (or holds no path) or names something that can be read;
 * else -1 with "'x.json': key 'data.labels': '/abs/labels.safetensors': cannot open: No such
 * file or directory". */
int mer_config_check_path(const mer_config *cfg, const char *key);

/* 1 if key is in the schema. */
int mer_config_has_key(const char *key);

/* The resolved config as pretty JSON (no final newline): a new string (free with free()),
 * NULL on out of memory. */
char *mer_config_to_json(const mer_config *cfg);
/* Writes mer_config_to_json and a newline atomically to path. */
int mer_config_write(const mer_config *cfg, const char *path);
/* Keys whose values differ between a and b, comma-separated in schema order: a new
 * string ("" if none), NULL on out of memory. */
char *mer_config_diff(const mer_config *a, const mer_config *b);

/* The key table as markdown (configs/README.md's "Keys" section). */
void mer_config_print_doc(FILE *f);

#endif
