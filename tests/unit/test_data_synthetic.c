/* test_data_synthetic.c — the built-in phantoms: determinism by (seed,
 * case), label statistics (organ in every case, lesion count and radius,
 * label values), measured CNRs against their targets, the HU mapping,
 * irregular organs (far from their best-fit ellipsoid, unlike the
 * irregularity = 0 control), option setting by name, and speed. The small
 * lesion mode: labels 0/1, lesion radius 1-3 voxels, lesion fraction under
 * 1 %, lesions inside the organ, determinism, and its defaults yielding to
 * options given by name; the default mode pinned to its pre-mode bits.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SYNTH_TEST_MAX 32 /* components recorded per case */

static rt_synth_opts synth_opts(const char *kind)
{
    rt_synth_opts o;
    rt_error e = {{0}};
    if (rt_synth_opts_init(&o, kind, &e))
        test_fail_at(__FILE__, __LINE__, "%s", e.msg);
    return o;
}

static int synth_gen(const rt_synth_opts *o, int index, rt_case *c)
{
    rt_error e = {{0}};
    int rc = rt_synth_case(o, index, c, &e);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "rt_synth_case: %s", e.msg);
    return rc;
}

TEST(data_synth_deterministic)
{
    long live = seg_alloc_live();
    rt_synth_opts o = synth_opts("lesions3d");
    o.size[0] = o.size[1] = o.size[2] = 32;
    o.cases = 4;
    rt_dataset ds = {0};
    rt_error e = {{0}};
    CHECK_INT(rt_dataset_synthetic(&ds, &o, &e), 0);
    CHECK_INT(ds.n, 4);
    rt_case c;
    if (synth_gen(&o, 3, &c) == 0) { /* case 3 alone equals case 3 made after 0..2 */
        CHECK(memcmp(c.image, ds.cases[3].image, 32 * 32 * 32 * sizeof(float)) == 0);
        CHECK(memcmp(c.label, ds.cases[3].label, 32 * 32 * 32 * sizeof(int32_t)) == 0);
        CHECK_STR(c.source, "lesions3d case 3");
        CHECK(memcmp(c.image, ds.cases[2].image, 32 * 32 * 32 * sizeof(float)) != 0);
        rt_case_free(&c);
    }
    o.seed = 2;
    if (synth_gen(&o, 3, &c) == 0) {
        CHECK(memcmp(c.image, ds.cases[3].image, 32 * 32 * 32 * sizeof(float)) != 0);
        rt_case_free(&c);
    }
    rt_dataset_free(&ds);
    CHECK_INT(seg_alloc_live(), live);
}

/* ---------------------------------------------------- lesion components */

/* One connected component: its voxel count and bounding-box extent. */
typedef struct component {
    int64_t size;
    int64_t extent[3]; /* voxels along each axis, slowest first */
} component;

/* Visit the neighbours of v: the 6 face neighbours, or all 26 with conn26. */
static int64_t component_grow(const rt_case *c, int cls, int conn26, int64_t v, uint8_t *seen,
                              int64_t *stack, int64_t top)
{
    const int64_t *s = c->size;
    int64_t p[3] = {v / (s[1] * s[2]), (v / s[2]) % s[1], v % s[2]};
    for (int k = 0; k < 27; k++) {
        int64_t o[3] = {k / 9 - 1, (k / 3) % 3 - 1, k % 3 - 1};
        int64_t q[3] = {p[0] + o[0], p[1] + o[1], p[2] + o[2]};
        if (llabs(o[0]) + llabs(o[1]) + llabs(o[2]) != 1 && !conn26)
            continue;
        if (q[0] < 0 || q[1] < 0 || q[2] < 0 || q[0] >= s[0] || q[1] >= s[1] || q[2] >= s[2])
            continue;
        int64_t w = (q[0] * s[1] + q[1]) * s[2] + q[2];
        if (c->label[w] == cls && !seen[w])
            seen[w] = 1, stack[top++] = w;
    }
    return top;
}

