/* codegen_llvm.c — lowers kernel IR to LLVM IR through the C API, and
 * builds, caches and runs the resulting kernels.
 *
 * Direct convolution forward (KIR_CONV_FWD). The generated function
 *     void sym(x, w, bias, res, y, task_begin, task_end)
 * walks tasks t = ((n * groups + g) * OD + od) * OHB + ohb; a task computes
 * `rows` output rows ohb*rows.. (all OW positions) of rc output-channel
 * blocks (the last group may have fewer: a second row function handles
 * it). A row is cut into register tiles of `width` consecutive ow
 * positions (kir.c's plan):
 *
 *   for each chunk of input blocks:              runtime loop (often one)
 *    for each row of the task:                   (often one)
 *     for each tile of the row:                  interior tiles: one loop
 *       acc[rc][width] = 0 (first chunk) or y    explicit <vl x float> values
 *       for icb in chunk, kd in taps(od), kh in taps(oh), kw, ic < ib:
 *         wv[j] = w[ocb+j][icb][kd][kh][kw][ic][:]
 *         for r (unrolled): acc[j][r] = fma(wv[j], splat(x[..][iw(r,kw)][ic]), acc[j][r])
 *       y = acc, or on the last chunk relu(acc + bias + residual)
 *
 * Padding along D and H is handled by clamping the kd/kh tap ranges at
 * run time; along W by specialising tiles at compile time: tiles whose taps
 * all fall inside the row ("interior") share one loop with a runtime
 * start, the few border tiles are emitted with constant positions and their
 * out-of-row taps left out (blocked inputs: kw unrolled, taps dropped at
 * compile time; plain inputs: out-of-row reads guarded to 0 at run time).
 * The loops carry the accumulators as phis, so they live in registers; the
 * broadcast loads fold into the FMAs. Every tap column kw gets its own
 * loop (the kw loop is marked not-to-unroll): if kw were unrolled in one
 * block, CSE would merge the broadcasts that neighbouring taps share and
 * keep ~width of them live, which spills accumulators (measured: a 2x13
 * tile spilled 264 times and ran ~30% slower on 32->32 channels, 64^3).
 * Everything a task writes is its own and its summation order is fixed,
 * so results do not depend on the thread count.
 *
 * Weight gradient (KIR_CONV_BWD_W). void sym(x, dy, -, -, partials,
 * task_begin, task_end), task t = (part, ocb, icb): the task owns the
 * packed partial [kvol][ib][vl] at partials + t * kvol*ib*vl, zeroes it,
 * and for each (n, od, oh) row of its part (a fixed range of rows) and
 * each valid (kd, kh) runs passes over the row's output x positions, each
 * pass covering wlanes input lanes (kir.c's plan): it loads its partial
 * vectors as accumulators, does acc[kw][ic] += dy[ow][:] *
 * splat(x[ow*s + kw*d - p][ic]) and stores them back. With stride 1
 * along x a pass covers every tap column kw at once (one dy load for
 * k[2] * wlanes FMAs; the border positions, known at compile time, are
 * emitted one by one with their valid taps); otherwise each kw is a loop
 * (not unrolled) whose positions go round-robin to wchains accumulator
 * sets. A row's data (one dy row, k^2 input rows) stays in L1/L2 while
 * all its taps use it. Summation order depends only on the shape, never
 * on the thread count.
 *
 * Building: the kir text plus a codegen version is the description; with
 * the JIT's target it keys the object cache. A hit links the stored object;
 * a miss builds the module in a fresh LLVMContext, verifies it, compiles it
 * with rt_jit_emit, stores and links it. Cache trouble never stops a build.
 */
#include "compiler/codegen_internal.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>

#include <stdio.h>
#include <string.h>

#define CG_CONV_VERSION "conv_fwd v6 bwd_w v4" /* bump when generated code changes */
#define CG_MAX_RC 4                   /* kir_conv_plan never exceeds these */
#define CG_MAX_ACC CG_LOOP_MAX_VALS /* accumulators of a tile: all carried by its loops */

typedef struct cg {
    LLVMContextRef ctx;     /* caller's */
    LLVMModuleRef mod;      /* being built */
    LLVMBuilderRef b;
    LLVMTypeRef f32, i64, i32, ptr, vt; /* vt = <vl x float> */
    LLVMTypeRef fma_ty;     /* type of llvm.fma.vNf32 */
    LLVMValueRef fma;       /* its declaration */
    LLVMValueRef fn;        /* function being built */
    const kir_conv *k;
    int64_t icb, ocb, kvol; /* input blocks, output blocks, kernel taps */
} cg;

/* Values of one row shared by all its tiles. */
typedef struct cg_row {
    int rc;                          /* output blocks of this row function */
    LLVMValueRef xn;                 /* x of sample n */
    LLVMValueRef w[CG_MAX_RC];       /* packed weights of each output block */
    LLVMValueRef y[CG_MAX_RC];       /* start of the output row per block */
    LLVMValueRef res[CG_MAX_RC];     /* same in the residual (if any) */
    LLVMValueRef bias[CG_MAX_RC];    /* bias vector pointer per block */
    LLVMValueRef base_d, base_h;     /* od*s - p, oh*s - p */
    LLVMValueRef kd_lo, kd_hi, kh_lo, kh_hi; /* valid tap ranges */
    LLVMValueRef icb_lo, icb_hi;     /* input blocks of this chunk */
    LLVMValueRef first, last;        /* i1 chunk flags; NULL = single chunk */
} cg_row;

/* Tiles of a row: `count` tiles of `width` from ow0; interior ones loop. */
typedef struct cg_seg {
    int64_t ow0;   /* first output x */
    int width;     /* positions per tile */
    int64_t count; /* tiles (> 1 only when interior) */
    int interior;  /* every tap of every position inside the row */
} cg_seg;

/* ------------------------------------------------------------ helpers */

static LLVMValueRef ci(cg *c, int64_t v) { return LLVMConstInt(c->i64, (unsigned long long)v, 1); }
static LLVMValueRef add(cg *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildAdd(c->b, a, b, "");
}
static LLVMValueRef mul(cg *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildMul(c->b, a, b, "");
}
static LLVMValueRef addc(cg *c, LLVMValueRef a, int64_t v) { return v ? add(c, a, ci(c, v)) : a; }
static LLVMValueRef mulc(cg *c, LLVMValueRef a, int64_t v)
{
    return v == 1 ? a : mul(c, a, ci(c, v));
}

/* &base[idx] in floats; not inbounds: border tiles form row pointers
 * before the row start (only in-row elements are loaded). */
static LLVMValueRef at(cg *c, LLVMValueRef base, LLVMValueRef idx)
{
    return LLVMBuildGEP2(c->b, c->f32, base, &idx, 1, "");
}

static LLVMValueRef loadv(cg *c, LLVMValueRef p)
{
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->vt, p, "");
    LLVMSetAlignment(v, 4);
    return v;
}

static void storev(cg *c, LLVMValueRef v, LLVMValueRef p)
{
    LLVMSetAlignment(LLVMBuildStore(c->b, v, p), 4);
}

