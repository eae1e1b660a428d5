/*
 * seg_form.h - form templates: the text format of the forms/ templates (documented
 * in docs/forms.md) parsed into a plain description of a printed form: its
 * size, the printed features that locate it on a page (registration marks,
 * lines, framed boxes), the printed labels, and the fields a person writes
 * digits into.
 *
 * All lengths are in inches from the form's top-left corner; the file may
 * give them in in, mm or pt.  Nothing here touches images.
 */
#ifndef DOCPIPE_SEG_FORM_H
#define DOCPIPE_SEG_FORM_H

#include <stddef.h>

/* What a field holds; the names are those of docs/forms.md and truth.csv. */
enum { SEG_FT_AMOUNT = 0, SEG_FT_POSTCODE = 1, SEG_FT_DATE = 2, SEG_FT_NUMBER = 3, SEG_FT_COUNT };

/* How a field's area is printed. */
enum {
    SEG_FRAME_NONE = 0, /* nothing printed: the rectangle is only where to look */
    SEG_FRAME_BOX = 1,  /* a rectangle around it */
    SEG_FRAME_COMB = 2, /* a rectangle split into `cells` equal cells */
    SEG_FRAME_LINE = 3  /* a base line under it */
};

/* Printed features used for registration. */
enum { SEG_FEAT_MARK = 0, /* a filled rectangle */ SEG_FEAT_LINE = 1 /* a line (w or h thin) */ };

#define SEG_NAME_MAX 32
/* The longest pattern= of a field: one class per digit, at most 40 digits. */
#define SEG_PATTERN_MAX 40

typedef struct seg_rect { double x, y, w, h; } seg_rect;

typedef struct seg_form_field {
    char name[SEG_NAME_MAX];
    int type;            /* SEG_FT_* */
    seg_rect r;          /* the writing area (inside the frame) */
    int frame;           /* SEG_FRAME_* */
    int cells;           /* comb cells (frame comb), else 0 */
    int dash;            /* comb: a printed dash after this many cells (ZIP+4: 5), else 0 */
    int min_digits, max_digits; /* how many digits a filled field holds */
    int cents;           /* amount: digits after the decimal point (2), else 0 */
    char pattern[SEG_PATTERN_MAX + 1]; /* number/postcode: pattern= (docs/forms.md), or "" */
} seg_form_field;

typedef struct seg_form_feature {
    int kind;            /* SEG_FEAT_* */
    seg_rect r;          /* a line's thickness is its small side */
} seg_form_feature;

typedef struct seg_form_text {
    double x, y;         /* top-left of the text */
    int pt;              /* font size in points: 4..20, even */
    char *text;
} seg_form_text;

typedef struct seg_form {
    char name[SEG_NAME_MAX]; /* from the file's `name` line */
    char *title;
    double width, height;    /* the form's size */
    double line_width;       /* thickness of printed lines and frames */
    int n_features;
    seg_form_feature *features;
    int n_texts;
    seg_form_text *texts;
    int n_fields;
    seg_form_field *fields;
} seg_form;

/*
 * seg_form_parse - the template in text[0..len) (NUL not needed); source
 * names it in messages ("forms/us-check.form:12: ...").  Refuses anything
 * docs/forms.md does not allow: an unknown directive or key, a missing or
 * repeated required key, a bad length or unit, a field outside the form, two
 * fields with one name, no field at all.  UTIL_EFORMAT then, logged once.
 */
int seg_form_parse(seg_form **pform, const char *text, size_t len, const char *source);

/* seg_form_load - seg_form_parse on the file at path (at most 1 MiB). */
int seg_form_load(seg_form **pform, const char *path);

/* seg_form_destroy - frees the form and NULLs *pform; accepts NULL. */
void seg_form_destroy(seg_form **pform);

/*
 * seg_form_set - every *.form in a folder, sorted by name.  Loading stops at
 * the first bad file (its error is returned); an empty folder is an error.
 */
typedef struct seg_form_set { int n; seg_form **forms; } seg_form_set;
int seg_form_set_load(seg_form_set **pset, const char *dir);
void seg_form_set_destroy(seg_form_set **pset);
/* seg_form_set_find - the form named name, or NULL. */
const seg_form *seg_form_set_find(const seg_form_set *set, const char *name);

/*
 * seg_forms_default_dir - where the shipped templates are: $DOCPIPE_FORMS
 * when set, else forms/ beside the running binary when it exists, else
 * "forms".
 */
void seg_forms_default_dir(char *buf, size_t cap);

/* Field type names ("amount", "postcode", "date", "number") both ways. */
const char *seg_field_type_name(int type);
int seg_field_type_parse(const char *s, int *ptype);

/*
 * seg_pattern_class - the digits a pattern= character allows, lo..hi in
 * *plo, *phi: X 0-9, N 2-9, Z 1-9, a digit itself.  UTIL_EINVAL (and
 * 0..9) for any other character.
 */
int seg_pattern_class(char c, int *plo, int *phi);

#endif