/* The connected components of label cls (flood fill); returns their count,
 * fills the first max of them. */
static int components(const rt_case *c, int cls, int conn26, component *out, int max)
{
    int64_t n = rt_case_numel(c), *stack = seg_xcalloc((size_t)n, sizeof *stack);
    uint8_t *seen = seg_xcalloc((size_t)n, 1);
    const int64_t *s = c->size;
    int nc = 0;
    for (int64_t i = 0; i < n; i++) {
        if (c->label[i] != cls || seen[i])
            continue;
        int64_t top = 0, lo[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, hi[3] = {-1, -1, -1};
        component k = {0};
        stack[top++] = i, seen[i] = 1;
        while (top > 0) {
            int64_t v = stack[--top], p[3] = {v / (s[1] * s[2]), (v / s[2]) % s[1], v % s[2]};
            k.size++;
            for (int a = 0; a < 3; a++)
                lo[a] = p[a] < lo[a] ? p[a] : lo[a], hi[a] = p[a] > hi[a] ? p[a] : hi[a];
            top = component_grow(c, cls, conn26, v, seen, stack, top);
        }
        for (int a = 0; a < 3; a++)
            k.extent[a] = hi[a] - lo[a] + 1;
        if (nc < max)
            out[nc] = k;
        nc++;
    }
    seg_free(stack);
    seg_free(seen);
    return nc;
}

static void check_labels(const rt_case *c, int *with_lesions)
{
    int64_t n = rt_case_numel(c), organ = 0;
    component les[16];
    for (int64_t i = 0; i < n; i++) {
        CHECK(c->label[i] >= 0 && c->label[i] <= 2);
        organ += c->label[i] >= 1;
    }
    CHECK(organ > n / 50); /* the organ is there, and sizeable */
    int nl = components(c, 2, 0, les, 16);
    CHECK(nl <= 4);
    *with_lesions += nl > 0;
    double vox = fmin(c->spacing[0], c->spacing[1]), cell = c->spacing[0] * c->spacing[1];
    if (c->nsp == 3)
        vox = fmin(vox, c->spacing[2]), cell *= c->spacing[2];
    double scale = cell / pow(vox, c->nsp);
    for (int k = 0; k < nl && k < 16; k++) { /* radius in finest-spacing voxels */
        double v = (double)les[k].size * scale;
        double r = c->nsp == 3 ? cbrt(3.0 * v / (4 * M_PI)) : sqrt(v / M_PI);
        if (!(r >= 1.6 && r <= 6.5))
            test_fail_at(__FILE__, __LINE__, "%s: lesion of %lld voxels, radius %.2f outside [2, 6]",
                         c->source, (long long)les[k].size, r);
    }
}

TEST(data_synth_labels)
{
    const char *kinds[2] = {"lesions3d", "lesions2d"};
    for (int k = 0; k < 2; k++) {
        rt_synth_opts o = synth_opts(kinds[k]);
        int with = 0;
        for (int i = 0; i < 10; i++) {
            rt_case c;
            if (synth_gen(&o, i, &c))
                continue;
            CHECK_INT(c.nsp, k == 0 ? 3 : 2);
            CHECK_INT(c.size[0], k == 0 ? 64 : 128);
            CHECK_INT(c.size[2], k == 0 ? 64 : 1);
            check_labels(&c, &with);
            rt_case_free(&c);
        }
        CHECK(with >= 4); /* lesions are common (0..4 per case) */
    }
}

/* ------------------------------------------------------------ CNR */

typedef struct region_stats {
    double sum, sum2;
    int64_t n;
} region_stats;

static void stats_add(region_stats *r, double v) { r->sum += v, r->sum2 += v * v, r->n++; }
static double stats_mean(const region_stats *r) { return r->sum / (double)r->n; }
static double stats_std(const region_stats *r)
{
    double m = stats_mean(r);
    return sqrt(r->sum2 / (double)r->n - m * m);
}

/* Depth of each voxel inside the region label == cls (mm to the nearest other voxel). */
static void depth_in(const rt_case *c, int cls, float *d)
{
    int64_t n = rt_case_numel(c);
    uint8_t *m = seg_xcalloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++)
        m[i] = c->label[i] != cls;
    rt_edt(m, c->nsp, c->size, c->spacing, d);
    seg_free(m);
}

