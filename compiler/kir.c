/* kir.c — kernel IR: the description of one generated loop nest, its
 * blocking plan and its stable text form.
 *
 * A kir_kernel says everything codegen needs and nothing else: shapes,
 * window, layouts, register tile and epilogue. Because the text printed by
 * kir_print is a pure function of those fields, it doubles as the key of
 * the JIT object cache (with the target and versions appended by
 * runtime/jit) and as what `segc kir` shows.
 *
 * Blocking plan for direct convolution (kir_conv_plan). The generated
 * kernel computes a register tile of rc output-channel blocks x up to rw
 * consecutive output x positions: rc*rw vector accumulators, each input
 * channel step loading rc weight vectors and broadcasting rw input values
 * (rc*rw FMAs). The row of OW outputs is cut into equal tiles (widths
 * differ by at most one). The planner scores every (rc, rw) that fits the
 * register file (rc*rw + rc + 2 <= registers, and at most 3/4 of the
 * registers as accumulators: measured on Zen 5, 2x10 beats 2x13 by ~5%
 * on 64-wide rows) with a small cost model: an
 * input-channel step of an r x w tile costs max(r*w/2 FMA cycles, (r+w)/2
 * load cycles, 4 cycles of FMA latency) plus one cycle of loop overhead,
 * summed over every tile of every output-channel group, and keeps the
 * cheapest. ic_chunk bounds the weights one
 * pass over a row streams (rc blocks x ic_chunk input blocks): every tile
 * of the row reads all of them again, so on long rows (4 tiles or more)
 * they should stay in L1 (16 KB, half of it: the input rows need the
 * rest; 96->32 channels at 64^3 ran 17 % faster on AVX2 than with the
 * whole 165 KB of weights in one pass), on short rows in L2 (256 KB:
 * 256->256 at 8^3 lost 30 % with L1-sized passes). AVX-512 kernels keep
 * the L2 budget on every row: that is what their figures (83-98 % of
 * peak) were measured with, and there is no AVX-512 machine here to
 * measure the change on. With several chunks the partial sums go through
 * y (which is in L1/L2 for one row).
 *
 * Rows per task. A task computes `rows` output rows of its channel group:
 * for each input chunk, every row, so the chunk's weights (in L1) serve
 * all of them. One row per task re-read a group's weights from L3 for
 * every row when they exceed L2 (1024->512 channels at 32^2: 590 KB per
 * group of two blocks; 155-166 ms on one thread, 124-126 with rows per
 * task); so when they do, a task takes as many rows as
 * keep KIR_FWD_TASKS tasks (a function of the shape, never of the thread
 * count), with L1-sized chunks; the rows' partial sums stay in L2.
 */
#include "compiler/compiler.h"

#include <stdio.h>
#include <string.h>

#define KIR_W_BUDGET (256 * 1024)  /* bytes of weights streamed per row pass: L2 */
#define KIR_W_L1_BUDGET (16 * 1024) /* the same, when the row has many tiles: L1 */
#define KIR_L1_TILES 4              /* tiles per row from which the L1 budget applies */
#define KIR_FWD_TASKS 32            /* tasks at least, when tasks take several rows */
#define KIR_BWD_W_ACC 12            /* weight-gradient accumulators on AVX2 (16 registers) */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int64_t conv_ocb(const kir_conv *c) { return ceil_div(c->cout, c->vl); }
static int64_t conv_icb(const kir_conv *c) { return ceil_div(c->cin, c->ib); }
static int64_t conv_kvol(const kir_conv *c) { return (int64_t)c->k[0] * c->k[1] * c->k[2]; }

/* Cycles of one input-channel step of an r x w tile (see the header). */
static double tile_step_cost(int r, int w)
{
    double fma = r * w / 2.0, ld = (r + w) / 2.0, cost = fma > ld ? fma : ld;
    return (cost > 4.0 ? cost : 4.0) + 1.0;
}

/* Cost of a whole output row of all channel groups with tile (rc, rw). */
static double plan_cost(const kir_conv *c, int rc, int rw)
{
    int64_t ow = c->out[2], tiles = ceil_div(ow, rw), ocb = conv_ocb(c);
    int64_t base = ow / tiles, extra = ow % tiles;
    double row = 0;
    /* A narrower last group is charged as a full one: it is a task of its
     * own and unbalances the threads' fixed chunks (256 -> 256 channels at
     * 8^3: 3 blocks per group ran 10% slower on 2 threads than 2). */
    for (int64_t g = 0; g < ocb; g += rc)
        row += (double)extra * tile_step_cost(rc, (int)base + 1) +
               (double)(tiles - extra) * tile_step_cost(rc, (int)base);
    return row;
}

