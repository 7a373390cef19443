/* srbench.eval._kernels: SSIM's filtering and arithmetic, and BT.601 luma, compiled, row by row.
 *
 * Why: as numpy calls, each of SSIM's ~60 operations per pixel streams whole arrays through memory; here each output
 * row is made from the rows under its window while they are in the CPU's cache. See srbench/eval/metrics.py, the
 * only caller, which checks every shape before calling.
 *
 * The same bits: every value is computed with the operations of scipy.ndimage.correlate1d's symmetric path
 * (ni_filters.c: the centre tap times its weight, then, from the outermost pair of taps inwards,
 * += (left + right) * weight), the vertical pass first, then the horizontal one, then the SSIM expression in the order
 * ((2 mu_a) mu_b + c1) (2 cov + c2) / ((mu_a^2 + mu_b^2 + c1) (var_a + var_b + c2)) evaluates, each in float64 and
 * each rounded as numpy rounds it. The build (setup.py) forbids contracting a multiply and an add into one fused
 * operation (-ffp-contract=off) and never uses -ffast-math; only independent pixels are computed side by side (SIMD).
 * tests/test_metrics.py compares the raw bits with scipy and with the textbook expressions.
 *
 * Every function releases the GIL while it computes, so metrics.py runs two halves of an image on two threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>

#define MAX_TAPS 31

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* one copy for AVX2 CPUs (4 doubles per instruction), one for any x86-64; AVX2 implies no FMA, and FMA is off anyway */
#define WIDE __attribute__((target_clones("avx2", "default")))
#else
#define WIDE
#endif

/* The valid vertical pass of row i (every column) of a and a*a into va and vaa, and of a*b into vab unless vab is
 * NULL (the reference maps need no product); the products per pixel as the arrays a * a and a * b would hold them. */
WIDE static void vertical(const double *restrict a, const double *restrict b, Py_ssize_t width, Py_ssize_t i,
                          const double *restrict w, int r, double *restrict va, double *restrict vaa,
                          double *restrict vab)
{
    const double *ac = a + (i + r) * width, *bc = b + (i + r) * width;
    const double centre = w[r];
    if (vab == NULL) {
        for (Py_ssize_t j = 0; j < width; j++) {
            double x = ac[j];
            va[j] = x * centre;
            vaa[j] = (x * x) * centre;
        }
    } else { /* the three maps in one sweep: each row of a is loaded once for all three */
        for (Py_ssize_t j = 0; j < width; j++) {
            double x = ac[j];
            va[j] = x * centre;
            vaa[j] = (x * x) * centre;
            vab[j] = (x * bc[j]) * centre;
        }
    }
    for (int k = r; k > 0; k--) {
        const double *al = a + (i + r - k) * width, *ah = a + (i + r + k) * width;
        const double *bl = b + (i + r - k) * width, *bh = b + (i + r + k) * width;
        const double weight = w[r - k];
        if (vab == NULL) {
            for (Py_ssize_t j = 0; j < width; j++) {
                double lo = al[j], hi = ah[j];
                va[j] += (lo + hi) * weight;
                vaa[j] += (lo * lo + hi * hi) * weight;
            }
        } else {
            for (Py_ssize_t j = 0; j < width; j++) {
                double lo = al[j], hi = ah[j];
                va[j] += (lo + hi) * weight;
                vaa[j] += (lo * lo + hi * hi) * weight;
                vab[j] += (lo * bl[j] + hi * bh[j]) * weight;
            }
        }
    }
}

/* The valid horizontal pass of the row v (n = width - 2r values) into out. */
WIDE static void horizontal(const double *restrict v, Py_ssize_t n, const double *restrict w, int r,
                            double *restrict out)
{
    const double centre = w[r];
    for (Py_ssize_t j = 0; j < n; j++)
        out[j] = v[j + r] * centre;
    for (int k = r; k > 0; k--) {
        const double weight = w[r - k];
        for (Py_ssize_t j = 0; j < n; j++)
            out[j] += (v[j + r - k] + v[j + r + k]) * weight;
    }
}