/* Organ CNR and lesion CNR of one case, from interiors (away from blur). */
static void measure_cnr(const rt_case *c, double *organ_cnr, double *lesion_cnr)
{
    int64_t n = rt_case_numel(c);
    float *d0 = seg_xcalloc((size_t)n, sizeof(float)), *d1 = seg_xcalloc((size_t)n, sizeof(float));
    float *d2 = seg_xcalloc((size_t)n, sizeof(float));
    depth_in(c, 0, d0), depth_in(c, 1, d1), depth_in(c, 2, d2);
    region_stats bg = {0}, org = {0}, les = {0};
    for (int64_t i = 0; i < n; i++) {
        if (c->label[i] == 0 && d0[i] > 3)
            stats_add(&bg, c->image[i]);
        if (c->label[i] == 1 && d1[i] > 3)
            stats_add(&org, c->image[i]);
        if (c->label[i] == 2 && d2[i] > 1.5)
            stats_add(&les, c->image[i]);
    }
    *organ_cnr = (stats_mean(&org) - stats_mean(&bg)) / stats_std(&org);
    *lesion_cnr = les.n ? (stats_mean(&les) - stats_mean(&org)) / stats_std(&org) : NAN;
    seg_free(d0), seg_free(d1), seg_free(d2);
}

TEST(data_synth_cnr)
{
    rt_synth_opts o = synth_opts("lesions3d");
    o.lesion_sign = 1;
    o.lesions_min = 2;
    double so = 0, sl = 0;
    int no = 0, nl = 0;
    for (int i = 0; i < 6; i++) {
        rt_case c;
        if (synth_gen(&o, i, &c))
            continue;
        double oc, lc;
        measure_cnr(&c, &oc, &lc);
        so += oc, no++;
        if (!isnan(lc))
            sl += lc, nl++;
        rt_case_free(&c);
    }
    CHECK(no == 6 && nl >= 4);
    CHECK_NEAR(so / no, 3.0, 0.1);
    CHECK_NEAR(sl / nl, 1.5, 0.15);
}

TEST(data_synth_hu)
{
    rt_synth_opts o = synth_opts("lesions2d");
    o.hu = 1;
    rt_case c;
    if (synth_gen(&o, 0, &c))
        return;
    region_stats org = {0}, bg = {0};
    for (int64_t i = 0; i < rt_case_numel(&c); i++) {
        if (c.label[i] == 1)
            stats_add(&org, c.image[i]);
        if (c.label[i] == 0)
            stats_add(&bg, c.image[i]);
    }
    CHECK(stats_mean(&org) > 40 && stats_mean(&org) < 60);
    CHECK(fabs(stats_mean(&bg) - 5) < 8);
    CHECK(stats_std(&bg) > 10 && stats_std(&bg) < 25); /* noise of ~15 HU */
    rt_case_free(&c);
}

/* ------------------------------------------------------ irregularity */

static double det3(const double m[3][3])
{
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
           m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

static void inv3(const double m[3][3], double r[3][3])
{
    double d = det3(m);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            int a = (j + 1) % 3, b = (j + 2) % 3, p = (i + 1) % 3, q = (i + 2) % 3;
            r[i][j] = (m[a][p] * m[b][q] - m[a][q] * m[b][p]) / d;
        }
}

static void voxel_coords(const rt_case *c, int64_t i, double p[3])
{
    p[0] = (double)(i / (c->size[1] * c->size[2]));
    p[1] = (double)((i / c->size[2]) % c->size[1]);
    p[2] = (double)(i % c->size[2]);
}

