/* The config: schema defaults, files, --set, and the errors that name the key. */
#include "mer/config.h"
#include "mer/error.h"
#include "mer/modeldef.h"
#include "testhelp.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes text to <tmp>/<name>; returns the path (a new string). */
static char *write_file(const char *name, const char *text)
{
    char *path = malloc(4200);
    FILE *f;
    snprintf(path, 4200, "%s/%s", test_tmpdir(), name);
    f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* dir (absolute) + "/" + rel, in a static buffer: what a relative path resolves to. */
static const char *under(const char *dir, const char *rel)
{
    static char buf[2][4200];
    static int i;
    i = !i;
    if (snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel) >= (int)sizeof(buf[i]))
        buf[i][0] = '\0'; /* too long: no path matches, and the check fails */
    return buf[i];
}

static const char *cwd(void)
{
    static char buf[4096];
    return getcwd(buf, sizeof(buf)) ? buf : "?";
}

/* The config from JSON text (as 'c.json'); NULL on error. */
static mer_config *parse(const char *text)
{
    mer_config *cfg = NULL;
    mer_error_clear();
    if (mer_config_parse(&cfg, "c.json", text, strlen(text)) < 0)
        return NULL;
    return cfg;
}

static const char *parse_error(const char *text)
{
    mer_config *cfg = parse(text);
    if (cfg) {
        mer_config_free(cfg);
        return "(parsed)";
    }
    return mer_errmsg();
}

/* The error of one --set on the defaults, "(set)" if it was accepted. */
static const char *set_error(const char *assignment)
{
    mer_config *cfg = NULL;
    const char *ret = "(set)";
    CHECK(mer_config_load(&cfg, NULL, NULL, 0) == 0);
    mer_error_clear();
    if (cfg && mer_config_set(cfg, assignment) < 0)
        ret = mer_errmsg();
    mer_config_free(cfg);
    return ret;
}

static void defaults(void)
{
    TEST("defaults: every key present with the paper's values")
    {
        mer_config *cfg = NULL;
        char *json;
        CHECK(mer_config_load(&cfg, NULL, NULL, 0) == 0);
        if (!cfg)
            return;
        CHECK_EQ_INT(mer_config_int(cfg, "model.hidden"), 256);
        CHECK_EQ_INT(mer_config_int(cfg, "model.encoder_layers"), 2);
        CHECK_EQ_INT(mer_config_int(cfg, "model.proj_dim"), 128);
        CHECK_EQ_STR(mer_config_string(cfg, "model.prior.mode"), "cross_attention");
        CHECK_EQ_STR(mer_config_string(cfg, "model.fusion.attention_norm"), "softmax");
        CHECK_EQ_INT(mer_config_list_size(cfg, "model.prior.modalities"), 3);
        CHECK_EQ_STR(mer_config_list_item(cfg, "model.prior.modalities", 1), "video");
        CHECK_EQ_STR(mer_config_string(cfg, "loss.ce"), "plain");
        CHECK_NEAR(mer_config_number(cfg, "loss.lambda_inter"), 0.35, 0);
        CHECK_NEAR(mer_config_number(cfg, "loss.lambda_intra"), 0.1, 0);
        CHECK_NEAR(mer_config_number(cfg, "loss.tau"), 0.1, 0);
        CHECK_EQ_STR(mer_config_string(cfg, "train.optimizer"), "adam");
        CHECK_NEAR(mer_config_number(cfg, "train.lr"), 1e-3, 0);
        CHECK_NEAR(mer_config_number(cfg, "train.weight_decay"), 1e-5, 0);
        CHECK_EQ_INT(mer_config_int(cfg, "train.batch_size"), 32);
        CHECK_EQ_INT(mer_config_int(cfg, "train.epochs"), 100);
        CHECK_EQ_INT(mer_config_int(cfg, "train.folds"), 5);
        CHECK_NEAR(mer_config_number(cfg, "train.epochs"), 100, 0); /* an int is a number too */
        CHECK_EQ_INT(mer_config_bool(cfg, "model.valence_head"), 0);
        CHECK_EQ_INT(mer_config_bool(cfg, "prior.scale_by_reliability"), 1);
        CHECK_EQ_STR(mer_config_string(cfg, "data.audio"), "");
        CHECK_EQ_STR(mer_config_string(cfg, "data.missing"), "error");
        CHECK_EQ_INT(mer_config_list_size(cfg, "loss.class_weights"), 0);
        CHECK(mer_config_has_key("train.lr"));
        CHECK(!mer_config_has_key("train"));
        json = mer_config_to_json(cfg);
        CHECK(json && strstr(json, "\n  \"train\": {\n") != NULL);
        CHECK(json && strstr(json, "\"modalities\": [\"audio\", \"video\", \"text\"]") != NULL);
        free(json);
        mer_config_free(cfg);
        mer_config_free(NULL);
    }
    TEST("the doc table lists every key once")
    {
        FILE *f = tmpfile();
        char line[1024];
        int rows = 0, lr = 0;
        CHECK(f != NULL);
        if (!f)
            return;
        mer_config_print_doc(f);
        rewind(f);
        while (fgets(line, sizeof(line), f)) {
            rows += line[0] == '|' && strstr(line, "| `") == line;
            lr += strstr(line, "| `train.lr` | number > 0 | `1e-3` |") != NULL;
        }
        fclose(f);
        CHECK(rows > 40);
        CHECK_EQ_INT(lr, 1);
    }
}