static LLVMValueRef splat(cg *c, LLVMValueRef s)
{
    LLVMValueRef v = LLVMBuildInsertElement(c->b, LLVMGetPoison(c->vt), s,
                                            LLVMConstInt(c->i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(c->i32, (unsigned)c->k->vl));
    return LLVMBuildShuffleVector(c->b, v, LLVMGetPoison(c->vt), mask, "");
}

static LLVMValueRef fma3(cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc)
{
    LLVMValueRef args[3] = {a, b, acc};
    return LLVMBuildCall2(c->b, c->fma_ty, c->fma, args, 3, "");
}

static LLVMBasicBlockRef block(cg *c, const char *name)
{
    return LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
}

/* Mark the loop whose back edge is br "do not unroll": unrolling the kw
 * loop would let CSE share input broadcasts between taps, which keeps
 * them live and spills accumulators. The loop ID is the usual
 * self-referential node !0 = !{!0, !{"llvm.loop.unroll.disable"}}. */
static void loop_no_unroll(cg *c, LLVMValueRef br)
{
    const char *key = "llvm.loop.unroll.disable";
    LLVMMetadataRef str = LLVMMDStringInContext2(c->ctx, key, strlen(key));
    LLVMMetadataRef ops[2] = {LLVMTemporaryMDNode(c->ctx, NULL, 0),
                              LLVMMDNodeInContext2(c->ctx, &str, 1)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(c->ctx, ops, 2);
    LLVMMetadataReplaceAllUsesWith(ops[0], id); /* also frees the temporary */
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(c->ctx, "llvm.loop", 9),
                    LLVMMetadataAsValue(c->ctx, id));
}

/* -------------------------------------------------------------- tiles */

/* Is the tap kw of output position ow inside the input row? */
static int tap_ok(const kir_conv *k, int64_t ow, int kw)
{
    int64_t iw = ow * k->s[2] - k->p[2] + (int64_t)kw * k->d[2];
    return iw >= 0 && iw < k->in[2];
}

static int tile_interior(const kir_conv *k, int64_t ow0, int width)
{
    for (int r = 0; r < width; r++)
        for (int kw = 0; kw < k->k[2]; kw++)
            if (!tap_ok(k, ow0 + r, kw))
                return 0;
    return 1;
}

/* Cut the row into tiles (widths differ by at most one, wider first) and
 * merge runs of interior tiles of equal width. Returns the count. */
static int row_segments(const kir_conv *k, cg_seg *seg)
{
    int64_t ow = k->out[2], tiles = (ow + k->rw - 1) / k->rw;
    int64_t base = ow / tiles, extra = ow % tiles, ow0 = 0;
    int n = 0;
    for (int64_t t = 0; t < tiles; t++) {
        int width = (int)(base + (t < extra));
        int in = tile_interior(k, ow0, width);
        if (n > 0 && in && seg[n - 1].interior && seg[n - 1].width == width)
            seg[n - 1].count++;
        else
            seg[n++] = (cg_seg){ow0, width, 1, in};
        ow0 += width;
    }
    return n;
}

/* acc = 0 on the first chunk, else the partial sums stored in y. */
static void tile_init(cg *c, const cg_row *r, LLVMValueRef ow0, int width, LLVMValueRef *acc)
{
    int n = r->rc * width;
    LLVMValueRef zero = LLVMConstNull(c->vt);
    for (int i = 0; i < n; i++)
        acc[i] = zero;
    if (!r->first)
        return;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b), ld = block(c, "reload"),
                      join = block(c, "init");
    LLVMBuildCondBr(c->b, r->first, join, ld);
    LLVMPositionBuilderAtEnd(c->b, ld);
    LLVMValueRef loaded[CG_MAX_ACC];
    for (int j = 0; j < r->rc; j++)
        for (int q = 0; q < width; q++)
            loaded[j * width + q] = loadv(c, at(c, r->y[j], mulc(c, addc(c, ow0, q), c->k->vl)));
    LLVMBuildBr(c->b, join);
    LLVMPositionBuilderAtEnd(c->b, join);
    for (int i = 0; i < n; i++) {
        LLVMValueRef phi = LLVMBuildPhi(c->b, c->vt, "");
        LLVMAddIncoming(phi, &zero, &pre, 1);
        LLVMAddIncoming(phi, &loaded[i], &ld, 1);
        acc[i] = phi;
    }
}

/* Where one tap column kw of a tile reads. */
typedef struct cg_tap {
    LLVMValueRef xk;             /* x at the tap of position ow0 */
    LLVMValueRef wk[CG_MAX_RC];  /* weights of this kw per output block */
    LLVMValueRef xrow;           /* the input row (guarded mode) */
    LLVMValueRef iw;             /* input x of the tap of ow0 (guarded mode) */
    int64_t ow0_const;           /* border tile position, -1 = interior */
    int kw_const;                /* compile-time kw, -1 = runtime */
} cg_tap;

/* The input value for position q, or 0 when its tap is in the padding:
 * used by border tiles with a runtime kw (plain inputs only). */
static LLVMValueRef tap_guarded(cg *c, const cg_tap *t, int q)
{
    const kir_conv *k = c->k;
    LLVMValueRef iw = addc(c, t->iw, (int64_t)q * k->s[2]);
    LLVMValueRef ok = LLVMBuildICmp(c->b, LLVMIntULT, iw, ci(c, k->in[2]), "");
    LLVMValueRef safe = LLVMBuildSelect(c->b, ok, iw, ci(c, 0), "");
    LLVMValueRef xs = LLVMBuildLoad2(c->b, c->f32, at(c, t->xrow, safe), "");
    return LLVMBuildSelect(c->b, ok, xs, LLVMConstReal(c->f32, 0), "");
}

/* Input channel ic of one tap column: rc weight vectors times `width`
 * broadcast inputs. Border positions whose tap leaves the row are
 * skipped (constant kw) or read as 0 (runtime kw). */
static void tile_tap(cg *c, const cg_tap *t, int rc, LLVMValueRef ic, int width, LLVMValueRef *acc)
{
    const kir_conv *k = c->k;
    LLVMValueRef wv[CG_MAX_RC];
    for (int j = 0; j < rc; j++)
        wv[j] = loadv(c, at(c, t->wk[j], mulc(c, ic, k->vl)));
    for (int q = 0; q < width; q++) {
        LLVMValueRef xs, xp = at(c, t->xk, addc(c, ic, (int64_t)q * k->s[2] * k->ib));
        if (t->ow0_const < 0) {
            xs = LLVMBuildLoad2(c->b, c->f32, xp, "");
        } else if (t->kw_const >= 0) {
            if (!tap_ok(k, t->ow0_const + q, t->kw_const))
                continue;
            xs = LLVMBuildLoad2(c->b, c->f32, xp, "");
        } else {
            xs = tap_guarded(c, t, q);
        }
        LLVMValueRef xv = splat(c, xs);
        for (int j = 0; j < rc; j++)
            acc[j * width + q] = fma3(c, wv[j], xv, acc[j * width + q]);
    }
}

/* One tap column kw (a value): its own ic loop, so that no input
 * broadcast is shared between taps. */
static void tile_column(cg *c, const cg_row *r, LLVMValueRef xrow, LLVMValueRef iw0,
                        LLVMValueRef *wj, LLVMValueRef kw, int64_t ow0_const, int kw_const,
                        int width, LLVMValueRef *acc)
{
    const kir_conv *k = c->k;
    cg_tap t = {.xrow = xrow, .ow0_const = ow0_const, .kw_const = kw_const};
    t.iw = add(c, iw0, mulc(c, kw, k->d[2]));
    t.xk = at(c, xrow, mulc(c, t.iw, k->ib));
    for (int j = 0; j < r->rc; j++)
        t.wk[j] = at(c, wj[j], mulc(c, kw, (int64_t)k->ib * k->vl));
    if (k->ib == 1) {
        tile_tap(c, &t, r->rc, ci(c, 0), width, acc);
        return;
    }
    cg_loop lc;
    cg_loop_begin(&lc, c->b, ci(c, 0), ci(c, k->ib), acc, r->rc * width);
    tile_tap(c, &t, r->rc, lc.iv, width, acc);
    LLVMValueRef br = cg_loop_end(&lc, acc);
    /* A border tile unrolls kw; unrolled ic loops would let CSE share the
     * broadcasts of neighbouring taps again, and they spilled (16-wide
     * rows: 2 of 3 tiles are border tiles). */
    if (kw_const >= 0)
        loop_no_unroll(c, br);
}

