/*
 * pipe_assemble.c - one field from its candidate splits and the
 * classifier's probabilities (pipe_int.h): the split chosen, the digits and
 * their runners-up, the field's text and parsed value (amount in cents,
 * postcode, date), its confidence and status.
 *
 * The confidence constants below were fitted by bench/conf_fit.py on
 * generated pages (seeds 3, 5, 9 and 13; never the seed 11 set the README's
 * figures come from): see README "Confidence".
 */
#include "pipe_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Score added per glyph of a split.  The classifier's top probability is a
 * digit's class given that the crop is one digit, not the likelihood that it
 * is one: summed over glyphs it charges every extra glyph a little even when
 * each reads surely, so a blob of two touching digits read as one (often
 * surely) beat the split that separates them.  Fitted on seeds 3/5/9/13
 * (count exact after the choice 3489 -> 3504 of 3593 fields, text exact
 * 3202 -> 3209; the same 0.5 is best leaving out any one seed and gains on
 * the seed left out).  The bonus decides; the chosen split's share S that
 * goes into the confidence is taken from the scores without it (the form
 * the confidence constants were fitted on; with the bonus in S the read
 * rate at <= 1 % error fell on three of the four seeds), so a choice the
 * bonus turned gets a low share.
 */
#define SPLIT_GLYPH_BONUS 0.5
/* Score added to a split whose digit count the template does not allow. */
#define RANGE_LOG_PENALTY (-3.0)
/* Rule factors, taken into the split's share: a count outside the template's
 * range, an amount whose decimal point was not found while the template
 * expects cents, a reading that does not parse. */
#define RANGE_CONF_FACTOR 0.25
#define NO_POINT_FACTOR 0.5
#define NO_PARSE_FACTOR 0.5
/* The product of the digits' probabilities of a field read as empty. */
#define EMPTY_CONF 0.98
/*
 * The field's confidence, a logistic regression on what the reading shows:
 *   1 / (1 + exp(-z)),  z = CONF_BIAS + CONF_TYPE[type] + CONF_LP * lp
 *                           + CONF_LS * ls + CONF_MARGIN * m + CONF_PIECES * pieces
 * lp the sum of the log calibrated probabilities of the labels read (see
 * pipe_read_split; log EMPTY_CONF for a field read as empty), ls the log of the
 * chosen split's share of the splits' likelihood times the rule factors, m
 * the smallest log ratio of a label's probability to its runner-up's (cut
 * to 0..CONF_MARGIN_MAX; CONF_MARGIN_MAX when empty), pieces 1 when what the
 * segmenter doubted most was pieces merged into one digit.  The margin
 * catches the digit torn between two readings that a product of top
 * probabilities (what lp sums) passes; the type's term is the share of
 * fields read surely yet wrong (a digit missed or invented by the segmenter
 * leaves no trace in the probabilities).  Fitted by bench/conf_fit.py on
 * seeds 3/5/9/13 as segmented with pair_cut's 0.25 width: with each seed
 * left out the read rate at <= 1 % error was 74.9 / 82.3 / 80.6 / 84.1 %
 * (80.5 %).  On the readings before that change the same form gave 80.1 %,
 * the product CEIL[type] * P^1.40 * S^0.68 used until then 65.7 / 74.0 /
 * 76.8 / 78.9 % (73.9 %).
 */
#define CONF_BIAS 0.3445
#define CONF_LP 0.5570
#define CONF_LS 4.2795
#define CONF_MARGIN 0.5825
#define CONF_MARGIN_MAX 15.0
#define CONF_PIECES (-0.9482)
static const double CONF_TYPE[SEG_FT_COUNT] = {-0.1702, 0.2996, 0.5008, 0.0};
/*
 * The checker (README "Confidence"): a second network, trained apart from
 * the model on MNIST and rescanned digits.  Where it gives a label read a
 * probability under CHECK_DISAGREE (it reads another digit there), the
 * field's confidence is multiplied by CHECK_FACTOR and the field goes to
 * review.  Chosen on seeds 3/5/9/13, where the read rate at <= 1 % error
 * rose on every seed or stayed (74.8 -> 75.5, 81.8 -> 83.0, 80.4 -> 84.9,
 * 83.8 -> 83.8 %); its probability as a term of z instead fitted better on
 * those seeds but read fewer fields of seed 11 than without a checker.
 */
#define CHECK_DISAGREE 0.5
#define CHECK_FACTOR 0.5
/*
 * The checker has a say in which split is read, not in the labels: a
 * split's score takes CHECK_SPLIT_WEIGHT times the sum of the checker's log
 * probabilities of the labels the model reads there (the labels stay the
 * model's own, so its reading of single digits is unchanged; the share S
 * in the confidence is still of the scores without this term).  Chosen on
 * seeds 3/5/9/13: field text exact 791/793/859/899 -> 792/794/860/899 at
 * 0.5, with 0.75-1.5 one to two fields more but the read rate at <= 1 %
 * error of seed 9 1.1 points lower.
 */