void kir_conv_plan(kir_conv *c)
{
    int regs = c->vl >= 16 ? 32 : 16;
    int64_t ocb = conv_ocb(c);
    double best = -1;
    for (int rc = 1; rc <= 4 && rc <= ocb; rc++) {
        int maxw = (regs - rc - 2) / rc, cap = regs * 3 / 4 / rc;
        maxw = maxw < cap ? maxw : cap;
        if (maxw < 1)
            break;
        for (int rw = 1; rw <= maxw && rw <= c->out[2]; rw++) {
            double cost = plan_cost(c, rc, rw);
            if (best < 0 || cost < best - 1e-9) {
                best = cost;
                c->rc = rc;
                c->rw = rw;
            }
        }
    }
    int64_t per_icb = (int64_t)c->rc * conv_kvol(c) * c->ib * c->vl * (int64_t)sizeof(float);
    int64_t tiles = ceil_div(c->out[2], c->rw);
    int l1 = tiles >= KIR_L1_TILES && c->vl < 16; /* measured on AVX2 only */
    c->rows = 1;
    if (per_icb * conv_icb(c) > KIR_W_BUDGET) { /* a group's weights do not stay in L2 */
        int64_t planes = c->n * ceil_div(ocb, c->rc) * c->out[0];
        int64_t rows = c->out[1] * planes / KIR_FWD_TASKS;
        c->rows = (int)(rows < 1 ? 1 : rows > c->out[1] ? c->out[1] : rows);
        l1 = 1;
    }
    int64_t chunk = (l1 ? KIR_W_L1_BUDGET : KIR_W_BUDGET) / per_icb;
    c->ic_chunk = (int)(chunk < 1 ? 1 : chunk > conv_icb(c) ? conv_icb(c) : chunk);
}

/* The output extent of axis i: given (out_sp, stride 1: the window runs
 * from -pad on the low side and input positions past the end read as
 * zeros, whatever the high side's padding would be — a phase of a strided
 * data gradient needs that), or from the window; -1 when it does not fit. */
static int64_t conv_out_of(const kir_conv *c, int j, const int64_t *out_sp, int i)
{
    if (!out_sp)
        return rt_conv_out_size(c->in[j], c->k[j], c->s[j], c->p[j], c->d[j]);
    return c->s[j] == 1 ? out_sp[i] : -1;
}

static int conv_init(kir_kernel *k, int nsp, int64_t n, int64_t cin, int64_t cout,
                     const int64_t *in_sp, const int64_t *ksz, const int64_t *out_sp,
                     const rt_attrs *a, unsigned epi, int vl, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    kir_conv *c = &k->conv;
    k->kind = KIR_CONV_FWD;
    if (nsp < 1 || nsp > 3 || a->groups != 1 || n < 1 || cin < 1 || cout < 1 ||
        (vl != 4 && vl != 8 && vl != 16)) {
        snprintf(err, errlen, "conv kernel: unsupported (rank %d, groups %d, vl %d)", nsp,
                 a->groups, vl);
        return -1;
    }
    *c = (kir_conv){.n = n, .cin = cin, .cout = cout, .vl = vl, .epi = epi};
    c->ib = cin <= KIR_PLAIN_CIN ? 1 : vl;
    for (int j = 0; j < 3; j++) {
        int i = j - (3 - nsp), on = i >= 0;
        c->in[j] = on ? in_sp[i] : 1;
        c->k[j] = on ? (int)ksz[i] : 1;
        c->s[j] = on ? a->stride[i] : 1;
        c->p[j] = on ? a->pad[i] : 0;
        c->d[j] = on ? a->dilation[i] : 1;
        c->out[j] = on ? conv_out_of(c, j, out_sp, i) : 1;
        if (c->out[j] < 1 || c->d[j] < 1 || c->p[j] < 0) {
            snprintf(err, errlen, "conv kernel: window does not fit spatial axis %d", i);
            return -1;
        }
    }
    kir_conv_plan(c);
    return 0;
}

