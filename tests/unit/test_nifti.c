/* test_nifti.c — NIfTI-1 reading and writing (runtime/nifti.c).
 *
 * Round trips through rt_nifti_write in every dtype it writes, hand-made
 * headers for every dtype it reads (with scl_slope/scl_inter, big-endian
 * files, sform and qform geometry, 4-D), and the files that must fail
 * cleanly: missing, misnamed, truncated plain and gzip files, damaged
 * gzip streams, bad headers. Failing reads must name the file and leave
 * stderr silent (niftilib never gets to see those files). Each test also
 * checks that the allocation funnel has no leaks.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <nifti1.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char *tpath(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/nifti_%s", test_tmpdir(), name);
    return p;
}

static nifti_1_header raw_header(int dt, int bitpix, int nx, int ny, int nz)
{
    nifti_1_header h;
    memset(&h, 0, sizeof h);
    h.sizeof_hdr = 348;
    h.dim[0] = 3;
    h.dim[1] = (short)nx, h.dim[2] = (short)ny, h.dim[3] = (short)nz;
    for (int i = 4; i < 8; i++)
        h.dim[i] = 1;
    h.datatype = (short)dt;
    h.bitpix = (short)bitpix;
    for (int i = 0; i < 4; i++)
        h.pixdim[i] = 1;
    h.vox_offset = 352;
    memcpy(h.magic, "n+1", 4);
    return h;
}

/* Header, 4-byte extender, then data; plain or gzip by the gz flag. */
static void write_raw(const char *path, const nifti_1_header *h, const void *data, size_t n, int gz)
{
    static const char ext[4] = {0, 0, 0, 0};
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, h, sizeof *h);
        gzwrite(f, ext, 4);
        if (n)
            gzwrite(f, data, (unsigned)n);
        gzclose(f);
        return;
    }
    FILE *f = fopen(path, "wb");
    fwrite(h, sizeof *h, 1, f);
    fwrite(ext, 4, 1, f);
    if (n)
        fwrite(data, 1, n, f);
    fclose(f);
}