#define CHECK_SPLIT_WEIGHT 0.5

/* The judge (README "The judge") reads each glyph as JUDGE_WHOLE (one
 * whole digit), JUDGE_MERGED (two or more touching digits) or JUDGE_PIECE
 * (a piece of a digit).  A split's score takes JUDGE_SPLIT_WEIGHT times
 * the sum over its glyphs of log(1 - P(merged)): a split that reads
 * touching digits as one glyph loses against the split that cuts them,
 * which the digit model alone cannot see (it reads "12" as a confident 0).
 * Unlike the checker's term it counts in the share S too: it speaks of the
 * split itself, as the prior does (left out of S, a field the judge took
 * from the prior's split went to review with the share it lost). */
#define JUDGE_MERGED 1
#define JUDGE_PIECE 2
#define JUDGE_SPLIT_WEIGHT 1.0
/* The judge's word on pieces, JUDGE_PIECE_WEIGHT times the sum of
 * log(1 - P(piece)), decides the choice only (as the checker's does): it
 * mends splits that cut a digit in two, but the judge tells pieces from
 * whole digits less well (79 % of held-out pieces found, 4 % of whole
 * digits taken for pieces), and in S it cost read rate (seed 5: 87.06 ->
 * 83.92 % at 0.5).  0.2-0.5 gained 3-4 fields on the tuning seeds, 1.0
 * lost two of them. */
#define JUDGE_PIECE_WEIGHT 0.5
/* The judge's word on the glyphs read, in the confidence itself:
 * JUDGE_CONF_WEIGHT times the sum of log(1 - P(merged)) over the chosen
 * split's glyphs is added to the logistic's z.  The share S weighs the
 * judge only against the field's other splits; where the segmenter offered
 * no cut (a 1 written into a 6 read as a sure 6, "816.06" read "86.06"
 * with 0.995) or every cut reads worse, the judge's doubt did not reach
 * the confidence.  Tuning seeds 3/5/9/13 and 3/5 at 200 dpi, 5,309 fields
 * pooled, read rate at <= 1 % error 86.78 -> 88.02 % (0.25 and 0.35; 0.5:
 * 87.91 %); seed by seed 84.62/90.33/91.95/87.01/72.38/76.11 ->
 * 85.66/90.21/92.17/90.82/72.03/76.11 %.  The pieces probability as a
 * second term (0.15-0.5) moved the tuning seeds by noise and cost the
 * 200-dpi seeds 1.2 points at 0.25. */
#define JUDGE_CONF_WEIGHT 0.35

void pipe_rules_of(const seg_form *form, const char *name, pipe_rules *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; form && i < form->n_fields; i++)
        if (strcmp(form->fields[i].name, name) == 0) {
            r->known = 1;
            r->min_digits = form->fields[i].min_digits;
            r->max_digits = form->fields[i].max_digits;
            r->cents = form->fields[i].cents;
            memcpy(r->pattern, form->fields[i].pattern, sizeof r->pattern);
            return;
        }
}

int pipe_field_glyphs(const seg_field *f)
{
    int n = 0;

    for (int k = 0; k < f->n_splits; k++)
        n += f->splits[k].n;
    return n;
}

int pipe_field_digits_max(const seg_field *f)
{
    int most = 0;

    for (int k = 0; k < f->n_splits; k++)
        most = f->splits[k].n > most ? f->splits[k].n : most;
    return most + 1;
}

/* log p, with p taken as at least 1e-12 (a class the model rules out). */
static double log_prob(float p) { return log(p > 1e-12f ? (double)p : 1e-12); }

/* The best and second-best class of p[10]. */
static void top2(const float *p, int *pa, int *pb)
{
    int a = 0, b = 1;

    if (p[b] > p[a])
        a = 1, b = 0;
    for (int c = 2; c < 10; c++) {
        if (p[c] > p[a]) {
            b = a;
            a = c;
        } else if (p[c] > p[b]) {
            b = c;
        }
    }
    *pa = a;
    *pb = b;
}

static int in_range(const pipe_rules *r, int n)
{
    return !r || !r->known || (n >= r->min_digits && n <= r->max_digits);
}

/* The years a date may have; days in each month of a leap year; whether
 * year y is one. */