/* One row of the reference maps from the filtered b (m) and b*b (e): mu, mu * mu, e - mu * mu (times cov_norm
 * when it is not 1). */
WIDE static void reference_row(const double *restrict m, const double *restrict e, Py_ssize_t n, double cov_norm,
                               double *restrict mu, double *restrict mu_sq, double *restrict var)
{
    for (Py_ssize_t j = 0; j < n; j++) {
        double m2 = m[j] * m[j];
        double v = e[j] - m2;
        if (cov_norm != 1.0)
            v = v * cov_norm;
        mu[j] = m[j];
        mu_sq[j] = m2;
        var[j] = v;
    }
}

/* One row of the SSIM map from the filtered a (mu_a), a*a (e_aa) and a*b (e_ab) and the reference's maps. */
WIDE static void ssim_row(const double *restrict mu_a, const double *restrict e_aa, const double *restrict e_ab,
                          Py_ssize_t n, double cov_norm, double c1, double c2, const double *restrict mb_row,
                          const double *restrict sq_row, const double *restrict vb_row, double *restrict o)
{
    for (Py_ssize_t j = 0; j < n; j++) {
        double m = mu_a[j], mb = mb_row[j];
        double mu_aa = m * m;
        double var_a = e_aa[j] - mu_aa;
        double cov = e_ab[j] - m * mb;
        if (cov_norm != 1.0) {
            var_a = var_a * cov_norm;
            cov = cov * cov_norm;
        }
        double num = ((m * 2.0) * mb + c1) * (cov * 2.0 + c2);
        double den = (mu_aa + sq_row[j] + c1) * (var_a + vb_row[j] + c2);
        o[j] = num / den;
    }
}

/* Rows lo:hi of the reference maps of b (height x width): mu, mu * mu, filter(b*b) - mu * mu (times cov_norm when it
 * is not 1). Returns 0, or -1 when out of memory. */
static int reference_rows(const double *b, Py_ssize_t width, const double *w, int r, double cov_norm, Py_ssize_t lo,
                          Py_ssize_t hi, double *mu, double *mu_sq, double *var)
{
    Py_ssize_t n = width - 2 * r;
    double *scratch = malloc(sizeof(double) * (size_t)(2 * width + 2 * n));
    if (scratch == NULL)
        return -1;
    double *vb = scratch, *vbb = vb + width, *m = vbb + width, *e = m + n;
    for (Py_ssize_t i = lo; i < hi; i++) {
        vertical(b, b, width, i, w, r, vb, vbb, NULL);
        horizontal(vb, n, w, r, m);
        horizontal(vbb, n, w, r, e);
        reference_row(m, e, n, cov_norm, mu + i * n, mu_sq + i * n, var + i * n);
    }
    free(scratch);
    return 0;
}

/* Rows lo:hi of the valid SSIM map of a against b (height x width), whose reference maps are given. */
static int ssim_rows(const double *a, const double *b, Py_ssize_t width, const double *w, int r, double cov_norm,
                     double c1, double c2, const double *mu_b, const double *mu_b_sq, const double *var_b,
                     Py_ssize_t lo, Py_ssize_t hi, double *out)
{
    Py_ssize_t n = width - 2 * r;
    double *scratch = malloc(sizeof(double) * (size_t)(3 * width + 3 * n));
    if (scratch == NULL)
        return -1;
    double *va = scratch, *vaa = va + width, *vab = vaa + width, *mu_a = vab + width, *e_aa = mu_a + n,
           *e_ab = e_aa + n;
    for (Py_ssize_t i = lo; i < hi; i++) {
        vertical(a, b, width, i, w, r, va, vaa, vab);
        horizontal(va, n, w, r, mu_a);
        horizontal(vaa, n, w, r, e_aa);
        horizontal(vab, n, w, r, e_ab);
        ssim_row(mu_a, e_aa, e_ab, n, cov_norm, c1, c2, mu_b + i * n, mu_b_sq + i * n, var_b + i * n, out + i * n);
    }
    free(scratch);
    return 0;
}

