/*
 * test_seg_form.c - the form template parser (segment/seg_form.c): the
 * shipped templates read as docs/forms.md says, units convert, defaults
 * apply, and every kind of broken template is refused with its line named.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/seg_form.h"
#include "tests/tst.h"
#include "util/util.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

static const char *HEAD = "docpipe-form 1\nname t\nsize 8.5in 11in\n";

/* parse_with - HEAD followed by body; returns the rc, the form in *pf. */
static int parse_with(const char *body, seg_form **pf)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", HEAD, body);
    return seg_form_parse(pf, buf, strlen(buf), "t.form");
}

static void test_shipped(void)
{
    seg_form_set *set = NULL;
    const seg_form *chk, *pst;
    int rc = seg_form_set_load(&set, "forms");

    TST_CHECK(rc == UTIL_OK && set && set->n == 2, "forms/ loads (%s)", util_last_error());
    if (!set)
        return;
    TST_CHECK(strcmp(set->forms[0]->name, "postal") == 0, "sorted by file name");
    chk = seg_form_set_find(set, "us-check");
    pst = seg_form_set_find(set, "postal");
    TST_CHECK(chk && pst && !seg_form_set_find(set, "nope"), "find by name");
    if (chk && pst) {
        const seg_form_field *a = &chk->fields[0];
        TST_CHECK(NEAR(chk->width, 6.0) && NEAR(chk->height, 2.75), "check size");
        TST_CHECK(chk->n_fields == 1 && strcmp(a->name, "amount") == 0 && a->type == SEG_FT_AMOUNT,
                  "check amount field");
        TST_CHECK(a->frame == SEG_FRAME_BOX && a->cents == 2 && a->min_digits == 1 &&
                      a->max_digits == 7 && NEAR(a->r.x, 4.6) && NEAR(a->r.w, 1.15),
                  "amount box geometry and digits");
        TST_CHECK(chk->n_features == 5 && NEAR(chk->line_width, 0.012), "check: 5 lines");
        TST_CHECK(NEAR(chk->features[0].r.h, 0.012) && NEAR(chk->features[0].r.w, 1.45),
                  "a horizontal line gets the line width as height");
        TST_CHECK(pst->n_fields == 8 && pst->n_features == 8, "postal: 8 fields, 4 marks + 4 lines (%d %d)",
                  pst->n_fields, pst->n_features);
        for (int i = 0; i < pst->n_fields; i++) {
            const seg_form_field *f = &pst->fields[i];
            if (strcmp(f->name, "zip_new") == 0)
                TST_CHECK(f->type == SEG_FT_POSTCODE && f->frame == SEG_FRAME_COMB && f->cells == 9 &&
                              f->dash == 5 && f->min_digits == 9 && f->max_digits == 9,
                          "ZIP+4 comb");
            if (strcmp(f->name, "postage") == 0)
                TST_CHECK(f->type == SEG_FT_AMOUNT && f->max_digits == 6, "postage amount");
        }
        TST_CHECK(pst->n_texts > 5 && strcmp(pst->texts[0].text, "PARCEL AND ADDRESS FORM") == 0 &&
                      pst->texts[0].pt == 20,
                  "texts");
    }
    seg_form_set_destroy(&set);
    TST_CHECK(set == NULL, "destroy nulls");
    seg_form_set_destroy(NULL);
}