#define YEAR_MIN 1900
#define YEAR_MAX 2099
static const int MONTH_DAYS[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
static int leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* The digits before the point, as "decimal point assumed" below reads them. */
int pipe_amount_int_digits(const seg_split *sp, const pipe_rules *rules)
{
    if (sp->n_int >= sp->n && rules && rules->known && rules->cents > 0 && sp->n > rules->cents)
        return sp->n - rules->cents;
    return sp->n_int < sp->n ? sp->n_int : sp->n;
}

/* The log probability of glyphs i0 .. i0 + n - 1 reading the n digits of v,
 * e.g. digits_score(lp, 4, 4, 2019) = lp[4][2] + lp[5][0] + lp[6][1] + lp[7][9]. */
static double digits_score(const double (*lp)[10], int i0, int n, int v)
{
    double s = 0;

    for (int i = i0 + n - 1; i >= i0; i--, v /= 10)
        s += lp[i][v % 10];
    return s;
}

/*
 * The grammar is what a value of the type must be (pipe_int.h), the range
 * of years the one pipe_date_value accepts.  Dates are found by enumeration
 * (366 days x 200 years, the year apart); dates of other lengths stay
 * unparsed and read as seen.  A label chosen against the classifier's top
 * class keeps that class as its runner-up, so the digit's margin (below) is
 * negative and the confidence falls.
 */
double pipe_read_split(int type, const seg_split *sp, const pipe_rules *rules,
                       const float *const *probs, int *labels)
{
    double lp[PIPE_TEXT_MAX][10], sum = 0;
    int n = sp->n < PIPE_TEXT_MAX ? sp->n : PIPE_TEXT_MAX;
    int date = type == SEG_FT_DATE && n == 8;
    int pattern = rules && rules->pattern[0] && (size_t)n == strlen(rules->pattern);
    int amount = type == SEG_FT_AMOUNT && pipe_amount_int_digits(sp, rules) >= 2;

    for (int i = 0; i < n; i++) {
        int a, b;
        top2(probs[i], &a, &b);
        labels[i] = a;
        sum += log_prob(probs[i][a]);
    }
    if (!date && !pattern && !(amount && labels[0] == 0))
        return sum; /* the top classes are a reading the grammar allows */
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 10; c++)
            lp[i][c] = log_prob(probs[i][c]);
    if (date) {
        double by = -INFINITY, byleap = -INFINITY, best = -INFINITY;
        int y = 0, yleap = 0, m = 0, d = 0;
        for (int v = YEAR_MIN; v <= YEAR_MAX; v++) {
            double sc = digits_score(lp, 4, 4, v);
            if (sc > by)
                by = sc, y = v;
            if (leap_year(v) && sc > byleap)
                byleap = sc, yleap = v;
        }
        for (int mm = 1; mm <= 12; mm++)
            for (int dd = 1; dd <= MONTH_DAYS[mm - 1]; dd++) {
                double sc = digits_score(lp, 0, 2, mm) + digits_score(lp, 2, 2, dd) +
                            (mm == 2 && dd == 29 ? byleap : by);
                if (sc > best)
                    best = sc, m = mm, d = dd;
            }
        if (m == 2 && d == 29)
            y = yleap;
        for (int i = 0, v = m * 1000000 + d * 10000 + y; i < 8; i++, v /= 10)
            labels[7 - i] = v % 10;
        return best;
    }
    if (pattern) {
        for (int i = 0; i < n; i++) {
            int lo, hi;
            seg_pattern_class(rules->pattern[i], &lo, &hi);
            if (labels[i] >= lo && labels[i] <= hi)
                continue;
            sum -= lp[i][labels[i]];
            labels[i] = lo;
            for (int c = lo + 1; c <= hi; c++)
                if (lp[i][c] > lp[i][labels[i]])
                    labels[i] = c;
            sum += lp[i][labels[i]];
        }
        return sum;
    }
    /* An amount whose whole part starts with 0. */
    {
        int c = 1;
        for (int k = 2; k < 10; k++)
            if (lp[0][k] > lp[0][c])
                c = k;
        sum += lp[0][c] - lp[0][0];
        labels[0] = c;
    }
    return sum;
}

int pipe_amount_text(const int *labels, int n, int n_int, char *text, size_t cap,
                     int64_t *pcents)
{
    size_t j = 0;
    int64_t units = 0, cents = 0;
    int ok = n > 0;

    *pcents = 0;
    if (cap == 0)
        return 0;
    if (n_int > n || n_int < 0)
        n_int = n;
    for (int i = 0; i < n && j + 2 < cap; i++) {
        if (i == n_int && n_int < n)
            text[j++] = '.';
        text[j++] = (char)('0' + labels[i]);
    }
    text[j] = '\0';
    if (!ok)
        return 0;
    for (int i = 0; i < n_int; i++) {
        if (units > (INT64_MAX / 1000))
            return 0;
        units = units * 10 + labels[i];
    }
    /* Cents: the first two digits after the point ("12.5" is 12.50; a third
     * digit is not money and makes the value unparseable). */
    if (n - n_int > 2)
        return 0;
    for (int i = 0; i < 2; i++)
        cents = cents * 10 + (n_int + i < n ? labels[n_int + i] : 0);
    *pcents = units * 100 + cents;
    return 1;
}

