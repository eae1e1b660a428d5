/*
 * rec_model.c - reading, checking and writing model and checkpoint files
 * (format in docs/model-format.md, contracts in rec_model.h).  Every
 * multi-byte field is little-endian whatever the host, and nothing read
 * from a file is used before the whole file has been checked.
 */
#include "rec_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util/util.h"

#define HDR_BYTES 48u
#define DIR_ENTRY_BYTES 64u
#define NAME_BYTES 40u
#define DTYPE_F32 1u
#define OPT_NAME "opt.ms"
#define AVG_NAME "avg.params"

/* ------------------------------------------------------------ life */

int rec_model_create(rec_model **pm, const rec_arch *arch, int kind)
{
    rec_param_info table[REC_MAX_PARAMS];
    rec_model *m = NULL;

    *pm = NULL;
    if (kind != REC_MODEL_KIND_MODEL && kind != REC_MODEL_KIND_CHECKPOINT) {
        util_log(UTIL_LOG_ERROR, "model: unknown kind %d", kind);
        return UTIL_EINVAL;
    }
    if (rec_arch_validate(arch))
        return UTIL_EINVAL;
    m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->kind = kind;
    m->arch = *arch;
    if (rec_arch_params(arch, table, &m->n_params, &m->n_trainable) < 0) {
        util_log(UTIL_LOG_ERROR, "model: too many parameter tensors");
        free(m);
        return UTIL_EINVAL;
    }
    m->params = calloc(m->n_params ? m->n_params : 1, sizeof(float));
    m->meta = calloc(1, 1);
    if (!m->params || !m->meta)
        goto nomem;
    if (kind == REC_MODEL_KIND_CHECKPOINT) {
        m->opt_state = calloc(m->n_trainable ? m->n_trainable : 1, sizeof(float));
        if (!m->opt_state)
            goto nomem;
    }
    *pm = m;
    return UTIL_OK;
nomem:
    rec_model_destroy(&m);
    util_log(UTIL_LOG_ERROR, "out of memory creating a model");
    return UTIL_ENOMEM;
}

void rec_model_destroy(rec_model **pm)
{
    if (!pm || !*pm)
        return;
    free((*pm)->params);
    free((*pm)->opt_state);
    free((*pm)->avg_params);
    free((*pm)->meta);
    free(*pm);
    *pm = NULL;
}

/* ---------------------------------------------------- little-endian */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t crc_of(const uint8_t *buf, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, buf, chunk);
        buf += chunk;
        len -= chunk;
    }
    return (uint32_t)crc;
}

/* ------------------------------------------------------- metadata */

static int key_ok(const char *k, size_t len)
{
    if (len < 1 || len > 63)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static int value_ok(const char *v, size_t len)
{
    if (len > 4095)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return 0;
    return 1;
}

/* Finds key's line: *pline at its start, *pval at its value, *pend after '\n'. */
static int meta_find(const char *meta, const char *key, const char **pline, const char **pval,
                     const char **pend)
{
    size_t klen = strlen(key);
    const char *p = meta;

    while (*p) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl + 1 : p + strlen(p);
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            *pline = p;
            *pval = p + klen + 1;
            *pend = end;
            return 1;
        }
        p = end;
    }
    return 0;
}

int rec_model_meta_get(const rec_model *m, const char *key, char *buf, size_t cap)
{
    const char *line, *val, *end;
    size_t len;

    if (cap)
        buf[0] = '\0';
    if (!meta_find(m->meta, key, &line, &val, &end))
        return UTIL_EINVAL;
    len = (size_t)(end - val);
    if (len && val[len - 1] == '\n')
        len--;
    if (cap == 0 || len >= cap)
        return UTIL_EINVAL;
    memcpy(buf, val, len);
    buf[len] = '\0';
    return UTIL_OK;
}

int rec_model_meta_set(rec_model *m, const char *key, const char *value)
{
    const char *line, *val, *end;
    size_t klen = strlen(key), vlen = strlen(value), old = strlen(m->meta), cut = 0, at = old;
    char *nm;

    if (!key_ok(key, klen) || !value_ok(value, vlen)) {
        util_log(UTIL_LOG_ERROR, "model metadata: bad key or value for \"%.63s\"", key);
        return UTIL_EINVAL;
    }
    if (meta_find(m->meta, key, &line, &val, &end)) {
        at = (size_t)(line - m->meta);
        cut = (size_t)(end - line);
    }
    if (old - cut + klen + vlen + 2 > REC_MODEL_MAX_META) {
        util_log(UTIL_LOG_ERROR, "model metadata: more than %u bytes", REC_MODEL_MAX_META);
        return UTIL_EINVAL;
    }
    nm = malloc(old - cut + klen + vlen + 3);
    if (!nm) {
        util_log(UTIL_LOG_ERROR, "out of memory setting model metadata");
        return UTIL_ENOMEM;
    }
    /* The other lines keep their order; the key goes last. */
    memcpy(nm, m->meta, at);
    memcpy(nm + at, m->meta + at + cut, old - at - cut);
    sprintf(nm + old - cut, "%s=%s\n", key, value);
    free(m->meta);
    m->meta = nm;
    return UTIL_OK;
}