/* Rows lo:hi of the valid SSIM map of a against b when b's reference maps are not kept: each row's are made in
 * scratch, by reference_rows's very steps, just before the row of the map that reads them. For one output per
 * reference (srbench evaluate, the benchmark) this spares writing three full-size maps and reading them back, and
 * the fresh pages they need. */
static int ssim_rows_fused(const double *a, const double *b, Py_ssize_t width, const double *w, int r,
                           double cov_norm, double c1, double c2, Py_ssize_t lo, Py_ssize_t hi, double *out)
{
    Py_ssize_t n = width - 2 * r;
    double *scratch = malloc(sizeof(double) * (size_t)(5 * width + 8 * n));
    if (scratch == NULL)
        return -1;
    double *va = scratch, *vaa = va + width, *vab = vaa + width, *vb = vab + width, *vbb = vb + width;
    double *mu_a = vbb + width, *e_aa = mu_a + n, *e_ab = e_aa + n, *m = e_ab + n, *e = m + n;
    double *mu_b = e + n, *mu_b_sq = mu_b + n, *var_b = mu_b_sq + n;
    for (Py_ssize_t i = lo; i < hi; i++) {
        vertical(b, b, width, i, w, r, vb, vbb, NULL);
        horizontal(vb, n, w, r, m);
        horizontal(vbb, n, w, r, e);
        reference_row(m, e, n, cov_norm, mu_b, mu_b_sq, var_b);
        vertical(a, b, width, i, w, r, va, vaa, vab);
        horizontal(va, n, w, r, mu_a);
        horizontal(vaa, n, w, r, e_aa);
        horizontal(vab, n, w, r, e_ab);
        ssim_row(mu_a, e_aa, e_ab, n, cov_norm, c1, c2, mu_b, mu_b_sq, var_b, out + i * n);
    }
    free(scratch);
    return 0;
}

/* ---- Python bindings: buffers are checked for their sizes here; their shapes are metrics.py's to check ---- */

static int check_size(Py_buffer *buf, Py_ssize_t count, Py_ssize_t itemsize, const char *what)
{
    if (buf->len != count * itemsize) {
        PyErr_Format(PyExc_ValueError, "_kernels: %s holds %zd bytes, expected %zd", what, buf->len,
                     count * itemsize);
        return -1;
    }
    return 0;
}

static int window_of(Py_buffer *wbuf, int *r)
{
    Py_ssize_t taps = wbuf->len / (Py_ssize_t)sizeof(double);
    if (wbuf->len % (Py_ssize_t)sizeof(double) || taps % 2 != 1 || taps > MAX_TAPS) {
        PyErr_SetString(PyExc_ValueError, "_kernels: the window must hold an odd number of float64 taps (at most 31)");
        return -1;
    }
    *r = (int)(taps / 2);
    return 0;
}

static int check_rows(Py_ssize_t height, Py_ssize_t width, int r, Py_ssize_t lo, Py_ssize_t hi)
{
    if (height < 2 * r + 1 || width < 2 * r + 1 || lo < 0 || hi < lo || hi > height - 2 * r) {
        PyErr_SetString(PyExc_ValueError, "_kernels: rows out of range for this image and window");
        return -1;
    }
    return 0;
}