/* The kh body: pointers for this input row, then every tap column. A
 * runtime kw loop (not unrolled) for interior tiles and for border tiles
 * of plain inputs (guarded reads); border tiles of blocked inputs unroll
 * kw and drop out-of-row taps at compile time. */
static void tile_row(cg *c, const cg_row *r, LLVMValueRef xc, LLVMValueRef wc, LLVMValueRef id,
                     LLVMValueRef kd, LLVMValueRef kh, LLVMValueRef ow0, int64_t ow0_const,
                     int width, LLVMValueRef *acc)
{
    const kir_conv *k = c->k;
    LLVMValueRef ih = add(c, r->base_h, mulc(c, kh, k->d[1]));
    LLVMValueRef xrow = at(c, xc, mulc(c, add(c, mulc(c, id, k->in[1]), ih), k->in[2] * k->ib));
    LLVMValueRef iw0 = addc(c, mulc(c, ow0, k->s[2]), -(int64_t)k->p[2]);
    LLVMValueRef wk = add(c, wc, mulc(c, add(c, mulc(c, kd, k->k[1]), kh),
                                      (int64_t)k->k[2] * k->ib * k->vl));
    LLVMValueRef wj[CG_MAX_RC];
    for (int j = 0; j < r->rc; j++)
        wj[j] = at(c, r->w[j], wk);
    if (k->k[2] == 1 || (ow0_const >= 0 && k->ib > 1)) {
        for (int kw = 0; kw < k->k[2]; kw++)
            tile_column(c, r, xrow, iw0, wj, ci(c, kw), ow0_const, ow0_const < 0 ? -1 : kw,
                        width, acc);
        return;
    }
    cg_loop lw;
    cg_loop_begin(&lw, c->b, ci(c, 0), ci(c, k->k[2]), acc, r->rc * width);
    tile_column(c, r, xrow, iw0, wj, lw.iv, ow0_const, -1, width, acc);
    loop_no_unroll(c, cg_loop_end(&lw, acc));
}

/* Store acc: the epilogue on the last chunk, raw partial sums otherwise. */
static void tile_store_one(cg *c, const cg_row *r, LLVMValueRef ow0, int width,
                           LLVMValueRef *acc, int epilogue)
{
    const kir_conv *k = c->k;
    LLVMValueRef zero = LLVMConstNull(c->vt);
    for (int j = 0; j < r->rc; j++) {
        LLVMValueRef bv = epilogue && (k->epi & KIR_EPI_BIAS) ? loadv(c, r->bias[j]) : NULL;
        for (int q = 0; q < width; q++) {
            LLVMValueRef idx = mulc(c, addc(c, ow0, q), k->vl), v = acc[j * width + q];
            if (bv)
                v = LLVMBuildFAdd(c->b, v, bv, "");
            if (epilogue && (k->epi & KIR_EPI_RESIDUAL))
                v = LLVMBuildFAdd(c->b, v, loadv(c, at(c, r->res[j], idx)), "");
            if (epilogue && (k->epi & KIR_EPI_RELU))
                v = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOLT, v, zero, ""), zero,
                                    v, "");
            if (epilogue && (k->epi & KIR_EPI_MASK)) /* ordered: a NaN mask gives 0 */
                v = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT,
                                                        loadv(c, at(c, r->res[j], idx)), zero, ""),
                                    v, zero, "");
            storev(c, v, at(c, r->y[j], idx));
        }
    }
}

static void tile_store(cg *c, const cg_row *r, LLVMValueRef ow0, int width, LLVMValueRef *acc)
{
    if (!r->last) {
        tile_store_one(c, r, ow0, width, acc, 1);
        return;
    }
    LLVMBasicBlockRef epi = block(c, "epilogue"), part = block(c, "partial"),
                      join = block(c, "stored");
    LLVMBuildCondBr(c->b, r->last, epi, part);
    LLVMPositionBuilderAtEnd(c->b, epi);
    tile_store_one(c, r, ow0, width, acc, 1);
    LLVMBuildBr(c->b, join);
    LLVMPositionBuilderAtEnd(c->b, part);
    tile_store_one(c, r, ow0, width, acc, 0);
    LLVMBuildBr(c->b, join);
    LLVMPositionBuilderAtEnd(c->b, join);
}

/* One register tile at ow0 (ow0_const >= 0: a border tile at that
 * constant position, out-of-row taps dropped; -1: interior). */
static void emit_tile(cg *c, const cg_row *r, LLVMValueRef ow0, int64_t ow0_const, int width)
{
    const kir_conv *k = c->k;
    int n = r->rc * width;
    LLVMValueRef acc[CG_MAX_ACC];
    tile_init(c, r, ow0, width, acc);
    cg_loop li, ld, lh;
    cg_loop_begin(&li, c->b, r->icb_lo, r->icb_hi, acc, n);
    LLVMValueRef xc = at(c, r->xn, mulc(c, li.iv, k->in[0] * k->in[1] * k->in[2] * k->ib));
    LLVMValueRef wc = mulc(c, li.iv, c->kvol * k->ib * k->vl);
    cg_loop_begin(&ld, c->b, r->kd_lo, r->kd_hi, acc, n);
    LLVMValueRef id = add(c, r->base_d, mulc(c, ld.iv, k->d[0]));
    cg_loop_begin(&lh, c->b, r->kh_lo, r->kh_hi, acc, n);
    tile_row(c, r, xc, wc, id, ld.iv, lh.iv, ow0, ow0_const, width, acc);
    cg_loop_end(&lh, acc);
    cg_loop_end(&ld, acc);
    cg_loop_end(&li, acc);
    tile_store(c, r, ow0, width, acc);
}

/* --------------------------------------------------------------- rows */

/* Valid taps [lo, hi) of an axis: base + t*d in [0, n). */
static void tap_range(cg *c, LLVMValueRef base, int64_t n, int k, int d, LLVMValueRef *lo,
                      LLVMValueRef *hi)
{
    LLVMBuilderRef b = c->b;
    LLVMValueRef neg = LLVMBuildSub(b, ci(c, d - 1), base, "");
    LLVMValueRef l = LLVMBuildSDiv(b, neg, ci(c, d), "");
    *lo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, base, ci(c, 0), ""), l, ci(c, 0), "");
    LLVMValueRef m = LLVMBuildSub(b, ci(c, n - 1), base, "");
    LLVMValueRef h = addc(c, LLVMBuildSDiv(b, m, ci(c, d), ""), 1);
    h = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, h, ci(c, k), ""), h, ci(c, k), "");
    *hi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, m, ci(c, 0), ""), ci(c, 0), h, "");
}

/* All tiles of the row for the current chunk. */
static void emit_segments(cg *c, const cg_row *r, const cg_seg *seg, int nseg)
{
    for (int s = 0; s < nseg; s++) {
        if (!seg[s].interior || seg[s].count == 1) {
            emit_tile(c, r, ci(c, seg[s].ow0), seg[s].interior ? -1 : seg[s].ow0, seg[s].width);
            continue;
        }
        cg_loop lt;
        cg_loop_begin(&lt, c->b, ci(c, 0), ci(c, seg[s].count), NULL, 0);
        LLVMValueRef ow0 = addc(c, mulc(c, lt.iv, seg[s].width), seg[s].ow0);
        emit_tile(c, r, ow0, -1, seg[s].width);
        cg_loop_end(&lt, NULL);
    }
}

