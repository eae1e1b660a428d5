/*
 * test_shard.c - sharded ingest's selection (pipeline/pipe_shard.c):
 * --shard K/N parsing and its refusals; the shard of a path against an
 * independent FNV-1a + splitmix64 computation and a few fixed values (the
 * same on every machine and in every later version); every document of a
 * real folder walk in exactly one shard for N = 1..7, whatever folder the
 * walk started from (a relative path, an absolute one, through a link);
 * the balance over 10,000 names; the Slurm and Kubernetes variables and
 * their refusals; and the CLI's usage errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/pipe.h"
#include "pipeline/pipe_int.h"
#include "tests/tst.h"
#include "util/util.h"

/* The documented hash, written out independently of pipe_shard.c. */
static int ref_shard(const char *s, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    h += 0x9e3779b97f4a7c15ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return n <= 1 ? 0 : (int)(h % (uint64_t)n);
}

static void test_parse(void)
{
    static const char *const bad[] = {"0/4", "5/4", "1/0", "0/0", "a/4", "1/4x", " 1/4", "1/",
                                      "/4", "", "4", "1/100001", "-1/4", "1/-4", "1//4",
                                      "1/4/4", "+1/4", "1.0/4", "99999999999999999999/4"};
    pipe_shard s = {0, 0};

    TST_CHECK(pipe_shard_parse("1/4", &s) == UTIL_OK && s.index == 0 && s.count == 4,
              "1/4 -> %d of %d", s.index, s.count);
    TST_CHECK(pipe_shard_parse("4/4", &s) == UTIL_OK && s.index == 3 && s.count == 4,
              "4/4 -> %d of %d", s.index, s.count);
    TST_CHECK(pipe_shard_parse("1/1", &s) == UTIL_OK && s.index == 0 && s.count == 1, "1/1");
    TST_CHECK(pipe_shard_parse("100000/100000", &s) == UTIL_OK && s.index == 99999,
              "the largest");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s.index = s.count = 7;
        TST_CHECK(pipe_shard_parse(bad[i], &s) == UTIL_EINVAL && s.count == 0,
                  "\"%s\" refused and zeroed", bad[i]);
    }
    TST_CHECK(pipe_shard_parse(NULL, &s) == UTIL_EINVAL, "NULL refused");
}

static void test_hash(void)
{
    char name[64];
    int bad = 0;

    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "scans/2024-%02d/doc%05d.tif", i % 12 + 1, i);
        for (int n = 1; n <= 9; n++)
            bad += pipe_shard_of(name, n) != ref_shard(name, n);
    }
    TST_CHECK(bad == 0, "pipe_shard_of agrees with the documented hash (%d differ)", bad);
    /* Fixed values: a change here moves documents between shards of runs
     * already made with an older docpipe. */
    TST_CHECK(pipe_shard_of("doc0001.png", 4) == ref_shard("doc0001.png", 4) &&
                  pipe_shard_of("", 4) == ref_shard("", 4) && pipe_shard_of("x", 1) == 0 &&
                  pipe_shard_of("x", 0) == 0,
              "edge cases");
    TST_CHECK(ref_shard("doc0001.png", 4) == 3 && ref_shard("a/b.tif", 4) == 0 &&
                  ref_shard("doc0007.jpg", 7) == 0 && ref_shard("doc0002.png", 4) == 1,
              "fixed values: %d %d %d", ref_shard("doc0001.png", 4), ref_shard("a/b.tif", 4),
              ref_shard("doc0007.jpg", 7));
}

static void test_balance(void)
{
    long counts[4] = {0};
    char name[64];

    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "inbox/batch%03d/page%04d.tif", i / 100, i);
        counts[pipe_shard_of(name, 4)]++;
    }
    for (int k = 0; k < 4; k++)
        TST_CHECK(counts[k] > 2300 && counts[k] < 2700,
                  "shard %d of 4 holds %ld of 10000 names (2500 +- 200)", k + 1, counts[k]);
}

/* A folder of n PNG-looking files in subfolders; returns its path. */
static const char *make_tree(int n)
{
    static char root[600];
    char path[700];

    snprintf(root, sizeof root, "%s/tree", tst_tmpdir());
    mkdir(root, 0755);
    for (int d = 0; d < 3; d++) {
        snprintf(path, sizeof path, "%s/sub%d", root, d);
        mkdir(path, 0755);
    }
    for (int i = 0; i < n; i++) {
        FILE *fp;
        snprintf(path, sizeof path, "%s/sub%d/f%03d.png", root, i % 3, i);
        if ((fp = fopen(path, "wb"))) {
            fwrite("\x89PNG\r\n\x1a\n0000", 1, 12, fp);
            fclose(fp);
        }
    }
    return root;
}

