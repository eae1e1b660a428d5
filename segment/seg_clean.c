/*
 * seg_clean.c - skew finding and undoing, background normalization and
 * binarization (see seg_clean.h).
 *
 * Binarization in one pass over the page: the background is estimated on a
 * small copy (area-averaged to 1/8 at 300 dpi, then a gray closing removes
 * the ink), its values turned into three thresholds per background cell
 * (dark, seed and grow), and the full-resolution page compared against
 * them in a single loop that writes the three 1 bpp masks; a seed fill
 * keeps the grown pixels connected to seeds.  Leptonica's
 * pixBackgroundNorm* followed by thresholding would write a normalized
 * 8 bpp page first and read it again for each threshold, about 3x the time
 * for the same result.
 */
#include "seg_clean.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "seg_clean.c: threshold_two() assumes a little-endian machine"
#endif

static int lept_quiet(void) { return setMsgSeverity(L_SEVERITY_NONE); }
static void lept_restore(int sev) { setMsgSeverity(sev); }

/* ------------------------------------------------------------ binarization */

seg_bin_params seg_bin_params_default(void)
{
    seg_bin_params p;

    p.reduction = 8;
    p.close_in = 0.15;
    p.strong = 0.78;
    p.weak = 0.86;
    p.dark = 0.5;
    return p;
}

/* The largest power of two up to 1.5 x, within [1, 32]: 8 at 200 and 300
 * dpi, 4 at 150, 16 at 400 and 600 (for reduction 8). */
static int pow2_reduction(double x)
{
    int r = 1;

    while (r < 32 && 2 * r <= 1.5 * x)
        r *= 2;
    return r;
}

/*
 * The 32 bits of one destination word from 32 source bytes in memory order
 * and their thresholds in the same order: a bit is set where the pixel is
 * darker than its threshold.  Leptonica keeps pixels in 32-bit words, the
 * first pixel in the most significant byte or bit; on a little-endian
 * machine pixel x lies at byte x ^ 3 of its row, and comparing in memory
 * order gives bit m for the byte at m, which must land on bit
 * 31 - (m ^ 3) = (31 - m) ^ 3: the byte order reversed, then the two
 * nibbles of each byte swapped.
 */
static inline l_uint32 pack_less(const uint8_t *px, const uint8_t *th)
{
    uint32_t m = 0;

#if defined(__AVX2__)
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    __m256i a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)px), bias);
    __m256i b = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)th), bias);
    m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(b, a)); /* px < th, unsigned */
#else
    for (int k = 0; k < 32; k++)
        m |= (uint32_t)(px[k] < th[k]) << k;
#endif
    m = __builtin_bswap32(m);
    return ((m >> 4) & 0x0f0f0f0fu) | ((m & 0x0f0f0f0fu) << 4);
}

/*
 * Compares src8 against the per-cell thresholds t[0..2] (maps of mw x mh
 * cells of red x red pixels, the last row and column extended) and writes
 * the masks out[0..2]: bit set where the pixel is darker than the
 * threshold.  rows: scratch of 3 * 32 * wpl(out[0]) + 32 bytes.
 */
static void threshold_masks(PIX *src8, const uint8_t *const t[3], int mw, int mh, int red,
                            PIX *const out[3], uint8_t *rows)
{
    int w = pixGetWidth(src8), h = pixGetHeight(src8);
    int wpls = pixGetWpl(src8), wpld = pixGetWpl(out[0]);
    int nb = wpld * 32, full = (wpls * 4) / 32; /* whole 32-byte chunks in a source row */
    const l_uint32 *sdata = pixGetData(src8);
    uint8_t *tail = rows + 3 * nb;
    int cur = -1;

    for (int y = 0; y < h; y++) {
        int my = y / red < mh ? y / red : mh - 1;
        const uint8_t *line = (const uint8_t *)(sdata + (size_t)y * wpls);
        l_uint32 *l0 = pixGetData(out[0]) + (size_t)y * wpld;
        l_uint32 *l1 = pixGetData(out[1]) + (size_t)y * wpld;
        l_uint32 *l2 = pixGetData(out[2]) + (size_t)y * wpld;

        if (my != cur) { /* this map row's thresholds, per pixel, in memory order */
            for (int k = 0; k < 3; k++) {
                const uint8_t *c = t[k] + (size_t)my * mw;
                uint8_t *r = rows + k * nb;
                if (red >= 4) {
                    /* Cells span whole 4-byte groups, so memory order is
                     * pixel order: runs of red bytes, the last cell extended. */
                    memset(r, 0, (size_t)nb);
                    for (int mx = 0; mx < mw; mx++) {
                        int x0 = mx * red, n = mx == mw - 1 ? w - x0 : red;
                        memset(r + x0, c[mx], (size_t)n);
                    }
                    if ((w & 3) != 0) { /* a partial last group: its pixels swapped */
                        memset(r + (w & ~3), 0, 4);
                        for (int x = w & ~3; x < w; x++)
                            r[x ^ 3] = c[mw - 1];
                    }
                } else {
                    for (int m = 0; m < nb; m++) {
                        int x = m ^ 3, mx = x / red < mw ? x / red : mw - 1;
                        r[m] = x < w ? c[mx] : 0;
                    }
                }
            }
            cur = my;
        }
        for (int j = 0; j < wpld; j++) {
            const uint8_t *px = line + j * 32;
            if (j >= full) { /* the row's last bytes: copy, never read past it */
                int n = wpls * 4 - j * 32;
                memset(tail, 255, 32);
                memcpy(tail, px, (size_t)(n < 32 ? n : 32));
                px = tail;
            }
            l0[j] = pack_less(px, rows + j * 32);
            l1[j] = pack_less(px, rows + nb + j * 32);
            l2[j] = pack_less(px, rows + 2 * nb + j * 32);
        }
    }
}

