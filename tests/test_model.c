/*
 * test_model.c - model and checkpoint files (rec_model.h, docs/model-format.md):
 * the exact layout rec_model_save writes (checked against a writer built
 * from the document alone), save/load round trips, metadata, every
 * truncation and every byte and bit flip of a small model and checkpoint
 * refused (and, with the CRC fixed up, either refused or read back exactly
 * as written), targeted corruptions that only the content checks can
 * catch, atomic saving, and the default model path.
 */
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "recognize/rec_model.h"
#include "tests/tst.h"
#include "util/util.h"

/* Small enough for exhaustive loops, yet with every kind of tensor: conv,
 * batch norm (trainable and running statistics) and dense. */
#define SMALL "conv2k3 bn relu pool4 flatten dense10"
#define SMALL_META "note=a small test model\nval_accuracy=0.5\n"

/* ------------------------------------------------------------- helpers */

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

static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Recomputes the trailing CRC32 (zlib's, of every byte before it). */
static void fix_crc(uint8_t *buf, size_t len)
{
    put32(buf + len - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4)));
}

/* Whether the last error holds frag; a frag ending in a digit must not be
 * followed by another ("byte 12" is not found in "byte 123"). */
static int err_has(const char *frag)
{
    const char *e = util_last_error(), *p;
    size_t n = strlen(frag);

    for (p = strstr(e, frag); p; p = strstr(p + 1, frag))
        if (!n || !(frag[n - 1] >= '0' && frag[n - 1] <= '9') || !(p[n] >= '0' && p[n] <= '9'))
            return 1;
    return 0;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return p;
}

/* A model of kind for arch text, with parameters (and optimizer state) that
 * are a function of seed, and some metadata. */
static rec_model *make_model(const char *arch_text, int kind, unsigned seed)
{
    rec_arch a;
    rec_model *m = NULL;

    if (rec_arch_parse(&a, arch_text) || rec_model_create(&m, &a, kind)) {
        fprintf(stderr, "cannot make a model for \"%s\": %s\n", arch_text, util_last_error());
        abort();
    }
    for (size_t i = 0; i < m->n_params; i++)
        m->params[i] = (float)((int)((i * 7919u + seed * 104729u) % 2001u) - 1000) / 997.0f;
    {
        /* running variances are never negative */
        rec_param_info table[REC_MAX_PARAMS];
        size_t nt, ntr;
        int n = rec_arch_params(&m->arch, table, &nt, &ntr);
        for (int t = 0; t < n; t++)
            if (strstr(table[t].name, ".bn.var"))
                for (size_t j = 0; j < table[t].count; j++)
                    m->params[table[t].offset + j] = fabsf(m->params[table[t].offset + j]);
    }
    if (m->opt_state)
        for (size_t i = 0; i < m->n_trainable; i++)
            m->opt_state[i] = (float)((i * 31u + seed) % 17u) / 64.0f;
    if (rec_model_meta_set(m, "note", "a small test model") ||
        rec_model_meta_set(m, "val_accuracy", "0.5")) {
        fprintf(stderr, "cannot set metadata: %s\n", util_last_error());
        abort();
    }
    return m;
}

/* Saves m as tmpdir/name and reads the file back whole. */
static uint8_t *save_bytes(const rec_model *m, const char *name, size_t *plen)
{
    char path[600];
    uint8_t *buf = NULL;

    snprintf(path, sizeof path, "%s/%s", tst_tmpdir(), name);
    *plen = 0;
    if (rec_model_save(m, path) || util_file_read(path, 0, &buf, plen)) {
        fprintf(stderr, "cannot save or re-read %s: %s\n", path, util_last_error());
        abort();
    }
    return buf;
}

/* rec_model_parse on an exact-size heap copy, so that sanitizers see any
 * read past the end. */
static int parse_exact(rec_model **pm, const uint8_t *buf, size_t len, const char *name, int kind)
{
    uint8_t *copy = xmalloc(len);
    int rc;

    if (len)
        memcpy(copy, buf, len);
    rc = rec_model_parse(pm, copy, len, name, kind);
    free(copy);
    return rc;
}

static int same_model(const rec_model *a, const rec_model *b)
{
    char ta[4096], tb[4096];

    rec_arch_format(&a->arch, ta, sizeof ta);
    rec_arch_format(&b->arch, tb, sizeof tb);
    if (a->kind != b->kind || strcmp(ta, tb) != 0 || a->n_params != b->n_params ||
        a->n_trainable != b->n_trainable || strcmp(a->meta, b->meta) != 0)
        return 0;
    if (memcmp(a->params, b->params, a->n_params * sizeof(float)) != 0)
        return 0;
    if (!a->opt_state != !b->opt_state)
        return 0;
    if (a->opt_state && memcmp(a->opt_state, b->opt_state, a->n_trainable * sizeof(float)) != 0)
        return 0;
    return 1;
}

/* ---------------------------------------- a writer from the document */

/*
 * A file described field by field, written by build() exactly as
 * docs/model-format.md lays it out, so the tests can make files that
 * rec_model_save never would.
 */
typedef struct ent {
    char name[40]; /* NUL-padded */
    uint32_t dtype, reserved;
    uint64_t offset, count;
} ent;

typedef struct spec {
    uint8_t magic[8];
    uint32_t version, kind, reserved;
    char arch[5000];
    size_t arch_len;
    char meta[REC_MODEL_MAX_META + 16];
    size_t meta_len;
    int n;
    ent e[REC_MAX_PARAMS + 4];
    uint8_t *data; /* data_bytes bytes */
    size_t data_bytes;
} spec;

/* The spec of what rec_model_save writes for m. */
static spec *spec_of(const rec_model *m)
{
    rec_param_info table[REC_MAX_PARAMS];
    size_t nt, ntr, off = 0;
    int n = rec_arch_params(&m->arch, table, &nt, &ntr);
    spec *s = calloc(1, sizeof *s);

    if (!s || n < 0)
        abort();
    memcpy(s->magic, "DPMODEL", 8);
    s->version = 1;
    s->kind = (uint32_t)m->kind;
    rec_arch_format(&m->arch, s->arch, sizeof s->arch);
    s->arch_len = strlen(s->arch);
    s->meta_len = strlen(m->meta);
    memcpy(s->meta, m->meta, s->meta_len);
    s->n = n + (m->kind == REC_MODEL_KIND_CHECKPOINT);
    s->data_bytes = 4 * (nt + (m->kind == REC_MODEL_KIND_CHECKPOINT ? ntr : 0));
    s->data = xmalloc(s->data_bytes);
    for (int t = 0; t < s->n; t++) {
        const float *src = t < n ? m->params + table[t].offset : m->opt_state;
        size_t count = t < n ? table[t].count : ntr;
        {
            const char *nm = t < n ? table[t].name : "opt.ms";
            memcpy(s->e[t].name, nm, strlen(nm)); /* at most 31 bytes; the rest stays NUL */
        }
        s->e[t].dtype = 1;
        s->e[t].offset = off;
        s->e[t].count = count;
        for (size_t i = 0; i < count; i++)
            put32(s->data + off + 4 * i, f2u(src[i]));
        off += 4 * count;
    }
    return s;
}

static void spec_free(spec *s)
{
    if (s)
        free(s->data);
    free(s);
}

static size_t spec_dir_off(const spec *s) { return 48 + s->arch_len + s->meta_len; }
static size_t spec_data_off(const spec *s) { return spec_dir_off(s) + 64 * (size_t)s->n; }

static uint8_t *build(const spec *s, size_t *plen)
{
    size_t total = spec_data_off(s) + s->data_bytes + 4, dir = spec_dir_off(s);
    uint8_t *b = calloc(1, total);

    if (!b)
        abort();
    memcpy(b, s->magic, 8);
    put32(b + 8, s->version);
    put32(b + 12, s->kind);
    put32(b + 16, (uint32_t)s->arch_len);
    put32(b + 20, (uint32_t)s->meta_len);
    put32(b + 24, (uint32_t)s->n);
    put32(b + 28, s->reserved);
    put64(b + 32, s->data_bytes);
    put64(b + 40, total);
    memcpy(b + 48, s->arch, s->arch_len);
    memcpy(b + 48 + s->arch_len, s->meta, s->meta_len);
    for (int t = 0; t < s->n; t++) {
        uint8_t *e = b + dir + 64 * (size_t)t;
        memcpy(e, s->e[t].name, 40);
        put32(e + 40, s->e[t].dtype);
        put32(e + 44, s->e[t].reserved);
        put64(e + 48, s->e[t].offset);
        put64(e + 56, s->e[t].count);
    }
    if (s->data_bytes)
        memcpy(b + spec_data_off(s), s->data, s->data_bytes);
    fix_crc(b, total);
    *plen = total;
    return b;
}