/* stderr into a scratch file, to prove failing reads print nothing. */
static int stderr_grab(void)
{
    fflush(stderr);
    int saved = dup(2);
    int fd = open(tpath("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static long stderr_release(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    struct stat st;
    return stat(tpath("stderr.txt"), &st) == 0 ? (long)st.st_size : -1;
}

/* A read that must fail with a message containing the path and want. */
static void expect_read_error(const char *path, const char *want)
{
    long live = seg_alloc_live();
    rt_volume v;
    rt_error err = {{0}};
    int saved = stderr_grab();
    int rc = rt_nifti_read(path, &v, &err);
    long chatter = stderr_release(saved);
    CHECK_INT(rc, -1);
    CHECK(strstr(err.msg, path) != NULL);
    if (!strstr(err.msg, want))
        test_fail_at(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"", err.msg, want);
    CHECK_INT(chatter, 0);
    CHECK(v.data == NULL && v.header == NULL);
    CHECK_INT(seg_alloc_live(), live);
}

static rt_volume make_volume(int64_t nx, int64_t ny, int64_t nz, int64_t nt)
{
    rt_volume v;
    memset(&v, 0, sizeof v);
    v.nx = nx, v.ny = ny, v.nz = nz, v.nt = nt;
    v.spacing[0] = 0.5f, v.spacing[1] = 0.75f, v.spacing[2] = 2.0f;
    v.data = seg_xcalloc((size_t)(nx * ny * nz * nt), sizeof(float));
    for (int64_t i = 0; i < nx * ny * nz * nt; i++)
        v.data[i] = (float)i * 0.25f - 3.0f;
    return v;
}

static void roundtrip_f32(const char *name)
{
    long live = seg_alloc_live();
    rt_volume v = make_volume(5, 4, 3, 1), r;
    rt_error err = {{0}};
    const char *path = tpath(name);
    CHECK_INT(rt_nifti_write(path, &v, RT_F32, &err), 0);
    CHECK_STR(err.msg, "");
    CHECK_INT(rt_nifti_read(path, &r, &err), 0);
    CHECK_STR(err.msg, "");
    CHECK_INT(r.nx, 5);
    CHECK_INT(r.ny, 4);
    CHECK_INT(r.nz, 3);
    CHECK_INT(r.nt, 1);
    CHECK_NEAR(r.spacing[0], 0.5, 1e-6);
    CHECK_NEAR(r.spacing[2], 2.0, 1e-6);
    /* No source header: the sform is diag(spacing). */
    CHECK_NEAR(r.affine[0][0], 0.5, 1e-6);
    CHECK_NEAR(r.affine[1][1], 0.75, 1e-6);
    CHECK_NEAR(r.affine[2][2], 2.0, 1e-6);
    CHECK_NEAR(r.affine[3][3], 1.0, 1e-6);
    CHECK(r.header != NULL);
    int same = 1;
    for (int i = 0; i < 60; i++)
        same &= r.data[i] == v.data[i];
    CHECK(same);
    rt_volume_free(&v);
    rt_volume_free(&r);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(nifti_roundtrip_f32_gz) { roundtrip_f32("rt.nii.gz"); }
TEST(nifti_roundtrip_f32_plain) { roundtrip_f32("rt.nii"); }

TEST(nifti_write_u8_i32_round_and_clamp)
{
    long live = seg_alloc_live();
    rt_volume v = make_volume(5, 1, 1, 1), r;
    const float in[5] = {0, 1.4f, 2.6f, 300, -5};
    memcpy(v.data, in, sizeof in);
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_write(tpath("u8.nii.gz"), &v, RT_U8, &err), 0);
    CHECK_INT(rt_nifti_read(tpath("u8.nii.gz"), &r, &err), 0);
    CHECK_INT(((nifti_1_header *)r.header)->datatype, DT_UINT8);
    const float want_u8[5] = {0, 1, 3, 255, 0};
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(r.data[i], want_u8[i], 0);
    rt_volume_free(&r);
    CHECK_INT(rt_nifti_write(tpath("i32.nii"), &v, RT_I32, &err), 0);
    CHECK_INT(rt_nifti_read(tpath("i32.nii"), &r, &err), 0);
    CHECK_INT(((nifti_1_header *)r.header)->datatype, DT_INT32);
    const float want_i32[5] = {0, 1, 3, 300, -5};
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(r.data[i], want_i32[i], 0);
    rt_volume_free(&r);
    rt_volume_free(&v);
    CHECK_INT(seg_alloc_live(), live);
}

/* One file per dtype, values v[i], scl_slope 2, scl_inter 1. */
static void read_dtype(int dt, int size, const double *vals, int gz)
{
    unsigned char data[8 * 8];
    for (int i = 0; i < 8; i++) {
        switch (dt) {
        case DT_UINT8: data[i] = (uint8_t)vals[i]; break;
        case DT_INT8: ((int8_t *)data)[i] = (int8_t)vals[i]; break;
        case DT_INT16: ((int16_t *)data)[i] = (int16_t)vals[i]; break;
        case DT_UINT16: ((uint16_t *)data)[i] = (uint16_t)vals[i]; break;
        case DT_INT32: ((int32_t *)data)[i] = (int32_t)vals[i]; break;
        case DT_FLOAT32: ((float *)data)[i] = (float)vals[i]; break;
        case DT_FLOAT64: ((double *)data)[i] = vals[i]; break;
        }
    }
    nifti_1_header h = raw_header(dt, size * 8, 2, 2, 2);
    h.scl_slope = 2;
    h.scl_inter = 1;
    char name[64];
    snprintf(name, sizeof name, "dt%d.nii%s", dt, gz ? ".gz" : "");
    write_raw(tpath(name), &h, data, (size_t)(8 * size), gz);
    rt_volume r;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_read(tpath(name), &r, &err), 0);
    CHECK_STR(err.msg, "");
    for (int i = 0; i < 8 && r.data; i++)
        CHECK_NEAR(r.data[i], vals[i] * 2 + 1, 1e-6);
    rt_volume_free(&r);
}

TEST(nifti_read_every_dtype_with_scaling)
{
    long live = seg_alloc_live();
    const double sgn[8] = {-3, -2, -1, 0, 1, 2, 3, 100};
    const double uns[8] = {0, 1, 2, 3, 4, 5, 6, 250};
    const double flt[8] = {-1.5, -0.25, 0, 0.125, 1, 2.5, 1e3, 7};
    read_dtype(DT_UINT8, 1, uns, 0);
    read_dtype(DT_INT8, 1, sgn, 1);
    read_dtype(DT_INT16, 2, sgn, 0);
    read_dtype(DT_UINT16, 2, uns, 1);
    read_dtype(DT_INT32, 4, sgn, 0);
    read_dtype(DT_FLOAT32, 4, flt, 1);
    read_dtype(DT_FLOAT64, 8, flt, 0);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(nifti_read_slope_zero_means_no_scaling)
{
    int16_t data[4] = {-7, 0, 5, 1000};
    nifti_1_header h = raw_header(DT_INT16, 16, 4, 1, 1);
    h.scl_slope = 0;
    h.scl_inter = 50; /* ignored: slope 0 means no scaling at all */
    write_raw(tpath("noscale.nii"), &h, data, sizeof data, 0);
    rt_volume r;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_read(tpath("noscale.nii"), &r, &err), 0);
    for (int i = 0; i < 4 && r.data; i++)
        CHECK_NEAR(r.data[i], data[i], 0);
    rt_volume_free(&r);
}

static void swap2(void *p)
{
    unsigned char *b = p, t = b[0];
    b[0] = b[1], b[1] = t;
}

static void swap4(void *p)
{
    unsigned char *b = p, t = b[0];
    b[0] = b[3], b[3] = t, t = b[1], b[1] = b[2], b[2] = t;
}

TEST(nifti_read_big_endian)
{
    int16_t data[6] = {1, -2, 300, -400, 5, 32000};
    int16_t disk[6];
    memcpy(disk, data, sizeof data);
    for (int i = 0; i < 6; i++)
        swap2(&disk[i]);
    nifti_1_header h = raw_header(DT_INT16, 16, 3, 2, 1);
    h.pixdim[1] = 1.5f;
    swap4(&h.sizeof_hdr);
    for (int i = 0; i < 8; i++)
        swap2(&h.dim[i]);
    swap2(&h.datatype);
    swap2(&h.bitpix);
    for (int i = 0; i < 4; i++)
        swap4(&h.pixdim[i]);
    swap4(&h.vox_offset);
    write_raw(tpath("be.nii.gz"), &h, disk, sizeof disk, 1);
    rt_volume r;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_read(tpath("be.nii.gz"), &r, &err), 0);
    CHECK_STR(err.msg, "");
    CHECK_INT(r.nx, 3);
    CHECK_INT(r.ny, 2);
    CHECK_NEAR(r.spacing[0], 1.5, 1e-6);
    for (int i = 0; i < 6 && r.data; i++)
        CHECK_NEAR(r.data[i], data[i], 0);
    rt_volume_free(&r);
}

