/*
 * tst.h - the tiny harness every test program under tests/ uses.
 *
 * A test program calls TST_CHECK() for each assertion and ends main() with
 * "return tst_done();", which prints the one line "N passed, N failed"
 * (", N skipped" when some were skipped) and returns non-zero on failure.
 */
#ifndef DOCPIPE_TST_H
#define DOCPIPE_TST_H

#include <stddef.h>

extern int tst_passed, tst_failed, tst_skipped;

/* tst_check - count one assertion; print file:line and the message on failure. */
int tst_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define TST_CHECK(cond, ...) tst_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* tst_skip - count a skipped group and say why. */
void tst_skip(const char *why);

/* tst_done - print the summary line; 0 when nothing failed. */
int tst_done(void);

/* tst_tmpdir - a fresh temporary directory for this test program (removed
 * by tst_done when every check passed). */
const char *tst_tmpdir(void);

/* tst_write_file - write len bytes to dir/name; returns the full path (static
 * buffer rotating over 8 slots) or NULL. */
const char *tst_write_file(const char *name, const void *data, size_t len);

/* tst_bin - the docpipe binary under test ($DOCPIPE_BIN, else ./docpipe). */
const char *tst_bin(void);

/* tst_run - run a shell command, capturing stdout+stderr (up to cap-1 bytes,
 * NUL terminated) into out; returns the exit status (128+signal if killed). */
int tst_run(const char *cmd, char *out, size_t cap);

#endif
