/* The name -> row map used to join stores by sample name. */
#include "mer/error.h"
#include "mer/strmap.h"
#include "testhelp.h"

int main(void)
{
    TEST("finds every key, misses the rest")
    {
        static char buf[3000][16];
        const char *keys[3000];
        struct mer_strmap m = MER_STRMAP_INIT;
        for (int i = 0; i < 3000; i++) {
            snprintf(buf[i], sizeof(buf[i]), "sample_%08d", i * 7);
            keys[i] = buf[i];
        }
        CHECK(mer_strmap_build(&m, keys, 3000, NULL) == 0);
        for (int i = 0; i < 3000; i++)
            CHECK(mer_strmap_get(&m, keys[i]) == i);
        CHECK(mer_strmap_get(&m, "sample_00000001") == -1);
        CHECK(mer_strmap_get(&m, "") == -1);
        mer_strmap_release(&m);
        CHECK(mer_strmap_get(&m, "x") == -1);
    }
    TEST("a duplicate is an error naming it and its position")
    {
        const char *keys[] = {"a", "b", "c", "b"};
        struct mer_strmap m = MER_STRMAP_INIT;
        size_t dup = 0;
        CHECK(mer_strmap_build(&m, keys, 4, &dup) == -1);
        CHECK_EQ_INT(dup, 3);
        CHECK_EQ_STR(mer_errmsg(), "duplicate name 'b'");
    }
    return test_report();
}