TEST(nifti_affine_sform_then_qform)
{
    float data[8] = {0};
    nifti_1_header h = raw_header(DT_FLOAT32, 32, 2, 2, 2);
    h.pixdim[1] = 2, h.pixdim[2] = 3, h.pixdim[3] = 4;
    h.qform_code = 1; /* identity rotation, offset (10, 20, 30) */
    h.qoffset_x = 10, h.qoffset_y = 20, h.qoffset_z = 30;
    write_raw(tpath("qform.nii"), &h, data, sizeof data, 0);
    h.sform_code = 2;
    const float sx[4] = {-1, 0, 0, 5}, sy[4] = {0, 1, 0, 6}, sz[4] = {0, 0, 1, 7};
    memcpy(h.srow_x, sx, sizeof sx), memcpy(h.srow_y, sy, sizeof sy), memcpy(h.srow_z, sz, sizeof sz);
    write_raw(tpath("sform.nii"), &h, data, sizeof data, 0);
    rt_volume q, s;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_read(tpath("qform.nii"), &q, &err), 0);
    CHECK_INT(rt_nifti_read(tpath("sform.nii"), &s, &err), 0);
    CHECK_NEAR(q.affine[0][0], 2, 1e-6);
    CHECK_NEAR(q.affine[1][1], 3, 1e-6);
    CHECK_NEAR(q.affine[2][2], 4, 1e-6);
    CHECK_NEAR(q.affine[0][3], 10, 1e-6);
    CHECK_NEAR(q.affine[2][3], 30, 1e-6);
    CHECK_NEAR(s.affine[0][0], -1, 1e-6);
    CHECK_NEAR(s.affine[0][3], 5, 1e-6);
    CHECK_NEAR(s.affine[2][3], 7, 1e-6);
    CHECK_NEAR(s.spacing[1], 3, 1e-6);
    rt_volume_free(&q);
    rt_volume_free(&s);
}