static int spec_find(const spec *s, const char *name)
{
    for (int t = 0; t < s->n; t++)
        if (strcmp(s->e[t].name, name) == 0)
            return t;
    fprintf(stderr, "no tensor %s\n", name);
    abort();
}

/* ---------------------------------------------------- layout, round trip */

static void test_layout(void)
{
    static const char *names[] = {"0.conv.w", "0.conv.b",  "1.bn.gamma", "1.bn.beta",
                                  "5.dense.w", "5.dense.b", "1.bn.mean", "1.bn.var", "opt.ms"};
    static const uint64_t counts[] = {18, 2, 2, 2, 720, 10, 2, 2, 754};
    rec_model *m = make_model(SMALL, REC_MODEL_KIND_CHECKPOINT, 1);
    size_t len, blen, arch_len = strlen(SMALL), meta_len = strlen(SMALL_META);
    uint8_t *buf = save_bytes(m, "layout.ckpt", &len), *built;
    spec *s = spec_of(m);
    size_t dir = 48 + arch_len + meta_len, data = dir + 9 * 64, off = 0;
    int ok = 1;

    TST_CHECK(strcmp(m->meta, SMALL_META) == 0, "metadata \"%s\"", m->meta);
    TST_CHECK(m->n_params == 758 && m->n_trainable == 754, "small net: %zu params, %zu trainable",
              m->n_params, m->n_trainable);
    /* The header, field by field. */
    TST_CHECK(len == data + 4 * (758 + 754) + 4, "file size %zu", len);
    TST_CHECK(memcmp(buf, "DPMODEL\0", 8) == 0, "magic");
    TST_CHECK(get32(buf + 8) == 1, "version %u", get32(buf + 8));
    TST_CHECK(get32(buf + 12) == REC_MODEL_KIND_CHECKPOINT, "kind %u", get32(buf + 12));
    TST_CHECK(get32(buf + 16) == arch_len, "arch length %u", get32(buf + 16));
    TST_CHECK(get32(buf + 20) == meta_len, "meta length %u", get32(buf + 20));
    TST_CHECK(get32(buf + 24) == 9, "tensor count %u", get32(buf + 24));
    TST_CHECK(get32(buf + 28) == 0, "reserved %u", get32(buf + 28));
    TST_CHECK(get64(buf + 32) == 4 * (758 + 754), "data bytes %llu",
              (unsigned long long)get64(buf + 32));
    TST_CHECK(get64(buf + 40) == len, "total %llu", (unsigned long long)get64(buf + 40));
    TST_CHECK(memcmp(buf + 48, SMALL, arch_len) == 0, "arch text");
    TST_CHECK(memcmp(buf + 48 + arch_len, SMALL_META, meta_len) == 0, "metadata text");
    /* The directory: trainable tensors in layer order, then running
     * statistics, then opt.ms; data back to back. */
    for (int t = 0; t < 9; t++) {
        const uint8_t *e = buf + dir + 64 * t;
        char want[40] = {0};
        memcpy(want, names[t], strlen(names[t]));
        ok &= TST_CHECK(memcmp(e, want, 40) == 0, "entry %d name \"%.40s\", expected %s", t,
                        (const char *)e, names[t]);
        ok &= TST_CHECK(get32(e + 40) == 1 && get32(e + 44) == 0, "entry %d type", t);
        ok &= TST_CHECK(get64(e + 48) == off, "entry %d offset %llu, expected %zu", t,
                        (unsigned long long)get64(e + 48), off);
        ok &= TST_CHECK(get64(e + 56) == counts[t], "entry %d count", t);
        off += 4 * counts[t];
    }
    /* Data: float32 little-endian; 0.conv.w first, opt.ms last. */
    TST_CHECK(get32(buf + data) == f2u(m->params[0]), "first float");
    TST_CHECK(get32(buf + data + 4 * 758) == f2u(m->opt_state[0]), "first opt.ms float");
    TST_CHECK(get32(buf + len - 4) == (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4)),
              "CRC32 of everything before it");
    /* A writer that knows only the document writes the same bytes. */
    built = build(s, &blen);
    TST_CHECK(blen == len && memcmp(built, buf, len) == 0,
              "rec_model_save and the documented layout differ");
    /* And a model (no opt.ms). */
    {
        rec_model *mm = make_model(SMALL, REC_MODEL_KIND_MODEL, 1);
        size_t ml, bl;
        uint8_t *mb = save_bytes(mm, "layout.model", &ml), *bb;
        spec *ms = spec_of(mm);
        bb = build(ms, &bl);
        TST_CHECK(get32(mb + 12) == REC_MODEL_KIND_MODEL && get32(mb + 24) == 8 &&
                      get64(mb + 32) == 4 * 758,
                  "model header");
        TST_CHECK(bl == ml && memcmp(bb, mb, ml) == 0,
                  "rec_model_save (model) and the documented layout differ");
        free(mb);
        free(bb);
        spec_free(ms);
        rec_model_destroy(&mm);
    }
    free(built);
    free(buf);
    spec_free(s);
    rec_model_destroy(&m);
}

static void round_trip(const char *arch_text, int kind)
{
    const char *what = kind == REC_MODEL_KIND_MODEL ? "model" : "checkpoint";
    rec_model *m = make_model(arch_text, kind, 7), *back = NULL, *any = NULL;
    char path[600];
    size_t l1, l2;
    uint8_t *b1, *b2;
    int rc;

    /* Special values survive bit for bit. */
    m->params[0] = -0.0f;
    m->params[1] = 1e-45f; /* the smallest denormal */
    m->params[2] = FLT_MAX;
    m->params[3] = -FLT_MAX;
    m->params[m->n_params - 1] = FLT_MIN;
    if (m->opt_state) {
        m->opt_state[0] = 0.0f;
        m->opt_state[m->n_trainable - 1] = FLT_MAX;
    }
    rec_model_meta_set(m, "with_equals", "a=b=c");
    rec_model_meta_set(m, "empty", "");
    snprintf(path, sizeof path, "%s/rt-%s.%s", tst_tmpdir(), what, what);
    rc = rec_model_save(m, path);
    TST_CHECK(rc == UTIL_OK, "%s %s: save failed: %s", arch_text, what, util_last_error());
    rc = rec_model_load(&back, path, kind);
    TST_CHECK(rc == UTIL_OK && back, "%s %s: load failed: %s", arch_text, what,
              util_last_error());
    if (back) {
        TST_CHECK(same_model(m, back), "%s %s: loaded differs from saved", arch_text, what);
        TST_CHECK((back->opt_state != NULL) == (kind == REC_MODEL_KIND_CHECKPOINT),
                  "%s %s: opt_state presence", arch_text, what);
    }
    rc = rec_model_load(&any, path, 0);
    TST_CHECK(rc == UTIL_OK && any && any->kind == kind, "%s %s: kind 0 accepts either",
              arch_text, what);
    /* Saving what was loaded gives the same bytes. */
    b1 = save_bytes(m, "rt1", &l1);
    b2 = back ? save_bytes(back, "rt2", &l2) : NULL;
    TST_CHECK(b2 && l1 == l2 && memcmp(b1, b2, l1) == 0, "%s %s: re-save differs", arch_text,
              what);
    free(b1);
    free(b2);
    rec_model_destroy(&m);
    rec_model_destroy(&back);
    rec_model_destroy(&any);
}