/* IoU of the organ (label >= 1) with its moment-matched ellipsoid: a solid
 * ellipsoid's covariance is diag(a^2 / 5), so it is x' S^-1 x <= 5. */
static double ellipsoid_iou(const rt_case *c)
{
    int64_t n = rt_case_numel(c), cnt = 0;
    double mu[3] = {0}, cov[3][3] = {{0}}, inv[3][3];
    for (int64_t i = 0; i < n; i++)
        if (c->label[i] >= 1) {
            double p[3];
            voxel_coords(c, i, p);
            for (int a = 0; a < 3; a++) {
                mu[a] += p[a];
                for (int b = 0; b < 3; b++)
                    cov[a][b] += p[a] * p[b];
            }
            cnt++;
        }
    for (int a = 0; a < 3; a++)
        mu[a] /= (double)cnt;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            cov[a][b] = cov[a][b] / (double)cnt - mu[a] * mu[b];
    inv3(cov, inv);
    int64_t inter = 0, uni = 0;
    for (int64_t i = 0; i < n; i++) {
        double p[3], q = 0;
        voxel_coords(c, i, p);
        for (int a = 0; a < 3; a++)
            p[a] -= mu[a];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                q += p[a] * inv[a][b] * p[b];
        int in_e = q <= 5, in_o = c->label[i] >= 1;
        inter += in_e && in_o, uni += in_e || in_o;
    }
    return (double)inter / (double)uni;
}

TEST(data_synth_irregular)
{
    rt_synth_opts o = synth_opts("lesions3d"), round = synth_opts("lesions3d");
    round.irregularity = 0;
    double worst_round = 1, mean = 0;
    for (int i = 0; i < 6; i++) {
        rt_case c;
        if (synth_gen(&o, i, &c) == 0) {
            mean += ellipsoid_iou(&c) / 6;
            rt_case_free(&c);
        }
        if (synth_gen(&round, i, &c) == 0) {
            worst_round = fmin(worst_round, ellipsoid_iou(&c));
            rt_case_free(&c);
        }
    }
    CHECK(worst_round > 0.95); /* the measure recognises an ellipsoid */
    if (!(mean < 0.9))
        test_fail_at(__FILE__, __LINE__, "organs too ellipsoidal: mean IoU with fit %.3f", mean);
}

/* ------------------------------------------------------------ options */

TEST(data_synth_options)
{
    rt_synth_opts o = synth_opts("lesions2d");
    rt_error e = {{0}};
    double v[3] = {96, 80, 0};
    CHECK_INT(rt_synth_opts_set(&o, "size", v, 2, &e), 0);
    CHECK_INT(o.size[0], 96);
    CHECK_INT(o.size[1], 80);
    CHECK_INT(rt_synth_opts_set(&o, "size", v, 3, &e), -1);
    CHECK(strstr(e.msg, "'size' takes 1 or 2 values, got 3"));
    v[0] = 7;
    CHECK_INT(rt_synth_opts_set(&o, "seed", v, 1, &e), 0);
    CHECK_INT(o.seed, 7);
    v[0] = 2.5;
    CHECK_INT(rt_synth_opts_set(&o, "lesions_max", v, 1, &e), -1);
    CHECK(strstr(e.msg, "needs an integer"));
    CHECK_INT(rt_synth_opts_set(&o, "organ_cnr", v, 1, &e), 0);
    CHECK_NEAR(o.organ_cnr, 2.5, 0);
    CHECK_INT(rt_synth_opts_set(&o, "sigma", v, 1, &e), -1);
    CHECK(strstr(e.msg, "unknown synthetic option 'sigma' (known: cases, size,"));
    o.lesions_min = 5, o.lesions_max = 3;
    CHECK_INT(rt_synth_opts_check(&o, &e), -1);
    CHECK(strstr(e.msg, "lesions_min (5) <= lesions_max (3)"));
    CHECK_INT(rt_synth_opts_init(&o, "lesions4d", &e), -1);
    CHECK_STR(e.msg, "unknown synthetic data set 'lesions4d' (known: lesions3d, lesions2d)");
}

