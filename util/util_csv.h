/*
 * util_csv.h - reading and writing general CSV text per RFC 4180 (quoted
 * fields with "" for a quote, CRLF or LF line ends), for the small text
 * tables docpipe exchanges: truth files, exports.  The MNIST readers in
 * train/ are separate and faster: they read only numbers.
 */
#ifndef DOCPIPE_UTIL_CSV_H
#define DOCPIPE_UTIL_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct util_csv util_csv;

/*
 * util_csv_open - reads the whole file at path (at most max_bytes; 0: no
 * limit) for util_csv_next.  util_csv_open_mem reads text[0..len), named
 * name in messages; the text is copied.
 */
int util_csv_open(util_csv **pc, const char *path, size_t max_bytes);
int util_csv_open_mem(util_csv **pc, const char *text, size_t len, const char *name);
void util_csv_close(util_csv **pc);

/*
 * util_csv_next - the next record: *pn fields in (*pfields)[0..n), valid
 * until the next call.  At the end of the text *pn is 0 and *pfields NULL.
 * A blank line is a record of one empty field.  A quote that is never
 * closed, text after a closing quote, or a NUL byte is UTIL_EFORMAT, logged
 * with the file and line.
 */
int util_csv_next(util_csv *c, char ***pfields, int *pn);

/* util_csv_line - the line the last record returned started on (1-based). */
int util_csv_line(const util_csv *c);

/* util_csv_put - writes s as one CSV field (quoted when it holds a comma, a
 * quote, CR or LF, or starts or ends with a space). */
void util_csv_put(FILE *fp, const char *s);

#endif