/* Pointers and tap ranges of row oh (params: x w b r y n ocb0 od ...). */
static void row_setup(cg *c, cg_row *r, LLVMValueRef fn, LLVMValueRef oh)
{
    const kir_conv *k = c->k;
    LLVMValueRef x = LLVMGetParam(fn, 0), w = LLVMGetParam(fn, 1), b = LLVMGetParam(fn, 2),
                 res = LLVMGetParam(fn, 3), y = LLVMGetParam(fn, 4), n = LLVMGetParam(fn, 5),
                 ocb0 = LLVMGetParam(fn, 6), od = LLVMGetParam(fn, 7);
    int64_t in_vol = k->in[0] * k->in[1] * k->in[2], out_plane = k->out[0] * k->out[1] * k->out[2];
    r->xn = at(c, x, mulc(c, n, c->icb * k->ib * in_vol));
    LLVMValueRef yrow = add(c, mulc(c, n, c->ocb), ocb0);  /* ((n*OCB + ocb0)*OD + od)*OH + oh */
    yrow = add(c, mulc(c, add(c, mulc(c, yrow, k->out[0]), od), k->out[1]), oh);
    yrow = mulc(c, yrow, k->out[2] * k->vl);
    for (int j = 0; j < r->rc; j++) {
        LLVMValueRef yj = addc(c, yrow, j * out_plane * k->vl);
        r->y[j] = at(c, y, yj);
        r->res[j] = at(c, res, yj);
        r->w[j] = at(c, w, mulc(c, addc(c, ocb0, j), c->icb * c->kvol * k->ib * k->vl));
        r->bias[j] = at(c, b, mulc(c, addc(c, ocb0, j), k->vl));
    }
    r->base_d = addc(c, mulc(c, od, k->s[0]), -(int64_t)k->p[0]);
    r->base_h = addc(c, mulc(c, oh, k->s[1]), -(int64_t)k->p[1]);
    tap_range(c, r->base_d, k->in[0], k->k[0], k->d[0], &r->kd_lo, &r->kd_hi);
    tap_range(c, r->base_h, k->in[1], k->k[1], k->d[1], &r->kh_lo, &r->kh_hi);
}

static void fn_attrs(cg *c, LLVMValueRef fn)
{
    char width[16];
    snprintf(width, sizeof width, "%d", c->k->vl * 32);
    const char *keys[2] = {"min-legal-vector-width", "prefer-vector-width"};
    for (int i = 0; i < 2; i++) {
        LLVMAttributeRef a = LLVMCreateStringAttribute(c->ctx, keys[i], (unsigned)strlen(keys[i]),
                                                       width, (unsigned)strlen(width));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, a);
    }
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(c->ctx, nounwind, 0));
}

/* Every row of the task for the current chunk: rows [oh0, oh1), all
 * through the chunk's weights while they are in L1. */
static void emit_rows(cg *c, cg_row *r, LLVMValueRef fn, const cg_seg *seg, int nseg)
{
    if (c->k->rows == 1) {
        row_setup(c, r, fn, LLVMGetParam(fn, 8));
        emit_segments(c, r, seg, nseg);
        return;
    }
    cg_loop lr;
    cg_loop_begin(&lr, c->b, LLVMGetParam(fn, 8), LLVMGetParam(fn, 9), NULL, 0);
    row_setup(c, r, fn, lr.iv);
    emit_segments(c, r, seg, nseg);
    cg_loop_end(&lr, NULL);
}

/* internal void rows(x, w, b, r, y, n, ocb0, od, oh0, oh1) for rc output
 * blocks: for each input chunk, rows [oh0, oh1). */
static LLVMValueRef emit_row_fn(cg *c, const char *symbol, int rc, const cg_seg *seg, int nseg)
{
    const kir_conv *k = c->k;
    LLVMTypeRef params[10] = {c->ptr, c->ptr, c->ptr, c->ptr, c->ptr,
                              c->i64, c->i64, c->i64, c->i64, c->i64};
    char name[96];
    snprintf(name, sizeof name, "%s.row%d", symbol, rc);
    LLVMTypeRef ty = LLVMFunctionType(LLVMVoidTypeInContext(c->ctx), params, 10, 0);
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, ty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    fn_attrs(c, fn);
    c->fn = fn;
    LLVMPositionBuilderAtEnd(c->b, block(c, "entry"));
    cg_row r = {.rc = rc};
    int64_t nch = (c->icb + k->ic_chunk - 1) / k->ic_chunk;
    if (nch == 1) {
        r.icb_lo = ci(c, 0);
        r.icb_hi = ci(c, c->icb);
        emit_rows(c, &r, fn, seg, nseg);
    } else {
        cg_loop lc;
        cg_loop_begin(&lc, c->b, ci(c, 0), ci(c, nch), NULL, 0);
        r.icb_lo = mulc(c, lc.iv, k->ic_chunk);
        LLVMValueRef hi = addc(c, r.icb_lo, k->ic_chunk);
        r.icb_hi = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, hi, ci(c, c->icb), ""), hi,
                                   ci(c, c->icb), "");
        r.first = LLVMBuildICmp(c->b, LLVMIntEQ, lc.iv, ci(c, 0), "");
        r.last = LLVMBuildICmp(c->b, LLVMIntEQ, lc.iv, ci(c, nch - 1), "");
        emit_rows(c, &r, fn, seg, nseg);
        cg_loop_end(&lc, NULL);
    }
    LLVMBuildRetVoid(c->b);
    return fn;
}

/* Call row fn for task values (n, ocb0, od, oh0, oh1). */
static void call_row(cg *c, LLVMValueRef row, LLVMValueRef main, LLVMValueRef *tv)
{
    LLVMValueRef args[10];
    for (int i = 0; i < 5; i++)
        args[i] = LLVMGetParam(main, (unsigned)i);
    for (int i = 0; i < 5; i++)
        args[5 + i] = tv[i];
    LLVMBuildCall2(c->b, LLVMGlobalGetValueType(row), row, args, 10, "");
}