static void test_round_trip(void)
{
    const char *archs[] = {SMALL, rec_arch_preset("default"), rec_arch_preset("lenet5"),
                           "conv3k5p2 pool3s2 drop0.25 flatten bn dense10"};
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++) {
        round_trip(archs[i], REC_MODEL_KIND_MODEL);
        round_trip(archs[i], REC_MODEL_KIND_CHECKPOINT);
    }
    /* The parser's other spellings are read, and written back canonical. */
    {
        rec_model *m = make_model(SMALL, REC_MODEL_KIND_MODEL, 3), *back = NULL;
        spec *s = spec_of(m);
        const char *odd = "  conv2k3p0,bn relu pool4s4 , flatten dense10 ";
        size_t len;
        uint8_t *b;
        s->arch_len = strlen(odd);
        memcpy(s->arch, odd, s->arch_len);
        b = build(s, &len);
        TST_CHECK(parse_exact(&back, b, len, "odd.model", 0) == UTIL_OK && back &&
                      same_model(m, back),
                  "another spelling of the arch refused: %s", util_last_error());
        free(b);
        spec_free(s);
        rec_model_destroy(&m);
        rec_model_destroy(&back);
    }
    /* Empty metadata is fine. */
    {
        rec_model *m = make_model(SMALL, REC_MODEL_KIND_MODEL, 3), *back = NULL;
        spec *s;
        size_t len;
        uint8_t *b;
        m->meta[0] = '\0';
        s = spec_of(m);
        b = build(s, &len);
        TST_CHECK(parse_exact(&back, b, len, "nometa.model", 0) == UTIL_OK && back &&
                      back->meta[0] == '\0',
                  "empty metadata refused: %s", util_last_error());
        free(b);
        spec_free(s);
        rec_model_destroy(&m);
        rec_model_destroy(&back);
    }
}

/* ------------------------------------------------------------ metadata */

static void test_meta(void)
{
    rec_model *m = make_model(SMALL, REC_MODEL_KIND_MODEL, 1);
    char buf[5000], key[80], val[4200];
    double d;

    /* get, set, replace */
    TST_CHECK(rec_model_meta_get(m, "note", buf, sizeof buf) == UTIL_OK &&
                  strcmp(buf, "a small test model") == 0,
              "get note: \"%s\"", buf);
    util_clear_error();
    TST_CHECK(rec_model_meta_get(m, "absent", buf, sizeof buf) == UTIL_EINVAL && buf[0] == '\0',
              "an absent key is not EINVAL with an empty buffer");
    TST_CHECK(util_last_error()[0] == '\0', "an absent key logged \"%s\"", util_last_error());
    TST_CHECK(rec_model_meta_get(m, "not", buf, sizeof buf) == UTIL_EINVAL,
              "a prefix of a key was found");
    TST_CHECK(rec_model_meta_get(m, "note", buf, 5) == UTIL_EINVAL,
              "a value longer than the buffer was not refused");
    TST_CHECK(rec_model_meta_set(m, "lr_max", "2") == UTIL_OK &&
                  rec_model_meta_set(m, "lr", "1") == UTIL_OK,
              "set lr, lr_max");
    TST_CHECK(rec_model_meta_set(m, "note", "replaced") == UTIL_OK, "replace note");
    TST_CHECK(strcmp(m->meta, "val_accuracy=0.5\nlr_max=2\nlr=1\nnote=replaced\n") == 0,
              "after replace: \"%s\"", m->meta);
    TST_CHECK(rec_model_meta_set(m, "lr", "3") == UTIL_OK &&
                  rec_model_meta_get(m, "lr", buf, sizeof buf) == UTIL_OK && strcmp(buf, "3") == 0 &&
                  rec_model_meta_get(m, "lr_max", buf, sizeof buf) == UTIL_OK &&
                  strcmp(buf, "2") == 0,
              "lr and lr_max mixed up: %s", m->meta);
    TST_CHECK(rec_model_meta_set(m, "eq", "x=y") == UTIL_OK &&
                  rec_model_meta_get(m, "eq", buf, sizeof buf) == UTIL_OK &&
                  strcmp(buf, "x=y") == 0,
              "a value holding '=': \"%s\"", buf);
    TST_CHECK(rec_model_meta_set(m, "blank", "") == UTIL_OK &&
                  rec_model_meta_get(m, "blank", buf, sizeof buf) == UTIL_OK && buf[0] == '\0',
              "an empty value");
    TST_CHECK(rec_model_meta_set(m, "utf8", "\xc3\xa9t\xc3\xa9") == UTIL_OK,
              "bytes >= 0x80 in a value refused");

    /* numbers */
    rec_model_meta_set(m, "temperature", "1.5");
    TST_CHECK(rec_model_meta_double(m, "temperature", 0.05, 20, 1, &d) == UTIL_OK && d == 1.5,
              "meta_double 1.5: %g", d);
    TST_CHECK(rec_model_meta_double(m, "temperature", 2, 20, 1, &d) == UTIL_EINVAL && d == 1,
              "meta_double out of range: %g", d);
    rec_model_meta_set(m, "temperature", "nan");
    TST_CHECK(rec_model_meta_double(m, "temperature", 0.05, 20, 1, &d) == UTIL_EINVAL && d == 1,
              "meta_double nan: %g", d);
    rec_model_meta_set(m, "temperature", "1.5x");
    TST_CHECK(rec_model_meta_double(m, "temperature", 0.05, 20, 1, &d) == UTIL_EINVAL && d == 1,
              "meta_double 1.5x: %g", d);
    TST_CHECK(rec_model_meta_double(m, "nope", 0.05, 20, 4, &d) == UTIL_EINVAL && d == 4,
              "meta_double absent: %g", d);

    /* keys: 1..63 of [A-Za-z0-9_.-] */
    memset(key, 'k', 63);
    key[63] = '\0';
    TST_CHECK(rec_model_meta_set(m, key, "v") == UTIL_OK, "a 63-character key refused");
    TST_CHECK(rec_model_meta_set(m, "Az09_.-", "v") == UTIL_OK, "every key character class");
    key[63] = 'k';
    key[64] = '\0';
    {
        const char *bad[] = {"", key, "a b", "a=b", "a\nb", "a\tb", "\xc3\xa9", "a/b", "a:b"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            util_clear_error();
            TST_CHECK(rec_model_meta_set(m, bad[i], "v") == UTIL_EINVAL && util_last_error()[0],
                      "bad key %zu accepted", i);
        }
    }
    /* values: up to 4095 bytes, no control characters */
    memset(val, 'v', 4095);
    val[4095] = '\0';
    TST_CHECK(rec_model_meta_set(m, "long", val) == UTIL_OK, "a 4095-byte value refused");
    TST_CHECK(rec_model_meta_get(m, "long", buf, sizeof buf) == UTIL_OK && strlen(buf) == 4095,
              "a 4095-byte value read back");
    val[4095] = 'v';
    val[4096] = '\0';
    {
        const char *bad[] = {val, "a\nb", "a\rb", "a\tb", "a\x7f", "\x01"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            util_clear_error();
            TST_CHECK(rec_model_meta_set(m, "k", bad[i]) == UTIL_EINVAL && util_last_error()[0],
                      "bad value %zu accepted", i);
        }
    }
    TST_CHECK(rec_model_meta_get(m, "k", buf, sizeof buf) == UTIL_EINVAL,
              "a refused set left a key behind");

    /* the whole block: at most 64 KiB */
    {
        int i, rc = UTIL_OK;
        memset(val, 'x', 4000);
        val[4000] = '\0';
        for (i = 0; i < 40 && rc == UTIL_OK; i++) {
            snprintf(key, sizeof key, "fill%d", i);
            rc = rec_model_meta_set(m, key, val);
        }
        TST_CHECK(rc == UTIL_EINVAL && i > 10 && strlen(m->meta) <= REC_MODEL_MAX_META,
                  "metadata grew past 64 KiB: %zu bytes", strlen(m->meta));
        TST_CHECK(err_has("65536"), "the limit not in \"%s\"", util_last_error());
        /* What the setter allows, the file holds. */
        {
            rec_model *back = NULL;
            char path[600];
            snprintf(path, sizeof path, "%s/bigmeta.model", tst_tmpdir());
            TST_CHECK(rec_model_save(m, path) == UTIL_OK &&
                          rec_model_load(&back, path, REC_MODEL_KIND_MODEL) == UTIL_OK && back &&
                          same_model(m, back),
                      "a model with %zu bytes of metadata does not round-trip: %s",
                      strlen(m->meta), util_last_error());
            rec_model_destroy(&back);
        }
    }
    rec_model_destroy(&m);
}

