/* sampler.c — random patches with foreground oversampling (nnU-Net style).
 *
 * A batch of B patches: cases come from a permutation of the dataset that
 * is fixed per (seed, epoch), item g = batch_index * B + i takes case
 * perm[g mod n], so an epoch of n / B batches sees every case once. The
 * last round(B * fg_fraction) items are forced to hold foreground, as in
 * nnU-Net (1 of 2, 3 or 4 at 0.33); when that rounds to 0 (B * f < 0.5,
 * e.g. B = 1) one item is forced with probability B * f instead, so small
 * batches still see foreground at about the asked rate. A forced patch
 * picks a foreground class present in the case uniformly (so rare small
 * lesions are found as often as big organs), then one of its voxels
 * uniformly, and centres the patch on it,
 * clamped so the patch stays inside the case where it fits (the voxel is
 * always inside the patch). Other patches are uniform over all origins.
 * When a case is smaller than the patch, origins go negative and the batch
 * assembler pads. Every draw is keyed by (seed, epoch, item, slot), so a
 * batch is a function of those alone.
 */
#include "runtime/runtime.h"

#include <math.h>

enum {
    STREAM_PERM = 0x50450000,  /* epoch permutation */
    STREAM_FG = 0x46470000,    /* the forced patch of small batches */
    STREAM_PATCH = 0x50410000, /* per-item draws */
};

/* Per-item draw slots, so each decision has its own counter. */
enum { SLOT_CLASS = 0, SLOT_VOXEL = 1, SLOT_AXIS = 2 /* + axis */, SLOT_COUNT = 8 };

void rt_sampler_init(rt_sampler *s, int nsp, const int64_t patch[3], int batch, uint64_t seed)
{
    for (int i = 0; i < 3; i++)
        s->patch[i] = i < nsp ? patch[i] : 1;
    s->batch = batch;
    s->fg_fraction = 0.33f;
    s->seed = seed;
}

static double smp_u(const rt_sampler *s, uint32_t stream, uint64_t epoch, uint64_t index)
{
    return rt_rand_uniform01(s->seed, stream, epoch, index);
}

static int64_t smp_pick(double u, int64_t n)
{
    int64_t k = (int64_t)(u * (double)n);
    return k < n ? k : n - 1;
}

/* Fisher-Yates with counter-based draws. */
static int *smp_permutation(const rt_sampler *s, int n, uint64_t epoch)
{
    int *p = seg_xcalloc((size_t)n, sizeof *p);
    for (int i = 0; i < n; i++)
        p[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)smp_pick(smp_u(s, STREAM_PERM, epoch, (uint64_t)i), i + 1);
        int t = p[i];
        p[i] = p[j], p[j] = t;
    }
    return p;
}

/* A uniformly chosen voxel of a uniformly chosen foreground class, or -1. */
static int64_t smp_fg_voxel(const rt_case *c, double u_class, double u_voxel)
{
    int64_t n = rt_case_numel(c), top = 0;
    for (int64_t i = 0; i < n; i++)
        top = c->label[i] > top ? c->label[i] : top;
    if (top == 0)
        return -1;
    int64_t *count = seg_xcalloc((size_t)top + 1, sizeof *count), present = 0;
    for (int64_t i = 0; i < n; i++)
        count[c->label[i]]++;
    for (int64_t k = 1; k <= top; k++)
        present += count[k] > 0;
    int64_t want = smp_pick(u_class, present), cls = 0;
    for (cls = 1; want > 0 || count[cls] == 0; cls++)
        want -= count[cls] > 0;
    int64_t k = smp_pick(u_voxel, count[cls]), at = 0;
    seg_free(count);
    for (at = 0; at < n; at++)
        if (c->label[at] == cls && k-- == 0)
            break;
    return at;
}

/* Origin range along one axis: [lo, hi]. */
static void smp_range(int64_t size, int64_t patch, int64_t *lo, int64_t *hi)
{
    *lo = size >= patch ? 0 : size - patch;
    *hi = size >= patch ? size - patch : 0;
}

static void smp_item(const rt_sampler *s, const rt_case *c, uint64_t epoch, uint64_t g, int forced,
                     rt_patch *out)
{
    uint64_t base = g * SLOT_COUNT;
    int64_t v = -1;
    if (forced)
        v = smp_fg_voxel(c, smp_u(s, STREAM_PATCH, epoch, base + SLOT_CLASS),
                         smp_u(s, STREAM_PATCH, epoch, base + SLOT_VOXEL));
    out->forced_fg = v >= 0;
    int64_t pos[3] = {v / (c->size[1] * c->size[2]), (v / c->size[2]) % c->size[1], v % c->size[2]};
    for (int a = 0; a < 3; a++) {
        int64_t lo, hi, o;
        smp_range(c->size[a], s->patch[a], &lo, &hi);
        if (v >= 0)
            o = pos[a] - s->patch[a] / 2;
        else
            o = lo + smp_pick(smp_u(s, STREAM_PATCH, epoch, base + SLOT_AXIS + (uint64_t)a),
                              hi - lo + 1);
        out->origin[a] = o < lo ? lo : o > hi ? hi : o;
    }
}

/* Items forced to hold foreground in this batch (the last ones):
 * round(B * f), or when that is 0, one with probability B * f. */
static int smp_forced_count(const rt_sampler *s, uint64_t epoch, uint64_t batch_index)
{
    double want = (double)s->batch * s->fg_fraction;
    int n = (int)floor(want + 0.5);
    if (n == 0 && smp_u(s, STREAM_FG, epoch, batch_index) < want)
        n = 1;
    return n > s->batch ? s->batch : n;
}

int rt_sampler_batch(const rt_sampler *s, const rt_dataset *ds, uint64_t epoch, uint64_t batch_index,
                     rt_patch *out, rt_error *err)
{
    if (ds->n == 0 || s->batch < 1) {
        rt_error_set(err, ds->n == 0 ? "cannot sample patches from an empty dataset"
                                     : "batch size must be at least 1");
        return -1;
    }
    if (!(s->fg_fraction >= 0 && s->fg_fraction <= 1)) {
        rt_error_set(err, "foreground fraction %g is not in [0, 1]", s->fg_fraction);
        return -1;
    }
    int *perm = smp_permutation(s, ds->n, epoch);
    int forced = smp_forced_count(s, epoch, batch_index);
    for (int i = 0; i < s->batch; i++) {
        uint64_t g = batch_index * (uint64_t)s->batch + (uint64_t)i;
        out[i].case_index = perm[g % (uint64_t)ds->n];
        smp_item(s, &ds->cases[out[i].case_index], epoch, g, i >= s->batch - forced, &out[i]);
    }
    seg_free(perm);
    return 0;
}
