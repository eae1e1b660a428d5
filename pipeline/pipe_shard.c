/*
 * pipe_shard.c - splitting one ingest into N shards that N machines run
 * side by side (docpipe ingest --shard K/N, a Slurm array job, a
 * Kubernetes Indexed Job), each into its own database for docpipe merge.
 *
 * A document belongs to shard hash(rel) mod N, where rel is its path
 * relative to the folder given to ingest (the file name alone for a file
 * given by itself).  The path and not the content: every shard walks the
 * same folder, and by path each keeps its share after reading nothing but
 * the names; by content each would have to read and hash every file of
 * every shard first.  Relative, so the folder may be mounted at different
 * places on different machines.  The price: a file renamed between two
 * runs may move to another shard (it is then stored there, and the merge
 * skips it by SHA-256 if the first copy is in too).
 */
#include "pipe_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipe.h"
#include "util/util.h"

int pipe_shard_parse(const char *spec, pipe_shard *pshard)
{
    char buf[64];
    const char *slash;
    long k, n;

    memset(pshard, 0, sizeof *pshard);
    if (!spec || !(slash = strchr(spec, '/')) || (size_t)(slash - spec) >= sizeof buf ||
        strspn(spec, "0123456789/") != strlen(spec))
        return UTIL_EINVAL; /* digits only: no sign, no space */
    memcpy(buf, spec, (size_t)(slash - spec));
    buf[slash - spec] = '\0';
    if (util_parse_long(slash + 1, 1, PIPE_SHARD_MAX, &n) != UTIL_OK ||
        util_parse_long(buf, 1, n, &k) != UTIL_OK)
        return UTIL_EINVAL;
    pshard->index = (int)k - 1;
    pshard->count = (int)n;
    return UTIL_OK;
}

/* An environment variable as a whole number in lo..hi: 1 when set and
 * valid, 0 when not set, -1 (logged) when set but not such a number. */
static int env_long(const char *name, long lo, long hi, long *pval)
{
    const char *v = getenv(name);

    *pval = 0;
    if (!v)
        return 0;
    if (util_parse_long(v, lo, hi, pval) != UTIL_OK) {
        util_log(UTIL_LOG_ERROR, "%s=\"%s\" is not a whole number in %ld..%ld", name, v, lo, hi);
        return -1;
    }
    return 1;
}

int pipe_shard_resolve(const char *spec, int count_opt, pipe_shard *pshard)
{
    long id, count, min = 0, step = 1, index;
    int got;

    memset(pshard, 0, sizeof *pshard);
    if (spec) {
        if (pipe_shard_parse(spec, pshard) != UTIL_OK) {
            util_log(UTIL_LOG_ERROR, "--shard \"%s\": expected K/N with 1 <= K <= N <= %d", spec,
                     PIPE_SHARD_MAX);
            return UTIL_EINVAL;
        }
        return UTIL_OK;
    }
    if (count_opt) {
        if (count_opt < 1 || count_opt > PIPE_SHARD_MAX) {
            util_log(UTIL_LOG_ERROR, "--shard-count %d: expected 1..%d", count_opt,
                     PIPE_SHARD_MAX);
            return UTIL_EINVAL;
        }
        got = env_long("JOB_COMPLETION_INDEX", 0, PIPE_SHARD_MAX - 1, &index);
        if (got <= 0) {
            if (got == 0)
                util_log(UTIL_LOG_ERROR, "--shard-count needs JOB_COMPLETION_INDEX (a Kubernetes "
                                         "Indexed Job sets it); use --shard K/N elsewhere");
            return UTIL_EINVAL;
        }
        if (index >= count_opt) {
            util_log(UTIL_LOG_ERROR, "JOB_COMPLETION_INDEX=%ld is not below --shard-count %d",
                     index, count_opt);
            return UTIL_EINVAL;
        }
        pshard->index = (int)index;
        pshard->count = count_opt;
        return UTIL_OK;
    }
    got = env_long("SLURM_ARRAY_TASK_ID", 0, 1L << 30, &id);
    if (got < 0)
        return UTIL_EINVAL;
    if (got > 0) {
        /* The task's place in the array: ID - MIN, the array's IDs a
         * contiguous range (--array=1-4 or 0-3; a step or a list with gaps
         * would leave shards nobody reads, so they are refused). */
        if ((got = env_long("SLURM_ARRAY_TASK_COUNT", 1, PIPE_SHARD_MAX, &count)) <= 0 ||
            env_long("SLURM_ARRAY_TASK_MIN", 0, 1L << 30, &min) < 0 ||
            env_long("SLURM_ARRAY_TASK_STEP", 1, 1L << 30, &step) < 0) {
            if (got == 0)
                util_log(UTIL_LOG_ERROR, "SLURM_ARRAY_TASK_ID is set but "
                                         "SLURM_ARRAY_TASK_COUNT is not");
            return UTIL_EINVAL;
        }
        if (!getenv("SLURM_ARRAY_TASK_STEP"))
            step = 1;
        index = id - min;
        if (step != 1 || index < 0 || index >= count) {
            util_log(UTIL_LOG_ERROR,
                     "Slurm array task %ld (min %ld, step %ld, count %ld) is not one of %ld "
                     "contiguous tasks: submit the array as --array=0-%ld or 1-%ld",
                     id, min, step, count, count, count - 1, count);
            return UTIL_EINVAL;
        }
        pshard->index = (int)index;
        pshard->count = (int)count;
        return UTIL_OK;
    }
    if (getenv("JOB_COMPLETION_INDEX")) {
        util_log(UTIL_LOG_ERROR, "JOB_COMPLETION_INDEX is set: give --shard-count N (the "
                                 "Job's completions), or --shard 1/1 to read everything");
        return UTIL_EINVAL;
    }
    return UTIL_OK; /* no sharding: count 0 */
}

int pipe_shard_of(const char *rel, int count)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64, then a strong mixer */

    if (count <= 1)
        return 0;
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return (int)(util_hash64(h) % (uint64_t)count);
}

void pipe_shard_filter(pipe_walk *w, const pipe_shard *s, long *pothers)
{
    int kept = 0;

    *pothers = 0;
    if (!s || s->count <= 1)
        return;
    for (int i = 0; i < w->n; i++) {
        pipe_entry *e = &w->e[i];
        if (pipe_shard_of(e->path + e->rel, s->count) == s->index) {
            w->e[kept++] = *e;
            continue;
        }
        w->pages -= e->pages;
        (*pothers)++;
        free(e->path);
        free(e->error);
    }
    w->n = kept;
}