static void files(void)
{
    TEST("a file overrides the defaults; nested or flat keys")
    {
        mer_config *cfg = parse("{\"train\": {\"lr\": 1e-4, \"pretrain\": {\"epochs\": 3}},\n"
                                " \"model.prior.mode\": \"gate\",\n"
                                " \"data\": {\"audio\": \"a.safetensors\"}}");
        CHECK(cfg != NULL);
        if (!cfg)
            return;
        CHECK_NEAR(mer_config_number(cfg, "train.lr"), 1e-4, 0);
        CHECK_EQ_INT(mer_config_int(cfg, "train.pretrain.epochs"), 3);
        CHECK_EQ_INT(mer_config_int(cfg, "train.epochs"), 100); /* untouched keys keep defaults */
        CHECK_EQ_STR(mer_config_string(cfg, "model.prior.mode"), "gate");
        /* a path, relative to the file's directory ('c.json': the working directory) */
        CHECK_EQ_STR(mer_config_string(cfg, "data.audio"), under(cwd(), "a.safetensors"));
        mer_config_free(cfg);
    }
    TEST("unknown keys: named, with the nearest key as a hint")
    {
        CHECK_EQ_STR(parse_error("{\"loss\": {\"tauu\": 0.2}}"),
                     "'c.json': key 'loss.tauu': unknown key (did you mean 'loss.tau'?)");
        CHECK_EQ_STR(parse_error("{\"trian\": {\"lr\": 1}}"),
                     "'c.json': key 'trian': unknown key (did you mean 'train'?)");
        CHECK_EQ_STR(parse_error("{\"optimizer\": \"sgd\"}"),
                     "'c.json': key 'optimizer': unknown key (every key is listed in "
                     "configs/README.md)");
        CHECK_EQ_STR(parse_error("{\"train\": {\"lr\": {\"x\": 1}}}"),
                     "'c.json': key 'train.lr': expected number, got object");
    }
    TEST("wrong types and values name the key")
    {
        /* the choices as the schema lists them: model.prior.mode's name table */
        const char *modes = MER_ALLOW(MER_PRIOR_MODES);
        char want[512];
        CHECK_EQ_STR(parse_error("{\"train\": {\"lr\": \"fast\"}}"),
                     "'c.json': key 'train.lr': expected number, got string");
        CHECK_EQ_STR(parse_error("{\"train\": {\"epochs\": 10.5}}"),
                     "'c.json': key 'train.epochs': expected integer, got 10.5");
        CHECK_EQ_STR(parse_error("{\"train\": {\"epochs\": 0}}"),
                     "'c.json': key 'train.epochs': expected integer >= 1, got 0");
        CHECK_EQ_STR(parse_error("{\"model\": {\"dropout\": 1}}"),
                     "'c.json': key 'model.dropout': expected number in [0, 1), got 1");
        CHECK_EQ_STR(parse_error("{\"model\": {\"valence_head\": 1}}"),
                     "'c.json': key 'model.valence_head': expected boolean, got 1");
        snprintf(want, sizeof(want),
                 "'c.json': key 'model.prior.mode': expected one of %s, got 'gated'", modes);
        CHECK_EQ_STR(parse_error("{\"model\": {\"prior\": {\"mode\": \"gated\"}}}"), want);
        CHECK_EQ_STR(parse_error("{\"model\": {\"prior\": {\"modalities\": \"audio\"}}}"),
                     "'c.json': key 'model.prior.modalities': expected list of strings (a JSON "
                     "array), got string");
        CHECK_EQ_STR(parse_error("{\"model\": {\"prior\": {\"modalities\": [\"audio\", 1]}}}"),
                     "'c.json': key 'model.prior.modalities': expected list of strings, got "
                     "number in the array");
        CHECK_EQ_STR(parse_error("{\"loss\": {\"class_weights\": [1, -1]}}"),
                     "'c.json': key 'loss.class_weights': expected numbers > 0, got -1");
        CHECK_EQ_STR(parse_error("{\"train\": 5}"),
                     "'c.json': key 'train': expected an object (a section of keys), got number");
        CHECK_EQ_STR(parse_error("{\"data\": {\"audio\": null}}"),
                     "'c.json': key 'data.audio': expected string, got null");
        CHECK_EQ_STR(parse_error("{\"train\": {\"lr\": 1e999}}"),
                     "'c.json': key 'train.lr': expected number, got out-of-range number");
        CHECK_EQ_STR(parse_error("{\"loss\": {\"class_weights\": [1, 1e999]}}"),
                     "'c.json': key 'loss.class_weights': expected list of numbers, got "
                     "out-of-range number in the array");
        CHECK_EQ_STR(parse_error("{\"train\": {\"lr\": 1, \"lr\": 2}}"),
                     "'c.json': key 'train.lr': appears twice");
    }
    TEST("JSON syntax errors: file:line:column")
    {
        CHECK_EQ_STR(parse_error("{\n  \"train\": {\n    \"lr\": 1e-3,\n  }\n}\n"),
                     "'c.json':4:3: JSON syntax error at '}'");
        CHECK_EQ_STR(parse_error("{\n  \"train\": {\n    \"lr\": 1e-3\n    \"epochs\": 3\n"),
                     "'c.json':4:5: JSON syntax error at '\"'");
        CHECK_EQ_STR(parse_error("{\"train\": {\n"),
                     "'c.json':2:1: JSON syntax error: unexpected end of file");
        CHECK_EQ_STR(parse_error(""), "'c.json':1:1: JSON syntax error: unexpected end of file");
        CHECK_EQ_STR(parse_error("{} {}"), "'c.json':1:4: JSON syntax error at '{'");
        CHECK_EQ_STR(parse_error("{\"a\": tru}"), "'c.json':1:7: JSON syntax error at 't'");
        CHECK_EQ_STR(parse_error("[1, 2]"),
                     "'c.json': expected a JSON object at the top, got array");
        CHECK_EQ_STR(parse_error("{\"data\": {\"audio\": \"caf\xe9\"}}"),
                     "'c.json':1:24: invalid UTF-8 (byte 0xe9)");
    }
}

