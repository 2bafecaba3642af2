/* Label CSVs (MER2024's label-disdim.csv and manifests) and the labels store. */
#include "mer/error.h"
#include "mer/labels.h"
#include "mer/store.h"
#include "testhelp.h"

/* Writes text to <tmp>/<name> and returns the path (static buffer, one at a time). */
static const char *write_csv(const char *name, const char *text)
{
    static char path[4200];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
    f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Reads a CSV with params p (NULL: defaults); NULL on error (mer_errmsg). */
static struct mer_labels *read_csv(const char *name, const char *text,
                                   const struct mer_labels_params *p)
{
    struct mer_labels_params def = mer_labels_default_params();
    struct mer_labels *l = NULL;
    mer_error_clear();
    if (mer_labels_from_csv(&l, write_csv(name, text), p ? p : &def) < 0)
        return NULL;
    return l;
}

/* The error after reading text as <tmp>/bad.csv, with "<tmp>/" cut from the message. */
static const char *csv_error(const char *text, const struct mer_labels_params *p)
{
    static char msg[2048];
    struct mer_labels *l = read_csv("bad.csv", text, p);
    const char *m = mer_errmsg(), *dir = test_tmpdir(), *at = strstr(m, dir);
    mer_labels_free(l);
    if (l)
        return "(read)";
    if (at)
        snprintf(msg, sizeof(msg), "%.*s%s", (int)(at - m), m, at + strlen(dir) + 1);
    else
        snprintf(msg, sizeof(msg), "%s", m);
    return msg;
}

static void mer2024(void)
{
    TEST("MER2024 label-disdim.csv: default classes, split train, valence")
    {
        struct mer_labels *l = read_csv("disdim.csv",
                                        "name,discrete,valence\n"
                                        "sample_00000001,neutral,-0.52\n"
                                        "sample_00000002,happy,3.38\n"
                                        "sample_00000003,surprise,\n"
                                        "sample_00000004,,1\n",
                                        NULL);
        CHECK(l != NULL);
        if (!l)
            return;
        CHECK_EQ_STR(l->layout, "mer2024");
        CHECK_EQ_INT(l->n, 4);
        CHECK_EQ_INT(l->n_classes, 6);
        CHECK_EQ_STR(l->classes[0], "neutral");
        CHECK_EQ_STR(l->classes[3], "sad");
        CHECK_EQ_STR(l->classes[5], "surprise");
        CHECK_EQ_STR(l->names[1], "sample_00000002");
        CHECK_EQ_INT(l->label[0], 0);
        CHECK_EQ_INT(l->label[1], 2);
        CHECK_EQ_INT(l->label[2], 5);
        CHECK_EQ_INT(l->label[3], -1); /* empty label: unlabeled */
        CHECK_NEAR(l->valence[0], -0.52, 1e-6);
        CHECK(isnan(l->valence[2])); /* empty valence: absent */
        CHECK_EQ_INT(l->n_splits, 1);
        CHECK_EQ_STR(l->splits[0], "train");
        CHECK_EQ_INT(l->split[3], 0);
        CHECK_EQ_INT(mer_labels_count(l, 0, 2), 1);
        CHECK_EQ_INT(mer_labels_count(l, 0, -1), 1);
        mer_labels_free(l);
        mer_labels_free(NULL);
    }
    TEST("columns in any order, extra columns ignored, a BOM and CRLF (Excel)")
    {
        struct mer_labels *l = read_csv("excel.csv",
                                        "\xef\xbb\xbf"
                                        "valence,extra,discrete,name\r\n"
                                        "1.5,\"x, y\",worried,a\r\n"
                                        "-2,,sad,b\r\n",
                                        NULL);
        CHECK(l != NULL);
        if (!l)
            return;
        CHECK_EQ_STR(l->names[0], "a");
        CHECK_EQ_INT(l->label[0], 4);
        CHECK_EQ_INT(l->label[1], 3);
        CHECK_NEAR(l->valence[1], -2, 0);
        mer_labels_free(l);
    }
}

static void manifest(void)
{
    TEST("manifest: name,label,valence,split; splits in order of first appearance")
    {
        struct mer_labels *l = read_csv("manifest.csv",
                                        "name,label,valence,split\n"
                                        "a,angry,1,test1\n"
                                        "b,happy,,train\n"
                                        "c,,,test2\n"
                                        "d,sad,0.5,\n"
                                        "e,angry,2,test1\n",
                                        NULL);
        CHECK(l != NULL);
        if (!l)
            return;
        CHECK_EQ_STR(l->layout, "manifest");
        CHECK_EQ_INT(l->n_splits, 3);
        CHECK_EQ_STR(l->splits[0], "test1");
        CHECK_EQ_STR(l->splits[1], "train");
        CHECK_EQ_STR(l->splits[2], "test2");
        CHECK_EQ_INT(l->split[0], 0);
        CHECK_EQ_INT(l->split[2], 2);
        CHECK_EQ_INT(l->split[3], 1); /* empty split cell: the default split */
        CHECK_EQ_INT(l->split[4], 0);
        CHECK_EQ_INT(l->label[2], -1);
        CHECK_EQ_INT(mer_labels_count(l, 0, 1), 2);
        mer_labels_free(l);
    }
    TEST("manifest without valence or split; --split for every row")
    {
        struct mer_labels_params p = mer_labels_default_params();
        struct mer_labels *l;
        p.default_split = "test";
        l = read_csv("m2.csv", "name,label\nx,happy\ny,\n", &p);
        CHECK(l != NULL);
        if (!l)
            return;
        CHECK_EQ_INT(l->n_splits, 1);
        CHECK_EQ_STR(l->splits[0], "test");
        CHECK(isnan(l->valence[0]));
        mer_labels_free(l);
    }
    TEST("a class list of one's own; or open classes in order of appearance")
    {
        const char *classes[] = {"pos", "neg"};
        struct mer_labels_params p = mer_labels_default_params();
        struct mer_labels *l;
        p.classes = classes;
        p.n_classes = 2;
        l = read_csv("own.csv", "name,label\nx,neg\ny,pos\n", &p);
        CHECK(l != NULL);
        CHECK_EQ_INT(l ? l->label[0] : -9, 1);
        mer_labels_free(l);
        p.n_classes = 0;
        l = read_csv("open.csv", "name,label\nx,zeta\ny,alpha\nz,zeta\n", &p);
        CHECK(l != NULL);
        if (!l)
            return;
        CHECK_EQ_INT(l->n_classes, 2);
        CHECK_EQ_STR(l->classes[0], "zeta");
        CHECK_EQ_INT(l->label[1], 1);
        CHECK_EQ_INT(l->label[2], 0);
        mer_labels_free(l);
    }
}

static void errors(void)
{
    TEST("a missing column names the file and the column")
    {
        CHECK_EQ_STR(csv_error("name,valence\nx,1\n", NULL),
                     "'bad.csv':1: missing column 'label' (expected a header name,discrete,valence "
                     "as in MER2024's label-disdim.csv, or name,label[,valence][,split])");
        CHECK(strstr(csv_error("file,discrete\nx,happy\n", NULL),
                     "'bad.csv':1: missing column 'name'") != NULL);
        /* No header at all: the first row is taken as one and lacks the columns. */
        CHECK(strstr(csv_error("sample_1,happy,1\n", NULL), "missing column 'name'") != NULL);
        CHECK_EQ_STR(csv_error("name,label,name\n", NULL),
                     "'bad.csv':1: column 'name' appears twice in the header");
    }
    TEST("an unknown label names file:line and lists the classes")
    {
        CHECK_EQ_STR(csv_error("name,discrete,valence\na,happy,1\nb,joyful,2\n", NULL),
                     "'bad.csv':3: unknown label 'joyful' (classes: neutral, angry, happy, sad, "
                     "worried, surprise)");
        CHECK(strstr(csv_error("name,label\na,Happy\n", NULL), "unknown label 'Happy'") != NULL);
    }
    TEST("a duplicate sample names both lines")
    {
        CHECK_EQ_STR(csv_error("name,label\na,happy\nb,sad\n\"x\ny\",sad\nb,angry\n", NULL),
                     "'bad.csv':6: sample 'b' already appears on line 3");
    }
    TEST("ragged rows, empty names, bad valence")
    {
        CHECK_EQ_STR(csv_error("name,label,valence\na,happy\n", NULL),
                     "'bad.csv':2: 2 fields, the header has 3");
        CHECK_EQ_STR(csv_error("name,label\na,happy,1\n", NULL),
                     "'bad.csv':2: 3 fields, the header has 2");
        CHECK_EQ_STR(csv_error("name,label\n,happy\n", NULL), "'bad.csv':2: empty sample name");
        CHECK_EQ_STR(csv_error("name,label,valence\na,happy,high\n", NULL),
                     "'bad.csv':2: valence 'high' is not a finite number");
        CHECK(strstr(csv_error("name,label,valence\na,happy,nan\n", NULL), "'nan' is not") != NULL);
        CHECK(strstr(csv_error("name,label,valence\na,happy,inf\n", NULL), "'inf' is not") != NULL);
        CHECK(strstr(csv_error("name,label,valence\na,happy,1e39\n", NULL), "not a finite") !=
              NULL);
        CHECK(strstr(csv_error("name,label,valence\na,happy,1.5x\n", NULL), "not a finite") !=
              NULL);
    }
    TEST("empty files, header only, CSV syntax errors")
    {
        CHECK(strstr(csv_error("", NULL), "'bad.csv': empty file") != NULL);
        CHECK_EQ_STR(csv_error("name,label\n", NULL), "'bad.csv': no samples after the header");
        CHECK_EQ_STR(csv_error("name,label\na,\"happy\n", NULL),
                     "'bad.csv':2:3: unterminated quoted field (its quote opens here)");
        CHECK_EQ_STR(csv_error("name,label\na\xff,happy\n", NULL),
                     "'bad.csv':2:2: invalid UTF-8 (byte 0xff)");
    }
    TEST("bad parameters")
    {
        const char *dup[] = {"a", "b", "a"}, *empty[] = {"a", ""};
        struct mer_labels_params p = mer_labels_default_params();
        p.classes = dup;
        p.n_classes = 3;
        CHECK_EQ_STR(csv_error("name,label\nx,a\n", &p), "labels: class 'a' is listed twice");
        p.classes = empty;
        p.n_classes = 2;
        CHECK_EQ_STR(csv_error("name,label\nx,a\n", &p), "labels: class 1 has an empty name");
    }
}

static void store(void)
{
    TEST("write a labels store and read it back")
    {
        char path[4200];
        struct mer_labels *l = read_csv("rt.csv",
                                        "name,label,valence,split\n"
                                        "a,angry,1.25,train\n"
                                        "b,,,test\n"
                                        "c,surprise,-3,train\n",
                                        NULL),
                          *back = NULL;
        mer_st_file *f = NULL;
        CHECK(l != NULL);
        if (!l)
            return;
        snprintf(path, sizeof(path), "%s/labels.safetensors", test_tmpdir());
        CHECK(mer_labels_write(l, path, "{\"command\": \"test\"}") == 0);
        CHECK(mer_st_open(&f, path, MER_ST_VERIFY) == 0);
        if (f) {
            const struct mer_st_tensor *t = mer_st_find(f, "label");
            CHECK_EQ_STR(mer_st_meta(f, "mer.kind"), "labels");
            CHECK_EQ_STR(mer_st_meta(f, "mer.ids"), "[\"a\",\"b\",\"c\"]");
            CHECK_EQ_STR(mer_st_meta(f, "mer.classes"),
                         "[\"neutral\",\"angry\",\"happy\",\"sad\",\"worried\",\"surprise\"]");
            CHECK_EQ_STR(mer_st_meta(f, "mer.splits"), "[\"train\",\"test\"]");
            CHECK_EQ_STR(mer_st_meta(f, "mer.provenance"), "{\"command\": \"test\"}");
            CHECK(t && t->dtype == MER_DTYPE_I64 && t->ndim == 1 && t->shape[0] == 3);
            CHECK(mer_st_find(f, "valence") && mer_st_find(f, "valence")->dtype == MER_DTYPE_F32);
            mer_st_close(f);
        }
        CHECK(mer_labels_read_store(&back, path) == 0);
        if (back) {
            CHECK_EQ_STR(back->layout, "store");
            CHECK_EQ_INT(back->n, 3);
            CHECK_EQ_STR(back->names[2], "c");
            CHECK_EQ_INT(back->label[0], 1);
            CHECK_EQ_INT(back->label[1], -1);
            CHECK_EQ_INT(back->label[2], 5);
            CHECK_NEAR(back->valence[0], 1.25, 0);
            CHECK(isnan(back->valence[1]));
            CHECK_EQ_INT(back->split[1], 1);
            CHECK_EQ_INT(back->n_classes, 6);
            CHECK_EQ_STR(back->splits[1], "test");
        }
        mer_labels_free(back);
        mer_labels_free(l);
    }
    TEST("reading a store that is not a labels store")
    {
        char path[4200];
        struct mer_labels *l = NULL;
        mer_st_writer *w = mer_st_writer_new();
        float x[2] = {1, 2};
        int64_t shape[2] = {1, 2};
        snprintf(path, sizeof(path), "%s/features.safetensors", test_tmpdir());
        CHECK(w != NULL);
        CHECK(mer_st_writer_add(w, "features", MER_DTYPE_F32, 2, shape, x) == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.kind", "features") == 0);
        CHECK(mer_st_writer_write(w, path) == 0);
        mer_st_writer_free(w);
        CHECK(mer_labels_read_store(&l, path) == -1);
        CHECK(strstr(mer_errmsg(), "not a labels store (mer.kind is 'features')") != NULL);
        CHECK(l == NULL);
    }
    TEST("a labels store whose label is out of the class range")
    {
        char path[4200];
        struct mer_labels *l = NULL;
        mer_st_writer *w = mer_st_writer_new();
        int64_t label[2] = {0, 7}, split[2] = {0, 0}, shape[1] = {2};
        snprintf(path, sizeof(path), "%s/bad-labels.safetensors", test_tmpdir());
        CHECK(mer_st_writer_add(w, "label", MER_DTYPE_I64, 1, shape, label) == 0);
        CHECK(mer_st_writer_add(w, "split", MER_DTYPE_I64, 1, shape, split) == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.kind", "labels") == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.ids", "[\"a\",\"b\"]") == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.classes", "[\"x\",\"y\"]") == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.splits", "[\"train\"]") == 0);
        CHECK(mer_st_writer_write(w, path) == 0);
        mer_st_writer_free(w);
        CHECK(mer_labels_read_store(&l, path) == -1);
        CHECK(strstr(mer_errmsg(), "sample 'b': label 7 is not a class index (2 classes)") != NULL);
    }
}

/* Split and class names become file names: unsafe ones are refused where they come in. */
static void names(void)
{
    TEST("a split that climbs out of the run directory names file:line")
    {
        CHECK_EQ_STR(
            csv_error("name,label,split\na,happy,train\nb,sad,../../../escape/pwned\n", NULL),
            "'bad.csv':3: split '../../../escape/pwned': may not start with '.' (names "
            "become file names)");
        CHECK(strstr(csv_error("name,label,split\na,happy,x/y\n", NULL),
                     "'bad.csv':2: split 'x/y': character '/' is not allowed") != NULL);
        CHECK(strstr(csv_error("name,label,split\na,happy,\"a b\"\n", NULL),
                     "'bad.csv':2: split 'a b': character ' ' is not allowed") != NULL);
    }
    TEST("open classes and given classes are checked too; Chinese names pass")
    {
        const char *bad[] = {"ok", "../x"}, *zh[] = {"\xe5\xbc\x80\xe5\xbf\x83", "sad"};
        struct mer_labels_params p = mer_labels_default_params();
        struct mer_labels *l;
        p.n_classes = 0;
        CHECK_EQ_STR(csv_error("name,label\na,happy\nb,..\n", &p),
                     "'bad.csv':3: class '..': may not start with '.' (names become file names)");
        p.classes = bad;
        p.n_classes = 2;
        CHECK(strstr(csv_error("name,label\na,ok\n", &p), "labels: class '../x': may not") != NULL);
        p.classes = zh;
        l = read_csv("zh.csv", "name,label,split\na,\xe5\xbc\x80\xe5\xbf\x83,\xe8\xae\xad\n", &p);
        CHECK(l != NULL);
        mer_labels_free(l);
        p = mer_labels_default_params();
        p.default_split = "../up";
        CHECK(strstr(csv_error("name,label\na,happy\n", &p),
                     "labels: the default split: split '../up': may not") != NULL);
    }
    TEST("a labels store with an unsafe split or class name (another writer) is refused")
    {
        char path[4200];
        struct mer_labels *l = NULL;
        mer_st_writer *w = mer_st_writer_new();
        int64_t label[1] = {0}, split[1] = {0}, shape[1] = {1};
        snprintf(path, sizeof(path), "%s/hostile.safetensors", test_tmpdir());
        CHECK(mer_st_writer_add(w, "label", MER_DTYPE_I64, 1, shape, label) == 0);
        CHECK(mer_st_writer_add(w, "split", MER_DTYPE_I64, 1, shape, split) == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.kind", "labels") == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.ids", "[\"a\"]") == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.classes", "[\"x\"]") == 0);
        CHECK(mer_st_writer_set_meta(w, "mer.splits", "[\"../../escape\"]") == 0);
        CHECK(mer_st_writer_write(w, path) == 0);
        mer_st_writer_free(w);
        CHECK(mer_labels_read_store(&l, path) == -1);
        CHECK(strstr(mer_errmsg(), "hostile.safetensors': metadata 'mer.splits': split "
                                   "'../../escape': may not start with '.'") != NULL);
        CHECK(l == NULL);
    }
}

