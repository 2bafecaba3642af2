/* Prompt templates, the response schema and GenerateContentRequest lines (see mer/prompt.h). */
#include "mer/prompt.h"
#include "prompt_templates.h" /* generated: configs/prompts/{en,zh}.txt */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/utf8.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *const field_names[MER_PROMPT_N_FIELDS] = {"name", "subtitle", "subtitle_en",
                                                             "subtitle_zh", "classes"};

const char *mer_prompt_field_name(enum mer_prompt_field f)
{
    return f >= 0 && f < MER_PROMPT_N_FIELDS ? field_names[f] : "?";
}

/* ---- templates ---- */

/* A template is a list of pieces: literal text (field < 0) or a placeholder. */
struct piece {
    int field;
    char *text; /* literal, owned; NULL for a placeholder */
    size_t len;
};

struct mer_prompt_template {
    struct piece *pieces;
    size_t n, cap;
    unsigned uses; /* bit f set if placeholder f occurs */
};

void mer_prompt_template_free(mer_prompt_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->pieces[i].text);
    free(t->pieces);
    free(t);
}

static int add_piece(mer_prompt_template *t, int field, const char *text, size_t len)
{
    struct piece *p;
    if (field < 0 && len == 0)
        return 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        struct piece *grown = realloc(t->pieces, cap * sizeof(*grown));
        if (!grown)
            return mer_error("out of memory");
        t->pieces = grown;
        t->cap = cap;
    }
    p = &t->pieces[t->n];
    p->field = field;
    p->text = NULL;
    p->len = len;
    if (field < 0) {
        if (!(p->text = malloc(len + 1)))
            return mer_error("out of memory");
        memcpy(p->text, text, len);
        p->text[len] = '\0';
    } else {
        t->uses |= 1u << field;
    }
    t->n++;
    return 0;
}

/* Length of a placeholder identifier at s ([A-Za-z_][A-Za-z0-9_]*), 0 if none. */
static size_t ident_len(const char *s, const char *end)
{
    size_t n = 0;
    if (s >= end || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    while (s + n < end && (isalnum((unsigned char)s[n]) || s[n] == '_'))
        n++;
    return n;
}

static int field_of(const char *s, size_t n)
{
    for (int f = 0; f < MER_PROMPT_N_FIELDS; f++)
        if (strlen(field_names[f]) == n && !memcmp(field_names[f], s, n))
            return f;
    return -1;
}

/* Handles the brace at p: a placeholder, "{{", or a literal brace. Returns the bytes consumed
 * (the caller has flushed the literal text before p), or -1 with the error set. */
static long parse_brace(mer_prompt_template *t, const char *name, const char *text, const char *p,
                        const char *end)
{
    size_t n = ident_len(p + 1, end), line, col;
    int f;
    if (p + 1 < end && p[1] == '{')
        return add_piece(t, -1, "{", 1) < 0 ? -1 : 2;
    if (!n || p + 1 + n >= end || p[1 + n] != '}')
        return add_piece(t, -1, "{", 1) < 0 ? -1 : 1;
    if ((f = field_of(p + 1, n)) < 0) {
        mer_text_position(text, (size_t)(p - text), &line, &col);
        return mer_error("'%s':%zu: unknown placeholder '{%.*s}' (known: {name}, {subtitle}, "
                         "{subtitle_en}, {subtitle_zh}, {classes}; write '{{' for a literal '{')",
                         name, line, (int)n, p + 1);
    }
    return add_piece(t, f, NULL, 0) < 0 ? -1 : (long)(n + 2);
}

int mer_prompt_template_parse(mer_prompt_template **out, const char *name, const char *text,
                              size_t len)
{
    mer_prompt_template *t = calloc(1, sizeof(*t));
    const char *p = text, *lit = text, *end = text + len;
    *out = NULL;
    if (!t)
        return mer_error("out of memory");
    if (mer_text_check(name, text, len) < 0)
        goto fail;
    while (p < end) {
        long used;
        if (*p != '{') {
            p++;
            continue;
        }
        if (add_piece(t, -1, lit, (size_t)(p - lit)) < 0 ||
            (used = parse_brace(t, name, text, p, end)) < 0)
            goto fail;
        p += used;
        lit = p;
    }
    if (add_piece(t, -1, lit, (size_t)(p - lit)) < 0)
        goto fail;
    if (!t->uses && t->n == 0) {
        mer_error("'%s': empty template", name);
        goto fail;
    }
    *out = t;
    return 0;
fail:
    mer_prompt_template_free(t);
    return -1;
}

int mer_prompt_template_load(mer_prompt_template **out, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int ret;
    *out = NULL;
    if (mer_read_file(path, &text, &len) < 0)
        return -1;
    ret = mer_prompt_template_parse(out, path, text, len);
    free(text);
    return ret;
}

int mer_prompt_template_open(mer_prompt_template **out, const char *spec)
{
    static const struct {
        const char *name;
        const unsigned char *text;
        size_t len;
    } builtin[] = {
        {"en", template_en, sizeof(template_en) - 1},
        {"zh", template_zh, sizeof(template_zh) - 1},
        {"en-text", template_en_text, sizeof(template_en_text) - 1},
        {"zh-text", template_zh_text, sizeof(template_zh_text) - 1},
    };
    for (size_t i = 0; i < MER_ARRAY_SIZE(builtin); i++)
        if (!strcmp(spec, builtin[i].name)) {
            char name[64];
            snprintf(name, sizeof(name), "built-in template %s", spec);
            return mer_prompt_template_parse(out, name, (const char *)builtin[i].text,
                                             builtin[i].len);
        }
    return mer_prompt_template_load(out, spec);
}

int mer_prompt_template_uses(const mer_prompt_template *t, enum mer_prompt_field f)
{
    return f >= 0 && f < MER_PROMPT_N_FIELDS && (t->uses >> f) & 1u;
}

char *mer_prompt_template_fill(const mer_prompt_template *t,
                               const char *const values[MER_PROMPT_N_FIELDS])
{
    size_t len = 0, at = 0;
    char *s;
    for (size_t i = 0; i < t->n; i++) {
        const struct piece *p = &t->pieces[i];
        len += p->field < 0 ? p->len : strlen(values[p->field] ? values[p->field] : "");
    }
    if (!(s = malloc(len + 1)))
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        const struct piece *p = &t->pieces[i];
        const char *v = p->field < 0 ? p->text : values[p->field] ? values[p->field] : "";
        size_t n = p->field < 0 ? p->len : strlen(v);
        memcpy(s + at, v, n);
        at += n;
    }
    s[at] = '\0';
    return s;
}

