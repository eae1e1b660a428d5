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

/* tst_runf - tst_run of the command the printf format makes (up to 8000 bytes). */
int tst_runf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* tst_run_bin - tst_runf of "BIN ARGS": the docpipe binary under test
 * (tst_bin()) followed by the arguments the format makes. */
int tst_run_bin(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* tst_path - tst_tmpdir()/NAME, NAME made by the printf format, in a static
 * buffer rotating over 8 slots (the ninth call reuses the first). */
const char *tst_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tst_file_exists - 1 when stat() succeeds on path (any kind of file). */
int tst_file_exists(const char *path);

/* tst_count_in_dir - how many entries of dir ("." and ".." included) have a
 * name containing frag ("" counts them all); -1 when dir cannot be opened. */
int tst_count_in_dir(const char *dir, const char *frag);

/* tst_read_text - the whole file at path as a NUL-terminated string, read
 * with util_file_read (no size limit); NULL when unreadable, with the reason
 * in util_last_error().  The caller frees it. */
char *tst_read_text(const char *path);

/*
 * tst_json_valid - 1 when text is exactly one JSON value by the grammar of
 * RFC 8259, with nothing around it but JSON white space (space, tab, LF,
 * CR); 0 otherwise (trailing garbage, a second value, an empty text).
 * Checked: objects and arrays (no trailing commas, string keys), strings (no
 * raw control characters, only the escapes \" \\ \/ \b \f \n \r \t and
 * \u with four hex digits), numbers (optional minus, no leading zeros, digits
 * after a point and in an exponent; no NaN, Infinity or +), and the literals
 * true, false and null, all case-sensitive.  Not checked: UTF-8 validity of
 * bytes above 0x7F, paired surrogates, duplicate keys.  Nesting is limited:
 * every value counts one level and more than 64 is refused, so a scalar may
 * sit inside at most 63 arrays or objects (an empty one inside 63 more).
 */
int tst_json_valid(const char *text);

/* SQL helpers for tests that look into a docpipe database with plain SQL. */
struct sqlite3;

/* tst_sql_open - the database at path, read-write, never created, with a
 * 10 s busy timeout; NULL (and a line on stderr) when it cannot be opened. */
struct sqlite3 *tst_sql_open(const char *path);

/* tst_sql_int - the first column of the first row of the query (printf
 * format) as an integer; -999 (and a line on stderr) on an error. */
long long tst_sql_int(struct sqlite3 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