int pipe_postcode_text(const int *labels, int n, char *text, size_t cap)
{
    size_t j = 0;

    if (cap == 0)
        return 0;
    for (int i = 0; i < n && j + 2 < cap; i++) {
        if (n == 9 && i == 5)
            text[j++] = '-';
        text[j++] = (char)('0' + labels[i]);
    }
    text[j] = '\0';
    return n == 5 || n == 9;
}

int pipe_date_value(const char *d, char *value, size_t cap)
{
    int m, day, y;

    if (cap)
        value[0] = '\0';
    if (strlen(d) != 8 || strspn(d, "0123456789") != 8)
        return 0;
    m = (d[0] - '0') * 10 + (d[1] - '0');
    day = (d[2] - '0') * 10 + (d[3] - '0');
    y = atoi(d + 4);
    if (m < 1 || m > 12 || day < 1 || day > MONTH_DAYS[m - 1] || y < YEAR_MIN || y > YEAR_MAX)
        return 0;
    if (m == 2 && day == 29 && !leap_year(y))
        return 0;
    snprintf(value, cap, "%04d-%02d-%02d", y, m, day);
    return 1;
}

void pipe_assemble_field(const seg_field *f, const float *const *gprobs,
                         const float *const *cprobs, const pipe_rules *rules,
                         double review_below, pipe_read *out, db_digit *digits)
{
    pipe_assemble_field_judged(f, gprobs, cprobs, NULL, NULL, NULL, rules, review_below, out,
                               digits);
}

/* The reading of a glyph when the checker is there: the model's and the
 * checker's probabilities combined log-linearly, p^(1 - w) c^w normalized,
 * w = READ_CHECK_WEIGHT.  The checker was trained on MNIST and on crops cut
 * from generated pages, and reads the crops better than the model (99.04
 * against 98.85 % of the tuning seeds' crops) though MNIST a little worse
 * (99.52 against 99.61 %); the combination reads MNIST at 99.55 %.  On the
 * tuning seeds' ingest: 804/807/870/908 fields -> 808/813/873/923 at 0.75
 * (0.5: 806/813/872/920, 0.6: 807/812/873/921, 0.9: 807/816/870/922, the
 * checker alone: 813/815/869/921), read rates 78.90/87.06/92.06/85.98 ->
 * 84.62/90.33/91.95/87.01 %. */
#define READ_CHECK_WEIGHT 0.75
#define READ_STACK_GLYPHS 256

static void assemble(const seg_field *f, const float *const *gprobs, const float *const *cprobs,
                     const float *const *jprobs, const pipe_rules *rules, double review_below,
                     pipe_read *out, db_digit *digits);

/* q[10] = p^(1-w) c^w, normalized (q may be p). */
static void blend_probs(const float *p, const float *c, double w, float *q)
{
    double v[10], z = 0;

    for (int k = 0; k < 10; k++) {
        v[k] = exp((1.0 - w) * log_prob(p[k]) + w * log_prob(c[k]));
        z += v[k];
    }
    for (int k = 0; k < 10; k++)
        q[k] = (float)(v[k] / z);
}

void pipe_combine_probs(const float *p, const float *c, float *q)
{
    blend_probs(p, c, READ_CHECK_WEIGHT, q);
}

/* How much the pair readers' word weighs against the reading of a cut
 * glyph (the model and checker combined): q^(1-w) pair^w normalized, w
 * PAIR_WEIGHT times the judge's P(touching) for the whole glyph when the
 * judge is there (it tells two touching digits from one wide digit, which
 * the pair readers, shown only pairs, cannot), PAIR_WEIGHT without it.
 * On the six tuning sets' ingest (seeds 3/5/9/13, 3 and 5 at 200 dpi;
 * fields exact, without the readers 808/813/873/923/808/812), with the
 * shipped readers: 0.5 814/817/879/925/814/813 (pooled read rate 88.87 %,
 * 88.17 without), 0.7 815/817/880/925/812/814 (88.75 %); with readers
 * trained without the integer-and-cent pairs: 0.5 813/817/879/924/813/814
 * (88.96 %), 0.7 814/818/878/925/813/814 (88.83 %), 0.9
 * 814/816/877/924/812/813.  The judge's P(touching) as a factor: the same
 * fields with the shipped readers at 0.5, read rates 86.95/92.89/92.17/
 * 90.93/73.08/80.42 -> 86.95/92.89/92.17/91.03/73.19/80.65 % (pooled
 * 88.87 -> 88.98 %); a gate instead (no word under P 0.2) one field fewer.
 * README "The pair readers". */