TEST(nifti_4d_roundtrip)
{
    rt_volume v = make_volume(3, 2, 2, 2), r;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_write(tpath("4d.nii.gz"), &v, RT_F32, &err), 0);
    CHECK_INT(rt_nifti_read(tpath("4d.nii.gz"), &r, &err), 0);
    CHECK_INT(r.nt, 2);
    CHECK_INT(r.nz, 2);
    int same = 1;
    for (int i = 0; i < 24 && r.data; i++)
        same &= r.data[i] == v.data[i];
    CHECK(same);
    rt_volume_free(&v);
    rt_volume_free(&r);
}

/* A segmentation written with the source header keeps its geometry; one
 * on a different grid falls back to its own spacing. */
TEST(nifti_write_keeps_source_header)
{
    float data[8] = {0};
    nifti_1_header h = raw_header(DT_FLOAT32, 32, 2, 2, 2);
    h.sform_code = 1;
    const float sx[4] = {0, 2, 0, -5}, sy[4] = {3, 0, 0, 6}, sz[4] = {0, 0, 4, 7};
    memcpy(h.srow_x, sx, sizeof sx), memcpy(h.srow_y, sy, sizeof sy), memcpy(h.srow_z, sz, sizeof sz);
    memcpy(h.descrip, "source scan", 12);
    write_raw(tpath("src.nii"), &h, data, sizeof data, 0);
    rt_volume src, seg, other;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_read(tpath("src.nii"), &src, &err), 0);
    for (int i = 0; i < 8; i++)
        src.data[i] = (float)(i % 2);
    CHECK_INT(rt_nifti_write(tpath("seg.nii.gz"), &src, RT_U8, &err), 0);
    CHECK_INT(rt_nifti_read(tpath("seg.nii.gz"), &seg, &err), 0);
    CHECK_NEAR(seg.affine[0][1], 2, 1e-6);
    CHECK_NEAR(seg.affine[1][0], 3, 1e-6);
    CHECK_NEAR(seg.affine[0][3], -5, 1e-6);
    CHECK_STR(((nifti_1_header *)seg.header)->descrip, "source scan");
    CHECK_NEAR(seg.data[1], 1, 0);
    src.nx = 1, src.ny = 2, src.nz = 4; /* same voxel count, other grid */
    CHECK_INT(rt_nifti_write(tpath("other.nii"), &src, RT_F32, &err), 0);
    CHECK_INT(rt_nifti_read(tpath("other.nii"), &other, &err), 0);
    CHECK_INT(other.nz, 4);
    CHECK(strcmp(((nifti_1_header *)other.header)->descrip, "source scan") != 0);
    rt_volume_free(&src);
    rt_volume_free(&seg);
    rt_volume_free(&other);
}

/* --------------------------------------------------------------- errors */

