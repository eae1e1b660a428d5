/*
 * pipe_walk.c - from the paths given to ingest to the list of files to
 * read (pipe_int.h): folders walked recursively in name order, images
 * recognized by their first bytes (and by their names, so that a broken
 * file called .tif is reported rather than ignored), pages of TIFF files
 * counted from their directories for the progress bar.
 */
#include "pipe_int.h"

#include <allheaders.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/util.h"

int pipe_sniff(const uint8_t *h, size_t len)
{
    if (len >= 4 && ((h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) && h[3] == 0) ||
                     (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43))))
        return PIPE_FMT_READABLE;
    if (len >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
        return PIPE_FMT_READABLE;
    if (len >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff)
        return PIPE_FMT_READABLE;
    if (len >= 3 && h[0] == 'P' && h[1] >= '1' && h[1] <= '6' &&
        (h[2] == ' ' || h[2] == '\n' || h[2] == '\r' || h[2] == '\t'))
        return PIPE_FMT_READABLE;
    if (len >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0))
        return PIPE_FMT_OTHER_IMAGE;
    if (len >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0)
        return PIPE_FMT_OTHER_IMAGE;
    if (len >= 12 && memcmp(h, "\0\0\0\x0cjP  \r\n\x87\n", 12) == 0)
        return PIPE_FMT_OTHER_IMAGE;
    if (len >= 4 && h[0] == 0xff && h[1] == 0x4f && h[2] == 0xff && h[3] == 0x51)
        return PIPE_FMT_OTHER_IMAGE;
    /* BMP: "BM", the file size, then four reserved zero bytes. */
    if (len >= 10 && h[0] == 'B' && h[1] == 'M' && !h[6] && !h[7] && !h[8] && !h[9])
        return PIPE_FMT_OTHER_IMAGE;
    return PIPE_FMT_NONE;
}

int pipe_name_claims_image(const char *path)
{
    static const char *const ext[] = {".tif", ".tiff", ".png", ".jpg", ".jpeg",
                                      ".pnm", ".pgm", ".pbm", ".ppm"};
    size_t n = strlen(path);

    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && strcasecmp(path + n - k, ext[i]) == 0)
            return 1;
    }
    return 0;
}

typedef struct walker {
    pipe_walk *w;
    size_t root_len;     /* the folder given: its children's paths start with it */
    int root_file;       /* the path given is a file: rel is its name */
    struct { dev_t dev; ino_t ino; } *seen;
    int n_seen, cap_seen;
} walker;

static int add(walker *k, const char *path, int64_t bytes, int pages, const char *error)
{
    pipe_walk *w = k->w;
    pipe_entry *e;

    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        pipe_entry *ne = realloc(w->e, (size_t)cap * sizeof *ne);
        if (!ne)
            goto nomem;
        w->e = ne;
        w->cap = cap;
    }
    e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->bytes = bytes;
    e->pages = pages > 0 ? pages : 1;
    if (!(e->path = strdup(path)) || (error && !(e->error = strdup(error)))) {
        free(e->path);
        free(e->error);
        goto nomem;
    }
    if (k->root_file) {
        const char *slash = strrchr(e->path, '/');
        e->rel = slash && slash[1] ? (size_t)(slash + 1 - e->path) : 0;
    } else {
        e->rel = k->root_len < strlen(e->path) ? k->root_len : 0;
        while (e->path[e->rel] == '/')
            e->rel++;
    }
    w->n++;
    w->pages += e->pages;
    return UTIL_OK;
nomem:
    util_log(UTIL_LOG_ERROR, "out of memory listing files");
    return UTIL_ENOMEM;
}