/* ------------------------------------------------- exhaustive damage */

/* Every truncation, every byte inverted, every single bit flipped: all
 * refused (the CRC, the size, the magic or the version catches them). */
static void damage_refused(const char *what, const uint8_t *good, size_t len, int kind)
{
    uint8_t *b = xmalloc(len);
    char path[600];
    long bad_at = -1, msg_at = -1;
    int n = 0;

    /* Truncations, in memory with exact-size buffers. */
    for (size_t l = 0; l < len; l++) {
        rec_model *m = NULL;
        util_clear_error();
        int rc = parse_exact(&m, good, l, "trunc.model", kind);
        if ((rc == UTIL_OK || m) && bad_at < 0)
            bad_at = (long)l;
        if (!err_has("trunc.model") && msg_at < 0)
            msg_at = (long)l;
        rec_model_destroy(&m);
        n++;
    }
    TST_CHECK(bad_at < 0, "%s: truncated to %ld bytes and accepted", what, bad_at);
    TST_CHECK(msg_at < 0, "%s: truncated to %ld bytes: message \"%s\"", what, msg_at,
              util_last_error());

    /* Truncations of a real file, through rec_model_load. */
    bad_at = msg_at = -1;
    snprintf(path, sizeof path, "%s/trunc-%s", tst_tmpdir(), what);
    if (TST_CHECK(tst_write_file(strrchr(path, '/') + 1, good, len) != NULL, "write %s", path)) {
        for (size_t l = len; l-- > 0;) {
            rec_model *m = NULL;
            int rc;
            if (truncate(path, (off_t)l) != 0) {
                bad_at = (long)l;
                break;
            }
            util_clear_error();
            rc = rec_model_load(&m, path, kind);
            if ((rc == UTIL_OK || m) && bad_at < 0)
                bad_at = (long)l;
            if (!err_has(path) && msg_at < 0)
                msg_at = (long)l;
            rec_model_destroy(&m);
        }
        TST_CHECK(bad_at < 0, "%s: file truncated to %ld bytes and accepted", what, bad_at);
        TST_CHECK(msg_at < 0, "%s: file truncated to %ld bytes: message does not name it", what,
                  msg_at);
    }

    /* Inverted bytes and flipped bits, the CRC left as it was. */
    bad_at = msg_at = -1;
    memcpy(b, good, len);
    for (size_t i = 0; i < len; i++) {
        static const uint8_t masks[9] = {0xff, 1, 2, 4, 8, 16, 32, 64, 128};
        for (int k = 0; k < 9; k++) {
            rec_model *m = NULL;
            int rc;
            b[i] ^= masks[k];
            util_clear_error();
            rc = rec_model_parse(&m, b, len, "flip.model", kind);
            b[i] ^= masks[k];
            if ((rc == UTIL_OK || m) && bad_at < 0)
                bad_at = (long)i;
            if (!err_has("flip.model") && msg_at < 0)
                msg_at = (long)i;
            rec_model_destroy(&m);
        }
    }
    TST_CHECK(bad_at < 0, "%s: a flip at byte %ld accepted", what, bad_at);
    TST_CHECK(msg_at < 0, "%s: a flip at byte %ld: no message naming the file", what, msg_at);
    TST_CHECK(memcmp(b, good, len) == 0, "the flip loop did not restore the buffer");
    free(b);
}

/*
 * The same flips with the CRC recomputed, so the content checks are on
 * their own: each file is refused with a message, or read as a model that
 * the documented writer turns back into exactly the same bytes (a float
 * that changed value, a metadata character that is still valid, ...), with
 * finite parameters, non-negative running variances (batch norm divides by
 * their square root) and a non-negative optimizer state.
 */
static void damage_fixed_crc(const char *what, const uint8_t *good, size_t len, int kind)
{
    uint8_t *b = xmalloc(len);
    long bad_at = -1, msg_at = -1, refused = 0, accepted = 0;

    memcpy(b, good, len);
    for (size_t i = 0; i + 4 < len; i++) {
        static const uint8_t masks[9] = {0xff, 1, 2, 4, 8, 16, 32, 64, 128};
        for (int k = 0; k < 9; k++) {
            rec_model *m = NULL;
            int rc;
            b[i] ^= masks[k];
            fix_crc(b, len);
            util_clear_error();
            rc = rec_model_parse(&m, b, len, "fixed.model", kind);
            if (rc != UTIL_OK) {
                refused++;
                if ((m || !err_has("fixed.model")) && msg_at < 0)
                    msg_at = (long)i;
            } else {
                spec *s = spec_of(m);
                size_t l2;
                uint8_t *again = build(s, &l2);
                int ok = l2 == len && memcmp(again, b, len) == 0;
                for (size_t j = 0; j < m->n_params; j++)
                    ok &= isfinite(m->params[j]);
                {
                    rec_param_info table[REC_MAX_PARAMS];
                    size_t nt, ntr;
                    int n = rec_arch_params(&m->arch, table, &nt, &ntr);
                    for (int t = 0; t < n; t++)
                        if (strstr(table[t].name, ".bn.var"))
                            for (size_t j = 0; j < table[t].count; j++)
                                ok &= m->params[table[t].offset + j] >= 0.0f;
                }
                if (m->opt_state)
                    for (size_t j = 0; j < m->n_trainable; j++)
                        ok &= m->opt_state[j] >= 0.0f && isfinite(m->opt_state[j]);
                if (!ok && bad_at < 0)
                    bad_at = (long)(i * 16 + (size_t)k);
                accepted++;
                free(again);
                spec_free(s);
            }
            b[i] ^= masks[k];
            rec_model_destroy(&m);
        }
    }
    TST_CHECK(bad_at < 0, "%s: flip %ld (byte %ld) accepted as something else", what, bad_at,
              bad_at / 16);
    TST_CHECK(msg_at < 0, "%s: flip at byte %ld refused without a message naming the file", what,
              msg_at);
    /* Flips in the data are mostly valid floats; flips in the header are not. */
    TST_CHECK(accepted > 0 && refused > 48 * 9, "%s: %ld accepted, %ld refused", what, accepted,
              refused);
    free(b);
}

static void test_exhaustive(void)
{
    for (int kind = REC_MODEL_KIND_MODEL; kind <= REC_MODEL_KIND_CHECKPOINT; kind++) {
        const char *what = kind == REC_MODEL_KIND_MODEL ? "small.model" : "small.ckpt";
        rec_model *m = make_model(SMALL, kind, 5);
        size_t len;
        uint8_t *good = save_bytes(m, what, &len);
        damage_refused(what, good, len, kind);
        damage_refused(what, good, len, 0);
        damage_fixed_crc(what, good, len, 0);
        free(good);
        rec_model_destroy(&m);
    }
}

/* ----------------------------------------------- targeted corruptions */

/*
 * Expects bytes (whose CRC is right) refused by rec_model_parse on an exact
 * buffer and by rec_model_load from a file, both with code want and
 * messages holding the name and each non-NULL fragment.
 */
static void refused(const char *name, const uint8_t *buf, size_t len, int kind, int want,
                    const char *frag1, const char *frag2)
{
    rec_model *m = NULL;
    const char *path;
    int rc;

    util_clear_error();
    rc = parse_exact(&m, buf, len, name, kind);
    TST_CHECK(rc == want && m == NULL, "%s: parse rc %d, expected %d (%s)", name, rc, want,
              util_last_error());
    TST_CHECK(err_has(name), "%s: message \"%s\" does not name the file", name,
              util_last_error());
    TST_CHECK(!frag1 || err_has(frag1), "%s: message \"%s\" lacks \"%s\"", name,
              util_last_error(), frag1);
    TST_CHECK(!frag2 || err_has(frag2), "%s: message \"%s\" lacks \"%s\"", name,
              util_last_error(), frag2);
    rec_model_destroy(&m);

    path = tst_write_file(name, buf, len);
    if (!TST_CHECK(path != NULL, "%s: cannot write", name))
        return;
    util_clear_error();
    rc = rec_model_load(&m, path, kind);
    TST_CHECK(rc == want && m == NULL && err_has(path), "%s: load rc %d, message \"%s\"", name,
              rc, util_last_error());
    rec_model_destroy(&m);
}