TEST(nifti_error_missing_file)
{
    expect_read_error(tpath("nope.nii.gz"), "No such file");
}

TEST(nifti_error_bad_extension)
{
    FILE *f = fopen(tpath("scan.img"), "wb");
    fclose(f);
    expect_read_error(tpath("scan.img"), "expected .nii or .nii.gz");
}

TEST(nifti_error_truncated_plain)
{
    float data[250] = {0}; /* 1000 bytes where 64*64*64*4 are promised */
    nifti_1_header h = raw_header(DT_FLOAT32, 32, 64, 64, 64);
    write_raw(tpath("trunc.nii"), &h, data, sizeof data, 0);
    expect_read_error(tpath("trunc.nii"),
                      "truncated: header says 262144 voxels of f32 but the file holds 1000 bytes");
}

TEST(nifti_error_truncated_gz)
{
    float data[250] = {0};
    nifti_1_header h = raw_header(DT_FLOAT32, 32, 64, 64, 64);
    write_raw(tpath("scan.nii.gz"), &h, data, sizeof data, 1);
    expect_read_error(tpath("scan.nii.gz"),
                      "truncated: header says 262144 voxels of f32 but the file holds 1000 bytes");
}

/* A complete file whose gzip stream was cut short (a partial download). */
TEST(nifti_error_cut_gzip_stream)
{
    rt_volume v = make_volume(16, 16, 16, 1);
    rt_error err = {{0}};
    for (int i = 0; i < 4096; i++)
        v.data[i] = (float)((i * 7919) % 1000); /* poorly compressible */
    CHECK_INT(rt_nifti_write(tpath("full.nii.gz"), &v, RT_F32, &err), 0);
    rt_volume_free(&v);
    struct stat st;
    CHECK_INT(stat(tpath("full.nii.gz"), &st), 0);
    CHECK_INT(truncate(tpath("full.nii.gz"), st.st_size / 2), 0);
    expect_read_error(tpath("full.nii.gz"), "truncated");
    CHECK_INT(truncate(tpath("full.nii.gz"), 100), 0); /* not even a header */
    expect_read_error(tpath("full.nii.gz"), "a NIfTI-1 header needs 348");
}

/* The whole stream is there but the gzip trailer is damaged. */
TEST(nifti_error_corrupt_gzip_trailer)
{
    rt_volume v = make_volume(4, 4, 4, 1);
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_write(tpath("crc.nii.gz"), &v, RT_F32, &err), 0);
    rt_volume_free(&v);
    struct stat st;
    CHECK_INT(stat(tpath("crc.nii.gz"), &st), 0);
    FILE *f = fopen(tpath("crc.nii.gz"), "r+b");
    fseek(f, st.st_size - 8, SEEK_SET); /* the CRC32 */
    fputc(0x5a, f), fputc(0xa5, f);
    fclose(f);
    expect_read_error(tpath("crc.nii.gz"), "corrupt gzip");
}

TEST(nifti_error_short_file)
{
    FILE *f = fopen(tpath("short.nii"), "wb");
    fputs("hello", f);
    fclose(f);
    expect_read_error(tpath("short.nii"), "only 5 bytes");
}

TEST(nifti_error_bad_headers)
{
    float data[8] = {0};
    nifti_1_header h = raw_header(DT_FLOAT32, 32, 2, 2, 2);
    h.sizeof_hdr = 540; /* NIfTI-2 */
    write_raw(tpath("n2.nii"), &h, data, sizeof data, 0);
    expect_read_error(tpath("n2.nii"), "sizeof_hdr is 540");
    h = raw_header(DT_FLOAT32, 32, 2, 2, 2);
    h.dim[0] = 9;
    write_raw(tpath("dim0.nii"), &h, data, sizeof data, 0);
    expect_read_error(tpath("dim0.nii"), "dim[0] is 9");
    h = raw_header(DT_FLOAT32, 32, 2, -2, 2);
    write_raw(tpath("dimneg.nii.gz"), &h, data, sizeof data, 1);
    expect_read_error(tpath("dimneg.nii.gz"), "dim[2] is -2");
    h = raw_header(DT_FLOAT32, 32, 32767, 32767, 32767);
    write_raw(tpath("huge.nii"), &h, data, sizeof data, 0);
    expect_read_error(tpath("huge.nii"), "more than 2^31 voxels");
    h = raw_header(128, 24, 2, 2, 2); /* RGB24 */
    write_raw(tpath("rgb.nii"), &h, data, sizeof data, 0);
    expect_read_error(tpath("rgb.nii"), "unsupported datatype 128");
    h = raw_header(DT_FLOAT32, 32, 2, 2, 2);
    memcpy(h.magic, "ni1", 4);
    write_raw(tpath("pair.nii"), &h, data, sizeof data, 0);
    expect_read_error(tpath("pair.nii"), ".hdr/.img");
}

