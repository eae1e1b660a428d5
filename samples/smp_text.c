/*
 * smp_text.c - plausible field contents and their truth texts.
 */
#include <stdio.h>
#include <string.h>

#include "smp_hand.h"
#include "smp_text.h"

static char digit(util_rng *rng, int lo)
{
    return (char)('0' + lo + (int)util_rng_below(rng, (uint64_t)(10 - lo)));
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void put_date(smp_value *v, int n, util_rng *rng)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int m = 1 + (int)util_rng_below(rng, 12), y = 1990 + (int)util_rng_below(rng, 40);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int dmax = days[m - 1] + (m == 2 && leap);
    int d = 1 + (int)util_rng_below(rng, (uint64_t)dmax);
    char buf[48];
    if (n == 6)
        snprintf(buf, sizeof buf, "%02d%02d%02d", m, d, y % 100);
    else
        snprintf(buf, sizeof buf, "%02d%02d%04d", m, d, y);
    memcpy(v->digits, buf, (size_t)n);
}

void smp_value_random(smp_value *v, const seg_form_field *f, int may_blank, util_rng *rng)
{
    int lo = clampi(f->min_digits, 1, SMP_VALUE_MAX), hi = clampi(f->max_digits, lo, SMP_VALUE_MAX);

    memset(v, 0, sizeof *v);
    for (int i = 0; i < SMP_VALUE_MAX; i++)
        v->src[i] = -1; /* set when drawn */
    if (may_blank && smp_rand(rng, 0, 1) < 0.03) {
        v->blank = 1;
        return;
    }
    switch (f->type) {
    case SEG_FT_AMOUNT: {
        static const int weight[6] = {0, 15, 30, 30, 17, 8};
        int cents = clampi(f->cents, 0, 3);
        int ilo = clampi(lo - cents, 1, 5), ihi = clampi(hi - cents, ilo, 5), total = 0, k;
        for (k = ilo; k <= ihi; k++)
            total += weight[k];
        int r = (int)util_rng_below(rng, (uint64_t)total);
        for (k = ilo; k < ihi && r >= weight[k]; k++)
            r -= weight[k];
        v->n_int = k;
        v->n = k + cents;
        for (int i = 0; i < k; i++)
            v->digits[i] = digit(rng, i == 0 && k > 1 ? 1 : 0);
        for (int i = k; i < v->n; i++)
            v->digits[i] = digit(rng, 0);
        memcpy(v->truth, v->digits, (size_t)k);
        if (cents) {
            v->truth[k] = '.';
            memcpy(v->truth + k + 1, v->digits + k, (size_t)cents);
        }
        return;
    }
    case SEG_FT_POSTCODE:
        v->n = hi == 9 || (lo <= 9 && hi >= 9 && smp_rand(rng, 0, 1) < 0.5) ? 9
             : lo <= 5 && hi >= 5                                     ? 5
                                                                      : hi;
        do {
            for (int i = 0; i < v->n; i++)
                v->digits[i] = digit(rng, 0);
        } while (strncmp(v->digits, "00000", 5) == 0);
        break;
    case SEG_FT_DATE:
        v->n = hi;
        if (hi == 8 || hi == 6)
            put_date(v, hi, rng);
        else
            for (int i = 0; i < v->n; i++)
                v->digits[i] = digit(rng, 0);
        break;
    default:
        if (f->pattern[0] && (int)strlen(f->pattern) <= SMP_VALUE_MAX) {
            /* The template's pattern (a phone number: NXXNXXXXXX). */
            v->n = (int)strlen(f->pattern);
            for (int i = 0; i < v->n; i++) {
                int lo, hi;
                seg_pattern_class(f->pattern[i], &lo, &hi);
                v->digits[i] = lo == hi ? (char)('0' + lo) : digit(rng, lo); /* lo..9 */
            }
        } else if (f->frame == SEG_FRAME_COMB && lo == hi) {
            v->n = hi;
            for (int i = 0; i < v->n; i++)
                v->digits[i] = digit(rng, 0);
        } else {
            v->n = lo + (int)util_rng_below(rng, (uint64_t)(hi - lo + 1));
            for (int i = 0; i < v->n; i++)
                v->digits[i] = digit(rng, i == 0 ? 1 : 0);
        }
        break;
    }
    v->n_int = v->n;
    if (f->type == SEG_FT_POSTCODE && v->n == 9)
        snprintf(v->truth, sizeof v->truth, "%.5s-%.4s", v->digits, v->digits + 5);
    else
        memcpy(v->truth, v->digits, (size_t)v->n);
}
