/*
 * util.c - error strings, the logging helper, whole-file reading, atomic
 * writing, deterministic random numbers, time and strict number parsing.
 * See util.h for the contracts.
 */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *util_strerror(int rc)
{
    switch (rc) {
    case UTIL_OK: return "success";
    case UTIL_EINVAL: return "invalid argument";
    case UTIL_EIO: return "input/output error";
    case UTIL_EFORMAT: return "malformed input";
    case UTIL_ENOMEM: return "out of memory";
    case UTIL_EINTR: return "interrupted";
    case UTIL_ENODEV: return "device not usable";
    case UTIL_EUNSUP: return "unsupported";
    default: return "unknown error";
    }
}

/* ------------------------------------------------------------------ log */

static int g_log_level = UTIL_LOG_INFO;
static _Thread_local char g_last_error[1024];

void util_log_set_level(int level) { g_log_level = level; }
int util_log_get_level(void) { return g_log_level; }
const char *util_last_error(void) { return g_last_error; }
void util_clear_error(void) { g_last_error[0] = '\0'; }

void util_log(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (level == UTIL_LOG_ERROR)
        memcpy(g_last_error, msg, sizeof msg);
    if (level > g_log_level)
        return;
    if (level == UTIL_LOG_ERROR)
        fprintf(stderr, "docpipe: error: %s\n", msg);
    else if (level == UTIL_LOG_WARN)
        fprintf(stderr, "docpipe: warning: %s\n", msg);
    else
        fprintf(stderr, "%s\n", msg);
}

/* ----------------------------------------------------------------- files */

int util_file_read(const char *path, size_t max_bytes, uint8_t **pbuf, size_t *plen)
{
    int rc = UTIL_OK;
    FILE *fp = NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;

    *pbuf = NULL;
    *plen = 0;
    fp = fopen(path, "rb");
    if (!fp) {
        util_log(UTIL_LOG_ERROR, "%s: cannot open: %s", path, strerror(errno));
        return UTIL_EIO;
    }
    for (;;) {
        if (len + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                util_log(UTIL_LOG_ERROR, "%s: out of memory reading the file", path);
                rc = UTIL_ENOMEM;
                goto cleanup;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (max_bytes && len > max_bytes) {
            util_log(UTIL_LOG_ERROR, "%s: file is larger than the limit of %zu bytes",
                     path, max_bytes);
            rc = UTIL_EFORMAT;
            goto cleanup;
        }
        if (got == 0) {
            if (ferror(fp)) {
                util_log(UTIL_LOG_ERROR, "%s: read error: %s", path, strerror(errno));
                rc = UTIL_EIO;
                goto cleanup;
            }
            break;
        }
    }
    buf[len] = '\0';
    *pbuf = buf;
    *plen = len;
    buf = NULL;
cleanup:
    free(buf);
    fclose(fp);
    return rc;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int util_afile_open(util_afile **paf, const char *path)
{
    util_afile *af = NULL;
    int fd = -1;

    *paf = NULL;
    af = calloc(1, sizeof *af);
    if (!af)
        goto nomem;
    af->path = dup_str(path);
    af->tmp_path = malloc(strlen(path) + 16);
    if (!af->path || !af->tmp_path)
        goto nomem;
    sprintf(af->tmp_path, "%s.tmp.XXXXXX", path);
    fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        util_log(UTIL_LOG_ERROR, "%s: cannot create a temporary file beside it: %s",
                 path, strerror(errno));
        free(af->tmp_path);
        free(af->path);
        free(af);
        return UTIL_EIO;
    }
    /* mkstemp makes the file 0600; a model or a CSV is an ordinary file. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        unlink(af->tmp_path);
        goto nomem;
    }
    *paf = af;
    return UTIL_OK;
nomem:
    if (af) {
        free(af->tmp_path);
        free(af->path);
        free(af);
    }
    util_log(UTIL_LOG_ERROR, "%s: out of memory", path);
    return UTIL_ENOMEM;
}

int util_afile_commit(util_afile **paf)
{
    util_afile *af = *paf;
    int rc = UTIL_OK;

    if (!af)
        return UTIL_EINVAL;
    if (fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0) {
        util_log(UTIL_LOG_ERROR, "%s: write failed: %s", af->path, strerror(errno));
        rc = UTIL_EIO;
    }
    if (fclose(af->fp) != 0 && rc == UTIL_OK) {
        util_log(UTIL_LOG_ERROR, "%s: write failed: %s", af->path, strerror(errno));
        rc = UTIL_EIO;
    }
    af->fp = NULL;
    if (rc == UTIL_OK && rename(af->tmp_path, af->path) != 0) {
        util_log(UTIL_LOG_ERROR, "%s: cannot rename the temporary file into place: %s",
                 af->path, strerror(errno));
        rc = UTIL_EIO;
    }
    if (rc != UTIL_OK)
        unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->path);
    free(af);
    *paf = NULL;
    return rc;
}

void util_afile_abort(util_afile **paf)
{
    util_afile *af;

    if (!paf || !*paf)
        return;
    af = *paf;
    if (af->fp)
        fclose(af->fp);
    unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->path);
    free(af);
    *paf = NULL;
}

/* ---------------------------------------------------------------- random */

uint64_t util_hash64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t util_key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t k = util_hash64(seed);
    k = util_hash64(k ^ a);
    k = util_hash64(k ^ (b * 0xd6e8feb86659fd93ULL));
    return util_hash64(k ^ (c * 0xa0761d6478bd642fULL));
}

float util_uniform(uint64_t key, uint64_t ctr)
{
    /* 24 random bits: exactly representable, so the result is < 1. */
    return (float)(util_hash64(key ^ (ctr * 0xe7037ed1a0b428dbULL)) >> 40) * (1.0f / 16777216.0f);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void util_rng_seed(util_rng *rng, uint64_t key)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = util_hash64(key + (uint64_t)i * 0x9e3779b97f4a7c15ULL);
}

uint64_t util_rng_next(util_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

uint64_t util_rng_below(util_rng *rng, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, r;
    do
        r = util_rng_next(rng);
    while (r >= limit);
    return r % n;
}

void util_shuffle_i32(int32_t *v, size_t n, util_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)util_rng_below(rng, i);
        int32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* ------------------------------------------------------------------ misc */

double util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int util_parse_long(const char *s, long lo, long hi, long *pval)
{
    char *end = NULL;
    long v;

    if (!s || !*s)
        return UTIL_EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi)
        return UTIL_EINVAL;
    *pval = v;
    return UTIL_OK;
}

int util_parse_double(const char *s, double lo, double hi, double *pval)
{
    char *end = NULL;
    double v;

    if (!s || !*s)
        return UTIL_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return UTIL_EINVAL;
    *pval = v;
    return UTIL_OK;
}

int util_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

int util_isatty(FILE *fp) { return isatty(fileno(fp)); }

void util_exe_dir(char *buf, size_t cap)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;

    if (len <= 0) {
        snprintf(buf, cap, ".");
        return;
    }
    exe[len] = '\0';
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(buf, cap, "%s", exe[0] ? exe : "/");
}
