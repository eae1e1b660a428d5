/*
 * seg_mnist.c - MNIST normalization of one digit's ink: stroke width
 * estimate and correction, area-mapped scaling to a 20-pixel box, and
 * centering by the center of mass in 28 x 28.  See seg_mnist.h.
 */
#include "seg_mnist.h"

#include <math.h>
#include <string.h>

#include "util/util.h"

#define BOX_SIDE 20      /* the digit's larger side in the crop */
#define CROP_SIDE 28
#define COM_TARGET 14.0f /* MNIST's mean center of mass, in pixel indices */

static int stroke_ratio(PIX *glyph1, float *pratio)
{
    PIX *pad = NULL, *er = NULL;
    l_int32 ink = 0, inner = 0, w, h;
    int rc = UTIL_OK;

    *pratio = 0.0f;
    if (!glyph1 || pixGetDepth(glyph1) != 1) {
        util_log(UTIL_LOG_ERROR, "seg_mnist_stroke_ratio: a 1-bpp glyph is needed");
        return UTIL_EINVAL;
    }
    pixGetDimensions(glyph1, &w, &h, NULL);
    /* A one-pixel background border, so the image edge counts as background. */
    pad = pixAddBorder(glyph1, 1, 0);
    er = pad ? pixErodeBrick(NULL, pad, 3, 3) : NULL;
    if (!er || pixCountPixels(pad, &ink, NULL) || pixCountPixels(er, &inner, NULL)) {
        util_log(UTIL_LOG_ERROR, "seg_mnist_stroke_ratio: out of memory");
        rc = UTIL_ENOMEM;
        goto done;
    }
    if (ink > 0) {
        BOX *bb = NULL;
        l_int32 bw = w, bh = h;
        if (pixClipToForeground(glyph1, NULL, &bb) == 0 && bb) {
            boxGetGeometry(bb, NULL, NULL, &bw, &bh);
            boxDestroy(&bb);
        }
        *pratio = (float)(2.0 * ink / (double)(ink - inner)) / (float)(bw > bh ? bw : bh);
    }
done:
    pixDestroy(&er);
    pixDestroy(&pad);
    return rc;
}

/* The ink of glyph1 with its strokes moved toward MNIST's width: a new
 * image in *pout (a clone when nothing changes).  A brick of size d + 1
 * changes the stroke width by about d; an erosion that would break the
 * glyph into more pieces is made smaller. */
static int adjust_stroke(PIX *glyph1, PIX **pout)
{
    float ratio = 0.0f;
    l_int32 w, h, side, d, n0 = 0, n1 = 0;
    PIX *pad = NULL;
    int rc;

    *pout = NULL;
    rc = stroke_ratio(glyph1, &ratio);
    if (rc)
        return rc;
    pixGetDimensions(glyph1, &w, &h, NULL);
    side = w > h ? w : h;
    d = (l_int32)lroundf((SEG_MNIST_STROKE_RATIO - ratio) * (float)side);
    if (ratio <= 0.0f || d == 0) {
        *pout = pixClone(glyph1);
        return UTIL_OK;
    }
    if (d > 0) {
        pad = pixAddBorder(glyph1, d + 1, 0); /* room for the dilation */
        *pout = pad ? pixDilateBrick(NULL, pad, d + 1, d + 1) : NULL;
        pixDestroy(&pad);
    } else {
        /* The strongest erosion up to -d that keeps the glyph in one piece
         * per piece it had. */
        if (pixCountConnComp(glyph1, 8, &n0))
            n0 = 0;
        for (l_int32 e = -d; e >= 1 && !*pout; e--) {
            PIX *er = pixErodeBrick(NULL, glyph1, e + 1, e + 1);
            if (!er)
                break;
            if (pixCountConnComp(er, 8, &n1) == 0 && n1 > 0 && n1 <= n0)
                *pout = er;
            else
                pixDestroy(&er);
        }
        if (!*pout)
            *pout = pixClone(glyph1);
    }
    if (!*pout) {
        util_log(UTIL_LOG_ERROR, "seg_mnist_normalize: out of memory adjusting strokes");
        return UTIL_ENOMEM;
    }
    return UTIL_OK;
}