static void sets(void)
{
    TEST("--set values: JSON when they parse, plain strings otherwise")
    {
        const char *sets[] = {
            "train.lr=1e-4",
            "train.epochs=7",
            "model.valence_head=true",
            "model.prior.modalities=[\"text\"]",
            "model.prior.mode=gate",
            "data.audio=features/a b.safetensors",
            "data.video=\"quoted\"",
            "data.text=123", /* a string key takes the text */
            "train.batch_size= 16 ",
            "loss.class_weights=[1, 2.5, 3]",
            "train={\"seed\": 9}", /* a section as an object */
            "data.labels=",
        };
        mer_config *cfg = NULL;
        CHECK(mer_config_load(&cfg, NULL, sets, MER_ARRAY_SIZE(sets)) == 0);
        if (!cfg)
            return;
        CHECK_NEAR(mer_config_number(cfg, "train.lr"), 1e-4, 0);
        CHECK_EQ_INT(mer_config_int(cfg, "train.epochs"), 7);
        CHECK_EQ_INT(mer_config_bool(cfg, "model.valence_head"), 1);
        CHECK_EQ_INT(mer_config_list_size(cfg, "model.prior.modalities"), 1);
        CHECK_EQ_STR(mer_config_list_item(cfg, "model.prior.modalities", 0), "text");
        CHECK_EQ_STR(mer_config_string(cfg, "model.prior.mode"), "gate");
        /* paths given with --set resolve against the working directory */
        CHECK_EQ_STR(mer_config_string(cfg, "data.audio"),
                     under(cwd(), "features/a b.safetensors"));
        CHECK_EQ_STR(mer_config_string(cfg, "data.video"), under(cwd(), "quoted"));
        CHECK_EQ_STR(mer_config_string(cfg, "data.text"), under(cwd(), "123"));
        CHECK_EQ_INT(mer_config_int(cfg, "train.batch_size"), 16);
        CHECK_NEAR(mer_config_list_number(cfg, "loss.class_weights", 1), 2.5, 0);
        CHECK_EQ_INT(mer_config_int(cfg, "train.seed"), 9);
        CHECK_EQ_STR(mer_config_string(cfg, "data.labels"), "");
        mer_config_free(cfg);
    }
    TEST("--set errors name the assignment")
    {
        /* the choices as the schema lists them: model.prior.mode's name table */
        const char *modes = MER_ALLOW(MER_PRIOR_MODES);
        char want[512];
        CHECK_EQ_STR(set_error("train.epochs=abc"),
                     "--set train.epochs=abc: expected integer, got string");
        CHECK_EQ_STR(set_error("train.lr=1e-4x"),
                     "--set train.lr=1e-4x: expected number, got string");
        CHECK_EQ_STR(set_error("train.lr=-1"), "--set train.lr=-1: expected number > 0, got -1");
        /* the schema's range is the one check: mer config refuses what mer train would */
        CHECK_EQ_STR(set_error("train.folds=100000"),
                     "--set train.folds=100000: expected integer in [2, 32], got 100000");
        CHECK_EQ_STR(set_error("loss.tauu=0.2"),
                     "--set loss.tauu=0.2: unknown key (did you mean 'loss.tau'?)");
        snprintf(want, sizeof(want), "--set model.prior.mode=1: expected one of %s, got '1'",
                 modes);
        CHECK_EQ_STR(set_error("model.prior.mode=1"), want);
        CHECK_EQ_STR(set_error("model.valence_head=yes"),
                     "--set model.valence_head=yes: expected boolean, got string");
        CHECK_EQ_STR(set_error("train={\"lr\": \"x\"}"),
                     "--set train={\"lr\": \"x\"}: key 'train.lr': expected number, got string");
        CHECK_EQ_STR(set_error("train=5"),
                     "--set train=5: 'train' is a section: set one of its keys "
                     "(train.<key>=value)");
        CHECK_EQ_STR(set_error("train.lr"), "--set 'train.lr': expected key=value");
        CHECK_EQ_STR(set_error("=1"), "--set '=1': expected key=value");
        CHECK_EQ_STR(set_error("train.lr=0.001"), "(set)");
    }
    TEST("a failed --set leaves the config as it was; later --set wins")
    {
        mer_config *cfg = NULL;
        const char *sets[] = {"train.lr=0.5", "train.lr=0.25"};
        CHECK(mer_config_load(&cfg, NULL, sets, 2) == 0);
        if (!cfg)
            return;
        CHECK_NEAR(mer_config_number(cfg, "train.lr"), 0.25, 0);
        CHECK(mer_config_set(cfg, "train={\"seed\": 3, \"lr\": \"x\"}") == -1);
        CHECK_EQ_INT(mer_config_int(cfg, "train.seed"), 0);
        CHECK_NEAR(mer_config_number(cfg, "train.lr"), 0.25, 0);
        mer_config_free(cfg);
    }
}

