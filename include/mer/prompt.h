/*
 * prompt.h: Gemini GenerateContentRequest lines for `mer prompt`.
 *
 * A prompt template is a UTF-8 text file with placeholders {name}, {subtitle},
 * {subtitle_en}, {subtitle_zh} and {classes}. Any other {identifier} is an
 * error (a typo would otherwise reach the model unnoticed); "{{" writes a
 * literal "{"; every other brace is literal text, so JSON examples in a
 * template need no escaping.
 *
 *     mer_prompt_template *t;
 *     if (mer_prompt_template_open(&t, "en") < 0) ...;   // built in, or a file's path
 *     const char *values[MER_PROMPT_N_FIELDS] = {"sample_1", "你好", "hello", "你好", "a, b"};
 *     char *text = mer_prompt_template_fill(t, values);
 *     struct mer_prompt_request r = {"sample_1", text, "video/mp4", "clips/sample_1.mp4", NULL};
 *     mer_prompt_write_request(stdout, &r, &cfg);   // one JSON line
 *     free(text);
 *     mer_prompt_template_free(t);
 *
 * The request line (keys in this order, numbers in the shortest form that
 * reads back exactly):
 *   batch:    {"key":K,"request":{"contents":[...],"generationConfig":{...}}}
 *   requests: {"key":K,"model":"models/M","contents":[...],"generationConfig":{...}}
 * with contents = [{"role":"user","parts":[CLIP,{"text":PROMPT}]}] (the clip
 * first, as Google advises for a single video), CLIP = {"inline_data":
 * {"mime_type","data"}} (base64, streamed from the file) or {"file_data":
 * {"mime_type","file_uri"}}, absent for a text-only request; generationConfig =
 * {"temperature","responseMimeType":"application/json","responseSchema"}.
 */
#ifndef MER_PROMPT_H
#define MER_PROMPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum mer_prompt_field {
    MER_PROMPT_NAME,        /* {name}: the sample name */
    MER_PROMPT_SUBTITLE,    /* {subtitle}: the chosen subtitle column */
    MER_PROMPT_SUBTITLE_EN, /* {subtitle_en}: the "english" column */
    MER_PROMPT_SUBTITLE_ZH, /* {subtitle_zh}: the "chinese" column */
    MER_PROMPT_CLASSES,     /* {classes}: "worried, happy, ..." */
    MER_PROMPT_N_FIELDS,
};

/* The placeholder's name without braces ("subtitle_en"). */
const char *mer_prompt_field_name(enum mer_prompt_field f);

typedef struct mer_prompt_template mer_prompt_template;

/* Parses a template (name is used in errors). New template in *out, free with
 * mer_prompt_template_free; -1 with "'name':line: unknown placeholder '{x}' ..."
 * or an invalid-UTF-8 error naming line and column. */
int mer_prompt_template_parse(mer_prompt_template **out, const char *name, const char *text,
                              size_t len);
/* Reads and parses a file; as mer_prompt_template_parse. */
int mer_prompt_template_load(mer_prompt_template **out, const char *path);
/* "en" or "zh": the shipped templates (configs/prompts/, compiled in), for requests with a clip;
 * "en-text" or "zh-text": their text-only versions (no clip to watch); anything else: a file,
 * as mer_prompt_template_load. */
int mer_prompt_template_open(mer_prompt_template **out, const char *spec);
void mer_prompt_template_free(mer_prompt_template *t);

/* 1 if the template uses placeholder f. */
int mer_prompt_template_uses(const mer_prompt_template *t, enum mer_prompt_field f);

/* The filled text: new string (free with free()), NULL on out of memory. values[f] may be
 * NULL for a field the template does not use. */
char *mer_prompt_template_fill(const mer_prompt_template *t,
                               const char *const values[MER_PROMPT_N_FIELDS]);

/* The built-in response schema (Gemini's OpenAPI subset) for these classes, as compact JSON:
 * new string (free with free()), NULL on out of memory. */
char *mer_prompt_schema_new(const char *const *classes, int n_classes);
/* A schema from a JSON file (must be an object), re-printed compact: new string in *out, or
 * -1 with an error naming the file. */
int mer_prompt_schema_load(char **out, const char *path);

/* MIME type of a clip from its file extension (case-insensitive), or NULL if unknown. */
const char *mer_prompt_mime_type(const char *path);
/* Finds <dir>/<name>.<ext> for the clip extensions in lookup order (mp4, avi, mkv, webm, mov,
 * wav, then mpeg, mpg, flv, wmv, 3gp, mp3, flac, ogg, aac): 1 with a new path in *path, 0 if
 * none exists, -1 on out of memory. */
int mer_prompt_find_clip(char **path, const char *dir, const char *name);
/* Comma-separated extensions in lookup order (for messages); static. */
const char *mer_prompt_clip_extensions(void);

/* Bytes of the base64 text for n input bytes (with padding). */
uint64_t mer_prompt_base64_size(uint64_t n);
/* Writes the base64 of in's remaining bytes to out, reading in fixed chunks (no buffer grows
 * with the input); the number of input bytes in *n_in. -1 with an error naming name on a read
 * or write failure. */
int mer_prompt_base64_stream(FILE *out, FILE *in, const char *name, uint64_t *n_in);

enum mer_prompt_format {
    MER_PROMPT_FORMAT_BATCH,    /* {"key":K,"request":{...}} (Batch API input file) */
    MER_PROMPT_FORMAT_REQUESTS, /* {"key":K,"model":..,...request members...} */
};

/* How every request of a run looks; plain data. */
struct mer_prompt_config {
    enum mer_prompt_format format;
    const char *model;  /* "gemini-2.5-flash" (written as "models/<model>" in requests) */
    double temperature; /* 0.2 */
    const char *schema; /* compact JSON, inserted verbatim */
};

/* One request; borrowed strings. */
struct mer_prompt_request {
    const char *key;       /* sample name */
    const char *text;      /* filled prompt */
    const char *mime_type; /* clip's MIME type; NULL for a text-only request */
    const char *clip_path; /* inline_data from this file, or NULL */
    const char *file_uri;  /* file_data with this URI (when clip_path is NULL), or NULL */
};

/* Writes one request line (ending in '\n') to out. -1 with the error set on a read error of
 * the clip, a clip whose size changed while reading, or a write error. */
int mer_prompt_write_request(FILE *out, const struct mer_prompt_request *r,
                             const struct mer_prompt_config *c);

/* Writes s as a JSON string literal (quotes included; control characters, '"' and '\\'
 * escaped, UTF-8 kept). */
void mer_prompt_json_string(FILE *out, const char *s);
/* Writes a finite double in the shortest %.Ng form that reads back to the same value. */
void mer_prompt_json_number(FILE *out, double v);

#endif
