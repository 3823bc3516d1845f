/* transpose8.c — the 8-lane layout copies between plain NCDHW and
 * NCDHW8c (runtime/jitconv.c) in AVX2, 8 x 8 floats at a time, with
 * what rides on them: the ReLU-gradient mask, residual and ReLU applied
 * to unblocked rows before they are stored, and the per-lane sums of
 * blocked voxels (a bias gradient) read while they are still in cache.
 *
 * Why: the copies are transpositions, and gcc compiles the portable loop
 * for SSE2 one float at a time (scalar stores strided by the block); on
 * the 2D U-Net they were 6 % of a training step. Eight rows of eight
 * floats are transposed in registers (unpack, shuffle, lane permute: 24
 * instructions for 64 floats) and stored whole. Chosen at run time
 * (__builtin_cpu_supports), so the binary still runs on any x86-64; the
 * values are copies either way, so the bits do not change.
 */
#include "runtime/runtime.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define T8_AVX2 1
#else
#define T8_AVX2 0
#endif

#if T8_AVX2
__attribute__((target("avx2"), always_inline)) static inline void t8_regs(__m256 r[8])
{
    __m256 a0 = _mm256_unpacklo_ps(r[0], r[1]), a1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 a2 = _mm256_unpacklo_ps(r[2], r[3]), a3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 a4 = _mm256_unpacklo_ps(r[4], r[5]), a5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 a6 = _mm256_unpacklo_ps(r[6], r[7]), a7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 b0 = _mm256_shuffle_ps(a0, a2, 0x44), b1 = _mm256_shuffle_ps(a0, a2, 0xee);
    __m256 b2 = _mm256_shuffle_ps(a1, a3, 0x44), b3 = _mm256_shuffle_ps(a1, a3, 0xee);
    __m256 b4 = _mm256_shuffle_ps(a4, a6, 0x44), b5 = _mm256_shuffle_ps(a4, a6, 0xee);
    __m256 b6 = _mm256_shuffle_ps(a5, a7, 0x44), b7 = _mm256_shuffle_ps(a5, a7, 0xee);
    r[0] = _mm256_permute2f128_ps(b0, b4, 0x20);
    r[1] = _mm256_permute2f128_ps(b1, b5, 0x20);
    r[2] = _mm256_permute2f128_ps(b2, b6, 0x20);
    r[3] = _mm256_permute2f128_ps(b3, b7, 0x20);
    r[4] = _mm256_permute2f128_ps(b0, b4, 0x31);
    r[5] = _mm256_permute2f128_ps(b1, b5, 0x31);
    r[6] = _mm256_permute2f128_ps(b2, b6, 0x31);
    r[7] = _mm256_permute2f128_ps(b3, b7, 0x31);
}

/* dst[q * 8 + l] = src[l * stride + q], q < m rounded down to 8 */
__attribute__((target("avx2"))) static int64_t t8_block(const float *src, int64_t stride,
                                                         float *dst, int64_t m)
{
    int64_t q = 0;
    for (; q + 8 <= m; q += 8) {
        __m256 r[8];
        for (int l = 0; l < 8; l++)
            r[l] = _mm256_loadu_ps(src + l * stride + q);
        t8_regs(r);
        for (int i = 0; i < 8; i++)
            _mm256_storeu_ps(dst + (q + i) * 8, r[i]);
    }
    return q;
}

/* One unblocked row of 8 through the epilogue: keep where mask > 0 (NaN
 * masks drop), then add the residual and clamp v < 0 to 0 (NaN and -0
 * pass), as the portable loops in runtime/jitconv.c do. */
__attribute__((target("avx2"), always_inline)) static inline __m256 t8_epilogue(__m256 v, const rt_unblock_epi *e,
                                                          int64_t at)
{
    __m256 zero = _mm256_setzero_ps();
    if (e->mask)
        v = _mm256_and_ps(v, _mm256_cmp_ps(_mm256_loadu_ps(e->mask + at), zero, _CMP_GT_OQ));
    if (e->res) {
        v = _mm256_add_ps(v, _mm256_loadu_ps(e->res + at));
        if (e->relu)
            v = _mm256_andnot_ps(_mm256_cmp_ps(v, zero, _CMP_LT_OQ), v);
    }
    return v;
}

/* dst[l * stride + q] = epi(src[q * 8 + l]), q < m rounded down to 8 */
__attribute__((target("avx2"))) static int64_t t8_unblock(const float *src, float *dst,
                                                           int64_t stride, int64_t m,
                                                           const rt_unblock_epi *e)
{
    int64_t q = 0;
    for (; q + 8 <= m; q += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; i++)
            r[i] = _mm256_loadu_ps(src + (q + i) * 8);
        t8_regs(r);
        for (int l = 0; l < 8; l++)
            _mm256_storeu_ps(dst + l * stride + q,
                             e ? t8_epilogue(r[l], e, l * stride + q) : r[l]);
    }
    return q;
}

/* The lane sums of m blocked voxels of 8 lanes (see rt_lane_sums). */
__attribute__((target("avx2"))) static void t8_lane_sums(const float *blk, int64_t m,
                                                         double part[4][8])
{
    __m256d acc[4][2];
    for (int s = 0; s < 4; s++)
        acc[s][0] = acc[s][1] = _mm256_setzero_pd();
    for (int64_t q = 0; q < m; q++) {
        __m256 x = _mm256_loadu_ps(blk + q * 8);
        acc[q & 3][0] = _mm256_add_pd(acc[q & 3][0], _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
        acc[q & 3][1] = _mm256_add_pd(acc[q & 3][1], _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
    }
    for (int s = 0; s < 4; s++) {
        _mm256_storeu_pd(part[s], acc[s][0]);
        _mm256_storeu_pd(part[s] + 4, acc[s][1]);
    }
}
#endif

int rt_transpose8_available(void)
{
#if T8_AVX2
    return __builtin_cpu_supports("avx2") ? 1 : 0; /* a load and a test: no cache to race on */
#else
    return 0;
#endif
}

int64_t rt_transpose8_block(const float *src, int64_t stride, float *dst, int64_t m)
{
#if T8_AVX2
    if (rt_transpose8_available())
        return t8_block(src, stride, dst, m);
#endif
    (void)src, (void)stride, (void)dst, (void)m;
    return 0;
}

int64_t rt_transpose8_unblock(const float *src, float *dst, int64_t stride, int64_t m,
                              const rt_unblock_epi *epi)
{
#if T8_AVX2
    if (rt_transpose8_available())
        return t8_unblock(src, dst, stride, m, epi);
#endif
    (void)src, (void)dst, (void)stride, (void)m, (void)epi;
    return 0;
}

void rt_lane_sums(const float *blk, int64_t m, int vl, double *out)
{
    SEG_ASSERT(vl >= 1 && vl <= 16);
    double part[4][16] = {{0}};
#if T8_AVX2
    if (vl == 8 && rt_transpose8_available()) {
        double p8[4][8];
        t8_lane_sums(blk, m, p8);
        for (int s = 0; s < 4; s++)
            memcpy(part[s], p8[s], sizeof p8[s]);
    } else
#endif
    {
        for (int64_t q = 0; q < m; q++)
            for (int l = 0; l < vl; l++)
                part[q & 3][l] += blk[q * vl + l];
    }
    for (int l = 0; l < vl; l++)
        out[l] = (part[0][l] + part[1][l]) + (part[2][l] + part[3][l]);
}
