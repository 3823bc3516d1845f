/* sliding.c — sliding-window prediction over a whole volume (or image),
 * the one place both validation during training and `segc infer` go
 * through.
 *
 * The net sees tiles of its input size. Along each axis the tiles start
 * where nnU-Net's compute_steps_for_sliding_window puts them: with
 * target step = patch * (1 - overlap), n = ceil((size - patch) / step) + 1
 * tiles spread evenly from 0 to size - patch (rounded), so the last tile
 * ends on the last voxel. An axis shorter than the patch gets one tile,
 * centred, and the image is padded with zeros around it (the odd voxel
 * goes after).
 *
 * Each tile's output (the model's probabilities; logits go through the
 * stated activation first) is weighted by a Gaussian importance map,
 * w = prod over axes of exp(-(i - c)^2 / (2 sigma^2)) with c = patch / 2
 * and sigma = patch / 8 (nnU-Net's), whose maximum 1 sits in the tile's
 * centre: voxels near a tile's border, where the net sees little context,
 * count least. The weighted outputs and the weights are summed per voxel
 * and divided at the end, so overlapping tiles blend without seams.
 *
 * Tiles run `batch` at a time (the program's B; the last run repeats its
 * last tile). With mirroring (test-time augmentation) every run is
 * repeated on the 2^nsp mirror images of its tiles and the outputs,
 * mirrored back, are averaged before weighting. Tiles are added in a fixed
 * order on the calling thread, so the result is the same for any thread
 * count of the interpreter.
 */
#include "runtime.h"

#include <math.h>
#include <string.h>

void rt_sliding_init(rt_sliding *s)
{
    memset(s, 0, sizeof *s);
    s->overlap = 0.5;
    s->input = "image";
    s->act = RT_ACT_NONE;
    for (int a = 0; a < 3; a++)
        s->patch[a] = 1;
}

int64_t rt_sliding_steps(int64_t size, int64_t patch, double overlap, int64_t *origins)
{
    if (size <= patch) {
        if (origins)
            origins[0] = -((patch - size) / 2);
        return 1;
    }
    double step = (double)patch * (1 - overlap);
    if (step < 1)
        step = 1;
    int64_t n = (int64_t)ceil((double)(size - patch) / step) + 1;
    double actual = (double)(size - patch) / (double)(n - 1);
    for (int64_t i = 0; origins && i < n; i++)
        origins[i] = (int64_t)llround(actual * (double)i);
    return n;
}

void rt_sliding_gaussian(int nsp, const int64_t patch[3], float *w)
{
    double *ax[3];
    for (int a = 0; a < 3; a++) {
        int64_t p = a < nsp ? patch[a] : 1;
        ax[a] = seg_xcalloc((size_t)p, sizeof(double));
        double sigma = (double)p / 8, c = (double)(p / 2);
        for (int64_t i = 0; i < p; i++)
            ax[a][i] = a < nsp ? exp(-((double)i - c) * ((double)i - c) / (2 * sigma * sigma)) : 1;
    }
    int64_t p0 = nsp > 0 ? patch[0] : 1, p1 = nsp > 1 ? patch[1] : 1, p2 = nsp > 2 ? patch[2] : 1;
    for (int64_t z = 0; z < p0; z++)
        for (int64_t y = 0; y < p1; y++)
            for (int64_t x = 0; x < p2; x++)
                w[(z * p1 + y) * p2 + x] = (float)(ax[0][z] * ax[1][y] * ax[2][x]);
    for (int a = 0; a < 3; a++)
        seg_free(ax[a]);
}

/* --------------------------------------------------------------- state */

typedef struct sliding_run {
    const rt_sliding *s;
    rt_interp *it;
    const float *image;   /* [channels, size...] */
    int64_t size[3];      /* volume, unused entries 1 */
    int64_t patch[3];     /* unused entries 1 */
    int64_t vol, pvol;    /* voxels of the volume and of a tile */
    int out_ch;           /* C: channels of the prediction output */
    int64_t *org[3];      /* tile origins per axis */
    int64_t n_org[3];
    int64_t n_tiles;
    float *gauss;         /* [pvol] */
    rt_tensor *in;        /* the input tensor [B, channels, patch...] */
    float *tile;          /* [B, C, pvol]: outputs averaged over mirrorings */
    float *acc, *wsum;    /* [C, vol], [vol] */
} sliding_run;

static void tile_origin(const sliding_run *r, int64_t t, int64_t o[3])
{
    int64_t i2 = t % r->n_org[2], i1 = t / r->n_org[2] % r->n_org[1];
    int64_t i0 = t / (r->n_org[2] * r->n_org[1]);
    o[0] = r->org[0][i0], o[1] = r->org[1][i1], o[2] = r->org[2][i2];
}

