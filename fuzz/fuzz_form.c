/*
 * fuzz_form.c - libFuzzer harness for the form template parser
 * (segment/seg_form.c, seg_form_parse): the input is the template's text,
 * not NUL terminated (ASan sees a read past its end).  A template it
 * accepts is walked field by field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "segment/seg_form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    seg_form *f = NULL;
    char *text = malloc(len ? len : 1);

    if (!text)
        return 0;
    memcpy(text, data, len);
    fuzz_quiet();
    if (seg_form_parse(&f, text, len, "fuzz.form") == UTIL_OK) {
        if (!f || f->n_fields < 0 || f->n_features < 0 || f->n_texts < 0)
            abort();
        /* what the rest of segment/ relies on: names end, sizes are sane */
        if (strnlen(f->name, SEG_NAME_MAX) == SEG_NAME_MAX || !(f->width > 0) ||
            !(f->height > 0))
            abort();
        for (int i = 0; i < f->n_fields; i++)
            if (strnlen(f->fields[i].name, SEG_NAME_MAX) == SEG_NAME_MAX ||
                f->fields[i].min_digits > f->fields[i].max_digits || !(f->fields[i].r.w > 0) ||
                !(f->fields[i].r.h > 0))
                abort();
        for (int i = 0; i < f->n_texts; i++)
            if (!f->texts[i].text)
                abort();
    } else if (f) {
        abort();
    }
    seg_form_destroy(&f);
    free(text);
    return 0;
}
