/* fast_row.c — the row primitives of the fast kernels (fast.h): blend,
 * scale, axpy and fill over n contiguous floats.
 *
 * gcc -O2 vectorises only loops whose scalar work the vector code replaces
 * entirely, so each primitive runs whole blocks of FAST_BLOCK with a
 * fixed-count inner loop (vectorised) and finishes the remainder one by
 * one. The arithmetic per element is the plain expression, so a blocked
 * element equals a remainder element bit for bit.
 */
#include "runtime/ops/fast.h"

#define FAST_BLOCK 8

void rt_fast_row_blend(float *restrict d, const float *restrict a, const float *restrict b,
                       float wa, float wb, int64_t n)
{
    int64_t i = 0;
    for (; i + FAST_BLOCK <= n; i += FAST_BLOCK)
        for (int k = 0; k < FAST_BLOCK; k++)
            d[i + k] = wa * a[i + k] + wb * b[i + k];
    for (; i < n; i++)
        d[i] = wa * a[i] + wb * b[i];
}

void rt_fast_row_scale(float *restrict d, const float *restrict a, float w, int64_t n)
{
    int64_t i = 0;
    for (; i + FAST_BLOCK <= n; i += FAST_BLOCK)
        for (int k = 0; k < FAST_BLOCK; k++)
            d[i + k] = w * a[i + k];
    for (; i < n; i++)
        d[i] = w * a[i];
}

void rt_fast_row_axpy(float *restrict d, const float *restrict a, float w, int64_t n)
{
    int64_t i = 0;
    for (; i + FAST_BLOCK <= n; i += FAST_BLOCK)
        for (int k = 0; k < FAST_BLOCK; k++)
            d[i + k] += w * a[i + k];
    for (; i < n; i++)
        d[i] += w * a[i];
}

void rt_fast_row_fill(float *restrict d, float v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        d[i] = v;
}
