/* nifti.c — NIfTI-1 volumes in and out (.nii and .nii.gz).
 *
 * Reading goes through Debian's niftilib (nifti1_io), but only after our
 * own checks have passed: niftilib prints to stderr and misbehaves on
 * truncated or corrupt files, so we first read the 348-byte header
 * ourselves (through zlib, which also reads plain files), check it
 * (sizeof_hdr, byte order, dims, datatype, single-file "n+1" magic) and
 * count the bytes the file really holds (for .gz by inflating it, but
 * never past what the header describes: a small .gz that inflates to
 * gigabytes is refused as soon as it passes that). Float voxels are checked
 * on the way (niftilib quietly turns NaN and infinity into 0, so a bad
 * scan would otherwise train as a black patch). Every failure becomes an
 * rt_error naming the file. The voxels are then converted to f32 with
 * scl_slope/scl_inter applied.
 *
 * Writing is our own code (header + 4-byte extender + data, gzip when the
 * name ends in .gz): niftilib picks its output format from the file name,
 * and we write to a temporary name "PATH.tmp.XXXXXX" in the same folder
 * (rt_atomic_file, atomic_file.c), which is fsynced and renamed over PATH,
 * so readers never see a partial file.
 * A volume read from disk keeps its source header (as a native-endian
 * nifti_1_header) so a segmentation is written back with the same geometry.
 */
#include "runtime.h"

#include <nifti1_io.h>

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

_Static_assert(sizeof(nifti_1_header) == 348, "nifti_1_header must be 348 bytes");

enum {
    NII_HDR_SIZE = 348,        /* sizeof_hdr of every NIfTI-1 header */
    NII_MIN_OFFSET = 352,      /* header + 4-byte extender */
    NII_CHUNK = 1 << 16,       /* bytes per read / voxels per write chunk */
    NII_TAIL = 1 << 16,        /* bytes a .gz may hold after the voxels (padding) */
};
#define NII_MAX_VOXELS ((int64_t)1 << 31) /* exclusive limit on voxel count */

/* ------------------------------------------------------------- helpers */

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_gz_name(const char *path) { return has_suffix(path, ".gz"); }

/* Size in bytes and short name of a datatype we read; 0 if unsupported. */
static int nii_dtype_info(int dt, const char **name)
{
    static const struct { int dt, size; const char *name; } tab[] = {
        {DT_UINT8, 1, "u8"},   {DT_INT8, 1, "i8"},     {DT_INT16, 2, "i16"},
        {DT_UINT16, 2, "u16"}, {DT_INT32, 4, "i32"},   {DT_FLOAT32, 4, "f32"},
        {DT_FLOAT64, 8, "f64"},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (tab[i].dt == dt) {
            if (name)
                *name = tab[i].name;
            return tab[i].size;
        }
    return 0;
}

static void swap_bytes(void *p, size_t n)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned char t = b[i];
        b[i] = b[n - 1 - i];
        b[n - 1 - i] = t;
    }
}

/* Swap the header fields our checks read (niftilib swaps the rest). */
static void nii_swap_checked_fields(nifti_1_header *h)
{
    swap_bytes(&h->sizeof_hdr, 4);
    for (int i = 0; i < 8; i++)
        swap_bytes(&h->dim[i], 2);
    swap_bytes(&h->datatype, 2);
    swap_bytes(&h->bitpix, 2);
    swap_bytes(&h->vox_offset, 4);
}

/* ------------------------------------------------------------ checking */

/* The facts our checks establish about a file before niftilib sees it. */
typedef struct nii_facts {
    int64_t nvox;      /* product of dim[1..dim[0]] */
    int elem_size;     /* bytes per voxel */
    const char *dname; /* short datatype name */
    int64_t offset;    /* where the voxels start */
    int swapped;       /* the file's byte order is not ours */
    int is_float;      /* f32 or f64: checked for NaN and infinity */
} nii_facts;

