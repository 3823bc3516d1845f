/* layout.c — conversions between plain NCDHW tensors and the channel-
 * blocked NCDHW{vl}c layout the JIT kernels use, and the packing of
 * convolution weights and biases for them.
 *
 * Blocked activations are [N][ceil(C/vl)][spatial][vl]: one vector register
 * holds the vl channels of one voxel. Packed weights are
 * [cout/vl][cin/ib][kvol][ib][vl]: for one output block, one input channel
 * and one kernel tap the vl output channels are contiguous, which is the
 * vector the kernel multiplies by a broadcast input value. ib is vl for
 * blocked inputs or 1 for plain NCDHW inputs (few input channels). Padded
 * channels are zero everywhere, so they contribute nothing and come out 0.
 *
 * Plain loops: these run once per weight update or at graph edges, and
 * are memory-bound; the inner loop walks the destination contiguously.
 */
#include "runtime/runtime.h"

#include <string.h>

int64_t rt_blocked_channels(int64_t c, int vl) { return (c + vl - 1) / vl * vl; }

void rt_layout_block(const float *src, float *dst, int64_t n, int64_t c, int64_t spatial, int vl)
{
    int64_t cb = rt_blocked_channels(c, vl) / vl;
    for (int64_t i = 0; i < n; i++)
        for (int64_t b = 0; b < cb; b++) {
            float *d = dst + (i * cb + b) * spatial * vl;
            int64_t lanes = c - b * vl < vl ? c - b * vl : vl;
            const float *s = src + (i * c + b * vl) * spatial;
            for (int64_t q = 0; q < spatial; q++) {
                for (int64_t l = 0; l < lanes; l++)
                    d[q * vl + l] = s[l * spatial + q];
                for (int64_t l = lanes; l < vl; l++)
                    d[q * vl + l] = 0;
            }
        }
}

void rt_layout_unblock(const float *src, float *dst, int64_t n, int64_t c, int64_t spatial,
                       int vl)
{
    int64_t cb = rt_blocked_channels(c, vl) / vl;
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++) {
            const float *s = src + (i * cb + ch / vl) * spatial * vl + ch % vl;
            float *d = dst + (i * c + ch) * spatial;
            for (int64_t q = 0; q < spatial; q++)
                d[q] = s[q * vl];
        }
}

/* [N][C][spatial...] of a tensor's type, as (n, c, spatial). */
static void value_dims(const rt_type *t, int64_t *n, int64_t *c, int64_t *spatial)
{
    *n = t->dim[0];
    *c = t->dim[1];
    *spatial = 1;
    for (int a = 2; a < t->rank; a++)
        *spatial *= t->dim[a];
}

void rt_layout_value_unblock(const rt_tensor *blocked, float *plain, int vl)
{
    int64_t n, c, sp;
    value_dims(&blocked->type, &n, &c, &sp);
    SEG_ASSERT(c % vl == 0);
    rt_layout_unblock(rt_f32(blocked), plain, n, c, sp, vl);
}

void rt_layout_value_block(const float *plain, rt_tensor *blocked, int vl)
{
    int64_t n, c, sp;
    value_dims(&blocked->type, &n, &c, &sp);
    SEG_ASSERT(c % vl == 0);
    rt_layout_block(plain, rt_f32(blocked), n, c, sp, vl);
}

/* A weight packing: output block o of dst (all its input blocks, taps,
 * input lanes and output lanes) from w; a task per block, so each writes
 * only its own part. flip: the data-gradient form (rt_conv_weight_block_tflip). */
typedef struct wb_job {
    const float *w;
    float *dst;
    int64_t cout, cin, kvol, ob, icb; /* of the packed kernel: cout lanes, cin inputs */
    int ib, vl, flip;
} wb_job;

#define WB_TAPS 64 /* taps per transposition through the stack */

/* Input channel ci of a full 8-lane output block o: the 8 rows (one per
 * output lane, kvol taps each) go through the AVX2 8x8 transposition to
 * the taps' 8-lane vectors; the taps it leaves (a partial last group, or
 * no AVX2) are copied one by one. Same values as the loop below. */