int seg_binarize_with(PIX *src8, int dpi, const seg_bin_params *pp, PIX **pdst1)
{
    seg_bin_params p = pp ? *pp : seg_bin_params_default();
    PIX *red = NULL, *bg = NULL, *mk[3] = { NULL, NULL, NULL }, *out = NULL;
    uint8_t *th[3] = { NULL, NULL, NULL }, *rows = NULL;
    int rc = UTIL_OK, sev, w, h, r, size, mw, mh;
    l_uint32 median = 0;
    double floor_v;

    *pdst1 = NULL;
    if (!src8 || pixGetDepth(src8) != 8 || pixGetColormap(src8)) {
        util_log(UTIL_LOG_ERROR, "seg_binarize: the page must be 8 bpp gray without colormap");
        return UTIL_EINVAL;
    }
    if (dpi < 50 || dpi > 2400 || !(p.strong > 0 && p.strong <= p.weak && p.weak < 1.5) ||
        !(p.dark >= 0 && p.dark <= p.strong) || !(p.close_in > 0 && p.close_in < 2) || p.reduction < 1 ||
        p.reduction > 32) {
        util_log(UTIL_LOG_ERROR, "seg_binarize: bad resolution (%d dpi) or parameters", dpi);
        return UTIL_EINVAL;
    }
    sev = lept_quiet();
    w = pixGetWidth(src8);
    h = pixGetHeight(src8);
    r = pow2_reduction(p.reduction * dpi / 300.0);
    while (r > 1 && (w < 2 * r || h < 2 * r))
        r /= 2;

    /* The background on a small copy: area averaging, then a closing. */
    red = pixClone(src8);
    for (int k = 1; k < r && red; k *= 2) {
        PIX *half = pixScaleAreaMap2(red);
        pixDestroy(&red);
        red = half;
    }
    if (!red)
        goto nomem;
    size = 2 * (int)lround(p.close_in * dpi / r / 2.0) + 1;
    if (size < 3)
        size = 3;
    bg = pixCloseGray(red, size, size);
    if (!bg)
        goto nomem;
    mw = pixGetWidth(bg);
    mh = pixGetHeight(bg);
    if (pixGetRankValue(bg, 1, 0.5f, &median) != 0)
        goto nomem;
    floor_v = p.dark * (double)median;

    /* Thresholds per background cell: dark, strong (seed), weak (grow). */
    for (int k = 0; k < 3; k++)
        if (!(th[k] = malloc((size_t)mw * mh)))
            goto nomem;
    for (int y = 0; y < mh; y++) {
        const l_uint32 *line = pixGetData(bg) + (size_t)y * pixGetWpl(bg);
        for (int x = 0; x < mw; x++) {
            double b = GET_DATA_BYTE(line, x);
            double v[3] = { p.dark * b, p.strong * b, p.weak * b };
            for (int k = 0; k < 3; k++) {
                if (k > 0 && v[k] < floor_v)
                    v[k] = floor_v;
                th[k][(size_t)y * mw + x] = (uint8_t)(v[k] > 255 ? 255 : lround(v[k]));
            }
        }
    }

    for (int k = 0; k < 3; k++)
        if (!(mk[k] = pixCreate(w, h, 1)))
            goto nomem;
    rows = malloc((size_t)pixGetWpl(mk[0]) * 32 * 3 + 32);
    if (!rows)
        goto nomem;
    threshold_masks(src8, (const uint8_t *const *)th, mw, mh, r, mk, rows);
    /* Seeds: strong pixels in 2 x 2 blocks (lone noise pixels are not),
     * and every dark pixel (hairlines). */
    if (dpi >= 150) {
        PIX *core = pixErodeBrick(NULL, mk[1], 2, 2);
        if (!core)
            goto nomem;
        pixDestroy(&mk[1]);
        mk[1] = core;
    }
    pixOr(mk[1], mk[1], mk[0]);
    out = pixSeedfillBinary(NULL, mk[1], mk[2], 8);
    if (!out)
        goto nomem;
    pixCopyResolution(out, src8);
    *pdst1 = out;
    out = NULL;
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "seg_binarize: out of memory for a %d x %d page", w, h);
    rc = UTIL_ENOMEM;