/* The exported task loop. */
static void emit_main(cg *c, const char *symbol, LLVMValueRef row_full, LLVMValueRef row_rem)
{
    const kir_conv *k = c->k;
    LLVMTypeRef params[7] = {c->ptr, c->ptr, c->ptr, c->ptr, c->ptr, c->i64, c->i64};
    LLVMTypeRef ty = LLVMFunctionType(LLVMVoidTypeInContext(c->ctx), params, 7, 0);
    LLVMValueRef fn = LLVMAddFunction(c->mod, symbol, ty);
    fn_attrs(c, fn);
    c->fn = fn;
    LLVMPositionBuilderAtEnd(c->b, block(c, "entry"));
    int64_t groups = (c->ocb + k->rc - 1) / k->rc;
    cg_loop lt;
    cg_loop_begin(&lt, c->b, LLVMGetParam(fn, 5), LLVMGetParam(fn, 6), NULL, 0);
    int64_t ohb = (k->out[1] + k->rows - 1) / k->rows; /* row blocks per plane */
    LLVMValueRef t = lt.iv, tv[5];
    tv[3] = mulc(c, LLVMBuildURem(c->b, t, ci(c, ohb), "ohb"), k->rows);
    LLVMValueRef end = addc(c, tv[3], k->rows);
    tv[4] = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, end, ci(c, k->out[1]), ""), end,
                            ci(c, k->out[1]), "");
    t = LLVMBuildUDiv(c->b, t, ci(c, ohb), "");
    tv[2] = LLVMBuildURem(c->b, t, ci(c, k->out[0]), "od");
    t = LLVMBuildUDiv(c->b, t, ci(c, k->out[0]), "");
    LLVMValueRef g = LLVMBuildURem(c->b, t, ci(c, groups), "g");
    tv[0] = LLVMBuildUDiv(c->b, t, ci(c, groups), "n");
    tv[1] = mulc(c, g, k->rc);
    if (!row_rem) {
        call_row(c, row_full, fn, tv);
    } else {
        LLVMBasicBlockRef bf = block(c, "full"), br = block(c, "rem"), bj = block(c, "next");
        LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, g, ci(c, groups - 1), ""), br, bf);
        LLVMPositionBuilderAtEnd(c->b, bf);
        call_row(c, row_full, fn, tv);
        LLVMBuildBr(c->b, bj);
        LLVMPositionBuilderAtEnd(c->b, br);
        call_row(c, row_rem, fn, tv);
        LLVMBuildBr(c->b, bj);
        LLVMPositionBuilderAtEnd(c->b, bj);
    }
    cg_loop_end(&lt, NULL);
    LLVMBuildRetVoid(c->b);
}

static void cg_types(cg *c)
{
    c->f32 = LLVMFloatTypeInContext(c->ctx);
    c->i64 = LLVMInt64TypeInContext(c->ctx);
    c->i32 = LLVMInt32TypeInContext(c->ctx);
    c->ptr = LLVMPointerTypeInContext(c->ctx, 0);
    c->vt = LLVMVectorType(c->f32, (unsigned)c->k->vl);
    unsigned id = LLVMLookupIntrinsicID("llvm.fma", 8);
    c->fma = LLVMGetIntrinsicDeclaration(c->mod, id, &c->vt, 1);
    c->fma_ty = LLVMIntrinsicGetType(c->ctx, id, &c->vt, 1);
}

/* ----------------------------------------------------- weight gradient */

/* Positions [lo, hi) of an output axis of size o whose tap pos*s + base
 * lies in [0, n) (base a runtime value). */
static void pos_range(cg *c, LLVMValueRef base, int64_t n, int64_t o, int s, LLVMValueRef *lo,
                      LLVMValueRef *hi)
{
    LLVMBuilderRef b = c->b;
    LLVMValueRef neg = LLVMBuildSDiv(b, LLVMBuildSub(b, ci(c, s - 1), base, ""), ci(c, s), "");
    *lo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, base, ci(c, 0), ""), neg, ci(c, 0), "");
    LLVMValueRef m = LLVMBuildSub(b, ci(c, n - 1), base, "");
    LLVMValueRef h = addc(c, LLVMBuildSDiv(b, m, ci(c, s), ""), 1);
    h = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, h, ci(c, o), ""), h, ci(c, o), "");
    *hi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, m, ci(c, 0), ""), ci(c, 0), h, "");
}

/* acc[i] += v * splat(xp[i0 + i]) for i < n: one dy vector against n
 * input lanes of one input position. */
static void bwd_w_lanes(cg *c, LLVMValueRef v, LLVMValueRef xp, int i0, int n, LLVMValueRef *acc)
{
    for (int i = 0; i < n; i++) {
        LLVMValueRef xs = LLVMBuildLoad2(c->b, c->f32, at(c, xp, ci(c, i0 + i)), "");
        acc[i] = fma3(c, v, splat(c, xs), acc[i]);
    }
}

/* acc[i] += dy[ow] * x[ow*s + bw][i] for the ib input lanes. */
static void bwd_w_pos(cg *c, LLVMValueRef dyrow, LLVMValueRef xrow, LLVMValueRef bw,
                      LLVMValueRef ow, LLVMValueRef *acc)
{
    const kir_conv *k = c->k;
    LLVMValueRef v = loadv(c, at(c, dyrow, mulc(c, ow, k->vl)));
    LLVMValueRef xp = at(c, xrow, mulc(c, add(c, mulc(c, ow, k->s[2]), bw), k->ib));
    bwd_w_lanes(c, v, xp, 0, k->ib, acc);
}

/* One tap column kw of one (row, kd, kh), any stride: acc[ic] = partial
 * dw[tap][ic], then for every output x whose tap is inside the input row
 * acc[ic] += dy[ow] * x[ow*s + kw*d - p][ic], stored back. Positions go
 * round-robin to wchains sets of accumulators so that enough independent
 * FMA chains are in flight (plain x has one lane), added in order at the
 * end (the order depends on the shape only). */
static void bwd_w_column(cg *c, LLVMValueRef dyrow, LLVMValueRef xrow, LLVMValueRef wrow,
                         LLVMValueRef kw)
{
    const kir_conv *k = c->k;
    int chains = k->wchains, n = chains * k->ib;
    LLVMValueRef bw = addc(c, mulc(c, kw, k->d[2]), -(int64_t)k->p[2]), lo, hi;
    pos_range(c, bw, k->in[2], k->out[2], k->s[2], &lo, &hi);
    LLVMValueRef wp = at(c, wrow, mulc(c, kw, (int64_t)k->ib * k->vl)), acc[CG_MAX_ACC];
    for (int i = 0; i < n; i++)
        acc[i] = i < k->ib ? loadv(c, at(c, wp, ci(c, (int64_t)i * k->vl))) : LLVMConstNull(c->vt);
    LLVMValueRef groups = LLVMBuildSDiv(c->b, LLVMBuildSub(c->b, hi, lo, ""), ci(c, chains), "");
    cg_loop lg, lr;
    cg_loop_begin(&lg, c->b, ci(c, 0), groups, acc, n);
    for (int u = 0; u < chains; u++)
        bwd_w_pos(c, dyrow, xrow, bw, add(c, lo, addc(c, mulc(c, lg.iv, chains), u)),
                  acc + u * k->ib);
    cg_loop_end(&lg, acc);
    cg_loop_begin(&lr, c->b, add(c, lo, mulc(c, groups, chains)), hi, acc, k->ib);
    bwd_w_pos(c, dyrow, xrow, bw, lr.iv, acc);
    cg_loop_end(&lr, acc);
    for (int u = 1; u < chains; u++)
        for (int i = 0; i < k->ib; i++)
            acc[i] = LLVMBuildFAdd(c->b, acc[i], acc[u * k->ib + i], "");
    for (int i = 0; i < k->ib; i++)
        storev(c, acc[i], at(c, wp, ci(c, (int64_t)i * k->vl)));
}

/* acc[kw*wlanes + i] += dy[ow] * x[ow + kw*d - p][i0 + i] for the taps kw
 * in [kw_lo, kw_hi) (the taps of ow that are inside the input row). */
static void bwd_w_taps(cg *c, LLVMValueRef dyrow, LLVMValueRef xrow, LLVMValueRef ow, int i0,
                       int kw_lo, int kw_hi, LLVMValueRef *acc)
{
    const kir_conv *k = c->k;
    LLVMValueRef v = loadv(c, at(c, dyrow, mulc(c, ow, k->vl)));
    for (int kw = kw_lo; kw < kw_hi; kw++) {
        LLVMValueRef xp = at(c, xrow, mulc(c, addc(c, ow, (int64_t)kw * k->d[2] - k->p[2]), k->ib));
        bwd_w_lanes(c, v, xp, i0, k->wlanes, acc + kw * k->wlanes);
    }
}