#define PAIR_WEIGHT 0.5

/* The first of exactly two glyphs of split sp whose centres lie inside g's
 * columns; -1 when not exactly two do. */
static int pair_first(const seg_split *sp, const seg_glyph *g)
{
    int first = -1, n = 0;

    for (int t = 0; t < sp->n; t++) {
        int cx2 = 2 * sp->glyphs[t].x + sp->glyphs[t].w; /* twice the centre */
        if (cx2 > 2 * g->x && cx2 < 2 * (g->x + g->w)) {
            first = first < 0 ? t : first;
            n++;
        }
    }
    return n == 2 ? first : -1;
}

int pipe_pair_reread(const seg_field *f, const float *const *lprobs,
                     const float *const *rprobs, const float *const *jprobs, float *q)
{
    int ng = pipe_field_glyphs(f), ns = f->n_splits, *start = NULL, n = 0;
    unsigned char *done = NULL;

    if (ng == 0 || !lprobs || !rprobs)
        return 0;
    start = malloc(((size_t)ns + 1) * sizeof *start);
    done = calloc((size_t)ng, 1);
    if (!start || !done) {
        free(start);
        free(done);
        return -1;
    }
    start[0] = 0;
    for (int s = 0; s < ns; s++)
        start[s + 1] = start[s] + f->splits[s].n;
    for (int s = 0; s < ns; s++)
        for (int k = 0; k < f->splits[s].n; k++)
            for (int s2 = 0; s2 < ns; s2++) {
                int t = s2 == s ? -1 : pair_first(&f->splits[s2], &f->splits[s].glyphs[k]);
                if (t < 0)
                    continue;
                int g = start[s] + k;
                double w = PAIR_WEIGHT * (jprobs ? (double)jprobs[g][JUDGE_MERGED] : 1.0);
                for (int side = 0; side < 2; side++) {
                    int j = start[s2] + t + side;
                    if (done[j])
                        continue;
                    done[j] = 1;
                    blend_probs(q + 10 * (size_t)j, side ? rprobs[g] : lprobs[g], w,
                                q + 10 * (size_t)j);
                    n++;
                }
            }
    free(start);
    free(done);
    return n;
}

/*
 * Touching digits that no cut separates.  Where the judge reads a glyph G
 * of a split as two or more touching digits (P(touching) >=
 * PAIR_SPLIT_GATE), the field gets one more split: that split with G read
 * as two digits, the left one by the left pair reader and the right one by
 * the right one (the crop of the whole glyph for both, the box halved),
 * its prior PAIR_SPLIT_PRIOR times the split's, the judge's term for the
 * two log P(touching) in place of log(1 - P(touching)).  At most
 * PAIR_SPLITS such splits (the glyphs likeliest touching).  Most of the
 * fields they mend are raised cents written into each other or into the
 * last whole digit, and neighbours written over each other, where the
 * segmenter's cuts (if any) pass through both digits.  On the six tuning
 * sets (seeds 3/5/9/13 at 300 dpi, 3/5 at 200; bench/seg_bench, the choice
 * as ingest makes it), with G taken from splits[0] only: count exact 5,265
 * -> 5,277 of 5,309, text exact 5,062 -> 5,074 (prior factor 0.1: 5,277 and
 * 5,072; 0.2: 5,273, 5,067; 0.3: 5,268, 5,063; 1: 5,248, 5,044; 0.02:
 * 5,275, 5,071; 0.01: 5,271, 5,069), no set losing a field, gates 0.3-0.7
 * the same; ingest pooled read rate at <= 1 % error 88.98 -> 89.24 % (0.1:
 * 89.32, 0.03: 89.26).  G from splits[0] and [1]: 5,285 and 5,082; from
 * any split (as here): 5,287 and 5,084, each set gaining on splits[0] only
 * (prior factor 0.1 and 0.03: 5,082 text; at most 2 pair splits: 5,083, 8:
 * the same as 4).
 */
#define PAIR_SPLIT_PRIOR 0.05
#define PAIR_SPLIT_GATE 0.5f
#define PAIR_SPLITS 4