/* ---- the response schema ---- */

static cJSON *typed(const char *type, const char *description)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "type", type) ||
              (description && !cJSON_AddStringToObject(o, "description", description)))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Adds "required" and "propertyOrdering" (Gemini keeps properties in this order) lists. */
static int add_order(cJSON *o, const char *const *keys, int n)
{
    cJSON *req = cJSON_CreateStringArray(keys, n), *ord = cJSON_CreateStringArray(keys, n);
    if (!req || !ord || !cJSON_AddItemToObject(o, "required", req)) {
        cJSON_Delete(req);
        cJSON_Delete(ord);
        return -1;
    }
    if (!cJSON_AddItemToObject(o, "propertyOrdering", ord)) {
        cJSON_Delete(ord);
        return -1;
    }
    return 0;
}

/* An OBJECT with one NUMBER property per key. */
static cJSON *numbers(const char *description, const char *const *keys, int n)
{
    cJSON *o = typed("OBJECT", description),
          *props = o ? cJSON_AddObjectToObject(o, "properties") : NULL;
    if (!props)
        goto fail;
    for (int i = 0; i < n; i++) {
        cJSON *num = typed("NUMBER", NULL);
        if (!num || !cJSON_AddItemToObject(props, keys[i], num)) {
            cJSON_Delete(num);
            goto fail;
        }
    }
    if (add_order(o, keys, n) < 0)
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static const char *const modality_keys[] = {"visual", "acoustic", "textual"};
static const char *const modality_help[] = {
    "what the face, body and scene show, judged from the video frames alone",
    "what the voice shows (tone, pitch, speed, loudness, trembling), judged from the audio alone",
    "what the words of the subtitle mean, judged from the text alone",
};
#define SCORES_HELP "a percentage per emotion, summing to 100"

static cJSON *modality(const char *help, const char *const *classes, int n_classes)
{
    static const char *const keys[] = {"reasoning", "scores"};
    cJSON *o = typed("OBJECT", help), *props = o ? cJSON_AddObjectToObject(o, "properties") : NULL;
    cJSON *reasoning = typed("STRING", NULL), *scores = numbers(SCORES_HELP, classes, n_classes);
    if (!props || !reasoning || !scores)
        goto fail;
    cJSON_AddItemToObject(props, "reasoning", reasoning);
    cJSON_AddItemToObject(props, "scores", scores);
    return add_order(o, keys, 2) < 0 ? (cJSON_Delete(o), NULL) : o;
fail:
    cJSON_Delete(reasoning);
    cJSON_Delete(scores);
    cJSON_Delete(o);
    return NULL;
}

static cJSON *label_schema(const char *const *classes, int n_classes)
{
    cJSON *o = typed("STRING", "the overall emotion"),
          *e = cJSON_CreateStringArray(classes, n_classes);
    if (!o || !e || !cJSON_AddStringToObject(o, "format", "enum") ||
        !cJSON_AddItemToObject(o, "enum", e)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *mer_prompt_schema_new(const char *const *classes, int n_classes)
{
    static const char *const keys[] = {"visual", "acoustic", "textual",     "reasoning",
                                       "label",  "scores",   "contribution"};
    cJSON *o = typed("OBJECT", NULL), *props = o ? cJSON_AddObjectToObject(o, "properties") : NULL;
    cJSON *items[7] = {NULL};
    char *s = NULL;
    if (!props)
        goto done;
    for (int m = 0; m < 3; m++)
        items[m] = modality(modality_help[m], classes, n_classes);
    items[3] = typed("STRING", "how the modalities combine into the overall judgement");
    items[4] = label_schema(classes, n_classes);
    items[5] = numbers(SCORES_HELP, classes, n_classes);
    items[6] = numbers("how much each modality contributed to the overall judgement, "
                       "percentages summing to 100",
                       modality_keys, 3);
    for (int i = 0; i < 7; i++) {
        if (!items[i])
            goto done;
        cJSON_AddItemToObject(props, keys[i], items[i]);
        items[i] = NULL;
    }
    if (add_order(o, keys, 7) == 0)
        s = cJSON_PrintUnformatted(o);
done:
    for (int i = 0; i < 7; i++)
        cJSON_Delete(items[i]);
    cJSON_Delete(o);
    return s;
}

int mer_prompt_schema_load(char **out, const char *path)
{
    char *text = NULL;
    size_t len = 0, line, col;
    const char *end = NULL;
    cJSON *o = NULL;
    int ret = -1;
    *out = NULL;
    if (mer_read_file(path, &text, &len) < 0 || mer_text_check(path, text, len) < 0)
        goto done;
    if (!(o = cJSON_ParseWithLengthOpts(text, len, &end, 0))) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
        mer_text_position(text, off, &line, &col);
        mer_error("'%s':%zu:%zu: not valid JSON", path, line, col);
        goto done;
    }
    if (!cJSON_IsObject(o)) {
        mer_error("'%s': the schema must be a JSON object", path);
        goto done;
    }
    if (!(*out = cJSON_PrintUnformatted(o))) {
        mer_error("out of memory");
        goto done;
    }
    ret = 0;
done:
    cJSON_Delete(o);
    free(text);
    return ret;
}

/* ---- clips ---- */

static const struct {
    const char *ext, *mime;
} clip_types[] = {
    /* The order of lookup: MER2024's clips are .mp4 (some .avi), audio-only sets .wav. */
    {"mp4", "video/mp4"},   {"avi", "video/avi"},  {"mkv", "video/x-matroska"},
    {"webm", "video/webm"}, {"mov", "video/mov"},  {"wav", "audio/wav"},
    {"mpeg", "video/mpeg"}, {"mpg", "video/mpg"},  {"flv", "video/x-flv"},
    {"wmv", "video/wmv"},   {"3gp", "video/3gpp"}, {"mp3", "audio/mp3"},
    {"flac", "audio/flac"}, {"ogg", "audio/ogg"},  {"aac", "audio/aac"},
};

const char *mer_prompt_clip_extensions(void)
{
    return "mp4, avi, mkv, webm, mov, wav, mpeg, mpg, flv, wmv, 3gp, mp3, flac, ogg, aac";
}

const char *mer_prompt_mime_type(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && slash > dot))
        return NULL;
    for (size_t i = 0; i < MER_ARRAY_SIZE(clip_types); i++)
        if (!strcasecmp(dot + 1, clip_types[i].ext))
            return clip_types[i].mime;
    return NULL;
}