int rec_model_meta_double(const rec_model *m, const char *key, double lo, double hi,
                          double dflt, double *pval)
{
    char buf[64];

    *pval = dflt;
    if (rec_model_meta_get(m, key, buf, sizeof buf) != UTIL_OK)
        return UTIL_EINVAL;
    if (util_parse_double(buf, lo, hi, pval) != UTIL_OK) {
        *pval = dflt;
        return UTIL_EINVAL;
    }
    return UTIL_OK;
}

/* Checks a metadata block: printable key=value lines, each ending in '\n'. */
static int meta_check(const char *meta, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t j = i, eq = 0;
        while (j < len && meta[j] != '\n') {
            if (meta[j] == '=' && !eq)
                eq = j;
            j++;
        }
        if (j == len || !eq || !key_ok(meta + i, eq - i) || !value_ok(meta + eq + 1, j - eq - 1))
            return -1;
        i = j + 1;
    }
    return 0;
}

/* ----------------------------------------------------------- write */

int rec_model_save(const rec_model *m, const char *path)
{
    rec_param_info table[REC_MAX_PARAMS];
    char arch_text[4096];
    util_afile *af = NULL;
    uint8_t *buf = NULL;
    size_t n_params, n_trainable, arch_len, meta_len, n_tensors, data_bytes, off, total;
    int n_table, rc = UTIL_OK;

    n_table = rec_arch_params(&m->arch, table, &n_params, &n_trainable);
    if (n_table < 0 || n_params != m->n_params) {
        util_log(UTIL_LOG_ERROR, "%s: the model's parameters do not fit its network", path);
        return UTIL_EINVAL;
    }
    for (size_t i = 0; i < n_params; i++)
        if (!isfinite(m->params[i])) {
            util_log(UTIL_LOG_ERROR,
                     "%s: not written: parameter %zu is not a finite number (did training "
                     "diverge?)", path, i);
            return UTIL_EINVAL;
        }
    rec_arch_format(&m->arch, arch_text, sizeof arch_text);
    arch_len = strlen(arch_text);
    meta_len = strlen(m->meta);
    {
        int ck = m->kind == REC_MODEL_KIND_CHECKPOINT, avg = ck && m->avg_params;
        n_tensors = (size_t)n_table + (size_t)ck + (size_t)avg;
        data_bytes = (n_params + (ck ? n_trainable : 0) + (avg ? n_params : 0)) * 4;
    }
    total = HDR_BYTES + arch_len + meta_len + n_tensors * DIR_ENTRY_BYTES + data_bytes + 4;
    buf = calloc(1, total);
    if (!buf) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory writing the model", path);
        return UTIL_ENOMEM;
    }
    memcpy(buf, REC_MODEL_MAGIC, 8);
    put32(buf + 8, REC_MODEL_VERSION);
    put32(buf + 12, (uint32_t)m->kind);
    put32(buf + 16, (uint32_t)arch_len);
    put32(buf + 20, (uint32_t)meta_len);
    put32(buf + 24, (uint32_t)n_tensors);
    put32(buf + 28, 0);
    put64(buf + 32, data_bytes);
    put64(buf + 40, total);
    off = HDR_BYTES;
    memcpy(buf + off, arch_text, arch_len);
    off += arch_len;
    memcpy(buf + off, m->meta, meta_len);
    off += meta_len;
    {
        uint8_t *dir = buf + off, *data = buf + off + n_tensors * DIR_ENTRY_BYTES;
        size_t doff = 0;
        for (size_t t = 0; t < n_tensors; t++) {
            uint8_t *e = dir + t * DIR_ENTRY_BYTES;
            const char *name = t < (size_t)n_table ? table[t].name
                               : t == (size_t)n_table ? OPT_NAME : AVG_NAME;
            size_t count = t < (size_t)n_table ? table[t].count
                           : t == (size_t)n_table ? n_trainable : n_params;
            const float *src = t < (size_t)n_table ? m->params + table[t].offset
                               : t == (size_t)n_table ? m->opt_state : m->avg_params;
            memcpy(e, name, strnlen(name, NAME_BYTES - 1));
            put32(e + 40, DTYPE_F32);
            put32(e + 44, 0);
            put64(e + 48, doff);
            put64(e + 56, count);
            for (size_t i = 0; i < count; i++) {
                uint32_t bits;
                memcpy(&bits, &src[i], 4);
                put32(data + doff + 4 * i, bits);
            }
            doff += 4 * count;
        }
    }
    put32(buf + total - 4, crc_of(buf, total - 4));

    rc = util_afile_open(&af, path);
    if (rc)
        goto cleanup;
    if (fwrite(buf, 1, total, af->fp) != total) {
        util_log(UTIL_LOG_ERROR, "%s: write failed", path);
        rc = UTIL_EIO;
        goto cleanup;
    }
    rc = util_afile_commit(&af);
