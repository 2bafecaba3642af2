/* The option parser, through its own table (as git's t0040 tests parse-options). */
#include "mer/error.h"
#include "mer/opt.h"
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static const char *const usage[] = {"mer t [options]", NULL};
    TEST("long, short, attached, negated, list, shard and positionals")
    {
        int q = 0, n = 0, v = 1;
        double x = 0;
        const char *s = NULL;
        struct mer_strlist l = MER_STRLIST_INIT;
        struct mer_shard sh = MER_SHARD_ALL;
        struct mer_option opts[] = {
            MER_OPT_BOOL('q', "quiet", &q, "quiet"),
            MER_OPT_BOOL(0, "verify", &v, "verify"),
            MER_OPT_INT('n', "num", &n, "num"),
            MER_OPT_DOUBLE(0, "x", &x, "x"),
            MER_OPT_STRING('o', "out", &s, "file", "out"),
            MER_OPT_LIST(0, "set", &l, "k=v", "set"),
            MER_OPT_SHARD(0, "shard", &sh, "shard"),
            MER_OPT_END(),
        };
        const char *argv[] = {"t",   "a", "-q",    "-n7",   "--x=2.5",   "--no-verify",
                              "-o",  "f", "--set", "a.b=1", "--set=c=2", "--shard",
                              "1/4", "b", "--",    "-c"};
        int r = mer_opt_parse((int)MER_ARRAY_SIZE(argv), argv, opts, usage);
        CHECK_EQ_INT(r, 3);
        CHECK_EQ_STR(argv[0], "a");
        CHECK_EQ_STR(argv[1], "b");
        CHECK_EQ_STR(argv[2], "-c");
        CHECK_EQ_INT(q, 1);
        CHECK_EQ_INT(v, 0);
        CHECK_EQ_INT(n, 7);
        CHECK_NEAR(x, 2.5, 0);
        CHECK_EQ_STR(s, "f");
        CHECK_EQ_INT(l.n, 2);
        CHECK_EQ_STR(l.items[1], "c=2");
        CHECK_EQ_INT(sh.index, 1);
        CHECK_EQ_INT(sh.count, 4);
        mer_strlist_release(&l);
    }
    TEST("usage errors return MER_OPT_USAGE")
    {
        int n = 0;
        struct mer_shard sh = MER_SHARD_ALL;
        struct mer_option opts[] = {MER_OPT_INT('n', "num", &n, "num"),
                                    MER_OPT_SHARD(0, "shard", &sh, "shard"), MER_OPT_END()};
        const char *bad1[] = {"t", "--nope"};
        const char *bad2[] = {"t", "--num", "x"};
        const char *bad3[] = {"t", "--num"};
        const char *bad4[] = {"t", "--shard", "4/4"};
        const char *bad5[] = {"t", "-z"};
        CHECK_EQ_INT(mer_opt_parse(2, bad1, opts, usage), MER_OPT_USAGE);
        CHECK_EQ_INT(mer_opt_parse(3, bad2, opts, usage), MER_OPT_USAGE);
        CHECK_EQ_INT(mer_opt_parse(2, bad3, opts, usage), MER_OPT_USAGE);
        CHECK_EQ_INT(mer_opt_parse(3, bad4, opts, usage), MER_OPT_USAGE);
        CHECK_EQ_INT(mer_opt_parse(2, bad5, opts, usage), MER_OPT_USAGE);
        CHECK_EQ_INT(mer_opt_exit_code(MER_OPT_USAGE), 2);
    }
    TEST("ranges: the one check of an option's value, inclusive or open ends")
    {
        int jobs = 0, fold = -1;
        double t = 0;
        struct mer_option opts[] = {MER_OPT_INT_RANGE(0, "jobs", &jobs, "[1,32]", "jobs"),
                                    MER_OPT_INT_RANGE(0, "fold", &fold, "[0,)", "fold"),
                                    MER_OPT_DOUBLE_RANGE(0, "timeout", &t, "(0,1e6]", "t"),
                                    MER_OPT_END()};
        const char *ok[] = {"t", "--jobs", "32", "--fold=0", "--timeout", "1e6"};
        const char *bad[][3] = {{"t", "--jobs", "0"},
                                {"t", "--jobs", "33"},
                                {"t", "--fold", "-2"},
                                {"t", "--timeout", "0"},
                                {"t", "--timeout", "2e6"}};
        CHECK_EQ_INT(mer_opt_parse((int)MER_ARRAY_SIZE(ok), ok, opts, usage), 0);
        CHECK_EQ_INT(jobs, 32);
        CHECK_EQ_INT(fold, 0);
        CHECK_NEAR(t, 1e6, 0);
        for (size_t i = 0; i < MER_ARRAY_SIZE(bad); i++) {
            jobs = 5, fold = 7, t = 3;
            CHECK_EQ_INT(mer_opt_parse(3, bad[i], opts, usage), MER_OPT_USAGE);
            CHECK(jobs == 5 && fold == 7 && t == 3); /* a refused value is not stored */
        }
    }
    TEST("a bad shard is quoted whole")
    {
        struct mer_shard sh = MER_SHARD_ALL;
        CHECK_EQ_INT(mer_shard_parse(&sh, "5/2"), -1);
        CHECK_EQ_STR(mer_errmsg(), "'5/2': expected a shard as i/n with 0 <= i < n");
        CHECK_EQ_INT(mer_shard_parse(&sh, "x/2"), -1);
        CHECK_EQ_STR(mer_errmsg(), "'x/2': expected a shard as i/n, e.g. 0/4");
    }
    TEST("--help shows a boolean that is on by default as --[no-]name")
    {
        int on = 1, off = 0;
        struct mer_option opts[] = {MER_OPT_BOOL(0, "retry-failed", &on, "resend"),
                                    MER_OPT_BOOL('q', "quiet", &off, "quiet"), MER_OPT_END()};
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        mer_opt_print_usage(f, usage, opts);
        fclose(f);
        CHECK(strstr(text, "\n    --[no-]retry-failed       resend\n") != NULL);
        CHECK(strstr(text, "\n    -q, --quiet               quiet\n") != NULL);
        free(text);
    }
    return test_report();
}