int mer_prompt_find_clip(char **path, const char *dir, const char *name)
{
    *path = NULL;
    for (size_t i = 0; i < MER_ARRAY_SIZE(clip_types); i++) {
        struct stat st;
        char *p = mer_strfmt("%s/%s.%s", dir, name, clip_types[i].ext);
        if (!p)
            return mer_error("out of memory");
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            *path = p;
            return 1;
        }
        free(p);
    }
    return 0;
}

/* ---- base64 ---- */

uint64_t mer_prompt_base64_size(uint64_t n)
{
    return (n + 2) / 3 * 4;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes n bytes (a multiple of 3, or the final piece) of in into out; returns bytes written. */
static size_t b64_encode(char *out, const unsigned char *in, size_t n)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

#define B64_CHUNK (3 * 16384) /* input bytes per read: a multiple of 3 */

int mer_prompt_base64_stream(FILE *out, FILE *in, const char *name, uint64_t *n_in)
{
    unsigned char *buf = malloc(B64_CHUNK);
    char *enc = malloc(B64_CHUNK / 3 * 4);
    size_t got;
    int ret = -1;
    *n_in = 0;
    if (!buf || !enc) {
        mer_error("out of memory");
        goto done;
    }
    do {
        /* fread returns a short count only at the end of the file or on an error, so every
         * chunk but the last is a multiple of 3 bytes and needs no carry. */
        got = fread(buf, 1, B64_CHUNK, in);
        if (ferror(in)) {
            mer_error("'%s': read error: %s", name, strerror(errno));
            goto done;
        }
        *n_in += got;
        size_t n = b64_encode(enc, buf, got);
        if (n && fwrite(enc, 1, n, out) != n) {
            mer_error("write error: %s", strerror(errno));
            goto done;
        }
    } while (got == B64_CHUNK);
    ret = 0;
done:
    free(buf);
    free(enc);
    return ret;
}

/* ---- JSON output ---- */

void mer_prompt_json_string(FILE *out, const char *s)
{
    /* The characters with a short escape, and the letter after the backslash for each. */
    static const char from[] = "\"\\\n\r\t\b\f", to[] = "\"\\nrtbf";
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *hit = strchr(from, *p);
        if (hit) {
            fputc('\\', out);
            fputc(to[hit - from], out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p);
        } else {
            fputc(*p, out);
        }
    }
    fputc('"', out);
}