static void wb_lanes8(const wb_job *j, int64_t o, int64_t ci, float *d)
{
    float tmp[WB_TAPS * 8];
    int64_t stride = j->flip ? j->kvol : j->cin * j->kvol;
    const float *src = j->flip ? j->w + (ci * j->cout + o * 8) * j->kvol
                               : j->w + (o * 8 * j->cin + ci) * j->kvol;
    float *dd = d + ((ci / j->ib) * j->kvol * j->ib + ci % j->ib) * 8;
    for (int64_t k0 = 0; k0 < j->kvol; k0 += WB_TAPS) {
        int64_t m = j->kvol - k0 < WB_TAPS ? j->kvol - k0 : WB_TAPS;
        int64_t done = rt_transpose8_block(src + k0, stride, tmp, m);
        for (int64_t q = done; q < m; q++)
            for (int l = 0; l < 8; l++)
                tmp[q * 8 + l] = src[l * stride + k0 + q];
        for (int64_t q = 0; q < m; q++) { /* source tap k0 + q */
            int64_t k = j->flip ? j->kvol - 1 - (k0 + q) : k0 + q;
            memcpy(dd + k * j->ib * 8, tmp + q * 8, 8 * sizeof(float));
        }
    }
}

static void wb_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const wb_job *j = arg;
    int64_t block = j->icb * j->kvol * j->ib * j->vl;
    for (int64_t o = begin; o < end; o++) {
        float *d = j->dst + o * block;
        int full = j->vl == 8 && (o + 1) * 8 <= j->cout;
        if (!full || j->cin % j->ib) /* padded lanes or input channels stay 0 */
            memset(d, 0, (size_t)block * sizeof *d);
        for (int64_t ci = 0; full && ci < j->cin; ci++)
            wb_lanes8(j, o, ci, d);
        for (int64_t l = 0; !full && l < j->vl && o * j->vl + l < j->cout; l++)
            for (int64_t ci = 0; ci < j->cin; ci++) {
                int64_t co = o * j->vl + l; /* packed output channel */
                /* source row: w[co][ci][:] or, flipped, w[ci][co][kvol-1-:] */
                const float *src = j->flip ? j->w + (ci * j->cout + co) * j->kvol
                                           : j->w + (co * j->cin + ci) * j->kvol;
                float *dd = d + ((ci / j->ib) * j->kvol * j->ib + ci % j->ib) * j->vl + l;
                for (int64_t k = 0; k < j->kvol; k++)
                    dd[k * j->ib * j->vl] = src[j->flip ? j->kvol - 1 - k : k];
            }
    }
}

static void wb_run(rt_pool *p, const float *w, float *dst, int64_t cout, int64_t cin,
                   int64_t kvol, int ib, int vl, int flip)
{
    wb_job j = {w, dst, cout, cin, kvol, rt_blocked_channels(cout, vl) / vl,
                rt_blocked_channels(cin, ib) / ib, ib, vl, flip};
    rt_pool_run_balanced(p, j.ob, wb_task, &j);
}

void rt_conv_weight_block(rt_pool *p, const float *w, float *dst, int64_t cout, int64_t cin,
                          int64_t kvol, int ib, int vl)
{
    wb_run(p, w, dst, cout, cin, kvol, ib, vl, 0);
}

void rt_conv_bias_block(const float *b, float *dst, int64_t cout, int vl)
{
    int64_t n = rt_blocked_channels(cout, vl);
    for (int64_t i = 0; i < n; i++)
        dst[i] = b && i < cout ? b[i] : 0.0f;
}

void rt_conv_weight_block_tflip(rt_pool *p, const float *w, float *dst, int64_t cout,
                                int64_t cin, int64_t kvol, int ib, int vl)
{
    /* The packed kernel has cin output channels (lanes) and cout inputs. */
    wb_run(p, w, dst, cin, cout, kvol, ib, vl, 1);
}

typedef struct wu_job {
    const float *src;
    int parts;
    float *dw;
    int64_t cout, cin, kvol, icb, part;
    int ib, vl;
} wu_job;

/* Output channels [begin, end): each sum over the parts in part order. */
static void wu_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const wu_job *j = arg;
    for (int64_t co = begin; co < end; co++)
        for (int64_t ci = 0; ci < j->cin; ci++)
            for (int64_t k = 0; k < j->kvol; k++) {
                int64_t at = ((((co / j->vl) * j->icb + ci / j->ib) * j->kvol + k) * j->ib +
                              ci % j->ib) * j->vl + co % j->vl;
                float s = j->src[at];
                for (int q = 1; q < j->parts; q++)
                    s += j->src[q * j->part + at];
                j->dw[(co * j->cin + ci) * j->kvol + k] = s;
            }
}

void rt_conv_weight_unblock_sum(rt_pool *p, const float *src, int parts, float *dw, int64_t cout,
                                int64_t cin, int64_t kvol, int ib, int vl)
{
    int64_t ob = rt_blocked_channels(cout, vl) / vl, icb = rt_blocked_channels(cin, ib) / ib;
    wu_job j = {src, parts, dw, cout, cin, kvol, icb, ob * icb * kvol * ib * vl, ib, vl};
    rt_pool_run_balanced(p, cout, wu_task, &j);
}