done:
    lept_restore(sev);
    pixDestroy(&red);
    pixDestroy(&bg);
    pixDestroy(&out);
    for (int k = 0; k < 3; k++) {
        pixDestroy(&mk[k]);
        free(th[k]);
    }
    free(rows);
    return rc;
}

int seg_binarize(PIX *src8, int dpi, PIX **pdst1) { return seg_binarize_with(src8, dpi, NULL, pdst1); }

/* ------------------------------------------------------------ skew */

int seg_find_skew(PIX *pix, double max_deg, double *pangle, double *pconf)
{
    PIX *bin = NULL, *half = NULL;
    l_float32 angle = 0, conf = 0, endscore = 0;
    int rc = UTIL_OK, sev, d, dpi, redsweep, redsearch, empty = 1, failed;

    *pangle = 0;
    *pconf = 0;
    d = pix ? pixGetDepth(pix) : 0;
    if ((d != 1 && d != 8) || (d == 8 && pixGetColormap(pix))) {
        util_log(UTIL_LOG_ERROR, "seg_find_skew: the page must be 1 bpp or 8 bpp gray");
        return UTIL_EINVAL;
    }
    if (!(max_deg >= 0.5 && max_deg <= 45)) {
        util_log(UTIL_LOG_ERROR, "seg_find_skew: the range must be 0.5 .. 45 degrees, not %g", max_deg);
        return UTIL_EINVAL;
    }
    if (pixGetWidth(pix) < 32 || pixGetHeight(pix) < 32)
        return UTIL_OK; /* too small to measure: no skew */
    sev = lept_quiet();
    if (d == 1) {
        bin = pixClone(pix);
        redsweep = 8; /* sweep at 1/8, binary search at 1/2 */
        redsearch = 2;
    } else {
        /* Binarize a half-size copy; then sweep at 1/2 of it, search on it. */
        dpi = pixGetXRes(pix);
        if (dpi < 50 || dpi > 2400)
            dpi = 300;
        half = pixScaleAreaMap2(pix);
        if (!half) {
            rc = UTIL_ENOMEM;
            util_log(UTIL_LOG_ERROR, "seg_find_skew: out of memory");
            goto done;
        }
        lept_restore(sev);
        rc = seg_binarize(half, dpi / 2 < 50 ? 50 : dpi / 2, &bin);
        sev = lept_quiet();
        if (rc != UTIL_OK)
            goto done;
        redsweep = 4; /* of the half-size copy: 1/8 and 1/2 again */
        redsearch = 1;
    }
    pixZero(bin, &empty);
    if (empty)
        goto done; /* blank: no skew, confidence 0 */
    failed = pixFindSkewSweepAndSearchScorePivot(bin, &angle, &conf, &endscore, redsweep, redsearch,
                                                 0.0f, (l_float32)(max_deg + 1.0), 1.0f, 0.01f,
                                                 L_SHEAR_ABOUT_CORNER);
    *pconf = failed ? 0 : conf;
    if (!failed && conf >= SEG_SKEW_MIN_CONF && fabs(angle) <= max_deg + 0.25)
        *pangle = angle;
done:
    lept_restore(sev);
    pixDestroy(&bin);
    pixDestroy(&half);
    return rc;
}