/* Read the first 348 (uncompressed) bytes of path. */
static int nii_read_raw_header(const char *path, nifti_1_header *h, rt_error *err)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        rt_error_set(err, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
        return -1;
    }
    int n = gzread(f, h, NII_HDR_SIZE);
    int zerr = 0;
    const char *zmsg = gzerror(f, &zerr);
    size_t plen = strlen(path); /* zlib says "PATH: what went wrong" */
    if (zmsg && strncmp(zmsg, path, plen) == 0 && strncmp(zmsg + plen, ": ", 2) == 0)
        zmsg += plen + 2;
    char msg[128];
    snprintf(msg, sizeof msg, "%s", zmsg ? zmsg : "");
    gzclose(f);
    if (n >= NII_HDR_SIZE)
        return 0; /* later damage is nii_check_length's to report */
    if (n < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR)) {
        /* a small file inflates in one go, so a bad CRC shows up here */
        rt_error_set(err, "%s: corrupt gzip data (%s)", path, msg);
        return -1;
    }
    if (n < NII_HDR_SIZE) {
        rt_error_set(err, "%s: not a NIfTI file: only %d bytes, a NIfTI-1 header needs 348", path, n);
        return -1;
    }
    return 0;
}

/* Byte order: sizeof_hdr is 348 natively or byte-swapped. */
static int nii_check_byte_order(const char *path, nifti_1_header *h, nii_facts *f, rt_error *err)
{
    f->swapped = 0;
    if (h->sizeof_hdr == NII_HDR_SIZE)
        return 0;
    int32_t s = h->sizeof_hdr;
    swap_bytes(&s, 4);
    if (s != NII_HDR_SIZE) {
        rt_error_set(err, "%s: not a NIfTI-1 file (sizeof_hdr is %d, expected 348)", path,
                     (int)h->sizeof_hdr);
        return -1;
    }
    nii_swap_checked_fields(h);
    f->swapped = 1;
    return 0;
}

static int nii_check_dims(const char *path, const nifti_1_header *h, nii_facts *f, rt_error *err)
{
    int nd = h->dim[0];
    if (nd < 1 || nd > 7) {
        rt_error_set(err, "%s: bad header: dim[0] is %d, expected 1..7", path, nd);
        return -1;
    }
    f->nvox = 1;
    for (int i = 1; i <= nd; i++) {
        if (h->dim[i] < 1) {
            rt_error_set(err, "%s: bad header: dim[%d] is %d, expected a positive size", path, i,
                         (int)h->dim[i]);
            return -1;
        }
        f->nvox *= h->dim[i]; /* at most 32767^7 < 2^105: checked step by step */
        if (f->nvox >= NII_MAX_VOXELS) {
            rt_error_set(err, "%s: bad header: more than 2^31 voxels", path);
            return -1;
        }
    }
    return 0;
}

static int nii_check_format(const char *path, const nifti_1_header *h, nii_facts *f, rt_error *err)
{
    if (memcmp(h->magic, "ni1", 4) == 0) {
        rt_error_set(err, "%s: header/image pairs (.hdr/.img) are not supported; use .nii or .nii.gz",
                     path);
        return -1;
    }
    if (memcmp(h->magic, "n+1", 4) != 0) {
        rt_error_set(err, "%s: not a NIfTI-1 file (bad magic; ANALYZE files are not supported)", path);
        return -1;
    }
    f->elem_size = nii_dtype_info(h->datatype, &f->dname);
    f->is_float = h->datatype == DT_FLOAT32 || h->datatype == DT_FLOAT64;
    if (!f->elem_size) {
        rt_error_set(err, "%s: unsupported datatype %d (%s); supported: u8 i8 i16 u16 i32 f32 f64",
                     path, (int)h->datatype, nifti_datatype_string(h->datatype));
        return -1;
    }
    float off = h->vox_offset;
    if (!(off >= 0 && off < 1e9f)) {
        rt_error_set(err, "%s: bad header: vox_offset is %g", path, (double)off);
        return -1;
    }
    f->offset = (int64_t)off < NII_MIN_OFFSET ? NII_MIN_OFFSET : (int64_t)off;
    return 0;
}

/* What reading the file through found. */
typedef struct nii_scan {
    int64_t total;     /* uncompressed bytes read (stops past `limit`) */
    int64_t limit;     /* the most a .gz may inflate to: header, voxels, NII_TAIL */
    int gz_damaged;    /* the gzip stream ends early or is corrupt */
    int64_t bad_voxel; /* index of the first NaN or infinite voxel, -1 = none */
    unsigned char el[8]; /* a voxel split between two chunks */
    int el_n;          /* bytes of it in el */
} nii_scan;