static void test_units_defaults(void)
{
    seg_form *f = NULL;
    int rc = parse_with("title \"A \\\"quoted\\\" title\" # comment\n"
                        "line-width 0.5mm\n"
                        "\n   # only a comment\n"
                        "mark x=10mm y=72pt w=0.2in h=0.2in\n"
                        "line x=1in y=1in h=2in\n"
                        "field a number x=1in y=2in w=1in h=0.5in\n"
                        "field b amount x=1in y=3in w=1in h=0.5in frame=line digits=3 cents=0\n"
                        "field c date x=1in y=4in w=3in h=0.5in frame=comb cells=6 digits=4-6\n"
                        "field d number x=1in y=5in w=3in h=0.5in frame=comb cells=10 "
                        "pattern=NXXNXXXXZ7\n",
                        &f);
    TST_CHECK(rc == UTIL_OK, "valid template parses (%s)", util_last_error());
    if (!f)
        return;
    TST_CHECK(strcmp(f->title, "A \"quoted\" title") == 0, "title unescaped: %s", f->title);
    TST_CHECK(NEAR(f->features[0].r.x, 10 / 25.4) && NEAR(f->features[0].r.y, 1.0), "mm and pt");
    TST_CHECK(NEAR(f->features[1].r.w, 0.5 / 25.4) && NEAR(f->features[1].r.h, 2.0),
              "vertical line takes the line width as width");
    TST_CHECK(f->fields[0].frame == SEG_FRAME_BOX && f->fields[0].min_digits == 1 &&
                  f->fields[0].max_digits == 12 && f->fields[0].cents == 0,
              "field defaults");
    TST_CHECK(f->fields[1].frame == SEG_FRAME_LINE && f->fields[1].min_digits == 3 &&
                  f->fields[1].max_digits == 3 && f->fields[1].cents == 0,
              "digits=N, cents=0");
    TST_CHECK(f->fields[2].cells == 6 && f->fields[2].min_digits == 4, "comb digits range");
    TST_CHECK(f->fields[0].pattern[0] == '\0' && strcmp(f->fields[3].pattern, "NXXNXXXXZ7") == 0,
              "pattern= kept, none by default");
    seg_form_destroy(&f);
    TST_CHECK(f == NULL, "destroy nulls");
    seg_form_destroy(NULL);
}

typedef struct bad { const char *text; int line; const char *says; } bad;