int seg_rotate(PIX *pix, double angle, int fast, PIX **pdst)
{
    PIX *out = NULL;
    int sev, d, type;
    l_float32 rad;

    *pdst = NULL;
    if (!pix || !isfinite(angle) || fabs(angle) > 45) {
        util_log(UTIL_LOG_ERROR, "seg_rotate: no page, or an angle beyond 45 degrees");
        return UTIL_EINVAL;
    }
    sev = lept_quiet();
    d = pixGetDepth(pix);
    rad = (l_float32)(angle * M_PI / 180.0);
    if (fabs(angle) < 0.05) {
        out = pixCopy(NULL, pix);
    } else if ((d == 1 || fast) && fabs(angle) <= 28) {
        /* Two shears up to 3.4 degrees, three beyond (pixRotate would
         * sample 1 bpp beyond 3.4 degrees: ten times slower). */
        out = pixRotateShearCenter(pix, rad, L_BRING_IN_WHITE);
    } else {
        type = d == 1 || fast ? L_ROTATE_SAMPLING : L_ROTATE_AREA_MAP;
        out = pixRotate(pix, rad, type, L_BRING_IN_WHITE, 0, 0);
    }
    if (out == pix) { /* a clone */
        pixDestroy(&out);
        out = pixCopy(NULL, pix);
    }
    lept_restore(sev);
    if (!out) {
        util_log(UTIL_LOG_ERROR, "seg_rotate: out of memory rotating a %d x %d page", pixGetWidth(pix),
                 pixGetHeight(pix));
        return UTIL_ENOMEM;
    }
    *pdst = out;
    return UTIL_OK;
}

void seg_skew_map(double angle, int w, int h, double x, double y, double *px, double *py)
{
    /* Clockwise by angle on a page whose y axis points down. */
    double t = angle * M_PI / 180.0, c = cos(t), s = sin(t);
    double dx = x - (double)(w / 2), dy = y - (double)(h / 2);

    *px = (double)(w / 2) + dx * c - dy * s;
    *py = (double)(h / 2) + dx * s + dy * c;
}

int seg_deskew(PIX *src8, double max_deg, PIX **pdst, double *pangle, double *pconf)
{
    int rc;

    *pdst = NULL;
    *pangle = 0;
    *pconf = 0;
    if (!src8 || pixGetDepth(src8) != 8) {
        util_log(UTIL_LOG_ERROR, "seg_deskew: the page must be 8 bpp gray");
        return UTIL_EINVAL;
    }
    rc = seg_find_skew(src8, max_deg, pangle, pconf);
    if (rc == UTIL_OK)
        rc = seg_rotate(src8, *pangle, 0, pdst);
    return rc;
}

/* ------------------------------------------------------------ patterns */

/* Otsu's threshold of a histogram: the gray level t splitting it into
 * [0, t) and [t, 256) with the largest between-class variance; 0 when all
 * values are one. */
static int otsu_level(const double *hist)
{
    double n = 0, sum = 0, wb = 0, sumb = 0, best = -1;
    int t = 0;

    for (int v = 0; v < 256; v++) {
        n += hist[v];
        sum += v * hist[v];
    }
    for (int v = 0; v < 255; v++) {
        double mb, mf, s;
        wb += hist[v];
        sumb += v * hist[v];
        if (wb == 0 || wb == n)
            continue;
        mb = sumb / wb;
        mf = (sum - sumb) / (n - wb);
        s = wb * (n - wb) * (mb - mf) * (mb - mf);
        if (s > best) {
            best = s;
            t = v + 1;
        }
    }
    return t;
}

/* The pattern of the ink b (gray values g) whose pixels at and above
 * gray t are light, as seg_unpattern() tells it (far, lighter by 60, 60 %
 * thin): *pfar the thin far pixels and *pn_thin their count, or *pfar
 * NULL when they are no pattern. */
static int pattern_at(PIX *b, PIX *g, int t, int dpi, PIX **pfar, int *pn_thin)
{
    PIX *d = NULL, *near = NULL, *far = NULL, *thick = NULL;
    l_int32 bw = pixGetWidth(b), bh = pixGetHeight(b), n_far = 0, n_thin = 0;
    l_float32 mean_far = 0.0f, mean_d = 0.0f;
    int r = (int)lround(0.01 * dpi), k = dpi >= 250 ? 3 : 2, rc = UTIL_OK;

    *pfar = NULL;
    *pn_thin = 0;
    r = r < 1 ? 1 : r;
    if (!(d = pixThresholdToBinary(g, t)) || !pixAnd(d, d, b) ||
        !(near = pixDilateBrick(NULL, d, 2 * r + 1, 2 * r + 1)) || !(far = pixSubtract(NULL, b, near)))
        goto nomem;
    pixCountPixels(far, &n_far, NULL);
    if (n_far < 0.003 * (double)bw * bh)
        goto done;
    if (pixGetAverageMasked(g, far, 0, 0, 1, L_MEAN_ABSVAL, &mean_far) ||
        pixGetAverageMasked(g, d, 0, 0, 1, L_MEAN_ABSVAL, &mean_d) || mean_far - mean_d < 60)
        goto done;
    if (!(thick = pixOpenBrick(NULL, far, k, k)))
        goto nomem;
    pixSubtract(far, far, thick);
    pixCountPixels(far, &n_thin, NULL);
    if (n_thin < 0.6 * n_far)
        goto done;
    *pfar = far;
    *pn_thin = n_thin;
    far = NULL;
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "seg_unpattern: out of memory");
    rc = UTIL_ENOMEM;