static void load_write(void)
{
    TEST("load: file then --set; write; reload; diff")
    {
        char *path = write_file("run.json", "{\"train\": {\"lr\": 0.01, \"epochs\": 5}}\n"),
             *out = write_file("resolved.json", ""), *diff;
        const char *sets[] = {"train.epochs=6"};
        mer_config *cfg = NULL, *back = NULL, *def = NULL;
        CHECK(mer_config_load(&cfg, path, sets, 1) == 0);
        CHECK(mer_config_load(&def, NULL, NULL, 0) == 0);
        if (cfg && def) {
            CHECK_EQ_INT(mer_config_int(cfg, "train.epochs"), 6);
            CHECK(mer_config_write(cfg, out) == 0);
            CHECK(mer_config_load(&back, out, NULL, 0) == 0);
            diff = back ? mer_config_diff(cfg, back) : NULL;
            CHECK_EQ_STR(diff, "");
            free(diff);
            diff = mer_config_diff(def, cfg);
            CHECK_EQ_STR(diff, "train.lr, train.epochs");
            free(diff);
        }
        mer_config_free(back);
        mer_config_free(def);
        mer_config_free(cfg);
        cfg = NULL;
        CHECK(mer_config_load(&cfg, path, (const char *[]){"train.epochs=x"}, 1) == -1);
        CHECK(cfg == NULL);
        free(path);
        free(out);
    }
    TEST("a missing file")
    {
        mer_config *cfg = NULL;
        CHECK(mer_config_load(&cfg, "/nonexistent/x.json", NULL, 0) == -1);
        CHECK_EQ_STR(mer_errmsg(), "'/nonexistent/x.json': cannot open: No such file or directory");
    }
    TEST("extends: a base file relative to the config, overridden by it")
    {
        char *base = write_file("base.json", "{\"train\": {\"lr\": 0.5, \"epochs\": 9}}"),
             *mid =
                 write_file("mid.json", "{\"extends\": \"base.json\", \"train\": {\"lr\": 0.25}}"),
             *loop = write_file("loop.json", "{\"extends\": \"loop.json\"}"),
             *bad = write_file("bad-base.json", "{\"extends\": \"base-typo.json\"}"),
             *badkey = write_file("badkey.json", "{\"extends\": \"badkey-base.json\"}"),
             *badkey_base = write_file("badkey-base.json", "{\"train\": {\"lrr\": 1}}");
        mer_config *cfg = NULL;
        CHECK(mer_config_load(&cfg, mid, NULL, 0) == 0);
        if (cfg) {
            CHECK_NEAR(mer_config_number(cfg, "train.lr"), 0.25, 0);
            CHECK_EQ_INT(mer_config_int(cfg, "train.epochs"), 9);
            mer_config_free(cfg);
        }
        CHECK(mer_config_load(&cfg, loop, NULL, 0) == -1);
        CHECK(strstr(mer_errmsg(), "loop.json': key 'extends': more than 8 files deep") != NULL);
        CHECK(mer_config_load(&cfg, bad, NULL, 0) == -1);
        CHECK(strstr(mer_errmsg(), "bad-base.json': extends: '") != NULL);
        CHECK(strstr(mer_errmsg(), "base-typo.json': cannot open") != NULL);
        CHECK(mer_config_load(&cfg, badkey, NULL, 0) == -1);
        CHECK(strstr(mer_errmsg(), "badkey-base.json': key 'train.lrr': unknown key") != NULL);
        CHECK_EQ_STR(parse_error("{\"extends\": 3}"),
                     "'c.json': key 'extends': expected a file name, got number");
        free(base);
        free(mid);
        free(loop);
        free(bad);
        free(badkey);
        free(badkey_base);
    }
}

