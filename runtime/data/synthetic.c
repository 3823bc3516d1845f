/* synthetic.c — built-in phantoms, "lesions3d" and "lesions2d", so every
 * model trains with no download.
 *
 * A case is built in physical millimetres (spacing aware) in five steps:
 *   1. organ: an ellipsoid (ellipse in 2D) with random semi-axes, centre and
 *      orientation whose radius is modulated by three low-frequency
 *      harmonics of the direction u:  inside iff |s| < 1 + sum_j a_j
 *      cos(w_j (d_j . u) + phi_j), s = the point in the organ's normalised
 *      frame, so the outline is irregular, never a perfect ellipsoid;
 *   2. lesions: non-overlapping balls (or, with lesion_irregularity > 0,
 *      balls whose radius is modulated like the organ's) placed where the
 *      organ is deeper than their bounding radius (depth from rt_edt), so
 *      every lesion lies whole inside the organ; labels 0 background,
 *      1 organ, 2 lesion;
 *   3. intensities: background = a smooth value-noise field (two octaves,
 *      smoothstep interpolation, normalised to std `texture`), organ =
 *      organ_cnr * noise, each lesion = organ +- lesion_cnr * noise;
 *   4. partial volume: a separable Gaussian blur (sigma `blur` voxels);
 *   5. Gaussian noise of sigma `noise`, then the optional HU mapping.
 * Lesion modes (rt_synth_opts_set_lesions): "default" is the above with 0-4
 * balls of radius 2-6 voxels; "small" draws 2-6 irregular lesions of radius
 * 1-3 voxels (under 1 % of the volume) and relabels at the end, lesion 1 and
 * everything else 0, so the organ is left in the image as context and
 * distractor. A mode is a set of option defaults (synth_modes) plus that
 * relabelling and an exact placement two voxels apart; the default mode
 * draws exactly the random numbers it always did, so its cases are
 * unchanged bit for bit.
 * Every random number comes from the counter-based generator keyed by
 * (seed, stream, case index, counter), and the noise counter is the voxel
 * index, so a case depends on (seed, index) only, never on order or threads.
 */
#include "runtime/runtime.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define PI 3.14159265358979323846
#define SYNTH_HARMONICS 3  /* radial harmonics of the organ outline */
#define SYNTH_MAX_LESIONS 16
#define SYNTH_TRIES 32     /* placements tried per lesion before giving up */
#define SYNTH_SMALL_CNR 2.5 /* lesion_cnr of the small mode: see docs/data.md */

/* Random streams; nsp is mixed in so 2D and 3D phantoms differ. */
enum { STREAM_SHAPE = 0x53480000, STREAM_TEXTURE = 0x54580000, STREAM_NOISE = 0x4e530000 };

/* A sequential draw from one (seed, stream, case) sequence. */
typedef struct synth_rng {
    uint64_t seed;
    uint32_t stream;
    uint64_t step;  /* the case index */
    uint64_t next;  /* counter of the next draw */
} synth_rng;

static double rng_u(synth_rng *r) { return rt_rand_uniform01(r->seed, r->stream, r->step, r->next++); }
static double rng_range(synth_rng *r, double lo, double hi) { return lo + (hi - lo) * rng_u(r); }
static double rng_n(synth_rng *r) { return rt_rand_normal(r->seed, r->stream, r->step, r->next++); }

/* An irregular outline: radius factor 1 + sum_h amp_h cos(freq_h (dir_h . u)
 * + phase_h) in direction u. Organs and irregular lesions share it. */
typedef struct synth_outline {
    double dir[SYNTH_HARMONICS][3];
    double freq[SYNTH_HARMONICS], amp[SYNTH_HARMONICS], phase[SYNTH_HARMONICS];
    double sum;          /* sum of amp: the factor lies in 1 -+ sum */
} synth_outline;

/* The organ: an ellipsoid frame plus radial harmonics (all in mm). */
typedef struct synth_organ {
    double centre[3];
    double axis[3][3];   /* rows: orthonormal axes of the organ frame */
    double radius[3];    /* semi-axes along axis[] (2D: radius[2] unused) */
    synth_outline h;     /* in the normalised frame */
    double reach;        /* bound on the distance from centre to the outline */
} synth_organ;

/* A case being generated: geometry and work arrays. */
typedef struct synth_job {
    const rt_synth_opts *o;
    int64_t n[3];        /* size, unused entries 1 */
    double sp[3];        /* spacing, unused entries 0 so they add nothing */
    int64_t numel;
    float *img;
    int32_t *lab;
    synth_rng rng;       /* STREAM_SHAPE draws */
} synth_job;

/* ------------------------------------------------------------ options */

