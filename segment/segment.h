/*
 * segment.h - the segmentation stage's results: for one scanned page, its
 * skew, the form found on it, and each field with its digits as
 * MNIST-normalized 28 x 28 crops, together with the alternative ways the
 * field could be split into digits.
 *
 * segment/ knows Leptonica and nothing of the classifier or the database:
 * choosing between the alternatives with the classifier's scores is
 * pipeline/'s job.  Boxes are in pixels of the deskewed page.
 */
#ifndef DOCPIPE_SEGMENT_H
#define DOCPIPE_SEGMENT_H

#include <stdint.h>

#include "seg_form.h"

#define SEG_CROP 28             /* crops are SEG_CROP x SEG_CROP, MNIST's size */
#define SEG_CROP_PIXELS (SEG_CROP * SEG_CROP)

/* One glyph: a box on the page and its normalized crop (0 background .. 255 ink). */
typedef struct seg_glyph {
    int x, y, w, h;
    uint8_t crop[SEG_CROP_PIXELS];
} seg_glyph;

/*
 * One way of reading a field: its glyphs left to right.  prior (0..1) is the
 * segmenter's own belief in this split, before any classifier has looked;
 * the alternatives of one field sum to at most 1.  n_int is the number of
 * glyphs before the decimal point for an amount (n when no cents were
 * found), n for every other type.
 */
typedef struct seg_split {
    int n;
    seg_glyph *glyphs;
    int n_int;
    float prior;
} seg_split;

/* What the segmenter doubted most in a field (seg_field.doubt_kind). */
enum {
    SEG_DOUBT_NONE = 0,
    SEG_DOUBT_TOUCHING,    /* touching digits split */
    SEG_DOUBT_WIDE,        /* a wide glyph may be two digits */
    SEG_DOUBT_PIECES,      /* pieces merged into one digit */
    SEG_DOUBT_NO_POINT,    /* an amount without a decimal point or raised cents */
    SEG_DOUBT_RANGE,       /* a digit count the template does not allow */
    SEG_DOUBT_COMB_STROKE  /* a stroke along a comb line taken as a digit */
};

/* One field: where it is, what it holds, and its splits (splits[0] the best). */
typedef struct seg_field {
    char name[SEG_NAME_MAX];
    int type;                  /* SEG_FT_* */
    int x, y, w, h;            /* the writing area on the deskewed page */
    int frame, cells;          /* as in the template, or as found by --form auto */
    int n_splits;
    seg_split *splits;         /* empty field: n_splits 1 with n 0 */
    float doubt;               /* 0 sure .. 1: how unsure the segmenter is */
    int doubt_kind;            /* SEG_DOUBT_*: what that doubt is about */
    char note[64];             /* why it doubts ("touching digits split", ...), or "" */
} seg_field;

/* seg_field_clear - frees what a field holds (not the field itself). */
void seg_field_clear(seg_field *f);

/* How seg_page_run looks for the form. */
enum {
    SEG_FIND_ANY = 0,  /* the template that registers best, else auto fields */
    SEG_FIND_ONE = 1,  /* only opts->form; a page without it has no fields */
    SEG_FIND_AUTO = 2  /* no template: every printed box or comb holding ink */
};

typedef struct seg_opts {
    int find;                  /* SEG_FIND_* */
    const seg_form_set *forms; /* the templates (SEG_FIND_ANY) */
    const seg_form *form;      /* the one template (SEG_FIND_ONE) */
    int keep_page;             /* keep the deskewed binary page in seg_page.bin */
} seg_opts;

/* Steps timed per page (milliseconds in seg_page.ms). */
enum { SEG_T_BINARIZE, SEG_T_DESKEW, SEG_T_REGISTER, SEG_T_FIELDS, SEG_T_COUNT };

/* One page's result. */
typedef struct seg_page {
    int width, height;         /* of the page as read */
    int dpi, dpi_assumed;      /* dpi used; 1 when the file had none (300 assumed) */
    double skew_deg;           /* the page's skew found and corrected (see seg_clean.h) */
    double skew_conf;          /* the skew search's confidence (0: none found) */
    char form[SEG_NAME_MAX];   /* template found, "auto", or "" (none) */
    double form_score;         /* registration score of the form found (0..1) */
    int n_fields;
    seg_field *fields;
    char note[96];             /* why a page has no fields, or "" */
    double ms[SEG_T_COUNT];
    struct Pix *bin;           /* deskewed binary page (ink 1), when keep_page */
} seg_page;

/*
 * seg_page_run - segments one page: src is the page as read (any depth;
 * ink dark), dpi its resolution.  Binarizes, deskews, finds the form (per
 * opts->find), and reads every field into digits with their alternatives.
 * A page where no form and no field is found is not an error: it comes
 * back with n_fields 0 and a note.  Errors are for memory and broken input.
 */
int seg_page_run(struct Pix *src, int dpi, const seg_opts *opts, seg_page **ppage);
void seg_page_destroy(seg_page **ppage);

#endif