static PyObject *py_reference_rows(PyObject *self, PyObject *args)
{
    Py_buffer b, w, mu, mu_sq, var;
    Py_ssize_t height, width, lo, hi;
    double cov_norm;
    int r, status = -1;
    if (!PyArg_ParseTuple(args, "y*nny*dnnw*w*w*", &b, &height, &width, &w, &cov_norm, &lo, &hi, &mu, &mu_sq, &var))
        return NULL;
    if (window_of(&w, &r) == 0 && check_rows(height, width, r, lo, hi) == 0
        && check_size(&b, height * width, sizeof(double), "b") == 0) {
        Py_ssize_t valid = (height - 2 * r) * (width - 2 * r);
        if (check_size(&mu, valid, sizeof(double), "mu") == 0 && check_size(&mu_sq, valid, sizeof(double), "mu_sq") == 0
            && check_size(&var, valid, sizeof(double), "var") == 0) {
            Py_BEGIN_ALLOW_THREADS
            status = reference_rows(b.buf, width, w.buf, r, cov_norm, lo, hi, mu.buf, mu_sq.buf, var.buf);
            Py_END_ALLOW_THREADS
            if (status != 0)
                PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&b); PyBuffer_Release(&w); PyBuffer_Release(&mu); PyBuffer_Release(&mu_sq);
    PyBuffer_Release(&var);
    if (status != 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_ssim_rows(PyObject *self, PyObject *args)
{
    Py_buffer a, b, w, mu_b, mu_b_sq, var_b, out;
    Py_ssize_t height, width, lo, hi;
    double cov_norm, c1, c2;
    int r, status = -1;
    if (!PyArg_ParseTuple(args, "y*y*nny*dddy*y*y*nnw*", &a, &b, &height, &width, &w, &cov_norm, &c1, &c2, &mu_b,
                          &mu_b_sq, &var_b, &lo, &hi, &out))
        return NULL;
    if (window_of(&w, &r) == 0 && check_rows(height, width, r, lo, hi) == 0
        && check_size(&a, height * width, sizeof(double), "a") == 0
        && check_size(&b, height * width, sizeof(double), "b") == 0) {
        Py_ssize_t valid = (height - 2 * r) * (width - 2 * r);
        if (check_size(&mu_b, valid, sizeof(double), "mu_b") == 0
            && check_size(&mu_b_sq, valid, sizeof(double), "mu_b_sq") == 0
            && check_size(&var_b, valid, sizeof(double), "var_b") == 0
            && check_size(&out, valid, sizeof(double), "out") == 0) {
            Py_BEGIN_ALLOW_THREADS
            status = ssim_rows(a.buf, b.buf, width, w.buf, r, cov_norm, c1, c2, mu_b.buf, mu_b_sq.buf, var_b.buf, lo,
                               hi, out.buf);
            Py_END_ALLOW_THREADS
            if (status != 0)
                PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&a); PyBuffer_Release(&b); PyBuffer_Release(&w); PyBuffer_Release(&mu_b);
    PyBuffer_Release(&mu_b_sq); PyBuffer_Release(&var_b); PyBuffer_Release(&out);
    if (status != 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_ssim_rows_fused(PyObject *self, PyObject *args)
{
    Py_buffer a, b, w, out;
    Py_ssize_t height, width, lo, hi;
    double cov_norm, c1, c2;
    int r, status = -1;
    if (!PyArg_ParseTuple(args, "y*y*nny*dddnnw*", &a, &b, &height, &width, &w, &cov_norm, &c1, &c2, &lo, &hi, &out))
        return NULL;
    if (window_of(&w, &r) == 0 && check_rows(height, width, r, lo, hi) == 0
        && check_size(&a, height * width, sizeof(double), "a") == 0
        && check_size(&b, height * width, sizeof(double), "b") == 0
        && check_size(&out, (height - 2 * r) * (width - 2 * r), sizeof(double), "out") == 0) {
        Py_BEGIN_ALLOW_THREADS
        status = ssim_rows_fused(a.buf, b.buf, width, w.buf, r, cov_norm, c1, c2, lo, hi, out.buf);
        Py_END_ALLOW_THREADS
        if (status != 0)
            PyErr_NoMemory();
    }
    PyBuffer_Release(&a); PyBuffer_Release(&b); PyBuffer_Release(&w); PyBuffer_Release(&out);
    if (status != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- BT.601 luma of rows lo:hi of an HxWx3 image of uint8, float32 or float64, into float64 ----
 * The pixels are read where they lie: pixel (i, j)'s red at src[i * row + j * col], green and blue ``chan`` further
 * (strides in elements). So an interleaved image (HxWx3 in C order), a network's channels-first output (planar) and a
 * column-major one (bicubic's: imresize resizes the second axis last) are all read without a copy. The common
 * layouts get loops with constant strides, which the compiler vectorises; each value is the same expression. */

#define LUMA_ROW(T, COL, CHAN)                                                                                       \
    do {                                                                                                             \
        const T *r = (const T *)src + i * row, *g = r + (CHAN), *b = r + 2 * (CHAN);                                 \
        double *o = out + i * width;                                                                                 \
        if (limited) {                                                                                               \
            for (Py_ssize_t j = 0; j < width; j++) {                                                                 \
                double y = ((double)r[(COL) * j] / 255.0) * 65.481;                                                  \
                y = y + ((double)g[(COL) * j] / 255.0) * 128.553;                                                    \
                y = y + ((double)b[(COL) * j] / 255.0) * 24.966;                                                     \
                o[j] = y + 16.0;                                                                                     \
            }                                                                                                        \
        } else {                                                                                                     \
            for (Py_ssize_t j = 0; j < width; j++) {                                                                 \
                double y = (double)r[(COL) * j] * 0.299;                                                             \
                y = y + (double)g[(COL) * j] * 0.587;                                                                \
                o[j] = y + (double)b[(COL) * j] * 0.114;                                                             \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

#define LUMA_FUNCTION(NAME, T)                                                                                       \
    WIDE static void NAME(const void *src, Py_ssize_t width, Py_ssize_t row, Py_ssize_t col, Py_ssize_t chan,        \
                          Py_ssize_t lo, Py_ssize_t hi, int limited, double *out)                                    \
    {                                                                                                                \
        for (Py_ssize_t i = lo; i < hi; i++) {                                                                       \
            if (col == 3 && chan == 1)                                                                               \
                LUMA_ROW(T, 3, 1); /* interleaved */                                                                 \
            else if (col == 1)                                                                                       \
                LUMA_ROW(T, 1, chan); /* planar */                                                                   \
            else                                                                                                     \
                LUMA_ROW(T, col, chan); /* any other layout (column-major) */                                        \
        }                                                                                                            \
    }

LUMA_FUNCTION(luma_f32, float)
LUMA_FUNCTION(luma_f64, double)

/* 8-bit pixels take each channel's term from a table of its 256 values, each entry the very expression of
 * LUMA_ROW ((v / 255) * 65.481, v * 0.299, ...), and add them in LUMA_ROW's order: the same bits, with no division
 * per pixel. */
static void luma_u8(const void *src, Py_ssize_t width, Py_ssize_t row, Py_ssize_t col, Py_ssize_t chan,
                    Py_ssize_t lo, Py_ssize_t hi, int limited, double *out)
{
    double tr[256], tg[256], tb[256];
    for (int v = 0; v < 256; v++) {
        if (limited) {
            tr[v] = ((double)v / 255.0) * 65.481;
            tg[v] = ((double)v / 255.0) * 128.553;
            tb[v] = ((double)v / 255.0) * 24.966;
        } else {
            tr[v] = (double)v * 0.299;
            tg[v] = (double)v * 0.587;
            tb[v] = (double)v * 0.114;
        }
    }
    const double offset = limited ? 16.0 : 0.0; /* full range: y + 0.0 is y (y >= +0) */
    for (Py_ssize_t i = lo; i < hi; i++) {
        const unsigned char *r = (const unsigned char *)src + i * row, *g = r + chan, *b = r + 2 * chan;
        double *o = out + i * width;
        for (Py_ssize_t j = 0; j < width; j++) {
            double y = tr[r[col * j]] + tg[g[col * j]];
            y = y + tb[b[col * j]];
            o[j] = y + offset;
        }
    }
}

static PyObject *py_luma_rows(PyObject *self, PyObject *args)
{
    Py_buffer img, out;
    Py_ssize_t height, width, row, col, chan, lo, hi;
    int itemsize, limited, ok = 0;
    if (!PyArg_ParseTuple(args, "y*innnnnpnnw*", &img, &itemsize, &height, &width, &row, &col, &chan, &limited, &lo,
                          &hi, &out))
        return NULL;
    if (itemsize != 1 && itemsize != 4 && itemsize != 8)
        PyErr_SetString(PyExc_ValueError, "_kernels: luma takes uint8, float32 or float64 pixels");
    else if (height < 1 || width < 1 || row < 0 || col < 0 || chan < 0)
        PyErr_SetString(PyExc_ValueError, "_kernels: luma takes a non-empty image with non-negative strides");
    else if (lo < 0 || hi < lo || hi > height)
        PyErr_SetString(PyExc_ValueError, "_kernels: rows out of range for this image");
    else if (check_size(&img, (height - 1) * row + (width - 1) * col + 2 * chan + 1, itemsize, "img") == 0
             && check_size(&out, height * width, sizeof(double), "out") == 0) {
        Py_BEGIN_ALLOW_THREADS
        if (itemsize == 1)
            luma_u8(img.buf, width, row, col, chan, lo, hi, limited, out.buf);
        else if (itemsize == 4)
            luma_f32(img.buf, width, row, col, chan, lo, hi, limited, out.buf);
        else
            luma_f64(img.buf, width, row, col, chan, lo, hi, limited, out.buf);
        Py_END_ALLOW_THREADS
        ok = 1;
    }
    PyBuffer_Release(&img); PyBuffer_Release(&out);
    if (!ok)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- The network's float output in [0, 1] to 8 bits: clip, times 255, then round half to even or floor ---- */

/* Each value as numpy computes it: clip to [0, 1] (x >= 0 ? x : 0, then x <= 1 ? x : 1; the same as numpy's clip
 * for every finite value, and a NaN becomes 0 instead of undefined bits), times 255, then rounded half to even or
 * floored. A non-finite value only clears the flag that makes the caller raise, so the loop has no dependence
 * from one value to the next and is computed several values at a time. */
#define QUANTIZE_LOOP(T, ROUND)                                                                                      \
    for (Py_ssize_t j = lo; j < hi; j++) {                                                                           \
        double x = (double)p[j];                                                                                     \
        bad |= !isfinite(x);                                                                                         \
        x = x >= 0.0 ? x : 0.0;                                                                                      \
        x = x <= 1.0 ? x : 1.0;                                                                                      \
        out[j] = (unsigned char)(int)ROUND(x * 255.0);                                                                    \
    }

#define QUANTIZE_FUNCTION(NAME, T)                                                                                   \
    WIDE static int NAME(const void *src, Py_ssize_t lo, Py_ssize_t hi, int truncate, unsigned char *out)            \
    {                                                                                                                \
        const T *p = (const T *)src;                                                                                 \
        int bad = 0;                                                                                                 \
        if (truncate)                                                                                                \
            QUANTIZE_LOOP(T, floor)                                                                                  \
        else                                                                                                         \
            QUANTIZE_LOOP(T, nearbyint)                                                                              \
        return !bad;                                                                                                 \
    }

/* Values lo:hi; 1, or 0 when one of them is not finite (its 8 bits are then meaningless: the caller raises).
 * GCC computes several values at a time only when told that comparisons raise no floating-point exception that
 * anything reads (nothing here does); this changes no value. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif
QUANTIZE_FUNCTION(quantize_f32, float)
QUANTIZE_FUNCTION(quantize_f64, double)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

static PyObject *py_quantize(PyObject *self, PyObject *args)
{
    Py_buffer src, out;
    Py_ssize_t count, lo, hi;
    int itemsize, truncate, finite = 1, ok = 0;
    if (!PyArg_ParseTuple(args, "y*inpnnw*", &src, &itemsize, &count, &truncate, &lo, &hi, &out))
        return NULL;
    if (itemsize != 4 && itemsize != 8)
        PyErr_SetString(PyExc_ValueError, "_kernels: quantize takes float32 or float64 values");
    else if (lo < 0 || hi < lo || hi > count)
        PyErr_SetString(PyExc_ValueError, "_kernels: values out of range");
    else if (check_size(&src, count, itemsize, "src") == 0 && check_size(&out, count, 1, "out") == 0) {
        Py_BEGIN_ALLOW_THREADS
        finite = itemsize == 4 ? quantize_f32(src.buf, lo, hi, truncate, out.buf)
                               : quantize_f64(src.buf, lo, hi, truncate, out.buf);
        Py_END_ALLOW_THREADS
        ok = 1;
    }
    PyBuffer_Release(&src); PyBuffer_Release(&out);
    if (!ok)
        return NULL;
    return PyBool_FromLong(finite);
}

/* ---- Means of a crop in numpy's order of summation, without copying the crop ----
 * numpy's mean of a C-contiguous float64 array is its pairwise sum divided by the count: under 8 values, added one
 * by one from 0; up to 128, eight running sums (value i goes to sum i mod 8) combined as ((0 + 1) + (2 + 3)) +
 * ((4 + 5) + (6 + 7)), then the values past the last multiple of 8 added one by one; above 128, the first half
 * (n / 2 rounded down to a multiple of 8) and the rest, each summed so, then added. Here the values are those a
 * contiguous copy of a crop would hold, walked row by row: an SSIM map's values, or the squared differences of two
 * planes (an MSE, as numpy's subtract and multiply make them, in float64). tests/test_metrics.py compares the bits
 * with numpy's on crops of many shapes. */

#define PAIRWISE_BLOCK 128

typedef struct {
    const double *a, *b;     /* b NULL: the values of a; else (a - b) * (a - b) */
    Py_ssize_t cols, stride; /* values in a row of the crop; elements from one row to the next */
} crop_walk;

/* Values k:k+n of the walk into v. */
static void crop_values(const crop_walk *walk, Py_ssize_t k, Py_ssize_t n, double *v)
{
    Py_ssize_t row = k / walk->cols, col = k % walk->cols;
    for (Py_ssize_t i = 0; i < n; row++, col = 0) {
        Py_ssize_t take = walk->cols - col < n - i ? walk->cols - col : n - i;
        const double *pa = walk->a + row * walk->stride + col;
        if (walk->b == NULL) {
            for (Py_ssize_t j = 0; j < take; j++)
                v[i + j] = pa[j];
        } else {
            const double *pb = walk->b + row * walk->stride + col;
            for (Py_ssize_t j = 0; j < take; j++) {
                double d = pa[j] - pb[j];
                v[i + j] = d * d;
            }
        }
        i += take;
    }
}

/* The pairwise sum of values k:k+n of the walk. */
static double pairwise_sum(const crop_walk *walk, Py_ssize_t k, Py_ssize_t n)
{
    if (n > PAIRWISE_BLOCK) {
        Py_ssize_t half = n / 2;
        half -= half % 8;
        return pairwise_sum(walk, k, half) + pairwise_sum(walk, k + half, n - half);
    }
    double v[PAIRWISE_BLOCK];
    crop_values(walk, k, n, v);
    if (n < 8) {
        double res = 0.0;
        for (Py_ssize_t i = 0; i < n; i++)
            res += v[i];
        return res;
    }
    double r[8];
    for (int j = 0; j < 8; j++)
        r[j] = v[j];
    Py_ssize_t i;
    for (i = 8; i < n - n % 8; i += 8)
        for (int j = 0; j < 8; j++)
            r[j] += v[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++)
        res += v[i];
    return res;
}

static PyObject *py_crop_mean(PyObject *self, PyObject *args)
{
    Py_buffer a, b = {0};
    PyObject *b_obj;
    Py_ssize_t height, width, channels, border;
    double mean = 0.0;
    int ok = 0;
    if (!PyArg_ParseTuple(args, "y*Onnnn", &a, &b_obj, &height, &width, &channels, &border))
        return NULL;
    if (b_obj != Py_None && PyObject_GetBuffer(b_obj, &b, PyBUF_SIMPLE) != 0) {
        PyBuffer_Release(&a);
        return NULL;
    }
    if (height < 1 || width < 1 || channels < 1 || border < 0 || height <= 2 * border || width <= 2 * border)
        PyErr_SetString(PyExc_ValueError, "_kernels: crop_mean takes a non-empty crop of a non-empty array");
    else if (check_size(&a, height * width * channels, sizeof(double), "a") == 0
             && (b_obj == Py_None || check_size(&b, height * width * channels, sizeof(double), "b") == 0)) {
        crop_walk walk = {(const double *)a.buf + (border * width + border) * channels,
                          b_obj == Py_None ? NULL : (const double *)b.buf + (border * width + border) * channels,
                          (width - 2 * border) * channels, width * channels};
        Py_ssize_t count = (height - 2 * border) * walk.cols;
        Py_BEGIN_ALLOW_THREADS
        mean = pairwise_sum(&walk, 0, count) / (double)count;
        Py_END_ALLOW_THREADS
        ok = 1;
    }
    PyBuffer_Release(&a);
    if (b_obj != Py_None)
        PyBuffer_Release(&b);
    if (!ok)
        return NULL;
    return PyFloat_FromDouble(mean);
}

static PyMethodDef methods[] = {
    {"reference_rows", py_reference_rows, METH_VARARGS,
     "reference_rows(b, height, width, window, cov_norm, lo, hi, mu, mu_sq, var): rows lo:hi of SSIM's reference "
     "maps of the C-contiguous float64 image b"},
    {"ssim_rows", py_ssim_rows, METH_VARARGS,
     "ssim_rows(a, b, height, width, window, cov_norm, c1, c2, mu_b, mu_b_sq, var_b, lo, hi, out): rows lo:hi of the "
     "valid SSIM map of a against b"},
    {"ssim_rows_fused", py_ssim_rows_fused, METH_VARARGS,
     "ssim_rows_fused(a, b, height, width, window, cov_norm, c1, c2, lo, hi, out): ssim_rows with b's reference maps "
     "made row by row in scratch (the same values), for a reference measured once"},
    {"luma_rows", py_luma_rows, METH_VARARGS,
     "luma_rows(img, itemsize, height, width, row, col, chan, limited, lo, hi, out): rows lo:hi of BT.601 luma "
     "(limited: 16-235 of [0, 1] RGB, else full range of 0-255 RGB) of an HxWx3 image of uint8, float32 or float64 "
     "whose pixel (i, j) has its red at element i * row + j * col of the buffer img, green and blue chan further"},
    {"quantize", py_quantize, METH_VARARGS,
     "quantize(src, itemsize, count, truncate, lo, hi, out): values lo:hi of float32 or float64 src clipped to [0, 1], "
     "times 255, rounded half to even (or floored) into uint8 out; False when one of them is not finite"},
    {"crop_mean", py_crop_mean, METH_VARARGS,
     "crop_mean(a, b, height, width, channels, border): the mean, in numpy's order of summation, of the values of "
     "the C-contiguous float64 HxWxC array a (b None) or of (a - b) ** 2 (b another such array) over the crop that "
     "leaves border pixels on every side"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels",
                                    "SSIM, luma, quantising and crop-mean kernels of srbench.eval.metrics (see _kernels.c)", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
