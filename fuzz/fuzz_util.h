/*
 * fuzz_util.h - what the libFuzzer harnesses under fuzz/ share: a private
 * temporary file that each input is written to, for the parsers that read
 * from a path (the CSV/IDX readers, the database).  Header-only: every
 * harness is one program.
 */
#ifndef DOCPIPE_FUZZ_UTIL_H
#define DOCPIPE_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

static char fuzz_path_[512];

/* Removes the temporary file when the fuzzer exits (-max_total_time ends
 * with exit()). */
static inline void fuzz_remove_tmp_(void)
{
    if (fuzz_path_[0])
        unlink(fuzz_path_);
}

/*
 * fuzz_tmp_path - a file name of this process's own, made once under
 * $TMPDIR (or /tmp) with suffix appended ("" for none); the file itself is
 * created by fuzz_write.  Aborts when no name can be made: a harness that
 * cannot write its input has nothing to test.
 */
static inline const char *fuzz_tmp_path(const char *suffix)
{
    if (!fuzz_path_[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_path_, sizeof fuzz_path_, "%s/docpipe-fuzz-%ld%s",
                 dir && *dir ? dir : "/tmp", (long)getpid(), suffix);
        atexit(fuzz_remove_tmp_);
    }
    return fuzz_path_;
}

/* fuzz_write - writes len bytes at data to path (replacing it); aborts on a
 * write error, which is the machine's problem, not the parser's. */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    if (!fp || (len && fwrite(data, 1, len, fp) != len) || fclose(fp) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
}

/* fuzz_quiet - once per process: util_log says nothing (every input is an
 * error case; printing them would slow the fuzzer down). */
static inline void fuzz_quiet(void)
{
    static int done;

    if (!done) {
        util_log_set_level(-1);
        done = 1;
    }
}

#endif