TEST(data_synth_anisotropic)
{
    rt_synth_opts o = synth_opts("lesions3d");
    o.size[0] = 24;
    o.spacing[0] = 2.5f; /* thick slices: the organ spans fewer of them */
    rt_case c;
    if (synth_gen(&o, 1, &c))
        return;
    int with = 0;
    check_labels(&c, &with);
    CHECK_NEAR(c.spacing[0], 2.5, 1e-6);
    rt_case_free(&c);
}

/* ------------------------------------------------- default mode pinned */

/* FNV-1a of a byte range, chained through h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return h;
}

/* Hashes of case 2 at 32^3 / 32^2 (it has lesions), taken before the
 * lesion modes existed: the default mode must stay bit for bit what the
 * S1 demo and the other tests were written against. The label hash is
 * exact anywhere; the image hash also pins libm's cos/exp/sqrt rounding,
 * so a new platform may need it re-taken (by checking out the commit
 * before the lesion modes). */
TEST(data_synth_default_pinned)
{
    static const struct { const char *kind; uint64_t label, image; } pin[2] = {
        {"lesions3d", 0x3edf36fc55ab9eb7u, 0x7d0ad6c67c652417u},
        {"lesions2d", 0x8e13b361609f1eb7u, 0xf1dd17c8315c6c63u},
    };
    for (int k = 0; k < 2; k++) {
        rt_synth_opts o = synth_opts(pin[k].kind);
        rt_error e = {{0}};
        o.size[0] = o.size[1] = 32, o.size[2] = o.nsp == 3 ? 32 : 1;
        CHECK_INT(rt_synth_opts_set_lesions(&o, "small", &e), 0);
        CHECK_INT(rt_synth_opts_set_lesions(&o, "default", &e), 0); /* and back */
        rt_case c;
        if (synth_gen(&o, 2, &c))
            continue;
        size_t n = (size_t)rt_case_numel(&c);
        uint64_t basis = 14695981039346656037u;
        CHECK(fnv1a(basis, c.label, n * sizeof(int32_t)) == pin[k].label);
        CHECK(fnv1a(basis, c.image, n * sizeof(float)) == pin[k].image);
        rt_case_free(&c);
    }
}

/* ------------------------------------------------------ small lesions */

static rt_synth_opts small_opts(const char *kind, int64_t size)
{
    rt_synth_opts o = synth_opts(kind);
    rt_error e = {{0}};
    if (rt_synth_opts_set_lesions(&o, "small", &e))
        test_fail_at(__FILE__, __LINE__, "%s", e.msg);
    for (int i = 0; i < o.nsp; i++)
        o.size[i] = size;
    return o;
}

/* What every small-mode case of the sweep below adds up. */
typedef struct small_stats {
    double fraction_sum, fraction_max;
    int cases, lesions, min_lesions;
} small_stats;

/* A small lesion contains the radius-1 ball (extent >= 3, 7 voxels in 3D,
 * 5 in 2D) and lies within the radius-3 ball (extent <= 7, at most 123
 * voxels in 3D, 29 in 2D). */
static void check_small_lesion(const rt_case *c, const component *k)
{
    int64_t vmin = c->nsp == 3 ? 7 : 5, vmax = c->nsp == 3 ? 123 : 29;
    int ok = k->size >= vmin && k->size <= vmax;
    for (int a = 0; a < c->nsp; a++) /* 2D: size is {Y, X, 1} */
        ok &= k->extent[a] >= 3 && k->extent[a] <= 7;
    if (!ok)
        test_fail_at(__FILE__, __LINE__, "%s: lesion of %lld voxels, extent %lldx%lldx%lld: "
                     "not within radius 1-3", c->source, (long long)k->size,
                     (long long)k->extent[0], (long long)k->extent[1], (long long)k->extent[2]);
}