typedef enum { OPT_INT, OPT_FLOAT, OPT_U64, OPT_SIZE, OPT_SPACING } synth_opt_kind;

/* Options settable by name; a row's index is its bit in rt_synth_opts.given. */
static const struct synth_opt {
    const char *name;
    synth_opt_kind kind;
    size_t offset;
} synth_opt_table[] = {
#define OPT(name, kind) {#name, kind, offsetof(rt_synth_opts, name)}
    OPT(cases, OPT_INT),           OPT(size, OPT_SIZE),
    OPT(spacing, OPT_SPACING),     OPT(seed, OPT_U64),
    OPT(organ_cnr, OPT_FLOAT),     OPT(lesion_cnr, OPT_FLOAT),
    OPT(lesion_sign, OPT_INT),     OPT(lesions_min, OPT_INT),
    OPT(lesions_max, OPT_INT),     OPT(lesion_radius_min, OPT_FLOAT),
    OPT(lesion_radius_max, OPT_FLOAT), OPT(organ_radius_min, OPT_FLOAT),
    OPT(organ_radius_max, OPT_FLOAT),  OPT(irregularity, OPT_FLOAT),
    OPT(texture, OPT_FLOAT),       OPT(texture_scale, OPT_FLOAT),
    OPT(noise, OPT_FLOAT),         OPT(blur, OPT_FLOAT),
    OPT(hu, OPT_INT),              OPT(hu_scale, OPT_FLOAT),
    OPT(hu_offset, OPT_FLOAT),     OPT(lesion_irregularity, OPT_FLOAT),
#undef OPT
};
#define N_SYNTH_OPTS ((int)(sizeof synth_opt_table / sizeof synth_opt_table[0]))
_Static_assert(N_SYNTH_OPTS <= 32, "rt_synth_opts.given has one bit per option");

/* The lesion options a mode sets. "default" is the only place the default
 * mode's lesion values live (rt_synth_opts_init applies it), so today's
 * phantoms stay what they were. "small": see docs/data.md for the measured
 * lesion fractions these give. */
#define SYNTH_MODE_DEFAULTS 6
static const struct synth_mode {
    const char *name;
    struct {
        const char *option; /* a name in synth_opt_table */
        double value;
    } set[SYNTH_MODE_DEFAULTS];
} synth_modes[] = {
    [RT_SYNTH_LESIONS_DEFAULT] = {"default", {{"lesions_min", 0}, {"lesions_max", 4},
        {"lesion_radius_min", 2}, {"lesion_radius_max", 6}, {"lesion_cnr", 1.5},
        {"lesion_irregularity", 0}}},
    [RT_SYNTH_LESIONS_SMALL] = {"small", {{"lesions_min", 2}, {"lesions_max", 6},
        {"lesion_radius_min", 1}, {"lesion_radius_max", 3}, {"lesion_cnr", SYNTH_SMALL_CNR},
        {"lesion_irregularity", 0.15}}},
};
#define N_SYNTH_MODES ((int)(sizeof synth_modes / sizeof synth_modes[0]))

static int synth_opt_find(const char *name)
{
    for (int i = 0; i < N_SYNTH_OPTS; i++)
        if (strcmp(synth_opt_table[i].name, name) == 0)
            return i;
    return -1;
}

/* Store one scalar, already checked, into option k. */
static void synth_opt_write(rt_synth_opts *o, int k, double v)
{
    const struct synth_opt *d = &synth_opt_table[k];
    char *p = (char *)o + d->offset;
    if (d->kind == OPT_INT)
        *(int *)p = (int)v;
    else if (d->kind == OPT_U64)
        *(uint64_t *)p = (uint64_t)v;
    else
        *(float *)p = (float)v;
}

/* Apply a mode's lesion defaults, skipping options given by name. */
static void synth_mode_apply(rt_synth_opts *o, rt_synth_lesion_mode m)
{
    o->lesion_mode = m;
    for (int i = 0; i < SYNTH_MODE_DEFAULTS; i++) {
        int k = synth_opt_find(synth_modes[m].set[i].option);
        SEG_ASSERT(k >= 0);
        if (!(o->given & (UINT32_C(1) << k)))
            synth_opt_write(o, k, synth_modes[m].set[i].value);
    }
}