/* Voxel `i` (its bytes in p, file order) is finite? Notes the first that is not. */
static void nii_check_voxel(nii_scan *sc, const nii_facts *f, unsigned char *p, int64_t i)
{
    if (f->swapped)
        swap_bytes(p, (size_t)f->elem_size);
    double x;
    if (f->elem_size == 4) {
        float v;
        memcpy(&v, p, 4);
        x = v;
    } else {
        memcpy(&x, p, 8);
    }
    if (!isfinite(x) && sc->bad_voxel < 0)
        sc->bad_voxel = i;
}

/* Check the float voxels among buf[0..n), which starts at file byte `at`. */
static void nii_scan_chunk(nii_scan *sc, const nii_facts *f, const unsigned char *buf, int64_t n,
                           int64_t at)
{
    int64_t end = f->offset + f->nvox * f->elem_size;
    for (int64_t k = 0; k < n && sc->bad_voxel < 0; k++) {
        int64_t pos = at + k;
        if (pos < f->offset || pos >= end)
            continue;
        sc->el[sc->el_n++] = buf[k];
        if (sc->el_n == f->elem_size) {
            nii_check_voxel(sc, f, sc->el, (pos - f->offset) / f->elem_size);
            sc->el_n = 0;
        }
    }
}

/* Read path through zlib (plain files too) up to sc->limit bytes. */
static int nii_scan_file(const char *path, const nii_facts *f, nii_scan *sc, rt_error *err)
{
    gzFile g = gzopen(path, "rb");
    if (!g) {
        rt_error_set(err, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
        return -1;
    }
    unsigned char *buf = seg_xrealloc(NULL, NII_CHUNK);
    int got;
    while (sc->total <= sc->limit && (got = gzread(g, buf, NII_CHUNK)) > 0) {
        if (f->is_float)
            nii_scan_chunk(sc, f, buf, got, sc->total);
        sc->total += got;
    }
    int zerr = Z_OK;
    gzerror(g, &zerr);
    sc->gz_damaged = zerr != Z_OK;
    seg_free(buf);
    gzclose(g);
    return 0;
}

/* The file's length against the header; float voxels finite. A plain file
 * whose voxels cannot hold NaN is only measured. */
static int nii_check_data(const char *path, const nii_facts *f, rt_error *err)
{
    int64_t need = f->nvox * f->elem_size;
    nii_scan sc = {.limit = f->offset + need + NII_TAIL, .bad_voxel = -1};
    struct stat st;
    if (!is_gz_name(path) && stat(path, &st) != 0) {
        rt_error_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!is_gz_name(path) && !f->is_float)
        sc.total = (int64_t)st.st_size;
    else if (nii_scan_file(path, f, &sc, err))
        return -1;
    int64_t have = sc.total > f->offset ? sc.total - f->offset : 0;
    if (have < need) {
        rt_error_set(err,
                     "%s: truncated: header says %lld voxels of %s but the file holds %lld bytes of data"
                     " (%lld needed)",
                     path, (long long)f->nvox, f->dname, (long long)have, (long long)need);
        return -1;
    }
    if (is_gz_name(path) && sc.total > sc.limit) {
        rt_error_set(err, "%s: the gzip data inflates to more than the %lld bytes its header "
                     "describes (%lld voxels of %s); refused", path,
                     (long long)(f->offset + need), (long long)f->nvox, f->dname);
        return -1;
    }
    if (sc.gz_damaged) {
        rt_error_set(err, "%s: corrupt gzip data (the stream is damaged or ends early)", path);
        return -1;
    }
    if (sc.bad_voxel >= 0) {
        rt_error_set(err, "%s: voxel %lld is NaN or infinite; a scan must hold finite values",
                     path, (long long)sc.bad_voxel);
        return -1;
    }
    return 0;
}

/* niftilib picks gzip by the name alone, so a compressed file named .nii
 * would be read as raw bytes; zlib would read it either way. */
static int nii_check_not_gzipped(const char *path, rt_error *err)
{
    unsigned char magic[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        rt_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(magic, 1, 2, f);
    fclose(f);
    if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        rt_error_set(err, "%s: the file is gzip-compressed; name it .nii.gz", path);
        return -1;
    }
    return 0;
}

/* Every check that must pass before niftilib may touch the file. */
static int nii_validate(const char *path, nii_facts *f, rt_error *err)
{
    if (!has_suffix(path, ".nii") && !has_suffix(path, ".nii.gz")) {
        rt_error_set(err, "%s: not a NIfTI file name (expected .nii or .nii.gz)", path);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        rt_error_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        rt_error_set(err, "%s: not a regular file", path);
        return -1;
    }
    if (!is_gz_name(path) && nii_check_not_gzipped(path, err))
        return -1;
    nifti_1_header h;
    if (nii_read_raw_header(path, &h, err) || nii_check_byte_order(path, &h, f, err) ||
        nii_check_dims(path, &h, f, err) || nii_check_format(path, &h, f, err))
        return -1;
    return nii_check_data(path, f, err);
}

/* ------------------------------------------------------------- reading */

/* Voxel i of niftilib's data (native byte order after reading) as double. */
static double nii_voxel(const void *data, int dt, size_t i)
{
    switch (dt) {
    case DT_UINT8: return ((const uint8_t *)data)[i];
    case DT_INT8: return ((const int8_t *)data)[i];
    case DT_INT16: return ((const int16_t *)data)[i];
    case DT_UINT16: return ((const uint16_t *)data)[i];
    case DT_INT32: return ((const int32_t *)data)[i];
    case DT_FLOAT32: return ((const float *)data)[i];
    case DT_FLOAT64: return ((const double *)data)[i];
    default: SEG_UNREACHABLE();
    }
}

/* The voxels as f32, scaled; the index of the first that does not fit in
 * an f32 after scaling (a huge scl_slope: fuzz_nifti found it), or -1. */
static int64_t nii_convert(const nifti_image *nim, float *out)
{
    int64_t bad = -1;
    /* NIfTI: a slope of 0 (or not finite) means "no scaling". */
    double slope = nim->scl_slope, inter = nim->scl_inter;
    int scale = slope != 0 && isfinite(slope);
    if (!isfinite(inter))
        inter = 0;
    for (size_t i = 0; i < nim->nvox; i++) {
        double x = nii_voxel(nim->data, nim->datatype, i);
        double y = scale ? x * slope + inter : x;
        out[i] = fabs(y) <= FLT_MAX ? (float)y : 0; /* no UB converting an out-of-range double */
        if (!(fabs(y) <= FLT_MAX) && bad < 0)
            bad = (int64_t)i;
    }
    return bad;
}

static float nii_spacing(float d) { return isfinite(d) && d != 0 ? fabsf(d) : 1.0f; }

/* -1 when the f32 copy of the voxels does not fit in memory, -2 when a
 * voxel does not fit in an f32 after scaling (*bad: which). */
static int nii_fill_volume(const nifti_image *nim, rt_volume *v, int64_t *bad)
{
    v->data = seg_try_calloc(nim->nvox, sizeof(float));
    if (!v->data)
        return -1;
    v->nx = nim->nx;
    v->ny = nim->ndim >= 2 ? nim->ny : 1;
    v->nz = nim->ndim >= 3 ? nim->nz : 1;
    v->nt = (int64_t)nim->nvox / (v->nx * v->ny * v->nz);
    v->spacing[0] = nii_spacing(nim->dx);
    v->spacing[1] = nii_spacing(nim->dy);
    v->spacing[2] = nii_spacing(nim->dz);
    const mat44 *m = nim->sform_code > 0 ? &nim->sto_xyz : &nim->qto_xyz;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            v->affine[r][c] = m->m[r][c];
    if ((*bad = nii_convert(nim, v->data)) >= 0)
        return -2;
    nifti_1_header *h = seg_xcalloc(1, sizeof *h);
    *h = nifti_convert_nim2nhdr(nim);
    v->header = h;
    return 0;
}

int rt_nifti_read(const char *path, rt_volume *v, rt_error *err)
{
    memset(v, 0, sizeof *v);
    nii_facts f;
    if (nii_validate(path, &f, err))
        return -1;
    nifti_set_debug_level(0);
    nifti_image *nim = nifti_image_read(path, 1);
    if (!nim || !nim->data) {
        rt_error_set(err, "%s: niftilib could not read the image", path);
        if (nim)
            nifti_image_free(nim);
        return -1;
    }
    if ((int64_t)nim->nvox != f.nvox || nii_dtype_info(nim->datatype, NULL) == 0) {
        rt_error_set(err, "%s: niftilib read a different image than the header describes", path);
        nifti_image_free(nim);
        return -1;
    }
    int64_t bad = -1;
    int rc = nii_fill_volume(nim, v, &bad);
    if (rc == -1)
        rt_error_set(err, "%s: out of memory for %lld voxels (%.1f GB as f32)", path,
                     (long long)f.nvox, (double)f.nvox * 4 / 1e9);
    if (rc == -2) {
        rt_error_set(err, "%s: voxel %lld is out of the range of f32 after scaling "
                     "(scl_slope %g, scl_inter %g)", path, (long long)bad,
                     (double)nim->scl_slope, (double)nim->scl_inter);
        rt_volume_free(v);
    }
    nifti_image_free(nim);
    return rc ? -1 : 0;
}

void rt_volume_free(rt_volume *v)
{
    if (!v)
        return;
    seg_free(v->data);
    seg_free(v->header);
    v->data = NULL;
    v->header = NULL;
}

/* ------------------------------------------------------------- writing */

static int nii_out_dtype(rt_dtype t, short *code, short *bitpix)
{
    switch (t) {
    case RT_F32: *code = DT_FLOAT32; *bitpix = 32; return 4;
    case RT_I32: *code = DT_INT32; *bitpix = 32; return 4;
    case RT_U8: *code = DT_UINT8; *bitpix = 8; return 1;
    default: return 0;
    }
}

static int affine_is_zero(const rt_volume *v)
{
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            if (v->affine[r][c] != 0)
                return 0;
    return 1;
}

/* A header from v's own spacing and affine (no source header, or one
 * whose grid does not match v). */
static void nii_fresh_header(const rt_volume *v, nifti_1_header *h)
{
    memset(h, 0, sizeof *h);
    h->pixdim[0] = 1;
    for (int i = 0; i < 3; i++)
        h->pixdim[i + 1] = v->spacing[i] > 0 ? v->spacing[i] : 1;
    h->xyzt_units = NIFTI_UNITS_MM;
    h->sform_code = NIFTI_XFORM_SCANNER_ANAT;
    for (int c = 0; c < 4; c++) {
        int diag = affine_is_zero(v);
        h->srow_x[c] = diag ? (c == 0 ? h->pixdim[1] : 0) : v->affine[0][c];
        h->srow_y[c] = diag ? (c == 1 ? h->pixdim[2] : 0) : v->affine[1][c];
        h->srow_z[c] = diag ? (c == 2 ? h->pixdim[3] : 0) : v->affine[2][c];
    }
}

/* The source header keeps its geometry only if its grid is v's grid. */
static int header_matches(const nifti_1_header *h, const rt_volume *v)
{
    int64_t d[3] = {v->nx, v->ny, v->nz};
    for (int i = 0; i < 3; i++) {
        int64_t hd = i < h->dim[0] ? h->dim[i + 1] : 1;
        if (hd != d[i])
            return 0;
    }
    return 1;
}

static int nii_build_header(const rt_volume *v, rt_dtype dtype, nifti_1_header *h, rt_error *err)
{
    int64_t d[4] = {v->nx, v->ny, v->nz, v->nt > 0 ? v->nt : 1};
    for (int i = 0; i < 4; i++)
        if (d[i] < 1 || d[i] > SHRT_MAX) {
            rt_error_set(err, "volume size %lld is out of NIfTI-1's range 1..32767", (long long)d[i]);
            return -1;
        }
    const nifti_1_header *src = v->header;
    if (src && header_matches(src, v))
        *h = *src;
    else
        nii_fresh_header(v, h);
    h->sizeof_hdr = NII_HDR_SIZE;
    memset(h->dim, 0, sizeof h->dim);
    h->dim[0] = d[3] > 1 ? 4 : 3;
    for (int i = 0; i < 4; i++)
        h->dim[i + 1] = (short)(i < h->dim[0] ? d[i] : 1);
    for (int i = h->dim[0] + 1; i < 8; i++)
        h->dim[i] = 1;
    if (!nii_out_dtype(dtype, &h->datatype, &h->bitpix)) {
        rt_error_set(err, "cannot write dtype %d as NIfTI", (int)dtype);
        return -1;
    }
    h->vox_offset = NII_MIN_OFFSET;
    h->scl_slope = 0; /* the values are stored as they are */
    h->scl_inter = 0;
    h->cal_min = h->cal_max = 0;
    h->glmin = h->glmax = 0;
    memcpy(h->magic, "n+1", 4);
    return 0;
}

/* An output sink: plain fd or gzip stream over a dup of it. */
typedef struct nii_sink {
    int fd;      /* the temp file */
    gzFile gz;   /* NULL for .nii */
} nii_sink;

static int sink_write(nii_sink *s, const void *p, size_t n)
{
    if (s->gz) {
        return gzwrite(s->gz, p, (unsigned)n) == (int)n ? 0 : -1;
    }
    const char *c = p;
    while (n) {
        ssize_t w = write(s->fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Convert one chunk of floats to the file dtype. */
static void nii_pack(const float *in, size_t n, rt_dtype dtype, void *out)
{
    for (size_t i = 0; i < n; i++) {
        float x = isfinite(in[i]) ? in[i] : 0;
        if (dtype == RT_F32)
            ((float *)out)[i] = in[i];
        else if (dtype == RT_U8)
            ((uint8_t *)out)[i] = (uint8_t)(x <= 0 ? 0 : x >= 255 ? 255 : lrintf(x));
        else
            ((int32_t *)out)[i] = (int32_t)(x <= -2147483648.0f ? INT32_MIN
                                            : x >= 2147483647.0f ? INT32_MAX : lrintf(x));
    }
}

static int nii_write_body(nii_sink *s, const nifti_1_header *h, const rt_volume *v, rt_dtype dtype)
{
    static const char extender[4] = {0, 0, 0, 0};
    if (sink_write(s, h, sizeof *h) || sink_write(s, extender, 4))
        return -1;
    size_t n = (size_t)(v->nx * v->ny * v->nz * (v->nt > 0 ? v->nt : 1));
    size_t esz = rt_dtype_size(dtype);
    void *buf = seg_xrealloc(NULL, NII_CHUNK * esz);
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += NII_CHUNK) {
        size_t k = n - at < NII_CHUNK ? n - at : NII_CHUNK;
        nii_pack(v->data + at, k, dtype, buf);
        rc = sink_write(s, buf, k * esz);
    }
    seg_free(buf);
    return rc;
}

/* Write everything to the open temp file fd; close the gzip stream. */
static int nii_write_fd(int fd, const char *path, const nifti_1_header *h, const rt_volume *v,
                        rt_dtype dtype)
{
    nii_sink s = {fd, NULL};
    if (is_gz_name(path)) {
        int fd2 = dup(fd);
        s.gz = fd2 < 0 ? NULL : gzdopen(fd2, "wb6");
        if (!s.gz) {
            if (fd2 >= 0)
                close(fd2);
            return -1;
        }
    }
    int rc = nii_write_body(&s, h, v, dtype);
    if (s.gz && gzclose(s.gz) != Z_OK)
        rc = -1;
    return rc;
}

int rt_nifti_write(const char *path, const rt_volume *v, rt_dtype dtype, rt_error *err)
{
    nifti_1_header h;
    if (!has_suffix(path, ".nii") && !has_suffix(path, ".nii.gz")) {
        rt_error_set(err, "%s: not a NIfTI file name (expected .nii or .nii.gz)", path);
        return -1;
    }
    rt_atomic_file a;
    if (nii_build_header(v, dtype, &h, err) || rt_atomic_file_open(&a, path, "NIfTI", err))
        return -1;
    /* Straight to the descriptor (and gzip over a dup of it): nothing
     * goes through a.f's buffer, and the commit's fsync covers it all. */
    if (nii_write_fd(fileno(a.f), path, &h, v, dtype))
        return rt_atomic_file_fail(&a, "write");
    return rt_atomic_file_commit(&a);
}
