/* The sweep module: grids expanded into named members, sweep.json round trips, states read
 * from the files, and the helpers that make Slurm and shell command lines. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/sweep.h"
#include "testhelp.h"

static char *write_tmp(const char *name, const char *text)
{
    char *path = mer_path_join(test_tmpdir(), name);
    mer_write_file_atomic(path, text, strlen(text));
    return path;
}

int main(void)
{
    char *base = write_tmp("base.json", "{\"train\": {\"folds\": 2}}");
    TEST("a grid: axes crossed, the first slowest, settings one more axis")
    {
        char *grid = write_tmp("g.txt", "model.prior.mode = none, gate # c\n"
                                        "setting a: loss.tau = 0.2\n"
                                        "setting b: loss.tau = 0.3; loss.ce = class_weighted\n"
                                        "seed = 4..5\n");
        struct mer_sweep s;
        CHECK(mer_sweep_load(&s, grid, base) == 0);
        CHECK_EQ_INT(s.n_members, 8);
        CHECK_EQ_STR(s.members[0].name, "mode=none_a_seed=4");
        CHECK_EQ_STR(s.members[3].name, "mode=none_b_seed=5");
        CHECK_EQ_INT(s.members[3].sets.n, 4);
        CHECK_EQ_STR(s.members[3].sets.v[2], "loss.ce=class_weighted");
        CHECK_EQ_STR(s.members[7].name, "mode=gate_b_seed=5");
        CHECK_EQ_STR(s.members[7].sets.v[3], "train.seed=5");
        /* recorded, read back, and checked against itself */
        char *dir = mer_path_join(test_tmpdir(), "sw");
        struct mer_sweep back;
        CHECK(mer_sweep_record(&s, dir) == 0);
        CHECK(mer_sweep_record(&s, dir) == 0);
        CHECK(mer_sweep_read(&back, dir) == 0);
        CHECK_EQ_INT(back.n_members, 8);
        CHECK_EQ_STR(back.members[5].name, s.members[5].name);
        CHECK_EQ_STR(back.config_checksum, s.config_checksum);
        CHECK(mer_sweep_check_config(&back) == 0);
        CHECK(mer_sweep_state(&s, dir, 0) == MER_SWEEP_NEW);
        CHECK(mer_sweep_member_prepare(&s, dir, 0) == 0);
        CHECK(mer_sweep_record_exit(&s, dir, 0, 1 << 8) == 0); /* exit 1 */
        CHECK(mer_sweep_state(&s, dir, 0) == MER_SWEEP_FAILED);
        char *cfg = mer_strfmt("%s/%s/config.json", dir, s.members[0].name);
        mer_write_file_atomic(cfg, "{}", 2);
        CHECK(mer_sweep_record_exit(&s, dir, 0, 0) == 0);
        CHECK(mer_sweep_state(&s, dir, 0) == MER_SWEEP_INTERRUPTED);
        free(cfg);
        cfg = mer_strfmt("%s/%s/metrics.json", dir, s.members[0].name);
        mer_write_file_atomic(cfg, "{}", 2);
        CHECK(mer_sweep_state(&s, dir, 0) == MER_SWEEP_FINISHED);
        free(cfg);
        mer_sweep_release(&back);
        mer_sweep_release(&s);
        free(dir);
        free(grid);
    }
    TEST("the errors name the grid's line")
    {
        char *grid = write_tmp("bad.txt", "seed = 1\n\nloss.lambda_inter = 0, x\n");
        struct mer_sweep s;
        CHECK(mer_sweep_load(&s, grid, base) == -1);
        CHECK(strstr(mer_errmsg(), "bad.txt':3: key 'loss.lambda_inter': ") != NULL);
        free(grid);
    }
    TEST("one member of one-valued axes is the base")
    {
        char *grid = write_tmp("one.txt", "seed = 3\n");
        struct mer_sweep s;
        CHECK(mer_sweep_load(&s, grid, base) == 0);
        CHECK_EQ_INT(s.n_members, 1);
        CHECK_EQ_STR(s.members[0].name, "base");
        mer_sweep_release(&s);
        free(grid);
    }
    TEST("Slurm array lists and shell words")
    {
        size_t idx[] = {0, 1, 2, 3, 5, 7, 8, 9, 12};
        char *spec = mer_sweep_array_spec(idx, 9);
        CHECK_EQ_STR(spec, "0-3,5,7-9,12");
        free(spec);
        spec = mer_sweep_array_spec(idx + 4, 1);
        CHECK_EQ_STR(spec, "5");
        free(spec);
        char *q = mer_sweep_shell_quote("loss.tau=0.1");
        CHECK_EQ_STR(q, "loss.tau=0.1");
        free(q);
        q = mer_sweep_shell_quote("a=[\"x\", 'y']");
        CHECK_EQ_STR(q, "'a=[\"x\", '\\''y'\\'']'");
        free(q);
        q = mer_sweep_shell_quote("");
        CHECK_EQ_STR(q, "''");
        free(q);
    }
    free(base);
    return test_report();
}
