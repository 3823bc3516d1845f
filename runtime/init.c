/* init.c — parameter initialisation from an rt_init.
 *
 * Element i of a parameter named NAME is drawn from the counter-based
 * generator at counter (i, stream = rt_hash_str(NAME), step 0) with the
 * run's seed as key. A weight therefore depends only on (seed, name,
 * index): not on the order parameters are created in, on which other
 * parameters exist, or on the thread count. Two parameters with different
 * names get different streams (up to 32-bit hash collisions, which the
 * unit tests do not expect for realistic names).
 *
 * UNIFORM(a, b) draws a + (b - a) * u with u in [0, 1); NORMAL(a, b) draws
 * a + b * n with n standard normal; CONST fills a; NONE leaves the tensor
 * as it is (zero-filled by rt_tensor_new).
 */
#include "runtime.h"

/* Non-f32 tensors only take CONST fills (integer buffers such as step
 * counters); random draws into them are a compiler bug. */
static void init_fill_const(rt_tensor *t, float a)
{
    int64_t n = rt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++) {
        switch (t->type.dtype) {
        case RT_F32: rt_f32(t)[i] = a; break;
        case RT_I32: rt_i32(t)[i] = (int32_t)a; break;
        case RT_U8: rt_u8(t)[i] = (uint8_t)a; break;
        default: SEG_UNREACHABLE();
        }
    }
}

static void init_fill_uniform(float *x, int64_t n, float a, float b, uint32_t stream, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = a + (b - a) * rt_rand_uniform01(seed, stream, 0, (uint64_t)i);
}

static void init_fill_normal(float *x, int64_t n, float mean, float std, uint32_t stream,
                             uint64_t seed)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = mean + std * rt_rand_normal(seed, stream, 0, (uint64_t)i);
}

void rt_param_init(rt_tensor *t, const rt_init *init, const char *name, uint64_t seed)
{
    SEG_ASSERT(t && init);
    if (init->kind == RT_INIT_NONE)
        return;
    if (init->kind == RT_INIT_CONST) {
        init_fill_const(t, init->a);
        return;
    }
    SEG_ASSERT(t->type.dtype == RT_F32);
    uint32_t stream = rt_hash_str(name ? name : "");
    int64_t n = rt_type_numel(&t->type);
    if (init->kind == RT_INIT_UNIFORM)
        init_fill_uniform(rt_f32(t), n, init->a, init->b, stream, seed);
    else if (init->kind == RT_INIT_NORMAL)
        init_fill_normal(rt_f32(t), n, init->a, init->b, stream, seed);
    else
        SEG_UNREACHABLE();
}