/* The relative names a walk of root keeps for shard s (joined by '\n'). */
static char *shard_names(const char *root, const pipe_shard *s, long *pothers)
{
    pipe_walk *w = NULL;
    const char *paths[1] = {root};
    size_t cap = 1, len = 0;
    char *out;

    if (pipe_walk_paths(paths, 1, &w) != UTIL_OK)
        return NULL;
    for (int i = 0; i < w->n; i++)
        cap += strlen(w->e[i].path) + 1;
    out = calloc(cap, 1);
    pipe_shard_filter(w, s, pothers);
    for (int i = 0; out && i < w->n; i++)
        len += (size_t)sprintf(out + len, "%s\n", w->e[i].path + w->e[i].rel);
    pipe_walk_destroy(&w);
    return out;
}

static void test_walk(void)
{
    const char *root = make_tree(40);
    char link[700], rel[700], cwd[1000];
    int ok_once = 1, ok_same = 1;

    /* rel is the path below the folder given, whatever the folder's path */
    {
        pipe_walk *w = NULL;
        const char *paths[2] = {root, NULL};
        char file[700];
        snprintf(file, sizeof file, "%s/sub1/f001.png", root);
        paths[1] = file;
        TST_CHECK(pipe_walk_paths(paths, 2, &w) == UTIL_OK && w->n == 41, "walk: %d entries",
                  w ? w->n : -1);
        TST_CHECK(w && strcmp(w->e[0].path + w->e[0].rel, "sub0/f000.png") == 0,
                  "rel of a file in a folder: \"%s\"", w ? w->e[0].path + w->e[0].rel : "");
        TST_CHECK(w && strcmp(w->e[40].path + w->e[40].rel, "f001.png") == 0,
                  "rel of a file given alone: its name, \"%s\"",
                  w ? w->e[40].path + w->e[40].rel : "");
        pipe_walk_destroy(&w);
    }
    snprintf(link, sizeof link, "%s/link", tst_tmpdir());
    TST_CHECK(symlink(root, link) == 0, "symlink");
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    TST_CHECK(chdir(tst_tmpdir()) == 0, "chdir");
    snprintf(rel, sizeof rel, "./tree/");
    for (int n = 1; n <= 7; n++) {
        int seen[40] = {0};
        long others_sum = 0;
        for (int k = 0; k < n; k++) {
            pipe_shard s = {k, n};
            long others = 0, o2 = 0, o3 = 0;
            char *a = shard_names(root, &s, &others);
            char *b = shard_names(link, &s, &o2);
            char *c = shard_names(rel, &s, &o3);
            if (!a || !b || !c || strcmp(a, b) != 0 || strcmp(a, c) != 0 || others != o2 ||
                others != o3)
                ok_same = 0;
            for (char *p = a; p && *p; p = strchr(p, '\n') + 1) {
                int i = atoi(strstr(p, "/f") + 2);
                if (i >= 0 && i < 40)
                    seen[i]++;
            }
            others_sum += others;
            free(a);
            free(b);
            free(c);
        }
        for (int i = 0; i < 40; i++)
            if (seen[i] != 1)
                ok_once = 0;
        TST_CHECK(others_sum == 40L * (n - 1), "N=%d: left to others %ld", n, others_sum);
    }
    if (cwd[0] && chdir(cwd) != 0)
        TST_CHECK(0, "chdir back");
    TST_CHECK(ok_once, "every document in exactly one shard for N = 1..7");
    TST_CHECK(ok_same, "the same shards from an absolute path, a link and ./tree/");
}

static void clear_env(void)
{
    unsetenv("SLURM_ARRAY_TASK_ID");
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    unsetenv("SLURM_ARRAY_TASK_MIN");
    unsetenv("SLURM_ARRAY_TASK_STEP");
    unsetenv("JOB_COMPLETION_INDEX");
}

static int resolve(const char *spec, int count, pipe_shard *s)
{
    int level = util_log_get_level(), rc;

    util_log_set_level(-1);
    util_clear_error();
    rc = pipe_shard_resolve(spec, count, s);
    util_log_set_level(level);
    return rc;
}