/* Labels 0/1 only, every lesion voxel inside the organ of the default
 * case with the same (seed, index), each lesion 1-3 voxels in radius. */
static void check_small_case(const rt_synth_opts *o, int index, small_stats *st)
{
    rt_synth_opts od = *o;
    rt_error e = {{0}};
    rt_case c, d;
    CHECK_INT(rt_synth_opts_set_lesions(&od, "default", &e), 0);
    if (synth_gen(o, index, &c))
        return;
    if (synth_gen(&od, index, &d) == 0) {
        int64_t n = rt_case_numel(&c), les = 0, bad = 0, outside = 0;
        for (int64_t i = 0; i < n; i++) {
            bad += c.label[i] != 0 && c.label[i] != 1;
            outside += c.label[i] == 1 && d.label[i] < 1;
            les += c.label[i] == 1;
        }
        CHECK_INT(bad, 0);
        CHECK_INT(outside, 0);
        double f = (double)les / (double)n;
        st->fraction_sum += f, st->fraction_max = fmax(st->fraction_max, f);
        rt_case_free(&d);
    }
    component k[SYNTH_TEST_MAX];
    int nl = components(&c, 1, 1, k, SYNTH_TEST_MAX);
    CHECK(nl <= o->lesions_max); /* 26-connected: no two lesions touch */
    for (int i = 0; i < nl && i < SYNTH_TEST_MAX; i++)
        check_small_lesion(&c, &k[i]);
    st->cases++, st->lesions += nl;
    st->min_lesions = st->cases == 1 || nl < st->min_lesions ? nl : st->min_lesions;
    rt_case_free(&c);
}

/* 48 cases at 32^3: lesion fraction 0.39 % on average (0.10-0.69 %), 3.5
 * lesions per case (1-5: a small organ has room for fewer than drawn). */
TEST(data_synth_small_3d)
{
    rt_synth_opts o = small_opts("lesions3d", 32);
    small_stats st = {0};
    for (int i = 0; i < 48; i++)
        check_small_case(&o, i, &st);
    CHECK_INT(st.cases, 48);
    CHECK(st.min_lesions >= 1); /* lesions_min = 2 >= 1: never a case without */
    CHECK(st.lesions >= 3 * 48); /* several per case */
    if (!(st.fraction_max < 0.01 && st.fraction_sum / st.cases < 0.006))
        test_fail_at(__FILE__, __LINE__, "lesion fraction mean %.3f %%, max %.3f %%",
                     100 * st.fraction_sum / st.cases, 100 * st.fraction_max);
}

/* 12 cases at 64^3 (mean 0.068 % over 48), and 2D at its default 128^2
 * (mean 0.34 % over 48). */
TEST(data_synth_small_sizes)
{
    rt_synth_opts o = small_opts("lesions3d", 64), o2 = small_opts("lesions2d", 128);
    small_stats st = {0}, st2 = {0};
    for (int i = 0; i < 12; i++)
        check_small_case(&o, i, &st), check_small_case(&o2, i, &st2);
    CHECK(st.min_lesions >= 2 && st2.min_lesions >= 2); /* big organs: room for lesions_min */
    CHECK(st.fraction_max < 0.002);
    CHECK(st2.fraction_max < 0.01);
}

/* Thick slices: radii are in voxels of the finest spacing, so a lesion
 * spans fewer slices; labels and placement still hold. */
TEST(data_synth_small_anisotropic)
{
    rt_synth_opts o = small_opts("lesions3d", 32);
    o.size[0] = 16, o.spacing[0] = 2;
    for (int i = 0; i < 4; i++) {
        rt_case c;
        if (synth_gen(&o, i, &c))
            continue;
        int64_t les = 0, bad = 0;
        for (int64_t v = 0; v < rt_case_numel(&c); v++)
            les += c.label[v] == 1, bad += c.label[v] > 1;
        CHECK(les > 0);
        CHECK_INT(bad, 0);
        rt_case_free(&c);
    }
}

