/*
 * db_sha256.c - SHA-256 of a buffer or a file, as the lowercase hex text
 * the database keys documents by (OpenSSL's libcrypto does the hashing).
 *
 * It lives in db/ rather than util/ because the hash is the database's
 * identity of a document, and util/ stays free of libraries.
 */
#include "db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/util.h"

#define CHUNK (256 * 1024)

static void to_hex(const unsigned char *md, char hex[DB_SHA256_HEX])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

int db_sha256_mem(const void *data, size_t len, char hex[DB_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    hex[0] = '\0';
    if (!EVP_Digest(len ? data : "", len, md, &md_len, EVP_sha256(), NULL) || md_len != 32) {
        util_log(UTIL_LOG_ERROR, "SHA-256 of %zu bytes failed (libcrypto)", len);
        return UTIL_ENOMEM;
    }
    to_hex(md, hex);
    return UTIL_OK;
}

int db_sha256_file(const char *path, char hex[DB_SHA256_HEX], int64_t *pbytes)
{
    unsigned char *buf = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = NULL;
    FILE *fp = NULL;
    int64_t total = 0;
    size_t n;
    int rc = UTIL_OK;

    hex[0] = '\0';
    if (pbytes)
        *pbytes = 0;
    fp = fopen(path, "rb");
    if (!fp) {
        util_log(UTIL_LOG_ERROR, "%s: cannot open: %s", path, strerror(errno));
        rc = UTIL_EIO;
        goto cleanup;
    }
    buf = malloc(CHUNK);
    ctx = EVP_MD_CTX_new();
    if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        util_log(UTIL_LOG_ERROR, "%s: SHA-256 could not start (libcrypto)", path);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    while ((n = fread(buf, 1, CHUNK, fp)) > 0) {
        if (!EVP_DigestUpdate(ctx, buf, n)) {
            util_log(UTIL_LOG_ERROR, "%s: SHA-256 failed (libcrypto)", path);
            rc = UTIL_ENOMEM;
            goto cleanup;
        }
        total += (int64_t)n;
    }
    if (ferror(fp)) {
        util_log(UTIL_LOG_ERROR, "%s: cannot read: %s", path, strerror(errno));
        rc = UTIL_EIO;
        goto cleanup;
    }
    if (!EVP_DigestFinal_ex(ctx, md, &md_len) || md_len != 32) {
        util_log(UTIL_LOG_ERROR, "%s: SHA-256 failed (libcrypto)", path);
        rc = UTIL_ENOMEM;
        goto cleanup;
    }
    to_hex(md, hex);
    if (pbytes)
        *pbytes = total;
cleanup:
    EVP_MD_CTX_free(ctx);
    free(buf);
    if (fp)
        fclose(fp);
    return rc;
}
