/* mer prompt: a transcript CSV (+ clips) -> Gemini requests, one JSON line per clip. */
#include "cmd/cmd.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/opt.h"
#include "mer/progress.h"
#include "mer/prompt.h"
#include "mer/strmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const usage[] = {
    "mer prompt [options] --dataset <transcripts.csv> --clips <dir> -o <requests.jsonl>",
    "mer prompt [options] --dataset <transcripts.csv> --text-only -o <requests.jsonl>",
    "mer prompt --print-schema [--classes a,b,..]",
    NULL,
};

#define MAX_CLASSES      64
#define DEFAULT_TEMPLATE "en"
#define DEFAULT_CLASSES  "worried,happy,neutral,angry,surprise,sad"

struct prompt_opts {
    const char *dataset, *clips, *template_path, *format, *model, *schema_path, *out;
    const char *uri_column, *subtitle_column, *classes;
    double temperature, max_inline_mb;
    struct mer_shard shard;
    int text_only, allow_missing, force, quiet, print_schema;
};

/* One request to write: borrowed CSV fields plus the clip found for it. */
struct job {
    size_t row;       /* index into csv->rows */
    char *clip;       /* owned path, or NULL for a text-only request */
    const char *mime; /* NULL for a text-only request */
    const char *uri;  /* file_data URI when the clip is sent by reference */
};

/* What the run needs from the CSV: column indices (-1 = not used). */
struct columns {
    int name, subtitle, en, zh, uri;
};

/* "a, b, c" for {classes}: new string or NULL. */
static char *join_classes(const char *const *classes, int n)
{
    size_t len = 1;
    char *s;
    for (int k = 0; k < n; k++)
        len += strlen(classes[k]) + 2;
    if (!(s = malloc(len)))
        return NULL;
    s[0] = '\0';
    for (int k = 0; k < n; k++) {
        if (k)
            strcat(s, ", ");
        strcat(s, classes[k]);
    }
    return s;
}

/* The column a placeholder needs, or -1 with an error naming the CSV and the template. */
static int need_column(const struct mer_csv *csv, const mer_prompt_template *t,
                       enum mer_prompt_field f, const char *column, const char *template_path)
{
    int c;
    if (!mer_prompt_template_uses(t, f))
        return -1;
    if ((c = mer_csv_column(csv, column)) < 0)
        mer_error("'%s':1: missing column '%s' (the template '%s' uses {%s})", csv->path, column,
                  template_path, mer_prompt_field_name(f));
    return c;
}

static int find_columns(struct columns *c, const struct mer_csv *csv, const mer_prompt_template *t,
                        const struct prompt_opts *o)
{
    if (csv->n_rows == 0)
        return mer_error("'%s': empty file (expected a header name,chinese,english)", csv->path);
    if ((c->name = mer_csv_column(csv, "name")) < 0)
        return mer_error("'%s':1: missing column 'name' (expected a header name,chinese,english "
                         "as in MER2024's transcription CSV)",
                         csv->path);
    if ((c->subtitle =
             need_column(csv, t, MER_PROMPT_SUBTITLE, o->subtitle_column, o->template_path)) < 0 &&
        mer_prompt_template_uses(t, MER_PROMPT_SUBTITLE))
        return -1;
    if ((c->en = need_column(csv, t, MER_PROMPT_SUBTITLE_EN, "english", o->template_path)) < 0 &&
        mer_prompt_template_uses(t, MER_PROMPT_SUBTITLE_EN))
        return -1;
    if ((c->zh = need_column(csv, t, MER_PROMPT_SUBTITLE_ZH, "chinese", o->template_path)) < 0 &&
        mer_prompt_template_uses(t, MER_PROMPT_SUBTITLE_ZH))
        return -1;
    c->uri = -1;
    if (o->uri_column && (c->uri = mer_csv_column(csv, o->uri_column)) < 0)
        return mer_error("'%s':1: missing column '%s' (--uri-column)", csv->path, o->uri_column);
    if (csv->n_rows < 2)
        return mer_error("'%s': no samples after the header", csv->path);
    return 0;
}

/* Every row has the header's fields, a non-empty name, and no name twice. */
static int check_rows(const struct mer_csv *csv, const struct columns *c)
{
    size_t n = csv->n_rows - 1, dup = 0;
    const char **names = malloc(n * sizeof(*names));
    struct mer_strmap map = MER_STRMAP_INIT;
    int ret = -1;
    if (!names)
        return mer_error("out of memory");
    for (size_t r = 1; r < csv->n_rows; r++) {
        const struct mer_csv_row *row = &csv->rows[r];
        if (row->n_fields != csv->rows[0].n_fields) {
            mer_error("'%s':%zu: %zu fields, the header has %zu", csv->path, row->line,
                      row->n_fields, csv->rows[0].n_fields);
            goto done;
        }
        if (!*(names[r - 1] = row->fields[c->name])) {
            mer_error("'%s':%zu: empty sample name", csv->path, row->line);
            goto done;
        }
    }
    if (mer_strmap_build(&map, names, n, &dup) < 0) {
        size_t first = 0;
        while (first < dup && strcmp(names[first], names[dup]))
            first++;
        mer_error("'%s':%zu: sample '%s' already appears on line %zu", csv->path,
                  csv->rows[dup + 1].line, names[dup], csv->rows[first + 1].line);
        goto done;
    }
    ret = 0;
done:
    mer_strmap_release(&map);
    free(names);
    return ret;
}