static int normalize(PIX *glyph1, int adjust, uint8_t dst[784])
{
    PIX *adj = NULL, *ink = NULL, *gray = NULL, *small = NULL;
    BOX *bb = NULL;
    l_int32 bw, bh, sw, sh, wpl;
    l_uint32 *data;
    double sum = 0.0, sx = 0.0, sy = 0.0;
    int rc = UTIL_OK, dx, dy;
    float scale;

    memset(dst, 0, CROP_SIDE * CROP_SIDE);
    if (!glyph1 || pixGetDepth(glyph1) != 1) {
        util_log(UTIL_LOG_ERROR, "seg_mnist_normalize: a 1-bpp glyph is needed");
        return UTIL_EINVAL;
    }
    if (adjust)
        rc = adjust_stroke(glyph1, &adj);
    else
        adj = pixClone(glyph1);
    if (rc)
        goto done;
    if (!adj) {
        rc = UTIL_ENOMEM;
        goto nomem;
    }
    /* pixClipToForeground returns 1 (and no image) when there is no ink. */
    if (pixClipToForeground(adj, &ink, &bb) || !ink)
        goto done;
    pixGetDimensions(ink, &bw, &bh, NULL);
    scale = (float)BOX_SIDE / (float)(bw > bh ? bw : bh);
    {
        /* A sliver (a 1 drawn as a thin line) is widened with background so
         * that the scaler has at least two pixels on the small side. */
        l_int32 need = (l_int32)ceilf(2.0f / scale), aw = 0, ah = 0;
        if (bw < need)
            aw = (need - bw + 1) / 2;
        if (bh < need)
            ah = (need - bh + 1) / 2;
        if (aw || ah) {
            PIX *wide = pixAddBorderGeneral(ink, aw, aw, ah, ah, 0);
            pixDestroy(&ink);
            if (!(ink = wide))
                goto nomem;
            pixGetDimensions(ink, &bw, &bh, NULL);
            scale = (float)BOX_SIDE / (float)(bw > bh ? bw : bh);
        }
    }
    gray = pixConvert1To8(NULL, ink, 0, 255);
    if (!gray)
        goto nomem;
    /* Area mapping below 0.7, linear interpolation above (a tiny glyph). */
    small = pixScaleAreaMap(gray, scale, scale);
    if (!small)
        goto nomem;
    pixGetDimensions(small, &sw, &sh, NULL);
    if (sw > CROP_SIDE || sh > CROP_SIDE) {
        util_log(UTIL_LOG_ERROR, "seg_mnist_normalize: scaled glyph %dx%d", sw, sh);
        rc = UTIL_EINVAL;
        goto done;
    }
    data = pixGetData(small);
    wpl = pixGetWpl(small);
    for (int y = 0; y < sh; y++) {
        const l_uint32 *line = data + y * wpl;
        for (int x = 0; x < sw; x++) {
            double v = GET_DATA_BYTE(line, x);
            sum += v;
            sx += v * x;
            sy += v * y;
        }
    }
    if (sum <= 0.0)
        goto done;
    dx = (int)lround(COM_TARGET - sx / sum);
    dy = (int)lround(COM_TARGET - sy / sum);
    for (int y = 0; y < sh; y++) {
        const l_uint32 *line = data + y * wpl;
        int ty = y + dy;
        if (ty < 0 || ty >= CROP_SIDE)
            continue;
        for (int x = 0; x < sw; x++) {
            int tx = x + dx;
            if (tx >= 0 && tx < CROP_SIDE)
                dst[ty * CROP_SIDE + tx] = (uint8_t)GET_DATA_BYTE(line, x);
        }
    }
    goto done;
nomem:
    util_log(UTIL_LOG_ERROR, "seg_mnist_normalize: out of memory");
    rc = UTIL_ENOMEM;
done:
    pixDestroy(&small);
    pixDestroy(&gray);
    pixDestroy(&ink);
    pixDestroy(&adj);
    boxDestroy(&bb);
    return rc;
}

/* Leptonica's own messages are silenced; errors go through util_log. */
int seg_mnist_stroke_ratio(PIX *glyph1, float *pratio)
{
    l_int32 old = setMsgSeverity(L_SEVERITY_NONE);
    int rc = stroke_ratio(glyph1, pratio);
    setMsgSeverity(old);
    return rc;
}

int seg_mnist_normalize_ex(PIX *glyph1, int adjust_stroke, uint8_t dst[784])
{
    l_int32 old = setMsgSeverity(L_SEVERITY_NONE);
    int rc = normalize(glyph1, adjust_stroke, dst);
    setMsgSeverity(old);
    return rc;
}

int seg_mnist_normalize(PIX *glyph1, uint8_t dst[784])
{
    return seg_mnist_normalize_ex(glyph1, 1, dst);
}