/* The valid taps [*lo, *hi) of output x ow (empty when none): those whose
 * input x ow + kw*d - p is inside the row; they are contiguous in kw. */
static void taps_of(const kir_conv *k, int64_t ow, int *lo, int *hi)
{
    *lo = k->k[2], *hi = 0;
    for (int kw = 0; kw < k->k[2]; kw++) {
        int64_t iw = ow + (int64_t)kw * k->d[2] - k->p[2];
        if (iw >= 0 && iw < k->in[2]) {
            *lo = kw < *lo ? kw : *lo;
            *hi = kw + 1;
        }
    }
}

/* &partial dw[tap (kd, kh, kw)][i0 + i] in a (kd, kh) row of partials. */
static LLVMValueRef bwd_w_slot(cg *c, LLVMValueRef wrow, int kw, int lane)
{
    return at(c, wrow, ci(c, ((int64_t)kw * c->k->ib + lane) * c->k->vl));
}

/* Row `row` of the n * OD * OH rows of dy: its oh and od, its dy row and
 * the start of the task's input block in its sample. */
typedef struct bw_row {
    LLVMValueRef oh, od, dyrow, xc;
} bw_row;

static bw_row bwd_w_row_at(cg *c, LLVMValueRef x, LLVMValueRef dy, LLVMValueRef ocb,
                           LLVMValueRef icb, LLVMValueRef row)
{
    const kir_conv *k = c->k;
    bw_row r;
    r.oh = LLVMBuildURem(c->b, row, ci(c, k->out[1]), "oh");
    LLVMValueRef q = LLVMBuildUDiv(c->b, row, ci(c, k->out[1]), "");
    r.od = LLVMBuildURem(c->b, q, ci(c, k->out[0]), "od");
    LLVMValueRef n = LLVMBuildUDiv(c->b, q, ci(c, k->out[0]), "n");
    LLVMValueRef yi = add(c, mulc(c, add(c, mulc(c, add(c, mulc(c, n, c->ocb), ocb), k->out[0]),
                                         r.od), k->out[1]), r.oh);
    r.dyrow = at(c, dy, mulc(c, yi, k->out[2] * k->vl));
    r.xc = at(c, x, mulc(c, add(c, mulc(c, n, c->icb), icb), k->in[0] * k->in[1] * k->in[2] * k->ib));
    return r;
}

/* Input lanes [i0, i0 + wlanes) of every tap column of one row (stride 1
 * along x) into acc: one dy load serves k[2] * wlanes FMAs and
 * neighbouring positions share their input values. Positions whose taps
 * all lie in the row run in a loop, round-robin over wchains accumulator
 * sets (k[2] taps x one lane alone are too few independent chains); the
 * few border positions (known at compile time) are emitted one by one
 * with their valid taps, into the set of their position's residue. */
static void bwd_w_shared_row(cg *c, LLVMValueRef dyrow, LLVMValueRef xrow, int i0,
                             LLVMValueRef *acc)
{
    const kir_conv *k = c->k;
    int set = k->k[2] * k->wlanes, chains = k->wchains, n = chains * set;
    int64_t span = (int64_t)(k->k[2] - 1) * k->d[2];
    int64_t lo = k->p[2], hi = k->in[2] + k->p[2] - span; /* every tap inside */
    lo = lo < k->out[2] ? lo : k->out[2];
    hi = hi > lo ? (hi < k->out[2] ? hi : k->out[2]) : lo;
    int64_t grouped = lo + (hi - lo) / chains * chains; /* the chained loop's end */
    for (int64_t ow = 0; ow < k->out[2]; ow++) {
        if (ow == lo && grouped > lo) {
            cg_loop lp;
            cg_loop_begin(&lp, c->b, ci(c, 0), ci(c, (grouped - lo) / chains), acc, n);
            LLVMValueRef ow0 = addc(c, mulc(c, lp.iv, chains), lo);
            for (int u = 0; u < chains; u++)
                bwd_w_taps(c, dyrow, xrow, addc(c, ow0, u), i0, 0, k->k[2], acc + u * set);
            cg_loop_end(&lp, acc);
            ow = grouped - 1;
            continue;
        }
        int kw_lo, kw_hi;
        taps_of(k, ow, &kw_lo, &kw_hi);
        if (kw_lo < kw_hi) /* round-robin too: one set's chain would serialize them */
            bwd_w_taps(c, dyrow, xrow, ci(c, ow), i0, kw_lo, kw_hi, acc + ow % chains * set);
    }
}

/* Rows [start, start + len) of one (n, od) plane, for the shared scheme:
 * for each (kd, kh) tap row and lane group, one pass over every row whose
 * input row exists. A pass loads its partial's slots as the first
 * accumulator set, sums its chains in order at the end and stores them:
 * once per `rows` rows (kir.c), not per row (those fixed costs were a
 * fifth of a 64-wide row's work), while the rows' dy and input rows stay
 * in L1. The order of the sums depends on the shape only. */
static void bwd_w_block(cg *c, LLVMValueRef x, LLVMValueRef dy, LLVMValueRef dwp,
                        LLVMValueRef ocb, LLVMValueRef icb, LLVMValueRef start, LLVMValueRef len)
{
    const kir_conv *k = c->k;
    LLVMBuilderRef b = c->b;
    int nl = k->wlanes, set = k->k[2] * nl, n = k->wchains * set;
    bw_row r0 = bwd_w_row_at(c, x, dy, ocb, icb, start);
    LLVMValueRef oh0 = r0.oh, od = r0.od, dy0 = r0.dyrow, xc = r0.xc;
    LLVMValueRef base_d = addc(c, mulc(c, od, k->s[0]), -(int64_t)k->p[0]);
    LLVMValueRef kd_lo, kd_hi, r_lo, r_hi;
    tap_range(c, base_d, k->in[0], k->k[0], k->d[0], &kd_lo, &kd_hi);
    cg_loop ld, lh, lr;
    cg_loop_begin(&ld, b, kd_lo, kd_hi, NULL, 0);
    LLVMValueRef id = add(c, base_d, mulc(c, ld.iv, k->d[0]));
    cg_loop_begin(&lh, b, ci(c, 0), ci(c, k->k[1]), NULL, 0);
    LLVMValueRef base_h = add(c, addc(c, mulc(c, oh0, k->s[1]), -(int64_t)k->p[1]),
                              mulc(c, lh.iv, k->d[1])); /* the input row of row 0 */
    tap_range(c, base_h, k->in[1], (int)k->out[1], k->s[1], &r_lo, &r_hi);
    r_hi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, r_hi, len, ""), r_hi, len, "");
    r_lo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, r_lo, r_hi, ""), r_lo, r_hi, "");
    LLVMValueRef wrow = at(c, dwp, mulc(c, add(c, mulc(c, ld.iv, k->k[1]), lh.iv),
                                        (int64_t)k->k[2] * k->ib * k->vl));
    for (int i0 = 0; i0 < k->ib; i0 += nl) {
        LLVMValueRef acc[CG_MAX_ACC];
        for (int a = 0; a < n; a++)
            acc[a] = a < set ? loadv(c, bwd_w_slot(c, wrow, a / nl, i0 + a % nl))
                             : LLVMConstNull(c->vt);
        cg_loop_begin(&lr, b, r_lo, r_hi, acc, n);
        LLVMValueRef ih = add(c, base_h, mulc(c, lr.iv, k->s[1]));
        LLVMValueRef xrow = at(c, xc, mulc(c, add(c, mulc(c, id, k->in[1]), ih), k->in[2] * k->ib));
        bwd_w_shared_row(c, at(c, dy0, mulc(c, lr.iv, k->out[2] * k->vl)), xrow, i0, acc);
        cg_loop_end(&lr, acc);
        for (int u = 1; u < k->wchains; u++)
            for (int a = 0; a < set; a++)
                acc[a] = LLVMBuildFAdd(b, acc[a], acc[u * set + a], "");
        for (int a = 0; a < set; a++)
            storev(c, acc[a], bwd_w_slot(c, wrow, a / nl, i0 + a % nl));
    }
    cg_loop_end(&lh, NULL);
    cg_loop_end(&ld, NULL);
}

