/* random.c — the counter-based generator and the random ops.
 *
 * rt_philox4x32 is Philox4x32-10 (Salmon et al., SC'11, as in Random123):
 * ten rounds of two 32x32->64 multiplies (0xD2511F53, 0xCD9E8D57) with the
 * key bumped by the Weyl constants (0x9E3779B9, 0xBB67AE85) between rounds.
 *
 * Every random value is a pure function of (seed, stream, step, index), so
 * results never depend on thread count or evaluation order:
 *     counter = {index & 0xffffffff, index >> 32, stream, step & 0xffffffff}
 *     key     = {seed & 0xffffffff, seed >> 32}
 * (only the low 32 bits of step are used: 4 billion steps). Element i of a
 * random tensor uses index i (its row-major position); channelwise dropout
 * uses index n * C + c.
 *   uniform01: the top 24 bits of output word 0, times 2^-24: [0, 1) on a
 *              grid of 2^-24, exact in f32.
 *   normal:    Box-Muller from one Philox call: u1 = (top 24 bits of word 0
 *              + 1) * 2^-24 in (0, 1], u2 = top 24 bits of word 1 * 2^-24,
 *              z = sqrt(-2 ln u1) * cos(2 pi u2), computed in double.
 * rt_hash_str is 32-bit FNV-1a (offset basis 2166136261, prime 16777619),
 * used to derive per-parameter streams from names.
 */
#include "runtime/ops/ops_internal.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox_round(uint32_t c[4], const uint32_t k[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * c[0], p1 = (uint64_t)PHILOX_M1 * c[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t n0 = hi1 ^ c[1] ^ k[0], n2 = hi0 ^ c[3] ^ k[1];
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
}

void rt_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k[2] = {key[0], key[1]};
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k[0] += PHILOX_W0;
            k[1] += PHILOX_W1;
        }
        philox_round(c, k);
    }
    for (int i = 0; i < 4; i++)
        out[i] = c[i];
}

/* The four words for (seed, stream, step, index); see the mapping above. */
static void draw(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index, uint32_t out[4])
{
    uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), stream, (uint32_t)step};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    rt_philox4x32(ctr, key, out);
}

float rt_rand_uniform01(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index)
{
    uint32_t w[4];
    draw(seed, stream, step, index, w);
    return (float)(w[0] >> 8) * 0x1p-24f;
}

float rt_rand_normal(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index)
{
    uint32_t w[4];
    draw(seed, stream, step, index, w);
    double u1 = ((double)(w[0] >> 8) + 1.0) * 0x1p-24;
    double u2 = (double)(w[1] >> 8) * 0x1p-24;
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

uint32_t rt_hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

int ops_random(const ops_call *c)
{
    const rt_attrs *a = c->a;
    if (ops_want_dtype(c, c->out, RT_F32, "output"))
        return -1;
    int64_t n = rt_type_numel(&c->out->type);
    uint64_t step = c->ctx->step;
    float *o = rt_f32(c->out);
    for (int64_t i = 0; i < n; i++) {
        switch (c->op) {
        case OP_RAND_UNIFORM:
            o[i] = a->lo + (a->hi - a->lo) * rt_rand_uniform01(a->seed, a->stream, step, (uint64_t)i);
            break;
        case OP_RAND_NORMAL:
            o[i] = a->lo + a->hi * rt_rand_normal(a->seed, a->stream, step, (uint64_t)i);
            break;
        case OP_RAND_BERNOULLI:
            o[i] = rt_rand_uniform01(a->seed, a->stream, step, (uint64_t)i) < a->p ? 1.0f : 0.0f;
            break;
        default: SEG_UNREACHABLE();
        }
    }
    return 0;
}
