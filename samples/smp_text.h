/*
 * smp_text.h - what a person writes into a form field: plausible contents
 * for each field type, and the text truth.csv records for it.
 */
#ifndef DOCPIPE_SMP_TEXT_H
#define DOCPIPE_SMP_TEXT_H

#include "segment/seg_form.h"
#include "util/util.h"

#define SMP_VALUE_MAX 40

typedef struct smp_value {
    int blank;                     /* left empty: no digits, truth "" */
    int n;                         /* digits written */
    char digits[SMP_VALUE_MAX + 1]; /* '0'..'9' in writing order */
    int n_int;                     /* amount: digits before the point; else n */
    char truth[SMP_VALUE_MAX + 8]; /* "1234.56", "12345-6789", "0417", "" */
    int src[SMP_VALUE_MAX];        /* the digit bank's row of each digit drawn */
} smp_value;

/*
 * smp_value_random - contents for field f from rng:
 *   amount   integer part 1-5 digits (no leading zero but a lone 0) within
 *            the field's digit count, then f->cents digits; truth "1234.56";
 *   postcode 5 digits, or 9 with truth "12345-6789";
 *   date     a valid MMDDYYYY (1990-2029), MMDDYY for 6 digits;
 *   number   a US phone number for a 10-digit field named phone*, every
 *            digit free in a fixed-length comb (account numbers), else a
 *            count in the field's range with no leading zero.
 * With may_blank the field is left blank about 3 % of the time.
 */
void smp_value_random(smp_value *v, const seg_form_field *f, int may_blank, util_rng *rng);

#endif