/* The shared scheme's rows [r0, r1) of a task's part, in blocks of `rows`
 * rows aligned within each (n, od) plane (a block never spans planes, and
 * is cut at the part's ends). */
static void bwd_w_blocks(cg *c, LLVMValueRef x, LLVMValueRef dy, LLVMValueRef dwp,
                         LLVMValueRef ocb, LLVMValueRef icb, LLVMValueRef r0, LLVMValueRef r1)
{
    const kir_conv *k = c->k;
    LLVMBuilderRef b = c->b;
    int64_t oh = k->out[1], per = k->rows, blocks = (oh + per - 1) / per;
    LLVMValueRef last = addc(c, r1, -1);
    LLVMValueRef b0 = add(c, mulc(c, LLVMBuildUDiv(b, r0, ci(c, oh), ""), blocks),
                          LLVMBuildUDiv(b, LLVMBuildURem(b, r0, ci(c, oh), ""), ci(c, per), ""));
    LLVMValueRef b1 = add(c, mulc(c, LLVMBuildUDiv(b, last, ci(c, oh), ""), blocks),
                          LLVMBuildUDiv(b, LLVMBuildURem(b, last, ci(c, oh), ""), ci(c, per), ""));
    cg_loop lb;
    cg_loop_begin(&lb, b, b0, addc(c, b1, 1), NULL, 0);
    LLVMValueRef plane = mulc(c, LLVMBuildUDiv(b, lb.iv, ci(c, blocks), ""), oh);
    LLVMValueRef bs = add(c, plane, mulc(c, LLVMBuildURem(b, lb.iv, ci(c, blocks), ""), per));
    LLVMValueRef be = addc(c, bs, per), pe = addc(c, plane, oh);
    be = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, be, pe, ""), be, pe, "");
    be = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, be, r1, ""), be, r1, "");
    bs = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, bs, r0, ""), r0, bs, "");
    bwd_w_block(c, x, dy, dwp, ocb, icb, bs, LLVMBuildSub(b, be, bs, ""));
    cg_loop_end(&lb, NULL);
}

/* One (n, od, oh) row of dy against every tap of the task's blocks. */
static void bwd_w_row(cg *c, LLVMValueRef x, LLVMValueRef dy, LLVMValueRef dwp,
                      LLVMValueRef ocb, LLVMValueRef icb, LLVMValueRef row)
{
    const kir_conv *k = c->k;
    bw_row rr = bwd_w_row_at(c, x, dy, ocb, icb, row);
    LLVMValueRef oh = rr.oh, od = rr.od, dyrow = rr.dyrow, xc = rr.xc;
    LLVMValueRef base_d = addc(c, mulc(c, od, k->s[0]), -(int64_t)k->p[0]);
    LLVMValueRef base_h = addc(c, mulc(c, oh, k->s[1]), -(int64_t)k->p[1]);
    LLVMValueRef kd_lo, kd_hi, kh_lo, kh_hi;
    tap_range(c, base_d, k->in[0], k->k[0], k->d[0], &kd_lo, &kd_hi);
    tap_range(c, base_h, k->in[1], k->k[1], k->d[1], &kh_lo, &kh_hi);
    cg_loop ld, lh, lw;
    cg_loop_begin(&ld, c->b, kd_lo, kd_hi, NULL, 0);
    LLVMValueRef id = add(c, base_d, mulc(c, ld.iv, k->d[0]));
    cg_loop_begin(&lh, c->b, kh_lo, kh_hi, NULL, 0);
    LLVMValueRef ih = add(c, base_h, mulc(c, lh.iv, k->d[1]));
    LLVMValueRef xrow = at(c, xc, mulc(c, add(c, mulc(c, id, k->in[1]), ih), k->in[2] * k->ib));
    LLVMValueRef wrow = at(c, dwp, mulc(c, add(c, mulc(c, ld.iv, k->k[1]), lh.iv),
                                        (int64_t)k->k[2] * k->ib * k->vl));
    if (k->k[2] == 1) {
        bwd_w_column(c, dyrow, xrow, wrow, ci(c, 0));
    } else {
        cg_loop_begin(&lw, c->b, ci(c, 0), ci(c, k->k[2]), NULL, 0);
        bwd_w_column(c, dyrow, xrow, wrow, lw.iv);
        loop_no_unroll(c, cg_loop_end(&lw, NULL));
    }
    cg_loop_end(&lh, NULL);
    cg_loop_end(&ld, NULL);
}

/* void sym(x, dy, -, -, partials, task_begin, task_end): task t =
 * (part * OCB + ocb) * ICB + icb zeroes its packed partial [kvol][ib][vl]
 * and adds rows [part * R / parts, (part + 1) * R / parts) of the
 * R = n * OD * OH rows of dy, in order. */
static void emit_bwd_w(cg *c, const char *symbol)
{
    const kir_conv *k = c->k;
    LLVMTypeRef params[7] = {c->ptr, c->ptr, c->ptr, c->ptr, c->ptr, c->i64, c->i64};
    LLVMTypeRef ty = LLVMFunctionType(LLVMVoidTypeInContext(c->ctx), params, 7, 0);
    LLVMValueRef fn = LLVMAddFunction(c->mod, symbol, ty);
    fn_attrs(c, fn);
    c->fn = fn;
    LLVMPositionBuilderAtEnd(c->b, block(c, "entry"));
    LLVMValueRef x = LLVMGetParam(fn, 0), dy = LLVMGetParam(fn, 1), out = LLVMGetParam(fn, 4);
    int64_t pk = c->kvol * k->ib * k->vl, rows = k->n * k->out[0] * k->out[1];
    cg_loop lt, lz, lr;
    cg_loop_begin(&lt, c->b, LLVMGetParam(fn, 5), LLVMGetParam(fn, 6), NULL, 0);
    LLVMValueRef icb = LLVMBuildURem(c->b, lt.iv, ci(c, c->icb), "icb");
    LLVMValueRef q = LLVMBuildUDiv(c->b, lt.iv, ci(c, c->icb), "");
    LLVMValueRef ocb = LLVMBuildURem(c->b, q, ci(c, c->ocb), "ocb");
    LLVMValueRef part = LLVMBuildUDiv(c->b, q, ci(c, c->ocb), "part");
    LLVMValueRef dwp = at(c, out, mulc(c, lt.iv, pk)); /* task index = partial index */
    cg_loop_begin(&lz, c->b, ci(c, 0), ci(c, c->kvol * k->ib), NULL, 0);
    storev(c, LLVMConstNull(c->vt), at(c, dwp, mulc(c, lz.iv, k->vl)));
    cg_loop_end(&lz, NULL);
    LLVMValueRef r0 = LLVMBuildUDiv(c->b, mulc(c, part, rows), ci(c, k->parts), "");
    LLVMValueRef r1 = LLVMBuildUDiv(c->b, mulc(c, addc(c, part, 1), rows), ci(c, k->parts), "");
    if (k->wtaps > 1) { /* the shared scheme: blocks of rows */
        bwd_w_blocks(c, x, dy, dwp, ocb, icb, r0, r1);
    } else {
        cg_loop_begin(&lr, c->b, r0, r1, NULL, 0);
        bwd_w_row(c, x, dy, dwp, ocb, icb, lr.iv);
        cg_loop_end(&lr, NULL);
    }
    cg_loop_end(&lt, NULL);
    LLVMBuildRetVoid(c->b);
}

