/*
 * fuzz_db.c - libFuzzer harness for opening a database (db/db_open.c):
 * the input is written to a file, which db_open opens with DB_OPEN_CREATE
 * (an empty file gets the schema; an older version is migrated, as the
 * version-1 seed is; a newer, foreign, non-SQLite or damaged one must be
 * refused).  A database it accepts then takes one small document (its
 * digit with a checker probability) and is asked for it by SHA-256, so the
 * tables behind a fuzzed schema are used too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void remove_all(const char *path)
{
    char side[600];

    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-journal", path);
    unlink(side);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_tmp_path(".db");
    db *d = NULL;

    fuzz_quiet();
    remove_all(path);
    fuzz_write(path, data, len);
    if (db_open(path, DB_OPEN_CREATE, &d) == UTIL_OK) {
        db_digit dg;
        db_field f;
        db_page pg;
        db_doc doc;
        int64_t id = 0;
        int outcome = 0;

        memset(&dg, 0, sizeof dg);
        dg.label = 7;
        dg.prob = 0.9;
        dg.label2 = -1;
        dg.has_check = 1; /* digits.check_prob (schema version 2) used too */
        dg.check_prob = 0.8;
        memset(&f, 0, sizeof f);
        f.form = "auto";
        f.name = "amount";
        f.type = "amount";
        f.text = "7";
        f.has_value = 1;
        f.cents = 700;
        f.confidence = 0.9;
        f.n_digits = 1;
        f.digits = &dg;
        memset(&pg, 0, sizeof pg);
        pg.page_no = 1;
        pg.width = pg.height = 100;
        pg.n_fields = 1;
        pg.fields = &f;
        memset(&doc, 0, sizeof doc);
        doc.path = "fuzz.tif";
        memset(doc.sha256, 'a', 64);
        doc.page_count = 1;
        doc.seconds = -1;
        doc.n_pages = 1;
        doc.pages = &pg;
        (void)db_doc_put(d, 0, &doc, 0, &outcome, &id);
        (void)db_doc_find(d, doc.sha256, &id);
    } else if (d) {
        abort();
    }
    db_close(&d);
    remove_all(path);
    return 0;
}