done:
    pixDestroy(&d);
    pixDestroy(&near);
    pixDestroy(&far);
    pixDestroy(&thick);
    return rc;
}

/*
 * The ink pixels of the box split by Otsu's threshold on their gray values
 * into dark and light ones; light pixels farther than r = 0.01 in from any
 * dark one are "far".  Far pixels are a pattern when they cover at least
 * 0.3 % of the box, are on average at least 60 gray levels lighter than the
 * dark ones, and at least 60 % of them are thin: gone after an opening by a
 * k x k brick (k = 3 at 250 dpi and over, 2 below), which a pen or pencil
 * stroke survives but a guilloche or hatch line does not.  Those thin far
 * pixels are removed.  Where the split finds no pattern, the light side
 * is split again by Otsu's threshold and the same tests made there: in a
 * box whose printed frame is the darkest ink, the first split sets the
 * frame apart from pencil and pattern together (a soft pencil over a
 * check's waves: seed 7's and seed 3's fields of 13 and 4 "digits" counted
 * right).  Ink lighter than a pattern line and as thin as one
 * is lost with it: the price of reading checks whose pattern binarization
 * kept.  A bilevel scan (one gray value under the ink) is left alone.
 */
int seg_unpattern(PIX *bin1, PIX *src8, const BOX *box, int dpi, int *premoved)
{
    PIX *b = NULL, *g = NULL, *far = NULL;
    BOX *clip = NULL;
    NUMA *na = NULL;
    l_int32 bw, bh, n_on = 0;
    double hist[256] = {0};
    int rc = UTIL_OK, sev, t, n_thin = 0;

    *premoved = 0;
    if (!bin1 || pixGetDepth(bin1) != 1 || !src8 || pixGetDepth(src8) != 8 ||
        pixGetWidth(src8) != pixGetWidth(bin1) || pixGetHeight(src8) != pixGetHeight(bin1) || !box ||
        dpi < 50 || dpi > 2400) {
        util_log(UTIL_LOG_ERROR, "seg_unpattern: a 1 bpp page, an 8 bpp page of the same size, a "
                                 "box and a dpi in 50..2400 are needed");
        return UTIL_EINVAL;
    }
    sev = lept_quiet();
    if (!(clip = boxClipToRectangle((BOX *)box, pixGetWidth(bin1), pixGetHeight(bin1))))
        goto done; /* off the page: nothing to do */
    if (!(b = pixClipRectangle(bin1, clip, NULL)) || !(g = pixClipRectangle(src8, clip, NULL)))
        goto nomem;
    pixGetDimensions(b, &bw, &bh, NULL);
    if (!(na = pixGetGrayHistogramMasked(g, b, 0, 0, 1)))
        goto nomem;
    for (int v = 0; v < 256 && v < numaGetCount(na); v++) {
        l_float32 c = 0.0f;
        numaGetFValue(na, v, &c);
        hist[v] = c;
        n_on += (l_int32)c;
    }
    if (n_on < 50 || (t = otsu_level(hist)) == 0)
        goto done;
    if ((rc = pattern_at(b, g, t, dpi, &far, &n_thin)))
        goto done;
    if (!far) {
        /* the split may have set the printed frame apart from all the
         * rest: split the lighter side again */
        double light[256] = {0};
        int t2;
        memcpy(light + t, hist + t, (size_t)(256 - t) * sizeof *light);
        if ((t2 = otsu_level(light)) > t && (rc = pattern_at(b, g, t2, dpi, &far, &n_thin)))
            goto done;
    }
    if (!far)
        goto done;
    pixSubtract(b, b, far);
    pixRasterop(bin1, clip->x, clip->y, bw, bh, PIX_SRC, b, 0, 0);
    *premoved = n_thin;
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "seg_unpattern: out of memory");
    rc = UTIL_ENOMEM;
done:
    lept_restore(sev);
    numaDestroy(&na);
    boxDestroy(&clip);
    pixDestroy(&b);
    pixDestroy(&g);
    pixDestroy(&far);
    return rc;
}