/* MER2024's test clips come as a list of names, added as unlabeled samples of their split. */
static void test_names(void)
{
    TEST("a name list (one a line, or a CSV with a name column) adds unlabeled samples")
    {
        struct mer_labels *l =
            read_csv("disdim.csv", "name,discrete,valence\na,happy,1\nb,sad,2\n", NULL);
        CHECK(l != NULL);
        if (!l)
            return;
        CHECK(mer_labels_add_unlabeled(l, write_csv("names.txt", "t1\r\nt2\n\nt3\n"), "test1") ==
              0);
        CHECK(mer_labels_add_unlabeled(l, write_csv("names.csv", "id,name\n9,t4\n"), "test2") == 0);
        CHECK_EQ_INT(l->n, 6);
        CHECK_EQ_INT(l->n_splits, 3);
        CHECK_EQ_STR(l->names[2], "t1");
        CHECK_EQ_STR(l->names[4], "t3");
        CHECK_EQ_STR(l->names[5], "t4");
        CHECK_EQ_INT(l->label[3], -1);
        CHECK(isnan(l->valence[3]));
        CHECK_EQ_STR(l->splits[l->split[3]], "test1");
        CHECK_EQ_STR(l->splits[l->split[5]], "test2");
        CHECK_EQ_INT(mer_labels_count(l, 1, -1), 3);
        mer_labels_free(l);
    }
    TEST("names already labeled, listed twice, empty, or without a name column")
    {
        const char *dir = test_tmpdir();
        struct mer_labels *l = read_csv("disdim.csv", "name,discrete,valence\na,happy,1\n", NULL);
        char want[4400];
        CHECK(l != NULL);
        if (!l)
            return;
        CHECK(mer_labels_add_unlabeled(l, write_csv("n1.txt", "x\na\n"), "test") == -1);
        snprintf(want, sizeof(want),
                 "'%s/n1.txt':2: sample 'a' is already in the labels (split "
                 "'train', label 'happy')",
                 dir);
        CHECK_EQ_STR(mer_errmsg(), want);
        mer_labels_free(l);
        l = read_csv("disdim.csv", "name,discrete,valence\na,happy,1\n", NULL);
        CHECK(mer_labels_add_unlabeled(l, write_csv("n2.txt", "x\ny\nx\n"), "test") == -1);
        CHECK(strstr(mer_errmsg(), "n2.txt':3: sample 'x' already appears on line 1") != NULL);
        mer_labels_free(l);
        l = read_csv("disdim.csv", "name,discrete,valence\na,happy,1\n", NULL);
        CHECK(mer_labels_add_unlabeled(l, write_csv("n3.csv", "clip,x\nq,1\n"), "test") == -1);
        CHECK(strstr(mer_errmsg(), "n3.csv':1: no 'name' column (expected one sample name a line, "
                                   "or a CSV with a 'name' column)") != NULL);
        CHECK(mer_labels_add_unlabeled(l, write_csv("n4.csv", "name,x\n,1\n"), "test") == -1);
        CHECK(strstr(mer_errmsg(), "n4.csv':2: empty sample name") != NULL);
        CHECK(mer_labels_add_unlabeled(l, write_csv("n5.csv", "x\n"), "../t") == -1);
        CHECK(strstr(mer_errmsg(), "split '../t': may not start") != NULL);
        mer_labels_free(l);
    }
    TEST("unlabeled samples in the training split are a warning, not an error")
    {
        struct mer_labels *l = read_csv("app.csv", "name,discrete,valence\na,happy,1\nt,,\n", NULL);
        CHECK(l != NULL);
        if (!l)
            return;
        mer_warn_clear();
        mer_labels_warn_unlabeled(l, "dev", "app.csv"); /* no such split: nothing */
        CHECK_EQ_INT(mer_warn_count(), 0);
        mer_labels_warn_unlabeled(l, "train", "app.csv");
        CHECK_EQ_INT(mer_warn_count(), 1);
        CHECK(strstr(mer_warn_get(0), "'app.csv': 1 of the 2 samples of the training split "
                                      "'train' are unlabeled: training skips them") != NULL);
        mer_warn_clear();
        CHECK_EQ_INT(mer_warn_count(), 0);
        mer_labels_free(l);
    }
}

int main(void)
{
    mer2024();
    manifest();
    errors();
    store();
    names();
    test_names();
    return test_report();
}