static int assemble_paired(const seg_field *f, const float *const *qp, const float *const *cprobs,
                           const float *const *jprobs, const float *const *lprobs,
                           const float *const *rprobs, const pipe_rules *rules,
                           double review_below, pipe_read *out, db_digit *digits)
{
    int ng = pipe_field_glyphs(f), cs[PAIR_SPLITS], c0[PAIR_SPLITS], cg[PAIR_SPLITS];
    int nv = 0, ng2, gsum = 0, rc = -1;
    seg_split *sp2 = NULL;
    seg_glyph *gl = NULL;
    const float **qp2 = NULL, **cp2 = NULL, **jp2 = NULL;
    float fj[PAIR_SPLITS][3]; /* the judge's word on the two digits of a pair */
    seg_field f2;

    if (f->n_splits < 1 || f->n_splits + PAIR_SPLITS > 64) /* 64: what assemble weighs */
        return -1;
    /* cs[], c0[], cg[]: the split, its first glyph and the glyph (numbered
     * as qp) of the PAIR_SPLITS glyphs likeliest touching, likeliest first */
    for (int s = 0, g0 = 0; s < f->n_splits; g0 += f->splits[s].n, s++)
        for (int k = 0; k < f->splits[s].n && f->splits[s].n + 1 <= PIPE_TEXT_MAX - 8; k++) {
            float pm = jprobs[g0 + k][JUDGE_MERGED];
            int i;
            if (pm < PAIR_SPLIT_GATE ||
                (nv == PAIR_SPLITS && pm <= jprobs[cg[PAIR_SPLITS - 1]][JUDGE_MERGED]))
                continue;
            i = nv < PAIR_SPLITS ? nv++ : PAIR_SPLITS - 1;
            while (i > 0 && jprobs[cg[i - 1]][JUDGE_MERGED] < pm) {
                cs[i] = cs[i - 1];
                c0[i] = c0[i - 1];
                cg[i] = cg[i - 1];
                i--;
            }
            cs[i] = s;
            c0[i] = g0;
            cg[i] = g0 + k;
        }
    if (nv == 0)
        return -1;
    for (int v = 0; v < nv; v++)
        gsum += f->splits[cs[v]].n + 1;
    ng2 = ng + gsum;
    sp2 = malloc(((size_t)f->n_splits + (size_t)nv) * sizeof *sp2);
    gl = malloc((size_t)gsum * sizeof *gl);
    qp2 = malloc((size_t)ng2 * sizeof *qp2);
    cp2 = malloc((size_t)ng2 * sizeof *cp2);
    jp2 = malloc((size_t)ng2 * sizeof *jp2);
    if (!sp2 || !gl || !qp2 || !cp2 || !jp2)
        goto done;
    memcpy(sp2, f->splits, (size_t)f->n_splits * sizeof *sp2);
    for (int j = 0; j < ng; j++) {
        qp2[j] = qp[j];
        cp2[j] = cprobs ? cprobs[j] : NULL;
        jp2[j] = jprobs[j];
    }
    for (int v = 0, j = ng, o = 0; v < nv; v++) {
        const seg_split *src = &f->splits[cs[v]];
        int g0 = c0[v], n0 = src->n, k = cg[v] - g0; /* k: the glyph read as two, in src */
        float pm = jprobs[cg[v]][JUDGE_MERGED];
        seg_split *sp = &sp2[f->n_splits + v];
        fj[v][0] = sqrtf(pm);
        fj[v][JUDGE_MERGED] = 1.0f - sqrtf(pm); /* the two: log P(merged) in all */
        fj[v][JUDGE_PIECE] = 0;
        sp->n = n0 + 1;
        sp->glyphs = gl + o;
        sp->prior = (float)(src->prior * PAIR_SPLIT_PRIOR);
        sp->n_int = src->n_int >= n0 ? n0 + 1 : src->n_int + (k < src->n_int);
        for (int i = 0; i < n0; i++) {
            if (i != k) {
                gl[o++] = src->glyphs[i];
                qp2[j] = qp[g0 + i];
                cp2[j] = cprobs ? cprobs[g0 + i] : NULL;
                jp2[j++] = jprobs[g0 + i];
                continue;
            }
            gl[o] = src->glyphs[i]; /* the box halved, the crop whole */
            gl[o].w = (src->glyphs[i].w + 1) / 2;
            gl[o + 1] = src->glyphs[i];
            gl[o + 1].x += gl[o].w;
            gl[o + 1].w = src->glyphs[i].w - gl[o].w > 0 ? src->glyphs[i].w - gl[o].w : 1;
            qp2[j] = cp2[j] = lprobs[g0 + i];
            qp2[j + 1] = cp2[j + 1] = rprobs[g0 + i];
            jp2[j] = jp2[j + 1] = fj[v];
            o += 2, j += 2;
        }
    }
    f2 = *f;
    f2.splits = sp2;
    f2.n_splits = f->n_splits + nv;
    assemble(&f2, qp2, cprobs ? cp2 : NULL, jp2, rules, review_below, out, digits);
    rc = 0;
done:
    free(sp2);
    free(gl);
    free(qp2);
    free(cp2);
    free(jp2);
    return rc;
}