int rt_synth_opts_init(rt_synth_opts *o, const char *kind, rt_error *err)
{
    int nsp = strcmp(kind, "lesions3d") == 0 ? 3 : strcmp(kind, "lesions2d") == 0 ? 2 : 0;
    if (!nsp) {
        rt_error_set(err, "unknown synthetic data set '%s' (known: lesions3d, lesions2d)", kind);
        return -1;
    }
    *o = (rt_synth_opts){
        .nsp = nsp, .cases = nsp == 3 ? 16 : 64,
        .size = {nsp == 3 ? 64 : 128, nsp == 3 ? 64 : 128, nsp == 3 ? 64 : 1},
        .spacing = {1, 1, 1}, .seed = 1,
        .organ_cnr = 3, .lesion_sign = 0,
        .organ_radius_min = 0.2f, .organ_radius_max = 0.3f, .irregularity = 0.15f,
        .texture = 0.3f, .texture_scale = 16, .noise = 1, .blur = 0.7f,
        .hu = 0, .hu_scale = 15, .hu_offset = 5,
    };
    synth_mode_apply(o, RT_SYNTH_LESIONS_DEFAULT);
    return 0;
}

int rt_synth_opts_set_lesions(rt_synth_opts *o, const char *mode, rt_error *err)
{
    for (int m = 0; m < N_SYNTH_MODES; m++)
        if (strcmp(synth_modes[m].name, mode) == 0) {
            synth_mode_apply(o, (rt_synth_lesion_mode)m);
            return 0;
        }
    rt_error_set(err, "unknown synthetic lesion mode '%s' (known: default, small)", mode);
    return -1;
}

int rt_synth_classes(const rt_synth_opts *o)
{
    return o->lesion_mode == RT_SYNTH_LESIONS_SMALL ? 2 : 3;
}

const char *rt_synth_class_name(const rt_synth_opts *o, int cls)
{
    static const char *const full[3] = {"background", "organ", "lesion"};
    static const char *const small[2] = {"background", "lesion"};
    if (cls < 0 || cls >= rt_synth_classes(o))
        return NULL;
    return o->lesion_mode == RT_SYNTH_LESIONS_SMALL ? small[cls] : full[cls];
}

static void synth_opt_names(char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < N_SYNTH_OPTS && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? ", " : "", synth_opt_table[i].name);
}

/* size = [n] or one n per axis; spacing likewise. */
static int synth_opt_vector(rt_synth_opts *o, const struct synth_opt *d, const double *v, int n,
                            rt_error *err)
{
    if (n != 1 && n != o->nsp) {
        rt_error_set(err, "synthetic option '%s' takes 1 or %d values, got %d", d->name, o->nsp, n);
        return -1;
    }
    for (int i = 0; i < o->nsp; i++) {
        double x = v[n == 1 ? 0 : i];
        if (d->kind == OPT_SIZE && (x != floor(x) || x < 1 || x > 1e5)) {
            rt_error_set(err, "synthetic option 'size' needs positive integers, got %g", x);
            return -1;
        }
        if (d->kind == OPT_SIZE)
            o->size[i] = (int64_t)x;
        else
            o->spacing[i] = (float)x;
    }
    return 0;
}

int rt_synth_opts_set(rt_synth_opts *o, const char *name, const double *v, int n, rt_error *err)
{
    int k = synth_opt_find(name);
    if (k < 0) {
        char names[512];
        synth_opt_names(names, sizeof names);
        rt_error_set(err, "unknown synthetic option '%s' (known: %s)", name, names);
        return -1;
    }
    const struct synth_opt *d = &synth_opt_table[k];
    if (d->kind == OPT_SIZE || d->kind == OPT_SPACING) {
        if (synth_opt_vector(o, d, v, n, err))
            return -1;
    } else if (n != 1) {
        rt_error_set(err, "synthetic option '%s' takes one value, got %d", name, n);
        return -1;
    } else if (d->kind != OPT_FLOAT && (v[0] != floor(v[0]) || (d->kind == OPT_U64 && v[0] < 0))) {
        rt_error_set(err, "synthetic option '%s' needs an integer, got %g", name, v[0]);
        return -1;
    } else {
        synth_opt_write(o, k, v[0]);
    }
    o->given |= UINT32_C(1) << k;
    return 0;
}

/* Geometry limits: an organ and a lesion must fit. */
static int synth_check_geometry(const rt_synth_opts *o, rt_error *err)
{
    for (int i = 0; i < o->nsp; i++) {
        if (o->size[i] < 8 || o->size[i] > 4096) {
            rt_error_set(err, "synthetic: size %lld out of range [8, 4096]", (long long)o->size[i]);
            return -1;
        }
        if (!(o->spacing[i] > 0)) {
            rt_error_set(err, "synthetic: spacing must be positive, got %g", o->spacing[i]);
            return -1;
        }
    }
    if (!(o->organ_radius_min > 0 && o->organ_radius_min <= o->organ_radius_max &&
          o->organ_radius_max <= 0.45f)) {
        rt_error_set(err, "synthetic: need 0 < organ_radius_min <= organ_radius_max <= 0.45");
        return -1;
    }
    if (!(o->irregularity >= 0 && o->irregularity <= 0.25f)) {
        rt_error_set(err, "synthetic: irregularity %g out of range [0, 0.25]", o->irregularity);
        return -1;
    }
    if (!(o->lesion_irregularity >= 0 && o->lesion_irregularity <= 0.25f)) {
        rt_error_set(err, "synthetic: lesion_irregularity %g out of range [0, 0.25]",
                     o->lesion_irregularity);
        return -1;
    }
    return 0;
}