/* A regular file: an entry when it is an image by content or by name. */
static int take_file(walker *k, const char *path, int64_t bytes)
{
    uint8_t head[16];
    size_t got;
    int fmt, pages = 1;
    FILE *fp = fopen(path, "rb");

    if (!fp) {
        char why[300];
        snprintf(why, sizeof why, "cannot open: %s", strerror(errno));
        return add(k, path, bytes, 1, why);
    }
    got = fread(head, 1, sizeof head, fp);
    if (ferror(fp)) {
        char why[300];
        snprintf(why, sizeof why, "cannot read: %s", strerror(errno));
        fclose(fp);
        return add(k, path, bytes, 1, why);
    }
    fmt = pipe_sniff(head, got);
    if (fmt == PIPE_FMT_NONE && !pipe_name_claims_image(path)) {
        fclose(fp);
        k->w->not_images++;
        return UTIL_OK;
    }
    if (fmt == PIPE_FMT_READABLE && head[0] != 0xff && head[0] != 'P' && head[0] != 0x89) {
        /* TIFF: count its directories (headers only) for the progress bar. */
        l_int32 n = 0;
        rewind(fp);
        if (tiffGetCount(fp, &n) == 0 && n > 0)
            pages = n;
    }
    fclose(fp);
    return add(k, path, bytes, pages, NULL);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(walker *k, const char *path, int depth);

static int walk_dir(walker *k, const char *path, const struct stat *st, int depth)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    int n = 0, cap = 0, rc = UTIL_OK;

    for (int i = 0; i < k->n_seen; i++)
        if (k->seen[i].dev == st->st_dev && k->seen[i].ino == st->st_ino)
            return UTIL_OK; /* a link back to a folder already walked */
    if (k->n_seen == k->cap_seen) {
        int c = k->cap_seen ? 2 * k->cap_seen : 16;
        void *ns = realloc(k->seen, (size_t)c * sizeof *k->seen);
        if (!ns)
            goto nomem;
        k->seen = ns;
        k->cap_seen = c;
    }
    k->seen[k->n_seen].dev = st->st_dev;
    k->seen[k->n_seen].ino = st->st_ino;
    k->n_seen++;
    if (depth > 64)
        return add(k, path, -1, 1, "folders nested more than 64 deep");
    if (!(d = opendir(path))) {
        char why[300];
        snprintf(why, sizeof why, "cannot open folder: %s", strerror(errno));
        return add(k, path, -1, 1, why);
    }
    errno = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            int c = cap ? 2 * cap : 64;
            char **nn = realloc(names, (size_t)c * sizeof *nn);
            if (!nn)
                break;
            names = nn;
            cap = c;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (de) {
        rc = UTIL_ENOMEM;
        util_log(UTIL_LOG_ERROR, "out of memory listing %s", path);
        goto cleanup;
    }
    if (names)
        qsort(names, (size_t)n, sizeof *names, cmp_names);
    for (int i = 0; i < n && !rc; i++) {
        size_t len = strlen(path) + strlen(names[i]) + 2;
        char *child = malloc(len);
        if (!child) {
            rc = UTIL_ENOMEM;
            util_log(UTIL_LOG_ERROR, "out of memory listing %s", path);
            break;
        }
        if (path[0] && path[strlen(path) - 1] == '/')
            snprintf(child, len, "%s%s", path, names[i]);
        else
            snprintf(child, len, "%s/%s", path, names[i]);
        rc = walk(k, child, depth + 1);
        free(child);
    }
cleanup:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
nomem:
    util_log(UTIL_LOG_ERROR, "out of memory listing %s", path);
    return UTIL_ENOMEM;
}

static int walk(walker *k, const char *path, int depth)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        char why[300];
        if (errno == ENOENT)
            snprintf(why, sizeof why, "no such file or folder");
        else
            snprintf(why, sizeof why, "cannot stat: %s", strerror(errno));
        return add(k, path, -1, 1, why);
    }
    if (S_ISDIR(st.st_mode))
        return walk_dir(k, path, &st, depth);
    if (!S_ISREG(st.st_mode)) {
        if (depth == 0)
            return add(k, path, -1, 1, "not a regular file");
        k->w->not_images++; /* sockets, fifos, devices inside a folder */
        return UTIL_OK;
    }
    return take_file(k, path, (int64_t)st.st_size);
}

int pipe_walk_paths(const char *const *paths, int n, pipe_walk **pwalk)
{
    walker k = {0};
    int rc = UTIL_OK;

    *pwalk = NULL;
    if (!(k.w = calloc(1, sizeof *k.w))) {
        util_log(UTIL_LOG_ERROR, "out of memory listing files");
        return UTIL_ENOMEM;
    }
    for (int i = 0; i < n && !rc; i++) {
        struct stat st;
        k.root_len = strlen(paths[i]);
        k.root_file = stat(paths[i], &st) != 0 || !S_ISDIR(st.st_mode);
        rc = walk(&k, paths[i], 0);
    }
    free(k.seen);
    if (rc) {
        pipe_walk_destroy(&k.w);
        return rc;
    }
    *pwalk = k.w;
    return UTIL_OK;
}

void pipe_walk_destroy(pipe_walk **pwalk)
{
    pipe_walk *w = pwalk ? *pwalk : NULL;

    if (!w)
        return;
    for (int i = 0; i < w->n; i++) {
        free(w->e[i].path);
        free(w->e[i].error);
    }
    free(w->e);
    free(w);
    *pwalk = NULL;
}