/* Decides how row r's clip travels: inline, by URI, or not at all. */
static int plan_job(struct job *j, const struct mer_csv *csv, const struct columns *c,
                    const struct prompt_opts *o)
{
    const struct mer_csv_row *row = &csv->rows[j->row];
    const char *name = row->fields[c->name];
    struct stat st;
    uint64_t b64;
    int found;
    if (o->text_only)
        return 0;
    if (strchr(name, '/'))
        return mer_error("'%s':%zu: sample name '%s' has a '/' (names are clip file names)",
                         csv->path, row->line, name);
    if ((found = mer_prompt_find_clip(&j->clip, o->clips, name)) < 0)
        return -1;
    if (!found) {
        if (o->allow_missing)
            return 0;
        return mer_error("'%s':%zu: no clip for sample '%s': none of '%s/%s.{%s}' exists (use "
                         "--allow-missing for a text-only request)",
                         csv->path, row->line, name, o->clips, name, mer_prompt_clip_extensions());
    }
    if (stat(j->clip, &st) < 0)
        return mer_error("'%s': cannot stat: %s", j->clip, strerror(errno));
    j->mime = mer_prompt_mime_type(j->clip);
    b64 = mer_prompt_base64_size((uint64_t)st.st_size);
    if ((double)b64 <= o->max_inline_mb * 1e6)
        return 0;
    j->uri = c->uri >= 0 ? row->fields[c->uri] : "";
    if (!*j->uri)
        return mer_error("'%s': %llu bytes of base64 are over --max-inline-mb %g, and %s", j->clip,
                         (unsigned long long)b64, o->max_inline_mb,
                         c->uri >= 0 ? "its row has no URI in the --uri-column"
                                     : "no --uri-column gives an uploaded file's URI");
    free(j->clip); /* sent by reference: the bytes are not read */
    j->clip = NULL;
    return 0;
}

static void free_jobs(struct job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        free(jobs[i].clip);
    free(jobs);
}

/* The requests of this shard: rows 1.. of the CSV with (row - 1) % count == index. */
static int plan_jobs(struct job **out, size_t *n_out, const struct mer_csv *csv,
                     const struct columns *c, const struct prompt_opts *o)
{
    size_t n = 0, cap = (csv->n_rows - 1) / (size_t)o->shard.count + 1;
    struct job *jobs = calloc(cap, sizeof(*jobs));
    if (!jobs)
        return mer_error("out of memory");
    for (size_t r = 1 + (size_t)o->shard.index; r < csv->n_rows; r += (size_t)o->shard.count) {
        jobs[n].row = r;
        if (plan_job(&jobs[n++], csv, c, o) < 0) {
            free_jobs(jobs, n);
            return -1;
        }
    }
    *out = jobs;
    *n_out = n;
    return 0;
}

struct run {
    const struct mer_csv *csv;
    const struct columns *cols;
    const mer_prompt_template *tmpl, *text_tmpl; /* for requests with a clip, and without */
    const struct mer_prompt_config *cfg;
    const char *classes; /* "a, b, c" */
};

static int write_job(FILE *fp, const struct run *run, const struct job *j)
{
    const struct mer_csv_row *row = &run->csv->rows[j->row];
    const char *values[MER_PROMPT_N_FIELDS] = {NULL};
    struct mer_prompt_request req;
    char *text;
    int ret;
    values[MER_PROMPT_NAME] = row->fields[run->cols->name];
    values[MER_PROMPT_SUBTITLE] = run->cols->subtitle >= 0 ? row->fields[run->cols->subtitle] : "";
    values[MER_PROMPT_SUBTITLE_EN] = run->cols->en >= 0 ? row->fields[run->cols->en] : "";
    values[MER_PROMPT_SUBTITLE_ZH] = run->cols->zh >= 0 ? row->fields[run->cols->zh] : "";
    values[MER_PROMPT_CLASSES] = run->classes;
    if (!(text = mer_prompt_template_fill(j->clip || j->mime ? run->tmpl : run->text_tmpl, values)))
        return mer_error("out of memory");
    req = (struct mer_prompt_request){values[MER_PROMPT_NAME], text, j->mime, j->clip, j->uri};
    ret = mer_prompt_write_request(fp, &req, run->cfg);
    free(text);
    return ret;
}