/* refused() on the file a spec describes. */
static void spec_refused(const char *name, const spec *s, int kind, int want, const char *frag1,
                         const char *frag2)
{
    size_t len;
    uint8_t *b = build(s, &len);
    refused(name, b, len, kind, want, frag1, frag2);
    free(b);
}

static void test_targeted(void)
{
    rec_model *mm = make_model(SMALL, REC_MODEL_KIND_MODEL, 9);
    rec_model *mc = make_model(SMALL, REC_MODEL_KIND_CHECKPOINT, 9);
    spec *s = spec_of(mm), *c = spec_of(mc), *t = calloc(1, sizeof *t);
    size_t len, clen, dir = spec_dir_off(s), data = spec_data_off(s);
    uint8_t *good = build(s, &len), *cgood = build(c, &clen), *b = xmalloc(clen + 8);
    char frag[200];
    int w = spec_find(s, "5.dense.w");

    if (!t)
        abort();
    /* The untouched files load. */
    {
        rec_model *m = NULL;
        TST_CHECK(parse_exact(&m, good, len, "good.model", REC_MODEL_KIND_MODEL) == UTIL_OK,
                  "good model refused: %s", util_last_error());
        rec_model_destroy(&m);
        TST_CHECK(parse_exact(&m, cgood, clen, "good.ckpt", REC_MODEL_KIND_CHECKPOINT) ==
                      UTIL_OK,
                  "good checkpoint refused: %s", util_last_error());
        rec_model_destroy(&m);
    }

#define RESET() (memcpy(b, good, len))
#define TSPEC() (free(t->data), *t = *s, t->data = xmalloc(s->data_bytes), \
                 memcpy(t->data, s->data, s->data_bytes))

    /* Header fields, edited in place with the CRC fixed. */
    RESET(), b[6] = 'X', fix_crc(b, len);
    refused("magic.model", b, len, 0, UTIL_EFORMAT, "magic", "byte 0");
    RESET(), put32(b + 8, 2), fix_crc(b, len);
    refused("v2.model", b, len, 0, UTIL_EUNSUP, "version 2", NULL);
    RESET(), put32(b + 8, 0), fix_crc(b, len);
    refused("v0.model", b, len, 0, UTIL_EUNSUP, "version 0", NULL);
    RESET(), put32(b + 12, 3), fix_crc(b, len);
    refused("kind3.model", b, len, 0, UTIL_EFORMAT, "kind 3", "byte 12");
    RESET(), put32(b + 12, 0), fix_crc(b, len);
    refused("kind0.model", b, len, 0, UTIL_EFORMAT, "kind 0", "byte 12");
    RESET(), put32(b + 28, 1), fix_crc(b, len);
    refused("reserved.model", b, len, 0, UTIL_EFORMAT, "reserved", "byte 28");
    RESET(), put64(b + 40, len + 1), fix_crc(b, len);
    refused("total.model", b, len, 0, UTIL_EFORMAT, "byte 40", NULL);
    RESET(), put64(b + 32, get64(b + 32) + 4), fix_crc(b, len);
    refused("databytes.model", b, len, 0, UTIL_EFORMAT, "do not add up", NULL);
    RESET(), put64(b + 32, (uint64_t)1 << 63), fix_crc(b, len);
    refused("databytes-huge.model", b, len, 0, UTIL_EFORMAT, "do not add up", NULL);
    RESET(), put32(b + 16, get32(b + 16) + 1), put32(b + 20, get32(b + 20) - 1), fix_crc(b, len);
    refused("archlen-shifted.model", b, len, 0, UTIL_EFORMAT, "byte 48", "invalid");
    RESET(), put32(b + 16, 0), fix_crc(b, len);
    refused("archlen0.model", b, len, 0, UTIL_EFORMAT, "byte 16", NULL);
    RESET(), put32(b + 16, 0xffffffffu), fix_crc(b, len);
    refused("archlen-huge.model", b, len, 0, UTIL_EFORMAT, "byte 16", NULL);
    RESET(), put32(b + 20, REC_MODEL_MAX_META + 1), fix_crc(b, len);
    refused("metalen-huge.model", b, len, 0, UTIL_EFORMAT, "byte 20", NULL);
    RESET(), put32(b + 24, 0), fix_crc(b, len);
    refused("count0.model", b, len, 0, UTIL_EFORMAT, "byte 24", NULL);
    RESET(), put32(b + 24, 0x40000000u), fix_crc(b, len);
    refused("count-huge.model", b, len, 0, UTIL_EFORMAT, "byte 24", NULL);
    RESET(), put32(b + 24, 9), fix_crc(b, len);
    refused("count-plus1.model", b, len, 0, UTIL_EFORMAT, "do not add up", NULL);
    /* A byte more or less than the header says. */
    memcpy(b, good, len), b[len] = 0;
    refused("padded.model", b, len + 1, 0, UTIL_EFORMAT, "byte 40", NULL);
    refused("short.model", good, 51, 0, UTIL_EFORMAT, "51 bytes", NULL);
    refused("empty.model", good, 0, 0, UTIL_EFORMAT, "0 bytes", NULL);
    RESET(), b[len - 1] ^= 1;
    snprintf(frag, sizeof frag, "byte %zu", len - 4);
    refused("crc.model", b, len, 0, UTIL_EFORMAT, "CRC32", frag);

    /* The wrong kind. */
    refused("ckpt-as-model.model", cgood, clen, REC_MODEL_KIND_MODEL, UTIL_EFORMAT,
            "is a checkpoint, a model was expected", NULL);
    refused("model-as-ckpt.ckpt", good, len, REC_MODEL_KIND_CHECKPOINT, UTIL_EFORMAT,
            "is a model, a checkpoint was expected", NULL);
    RESET(), put32(b + 12, REC_MODEL_KIND_CHECKPOINT), fix_crc(b, len);
    refused("model-says-ckpt.ckpt", b, len, 0, UTIL_EFORMAT, "tensors in the directory",
            "needs 9");

    /* The network description. */
    TSPEC(), memcpy(t->arch, "conv2q3", 7);
    spec_refused("arch-word.model", t, 0, UTIL_EFORMAT, "byte 48", "invalid");
    TSPEC(), memcpy(t->arch + t->arch_len - 7, "dense11", 7);
    spec_refused("arch-last.model", t, 0, UTIL_EFORMAT, "byte 48", "dense10");
    TSPEC(), t->arch[3] = '\x01';
    spec_refused("arch-ctrl.model", t, 0, UTIL_EFORMAT, "byte 48", "not text");
    TSPEC(), t->arch[3] = '\0';
    spec_refused("arch-nul.model", t, 0, UTIL_EFORMAT, "byte 48", "not text");
    TSPEC(), t->arch[3] = '\n';
    spec_refused("arch-newline.model", t, 0, UTIL_EFORMAT, "byte 48", "not text");
    TSPEC(), t->arch[3] = '\xc3';
    spec_refused("arch-8bit.model", t, 0, UTIL_EFORMAT, "byte 48", NULL);
    TSPEC(), memset(t->arch, ' ', t->arch_len);
    spec_refused("arch-blank.model", t, 0, UTIL_EFORMAT, "byte 48", "invalid");
    /* A valid network that is not the one the tensors are for. */
    TSPEC(), memcpy(t->arch, "conv3k3", 7);
    spec_refused("arch-other.model", t, 0, UTIL_EFORMAT, "0.conv.w", "needs 27");
    TSPEC(), t->arch_len = strlen("conv2k3 relu pool4 flatten dense10"),
             memcpy(t->arch, "conv2k3 relu pool4 flatten dense10", t->arch_len);
    spec_refused("arch-nobn.model", t, 0, UTIL_EFORMAT, "tensors in the directory", "needs 4");
    {
        /* The longest allowed description is 4095 bytes; 4096 is refused. */
        TSPEC(), memset(t->arch, ' ', 4095 - s->arch_len);
        memcpy(t->arch + 4095 - s->arch_len, s->arch, s->arch_len);
        t->arch_len = 4095;
        {
            rec_model *m = NULL;
            size_t l;
            uint8_t *bb = build(t, &l);
            TST_CHECK(parse_exact(&m, bb, l, "arch4095.model", 0) == UTIL_OK,
                      "a 4095-byte description refused: %s", util_last_error());
            rec_model_destroy(&m);
            free(bb);
        }
        memset(t->arch, ' ', 4096 - s->arch_len);
        memcpy(t->arch + 4096 - s->arch_len, s->arch, s->arch_len);
        t->arch_len = 4096;
        spec_refused("arch4096.model", t, 0, UTIL_EFORMAT, "byte 16", "4095");
    }

    /* The metadata: printable key=value lines, each with its '\n'. */
    snprintf(frag, sizeof frag, "byte %zu", 48 + s->arch_len);
    {
        static const struct {
            const char *name, *meta;
        } bad[] = {
            {"meta-ctrl.model", "note=a\x01z\nval_accuracy=0.5\n"},
            {"meta-tab.model", "note=a\tb\n"},
            {"meta-cr.model", "note=ab\r\n"},
            {"meta-del.model", "note=a\x7f\n"},
            {"meta-noeq.model", "note\nval_accuracy=0.5\n"},
            {"meta-nonl.model", "note=a\nval_accuracy=0.5"},
            {"meta-emptyline.model", "note=a\n\nval_accuracy=0.5\n"},
            {"meta-emptykey.model", "=a\n"},
            {"meta-emptykey2.model", "note=a\n=b\n"},
            {"meta-badkey.model", "no te=a\n"},
            {"meta-longkey.model",
             "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=1\n"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            TSPEC(), t->meta_len = strlen(bad[i].meta), memcpy(t->meta, bad[i].meta, t->meta_len);
            spec_refused(bad[i].name, t, 0, UTIL_EFORMAT, frag, "key=value");
        }
        TSPEC(), t->meta_len = 6, memcpy(t->meta, "a=b\0c\n", 6);
        spec_refused("meta-nul.model", t, 0, UTIL_EFORMAT, frag, "key=value");
        /* a 4096-byte value */
        TSPEC(), memcpy(t->meta, "k=", 2), memset(t->meta + 2, 'v', 4096), t->meta[4098] = '\n',
            t->meta_len = 4099;
        spec_refused("meta-longvalue.model", t, 0, UTIL_EFORMAT, frag, "key=value");
        /* 64 KiB of metadata is allowed, a byte more is not */
        TSPEC();
        t->meta_len = 0;
        while (t->meta_len + 4000 < REC_MODEL_MAX_META) {
            t->meta_len += (size_t)sprintf(t->meta + t->meta_len, "k%zu=", t->meta_len);
            memset(t->meta + t->meta_len, 'v', 3000);
            t->meta_len += 3000;
            t->meta[t->meta_len++] = '\n';
        }
        t->meta_len += (size_t)sprintf(t->meta + t->meta_len, "last=");
        memset(t->meta + t->meta_len, 'v', REC_MODEL_MAX_META - 1 - t->meta_len);
        t->meta_len = REC_MODEL_MAX_META;
        t->meta[t->meta_len - 1] = '\n';
        {
            rec_model *m = NULL;
            size_t l;
            uint8_t *bb = build(t, &l);
            TST_CHECK(parse_exact(&m, bb, l, "meta64k.model", 0) == UTIL_OK,
                      "64 KiB of metadata refused: %s", util_last_error());
            rec_model_destroy(&m);
            free(bb);
        }
        t->meta[t->meta_len - 1] = 'v';
        t->meta[t->meta_len++] = '\n';
        spec_refused("meta64k1.model", t, 0, UTIL_EFORMAT, "byte 20", "65536");
        /* Duplicate keys are not checked; the first wins. */
        TSPEC(), t->meta_len = 8, memcpy(t->meta, "a=1\na=2\n", 8);
        {
            rec_model *m = NULL;
            size_t l;
            char v[8];
            uint8_t *bb = build(t, &l);
            TST_CHECK(parse_exact(&m, bb, l, "meta-dup.model", 0) == UTIL_OK && m &&
                          rec_model_meta_get(m, "a", v, sizeof v) == UTIL_OK &&
                          strcmp(v, "1") == 0,
                      "duplicate metadata keys");
            rec_model_destroy(&m);
            free(bb);
        }
    }

    /* The tensor directory. */
    snprintf(frag, sizeof frag, "at byte %zu", dir + 64 * (size_t)w);
    TSPEC(), t->n--, t->data_bytes -= 4 * t->e[t->n].count;
    spec_refused("tensor-missing.model", t, 0, UTIL_EFORMAT, "7 tensors", "(byte 24)");
    TSPEC(), t->e[t->n] = t->e[0], t->e[t->n].offset = t->data_bytes, t->n++;
    t->data = realloc(t->data, t->data_bytes + 4 * t->e[0].count);
    memcpy(t->data + t->data_bytes, t->data, 4 * t->e[0].count);
    t->data_bytes += 4 * t->e[0].count;
    spec_refused("tensor-extra.model", t, 0, UTIL_EFORMAT, "9 tensors", "needs 8");
    TSPEC(), memcpy(t->e[w].name, "5.dense.x", 9);
    spec_refused("tensor-unknown.model", t, 0, UTIL_EFORMAT, "\"5.dense.x\"", frag);
    TSPEC(), memcpy(t->e[w].name, "opt.ms\0\0\0", 9);
    spec_refused("tensor-optms-in-model.model", t, 0, UTIL_EFORMAT, "\"opt.ms\"",
                 "not part of this network");
    {
        /* 1.bn.beta renamed 1.bn.gamma: the same count, seen twice. */
        char f3[64];
        snprintf(f3, sizeof f3, "at byte %zu", dir + 64 * 3);
        TSPEC(), memcpy(t->e[3].name, "1.bn.gamma", 10);
        spec_refused("tensor-dup.model", t, 0, UTIL_EFORMAT, "\"1.bn.gamma\"", "appears twice");
        spec_refused("tensor-dup2.model", t, 0, UTIL_EFORMAT, f3, NULL);
    }
    TSPEC(), t->e[w].count++;
    spec_refused("tensor-count.model", t, 0, UTIL_EFORMAT, "721 values", "needs 720");
    TSPEC(), t->e[w].count = (uint64_t)1 << 62;
    spec_refused("tensor-count-huge.model", t, 0, UTIL_EFORMAT, "needs 720", frag);
    TSPEC(), t->e[w].dtype = 2;
    spec_refused("tensor-dtype.model", t, 0, UTIL_EFORMAT, "unknown type", frag);
    TSPEC(), t->e[w].reserved = 1;
    spec_refused("tensor-reserved.model", t, 0, UTIL_EFORMAT, "unknown type", frag);
    TSPEC(), t->e[w].name[20] = 'x';
    spec_refused("tensor-padding.model", t, 0, UTIL_EFORMAT, "NUL-padded", frag);
    TSPEC(), t->e[w].name[39] = 'x';
    spec_refused("tensor-padding39.model", t, 0, UTIL_EFORMAT, "NUL-padded", frag);
    TSPEC(), memset(t->e[w].name, 'n', 40);
    spec_refused("tensor-name40.model", t, 0, UTIL_EFORMAT, "not part of this network", frag);
    TSPEC(), t->e[w].offset = t->data_bytes;
    spec_refused("tensor-offset-end.model", t, 0, UTIL_EFORMAT, "outside the data", frag);
    TSPEC(), t->e[w].offset = t->data_bytes - 4 * 720 + 4;
    spec_refused("tensor-offset-over.model", t, 0, UTIL_EFORMAT, "outside the data", frag);
    TSPEC(), t->e[w].offset += 2;
    spec_refused("tensor-offset-odd.model", t, 0, UTIL_EFORMAT, "outside the data", frag);
    TSPEC(), t->e[w].offset = UINT64_MAX - 3;
    spec_refused("tensor-offset-huge.model", t, 0, UTIL_EFORMAT, "outside the data", frag);
    TSPEC(), t->e[w].offset = t->e[w - 1].offset; /* onto 1.bn.beta and beyond */
    spec_refused("tensor-overlap.model", t, 0, UTIL_EFORMAT, "overlaps", frag);
    TSPEC(), t->e[1].offset = t->e[0].offset + 4 * (t->e[0].count - 1);
    snprintf(frag, sizeof frag, "at byte %zu", dir + 64);
    spec_refused("tensor-overlap1.model", t, 0, UTIL_EFORMAT, "overlaps", frag);
    /* The tensors may come in any order and anywhere in the data. */
    {
        rec_model *m = NULL;
        size_t l;
        uint8_t *bb;
        TSPEC();
        ent tmp = t->e[0];
        t->e[0] = t->e[t->n - 1], t->e[t->n - 1] = tmp;
        bb = build(t, &l);
        TST_CHECK(parse_exact(&m, bb, l, "reordered.model", 0) == UTIL_OK && m &&
                      same_model(m, mm),
                  "a reordered directory refused or misread: %s", util_last_error());
        rec_model_destroy(&m);
        free(bb);
    }

    /* The data: finite floats; opt.ms not negative. */
    {
        static const struct {
            const char *name;
            uint32_t bits;
        } nonfinite[] = {{"nan.model", 0x7fc00000u}, {"snan.model", 0x7f800001u},
                         {"negnan.model", 0xffc00000u}, {"inf.model", 0x7f800000u},
                         {"neginf.model", 0xff800000u}};
        for (size_t i = 0; i < sizeof nonfinite / sizeof nonfinite[0]; i++) {
            size_t at = data + (size_t)s->e[w].offset + 4 * 123;
            RESET(), put32(b + at, nonfinite[i].bits), fix_crc(b, len);
            snprintf(frag, sizeof frag, "non-finite value at byte %zu", at);
            refused(nonfinite[i].name, b, len, 0, UTIL_EFORMAT, frag, "5.dense.w");
        }
        /* In the running statistics and in opt.ms too. */
        {
            size_t at = data + (size_t)s->e[spec_find(s, "1.bn.var")].offset + 4;
            RESET(), put32(b + at, 0x7f800000u), fix_crc(b, len);
            snprintf(frag, sizeof frag, "byte %zu", at);
            refused("inf-bn.model", b, len, 0, UTIL_EFORMAT, "1.bn.var", frag);
            /* A negative running variance would make every output NaN. */
            RESET(), put32(b + at, f2u(-0.5f)), fix_crc(b, len);
            refused("negvar-bn.model", b, len, 0, UTIL_EFORMAT, "1.bn.var", frag);
            TST_CHECK(err_has("negative"), "negvar-bn.model: \"%s\"", util_last_error());
            /* -0 and 0 are fine; a negative mean is too. */
            RESET(), put32(b + at, 0x80000000u);
            put32(b + data + (size_t)s->e[spec_find(s, "1.bn.mean")].offset, f2u(-3.0f));
            fix_crc(b, len);
            {
                rec_model *m = NULL;
                TST_CHECK(parse_exact(&m, b, len, "negzero-bn.model", 0) == UTIL_OK,
                          "-0 variance or a negative mean refused: %s", util_last_error());
                rec_model_destroy(&m);
            }
        }
        {
            size_t cdata = spec_data_off(c), at = cdata + (size_t)c->e[spec_find(c, "opt.ms")].offset + 8;
            memcpy(b, cgood, clen), put32(b + at, 0x7fc00000u), fix_crc(b, clen);
            snprintf(frag, sizeof frag, "byte %zu", at);
            refused("nan-optms.ckpt", b, clen, 0, UTIL_EFORMAT, "opt.ms", frag);
            memcpy(b, cgood, clen), put32(b + at, f2u(-1e-30f)), fix_crc(b, clen);
            refused("neg-optms.ckpt", b, clen, REC_MODEL_KIND_CHECKPOINT, UTIL_EFORMAT,
                    "negative mean square", frag);
            /* -0 is not negative */
            memcpy(b, cgood, clen), put32(b + at, 0x80000000u), fix_crc(b, clen);
            {
                rec_model *m = NULL;
                TST_CHECK(parse_exact(&m, b, clen, "negzero-optms.ckpt", 0) == UTIL_OK,
                          "-0 in opt.ms refused: %s", util_last_error());
                rec_model_destroy(&m);
            }
        }
        /* Negative parameters are of course fine (make_model has many). */
    }

    /* Checkpoint directory: opt.ms once, with the trainable count. */
    {
        int o = spec_find(c, "opt.ms");
        char cfrag[64];
        snprintf(cfrag, sizeof cfrag, "at byte %zu", spec_dir_off(c) + 64 * (size_t)o);
        spec_free(t), t = calloc(1, sizeof *t);
        if (!t)
            abort();
        *t = *c, t->data = xmalloc(c->data_bytes), memcpy(t->data, c->data, c->data_bytes);
        t->e[o].count--;
        spec_refused("optms-count.ckpt", t, 0, UTIL_EFORMAT, "753 values", "needs 754");
        t->e[o].count++;
        memcpy(t->e[o].name, "5.dense.b", 9);
        spec_refused("optms-missing.ckpt", t, 0, UTIL_EFORMAT, "appears twice", cfrag);
        memcpy(t->e[o].name, "opt.mt\0\0\0", 9);
        spec_refused("optms-name.ckpt", t, 0, UTIL_EFORMAT, "not part of this network", cfrag);
    }

#undef RESET
#undef TSPEC
    free(good);
    free(cgood);
    free(b);
    spec_free(s);
    spec_free(c);
    spec_free(t);
    rec_model_destroy(&mm);
    rec_model_destroy(&mc);
}