/* 1 if fn(cfg) aborts (a programming error caught by MER_BUG). */
static int aborts(void (*fn)(const mer_config *), const mer_config *cfg)
{
    int status = 0;
    pid_t pid;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        fn(cfg);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void paths(void)
{
    TEST("paths resolve against the config file that sets them; --set against the cwd")
    {
        char dir[4200], sub[4300], real[4096], *base, *top, *back;
        mer_config *cfg = NULL, *again = NULL;
        const char *sets[] = {"data.priors=p.safetensors", "train.pretrain.pseudo_labels=/abs/x"};
        snprintf(dir, sizeof(dir), "%s/paths", test_tmpdir());
        snprintf(sub, sizeof(sub), "%s/cfg", dir);
        CHECK(mkdir(dir, 0777) == 0 && mkdir(sub, 0777) == 0);
        CHECK(mkdir(under(dir, "stores"), 0777) == 0);
        CHECK(realpath(dir, real) != NULL);
        base = write_file("paths/base.json", "{\"data\": {\"video\": \"stores/v.safetensors\"}}");
        top = write_file("paths/cfg/top.json",
                         "{\"extends\": \"../base.json\",\n"
                         " \"data\": {\"audio\": \"../stores/a.safetensors\", \"text\": \"\",\n"
                         "          \"labels\": \"../none/l.safetensors\"},\n"
                         " \"prior\": {\"encoder\": \"torchscript:enc/model.pt\"}}");
        CHECK(mer_config_load(&cfg, top, sets, MER_ARRAY_SIZE(sets)) == 0);
        if (!cfg)
            return;
        /* the base's path against the base's directory; ".." folded where the parent exists */
        CHECK_EQ_STR(mer_config_string(cfg, "data.video"), under(real, "stores/v.safetensors"));
        CHECK_EQ_STR(mer_config_string(cfg, "data.audio"), under(real, "stores/a.safetensors"));
        CHECK_EQ_STR(mer_config_string(cfg, "data.labels"),
                     under(real, "cfg/../none/l.safetensors"));
        CHECK_EQ_STR(mer_config_string(cfg, "data.text"), ""); /* "" = not used, kept */
        CHECK_EQ_STR(mer_config_string(cfg, "data.priors"), under(cwd(), "p.safetensors"));
        CHECK_EQ_STR(mer_config_string(cfg, "train.pretrain.pseudo_labels"), "/abs/x");
        {
            char want[4400];
            snprintf(want, sizeof(want), "torchscript:%s/cfg/enc/model.pt", real);
            CHECK_EQ_STR(mer_config_string(cfg, "prior.encoder"), want);
        }
        /* where each value came from, for messages */
        {
            char w[4400], want[4400];
            snprintf(want, sizeof(want), "'%s/../base.json': key 'data.video'", sub);
            CHECK_EQ_STR(mer_config_where(cfg, "data.video", w, sizeof(w)), want);
            CHECK_EQ_STR(mer_config_where(cfg, "data.priors", w, sizeof(w)),
                         "--set data.priors=p.safetensors");
            CHECK_EQ_STR(mer_config_where(cfg, "train.lr", w, sizeof(w)), "key 'train.lr'");
            /* a path that cannot be opened: the key, the config and the resolved path */
            CHECK(mer_config_check_path(cfg, "data.text") == 0);
            CHECK(mer_config_check_path(cfg, "data.labels") == -1);
            snprintf(want, sizeof(want),
                     "'%s': key 'data.labels': '%s/cfg/../none/l.safetensors': cannot open: No "
                     "such file or directory",
                     top, real);
            CHECK_EQ_STR(mer_errmsg(), want);
        }
        /* the resolved config reads back to itself, from anywhere (the resume check) */
        back = write_file("paths/cfg/resolved.json", "");
        CHECK(mer_config_write(cfg, back) == 0);
        CHECK(mer_config_load(&again, back, NULL, 0) == 0);
        if (again) {
            char *diff = mer_config_diff(cfg, again);
            CHECK_EQ_STR(diff, "");
            free(diff);
        }
        {
            const char *hash[] = {"prior.encoder=hash"};
            mer_config *h = NULL;
            CHECK(mer_config_load(&h, NULL, hash, 1) == 0);
            if (h)
                CHECK_EQ_STR(mer_config_string(h, "prior.encoder"), "hash"); /* no path in it */
            mer_config_free(h);
        }
        mer_config_free(again);
        mer_config_free(cfg);
        free(back);
        free(base);
        free(top);
    }
}

static void get_unknown(const mer_config *cfg)
{
    (void)mer_config_int(cfg, "train.epoch");
}

static void get_wrong_type(const mer_config *cfg)
{
    (void)mer_config_string(cfg, "train.epochs");
}

static void get_right(const mer_config *cfg)
{
    (void)mer_config_int(cfg, "train.epochs");
}

static void getters(void)
{
    TEST("getters abort on a key outside the schema or of another type")
    {
        mer_config *cfg = NULL;
        CHECK(mer_config_load(&cfg, NULL, NULL, 0) == 0);
        if (!cfg)
            return;
        CHECK(aborts(get_unknown, cfg));
        CHECK(aborts(get_wrong_type, cfg));
        CHECK(!aborts(get_right, cfg));
        mer_config_free(cfg);
    }
}

int main(void)
{
    defaults();
    files();
    sets();
    load_write();
    paths();
    getters();
    return test_report();
}