static void test_broken(void)
{
    static const bad cases[] = {
        {"", 1, "empty"},
        {"# nothing\n\n", 3, "empty"},
        {"hello\n", 1, "not a form template"},
        {"docpipe-form 2\nname t\nsize 1in 1in\n", 1, "version 2"},
        {"docpipe-form 1\nname T\n", 2, "name takes"},
        {"docpipe-form 1\nname t\nname u\n", 3, "name given twice"},
        {"docpipe-form 1\nsize 1in 1in\nfield a number x=0in y=0in w=1in h=1in\n", 4, "missing name"},
        {"docpipe-form 1\nname t\nfield a number x=0in y=0in w=1in h=1in\n", 3, "size must come before"},
        {"docpipe-form 1\nname t\nsize 2in 2in\n", 4, "no field"},
        {"docpipe-form 1\nname t\nsize 2 2in\n", 3, "with a unit"},
        {"docpipe-form 1\nname t\nsize 2cm 2in\n", 3, "no unit"},
        {"docpipe-form 1\nname t\nsize -2in 2in\n", 3, "not a length"},
        {"docpipe-form 1\nname t\nsize 2in 2in 2in\n", 3, "size takes"},
        {"docpipe-form 1\nname t\nsize 0.5in 2in\n", 3, "from 1 to 100"},
        {NULL, 4, "unknown directive"},
    };
    static const struct { const char *body; int line; const char *says; } fields[] = {
        {"bogus x=1in\n", 4, "unknown directive 'bogus'"},
        {"field a number x=1in y=1in w=1in\n", 4, "missing h="},
        {"field a number x=1in y=1in w=1in h=1in z=3\n", 4, "unknown key 'z'"},
        {"field a number x=1in y=1in w=1in h=1in x=2in\n", 4, "given twice"},
        {"field a number x=1in y=1in w=0in h=1in\n", 4, "greater than 0"},
        {"field a money x=1in y=1in w=1in h=1in\n", 4, "unknown field type"},
        {"field A number x=1in y=1in w=1in h=1in\n", 4, "bad field name"},
        {"field a\n", 4, "needs a name and a type"},
        {"field a number x=1in y=1in w=1in h=1in\nfield a date x=1in y=3in w=1in h=1in\n", 5,
         "defined twice"},
        {"field a number x=8in y=1in w=1in h=1in\n", 4, "outside the form"},
        {"field a number x=1in y=1in w=1in h=1in frame=circle\n", 4, "frame=circle"},
        {"field a number x=1in y=1in w=1in h=1in frame=comb\n", 4, "needs cells"},
        {"field a number x=1in y=1in w=1in h=1in cells=4\n", 4, "belong to frame=comb"},
        {"field a number x=1in y=1in w=1in h=1in frame=comb cells=4 dash=4\n", 4, "must be less"},
        {"field a number x=1in y=1in w=1in h=1in frame=comb cells=1\n", 4, "whole number from 2"},
        {"field a number x=1in y=1in w=1in h=1in frame=comb cells=4 digits=5\n", 4, "more digits"},
        {"field a number x=1in y=1in w=1in h=1in digits=5-3\n", 4, "MIN-MAX"},
        {"field a number x=1in y=1in w=1in h=1in digits=x\n", 4, "MIN-MAX"},
        {"field a number x=1in y=1in w=1in h=1in cents=2\n", 4, "belongs to amount"},
        {"field a amount x=1in y=1in w=1in h=1in digits=2 cents=3\n", 4, "no room"},
        {"field a number x=1in y=1in w=1in h=1in frame\n", 4, "key=value"},
        {"field a date x=1in y=1in w=1in h=1in digits=8 pattern=XXXXXXXX\n", 4,
         "belongs to number and postcode"},
        {"field a amount x=1in y=1in w=1in h=1in pattern=XX\n", 4, "belongs to number and postcode"},
        {"field a number x=1in y=1in w=1in h=1in digits=3 pattern=XAX\n", 4, "of X N Z 0-9"},
        {"field a number x=1in y=1in w=1in h=1in pattern=\n", 4, "key=value"},
        {"field a number x=1in y=1in w=1in h=1in pattern=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n", 4,
         "of X N Z 0-9"},
        {"field a number x=1in y=1in w=1in h=1in frame=comb cells=4 pattern=XXX\n", 4,
         "the field holds 4-4"},
        {"field a number x=1in y=1in w=1in h=1in =3\n", 4, "key=value"},
        {"line x=1in y=1in\n", 4, "not both or neither"},
        {"line x=1in y=1in w=1in h=1in\n", 4, "not both or neither"},
        {"line x=8in y=1in w=1in\nfield a number x=1in y=1in w=1in h=1in\n", 6, "outside the form"},
        {"mark x=1in y=1in w=1in\n", 4, "missing h="},
        {"text x=1in y=1in pt=10\n", 4, "needs a quoted string"},
        {"text x=1in y=1in pt=11 \"A\"\n", 4, "even"},
        {"text x=1in y=1in pt=24 \"A\"\n", 4, "from 4 to 20"},
        {"text x=1in y=1in pt=10 \"A\" \"B\"\n", 4, "one quoted string"},
        {"text x=1in y=1in pt=10 \"A\n", 4, "unterminated"},
        {"text x=1in y=1in pt=10 \"A\\n\"\n", 4, "bad escape"},
        {"text x=1in y=1in pt=10 \"A\"B\n", 4, "right after"},
        {"title \"a\"\ntitle \"b\"\n", 5, "title given twice"},
        {"title untitled\n", 4, "quoted string"},
        {"line-width 1in\n", 4, "0.001 to 0.1"},
    };
    seg_form *f = NULL;
    char buf[4096];

    for (size_t i = 0; cases[i].text; i++) {
        int rc;
        util_clear_error();
        rc = seg_form_parse(&f, cases[i].text, strlen(cases[i].text), "t.form");
        snprintf(buf, sizeof buf, "t.form:%d:", cases[i].line);
        TST_CHECK(rc != UTIL_OK && f == NULL && strstr(util_last_error(), cases[i].says) &&
                      strstr(util_last_error(), buf),
                  "case %zu refused at line %d saying '%s' (said: %s)", i, cases[i].line,
                  cases[i].says, util_last_error());
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int rc;
        util_clear_error();
        rc = parse_with(fields[i].body, &f);
        snprintf(buf, sizeof buf, "t.form:%d:", fields[i].line);
        TST_CHECK(rc == UTIL_EFORMAT && f == NULL && strstr(util_last_error(), fields[i].says) &&
                      (fields[i].line == 6 || strstr(util_last_error(), buf)),
                  "'%.40s' refused saying '%s' (said: %s)", fields[i].body, fields[i].says,
                  util_last_error());
    }
    /* A NUL byte, an over-long line, binary junk. */
    {
        char nul[] = "docpipe-form 1\nname t\0x\n";
        char longl[1200];
        TST_CHECK(seg_form_parse(&f, nul, sizeof nul - 1, "t.form") == UTIL_EFORMAT &&
                      strstr(util_last_error(), "NUL"),
                  "NUL byte refused");
        memset(longl, 'a', sizeof longl);
        memcpy(longl, "docpipe-form 1\n#", 16);
        TST_CHECK(seg_form_parse(&f, longl, sizeof longl, "t.form") == UTIL_EFORMAT &&
                      strstr(util_last_error(), "longer than"),
                  "over-long line refused");
    }
    /* Loading: a missing file, a folder with no template, a folder with a bad one. */
    {
        seg_form_set *set = NULL;
        char dir[512];
        TST_CHECK(seg_form_load(&f, "/nonexistent/x.form") == UTIL_EIO && f == NULL, "missing file");
        TST_CHECK(seg_form_set_load(&set, "/nonexistent") == UTIL_EIO && !set, "missing folder");
        TST_CHECK(seg_form_set_load(&set, tst_tmpdir()) == UTIL_EIO && !set &&
                      strstr(util_last_error(), "no form template"),
                  "empty folder refused");
        tst_write_file("a.form", "docpipe-form 1\nname a\nsize 2in 2in\n"
                                 "field f number x=0in y=0in w=1in h=1in\n", 74);
        tst_write_file("b.form", "docpipe-form 1\nname a\nsize 2in 2in\n"
                                 "field f number x=0in y=0in w=1in h=1in\n", 74);
        snprintf(dir, sizeof dir, "%s", tst_tmpdir());
        TST_CHECK(seg_form_set_load(&set, dir) == UTIL_EFORMAT && !set &&
                      strstr(util_last_error(), "also used"),
                  "two templates with one name refused (%s)", util_last_error());
        tst_write_file("b.form", "docpipe-form 1\nname b\nsize 2in\n", 32);
        TST_CHECK(seg_form_set_load(&set, dir) == UTIL_EFORMAT && !set &&
                      strstr(util_last_error(), "b.form:3:"),
                  "a bad template in the folder is named (%s)", util_last_error());
        tst_write_file("b.form", "docpipe-form 1\nname b\nsize 2in 2in\n"
                                 "field f number x=0in y=0in w=1in h=1in\n", 74);
        TST_CHECK(seg_form_set_load(&set, dir) == UTIL_OK && set && set->n == 2, "two good ones load");
        seg_form_set_destroy(&set);
    }
}

static void test_types_and_dir(void)
{
    int t = 0;
    char buf[256];
    TST_CHECK(seg_field_type_parse("postcode", &t) == UTIL_OK && t == SEG_FT_POSTCODE, "parse type");
    TST_CHECK(seg_field_type_parse("Postcode", &t) == UTIL_EINVAL && t == -1, "types are lower case");
    TST_CHECK(strcmp(seg_field_type_name(SEG_FT_DATE), "date") == 0 &&
                  strcmp(seg_field_type_name(99), "?") == 0,
              "type names");
    setenv("DOCPIPE_FORMS", "/somewhere/forms", 1);
    seg_forms_default_dir(buf, sizeof buf);
    TST_CHECK(strcmp(buf, "/somewhere/forms") == 0, "DOCPIPE_FORMS wins");
    unsetenv("DOCPIPE_FORMS");
    seg_forms_default_dir(buf, sizeof buf);
    TST_CHECK(strstr(buf, "forms") != NULL, "default forms dir: %s", buf);
}

int main(void)
{
    util_log_set_level(-1);
    test_shipped();
    test_units_defaults();
    test_broken();
    test_types_and_dir();
    return tst_done();
}