/* ------------------------------------------------- files, atomic saves */

static void test_files(void)
{
    char dir[600], path[700], bad[700];
    rec_model *a = make_model(SMALL, REC_MODEL_KIND_MODEL, 1);
    rec_model *big = make_model(rec_arch_preset("lenet5"), REC_MODEL_KIND_MODEL, 2);
    rec_model *m = NULL;
    size_t alen, len;
    uint8_t *abytes = NULL, *now = NULL;
    struct stat st;
    int rc;

    snprintf(dir, sizeof dir, "%s/atomic", tst_tmpdir());
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/m.model", dir);

    /* A save over a larger file replaces it whole. */
    TST_CHECK(rec_model_save(big, path) == UTIL_OK, "save big: %s", util_last_error());
    TST_CHECK(rec_model_save(a, path) == UTIL_OK, "save over it: %s", util_last_error());
    TST_CHECK(util_file_read(path, 0, &abytes, &alen) == UTIL_OK, "read back");
    TST_CHECK(stat(path, &st) == 0 && (size_t)st.st_size == alen && alen < 10000,
              "the smaller model did not replace the larger whole (%zu bytes)", alen);
    TST_CHECK(rec_model_load(&m, path, REC_MODEL_KIND_MODEL) == UTIL_OK && m && same_model(m, a),
              "the replaced file does not load as the new model");
    rec_model_destroy(&m);
    {
        mode_t mask = umask(0);
        umask(mask);
        TST_CHECK((st.st_mode & 0777) == (0666 & ~mask), "mode %o", (unsigned)st.st_mode & 0777);
    }
    TST_CHECK(tst_count_in_dir(dir, ".tmp") == 0, "a temporary file left after saving");

    /* A save into a missing folder fails, naming the path, leaving nothing. */
    snprintf(bad, sizeof bad, "%s/missing/m.model", dir);
    util_clear_error();
    rc = rec_model_save(big, bad);
    TST_CHECK(rc == UTIL_EIO && err_has(bad), "save into a missing folder: rc %d \"%s\"", rc,
              util_last_error());
    snprintf(bad, sizeof bad, "%s/missing", dir);
    TST_CHECK(!tst_file_exists(bad), "the missing folder appeared");

    /* A save whose rename fails (the target is a non-empty folder). */
    snprintf(bad, sizeof bad, "%s/isdir.model", dir);
    mkdir(bad, 0777);
    snprintf(bad, sizeof bad, "%s/isdir.model/keep", dir);
    tst_write_file("atomic/isdir.model/keep", "k", 1);
    snprintf(bad, sizeof bad, "%s/isdir.model", dir);
    util_clear_error();
    rc = rec_model_save(big, bad);
    TST_CHECK(rc == UTIL_EIO && err_has(bad), "save onto a folder: rc %d \"%s\"", rc,
              util_last_error());
    TST_CHECK(stat(bad, &st) == 0 && S_ISDIR(st.st_mode), "the folder was replaced");

    /* A save that fails while writing (file size limit) over a good file:
     * the good file stays as it was. */
    {
        struct rlimit old, lim;
        void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
        getrlimit(RLIMIT_FSIZE, &old);
        lim = old;
        lim.rlim_cur = 4096;
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            util_clear_error();
            rc = rec_model_save(big, path);
            setrlimit(RLIMIT_FSIZE, &old);
            TST_CHECK(rc == UTIL_EIO && err_has(path), "a save past the size limit: rc %d \"%s\"",
                      rc, util_last_error());
        } else {
            tst_skip("setrlimit(RLIMIT_FSIZE) failed");
        }
        signal(SIGXFSZ, prev);
    }
    TST_CHECK(util_file_read(path, 0, &now, &len) == UTIL_OK && len == alen &&
                  memcmp(now, abytes, alen) == 0,
              "a failed save changed the existing file");
    TST_CHECK(tst_count_in_dir(dir, ".tmp") == 0, "a failed save left a temporary file");
    TST_CHECK(tst_count_in_dir(dir, "") == 4,
              "the folder holds %d entries, expected 4 (., .., m.model, isdir.model)",
              tst_count_in_dir(dir, ""));
    free(now);

    /* Saving a model whose parameter count does not fit its network. */
    snprintf(bad, sizeof bad, "%s/unfit.model", dir);
    a->n_params--;
    util_clear_error();
    rc = rec_model_save(a, bad);
    a->n_params++;
    TST_CHECK(rc == UTIL_EINVAL && !tst_file_exists(bad) && err_has(bad), "an unfit model saved");

    /* Loading what is not a file, or no file. */
    snprintf(bad, sizeof bad, "%s/none.model", dir);
    util_clear_error();
    rc = rec_model_load(&m, bad, 0);
    TST_CHECK(rc == UTIL_EIO && !m && err_has(bad), "a missing file: rc %d \"%s\"", rc,
              util_last_error());
    snprintf(bad, sizeof bad, "%s/isdir.model", dir);
    util_clear_error();
    rc = rec_model_load(&m, bad, 0);
    TST_CHECK(rc != UTIL_OK && !m && err_has(bad), "a folder: rc %d \"%s\"", rc, util_last_error());

    /* create: kinds and networks */
    {
        rec_arch ar;
        memset(&ar, 0, sizeof ar);
        util_clear_error();
        TST_CHECK(rec_model_create(&m, &a->arch, 3) == UTIL_EINVAL && !m && util_last_error()[0],
                  "kind 3 created");
        TST_CHECK(rec_model_create(&m, &ar, REC_MODEL_KIND_MODEL) != UTIL_OK && !m,
                  "an empty network created");
        TST_CHECK(rec_model_create(&m, &a->arch, REC_MODEL_KIND_MODEL) == UTIL_OK && m &&
                      m->opt_state == NULL && m->meta && m->meta[0] == '\0' &&
                      m->params[0] == 0.0f,
                  "a fresh model");
        rec_model_destroy(&m);
        TST_CHECK(m == NULL, "destroy clears the pointer");
        rec_model_destroy(&m);
        rec_model_destroy(NULL);
    }
    free(abytes);
    rec_model_destroy(&a);
    rec_model_destroy(&big);
}

