/*
 * What the TorchScript backbones (audio: backbone.c, image: image_backbone.c) share: loading
 * the module onto a device, the file's checksum, the export script's extra file and shape
 * text for messages. Private to src/features.
 */
#ifndef MER_BACKBONE_IMPL_H
#define MER_BACKBONE_IMPL_H

#include "mer/torch.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* The extra file scripts/export-backbone.py stores in every module it writes. */
#define MER_BACKBONE_META "mer_backbone.json"

/* "xxh64:<16 hex>" of the file's bytes into out[32] (the model's identity in provenance). */
int mer_backbone_file_checksum(const char *path, char out[32]);

/* The module's mer_backbone.json parsed: *root a new JSON object (cJSON_Delete), or NULL when
 * the file has none. -1 naming the file when it is not a JSON object. */
int mer_backbone_read_meta(const char *path, cJSON **root);

/* Sets the intra-op threads (<= 0 leaves them), keeps freed forward memory in the heap (see
 * backbone.h), sets the device ("cpu", "cuda", "cuda:N"; NULL is cpu) and loads the module
 * there in eval mode. -1 naming the file or the device. New handle: mer_jit_free. */
int mer_backbone_load_module(mer_jit **out, const char *path, const char *device, int threads);

/* "[1, 49, 32]" into buf; returns buf. */
const char *mer_backbone_shape_str(const mer_tensor *t, char *buf, size_t size);

#endif