/* Lesion and intensity limits. */
static int synth_check_values(const rt_synth_opts *o, rt_error *err)
{
    if (o->cases < 1) {
        rt_error_set(err, "synthetic: cases must be at least 1, got %d", o->cases);
        return -1;
    }
    if (o->lesions_min < 0 || o->lesions_min > o->lesions_max || o->lesions_max > SYNTH_MAX_LESIONS) {
        rt_error_set(err, "synthetic: need 0 <= lesions_min (%d) <= lesions_max (%d) <= %d",
                     o->lesions_min, o->lesions_max, SYNTH_MAX_LESIONS);
        return -1;
    }
    if (!(o->lesion_radius_min > 0 && o->lesion_radius_min <= o->lesion_radius_max)) {
        rt_error_set(err, "synthetic: need 0 < lesion_radius_min (%g) <= lesion_radius_max (%g)",
                     o->lesion_radius_min, o->lesion_radius_max);
        return -1;
    }
    if (o->lesion_sign < -1 || o->lesion_sign > 1) {
        rt_error_set(err, "synthetic: lesion_sign must be -1, 0 or 1, got %d", o->lesion_sign);
        return -1;
    }
    if (!(o->organ_cnr >= 0 && o->lesion_cnr >= 0 && o->noise >= 0 && o->texture >= 0 &&
          o->blur >= 0 && o->blur <= 10 && o->texture_scale >= 2)) {
        rt_error_set(err, "synthetic: cnr, noise, texture and blur (<= 10) must be >= 0, "
                          "texture_scale >= 2");
        return -1;
    }
    return 0;
}

int rt_synth_opts_check(const rt_synth_opts *o, rt_error *err)
{
    if (o->nsp != 2 && o->nsp != 3) {
        rt_error_set(err, "synthetic: spatial rank must be 2 or 3, got %d", o->nsp);
        return -1;
    }
    if (o->lesion_mode != RT_SYNTH_LESIONS_DEFAULT && o->lesion_mode != RT_SYNTH_LESIONS_SMALL) {
        rt_error_set(err, "synthetic: unknown lesion mode %d", (int)o->lesion_mode);
        return -1;
    }
    return synth_check_geometry(o, err) ? -1 : synth_check_values(o, err);
}

/* ------------------------------------------------------------- organ */

