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

void rt_conv_weight_block(const float *w, float *dst, int64_t cout, int64_t cin, int64_t kvol,
                          int ib, int vl)
{
    int64_t ob = rt_blocked_channels(cout, vl) / vl, icb = rt_blocked_channels(cin, ib) / ib;
    for (int64_t o = 0; o < ob; o++)
        for (int64_t i = 0; i < icb; i++)
            for (int64_t k = 0; k < kvol; k++)
                for (int64_t a = 0; a < ib; a++) {
                    float *d = dst + (((o * icb + i) * kvol + k) * ib + a) * vl;
                    int64_t ci = i * ib + a;
                    for (int64_t l = 0; l < vl; l++) {
                        int64_t co = o * vl + l;
                        d[l] = co < cout && ci < cin ? w[(co * cin + ci) * kvol + k] : 0.0f;
                    }
                }
}

void rt_conv_bias_block(const float *b, float *dst, int64_t cout, int vl)
{
    int64_t n = rt_blocked_channels(cout, vl);
    for (int64_t i = 0; i < n; i++)
        dst[i] = b && i < cout ? b[i] : 0.0f;
}

void rt_conv_weight_block_tflip(const float *w, float *dst, int64_t cout, int64_t cin,
                                int64_t kvol, int ib, int vl)
{
    /* The packed kernel has cin output channels (lanes) and cout inputs. */
    int64_t ob = rt_blocked_channels(cin, vl) / vl, icb = rt_blocked_channels(cout, ib) / ib;
    for (int64_t o = 0; o < ob; o++)
        for (int64_t i = 0; i < icb; i++)
            for (int64_t k = 0; k < kvol; k++)
                for (int64_t a = 0; a < ib; a++) {
                    float *d = dst + (((o * icb + i) * kvol + k) * ib + a) * vl;
                    int64_t co = i * ib + a; /* the original conv's output channel */
                    for (int64_t l = 0; l < vl; l++) {
                        int64_t ci = o * vl + l;
                        d[l] = co < cout && ci < cin ? w[(co * cin + ci) * kvol + kvol - 1 - k]
                                                     : 0.0f;
                    }
                }
}

void rt_conv_weight_unblock_sum(const float *src, int parts, float *dw, int64_t cout,
                                int64_t cin, int64_t kvol, int ib, int vl)
{
    int64_t ob = rt_blocked_channels(cout, vl) / vl, icb = rt_blocked_channels(cin, ib) / ib;
    int64_t part = ob * icb * kvol * ib * vl;
    for (int64_t co = 0; co < cout; co++)
        for (int64_t ci = 0; ci < cin; ci++)
            for (int64_t k = 0; k < kvol; k++) {
                int64_t at = ((((co / vl) * icb + ci / ib) * kvol + k) * ib + ci % ib) * vl +
                             co % vl;
                float s = src[at];
                for (int p = 1; p < parts; p++)
                    s += src[p * part + at];
                dw[(co * cin + ci) * kvol + k] = s;
            }
}