cleanup:
    util_afile_abort(&af);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ read */

#define BAD(...)                                                                                   \
    do {                                                                                           \
        util_log(UTIL_LOG_ERROR, __VA_ARGS__);                                                     \
        rc = UTIL_EFORMAT;                                                                         \
        goto cleanup;                                                                              \
    } while (0)

int rec_model_parse(rec_model **pm, const uint8_t *buf, size_t len, const char *name, int kind)
{
    rec_param_info table[REC_MAX_PARAMS];
    rec_model *m = NULL;
    rec_arch arch;
    char *arch_text = NULL, *meta = NULL;
    uint32_t version, fkind, arch_len, meta_len, n_tensors;
    uint64_t data_bytes, total, dir_off, data_off;
    size_t n_params, n_trainable;
    int n_table, rc = UTIL_OK, seen[REC_MAX_PARAMS + 2], ck;
    uint64_t starts[REC_MAX_PARAMS + 2], ends[REC_MAX_PARAMS + 2];

    *pm = NULL;
    if (len < HDR_BYTES + 4)
        BAD("%s: not a docpipe model: %zu bytes, shorter than the %u-byte header", name, len,
            HDR_BYTES + 4);
    if (memcmp(buf, REC_MODEL_MAGIC, 8) != 0)
        BAD("%s: not a docpipe model (bad magic at byte 0)", name);
    version = get32(buf + 8);
    if (version != REC_MODEL_VERSION) {
        util_log(UTIL_LOG_ERROR, "%s: model format version %u, this docpipe reads version %u",
                 name, version, REC_MODEL_VERSION);
        rc = UTIL_EUNSUP;
        goto cleanup;
    }
    total = get64(buf + 40);
    if (total != len)
        BAD("%s: truncated or padded: the header (byte 40) says %llu bytes, the file has %zu",
            name, (unsigned long long)total, len);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* The fuzz build (make fuzz) skips this one check so that the fuzzer's
     * mutations reach the parsing behind it; every other build keeps it. */
    if (get32(buf + len - 4) != crc_of(buf, len - 4))
        BAD("%s: CRC32 mismatch (byte %zu): the file is corrupt", name, len - 4);
#endif
    fkind = get32(buf + 12);
    if (fkind != REC_MODEL_KIND_MODEL && fkind != REC_MODEL_KIND_CHECKPOINT)
        BAD("%s: unknown file kind %u at byte 12", name, fkind);
    if (kind && (int)fkind != kind)
        BAD("%s: is a %s, a %s was expected", name,
            fkind == REC_MODEL_KIND_MODEL ? "model" : "checkpoint",
            kind == REC_MODEL_KIND_MODEL ? "model" : "checkpoint");
    arch_len = get32(buf + 16);
    meta_len = get32(buf + 20);
    n_tensors = get32(buf + 24);
    data_bytes = get64(buf + 32);
    if (get32(buf + 28) != 0)
        BAD("%s: reserved field at byte 28 is not zero", name);
    if (arch_len < 1 || arch_len > 4095)
        BAD("%s: network description length %u at byte 16 outside 1..4095", name, arch_len);
    if (meta_len > REC_MODEL_MAX_META)
        BAD("%s: metadata length %u at byte 20 over %u", name, meta_len, REC_MODEL_MAX_META);
    if (n_tensors < 1 || n_tensors > REC_MAX_PARAMS + 2)
        BAD("%s: tensor count %u at byte 24 outside 1..%d", name, n_tensors, REC_MAX_PARAMS + 2);
    dir_off = (uint64_t)HDR_BYTES + arch_len + meta_len;
    data_off = dir_off + (uint64_t)n_tensors * DIR_ENTRY_BYTES;
    if (data_bytes > len || data_off + data_bytes + 4 != len)
        BAD("%s: section sizes (header bytes 16..39) do not add up to the file size", name);

    arch_text = malloc(arch_len + 1);
    meta = malloc(meta_len + 1);
    if (!arch_text || !meta) {
        util_log(UTIL_LOG_ERROR, "%s: out of memory", name);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    memcpy(arch_text, buf + HDR_BYTES, arch_len);
    arch_text[arch_len] = '\0';
    if (strlen(arch_text) != arch_len || !value_ok(arch_text, arch_len))
        BAD("%s: the network description at byte %u is not text", name, HDR_BYTES);
    {
        int lvl = util_log_get_level();
        util_log_set_level(-1);
        rc = rec_arch_parse(&arch, arch_text);
        util_log_set_level(lvl);
    }
    if (rc)
        BAD("%s: the network description at byte %u is invalid: %s", name, HDR_BYTES,
            util_last_error());
    memcpy(meta, buf + HDR_BYTES + arch_len, meta_len);
    meta[meta_len] = '\0';
    if (strlen(meta) != meta_len || meta_check(meta, meta_len) != 0)
        BAD("%s: the metadata at byte %u is not key=value lines", name, HDR_BYTES + arch_len);

    n_table = rec_arch_params(&arch, table, &n_params, &n_trainable);
    if (n_table < 0)
        BAD("%s: the network has too many tensors", name);
    /* A checkpoint adds opt.ms and, once weight averaging has begun, avg.params. */
    ck = fkind == REC_MODEL_KIND_CHECKPOINT;
    if (n_tensors != (uint32_t)n_table + (uint32_t)ck &&
        !(ck && n_tensors == (uint32_t)n_table + 2u))
        BAD("%s: %u tensors in the directory (byte 24), the network needs %d%s", name, n_tensors,
            n_table + ck, ck ? " (or one more with avg.params)" : "");

    rc = rec_model_create(&m, &arch, (int)fkind);
    if (rc)
        goto cleanup;
    free(m->meta);
    m->meta = meta;
    meta = NULL;
    memset(seen, 0, sizeof seen);
    for (uint32_t t = 0; t < n_tensors; t++) {
        const uint8_t *e = buf + dir_off + (uint64_t)t * DIR_ENTRY_BYTES;
        uint64_t eoff = dir_off + (uint64_t)t * DIR_ENTRY_BYTES, doff = get64(e + 48),
                 count = get64(e + 56);
        char ename[NAME_BYTES + 1];
        int idx = -1, nonneg_var;
        size_t want;
        float *dst;

        memcpy(ename, e, NAME_BYTES);
        ename[NAME_BYTES] = '\0';
        for (size_t i = strlen(ename); i < NAME_BYTES; i++)
            if (e[i] != 0)
                BAD("%s: tensor name at byte %llu is not NUL-padded", name,
                    (unsigned long long)eoff);
        for (int i = 0; i < n_table && idx < 0; i++)
            if (strcmp(table[i].name, ename) == 0)
                idx = i;
        if (idx < 0 && ck && strcmp(ename, OPT_NAME) == 0)
            idx = n_table;
        if (idx < 0 && ck && n_tensors == (uint32_t)n_table + 2u && strcmp(ename, AVG_NAME) == 0)
            idx = n_table + 1;
        if (idx < 0)
            BAD("%s: tensor \"%s\" at byte %llu is not part of this network", name, ename,
                (unsigned long long)eoff);
        if (seen[idx])
            BAD("%s: tensor \"%s\" at byte %llu appears twice", name, ename,
                (unsigned long long)eoff);
        seen[idx] = 1;
        if (get32(e + 40) != DTYPE_F32 || get32(e + 44) != 0)
            BAD("%s: tensor \"%s\" at byte %llu: unknown type", name, ename,
                (unsigned long long)eoff);
        want = idx < n_table ? table[idx].count : idx == n_table ? n_trainable : n_params;
        if (count != want)
            BAD("%s: tensor \"%s\" at byte %llu has %llu values, the network needs %zu", name,
                ename, (unsigned long long)eoff, (unsigned long long)count, want);
        if (doff % 4 || doff > data_bytes || count * 4 > data_bytes - doff)
            BAD("%s: tensor \"%s\" at byte %llu lies outside the data", name, ename,
                (unsigned long long)eoff);
        starts[t] = doff;
        ends[t] = doff + count * 4;
        for (uint32_t u = 0; u < t; u++)
            if (starts[t] < ends[u] && starts[u] < ends[t] && count)
                BAD("%s: tensor \"%s\" at byte %llu overlaps another", name, ename,
                    (unsigned long long)eoff);
        if (idx == n_table + 1 && !m->avg_params) {
            m->avg_params = calloc(n_params ? n_params : 1, sizeof(float));
            if (!m->avg_params) {
                util_log(UTIL_LOG_ERROR, "%s: out of memory", name);
                rc = UTIL_ENOMEM;
                goto cleanup;
            }
        }
        dst = idx < n_table ? m->params + table[idx].offset
              : idx == n_table ? m->opt_state : m->avg_params;
        /* Batch norm divides by sqrt(running variance + eps): a negative
         * one would turn every output into NaN. */
        nonneg_var = idx < n_table && strstr(table[idx].name, ".bn.var") != NULL;
        for (uint64_t i = 0; i < count; i++) {
            uint32_t bits = get32(buf + data_off + doff + 4 * i);
            float f;
            memcpy(&f, &bits, 4);
            if (!isfinite(f))
                BAD("%s: tensor \"%s\" holds a non-finite value at byte %llu", name, ename,
                    (unsigned long long)(data_off + doff + 4 * i));
            if (fkind == REC_MODEL_KIND_CHECKPOINT && idx == n_table && f < 0.0f)
                BAD("%s: optimizer state holds a negative mean square at byte %llu", name,
                    (unsigned long long)(data_off + doff + 4 * i));
            if (nonneg_var && f < 0.0f)
                BAD("%s: tensor \"%s\" holds a negative running variance at byte %llu", name,
                    ename, (unsigned long long)(data_off + doff + 4 * i));
            dst[i] = f;
        }
    }
    /* The averaged weights feed a model: their variances must be sane too. */
    for (int i = 0; m->avg_params && i < n_table; i++)
        if (strstr(table[i].name, ".bn.var"))
            for (size_t j = 0; j < table[i].count; j++)
                if (m->avg_params[table[i].offset + j] < 0.0f)
                    BAD("%s: avg.params holds a negative running variance for \"%s\"", name,
                        table[i].name);
    *pm = m;
    m = NULL;
cleanup:
    rec_model_destroy(&m);
    free(arch_text);
    free(meta);
    return rc;
}

int rec_model_load(rec_model **pm, const char *path, int kind)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    *pm = NULL;
    rc = util_file_read(path, REC_MODEL_MAX_BYTES, &buf, &len);
    if (rc)
        return rc;
    rc = rec_model_parse(pm, buf, len, path, kind);
    free(buf);
    return rc;
}

