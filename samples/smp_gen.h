/*
 * smp_gen.h - `docpipe samples`: a set of scanned check and postal-form
 * pages with known truth, drawn from MNIST test digits onto the forms/
 * templates, grouped into documents of mixed file formats, with
 * DIR/truth.csv (what was written in each field) and DIR/pages.csv (how
 * each page was placed and skewed).  Documented in samples/README.md.
 */
#ifndef DOCPIPE_SMP_GEN_H
#define DOCPIPE_SMP_GEN_H

#include <stdint.h>

enum { SMP_KIND_MIXED = 0, SMP_KIND_CHECK = 1, SMP_KIND_POSTAL = 2 };

typedef struct smp_opts {
    const char *out;    /* the folder written (created when missing) */
    int pages;          /* pages in all, >= 1 */
    uint64_t seed;      /* every random draw derives from it */
    int kind;           /* SMP_KIND_* */
    int dpi;            /* 200 or 300 */
    const char *digits; /* labeled Kaggle CSV the digits come from */
    const char *forms;  /* template folder; NULL: seg_forms_default_dir() */
    double touch;       /* touching neighbours this many times as often (1..10; 1: as
                         * written; more makes training rows for the judge) */
} smp_opts;

/* smp_opts_default - pages 0 (to be given), seed 1, mixed, 300 dpi, digits
 * data/test_labeled.csv, the default forms folder, touch 1. */
void smp_opts_default(smp_opts *o);

/* smp_kind_parse - "check", "postal" or "mixed"; UTIL_EINVAL (nothing
 * logged) otherwise. */
int smp_kind_parse(const char *s, int *pkind);

/*
 * smp_run - writes the set.  Every output file is written atomically;
 * truth.csv and pages.csv are written last, so they exist only when every
 * page did.  The same options give byte-identical files.  UTIL_EINVAL for
 * bad options (pages < 1, dpi not 200 or 300, no output folder, a forms
 * folder without the templates the kind needs), UTIL_EIO when the folder
 * cannot be created or written, the reader's code for a bad digits file
 * or template; each logged once with the path.
 */
int smp_run(const smp_opts *o);

#endif