/* A diverged model (NaN or Inf in its weights) is refused before any byte
 * is written: an existing file stays as it was. */
static void test_nonfinite_save(void)
{
    char path[700];
    rec_model *a = make_model(SMALL, REC_MODEL_KIND_MODEL, 1);
    rec_model *m = NULL;
    float keep = a->params[3];

    snprintf(path, sizeof path, "%s/nan.model", tst_tmpdir());
    TST_CHECK(rec_model_save(a, path) == UTIL_OK, "save a good model first");
    a->params[3] = NAN;
    util_clear_error();
    TST_CHECK(rec_model_save(a, path) == UTIL_EINVAL && err_has("finite"),
              "NaN weights refused: \"%s\"", util_last_error());
    a->params[3] = INFINITY;
    TST_CHECK(rec_model_save(a, path) == UTIL_EINVAL, "Inf weights refused");
    a->params[3] = keep;
    TST_CHECK(rec_model_load(&m, path, REC_MODEL_KIND_MODEL) == UTIL_OK && m && same_model(m, a),
              "the earlier good file is untouched");
    rec_model_destroy(&m);
    rec_model_destroy(&a);
}

/* A checkpoint with averaged weights (train --average-from): round trip,
 * damage, a model claiming the extra tensors, negative averaged variances. */