static void test_env(void)
{
    pipe_shard s = {0, 0};

    clear_env();
    TST_CHECK(resolve(NULL, 0, &s) == UTIL_OK && s.count == 0, "no variables: everything");
    TST_CHECK(resolve("2/3", 0, &s) == UTIL_OK && s.index == 1 && s.count == 3, "--shard");
    TST_CHECK(resolve("0/3", 0, &s) == UTIL_EINVAL && strstr(util_last_error(), "--shard"),
              "bad --shard: %s", util_last_error());
    setenv("SLURM_ARRAY_TASK_ID", "3", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
    TST_CHECK(resolve(NULL, 0, &s) == UTIL_OK && s.index == 2 && s.count == 4,
              "--array=1-4, task 3: shard index %d of %d", s.index, s.count);
    TST_CHECK(resolve("1/2", 0, &s) == UTIL_OK && s.index == 0 && s.count == 2,
              "--shard wins over Slurm");
    setenv("SLURM_ARRAY_TASK_ID", "0", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    TST_CHECK(resolve(NULL, 0, &s) == UTIL_OK && s.index == 0 && s.count == 4,
              "--array=0-3, task 0");
    setenv("SLURM_ARRAY_TASK_ID", "4", 1);
    TST_CHECK(resolve(NULL, 0, &s) == UTIL_EINVAL && strstr(util_last_error(), "contiguous"),
              "task 4 of 0-3 refused: %s", util_last_error());
    setenv("SLURM_ARRAY_TASK_ID", "2", 1);
    setenv("SLURM_ARRAY_TASK_STEP", "2", 1);
    TST_CHECK(resolve(NULL, 0, &s) == UTIL_EINVAL, "a stepped array refused");
    unsetenv("SLURM_ARRAY_TASK_STEP");
    setenv("SLURM_ARRAY_TASK_ID", "x", 1);
    TST_CHECK(resolve(NULL, 0, &s) == UTIL_EINVAL && strstr(util_last_error(), "SLURM_ARRAY"),
              "a bad task id refused: %s", util_last_error());
    setenv("SLURM_ARRAY_TASK_ID", "1", 1);
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    TST_CHECK(resolve(NULL, 0, &s) == UTIL_EINVAL, "an id without a count refused");
    clear_env();
    setenv("JOB_COMPLETION_INDEX", "3", 1);
    TST_CHECK(resolve(NULL, 5, &s) == UTIL_OK && s.index == 3 && s.count == 5,
              "JOB_COMPLETION_INDEX 3 of --shard-count 5");
    TST_CHECK(resolve(NULL, 3, &s) == UTIL_EINVAL, "index 3 of 3 refused");
    TST_CHECK(resolve(NULL, 0, &s) == UTIL_EINVAL &&
                  strstr(util_last_error(), "--shard-count"),
              "JOB_COMPLETION_INDEX without --shard-count refused: %s", util_last_error());
    TST_CHECK(resolve("1/1", 0, &s) == UTIL_OK && s.count == 1, "... unless --shard 1/1");
    clear_env();
    TST_CHECK(resolve(NULL, 4, &s) == UTIL_EINVAL, "--shard-count without the index refused");
}

static void test_cli(void)
{
    static const char *const bad[] = {"--shard 0/4", "--shard 5/4", "--shard x",
                                      "--shard-count 0", "--shard-count -1", "--shard="};
    char cmd[1000], out[4096];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        snprintf(cmd, sizeof cmd, "%s ingest --db %s/x.db %s %s", tst_bin(), tst_tmpdir(), bad[i],
                 tst_tmpdir());
        rc = tst_run(cmd, out, sizeof out);
        TST_CHECK(rc == 2 && strstr(out, "usage:"), "ingest %s: exit %d", bad[i], rc);
    }
    snprintf(cmd, sizeof cmd, "JOB_COMPLETION_INDEX=1 %s ingest --db %s/x.db %s", tst_bin(),
             tst_tmpdir(), tst_tmpdir());
    TST_CHECK(tst_run(cmd, out, sizeof out) == 1 && strstr(out, "--shard-count"),
              "JOB_COMPLETION_INDEX alone: exit 1 naming --shard-count: %s", out);
}

int main(void)
{
    test_parse();
    test_hash();
    test_balance();
    test_walk();
    test_env();
    test_cli();
    return tst_done();
}