TEST(data_synth_small_deterministic)
{
    long live = seg_alloc_live();
    rt_synth_opts o = small_opts("lesions3d", 32);
    o.cases = 6;
    rt_dataset ds = {0};
    rt_error e = {{0}};
    CHECK_INT(rt_dataset_synthetic(&ds, &o, &e), 0);
    rt_case c;
    size_t n = 32 * 32 * 32;
    if (synth_gen(&o, 5, &c) == 0) { /* case 5 alone equals case 5 made after 0..4 */
        CHECK(memcmp(c.image, ds.cases[5].image, n * sizeof(float)) == 0);
        CHECK(memcmp(c.label, ds.cases[5].label, n * sizeof(int32_t)) == 0);
        CHECK(memcmp(c.label, ds.cases[4].label, n * sizeof(int32_t)) != 0);
        rt_case_free(&c);
    }
    o.seed = 9;
    if (synth_gen(&o, 5, &c) == 0) {
        CHECK(memcmp(c.label, ds.cases[5].label, n * sizeof(int32_t)) != 0);
        rt_case_free(&c);
    }
    rt_dataset_free(&ds);
    CHECK_INT(seg_alloc_live(), live);
}

/* The mode sets its defaults; an option given by name wins in either order. */
TEST(data_synth_small_options)
{
    rt_synth_opts o = synth_opts("lesions3d");
    rt_error e = {{0}};
    double v = 4;
    CHECK_INT(rt_synth_classes(&o), 3);
    CHECK_STR(rt_synth_class_name(&o, 1), "organ");
    CHECK_INT(rt_synth_opts_set(&o, "lesion_cnr", &v, 1, &e), 0); /* before the mode */
    CHECK_INT(rt_synth_opts_set_lesions(&o, "small", &e), 0);
    CHECK_NEAR(o.lesion_cnr, 4, 0);
    CHECK_INT(o.lesions_min, 2);
    CHECK_INT(o.lesions_max, 6);
    CHECK_NEAR(o.lesion_radius_min, 1, 0);
    CHECK_NEAR(o.lesion_radius_max, 3, 0);
    CHECK_NEAR(o.lesion_irregularity, 0.15, 1e-7);
    v = 3;
    CHECK_INT(rt_synth_opts_set(&o, "lesions_max", &v, 1, &e), 0); /* after the mode */
    CHECK_INT(o.lesions_max, 3);
    CHECK_INT(rt_synth_classes(&o), 2);
    CHECK_STR(rt_synth_class_name(&o, 0), "background");
    CHECK_STR(rt_synth_class_name(&o, 1), "lesion");
    CHECK(rt_synth_class_name(&o, 2) == NULL);
    CHECK_INT(rt_synth_opts_check(&o, &e), 0);
    rt_synth_opts fresh = synth_opts("lesions3d");
    CHECK_INT(rt_synth_opts_set_lesions(&fresh, "small", &e), 0);
    CHECK_NEAR(fresh.lesion_cnr, 2.5, 0);
    CHECK_INT(rt_synth_opts_set_lesions(&o, "default", &e), 0);
    CHECK_INT(o.lesions_max, 3); /* still given by name */
    CHECK_INT(o.lesion_radius_max, 6);
    CHECK_STR(rt_synth_class_name(&o, 2), "lesion");
    CHECK_INT(rt_synth_opts_set_lesions(&o, "tiny", &e), -1);
    CHECK_STR(e.msg, "unknown synthetic lesion mode 'tiny' (known: default, small)");
    v = 0.3;
    CHECK_INT(rt_synth_opts_set(&o, "lesion_irregularity", &v, 1, &e), 0);
    CHECK_INT(rt_synth_opts_check(&o, &e), -1);
    CHECK(strstr(e.msg, "lesion_irregularity 0.3 out of range [0, 0.25]"));
}