static int write_all(const char *out, const struct run *run, const struct job *jobs, size_t n,
                     size_t counts[3])
{
    struct mer_atomic_file f = {0};
    struct mer_progress p;
    if (mer_atomic_open(&f, out) < 0)
        return -1;
    mer_progress_start(&p, "prompt", (int64_t)n, "requests");
    for (size_t i = 0; i < n; i++) {
        if (write_job(f.fp, run, &jobs[i]) < 0) {
            mer_error_prefix("'%s'", out);
            mer_atomic_abort(&f);
            return -1;
        }
        counts[jobs[i].clip ? 0 : jobs[i].mime ? 1 : 2]++;
        mer_progress_update(&p, (int64_t)i + 1);
    }
    mer_progress_finish(&p);
    return mer_atomic_commit(&f);
}

/* Usage checks that need no file; returns 0 or the exit code 2 (message printed). */
static int check_usage(const struct prompt_opts *o, enum mer_prompt_format *format)
{
    if (!strcmp(o->format, "batch"))
        *format = MER_PROMPT_FORMAT_BATCH;
    else if (!strcmp(o->format, "requests"))
        *format = MER_PROMPT_FORMAT_REQUESTS;
    else
        return mer_usage_error("prompt", "--format: expected batch or requests, got '%s'",
                               o->format);
    if (o->print_schema)
        return 0;
    if (!o->dataset || !o->out)
        return mer_usage_error("prompt", o->dataset ? "no output given (-o <file>)"
                                                    : "no dataset given (--dataset <csv>)");
    if (!o->clips == !o->text_only)
        return mer_usage_error("prompt", o->clips
                                             ? "--clips and --text-only exclude each other"
                                             : "no clips given (--clips <dir>, or --text-only)");
    if (o->allow_missing && !o->clips)
        return mer_usage_error("prompt", "--allow-missing needs --clips");
    if (!*o->model || !*o->subtitle_column)
        return mer_usage_error("prompt", *o->model ? "--subtitle-column: empty column name"
                                                   : "--model: empty model name");
    return 0;
}

static void print_summary(const struct prompt_opts *o, size_t n, const size_t counts[3])
{
    struct stat st;
    double mb = stat(o->out, &st) == 0 ? (double)st.st_size / 1e6 : 0;
    printf("wrote %zu requests (%s format, %s) to '%s', %.1f MB: %zu inline, %zu file_data, %zu "
           "text-only\n",
           n, o->format, o->model, o->out, mb, counts[0], counts[1], counts[2]);
    if (o->shard.count > 1)
        printf("shard %d/%d of the rows of '%s'\n", o->shard.index, o->shard.count, o->dataset);
}

/* Loads the inputs, plans every request, writes them; 0 or -1 with the error set. */
static int run_prompt(const struct prompt_opts *o, struct mer_prompt_config *cfg,
                      const char *const *classes, int n_classes)
{
    mer_prompt_template *tmpl = NULL, *text_tmpl = NULL;
    struct mer_csv *csv = NULL;
    struct columns cols = {-1, -1, -1, -1, -1};
    struct job *jobs = NULL;
    size_t n_jobs = 0, counts[3] = {0};
    char *schema = NULL, *class_text = join_classes(classes, n_classes);
    int ret = -1;
    if (!class_text) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_output_check(o->out, o->force) < 0)
        goto done;
    if (mer_csv_read(&csv, o->dataset) < 0)
        goto done;
    if (mer_prompt_template_open(&tmpl, o->template_path) < 0)
        goto done;
    /* A request without a clip asks for no watching: the built-in templates have a text-only
     * version (en-text, zh-text); a template file serves both kinds. */
    if ((o->text_only || o->allow_missing) &&
        (!strcmp(o->template_path, "en") || !strcmp(o->template_path, "zh"))) {
        char spec[16];
        snprintf(spec, sizeof(spec), "%s-text", o->template_path);
        if (mer_prompt_template_open(&text_tmpl, spec) < 0)
            goto done;
    }
    if (o->schema_path ? mer_prompt_schema_load(&schema, o->schema_path) < 0
                       : !(schema = mer_prompt_schema_new(classes, n_classes))) {
        if (!o->schema_path)
            mer_error("out of memory");
        goto done;
    }
    cfg->schema = schema;
    if (find_columns(&cols, csv, tmpl, o) < 0 || check_rows(csv, &cols) < 0 ||
        plan_jobs(&jobs, &n_jobs, csv, &cols, o) < 0)
        goto done;
    {
        struct run run = {csv, &cols, tmpl, text_tmpl ? text_tmpl : tmpl, cfg, class_text};
        if (write_all(o->out, &run, jobs, n_jobs, counts) < 0)
            goto done;
    }
    if (!o->quiet)
        print_summary(o, n_jobs, counts);
    ret = 0;