/* Output channels of the prediction, checked against the program. */
static int check_output(sliding_run *r, rt_error *err)
{
    const rt_sliding *s = r->s;
    rt_tensor *out = rt_interp_output(r->it, s->output);
    rt_tensor *in = rt_interp_value(r->it, s->input);
    if (!out || !in) {
        rt_error_set(err, "sliding window: the program has no %s '%s'", out ? "input" : "output",
                     out ? s->input : s->output);
        return -1;
    }
    const rt_type *t = &out->type;
    int ok = t->dtype == RT_F32 && t->rank == s->nsp + 2 && t->dim[0] == s->batch;
    for (int a = 0; ok && a < s->nsp; a++)
        ok = t->dim[2 + a] == s->patch[a];
    if (!ok) {
        char b[96];
        rt_error_set(err, "sliding window: output '%s' is %s; it must be f32 [%d, C, tile...]",
                     s->output, rt_type_str(t, b, sizeof b), s->batch);
        return -1;
    }
    r->out_ch = (int)t->dim[1];
    rt_type it = {.dtype = RT_F32, .rank = s->nsp + 2, .dim = {s->batch, s->channels}};
    for (int a = 0; a < s->nsp; a++)
        it.dim[2 + a] = s->patch[a];
    if (!rt_type_equal(&it, &in->type)) {
        char a[96], b[96];
        rt_error_set(err, "sliding window: input '%s' is %s, not %s", s->input,
                     rt_type_str(&in->type, a, sizeof a), rt_type_str(&it, b, sizeof b));
        return -1;
    }
    r->in = rt_tensor_new(&it);
    return 0;
}

static void run_init(sliding_run *r)
{
    const rt_sliding *s = r->s;
    r->vol = r->pvol = 1;
    r->n_tiles = 1;
    for (int a = 0; a < 3; a++) {
        r->patch[a] = a < s->nsp ? s->patch[a] : 1;
        r->vol *= r->size[a];
        r->pvol *= r->patch[a];
        r->n_org[a] = rt_sliding_steps(r->size[a], r->patch[a], s->overlap, NULL);
        r->org[a] = seg_xcalloc((size_t)r->n_org[a], sizeof(int64_t));
        rt_sliding_steps(r->size[a], r->patch[a], s->overlap, r->org[a]);
        r->n_tiles *= r->n_org[a];
    }
    r->gauss = seg_xcalloc((size_t)r->pvol, sizeof(float));
    rt_sliding_gaussian(s->nsp, r->patch, r->gauss);
}

static void run_free(sliding_run *r)
{
    for (int a = 0; a < 3; a++)
        seg_free(r->org[a]);
    seg_free(r->gauss);
    rt_tensor_free(r->in);
    seg_free(r->tile);
    seg_free(r->acc);
    seg_free(r->wsum);
}

/* ------------------------------------------------------------- tiles */

/* Voxel (z, y, x) of a tile mirrored along the axes whose bit is set in m. */
static int64_t mirrored(const int64_t p[3], unsigned m, int64_t z, int64_t y, int64_t x)
{
    z = (m & 1) ? p[0] - 1 - z : z;
    y = (m & 2) ? p[1] - 1 - y : y;
    x = (m & 4) ? p[2] - 1 - x : x;
    return (z * p[1] + y) * p[2] + x;
}

/* Cut tile j of a run (zeros outside the volume), mirrored by m. */
static void fill_tile(sliding_run *r, int j, const int64_t o[3], unsigned m)
{
    const int64_t *p = r->patch, *n = r->size;
    for (int ch = 0; ch < r->s->channels; ch++) {
        const float *src = r->image + ch * r->vol;
        float *dst = rt_f32(r->in) + ((int64_t)j * r->s->channels + ch) * r->pvol;
        for (int64_t z = 0; z < p[0]; z++)
            for (int64_t y = 0; y < p[1]; y++)
                for (int64_t x = 0; x < p[2]; x++) {
                    int64_t gz = o[0] + z, gy = o[1] + y, gx = o[2] + x;
                    int in = gz >= 0 && gz < n[0] && gy >= 0 && gy < n[1] && gx >= 0 && gx < n[2];
                    dst[mirrored(p, m, z, y, x)] = in ? src[(gz * n[1] + gy) * n[2] + gx] : 0;
                }
    }
}

/* Logits to probabilities, per voxel of one tile output [C, pvol]. */
static void activate(const sliding_run *r, float *o)
{
    int C = r->out_ch;
    for (int64_t v = 0; v < r->pvol && r->s->act != RT_ACT_NONE; v++) {
        if (r->s->act == RT_ACT_SIGMOID) {
            for (int k = 0; k < C; k++)
                o[k * r->pvol + v] = 1 / (1 + expf(-o[k * r->pvol + v]));
            continue;
        }
        float mx = o[v], sum = 0;
        for (int k = 1; k < C; k++)
            mx = o[k * r->pvol + v] > mx ? o[k * r->pvol + v] : mx;
        for (int k = 0; k < C; k++)
            sum += o[k * r->pvol + v] = expf(o[k * r->pvol + v] - mx);
        for (int k = 0; k < C; k++)
            o[k * r->pvol + v] /= sum;
    }
}

/* Add the program's output, mirrored back by m, scaled by `share`, into
 * the run's tile buffer. */