void pipe_assemble_field_judged(const seg_field *f, const float *const *gprobs,
                                const float *const *cprobs, const float *const *jprobs,
                                const float *const *lprobs, const float *const *rprobs,
                                const pipe_rules *rules, double review_below, pipe_read *out,
                                db_digit *digits)
{
    float qs[READ_STACK_GLYPHS][10], *q = &qs[0][0];
    const float *qps[READ_STACK_GLYPHS], **qp = qps;
    int ng = pipe_field_glyphs(f), paired = lprobs && rprobs;

    if ((cprobs || paired) && ng > READ_STACK_GLYPHS) {
        q = malloc((size_t)ng * 10 * sizeof *q);
        qp = malloc((size_t)ng * sizeof *qp);
    }
    if ((!cprobs && !paired) || ng == 0 || !q || !qp) { /* the model's alone (or no memory) */
        assemble(f, gprobs, cprobs, jprobs, rules, review_below, out, digits);
    } else {
        for (int j = 0; j < ng; j++) {
            if (cprobs)
                pipe_combine_probs(gprobs[j], cprobs[j], q + 10 * j);
            else
                memcpy(q + 10 * j, gprobs[j], 10 * sizeof *q);
            qp[j] = q + 10 * j;
        }
        if (paired)
            (void)pipe_pair_reread(f, lprobs, rprobs, jprobs, q); /* no memory: as read */
        if (!paired || !jprobs ||
            assemble_paired(f, qp, cprobs, jprobs, lprobs, rprobs, rules, review_below, out,
                            digits) != 0)
            assemble(f, qp, cprobs, jprobs, rules, review_below, out, digits);
    }
    if (q != &qs[0][0])
        free(q);
    if (qp != qps)
        free(qp);
}

