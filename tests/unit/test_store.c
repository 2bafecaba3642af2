/* Safetensors files and feature stores: round trips, sharding, every kind of damage, and
 * interop with numpy (tests/oracle/store_interop.py). */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"
#include "mer/strv.h"
#include "testhelp.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char *path_in_tmp(const char *name)
{
    return mer_path_join(test_tmpdir(), name);
}

/* The message is one line, names the file, and contains want. */
static void expect_msg(const char *file, const char *want)
{
    const char *msg = mer_errmsg();
    CHECK(strchr(msg, '\n') == NULL);
    if (!strstr(msg, file) || !strstr(msg, want)) {
        fprintf(stderr, "  message: %s\n  wanted:  '%s' and '%s'\n", msg, file, want);
        CHECK(0);
    }
}

/* No "*.tmp.*" left behind in the scratch directory (the atomic writer's temporaries). */
static int temporaries_left(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void round_trip(void)
{
    float f32[6] = {1, -2, 3.5f, 0, 1e-3f, 65504};
    uint16_t f16[3] = {mer_f32_to_f16(1.5f), mer_f32_to_f16(-0.25f), mer_f32_to_f16(2048)};
    int64_t i64[2] = {-1, 1LL << 40}, s23[2] = {2, 3}, s3[1] = {3}, s2[1] = {2}, s04[2] = {0, 4};
    double scalar = 3.25;
    char *p = path_in_tmp("rt.safetensors"), *bytes = NULL;
    size_t size = 0;
    mer_st_writer *w = mer_st_writer_new();
    mer_st_file *f = NULL, *m = NULL;
    const struct mer_st_tensor *t;
    const char *k, *v;
    CHECK(mer_st_writer_add(w, "a", MER_DTYPE_F32, 2, s23, f32) == 0);
    CHECK(mer_st_writer_add(w, "h", MER_DTYPE_F16, 1, s3, f16) == 0);
    CHECK(mer_st_writer_add(w, "i", MER_DTYPE_I64, 1, s2, i64) == 0);
    CHECK(mer_st_writer_add(w, "none", MER_DTYPE_F32, 2, s04, NULL) == 0); /* empty is fine */
    CHECK(mer_st_writer_add(w, "s", MER_DTYPE_F64, 0, NULL, &scalar) == 0);
    CHECK(mer_st_writer_add(w, "a", MER_DTYPE_F32, 1, s2, f32) == -1);
    CHECK(mer_st_writer_set_meta(w, "k", "v1") == 0);
    CHECK(mer_st_writer_set_meta(w, "k", "v2") == 0);
    CHECK(mer_st_writer_set_meta(w, "unicode", "h\xc3\xa9llo \"q\"\n") == 0);
    CHECK(mer_st_writer_write(w, p) == 0);
    mer_st_writer_free(w);
    CHECK_EQ_INT(temporaries_left(test_tmpdir()), 0);
    CHECK(mer_st_open(&f, p, MER_ST_VERIFY | MER_ST_REQUIRE_MER) == 0);
    if (!f)
        return;
    CHECK_EQ_INT(mer_st_n_tensors(f), 5);
    CHECK_EQ_STR(mer_st_meta(f, "k"), "v2");
    CHECK_EQ_STR(mer_st_meta(f, "unicode"), "h\xc3\xa9llo \"q\"\n");
    CHECK_EQ_STR(mer_st_meta(f, "mer.format"), "mer-store");
    CHECK_EQ_STR(mer_st_meta(f, "mer.version"), "1");
    CHECK(!strncmp(mer_st_meta(f, "mer.checksum"), "xxh64:", 6));
    CHECK(mer_st_has_checksum(f));
    CHECK(mer_st_verify(f) == 0);
    CHECK_EQ_INT(mer_st_header_size(f) % 8, 0); /* the data section starts 8-aligned */
    CHECK_EQ_INT(mer_st_data_size(f), sizeof(f32) + sizeof(f16) + sizeof(i64) + 8);
    /* File order is data order. */
    CHECK_EQ_STR(mer_st_tensor_at(f, 0)->name, "a");
    CHECK_EQ_STR(mer_st_tensor_at(f, 4)->name, "s");
    CHECK(mer_st_tensor_at(f, 5) == NULL);
    t = mer_st_find(f, "a");
    CHECK(t && t->ndim == 2 && t->shape[1] == 3 && t->numel == 6 &&
          !memcmp(t->data, f32, sizeof(f32)));
    t = mer_st_find(f, "h");
    CHECK(t && t->dtype == MER_DTYPE_F16 && t->nbytes == 6 && !memcmp(t->data, f16, 6));
    t = mer_st_find(f, "i");
    CHECK(t && t->dtype == MER_DTYPE_I64 && !memcmp(t->data, i64, sizeof(i64)));
    t = mer_st_find(f, "none");
    CHECK(t && t->numel == 0 && t->nbytes == 0 && t->shape[1] == 4);
    t = mer_st_find(f, "s");
    CHECK(t && t->ndim == 0 && t->numel == 1 && !memcmp(t->data, &scalar, 8));
    CHECK(mer_st_find(f, "zzz") == NULL);
    CHECK(mer_st_n_meta(f) == 5);
    mer_st_meta_at(f, 0, &k, &v);
    CHECK(k && v);
    mer_st_meta_at(f, 99, &k, &v);
    CHECK(k == NULL && v == NULL);
    /* The same bytes in memory. */
    CHECK(mer_read_file(p, &bytes, &size) == 0);
    CHECK(mer_st_open_memory(&m, "mem", bytes, size, MER_ST_VERIFY) == 0);
    CHECK(m && mer_st_n_tensors(m) == 5 && !strcmp(mer_st_path(m), "mem"));
    mer_st_close(m);
    mer_st_close(f);
    mer_st_close(NULL);
    free(bytes);
    free(p);
}

static void writer_refuses(void)
{
    mer_st_writer *w = mer_st_writer_new();
    int64_t neg[1] = {-1}, big[2] = {INT64_MAX / 2, 4}, one[1] = {1};
    float x = 0;
    char *p = path_in_tmp("no/such/dir/x.safetensors");
    CHECK(mer_st_writer_add(w, "n", MER_DTYPE_F32, 1, neg, &x) == -1);
    CHECK(strstr(mer_errmsg(), "negative size") != NULL);
    CHECK(mer_st_writer_add(w, "b", MER_DTYPE_F32, 2, big, &x) == -1);
    CHECK(strstr(mer_errmsg(), "too large") != NULL);
    CHECK(mer_st_writer_add(w, "d", MER_DTYPE_F32, 9, one, &x) == -1);
    CHECK(mer_st_writer_add(w, "u", (enum mer_dtype)99, 1, one, &x) == -1);
    CHECK(mer_st_writer_add(w, "z", MER_DTYPE_F32, 1, one, NULL) == -1);
    CHECK(mer_st_writer_add(w, "__metadata__", MER_DTYPE_F32, 1, one, &x) == -1);
    CHECK(mer_st_writer_add(w, "", MER_DTYPE_F32, 1, one, &x) == -1);
    CHECK(mer_st_writer_set_meta(w, "k", NULL) == -1);
    CHECK(mer_st_writer_add(w, "ok", MER_DTYPE_F32, 1, one, &x) == 0);
    CHECK(mer_st_writer_write(w, p) == -1);
    expect_msg(p, "cannot write");
    mer_st_writer_free(w);
    mer_st_writer_free(NULL);
    free(p);
}

/* Nothing goes into a header that a JSON reader would refuse: every name and value is UTF-8
 * (a Latin-1 file name, say, is refused by name, escaped, and nothing is written). */
static void writer_refuses_bad_text(void)
{
    int64_t one[1] = {1};
    float x = 0;
    char *p = path_in_tmp("latin1.safetensors");
    mer_st_writer *w = mer_st_writer_new();
    CHECK(mer_st_writer_add(w, "ok", MER_DTYPE_F32, 1, one, &x) == 0);
    CHECK(mer_st_writer_set_meta(w, "mer.ids", "[\"a\",\"caf\xe9\"]") == 0);
    CHECK(mer_st_writer_write(w, p) == -1);
    expect_msg(p, "metadata 'mer.ids' is not valid UTF-8 (byte 9, near '[\"a\",\"caf\\xe9\"]')");
    CHECK(!mer_path_exists(p));
    CHECK_EQ_INT(temporaries_left(test_tmpdir()), 0);
    CHECK(mer_st_writer_set_meta(w, "mer.ids", "[\"a\",\"caf\xc3\xa9\"]") == 0);
    CHECK(mer_st_writer_add(w, "t\xff", MER_DTYPE_F32, 1, one, &x) == 0);
    CHECK(mer_st_writer_write(w, p) == -1);
    expect_msg(p, "a tensor name is not valid UTF-8 (byte 1, near 't\\xff')");
    mer_st_writer_free(w);
    w = mer_st_writer_new();
    CHECK(mer_st_writer_set_meta(w, "k\xc3", "v") == 0); /* a truncated sequence */
    CHECK(mer_st_writer_write(w, p) == -1);
    expect_msg(p, "a metadata key is not valid UTF-8 (byte 1");
    mer_st_writer_free(w);
    CHECK(!mer_path_exists(p));
    free(p);
}

/* Numbers in metadata are read whole, finite and in range, or refused by file and key. */
static void meta_numbers(void)
{
    char *p = path_in_tmp("meta.safetensors");
    mer_st_writer *w = mer_st_writer_new();
    mer_st_file *f = NULL;
    double d = -7;
    int64_t i = -7;
    CHECK(mer_st_writer_set_meta_num(w, "epoch", 12) == 0);
    CHECK(mer_st_writer_set_meta_num(w, "waf", 0.875) == 0);
    CHECK(mer_st_writer_set_meta(w, "huge", "1e300") == 0);
    CHECK(mer_st_writer_set_meta(w, "inf", "inf") == 0);
    CHECK(mer_st_writer_set_meta(w, "nan", "nan") == 0);
    CHECK(mer_st_writer_set_meta(w, "junk", "12abc") == 0);
    CHECK(mer_st_writer_set_meta(w, "half", "2.5") == 0);
    CHECK(mer_st_writer_write(w, p) == 0);
    mer_st_writer_free(w);
    CHECK(mer_st_open(&f, p, 0) == 0);
    if (!f)
        return;
    CHECK(mer_st_meta_int(f, "epoch", 0, 100, &i) == 0);
    CHECK_EQ_INT(i, 12);
    CHECK(mer_st_meta_number(f, "waf", -1, 1, &d) == 0);
    CHECK(d == 0.875);
    CHECK(mer_st_meta_int(f, "epoch", 0, 10, &i) == -1);
    expect_msg(p, "metadata 'epoch' is 12, outside 0 to 10");
    CHECK(mer_st_meta_int(f, "huge", 0, INT32_MAX, &i) == -1);
    expect_msg(p, "metadata 'huge' is 1.0000000000000001e+300, outside 0 to 2147483647");
    CHECK(mer_st_meta_number(f, "inf", 0, 1e308, &d) == -1);
    expect_msg(p, "metadata 'inf' is 'inf', not a finite number");
    CHECK(mer_st_meta_number(f, "nan", -1, 1, &d) == -1);
    expect_msg(p, "metadata 'nan' is 'nan', not a finite number");
    CHECK(mer_st_meta_number(f, "junk", 0, 100, &d) == -1);
    expect_msg(p, "metadata 'junk' is '12abc', not a finite number");
    CHECK(mer_st_meta_int(f, "half", 0, 10, &i) == -1);
    expect_msg(p, "metadata 'half' is 2.5, not a whole number");
    CHECK(mer_st_meta_number(f, "absent", 0, 1, &d) == -1);
    expect_msg(p, "metadata 'absent' is missing");
    CHECK_EQ_INT(i, 12); /* (failures leave *out alone) */
    mer_st_close(f);
    free(p);
}

static void meta_strings(void)
{
    char *p = path_in_tmp("strings.safetensors"), **v = NULL;
    const char *const ids[] = {"a", "b,c"};
    mer_st_writer *w = mer_st_writer_new();
    mer_st_file *f = NULL;
    size_t n = 7;
    CHECK(mer_st_writer_set_strings(w, "mer.ids", ids, 2) == 0);
    CHECK(mer_st_writer_set_meta(w, "mixed", "[\"a\", 1]") == 0);
    CHECK(mer_st_writer_set_meta(w, "object", "{\"a\": 1}") == 0);
    CHECK(mer_st_writer_write(w, p) == 0);
    mer_st_writer_free(w);
    CHECK(mer_st_open(&f, p, 0) == 0);
    if (!f)
        return;
    CHECK(mer_st_meta_strings(f, "mer.ids", &v, &n) == 0);
    CHECK(n == 2 && v && !strcmp(v[0], "a") && !strcmp(v[1], "b,c") && !v[2]);
    mer_strv_free(v, n);
    CHECK(mer_st_meta_strings(f, "mixed", &v, &n) == -1);
    expect_msg(p, "metadata 'mixed': item 1 is not a string");
    CHECK(v == NULL && n == 0);
    CHECK(mer_st_meta_strings(f, "object", &v, &n) == -1);
    expect_msg(p, "metadata 'object': expected a JSON array of strings");
    CHECK(mer_st_meta_strings(f, "absent", &v, &n) == -1);
    expect_msg(p, "metadata 'absent': missing");
    mer_st_close(f);
    free(p);
}

static void half_floats(void)
{
    static const struct {
        float f;
        uint16_t h;
    } exact[] = {
        {0.0f, 0x0000},
        {-0.0f, 0x8000},
        {1.0f, 0x3c00},
        {-2.0f, 0xc000},
        {0.5f, 0x3800},
        {65504.0f, 0x7bff},
        {6.103515625e-05f, 0x0400},        /* smallest normal */
        {5.9604644775390625e-08f, 0x0001}, /* smallest subnormal */
        {6.0975551605224609e-05f, 0x03ff}, /* largest subnormal */
        {0.333251953125f, 0x3555},
        {INFINITY, 0x7c00},
        {-INFINITY, 0xfc00},
    };
    for (size_t i = 0; i < MER_ARRAY_SIZE(exact); i++) {
        CHECK_EQ_INT(mer_f32_to_f16(exact[i].f), exact[i].h);
        CHECK(mer_f16_to_f32(exact[i].h) == exact[i].f);
    }
    CHECK(signbit(mer_f16_to_f32(0x8000)));
    CHECK_EQ_INT(mer_f32_to_f16(1e6f), 0x7c00); /* overflow -> inf */
    CHECK_EQ_INT(mer_f32_to_f16(-1e6f), 0xfc00);
    CHECK_EQ_INT(mer_f32_to_f16(65519.0f), 0x7bff);                 /* just below the tie */
    CHECK_EQ_INT(mer_f32_to_f16(65520.0f), 0x7c00);                 /* tie rounds up to inf */
    CHECK_EQ_INT(mer_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);       /* tie rounds to even */
    CHECK_EQ_INT(mer_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);       /* tie rounds to even */
    CHECK_EQ_INT(mer_f32_to_f16(1.0f + 1.5f / 2048), 0x3c01);       /* above the tie */
    CHECK_EQ_INT(mer_f32_to_f16(2.98023223876953125e-08f), 0x0000); /* half the subnormal: even */
    CHECK_EQ_INT(mer_f32_to_f16(2.99e-08f), 0x0001);                /* just above: rounds up */
    CHECK_EQ_INT(mer_f32_to_f16(1e-10f), 0x0000);                   /* underflow */
    CHECK_EQ_INT(mer_f32_to_f16(-1e-10f), 0x8000);
    CHECK_EQ_INT(mer_f32_to_f16(1e-45f), 0x0000);       /* float subnormal */
    CHECK_EQ_INT(mer_f32_to_f16(6.1e-05f), 0x03ff);     /* rounds to subnormal max */
    CHECK_EQ_INT(mer_f32_to_f16(6.1035e-05f), 0x0400);  /* carries to smallest normal */
    CHECK_EQ_INT(mer_f32_to_f16(NAN) & 0x7e00, 0x7e00); /* quiet NaN */
    CHECK_EQ_INT(mer_f32_to_f16(-NAN) & 0x8000, 0x8000);
    CHECK(isnan(mer_f16_to_f32(0x7e00)) && isnan(mer_f16_to_f32(0x7c01)));
    CHECK(isinf(mer_f16_to_f32(0xfc00)) && mer_f16_to_f32(0xfc00) < 0);
    for (unsigned h = 0; h < 0x10000; h++) { /* every non-NaN half survives the round trip */
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
            continue;
        if (mer_f32_to_f16(mer_f16_to_f32((uint16_t)h)) != h) {
            CHECK_EQ_INT(mer_f32_to_f16(mer_f16_to_f32((uint16_t)h)), h);
            break;
        }
    }
    {
        float in[3] = {1, -2, 0.5f}, back[3];
        unsigned char le[6];
        mer_f32_to_f16_n(le, in, 3);
        CHECK(le[0] == 0x00 && le[1] == 0x3c && le[2] == 0x00 && le[3] == 0xc0);
        mer_f16_to_f32_n(back, le, 3);
        CHECK(!memcmp(in, back, sizeof(in)));
    }
}

static void checksums(void)
{
    static const char nobody[] = "Nobody inspects the spammish repetition";
    unsigned char big[1000];
    struct mer_xxh64 s;
    uint64_t one;
    CHECK(mer_xxh64("", 0, 0) == 0xEF46DB3751D8E999ULL);
    CHECK(mer_xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5BULL);
    CHECK(mer_xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ULL);
    CHECK(mer_xxh64(nobody, strlen(nobody), 0) == 0xFBCEA83C8A378BF1ULL);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 131 + 7);
    one = mer_xxh64(big, sizeof(big), 0);
    for (size_t chunk = 1; chunk < 70; chunk += 3) { /* streaming in any chunks: same hash */
        mer_xxh64_init(&s, 0);
        for (size_t at = 0; at < sizeof(big); at += chunk)
            mer_xxh64_update(&s, big + at, at + chunk < sizeof(big) ? chunk : sizeof(big) - at);
        CHECK(mer_xxh64_digest(&s) == one);
    }
    CHECK(mer_checksum_update(MER_CHECKSUM_INIT, "", 0) == 0xcbf29ce484222325ULL);
    CHECK(mer_checksum_update(MER_CHECKSUM_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(mer_checksum_update(MER_CHECKSUM_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
}

/* Writes bytes to a file, opens it, and expects failure with a message containing want. */
static void expect_bad(const char *name, const void *bytes, size_t n, const char *want)
{
    char *p = path_in_tmp(name);
    mer_st_file *f = (mer_st_file *)1;
    CHECK(mer_write_file_atomic(p, bytes, n) == 0);
    CHECK(mer_st_open(&f, p, MER_ST_VERIFY) == -1);
    CHECK(f == NULL);
    expect_msg(p, want);
    free(p);
}

/* A file made of a header string and n data bytes. */
static size_t craft(unsigned char *buf, const char *header, size_t data)
{
    size_t h = strlen(header);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    memset(buf + 8 + h, 0x11, data);
    return 8 + h + data;
}

#define T1(dt, shape, off)                                                                         \
    "\"a\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" off "}"

static void crafted(void)
{
    static const struct {
        const char *name, *header;
        size_t data;
        const char *want;
    } cases[] = {
        {"lie", "{" T1("F32", "[2]", "[0,16]") "}", 8,
         "tensor 'a': data_offsets [0, 16] exceed the data section of 8 bytes"},
        {"size", "{" T1("F32", "[3]", "[0,8]") "}", 8, "shape and dtype need 12"},
        {"overlap",
         "{" T1("F32", "[2]", "[0,8]") ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
                                       "\"data_offsets\":[4,8]}}",
         8, "tensor 'b' starts at byte 4 of the data section, expected 8 (overlap or hole)"},
        {"hole", "{" T1("F32", "[1]", "[4,8]") "}", 8, "tensor 'a' starts at byte 4"},
        {"trailing", "{" T1("F32", "[1]", "[0,4]") "}", 8,
         "data section is 8 bytes but the tensors use 4 (trailing bytes)"},
        {"dup",
         "{" T1("F32", "[1]", "[0,4]") ",\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
                                       "\"data_offsets\":[4,8]}}",
         8, "tensor 'a' appears twice"},
        {"dupmeta", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
         "__metadata__ key 'k' appears twice"},
        {"twometa", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice"},
        {"dtype", "{" T1("Q7", "[1]", "[0,1]") "}", 1, "unsupported dtype 'Q7'"},
        {"nodtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "missing dtype"},
        {"notobj", "{\"a\":[1,2]}", 0, "tensor 'a' is not an object"},
        {"neg", "{" T1("F32", "[1,-1]", "[0,0]") "}", 0, "non-integer or negative size"},
        {"frac", "{" T1("F32", "[1.5]", "[0,0]") "}", 0, "non-integer or negative size"},
        {"strsize", "{" T1("F32", "[\"2\"]", "[0,0]") "}", 0, "non-integer or negative size"},
        {"huge", "{" T1("F32", "[4611686018427387904,4]", "[0,0]") "}", 0, "too large"},
        {"overflow", "{" T1("F32", "[4294967296,4294967296]", "[0,0]") "}", 0, "too large"},
        {"dims", "{" T1("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, "at most 8 sizes"},
        {"noshape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "shape must be"},
        {"offs1", "{" T1("F32", "[1]", "[0]") "}", 4, "data_offsets must be [begin, end]"},
        {"offsrev", "{" T1("F32", "[0]", "[4,0]") "}", 4, "data_offsets must be [begin, end]"},
        {"offsneg", "{" T1("F32", "[1]", "[-4,0]") "}", 4, "data_offsets must be [begin, end]"},
        {"offshuge", "{" T1("F32", "[1]", "[0,1e300]") "}", 4, "data_offsets must be"},
        {"json", "{\"a\": [1, 2", 0, "byte 18: header is not a JSON object"},
        {"notjson", "[1,2]", 0, "byte 8: the header does not start with '{'"},
        {"empty", "", 0, "does not start with '{'"},
        {"junk", "{}  x", 0, "byte 12: text after the header's JSON object"},
        {"twojson", "{}{}", 0, "text after the header's JSON object"},
        {"meta", "{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ 'k' is not a string"},
        {"metaarr", "{\"__metadata__\":[\"k\"]}", 0, "__metadata__ is not an object"},
        {"fmt", "{\"__metadata__\":{\"mer.format\":\"other\"}}", 0, "mer.format is 'other'"},
        {"ver", "{\"__metadata__\":{\"mer.format\":\"mer-store\",\"mer.version\":\"9\"}}", 0,
         "mer.version 9 is not supported by this mer"},
        {"verjunk", "{\"__metadata__\":{\"mer.format\":\"mer-store\",\"mer.version\":\"1x\"}}", 0,
         "mer.version 1x is not supported"},
        {"nosum", "{\"__metadata__\":{\"mer.format\":\"mer-store\",\"mer.version\":\"1\"}}", 0,
         "no mer.checksum"},
        {"algo",
         "{\"__metadata__\":{\"mer.format\":\"mer-store\",\"mer.version\":\"1\","
         "\"mer.checksum\":\"md5:00\"}}",
         0, "mer.checksum 'md5:00' names an unknown algorithm"},
        {"badsum",
         "{\"__metadata__\":{\"mer.checksum\":\"xxh64:0000000000000000\"}," T1("U8", "[3]",
                                                                               "[0,3]") "}",
         3, "checksum mismatch: the data section (3 bytes) hashes to xxh64:"},
        {"badfnv",
         "{\"__metadata__\":{\"mer.checksum\":\"fnv1a64:0000000000000000\"}," T1("U8", "[3]",
                                                                                 "[0,3]") "}",
         3, "checksum mismatch"},
    };
    unsigned char buf[4096];
    for (size_t i = 0; i < MER_ARRAY_SIZE(cases); i++) {
        char name[64];
        size_t n = craft(buf, cases[i].header, cases[i].data);
        snprintf(name, sizeof(name), "%s.st", cases[i].name);
        expect_bad(name, buf, n, cases[i].want);
    }
    /* A NUL inside the header (cJSON would stop there and see a shorter text). */
    {
        size_t n = craft(buf, "{\"a\":{}} ", 0);
        buf[8 + 8] = '\0';
        expect_bad("nul.st", buf, n, "byte 16: NUL byte in the header");
    }
    /* A header length beyond any real header, and one of 2^64 - 1. */
    memset(buf, 0xff, 16);
    expect_bad("hlen.st", buf, 16, "byte 0: header length 18446744073709551615, but only 8");
}

/* Legacy and foreign files that must open. */
static void accepted(void)
{
    unsigned char buf[512];
    char hdr[256];
    mer_st_file *f = NULL;
    size_t n;
    /* The first mer format: FNV-1a 64 over the data section (0x11 0x11 0x11). */
    snprintf(hdr, sizeof(hdr),
             "{\"__metadata__\":{\"mer.format\":\"mer-store\",\"mer.version\":\"1\","
             "\"mer.checksum\":\"fnv1a64:%016" PRIx64 "\"}," T1("U8", "[3]", "[0,3]") "}",
             mer_checksum_update(MER_CHECKSUM_INIT, "\x11\x11\x11", 3));
    n = craft(buf, hdr, 3);
    CHECK(mer_st_open_memory(&f, "fnv", buf, n, MER_ST_VERIFY | MER_ST_REQUIRE_MER) == 0);
    mer_st_close(f);
    /* No tensors and no metadata at all; whitespace padding after the object. */
    n = craft(buf, "{ }    \t\r\n", 0);
    CHECK(mer_st_open_memory(&f, "bare", buf, n, MER_ST_VERIFY) == 0);
    CHECK(f && mer_st_n_tensors(f) == 0 && !mer_st_has_checksum(f) && mer_st_verify(f) == 0);
    mer_st_close(f);
    CHECK(mer_st_open_memory(&f, "bare", buf, n, MER_ST_REQUIRE_MER) == -1);
    CHECK(strstr(mer_errmsg(), "not written by mer") != NULL);
    /* Empty tensors at the offset where another one starts, listed after it. */
    n = craft(buf,
              "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
              "\"e2\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[4,4]}}",
              4);
    CHECK(mer_st_open_memory(&f, "empties", buf, n, 0) == 0);
    CHECK(f && mer_st_n_tensors(f) == 3 && !strcmp(mer_st_tensor_at(f, 0)->name, "e"));
    mer_st_close(f);
}

/* Size of the data section of a safetensors file in memory. */
static size_t data_bytes(const unsigned char *file, size_t len)
{
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = (h << 8) | file[i];
    return len - 8 - (size_t)h;
}

static void damage(void)
{
    unsigned char *orig = NULL, *buf;
    size_t len = 0, refused = 0;
    char *p = path_in_tmp("rt.safetensors"), *dir = path_in_tmp("damage");
    CHECK(mer_read_file(p, (char **)&orig, &len) == 0);
    if (!orig)
        return;
    buf = malloc(len);
    memcpy(buf, orig, len);
    expect_bad("short.st", orig, 5, "5 bytes, too short for a safetensors file");
    expect_bad("trunc1.st", orig, 40, ", but only 32 bytes follow (truncated");
    expect_bad("trunc2.st", orig, len - 3, "(truncated?)");
    /* Cut anywhere: always refused, naming the file, never a crash. */
    for (size_t cut = 0; cut < len; cut++) {
        mer_st_file *f = NULL;
        refused += mer_st_open_memory(&f, "cut.st", orig, cut, MER_ST_VERIFY) == -1 &&
                   strstr(mer_errmsg(), "'cut.st'") == mer_errmsg();
        mer_st_close(f);
    }
    CHECK_EQ_INT(refused, len);
    /* One flipped bit in the data section: the checksum catches it, wherever it is. */
    refused = 0;
    for (size_t at = len - data_bytes(orig, len); at < len; at++) {
        mer_st_file *f = NULL;
        buf[at] ^= 0x04;
        refused += mer_st_open_memory(&f, "flip.st", buf, len, MER_ST_VERIFY) == -1 &&
                   strstr(mer_errmsg(), "checksum mismatch") != NULL;
        mer_st_close(f);
        CHECK(mer_st_open_memory(&f, "flip.st", buf, len, 0) == 0); /* structure still fine */
        mer_st_close(f);
        buf[at] ^= 0x04;
    }
    CHECK(refused > 0 && refused == data_bytes(orig, len));
    buf[len - 1] ^= 0x40;
    expect_bad("flip.st", buf, len, "checksum mismatch");
    free(buf);
    free(orig);
    free(dir);
    free(p);
}

/* A part with the given ids and [n, dim] features i * 10 + j (+ base). */
static int write_part(const char *path, const char *const *ids, size_t n, int64_t dim,
                      const int64_t *offsets, enum mer_dtype dt, float base)
{
    size_t rows = offsets ? (size_t)offsets[n] : n;
    float *x = malloc(rows * (size_t)dim * sizeof(float) + 1);
    struct mer_features_out o = {.ids = ids, .n = n, .dim = dim, .data = x, .offsets = offsets,
                                 .dtype = dt, .provenance = "{\"command\":\"test\"}"};
    int r;
    for (size_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < dim; j++)
            x[i * (size_t)dim + (size_t)j] = base + (float)(i * 10 + (size_t)j);
    r = mer_store_write_features(path, &o);
    free(x);
    return r;
}

static void feature_files(void)
{
    const char *ids[] = {"s1", "s2", "s3"};
    float row[8];
    int64_t off[4] = {0, 1, 3, 5}, bad_off[4] = {0, 2, 1, 5};
    char *file = path_in_tmp("feat.safetensors"), *seq = path_in_tmp("seq.safetensors");
    char *half = path_in_tmp("half.safetensors");
    mer_store *s = NULL;
    CHECK(write_part(file, ids, 3, 2, NULL, MER_DTYPE_F32, 0) == 0);
    CHECK(mer_store_open(&s, file, MER_ST_VERIFY) == 0);
    if (s) {
        CHECK_EQ_INT(mer_store_n_samples(s), 3);
        CHECK_EQ_INT(mer_store_n_parts(s), 1);
        CHECK_EQ_INT(mer_store_dim(s), 2);
        CHECK(!mer_store_is_sequence(s));
        CHECK_EQ_STR(mer_store_sample_id(s, 1), "s2");
        CHECK(mer_store_sample_id(s, 3) == NULL);
        CHECK_EQ_INT(mer_store_find_sample(s, "s3"), 2);
        CHECK_EQ_INT(mer_store_find_sample(s, "nope"), -1);
        CHECK_EQ_INT(mer_store_n_frames(s, 2), 1);
        CHECK(mer_store_read(s, 2, row) == 0 && row[0] == 20 && row[1] == 21);
        CHECK(mer_store_read(s, 3, row) == -1);
        CHECK_EQ_STR(mer_store_kind(s), "features");
        CHECK_EQ_STR(mer_store_meta(s, "mer.provenance"), "{\"command\":\"test\"}");
        CHECK(mer_store_verify(s) == 0);
    }
    mer_store_close(s);
    mer_store_close(NULL);
    /* float16: values that are exact in half come back exactly. */
    CHECK(write_part(half, ids, 3, 2, NULL, MER_DTYPE_F16, 0.5f) == 0);
    CHECK(mer_store_open(&s, half, MER_ST_VERIFY) == 0);
    if (s) {
        const struct mer_st_tensor *t = mer_st_find(mer_store_part(s, 0), "features");
        CHECK(t && t->dtype == MER_DTYPE_F16);
        CHECK(mer_store_read(s, 1, row) == 0 && row[0] == 10.5f && row[1] == 11.5f);
    }
    mer_store_close(s);
    /* Frame level: [sumT, D] + offsets. */
    CHECK(write_part(seq, ids, 3, 2, off, MER_DTYPE_F32, 0) == 0);
    CHECK(mer_store_open(&s, seq, MER_ST_VERIFY) == 0);
    if (s) {
        CHECK(mer_store_is_sequence(s));
        CHECK_EQ_INT(mer_store_n_frames(s, 0), 1);
        CHECK_EQ_INT(mer_store_n_frames(s, 1), 2);
        CHECK(mer_store_read(s, 1, row) == 0 && row[0] == 10 && row[1] == 11 && row[2] == 20 &&
              row[3] == 21);
    }
    mer_store_close(s);
    /* What the writer refuses. */
    CHECK(write_part(seq, ids, 3, 2, bad_off, MER_DTYPE_F32, 0) == -1);
    expect_msg(seq, "offsets decrease at sample 1");
    CHECK(write_part(seq, ids, 3, 2, NULL, MER_DTYPE_I64, 0) == -1);
    expect_msg(seq, "features must be stored as F32 or F16");
    CHECK(write_part(half, ids, 3, 2, NULL, MER_DTYPE_F16, 70000) == -1);
    expect_msg(half, "value 70000 at row 0, column 0 is beyond the float16 range");
    free(file);
    free(seq);
    free(half);
}

/* Writes a raw file with the given tensors and ids, as a damaged or foreign part would be. */
static void raw_part(const char *path, const char *ids, const char *kind, int64_t rows, int64_t dim,
                     const int64_t *offsets, int64_t n_offsets)
{
    mer_st_writer *w = mer_st_writer_new();
    int64_t shape[2] = {rows, dim}, oshape[1] = {n_offsets};
    float *x = calloc((size_t)(rows * dim) + 1, sizeof(float));
    CHECK(mer_st_writer_add(w, "features", MER_DTYPE_F32, 2, shape, x) == 0);
    if (offsets)
        CHECK(mer_st_writer_add(w, "offsets", MER_DTYPE_I64, 1, oshape, offsets) == 0);
    if (ids)
        CHECK(mer_st_writer_set_meta(w, "mer.ids", ids) == 0);
    CHECK(mer_st_writer_set_meta(w, "mer.kind", kind) == 0);
    CHECK(mer_st_writer_write(w, path) == 0);
    mer_st_writer_free(w);
    free(x);
}

/* Opening fails with a message naming file and containing want. */
static void expect_store_bad(const char *path, const char *file, const char *want)
{
    mer_store *s = (mer_store *)1;
    CHECK(mer_store_open(&s, path, MER_ST_VERIFY) == -1);
    expect_msg(file, want);
    if (s != (mer_store *)1)
        mer_store_close(s);
}

static void bad_parts(void)
{
    char *p = path_in_tmp("bad.safetensors");
    int64_t off_gap[3] = {1, 2, 3}, off_end[3] = {0, 1, 2}, off_ok[3] = {0, 1, 3};
    raw_part(p, NULL, "features", 2, 3, NULL, 0);
    expect_store_bad(p, p, "metadata 'mer.ids' missing or not a JSON array");
    raw_part(p, "[\"a\",\"b\"] junk", "features", 2, 3, NULL, 0);
    expect_store_bad(p, p, "metadata 'mer.ids' missing or not a JSON array");
    raw_part(p, "[\"a\",2]", "features", 2, 3, NULL, 0);
    expect_store_bad(p, p, "metadata 'mer.ids': item 1 is not a string");
    raw_part(p, "[\"a\",\"a\"]", "features", 2, 3, NULL, 0);
    expect_store_bad(p, p, "sample 'a' appears twice");
    raw_part(p, "[\"a\",\"b\",\"c\"]", "features", 2, 3, NULL, 0);
    expect_store_bad(p, p, "2 feature rows for 3 sample ids");
    raw_part(p, "[\"a\",\"b\"]", "features", 3, 3, off_gap, 3);
    expect_store_bad(p, p, "offsets[0] = 1 is out of order or range");
    raw_part(p, "[\"a\",\"b\"]", "features", 3, 3, off_end, 3);
    expect_store_bad(p, p, "offsets[2] = 2 is out of order or range (3 frames)");
    raw_part(p, "[\"a\",\"b\"]", "features", 3, 3, off_ok, 2);
    expect_store_bad(p, p, "tensor 'offsets' must be I64 [3]");
    free(p);
}

static void sharded(void)
{
    const char *ids[] = {"s1", "s2", "s3", "s4"};
    int64_t off[3] = {0, 2, 3};
    float row[8];
    char *dir = path_in_tmp("sharded"), *index = mer_path_join(dir, "index.json");
    char *p0 = mer_store_part_path(dir, 0), *p1 = mer_store_part_path(dir, 1);
    char *p2 = mer_store_part_path(dir, 2);
    mer_store *s = NULL;
    CHECK(p0 && strstr(p0, "sharded/part-00000.safetensors") != NULL);
    CHECK(mer_mkdir_p(dir) == 0);
    expect_store_bad(dir, dir, "not a store: no index.json");
    /* Part 0 and the index (as a sharded job writes them); part 1 not there yet. */
    CHECK(write_part(p0, ids, 2, 3, NULL, MER_DTYPE_F32, 0) == 0);
    CHECK(mer_store_write_index(dir, 3) == 0);
    expect_store_bad(dir, index, "part 'part-00001.safetensors' is missing");
    /* Part 1 is frame level (its inputs had frames), part 2 is empty (more shards than
     * samples): the store is frame level, and rows of part 0 are one frame each. */
    CHECK(write_part(p1, ids + 2, 2, 3, off, MER_DTYPE_F16, 100) == 0);
    CHECK(write_part(p2, ids, 0, 0, NULL, MER_DTYPE_F32, 0) == 0);
    CHECK(mer_store_open(&s, dir, MER_ST_VERIFY) == 0);
    if (s) {
        CHECK_EQ_INT(mer_store_n_parts(s), 3);
        CHECK_EQ_INT(mer_store_n_samples(s), 4);
        CHECK_EQ_INT(mer_store_dim(s), 3);
        CHECK(mer_store_is_sequence(s));
        CHECK_EQ_INT(mer_store_n_frames(s, 1), 1);
        CHECK_EQ_INT(mer_store_n_frames(s, 2), 2);
        CHECK_EQ_INT(mer_store_n_frames(s, 3), 1);
        CHECK(mer_store_read(s, 1, row) == 0 && row[0] == 10 && row[2] == 12);
        CHECK(mer_store_read(s, (size_t)mer_store_find_sample(s, "s3"), row) == 0 &&
              row[0] == 100 && row[3] == 110 && row[5] == 112);
        CHECK(mer_store_read(s, 3, row) == 0 && row[0] == 120);
        CHECK(mer_store_verify(s) == 0);
    }
    mer_store_close(s);
    /* A corrupted part: open with MER_ST_VERIFY refuses; without it, mer_store_verify does. */
    {
        char *bytes = NULL;
        size_t size = 0;
        CHECK(mer_read_file(p1, &bytes, &size) == 0);
        if (bytes) {
            bytes[size - 25] ^= 1; /* in features (offsets I64 [3] are the last 24 bytes) */
            CHECK(mer_write_file_atomic(p1, bytes, size) == 0);
            expect_store_bad(dir, p1, "checksum mismatch");
            CHECK(mer_store_open(&s, dir, 0) == 0);
            CHECK(s && mer_store_verify(s) == -1);
            expect_msg(p1, "checksum mismatch");
            mer_store_close(s);
            bytes[size - 25] ^= 1;
            CHECK(mer_write_file_atomic(p1, bytes, size) == 0);
        }
        free(bytes);
    }
    /* Parts that do not fit together. */
    CHECK(write_part(p2, ids + 3, 1, 4, NULL, MER_DTYPE_F32, 0) == 0);
    expect_store_bad(dir, p2, "features [.., 4] do not match the other parts' [.., 3]");
    CHECK(write_part(p2, ids, 1, 3, NULL, MER_DTYPE_F32, 0) == 0);
    expect_store_bad(dir, dir, "sample 's1' appears twice");
    raw_part(p2, "[\"s9\"]", "labels", 1, 3, NULL, 0);
    expect_store_bad(dir, p2, "mer.kind 'labels' differs from the first part's 'features'");
    /* Indexes that are not ones. */
    CHECK(mer_write_file_atomic(index, "{\"parts\": []", 12) == 0);
    expect_store_bad(dir, index, "not a mer store index");
    {
        const char *text = "{\"mer.format\":\"mer-store-index\",\"mer.version\":1,\"parts\":[]}";
        CHECK(mer_write_file_atomic(index, text, strlen(text)) == 0);
        expect_store_bad(dir, dir, "the index lists no parts");
        text = "{\"mer.format\":\"mer-store-index\",\"mer.version\":1,"
               "\"parts\":[\"../feat.safetensors\"]}";
        CHECK(mer_write_file_atomic(index, text, strlen(text)) == 0);
        expect_store_bad(dir, index, "parts must be file names in the same directory");
        text = "{\"mer.format\":\"mer-store-index\",\"mer.version\":2,\"parts\":[]}";
        CHECK(mer_write_file_atomic(index, text, strlen(text)) == 0);
        expect_store_bad(dir, index, "mer.version is not one this mer reads");
    }
    CHECK_EQ_INT(temporaries_left(dir), 0);
    free(p0);
    free(p1);
    free(p2);
    free(index);
    free(dir);
}

/* ---- interop with numpy (tests/oracle/store_interop.py) ---- */

static int oracle(const char *verb, const char *path)
{
    char *cmd = mer_strfmt("'%s' '%s/tests/oracle/store_interop.py' %s '%s'", MER_TEST_PYTHON,
                           MER_TEST_SOURCE_DIR, verb, path ? path : "");
    int r = system(cmd);
    free(cmd);
    return r;
}

static int64_t get_i64(const struct mer_st_tensor *t, size_t i)
{
    int64_t v;
    memcpy(&v, (const char *)t->data + 8 * i, 8);
    return v;
}

static float get_f32(const struct mer_st_tensor *t, size_t i)
{
    float v;
    memcpy(&v, (const char *)t->data + 4 * i, 4);
    return v;
}

/* What a numpy script wrote without mer's keys; contents as store_interop.py's. */
static void read_foreign(void)
{
    char *p = path_in_tmp("foreign.safetensors");
    mer_st_file *f = NULL;
    const struct mer_st_tensor *t;
    const unsigned char *u8;
    double d;
    CHECK(oracle("write-foreign", p) == 0);
    CHECK(mer_st_open(&f, p, MER_ST_VERIFY) == 0);
    if (!f)
        goto done;
    CHECK_EQ_INT(mer_st_n_tensors(f), 6);
    CHECK_EQ_STR(mer_st_meta(f, "format"), "pt");
    CHECK(!mer_st_has_checksum(f));
    t = mer_st_find(f, "weight");
    CHECK(t && t->dtype == MER_DTYPE_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    for (size_t i = 0; t && i < 6; i++)
        CHECK(get_f32(t, i) == (float)i * 0.5f - 1);
    t = mer_st_find(f, "half");
    CHECK(t && t->dtype == MER_DTYPE_F16 && t->numel == 4);
    if (t) {
        float h[4];
        mer_f16_to_f32_n(h, t->data, 4);
        CHECK(h[0] == 1 && h[1] == -2 && h[2] == 0.5f && h[3] == 65504);
    }
    t = mer_st_find(f, "index");
    CHECK(t && t->dtype == MER_DTYPE_I64 && get_i64(t, 0) == -1 && get_i64(t, 2) == 1LL << 40);
    t = mer_st_find(f, "bytes");
    u8 = t ? t->data : NULL;
    CHECK(t && t->dtype == MER_DTYPE_U8 && u8[3] == 254 && u8[4] == 255);
    t = mer_st_find(f, "empty");
    CHECK(t && t->numel == 0 && t->ndim == 2 && t->shape[1] == 4);
    t = mer_st_find(f, "scalar");
    if (t)
        memcpy(&d, t->data, 8);
    CHECK(t && t->ndim == 0 && t->dtype == MER_DTYPE_F64 && d == 3.25);
    mer_st_close(f);
done:
    free(p);
}

/* A mer store written by numpy, checksum computed by the script's own XXH64. */
static void read_numpy_store(void)
{
    char *p = path_in_tmp("numpy-store.safetensors");
    mer_store *s = NULL;
    float row[9];
    CHECK(oracle("write-mer", p) == 0);
    CHECK(mer_store_open(&s, p, MER_ST_VERIFY) == 0);
    if (s) {
        CHECK_EQ_INT(mer_store_n_samples(s), 3);
        CHECK_EQ_INT(mer_store_dim(s), 3);
        CHECK(mer_store_is_sequence(s));
        CHECK_EQ_STR(mer_store_sample_id(s, 2), "c");
        CHECK_EQ_INT(mer_store_n_frames(s, 1), 3);
        /* rows 1..3 of arange(18).reshape(6, 3) / 4 - 2: exact in float16 */
        CHECK(mer_store_read(s, 1, row) == 0);
        for (int i = 0; i < 9; i++)
            CHECK(row[i] == (float)(3 + i) / 4 - 2);
    }
    mer_store_close(s);
    free(p);
}

/* mer writes; numpy parses it by hand and recomputes the checksum. */
static void numpy_reads_ours(void)
{
    float x[6];
    uint16_t h[3] = {mer_f32_to_f16(0.5f), mer_f32_to_f16(-1), mer_f32_to_f16(2)};
    int64_t ids64[2] = {-5, 1LL << 50}, s32[2] = {3, 2}, s3[1] = {3}, s2[1] = {2};
    char *p = path_in_tmp("ours.safetensors");
    mer_st_writer *w = mer_st_writer_new();
    for (int i = 0; i < 6; i++)
        x[i] = (float)i * 1.5f - 1;
    CHECK(mer_st_writer_add(w, "half", MER_DTYPE_F16, 1, s3, h) == 0);
    CHECK(mer_st_writer_add(w, "features", MER_DTYPE_F32, 2, s32, x) == 0);
    CHECK(mer_st_writer_add(w, "ids64", MER_DTYPE_I64, 1, s2, ids64) == 0);
    CHECK(mer_st_writer_set_meta(w, "note", "h\xc3\xa9llo \"quoted\"\n\ttab") == 0);
    CHECK(mer_st_writer_write(w, p) == 0);
    mer_st_writer_free(w);
    CHECK(oracle("check", p) == 0);
    free(p);
}

int main(void)
{
    TEST("write, read back") round_trip();
    TEST("the writer refuses bad tensors") writer_refuses();
    TEST("the writer refuses text that is not UTF-8") writer_refuses_bad_text();
    TEST("metadata numbers: whole, finite, in range") meta_numbers();
    TEST("metadata string lists: read whole, or refused naming the key") meta_strings();
    TEST("half floats: known bit patterns, rounding, every half") half_floats();
    TEST("checksums: XXH64 and FNV-1a test vectors, streaming") checksums();
    TEST("crafted headers are refused with the file and the reason") crafted();
    TEST("legacy checksum, bare and empty-tensor files open") accepted();
    TEST("truncated and flipped files are refused") damage();
    TEST("feature store files: utterance, f16, frame level") feature_files();
    TEST("parts that lie about ids, rows or offsets") bad_parts();
    TEST("sharded stores: index, missing, mixed and empty parts") sharded();
    TEST("numpy: the script's XXH64 is XXH64") CHECK(oracle("selftest", NULL) == 0);
    TEST("numpy: a foreign file") read_foreign();
    TEST("numpy: a mer store written by numpy") read_numpy_store();
    TEST("numpy: reads what mer wrote") numpy_reads_ours();
    return test_report();
}