void mer_prompt_json_number(FILE *out, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, out);
}

/* The clip part followed by a comma, or nothing for a text-only request. */
static int write_clip_part(FILE *out, const struct mer_prompt_request *r)
{
    struct stat st;
    uint64_t n = 0;
    FILE *in;
    int ret;
    if (!r->mime_type)
        return 0;
    if (!r->clip_path) {
        fputs("{\"file_data\":{\"mime_type\":", out);
        mer_prompt_json_string(out, r->mime_type);
        fputs(",\"file_uri\":", out);
        mer_prompt_json_string(out, r->file_uri ? r->file_uri : "");
        fputs("}},", out);
        return 0;
    }
    if (!(in = fopen(r->clip_path, "rb")))
        return mer_error("'%s': cannot open: %s", r->clip_path, strerror(errno));
    if (fstat(fileno(in), &st) < 0) {
        fclose(in);
        return mer_error("'%s': cannot stat: %s", r->clip_path, strerror(errno));
    }
    fputs("{\"inline_data\":{\"mime_type\":", out);
    mer_prompt_json_string(out, r->mime_type);
    fputs(",\"data\":\"", out);
    ret = mer_prompt_base64_stream(out, in, r->clip_path, &n);
    fclose(in);
    if (ret == 0 && n != (uint64_t)st.st_size)
        ret = mer_error("'%s': the file changed while it was read (%llu bytes, then %llu)",
                        r->clip_path, (unsigned long long)st.st_size, (unsigned long long)n);
    fputs("\"}},", out);
    return ret;
}

int mer_prompt_write_request(FILE *out, const struct mer_prompt_request *r,
                             const struct mer_prompt_config *c)
{
    fputs("{\"key\":", out);
    mer_prompt_json_string(out, r->key);
    if (c->format == MER_PROMPT_FORMAT_BATCH) {
        /* The Batch API takes the model when the job is created, not per line. */
        fputs(",\"request\":{", out);
    } else {
        /* A plain request names its model as GenerateContentRequest.model does. */
        char *model =
            strncmp(c->model, "models/", 7) ? mer_strfmt("models/%s", c->model) : strdup(c->model);
        if (!model)
            return mer_error("out of memory");
        fputs(",\"model\":", out);
        mer_prompt_json_string(out, model);
        free(model);
        fputc(',', out);
    }
    fputs("\"contents\":[{\"role\":\"user\",\"parts\":[", out);
    if (write_clip_part(out, r) < 0)
        return -1;
    fputs("{\"text\":", out);
    mer_prompt_json_string(out, r->text);
    fputs("}]}],\"generationConfig\":{\"temperature\":", out);
    mer_prompt_json_number(out, c->temperature);
    fputs(",\"responseMimeType\":\"application/json\",\"responseSchema\":", out);
    fputs(c->schema, out);
    fputs(c->format == MER_PROMPT_FORMAT_BATCH ? "}}}\n" : "}}\n", out);
    if (ferror(out))
        return mer_error("write error: %s", strerror(errno));
    return 0;
}