/* ------------------------------------------------------ default path */

/* The first of the places a shipped model file may be that exists; 1 when
 * one does, 0 otherwise (buf then holds the first candidate). */
static int model_find(const char *name, char *buf, size_t cap)
{
    char exe[4096], cand[3][4200];

    util_exe_dir(exe, sizeof exe);
    snprintf(cand[0], sizeof cand[0], "%s/models/%s", exe, name);
    snprintf(cand[1], sizeof cand[1], "%s/../share/docpipe/models/%s", exe, name);
    snprintf(cand[2], sizeof cand[2], "models/%s", name);
    for (int i = 0; i < 3; i++)
        if (access(cand[i], R_OK) == 0) {
            snprintf(buf, cap, "%s", cand[i]);
            return 1;
        }
    snprintf(buf, cap, "%s", cand[0]);
    return 0;
}

/* $var when set (1), else model_find(name). */
static int model_find_env(const char *var, const char *name, char *buf, size_t cap)
{
    const char *env = getenv(var);

    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return 1;
    }
    return model_find(name, buf, cap);
}

void rec_model_default_path(char *buf, size_t cap)
{
    (void)model_find_env("DOCPIPE_MODEL", "default.model", buf, cap);
}

int rec_model_checker_path(char *buf, size_t cap)
{
    return model_find_env("DOCPIPE_CHECKER", "checker.model", buf, cap);
}

int rec_model_judge_path(char *buf, size_t cap)
{
    return model_find_env("DOCPIPE_JUDGE", "judge.model", buf, cap);
}

int rec_model_pair_left_path(char *buf, size_t cap)
{
    return model_find_env("DOCPIPE_PAIR_LEFT", "pair-left.model", buf, cap);
}

int rec_model_pair_right_path(char *buf, size_t cap)
{
    return model_find_env("DOCPIPE_PAIR_RIGHT", "pair-right.model", buf, cap);
}