static void test_avg(void)
{
    rec_model *m = make_model(SMALL, REC_MODEL_KIND_CHECKPOINT, 7), *back = NULL;
    rec_param_info table[REC_MAX_PARAMS];
    size_t len, n = m->n_params, tot, tr;
    int nt = rec_arch_params(&m->arch, table, &tot, &tr);
    uint8_t *b, *c;

    m->avg_params = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        m->avg_params[i] = m->params[i] * 0.5f;
    b = save_bytes(m, "avg.ckpt", &len);
    TST_CHECK(parse_exact(&back, b, len, "avg.ckpt", REC_MODEL_KIND_CHECKPOINT) == UTIL_OK &&
                  back && back->avg_params && same_model(m, back) &&
                  memcmp(back->avg_params, m->avg_params, n * sizeof(float)) == 0,
              "checkpoint with avg.params: round trip (%s)", util_last_error());
    rec_model_destroy(&back);
    damage_refused("avg.ckpt", b, len, REC_MODEL_KIND_CHECKPOINT);

    c = xmalloc(len);
    memcpy(c, b, len);
    put32(c + 12, REC_MODEL_KIND_MODEL);
    fix_crc(c, len);
    util_clear_error();
    TST_CHECK(parse_exact(&back, c, len, "avgmodel.model", 0) == UTIL_EFORMAT && !back &&
                  err_has("tensors in the directory"),
              "a model with opt.ms and avg.params refused: \"%s\"", util_last_error());
    free(c);
    free(b);

    for (int i = 0; i < nt; i++)
        if (strstr(table[i].name, ".bn.var"))
            m->avg_params[table[i].offset] = -0.5f;
    b = save_bytes(m, "avgneg.ckpt", &len);
    util_clear_error();
    TST_CHECK(parse_exact(&back, b, len, "avgneg.ckpt", 0) == UTIL_EFORMAT && !back &&
                  err_has("avg.params") && err_has("negative"),
              "negative variance in avg.params refused: \"%s\"", util_last_error());
    free(b);
    rec_model_destroy(&m);
}

static void test_default_path(void)
{
    char buf[4200], small[8];
    const char *old = getenv("DOCPIPE_MODEL");
    char *saved = old ? strdup(old) : NULL;
    size_t n;

    setenv("DOCPIPE_MODEL", "/some/where/else.model", 1);
    rec_model_default_path(buf, sizeof buf);
    TST_CHECK(strcmp(buf, "/some/where/else.model") == 0, "DOCPIPE_MODEL ignored: %s", buf);
    rec_model_default_path(small, sizeof small);
    TST_CHECK(strcmp(small, "/some/w") == 0, "truncated to the buffer: \"%s\"", small);
    setenv("DOCPIPE_MODEL", "", 1);
    rec_model_default_path(buf, sizeof buf);
    n = strlen(buf);
    TST_CHECK(n >= 20 && strcmp(buf + n - 20, "models/default.model") == 0,
              "an empty DOCPIPE_MODEL: %s", buf);
    unsetenv("DOCPIPE_MODEL");
    rec_model_default_path(buf, sizeof buf);
    n = strlen(buf);
    TST_CHECK(n >= 20 && strcmp(buf + n - 20, "models/default.model") == 0,
              "no DOCPIPE_MODEL: %s", buf);
    if (saved) {
        setenv("DOCPIPE_MODEL", saved, 1);
        free(saved);
    }
}

int main(void)
{
    util_log_set_level(-1);
    test_layout();
    test_round_trip();
    test_meta();
    test_exhaustive();
    test_targeted();
    test_files();
    test_nonfinite_save();
    test_avg();
    test_default_path();
    return tst_done();
}