TEST(nifti_error_gzip_named_nii)
{
    float data[8] = {0};
    nifti_1_header h = raw_header(DT_FLOAT32, 32, 2, 2, 2);
    write_raw(tpath("zipped.nii"), &h, data, sizeof data, 1);
    expect_read_error(tpath("zipped.nii"), "gzip-compressed");
}

/* niftilib replaces NaN and infinity by 0 when it reads floats: the reader
 * must see them first (issue 13), in either byte order, plain or gzip. */
TEST(nifti_error_nan_voxel)
{
    float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    data[5] = NAN;
    nifti_1_header h = raw_header(DT_FLOAT32, 32, 2, 2, 2);
    h.scl_slope = 2; /* scaled or not, NaN stays an error */
    write_raw(tpath("nan.nii"), &h, data, sizeof data, 0);
    expect_read_error(tpath("nan.nii"), "voxel 5 is NaN or infinite");
    write_raw(tpath("nan.nii.gz"), &h, data, sizeof data, 1);
    expect_read_error(tpath("nan.nii.gz"), "voxel 5 is NaN or infinite");
    double d[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    d[7] = -INFINITY;
    h = raw_header(DT_FLOAT64, 64, 2, 2, 2);
    write_raw(tpath("inf.nii.gz"), &h, d, sizeof d, 1);
    expect_read_error(tpath("inf.nii.gz"), "voxel 7 is NaN or infinite");
    /* big-endian: the bytes of 1.0f swapped are a finite denormal, NaN's
     * swapped bytes are still read as NaN once put back in order */
    uint32_t be[8];
    for (int i = 0; i < 8; i++) {
        memcpy(&be[i], &data[i], 4);
        be[i] = __builtin_bswap32(be[i]);
    }
    h = raw_header(DT_FLOAT32, 32, 2, 2, 2);
    h.sizeof_hdr = (int)__builtin_bswap32(348u);
    for (int i = 0; i < 8; i++)
        h.dim[i] = (short)__builtin_bswap16((uint16_t)h.dim[i]);
    h.datatype = (short)__builtin_bswap16(DT_FLOAT32);
    h.bitpix = (short)__builtin_bswap16(32);
    uint32_t off;
    float o = 352;
    memcpy(&off, &o, 4);
    off = __builtin_bswap32(off);
    memcpy(&h.vox_offset, &off, 4);
    write_raw(tpath("nan_be.nii"), &h, be, sizeof be, 0);
    expect_read_error(tpath("nan_be.nii"), "voxel 5 is NaN or infinite");
}

/* Scaling can carry a finite voxel out of f32's range (fuzz_nifti found
 * an i32 file with scl_slope -1.65e35): an error, not an infinity. */
TEST(nifti_error_scaled_past_f32)
{
    int32_t data[8] = {0, 1, 2, 3, 4, 5, 6, 268436480};
    nifti_1_header h = raw_header(DT_INT32, 32, 2, 2, 2);
    h.scl_slope = -1.65e35f;
    write_raw(tpath("scaled.nii"), &h, data, sizeof data, 0);
    expect_read_error(tpath("scaled.nii"), "voxel 7 is out of the range of f32 after scaling");
}

/* A .nii.gz whose stream holds far more than its header describes (a
 * small file that inflates to gigabytes) is refused once it passes that,
 * without inflating the rest. */
TEST(nifti_error_gzip_inflates_past_header)
{
    size_t n = 32u << 20; /* 32 MB of zeros: ~32 kB compressed */
    unsigned char *zeros = seg_xcalloc(n, 1);
    nifti_1_header h = raw_header(DT_UINT8, 8, 4, 4, 4);
    write_raw(tpath("bomb.nii.gz"), &h, zeros, n, 1);
    seg_free(zeros);
    double t0 = seg_seconds();
    expect_read_error(tpath("bomb.nii.gz"), "inflates to more than the 416 bytes its header");
    CHECK(seg_seconds() - t0 < 1.0);
    /* a little padding after the voxels is still a volume */
    unsigned char pad[64 + 100] = {0};
    write_raw(tpath("padded.nii.gz"), &h, pad, sizeof pad, 1);
    rt_volume v;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_read(tpath("padded.nii.gz"), &v, &err), 0);
    rt_volume_free(&v);
}

