/*
 * mkseeds.c - writes the binary part of the fuzzers' seed corpus under
 * DIR (fuzz/corpus): small valid and broken inputs for each harness
 * (`make fuzz-seeds`; the files are committed, so this runs only when the
 * formats change).  Text seeds (form templates) are committed as written
 * by hand; a few are copied from forms/ here too.
 */
#include <allheaders.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "recognize/rec_model.h"
#include "recognize/rec_net.h"
#include "util/util.h"

static const char *g_dir;

static void die(const char *what)
{
    fprintf(stderr, "mkseeds: %s: %s\n", what, util_last_error());
    exit(1);
}

static const char *path_of(const char *sub, const char *name)
{
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", g_dir, sub);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", g_dir, sub, name);
    return p;
}

static void put(const char *sub, const char *name, const void *data, size_t len)
{
    FILE *fp = fopen(path_of(sub, name), "wb");
    if (!fp || (len && fwrite(data, 1, len, fp) != len) || fclose(fp))
        die(name);
}

static void csv_seeds(void)
{
    char *buf = malloc(64 * 1024);
    size_t n = 0;

    if (!buf)
        die("memory");
    /* labeled: header + 2 rows */
    n += (size_t)sprintf(buf + n, "label");
    for (int i = 0; i < 784; i++)
        n += (size_t)sprintf(buf + n, ",pixel%d", i);
    n += (size_t)sprintf(buf + n, "\n");
    for (int r = 0; r < 2; r++) {
        n += (size_t)sprintf(buf + n, "%d", r * 7);
        for (int i = 0; i < 784; i++)
            n += (size_t)sprintf(buf + n, ",%d", (i * 37 + r) % 256 * (i % 3 == 0));
        n += (size_t)sprintf(buf + n, r ? "\r\n" : "\n");
    }
    put("csv", "labeled.csv", buf, n);
    put("csv", "labeled-cut.csv", buf, n - 500);
    /* unlabeled: the header without "label," and rows without the label */
    {
        size_t m = 0;
        char *u = malloc(64 * 1024);
        const char *p = buf + strlen("label,");
        if (!u)
            die("memory");
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t len = (size_t)(nl - p) + 1;
            memcpy(u + m, p, len);
            m += len;
            p = nl + 1;
            if (*p) {
                const char *c = strchr(p, ',');
                p = c + 1;
            }
        }
        put("csv", "unlabeled.csv", u, m);
        free(u);
    }
    put("csv", "empty.csv", "", 0);
    put("csv", "header-only.csv", "label,pixel0\n", 13);
    /* IDX images: magic, n = 1, 28, 28, then 784 bytes */
    {
        uint8_t idx[16 + 784] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28};
        for (int i = 0; i < 784; i++)
            idx[16 + i] = (uint8_t)(i % 251);
        put("csv", "images.idx", idx, sizeof idx);
        put("csv", "images-cut.idx", idx, 100);
    }
    free(buf);
}

static void model_seeds(void)
{
    static const int kinds[2] = {REC_MODEL_KIND_MODEL, REC_MODEL_KIND_CHECKPOINT};
    static const char *const names[2] = {"small.model", "small.ckpt"};

    for (int k = 0; k < 2; k++) {
        rec_arch a;
        rec_model *m = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        char tmp[1024];

        if (rec_arch_parse(&a, "conv2k3 bn relu pool4 flatten dense10") ||
            rec_model_create(&m, &a, kinds[k]))
            die("model");
        for (size_t i = 0; i < m->n_params; i++)
            m->params[i] = (float)(i % 7) / 7.0f;
        if (m->opt_state)
            for (size_t i = 0; i < m->n_trainable; i++)
                m->opt_state[i] = 0.25f;
        if (rec_model_meta_set(m, "note", "fuzz seed") ||
            rec_model_meta_set(m, "temperature", "1.5"))
            die("meta");
        snprintf(tmp, sizeof tmp, "%s", path_of("model", names[k]));
        if (rec_model_save(m, tmp) || util_file_read(tmp, 0, &buf, &len))
            die("save");
        if (k == 0)
            put("model", "small-cut.model", buf, len / 2);
        free(buf);
        rec_model_destroy(&m);
    }
}

static void write_pix(PIX *pix, int fmt, const char *name)
{
    l_uint8 *data = NULL;
    size_t size = 0;

    if (pixWriteMem(&data, &size, pix, fmt))
        die(name);
    put("image", name, data, size);
    if (size > 64)
        put("image", "cut.tif", data, size / 2); /* overwritten by later ones; last wins */
    lept_free(data);
}