static void take_output(sliding_run *r, unsigned m, float share)
{
    const float *out = rt_f32(rt_interp_output(r->it, r->s->output));
    int64_t per = (int64_t)r->out_ch * r->pvol;
    float *tmp = seg_xcalloc((size_t)per, sizeof *tmp);
    const int64_t *p = r->patch;
    for (int j = 0; j < r->s->batch; j++) {
        memcpy(tmp, out + j * per, (size_t)per * sizeof *tmp);
        activate(r, tmp);
        float *dst = r->tile + j * per;
        for (int k = 0; k < r->out_ch; k++)
            for (int64_t z = 0; z < p[0]; z++)
                for (int64_t y = 0; y < p[1]; y++)
                    for (int64_t x = 0; x < p[2]; x++)
                        dst[k * r->pvol + (z * p[1] + y) * p[2] + x] +=
                            share * tmp[k * r->pvol + mirrored(p, m, z, y, x)];
    }
    seg_free(tmp);
}

/* Weighted tile j (origin o) into the volume's sums. */
static void accumulate(sliding_run *r, int j, const int64_t o[3])
{
    const int64_t *p = r->patch, *n = r->size;
    const float *t = r->tile + (int64_t)j * r->out_ch * r->pvol;
    for (int64_t z = 0; z < p[0]; z++)
        for (int64_t y = 0; y < p[1]; y++)
            for (int64_t x = 0; x < p[2]; x++) {
                int64_t gz = o[0] + z, gy = o[1] + y, gx = o[2] + x;
                if (gz < 0 || gz >= n[0] || gy < 0 || gy >= n[1] || gx < 0 || gx >= n[2])
                    continue;
                int64_t at = (gz * n[1] + gy) * n[2] + gx, tv = (z * p[1] + y) * p[2] + x;
                float w = r->gauss[tv];
                r->wsum[at] += w;
                for (int k = 0; k < r->out_ch; k++)
                    r->acc[k * r->vol + at] += w * t[k * r->pvol + tv];
            }
}

/* One run of the program over tiles t0 .. t0 + batch - 1 (the last
 * repeated past the end), with every mirroring. */
static int run_group(sliding_run *r, int64_t t0, rt_error *err)
{
    const rt_sliding *s = r->s;
    unsigned n_mirror = s->mirror ? 1u << s->nsp : 1u;
    int64_t o[RT_MAX_BATCH][3];
    for (int j = 0; j < s->batch; j++)
        tile_origin(r, t0 + j < r->n_tiles ? t0 + j : r->n_tiles - 1, o[j]);
    memset(r->tile, 0, (size_t)s->batch * (size_t)(r->out_ch * r->pvol) * sizeof *r->tile);
    for (unsigned m = 0; m < n_mirror; m++) {
        /* bit a of m mirrors spatial axis a; bits past nsp stay clear */
        for (int j = 0; j < s->batch; j++)
            fill_tile(r, j, o[j], m);
        if (rt_interp_set_input(r->it, s->input, r->in, err) || rt_interp_run(r->it, 0, err))
            return -1;
        take_output(r, m, 1.0f / (float)n_mirror);
    }
    for (int j = 0; j < s->batch && t0 + j < r->n_tiles; j++)
        accumulate(r, j, o[j]);
    return 0;
}

int rt_sliding_predict(const rt_sliding *s, rt_interp *it, const float *image,
                       const int64_t size[3], float **prob, int *out_channels, rt_error *err)
{
    SEG_ASSERT(s->nsp >= 1 && s->nsp <= 3 && s->batch >= 1 && s->batch <= RT_MAX_BATCH);
    SEG_ASSERT(s->overlap >= 0 && s->overlap < 1);
    sliding_run r = {.s = s, .it = it, .image = image};
    for (int a = 0; a < 3; a++)
        r.size[a] = a < s->nsp ? size[a] : 1;
    *prob = NULL;
    if (check_output(&r, err))
        return -1;
    run_init(&r);
    r.tile = seg_xcalloc((size_t)(s->batch * r.out_ch * r.pvol), sizeof *r.tile);
    r.acc = seg_xcalloc((size_t)(r.out_ch * r.vol), sizeof *r.acc);
    r.wsum = seg_xcalloc((size_t)r.vol, sizeof *r.wsum);
    int rc = 0;
    for (int64_t t0 = 0; t0 < r.n_tiles && rc == 0; t0 += s->batch) {
        rc = run_group(&r, t0, err);
        if (rc == 0 && s->progress)
            s->progress(s->user, t0 + s->batch < r.n_tiles ? t0 + s->batch : r.n_tiles, r.n_tiles);
    }
    if (rc == 0) {
        for (int k = 0; k < r.out_ch; k++)
            for (int64_t v = 0; v < r.vol; v++)
                r.acc[k * r.vol + v] /= r.wsum[v];
        *prob = r.acc;
        *out_channels = r.out_ch;
        r.acc = NULL;
    }
    run_free(&r);
    return rc;
}

int64_t rt_sliding_tiles(const rt_sliding *s, const int64_t size[3])
{
    int64_t n = 1;
    for (int a = 0; a < s->nsp; a++)
        n *= rt_sliding_steps(size[a], s->patch[a], s->overlap, NULL);
    return n;
}