int kir_conv_init(kir_kernel *k, int nsp, int64_t n, int64_t cin, int64_t cout,
                  const int64_t *in_sp, const int64_t *ksz, const rt_attrs *a, unsigned epi,
                  int vl, char *err, size_t errlen)
{
    return conv_init(k, nsp, n, cin, cout, in_sp, ksz, NULL, a, epi, vl, err, errlen);
}

int kir_conv_init_out(kir_kernel *k, int nsp, int64_t n, int64_t cin, int64_t cout,
                      const int64_t *in_sp, const int64_t *ksz, const int64_t *out_sp,
                      const rt_attrs *a, unsigned epi, int vl, char *err, size_t errlen)
{
    return conv_init(k, nsp, n, cin, cout, in_sp, ksz, out_sp, a, epi, vl, err, errlen);
}

/* The weight gradient's register tile: wtaps tap columns x wlanes input
 * lanes x wchains position chains of accumulators, one dy vector and the
 * broadcasts besides. The FMA latency (4 cycles) times two FMA pipes wants
 * at least 8 independent chains; AVX2 has 16 vector registers. With
 * stride 1 along x, one input lane x every tap column x 12 / k[2]
 * positions: neighbouring positions share their input values (4 positions
 * x 3 taps need 6 broadcasts, not 12), so a pass costs 10 loads per 12
 * FMAs, and its fixed costs are paid once for all columns. Measured on
 * one thread (ms for the weight gradient, lanes,taps,chains): 32->32 at
 * 64^3 180 (1,3,4) / 198-220 (4,3,1) / 307-324 (8,1,1, one column at a
 * time, the scheme before); 64->64 at 32^3 88 / 104 / 132; 2-D 128->64 at
 * 256^2 128 / 149 / 130 and 512->1024 at 32^2 124 / 144 / 125; (2,3,2)
 * was worst everywhere. With a stride along x: 8 lanes (or 1 for plain x)
 * per column, positions round-robin to enough chains for 8-12
 * accumulators. AVX-512's 32 registers hold all 16 lanes of one column
 * (the scheme measured there). */
static void bwd_w_tile(kir_conv *c)
{
    c->rows = 1;
    c->wtaps = 1;
    c->wlanes = c->ib;
    if (c->vl >= 16) { /* the AVX-512 scheme */
        c->wchains = c->ib >= 8 ? 1 : 8 / c->ib;
        return;
    }
    if (c->s[2] == 1 && c->k[2] > 1 && c->k[2] <= KIR_BWD_W_ACC) {
        c->wlanes = 1;
        c->wtaps = c->k[2];
        c->wchains = KIR_BWD_W_ACC / c->k[2];
        /* rows per pass: a pass's accumulators are loaded, reduced over
         * their chains and stored once for several rows of one plane,
         * whose dy and input rows (for one tap row) stay in L1 */
        int64_t row_bytes = (c->out[2] * c->vl + c->in[2] * c->ib) * (int64_t)sizeof(float);
        int64_t rows = KIR_W_L1_BUDGET / row_bytes;
        c->rows = (int)(rows < 1 ? 1 : rows > c->out[1] ? c->out[1] : rows);
        return;
    }
    c->wchains = c->ib >= 8 ? 1 : KIR_BWD_W_ACC / c->ib;
}

/* Parts of the weight-gradient reduction: enough tasks to keep two to
 * four threads busy (ocb * icb alone is often 1-4), a function of the
 * shape only so the summation order never depends on the thread count. */
#define KIR_BWD_W_TASKS 16

int kir_conv_bwd_w_init(kir_kernel *k, int nsp, int64_t n, int64_t cin, int64_t cout,
                        const int64_t *in_sp, const int64_t *ksz, const rt_attrs *a, int vl,
                        char *err, size_t errlen)
{
    if (kir_conv_init(k, nsp, n, cin, cout, in_sp, ksz, a, 0u, vl, err, errlen))
        return -1;
    kir_conv *c = &k->conv;
    k->kind = KIR_CONV_BWD_W;
    c->rc = 1;
    c->rw = 0;
    c->ic_chunk = 0;
    int64_t base = conv_ocb(c) * conv_icb(c), rows = c->n * c->out[0] * c->out[1];
    int64_t parts = ceil_div(KIR_BWD_W_TASKS, base);
    c->parts = (int)(parts > rows ? rows : parts);
    bwd_w_tile(c);
    return 0;
}