static struct LLVMOpaqueModule *cg_bwd_w_module(const kir_kernel *kk,
                                                struct LLVMOpaqueContext *ctx, const char *symbol)
{
    const kir_conv *k = &kk->conv;
    /* one column per pass takes all ib lanes; all columns: stride 1 */
    SEG_ASSERT(k->parts >= 1 && k->wlanes >= 1 && k->ib % k->wlanes == 0 && k->wchains >= 1 &&
               k->wlanes * k->wtaps * k->wchains <= CG_MAX_ACC &&
               (k->wtaps == 1 ? k->wlanes == k->ib : k->wtaps == k->k[2] && k->s[2] == 1));
    cg c = {.ctx = ctx, .k = k};
    c.mod = LLVMModuleCreateWithNameInContext(symbol, ctx);
    c.b = LLVMCreateBuilderInContext(ctx);
    c.icb = (k->cin + k->ib - 1) / k->ib;
    c.ocb = (k->cout + k->vl - 1) / k->vl;
    c.kvol = (int64_t)k->k[0] * k->k[1] * k->k[2];
    cg_types(&c);
    emit_bwd_w(&c, symbol);
    LLVMDisposeBuilder(c.b);
    return c.mod;
}

struct LLVMOpaqueModule *cg_conv_module(const kir_kernel *kk, struct LLVMOpaqueContext *ctx,
                                        const char *symbol)
{
    if (kk->kind == KIR_CONV_BWD_W)
        return cg_bwd_w_module(kk, ctx, symbol);
    if (kk->kind == KIR_ELTWISE)
        return cg_eltwise_module(&kk->elt, ctx, symbol);
    SEG_ASSERT(kk->kind == KIR_CONV_FWD);
    const kir_conv *k = &kk->conv;
    SEG_ASSERT(k->rc >= 1 && k->rc <= CG_MAX_RC && k->rc * k->rw <= CG_MAX_ACC && k->rows >= 1);
    cg c = {.ctx = ctx, .k = k};
    c.mod = LLVMModuleCreateWithNameInContext(symbol, ctx);
    c.b = LLVMCreateBuilderInContext(ctx);
    c.icb = (k->cin + k->ib - 1) / k->ib;
    c.ocb = (k->cout + k->vl - 1) / k->vl;
    c.kvol = (int64_t)k->k[0] * k->k[1] * k->k[2];
    cg_types(&c);
    cg_seg *seg = seg_xcalloc((size_t)k->out[2], sizeof *seg);
    int nseg = row_segments(k, seg);
    LLVMValueRef full = emit_row_fn(&c, symbol, k->rc, seg, nseg);
    int last = (int)(c.ocb % k->rc); /* blocks of the narrower last group, 0 = none */
    LLVMValueRef rem = last ? emit_row_fn(&c, symbol, last, seg, nseg) : NULL;
    emit_main(&c, symbol, full, rem);
    seg_free(seg);
    LLVMDisposeBuilder(c.b);
    return c.mod;
}

/* ----------------------------------------------------- build and run */

/* Build the object for k: verify, optimise, emit (on em when given, for
 * parallel builds; else on j). *obj seg-owned. */
static int cg_compile(rt_jit *j, rt_jit_emitter *em, const kir_kernel *k, const char *symbol,
                      void **obj, size_t *len, rt_error *err)
{
    int rc = -1;
    char *msg = NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = cg_conv_module(k, ctx, symbol);
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        rt_error_set(err, "codegen: invalid module for %s: %s", symbol, msg ? msg : "?");
        goto cleanup;
    }
    rc = em ? rt_jit_emit_on(em, m, obj, len, err) : rt_jit_emit(j, m, obj, len, err);
cleanup:
    LLVMDisposeMessage(msg);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    return rc;
}

char *cg_object_text(rt_jit *j, const kir_kernel *k)
{
    seg_buf desc = {0};
    kir_print(k, &desc);
    seg_buf_printf(&desc, "codegen %s\n", CG_CONV_VERSION);
    char *text = rt_jit_cache_text(j, desc.data);
    seg_buf_free(&desc);
    return text;
}

void cg_object_symbol(const char *text, char symbol[40])
{
    snprintf(symbol, 40, "segc_k%016llx", (unsigned long long)rt_jit_key_of(text).h[0]);
}

int cg_object_make(rt_jit *j, rt_jit_emitter *em, const kir_kernel *k, cg_object *o,
                   rt_error *err)
{
    char *text = cg_object_text(j, k);
    memset(o, 0, sizeof *o);
    cg_object_symbol(text, o->symbol);
    rt_error cerr; /* cache trouble is not fatal: compile without it */
    int hit = rt_jit_cache_load(text, &o->obj, &o->len, &cerr);
    o->from_cache = hit == 1;
    int rc = 0;
    if (hit != 1) {
        rc = cg_compile(j, em, k, o->symbol, &o->obj, &o->len, err);
        if (rc == 0 && hit == 0)
            rt_jit_cache_store(text, o->obj, o->len, &cerr);
    }
    seg_free(text);
    return rc;
}

cg_kernel *cg_kernel_link(rt_jit *j, const kir_kernel *k, cg_object *o, rt_error *err)
{
    cg_kernel *kern = seg_xcalloc(1, sizeof *kern);
    kern->kir = *k;
    kern->from_cache = o->from_cache;
    memcpy(kern->symbol, o->symbol, sizeof kern->symbol);
    int rc = rt_jit_add_object(j, kern->symbol, o->obj, o->len, &kern->code, err);
    seg_free(o->obj);
    o->obj = NULL;
    if (rc) {
        seg_free(kern);
        return NULL;
    }
    void *addr = rt_jit_code_addr(kern->code);
    if (k->kind == KIR_ELTWISE) /* object pointer -> function pointer */
        memcpy(&kern->eltwise, &addr, sizeof addr);
    else
        memcpy(&kern->conv, &addr, sizeof addr);
    return kern;
}

cg_kernel *cg_kernel_build(rt_jit *j, const kir_kernel *k, rt_error *err)
{
    cg_object o;
    if (cg_object_make(j, NULL, k, &o, err)) {
        seg_free(o.obj);
        return NULL;
    }
    return cg_kernel_link(j, k, &o, err);
}

void cg_kernel_free(rt_jit *j, cg_kernel *k)
{
    if (!k)
        return;
    rt_error err;
    rt_jit_release(j, k->code, &err); /* a failed removal only leaks JIT memory */
    seg_free(k);
}

typedef struct conv_job {
    cg_conv_fn fn;
    const float *x, *w, *b, *r;
    float *y;
} conv_job;

static void conv_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const conv_job *jb = arg;
    jb->fn(jb->x, jb->w, jb->b, jb->r, jb->y, begin, end);
}

void cg_conv_run(const cg_kernel *k, rt_pool *p, const float *x, const float *w,
                 const float *bias, const float *res, float *y)
{
    SEG_ASSERT(k->kir.kind == KIR_CONV_FWD || k->kir.kind == KIR_CONV_BWD_W);
    conv_job jb = {k->conv, x, w, bias, res, y};
    rt_pool_run_balanced(p, kir_conv_tasks(&k->kir.conv), conv_task, &jb);
}