/* pipe_assemble_field_judged with gprobs the probabilities read. */
static void assemble(const seg_field *f, const float *const *gprobs, const float *const *cprobs,
                     const float *const *jprobs, const pipe_rules *rules, double review_below,
                     pipe_read *out, db_digit *digits)
{
    double best = -INFINITY, total = 0, conf, log_p = 0, margin = CONF_MARGIN_MAX, z, judged;
    int disagree = -1; /* the first digit the checker reads otherwise */
    int base = 0, best_k = 0, best_base = 0, labels[PIPE_TEXT_MAX], read[PIPE_TEXT_MAX];
    const seg_split *s;
    double scores[64], ck[64], jm[64]; /* jm: the judge's sum of log(1 - P(merged)) */
    int ns = f->n_splits < 64 ? f->n_splits : 64;

    memset(out, 0, sizeof *out);
    out->status = DB_FIELD_OK;
    for (int k = 0; k < ns; k++) {
        const seg_split *sp = &f->splits[k];
        double sc = log(sp->prior > 1e-6f ? (double)sp->prior : 1e-6) + SPLIT_GLYPH_BONUS * sp->n;
        sc += pipe_read_split(f->type, sp, rules, gprobs + base, read);
        ck[k] = 0; /* the checker's word on the same labels, the judge's on pieces */
        jm[k] = 0;
        for (int i = 0; cprobs && i < sp->n && i < PIPE_TEXT_MAX; i++)
            ck[k] += CHECK_SPLIT_WEIGHT * log_prob(cprobs[base + i][read[i]]);
        for (int i = 0; jprobs && i < sp->n; i++) { /* the judge's */
            jm[k] += log_prob(1.0f - jprobs[base + i][JUDGE_MERGED]);
            ck[k] += JUDGE_PIECE_WEIGHT * log_prob(1.0f - jprobs[base + i][JUDGE_PIECE]);
        }
        sc += JUDGE_SPLIT_WEIGHT * jm[k];
        sc += ck[k];
        if (!in_range(rules, sp->n) && sp->n > 0)
            sc += RANGE_LOG_PENALTY;
        if (f->type == SEG_FT_AMOUNT && rules && rules->known && sp->n_int < sp->n &&
            sp->n - sp->n_int != rules->cents)
            sc += RANGE_LOG_PENALTY; /* cents of another length than the form's */
        scores[k] = sc;
        if (sc > best) {
            best = sc;
            best_k = k;
            best_base = base;
            /* the chosen split's reading */
            memcpy(labels, read, (size_t)(sp->n < PIPE_TEXT_MAX ? sp->n : PIPE_TEXT_MAX) *
                                     sizeof *read);
        }
        base += sp->n;
    }
    if (ns == 0) {
        out->split = -1;
        out->confidence = 0;
        out->status = DB_FIELD_REVIEW;
        snprintf(out->why, sizeof out->why, "no reading");
        return;
    }
    for (int k = 0; k < ns; k++) /* S from the scores without the glyph bonus, the checker */
        total += exp((scores[k] - ck[k] - SPLIT_GLYPH_BONUS * f->splits[k].n) -
                     (best - ck[best_k] - SPLIT_GLYPH_BONUS * f->splits[best_k].n));
    s = &f->splits[best_k];
    judged = jm[best_k];
    out->split = best_k;
    out->n = s->n < PIPE_TEXT_MAX - 8 ? s->n : PIPE_TEXT_MAX - 8;
    conf = 1.0 / total; /* S: the chosen split's share, times the rule factors below */
    for (int i = 0; i < out->n; i++) {
        const float *p = gprobs[best_base + i];
        const seg_glyph *g = &s->glyphs[i];
        db_digit *d = &digits[i];
        int a = labels[i], b, top, second;
        top2(p, &top, &second);
        b = a == top ? second : top; /* the runner-up: the best other class */
        log_p += log_prob(p[a]);
        z = log_prob(p[a]) - log_prob(p[b]);
        margin = z < margin ? z : margin;
        memset(d, 0, sizeof *d);
        d->pos = i;
        d->label = a;
        d->prob = p[a];
        d->label2 = b;
        d->prob2 = p[b];
        d->x = g->x, d->y = g->y, d->w = g->w, d->h = g->h;
        d->has_crop = 1;
        memcpy(d->crop, g->crop, DB_CROP_PIXELS);
        if (cprobs) {
            d->has_check = 1;
            d->check_prob = cprobs[best_base + i][a];
            if (d->check_prob < CHECK_DISAGREE && disagree < 0)
                disagree = i;
        }
    }
    if (out->n == 0)
        log_p = log(EMPTY_CONF);
    if (out->n > 0 && !in_range(rules, out->n)) {
        conf *= RANGE_CONF_FACTOR;
        snprintf(out->why, sizeof out->why, "%d digits, the form allows %d..%d", out->n,
                 rules->min_digits, rules->max_digits);
    }

    switch (f->type) {
    case SEG_FT_AMOUNT: {
        int n_int = pipe_amount_int_digits(s, rules);
        /* The form's box holds cents (a check's numeric amount always has
         * them) but no point or raised cents were found: the last digits
         * are taken as the cents, and the reading goes to review. */
        if (n_int < out->n && s->n_int >= s->n) {
            conf *= NO_POINT_FACTOR;
            if (!out->why[0])
                snprintf(out->why, sizeof out->why, "decimal point assumed");
        }
        out->has_value = pipe_amount_text(labels, out->n, n_int, out->text, sizeof out->text,
                                          &out->cents);
        if (out->n > 0 && !out->has_value && !out->why[0])
            snprintf(out->why, sizeof out->why, "not an amount");
        break;
    }
    case SEG_FT_POSTCODE:
        out->has_value_text = pipe_postcode_text(labels, out->n, out->text, sizeof out->text);
        if (out->has_value_text)
            snprintf(out->value_text, sizeof out->value_text, "%s", out->text);
        else if (out->n > 0 && !out->why[0])
            snprintf(out->why, sizeof out->why, "not a 5- or 9-digit postcode");
        break;
    case SEG_FT_DATE:
        for (int i = 0; i < out->n; i++)
            out->text[i] = (char)('0' + labels[i]);
        out->text[out->n] = '\0';
        out->has_value_text = pipe_date_value(out->text, out->value_text, sizeof out->value_text);
        if (out->n > 0 && !out->has_value_text && !out->why[0])
            snprintf(out->why, sizeof out->why, "not a date MMDDYYYY");
        break;
    default:
        for (int i = 0; i < out->n; i++)
            out->text[i] = (char)('0' + labels[i]);
        out->text[out->n] = '\0';
        if (out->n > 0) {
            out->has_value_text = 1;
            snprintf(out->value_text, sizeof out->value_text, "%s", out->text);
        }
        break;
    }
    if (out->n > 0 && !out->has_value && !out->has_value_text)
        conf *= NO_PARSE_FACTOR;
    z = CONF_BIAS + CONF_TYPE[f->type >= 0 && f->type < SEG_FT_COUNT ? f->type : SEG_FT_COUNT - 1] +
        CONF_LP * log_p + CONF_LS * log(conf > 1e-300 ? conf : 1e-300) +
        CONF_MARGIN * (margin > 0 ? margin : 0) + CONF_PIECES * (f->doubt_kind == SEG_DOUBT_PIECES) +
        JUDGE_CONF_WEIGHT * judged;
    conf = 1.0 / (1.0 + exp(-z));
    if (disagree >= 0) {
        conf *= CHECK_FACTOR;
        if (!out->why[0])
            snprintf(out->why, sizeof out->why, "the checker reads digit %d otherwise",
                     disagree + 1);
    }
    out->confidence = conf;
    if (conf < review_below || out->why[0])
        out->status = DB_FIELD_REVIEW;
}