static void image_seeds(void)
{
    PIX *g = pixCreate(40, 30, 8), *b, *c;
    l_uint8 *data = NULL;
    size_t size = 0;

    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++)
            pixSetPixel(g, x, y, (l_uint32)((x * 6 + y * 3) % 256));
    pixSetResolution(g, 200, 200);
    b = pixThresholdToBinary(g, 128);
    c = pixConvertGrayToColormap(g);
    write_pix(g, IFF_PNG, "gray.png");
    write_pix(c, IFF_PNG, "cmap.png");
    write_pix(g, IFF_JFIF_JPEG, "gray.jpg");
    write_pix(g, IFF_PNM, "gray.pgm");
    write_pix(b, IFF_PNM, "bw.pbm");
    write_pix(g, IFF_TIFF_LZW, "gray-lzw.tif");
    write_pix(b, IFF_TIFF_G4, "bw-g4.tif");
    /* two pages: G4 then deflate, written through a temporary file */
    {
        char tmp[1024];
        uint8_t *buf = NULL;
        size_t len = 0;
        snprintf(tmp, sizeof tmp, "%s", path_of("image", "two-pages.tif"));
        if (pixWriteTiff(tmp, b, IFF_TIFF_G4, "w") || pixWriteTiff(tmp, g, IFF_TIFF_ZIP, "a") ||
            util_file_read(tmp, 0, &buf, &len))
            die("two-pages.tif");
        put("image", "two-pages-cut.tif", buf, len - 40);
        free(buf);
    }
    (void)data;
    (void)size;
    pixDestroy(&g);
    pixDestroy(&b);
    pixDestroy(&c);
}

/* Rewrites the database at path with 512-byte pages and no WAL, so the
 * seed stays small. */
static void shrink(const char *path, const char *extra_sql)
{
    sqlite3 *h = NULL;
    char *err = NULL;
    char sql[512];

    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode = DELETE; %s PRAGMA page_size = 512; VACUUM;",
             extra_sql ? extra_sql : "");
    if (sqlite3_open(path, &h) || sqlite3_exec(h, sql, NULL, NULL, &err)) {
        fprintf(stderr, "mkseeds: %s: %s\n", path, err ? err : sqlite3_errmsg(h));
        exit(1);
    }
    sqlite3_close(h);
}

/* The version-1 layout the tests keep (tests/data/schema-v1.sql, read from
 * the repository root, where make fuzz-seeds runs): a database that the
 * harness's db_open migrates. */
#define SCHEMA_V1 "tests/data/schema-v1.sql"

static void db_seeds(void)
{
    char p[1024], name[64], sql[64];
    uint8_t *v1 = NULL;
    size_t v1_len = 0;
    db *d = NULL;
    sqlite3 *h = NULL;

    snprintf(p, sizeof p, "%s", path_of("db", "empty-v1.db"));
    unlink(p);
    if (util_file_read(SCHEMA_V1, 0, &v1, &v1_len) != UTIL_OK) /* NUL terminated */
        die(SCHEMA_V1);
    if (sqlite3_open(p, &h) || sqlite3_exec(h, (const char *)v1, NULL, NULL, NULL)) {
        fprintf(stderr, "mkseeds: %s: %s\n", p, sqlite3_errmsg(h));
        exit(1);
    }
    sqlite3_close(h);
    free(v1);
    shrink(p, NULL);
    snprintf(name, sizeof name, "empty-v%d.db", DB_SCHEMA_VERSION);
    snprintf(p, sizeof p, "%s", path_of("db", name));
    unlink(p);
    if (db_open(p, DB_OPEN_CREATE, &d))
        die("db");
    db_close(&d);
    shrink(p, NULL);
    snprintf(name, sizeof name, "newer-v%d.db", DB_SCHEMA_VERSION + 1);
    snprintf(p, sizeof p, "%s", path_of("db", name));
    unlink(p);
    if (db_open(p, DB_OPEN_CREATE, &d))
        die("db");
    db_close(&d);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d;", DB_SCHEMA_VERSION + 1);
    shrink(p, sql);
    snprintf(p, sizeof p, "%s", path_of("db", "foreign.db"));
    unlink(p);
    shrink(p, "CREATE TABLE t(a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x');");
    put("db", "zero.db", "", 0);
    put("db", "text.db", "SQLite format 3\0not really", 27);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds DIR\n");
        return 2;
    }
    g_dir = argv[1];
    mkdir(g_dir, 0755);
    setMsgSeverity(L_SEVERITY_NONE);
    csv_seeds();
    model_seeds();
    image_seeds();
    db_seeds();
    return 0;
}