static double synth_dot(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* A random orthonormal frame: a unit quaternion (3D) or an angle (2D). */
static void synth_rotation(synth_job *j, double m[3][3])
{
    memset(m, 0, 9 * sizeof(double));
    if (j->o->nsp == 2) {
        double t = rng_range(&j->rng, 0, 2 * PI);
        m[0][0] = cos(t), m[0][1] = -sin(t), m[1][0] = sin(t), m[1][1] = cos(t), m[2][2] = 1;
        return;
    }
    double w = rng_n(&j->rng), x = rng_n(&j->rng), y = rng_n(&j->rng), z = rng_n(&j->rng);
    double s = sqrt(w * w + x * x + y * y + z * z);
    w /= s, x /= s, y /= s, z /= s;
    double r[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
                      {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
                      {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}};
    memcpy(m, r, sizeof r);
}

/* Random unit direction in the spatial dims (third component 0 in 2D). */
static void synth_direction(synth_job *j, double d[3])
{
    d[0] = rng_n(&j->rng), d[1] = rng_n(&j->rng), d[2] = j->o->nsp == 3 ? rng_n(&j->rng) : 0;
    double s = sqrt(synth_dot(d, d)) + 1e-12;
    for (int i = 0; i < 3; i++)
        d[i] /= s;
}

/* Draw an outline whose harmonics have amplitudes irregularity * [0.6, 1]. */
static void synth_outline_draw(synth_job *j, double irregularity, synth_outline *h)
{
    double amp = 0;
    for (int k = 0; k < SYNTH_HARMONICS; k++) {
        synth_direction(j, h->dir[k]);
        h->freq[k] = rng_range(&j->rng, 2.0, 4.5);
        h->phase[k] = rng_range(&j->rng, 0, 2 * PI);
        h->amp[k] = irregularity * rng_range(&j->rng, 0.6, 1.0);
        amp += h->amp[k];
    }
    h->sum = amp;
}

/* The radius factor in the unit direction u. */
static double synth_outline_at(const synth_outline *h, const double u[3])
{
    double lim = 1;
    for (int k = 0; k < SYNTH_HARMONICS; k++)
        lim += h->amp[k] * cos(h->freq[k] * synth_dot(h->dir[k], u) + h->phase[k]);
    return lim;
}

static void synth_organ_shape(synth_job *j, synth_organ *g)
{
    const rt_synth_opts *o = j->o;
    double emin = INFINITY, rmax = 0;
    for (int i = 0; i < o->nsp; i++)
        emin = fmin(emin, (double)j->n[i] * j->sp[i]);
    synth_rotation(j, g->axis);
    for (int i = 0; i < 3; i++) {
        double f = rng_range(&j->rng, o->organ_radius_min, o->organ_radius_max);
        g->radius[i] = i < o->nsp ? emin * f : 1;
        rmax = i < o->nsp ? fmax(rmax, g->radius[i]) : rmax;
    }
    synth_outline_draw(j, o->irregularity, &g->h);
    g->reach = rmax * (1 + g->h.sum);
    for (int i = 0; i < 3; i++) {
        double e = (double)j->n[i] * j->sp[i], lo = g->reach + j->sp[i], hi = e - lo;
        g->centre[i] = i >= o->nsp ? 0 : lo < hi ? rng_range(&j->rng, lo, hi) : e / 2;
        if (i < o->nsp) /* on a voxel centre, so even a sub-voxel organ labels one voxel */
            g->centre[i] = fmin(round(g->centre[i] / j->sp[i]), (double)j->n[i] - 1) * j->sp[i];
    }
}

/* Is the point p (mm) inside the organ? */
static int synth_organ_inside(const synth_organ *g, const double p[3])
{
    double q[3] = {p[0] - g->centre[0], p[1] - g->centre[1], p[2] - g->centre[2]};
    if (synth_dot(q, q) > g->reach * g->reach)
        return 0;
    double s[3];
    for (int i = 0; i < 3; i++)
        s[i] = synth_dot(g->axis[i], q) / g->radius[i];
    double rho = sqrt(synth_dot(s, s));
    if (rho < 1e-9 || rho < 1 - g->h.sum) /* surely inside: skip the harmonics */
        return 1;
    if (rho >= 1 + g->h.sum)
        return 0;
    double u[3] = {s[0] / rho, s[1] / rho, s[2] / rho};
    return rho < fmax(synth_outline_at(&g->h, u), 0.3);
}

static void synth_voxel_mm(const synth_job *j, int64_t idx, double p[3])
{
    int64_t x = idx % j->n[2], y = (idx / j->n[2]) % j->n[1], z = idx / (j->n[2] * j->n[1]);
    p[0] = (double)z * j->sp[0], p[1] = (double)y * j->sp[1], p[2] = (double)x * j->sp[2];
}

static void synth_organ_paint(synth_job *j)
{
    synth_organ g;
    synth_organ_shape(j, &g);
    for (int64_t i = 0; i < j->numel; i++) {
        double p[3];
        synth_voxel_mm(j, i, p);
        j->lab[i] = synth_organ_inside(&g, p);
    }
}

/* ----------------------------------------------------------- texture */

/* Per-axis lattice cell and smoothstep weight of each voxel coordinate. */
static void synth_lattice_axis(int64_t n, double cell, int64_t *c, double *t)
{
    for (int64_t v = 0; v < n; v++) {
        double x = (double)v / cell;
        c[v] = (int64_t)x;
        double f = x - (double)c[v];
        t[v] = f * f * (3 - 2 * f);
    }
}

/* One octave of smoothstep value noise with cells of `cell` voxels, added
 * to f with weight amp. Lattice values are N(0, 1), drawn by lattice index
 * (offset by salt); the interpolation is separable, so it runs axis by
 * axis: a lattice plane per z, a lattice row per y, then the voxels. */
static void synth_value_noise(const synth_job *j, double cell, double amp, uint64_t salt, float *f)
{
    int64_t g[3], *c[3];
    double *t[3];
    for (int a = 0; a < 3; a++) {
        g[a] = (int64_t)((double)j->n[a] / cell) + 2;
        c[a] = seg_xcalloc((size_t)j->n[a], sizeof(int64_t));
        t[a] = seg_xcalloc((size_t)j->n[a], sizeof(double));
        synth_lattice_axis(j->n[a], cell, c[a], t[a]);
    }
    double *lat = seg_xcalloc((size_t)(g[0] * g[1] * g[2]), sizeof *lat);
    double *plane = seg_xcalloc((size_t)(g[1] * g[2]), sizeof *plane);
    double *row = seg_xcalloc((size_t)g[2], sizeof *row);
    for (int64_t i = 0; i < g[0] * g[1] * g[2]; i++)
        lat[i] = rt_rand_normal(j->o->seed, STREAM_TEXTURE + (uint32_t)j->o->nsp, j->rng.step,
                                salt + (uint64_t)i);
    int64_t gp = g[1] * g[2];
    for (int64_t z = 0; z < j->n[0]; z++) {
        const double *l0 = lat + c[0][z] * gp, *l1 = l0 + gp;
        for (int64_t k = 0; k < gp; k++)
            plane[k] = l0[k] + t[0][z] * (l1[k] - l0[k]);
        for (int64_t y = 0; y < j->n[1]; y++) {
            const double *p0 = plane + c[1][y] * g[2], *p1 = p0 + g[2];
            for (int64_t k = 0; k < g[2]; k++)
                row[k] = p0[k] + t[1][y] * (p1[k] - p0[k]);
            float *out = f + (z * j->n[1] + y) * j->n[2];
            for (int64_t x = 0; x < j->n[2]; x++) {
                double r0 = row[c[2][x]], r1 = row[c[2][x] + 1];
                out[x] += (float)(amp * (r0 + t[2][x] * (r1 - r0)));
            }
        }
    }
    for (int a = 0; a < 3; a++)
        seg_free(c[a]), seg_free(t[a]);
    seg_free(lat), seg_free(plane), seg_free(row);
}

/* Background = the field normalised to mean 0 and std `texture`; organ
 * voxels get the organ mean. */
static void synth_intensity(synth_job *j, float organ_mean)
{
    float *f = seg_xcalloc((size_t)j->numel, sizeof *f);
    synth_value_noise(j, j->o->texture_scale, 1.0, 0, f);
    synth_value_noise(j, j->o->texture_scale / 2, 0.5, (uint64_t)1 << 40, f);
    double s = 0, ss = 0;
    for (int64_t i = 0; i < j->numel; i++)
        s += f[i], ss += (double)f[i] * f[i];
    double mean = s / (double)j->numel, var = ss / (double)j->numel - mean * mean;
    double scale = var > 1e-12 ? j->o->texture / sqrt(var) : 0;
    for (int64_t i = 0; i < j->numel; i++)
        j->img[i] = j->lab[i] ? organ_mean : (float)((f[i] - mean) * scale);
    seg_free(f);
}

/* ----------------------------------------------------------- lesions */

typedef struct synth_ball {
    double c[3]; /* centre, mm */
    double r;    /* radius, mm: the lesion lies within this ball */
} synth_ball;

/* A lesion's shape around its centre. */
typedef struct synth_lesion {
    double r;          /* nominal radius, mm */
    int irregular;     /* 0: the ball of radius r (the default mode's lesions) */
    synth_outline h;   /* irregular: radius r * h in each direction ... */
    double lo, hi;     /* ... clamped to [lo, hi] mm, the radius limits */
    double bound;      /* no voxel farther than this from the centre, mm */
} synth_lesion;

/* Draw the outline of an irregular lesion of nominal radius r; balls draw
 * nothing, so the default mode's random sequence is what it always was. */
static void synth_lesion_shape(synth_job *j, double r, double vox, synth_lesion *s)
{
    const rt_synth_opts *o = j->o;
    *s = (synth_lesion){.r = r, .irregular = o->lesion_irregularity > 0, .bound = r};
    if (!s->irregular)
        return;
    synth_outline_draw(j, o->lesion_irregularity, &s->h);
    s->lo = vox * o->lesion_radius_min, s->hi = vox * o->lesion_radius_max;
    s->bound = fmin(r * (1 + s->h.sum), s->hi);
}

/* Is the offset d (mm) from the centre inside the lesion? */
static int synth_lesion_inside(const synth_lesion *s, const double d[3])
{
    double d2 = synth_dot(d, d);
    if (!s->irregular)
        return d2 <= s->r * s->r;
    if (d2 <= s->lo * s->lo) /* the clamp keeps the lo ball: skip the harmonics */
        return 1;
    if (d2 > s->bound * s->bound)
        return 0;
    double dist = sqrt(d2), u[3] = {d[0] / dist, d[1] / dist, d[2] / dist};
    return dist <= fmin(fmax(s->r * synth_outline_at(&s->h, u), s->lo), s->hi);
}

static int synth_ball_free(const synth_ball *b, int nb, const double c[3], double r, double gap)
{
    for (int i = 0; i < nb; i++) {
        double d[3] = {c[0] - b[i].c[0], c[1] - b[i].c[1], c[2] - b[i].c[2]};
        if (sqrt(synth_dot(d, d)) < r + b[i].r + gap)
            return 0;
    }
    return 1;
}

/* Pick a centre deeper than r whose ball stays gap from the other balls;
 * 0 if none. The default mode tries SYNTH_TRIES random deep voxels; with
 * `exact` (the small mode, whose several lesions crowd a small organ) the
 * candidates are only the voxels that fit, so one draw places the lesion
 * whenever any place is left. */
static int synth_ball_place(synth_job *j, const float *depth, int64_t *cand, synth_ball *b, int nb,
                            double r, double gap, int exact)
{
    int64_t nc = 0;
    for (int64_t i = 0; i < j->numel; i++) {
        double c[3];
        if (j->lab[i] != 1 || !(depth[i] > r))
            continue;
        if (exact && (synth_voxel_mm(j, i, c), !synth_ball_free(b, nb, c, r, gap)))
            continue;
        cand[nc++] = i;
    }
    for (int t = 0; nc > 0 && t < (exact ? 1 : SYNTH_TRIES); t++) {
        int64_t k = (int64_t)(rng_u(&j->rng) * (double)nc);
        double c[3];
        synth_voxel_mm(j, cand[k < nc ? k : nc - 1], c);
        if (synth_ball_free(b, nb, c, r, gap)) {
            b[nb] = (synth_ball){{c[0], c[1], c[2]}, r};
            return 1;
        }
    }
    return 0;
}

/* Label 2 and intensity v inside the lesion (restricted to the organ). */
static void synth_lesion_paint(synth_job *j, const synth_ball *b, const synth_lesion *s, float v)
{
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        double sp = j->sp[a] > 0 ? j->sp[a] : 1;
        lo[a] = (int64_t)fmax(0, floor((b->c[a] - b->r) / sp));
        hi[a] = (int64_t)fmin((double)j->n[a] - 1, ceil((b->c[a] + b->r) / sp));
    }
    for (int64_t z = lo[0]; z <= hi[0]; z++)
        for (int64_t y = lo[1]; y <= hi[1]; y++)
            for (int64_t x = lo[2]; x <= hi[2]; x++) {
                int64_t i = (z * j->n[1] + y) * j->n[2] + x;
                double p[3], d[3];
                synth_voxel_mm(j, i, p);
                for (int a = 0; a < 3; a++)
                    d[a] = p[a] - b->c[a];
                if (j->lab[i] >= 1 && synth_lesion_inside(s, d))
                    j->lab[i] = 2, j->img[i] = v;
            }
}

static void synth_lesions(synth_job *j, float organ_mean, float unit)
{
    const rt_synth_opts *o = j->o;
    int want = o->lesions_min + (int)(rng_u(&j->rng) * (o->lesions_max - o->lesions_min + 1));
    want = want > o->lesions_max ? o->lesions_max : want;
    uint8_t *bg = seg_xcalloc((size_t)j->numel, 1);
    float *depth = seg_xcalloc((size_t)j->numel, sizeof *depth);
    int64_t *cand = seg_xcalloc((size_t)j->numel, sizeof *cand);
    for (int64_t i = 0; i < j->numel; i++)
        bg[i] = j->lab[i] == 0;
    rt_edt(bg, o->nsp, j->n, o->spacing, depth);
    double vox = o->nsp == 3 ? fmin(j->sp[0], fmin(j->sp[1], j->sp[2])) : fmin(j->sp[0], j->sp[1]);
    /* Small lesions keep two voxels apart, so no two touch even diagonally
     * and each is its own connected component (what lesion-wise scores
     * count); the default mode keeps its one voxel. */
    int small = o->lesion_mode == RT_SYNTH_LESIONS_SMALL;
    double gap = small ? 2 * vox : fmin(j->sp[0], j->sp[1]);
    synth_ball balls[SYNTH_MAX_LESIONS];
    int nb = 0;
    for (int l = 0; l < want; l++) {
        double r = vox * rng_range(&j->rng, o->lesion_radius_min, o->lesion_radius_max);
        int sign = o->lesion_sign ? o->lesion_sign : rng_u(&j->rng) < 0.5 ? -1 : 1;
        synth_lesion s;
        synth_lesion_shape(j, r, vox, &s);
        if (!synth_ball_place(j, depth, cand, balls, nb, s.bound, gap, small))
            continue;
        synth_lesion_paint(j, &balls[nb++], &s, organ_mean + (float)sign * o->lesion_cnr * unit);
    }
    seg_free(bg);
    seg_free(depth);
    seg_free(cand);
}

/* The small mode labels lesions alone: organ 1 -> 0, lesion 2 -> 1. */
static void synth_relabel(synth_job *j)
{
    if (j->o->lesion_mode != RT_SYNTH_LESIONS_SMALL)
        return;
    for (int64_t i = 0; i < j->numel; i++)
        j->lab[i] = j->lab[i] == 2;
}

/* ------------------------------------------------------ blur, noise */

/* Gaussian along axis a of a [outer, n, inner] array, edges clamped. */
static void synth_blur_axis(synth_job *j, int a, const float *k, int kr, float *line)
{
    int64_t n = j->n[a], inner = 1, outer = 1;
    for (int i = 0; i < a; i++)
        outer *= j->n[i];
    for (int i = a + 1; i < 3; i++)
        inner *= j->n[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            float *p = j->img + o * n * inner + i;
            for (int64_t q = 0; q < n; q++)
                line[q] = p[q * inner];
            for (int64_t q = 0; q < n; q++) {
                float s = 0;
                for (int t = -kr; t <= kr; t++) {
                    int64_t at = q + t < 0 ? 0 : q + t >= n ? n - 1 : q + t;
                    s += k[t + kr] * line[at];
                }
                p[q * inner] = s;
            }
        }
}

static void synth_blur(synth_job *j, float sigma)
{
    if (sigma <= 0)
        return;
    int kr = (int)ceil(3 * sigma);
    float k[2 * 30 + 1], sum = 0;
    for (int t = -kr; t <= kr; t++)
        sum += k[t + kr] = expf(-0.5f * (float)(t * t) / (sigma * sigma));
    for (int t = 0; t <= 2 * kr; t++)
        k[t] /= sum;
    int64_t nmax = j->n[0] > j->n[1] ? j->n[0] : j->n[1];
    nmax = nmax > j->n[2] ? nmax : j->n[2];
    float *line = seg_xcalloc((size_t)nmax, sizeof *line);
    for (int a = 0; a < j->o->nsp; a++)
        synth_blur_axis(j, a, k, kr, line);
    seg_free(line);
}

static void synth_noise_hu(synth_job *j)
{
    const rt_synth_opts *o = j->o;
    uint32_t stream = STREAM_NOISE + (uint32_t)o->nsp;
    for (int64_t i = 0; i < j->numel; i++) {
        float v = j->img[i];
        if (o->noise > 0)
            v += o->noise * rt_rand_normal(o->seed, stream, j->rng.step, (uint64_t)i);
        j->img[i] = o->hu ? o->hu_offset + o->hu_scale * v : v;
    }
}

/* ------------------------------------------------------------- cases */

int rt_synth_case(const rt_synth_opts *o, int index, rt_case *c, rt_error *err)
{
    if (rt_synth_opts_check(o, err))
        return -1;
    synth_job j = {.o = o, .rng = {o->seed, STREAM_SHAPE + (uint32_t)o->nsp, (uint64_t)index, 0}};
    for (int i = 0; i < 3; i++) {
        j.n[i] = i < o->nsp ? o->size[i] : 1;
        j.sp[i] = i < o->nsp ? o->spacing[i] : 0;
    }
    j.numel = j.n[0] * j.n[1] * j.n[2];
    j.img = seg_xcalloc((size_t)j.numel, sizeof *j.img);
    j.lab = seg_xcalloc((size_t)j.numel, sizeof *j.lab);
    float unit = o->noise > 0 ? o->noise : 1, organ_mean = o->organ_cnr * unit;
    synth_organ_paint(&j);
    synth_intensity(&j, organ_mean);
    synth_lesions(&j, organ_mean, unit);
    synth_blur(&j, o->blur);
    synth_noise_hu(&j);
    synth_relabel(&j);
    *c = (rt_case){.nsp = o->nsp, .channels = 1, .image = j.img, .label = j.lab};
    for (int i = 0; i < 3; i++) {
        c->size[i] = j.n[i];
        c->spacing[i] = i < o->nsp ? o->spacing[i] : 1;
    }
    char name[64];
    snprintf(name, sizeof name, "lesions%dd case %d", o->nsp, index);
    c->source = seg_xstrdup(name);
    return 0;
}

int rt_dataset_synthetic(rt_dataset *ds, const rt_synth_opts *o, rt_error *err)
{
    if (rt_synth_opts_check(o, err))
        return -1;
    for (int i = 0; i < o->cases; i++) {
        rt_case c;
        if (rt_synth_case(o, i, &c, err))
            return -1;
        rt_dataset_push(ds, &c);
    }
    return 0;
}