done:
    free_jobs(jobs, n_jobs);
    mer_csv_free(csv);
    mer_prompt_template_free(tmpl);
    mer_prompt_template_free(text_tmpl);
    free(schema);
    free(class_text);
    return ret;
}

int cmd_prompt(int argc, const char **argv)
{
    struct prompt_opts o = {
        .template_path = DEFAULT_TEMPLATE,
        .format = "batch",
        .model = "gemini-2.5-flash",
        .subtitle_column = "chinese",
        .classes = DEFAULT_CLASSES,
        .temperature = 0.2,
        .max_inline_mb = 20,
        .shard = MER_SHARD_ALL,
    };
    struct mer_prompt_config cfg = {0};
    const char *classv[MAX_CLASSES];
    char *class_buf = NULL;
    int n, n_classes, ret;
    struct mer_option opts[] = {
        MER_OPT_STRING(0, "dataset", &o.dataset, "csv",
                       "transcripts: name plus the subtitle columns (name,chinese,english)"),
        MER_OPT_STRING(0, "clips", &o.clips, "dir", "clips as <dir>/<name>.mp4 (.avi, .wav, ...)"),
        MER_OPT_BOOL(0, "text-only", &o.text_only, "no clips: requests hold the prompt alone"),
        MER_OPT_BOOL(0, "allow-missing", &o.allow_missing,
                     "a row without a clip gets a text-only request instead of an error"),
        MER_OPT_STRING(0, "template", &o.template_path, "en|zh|file",
                       "prompt template: en or zh (built in: configs/prompts/, with en-text "
                       "and zh-text for requests without a clip) or a file (default en)"),
        MER_OPT_STRING(0, "format", &o.format, "batch|requests",
                       "batch: Batch API input lines {key, request}; requests: one "
                       "GenerateContentRequest a line with its key (default batch)"),
        MER_OPT_STRING(0, "model", &o.model, "name", "model (default gemini-2.5-flash)"),
        MER_OPT_DOUBLE_RANGE(0, "temperature", &o.temperature, "[0,2]",
                             "sampling temperature (default 0.2)"),
        MER_OPT_STRING(0, "schema", &o.schema_path, "file",
                       "response schema JSON (default: built in, see --print-schema)"),
        MER_OPT_STRING(0, "classes", &o.classes, "a,b,..",
                       "class names (default " DEFAULT_CLASSES ")"),
        MER_OPT_STRING(0, "subtitle-column", &o.subtitle_column, "name",
                       "the column {subtitle} reads (default chinese)"),
        MER_OPT_DOUBLE_RANGE(0, "max-inline-mb", &o.max_inline_mb, "[0,)",
                             "inline a clip whose base64 is at most this many MB (10^6 bytes; "
                             "default 20), else send it by URI"),
        MER_OPT_STRING(0, "uri-column", &o.uri_column, "name",
                       "column with the uploaded file's URI for clips over --max-inline-mb"),
        MER_OPT_SHARD(0, "shard", &o.shard, "write rows i, i+n, i+2n, ... (0-based)"),
        MER_OPT_STRING('o', "out", &o.out, "file", "the requests JSONL to write"),
        MER_OPT_BOOL(0, "force", &o.force, "overwrite an existing output file"),
        MER_OPT_BOOL(0, "print-schema", &o.print_schema, "print the response schema and exit"),
        MER_OPT_BOOL('q', "quiet", &o.quiet, "no progress or summary"),
        MER_OPT_END(),
    };
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0)
        return mer_opt_exit_code(n);
    if (n > 0)
        return mer_usage_error("prompt", "unexpected argument '%s'", argv[0]);
    cfg.model = o.model;
    cfg.temperature = o.temperature;
    if ((ret = check_usage(&o, &cfg.format)))
        return ret;
    if (!(class_buf = strdup(o.classes))) {
        mer_error("out of memory");
        return cmd_fail("prompt");
    }
    if ((n_classes = cmd_parse_classes(class_buf, classv, MAX_CLASSES)) < 0) {
        ret = mer_usage_error("prompt", "%s", mer_errmsg());
    } else if (o.print_schema) {
        char *schema = mer_prompt_schema_new(classv, n_classes);
        ret = schema ? (puts(schema), 0) : (mer_error("out of memory"), cmd_fail("prompt"));
        free(schema);
    } else {
        mer_progress_quiet(o.quiet);
        ret = run_prompt(&o, &cfg, classv, n_classes) < 0 ? cmd_fail("prompt") : 0;
    }
    free(class_buf);
    return ret;
}