/* ------------------------------------------------------------- writing */

static int count_tmp_files(void)
{
    DIR *d = opendir(test_tmpdir());
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, "nifti_") && strstr(e->d_name, ".tmp.");
    if (d)
        closedir(d);
    return n;
}

TEST(nifti_write_is_atomic)
{
    long live = seg_alloc_live();
    rt_volume v = make_volume(4, 4, 4, 1), r;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_write(tpath("atomic.nii.gz"), &v, RT_F32, &err), 0);
    v.data[0] = 42;
    CHECK_INT(rt_nifti_write(tpath("atomic.nii.gz"), &v, RT_F32, &err), 0); /* replaces */
    CHECK_INT(rt_nifti_read(tpath("atomic.nii.gz"), &r, &err), 0);
    CHECK_NEAR(r.data[0], 42, 0);
    CHECK_INT(count_tmp_files(), 0);
    struct stat st;
    CHECK_INT(stat(tpath("atomic.nii.gz"), &st), 0);
    CHECK(st.st_mode & S_IRUSR);
    rt_volume_free(&r);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/out.nii", test_tmpdir());
    CHECK_INT(rt_nifti_write(bad, &v, RT_F32, &err), -1);
    CHECK(strstr(err.msg, bad) != NULL);
    v.nx = 40000; /* beyond NIfTI-1's short dims */
    CHECK_INT(rt_nifti_write(tpath("big.nii"), &v, RT_F32, &err), -1);
    CHECK(strstr(err.msg, "32767") != NULL);
    CHECK(access(tpath("big.nii"), F_OK) != 0);
    CHECK_INT(count_tmp_files(), 0);
    rt_volume_free(&v);
    CHECK_INT(seg_alloc_live(), live);
}

/* niftilib's own big-endian, 5-D, int32, scaled reference image, when the
 * Debian package that ships it is installed. */
TEST(nifti_reads_niftilib_reference_image)
{
    const char *path = "/usr/share/doc/libnifti2-2/examples/"
                       "ATestReferenceImageForReadingAndWriting.nii.gz";
    if (access(path, R_OK) != 0)
        return;
    rt_volume v;
    rt_error err = {{0}};
    CHECK_INT(rt_nifti_read(path, &v, &err), 0);
    CHECK_STR(err.msg, "");
    CHECK_INT(v.nx, 23);
    CHECK_INT(v.ny, 17);
    CHECK_INT(v.nz, 11);
    CHECK_INT(v.nt, 7 * 3);
    CHECK_NEAR(v.spacing[0], 0.25, 1e-6);
    CHECK_NEAR(v.affine[0][0], 0.5, 1e-6); /* sform, not pixdim */
    CHECK_NEAR(v.affine[2][2], 2.0, 1e-6);
    CHECK_NEAR(v.data[0], 128, 1e-6); /* 0 * 0.25 + 128 */
    rt_volume_free(&v);
}