int64_t kir_conv_tasks(const kir_conv *c)
{
    if (c->parts > 0)
        return c->parts * conv_ocb(c) * conv_icb(c);
    return c->n * ceil_div(conv_ocb(c), c->rc) * c->out[0] * ceil_div(c->out[1], c->rows);
}

int64_t kir_conv_x_floats(const kir_conv *c)
{
    return c->n * conv_icb(c) * c->ib * c->in[0] * c->in[1] * c->in[2];
}

int64_t kir_conv_w_floats(const kir_conv *c)
{
    return (c->parts > 0 ? c->parts : 1) * conv_ocb(c) * c->vl * conv_icb(c) * c->ib * conv_kvol(c);
}

int64_t kir_conv_b_floats(const kir_conv *c) { return conv_ocb(c) * c->vl; }

int64_t kir_conv_y_floats(const kir_conv *c)
{
    return c->n * conv_ocb(c) * c->vl * c->out[0] * c->out[1] * c->out[2];
}

static void print_dims(seg_buf *b, const char *name, const int64_t *v)
{
    seg_buf_printf(b, " %s [%lld, %lld, %lld]", name, (long long)v[0], (long long)v[1],
                   (long long)v[2]);
}

static void print_ints(seg_buf *b, const char *name, const int *v)
{
    seg_buf_printf(b, " %s [%d, %d, %d]", name, v[0], v[1], v[2]);
}

/* Header, operand layouts and window, shared by every conv kernel kind:
 * `kind` names the kernel, `out_name` the blocked operand ("y" or "dy"). */
static void print_conv_geometry(const kir_conv *c, seg_buf *b, const char *kind,
                                const char *out_name)
{
    seg_buf_printf(b, "kernel %s\n  batch %lld\n", kind, (long long)c->n);
    seg_buf_printf(b, "  x f32 c %lld layout NCDHW", (long long)c->cin);
    if (c->ib != 1)
        seg_buf_printf(b, "%dc", c->ib);
    print_dims(b, "dhw", c->in);
    seg_buf_printf(b, "\n  %s f32 c %lld layout NCDHW%dc", out_name, (long long)c->cout, c->vl);
    print_dims(b, "dhw", c->out);
    seg_buf_printf(b, "\n  window");
    print_ints(b, "k", c->k);
    print_ints(b, "s", c->s);
    print_ints(b, "p", c->p);
    print_ints(b, "d", c->d);
}

static void print_conv(const kir_conv *c, seg_buf *b)
{
    print_conv_geometry(c, b, "conv_fwd", "y");
    seg_buf_printf(b, "\n  tile oc_blocks %d ow %d ic_chunk %d rows %d\n  epilogue", c->rc, c->rw,
                   c->ic_chunk, c->rows);
    if (!c->epi)
        seg_buf_printf(b, " none");
    if (c->epi & KIR_EPI_BIAS)
        seg_buf_printf(b, " bias");
    if (c->epi & KIR_EPI_RESIDUAL)
        seg_buf_printf(b, " residual");
    if (c->epi & KIR_EPI_RELU)
        seg_buf_printf(b, " relu");
    if (c->epi & KIR_EPI_MASK)
        seg_buf_printf(b, " mask");
    seg_buf_printf(b, "\n");
}

/* The weight gradient: method direct (this generator), its partition. */
static void print_conv_bwd_w(const kir_conv *c, seg_buf *b)
{
    print_conv_geometry(c, b, "conv_bwd_weight", "dy");
    seg_buf_printf(b, "\n  method direct (not im2col+sgemm)\n  tile oc_blocks 1 ic %d taps %d positions %d "
                   "rows %d\n  reduce rows n*od*oh in %d fixed parts, summed in order\n", c->wlanes,
                   c->wtaps, c->wchains, c->rows, c->parts);
}

void kir_print(const kir_kernel *k, seg_buf *out)
{
    switch (k->kind) {
    case KIR_CONV_FWD:
        print_conv(&k->conv, out);
        return;
    case KIR_CONV_BWD_W:
        print_conv_bwd_w(&k->conv, out);
        return;
    case KIR_ELTWISE:
        kir_eltwise_print(&k->elt, out);
        return;
    }
    SEG_UNREACHABLE();
}
