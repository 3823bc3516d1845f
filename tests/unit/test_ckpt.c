/* test_ckpt.c — safetensors checkpoints: round trip, atomic replacement,
 * truncation at every byte, malformed headers, and the net comparison.
 * Scratch files live in a fresh folder under test_tmpdir().
 */
#include "runtime/runtime.h"
#include "tests/unit/test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh scratch folder for one test (path into buf). */
static const char *scratch(char *buf, size_t n)
{
    snprintf(buf, n, "%s/ckpt-XXXXXX", test_tmpdir());
    if (!mkdtemp(buf))
        test_fail_at(__FILE__, __LINE__, "mkdtemp %s failed", buf);
    return buf;
}

/* Remove the folder and its files. */
static void scratch_rm(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..") != 0)) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(*n + 1);
    if (fread(p, 1, *n, f) != *n)
        *n = 0;
    fclose(f);
    return p;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(p, 1, n, f) == n);
        fclose(f);
    }
}

/* A raw safetensors file: length prefix, header text verbatim, data. */
static void spit_raw(const char *path, const char *header, const void *data, size_t ndata)
{
    size_t h = strlen(header);
    unsigned char *buf = malloc(8 + h + ndata + 1);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    if (ndata)
        memcpy(buf + 8 + h, data, ndata);
    spit(path, buf, 8 + h + ndata);
    free(buf);
}

/* The sample checkpoint: every dtype, a scalar, an empty tensor, and an
 * odd-sized u8 tensor so that the f32 after it is unaligned. */
static float w1[6] = {1.5f, -2, 3.25f, 0, 1e-30f, -7};
static int32_t labels[4] = {0, -1, 2147483647, 3};
static uint8_t mask[3] = {1, 0, 255};
static float after[2] = {0.125f, 9};
static uint64_t step = 123456789012345ULL;
static float scalar = 42;
static int64_t count = -5;

static rt_ckpt *sample(void)
{
    rt_ckpt *c = rt_ckpt_new();
    rt_ckpt_add(c, "level.1.encoder.conv0.weight", RT_CKPT_F32, 2, (const int64_t[]){2, 3}, w1);
    rt_ckpt_add(c, "labels", RT_CKPT_I32, 1, (const int64_t[]){4}, labels);
    rt_ckpt_add(c, "mask", RT_CKPT_U8, 1, (const int64_t[]){3}, mask);
    rt_ckpt_add(c, "after.mask", RT_CKPT_F32, 1, (const int64_t[]){2}, after);
    rt_ckpt_add(c, "optim.x.step", RT_CKPT_U64, 0, NULL, &step);
    rt_ckpt_add(c, "scalar", RT_CKPT_F32, 0, NULL, &scalar);
    rt_ckpt_add(c, "empty", RT_CKPT_F32, 2, (const int64_t[]){0, 4}, NULL);
    rt_ckpt_add(c, "count", RT_CKPT_I64, 1, (const int64_t[]){1}, &count);
    rt_ckpt_set_meta(c, "format", "pt");
    rt_ckpt_set_meta(c, "note", "quote \" backslash \\ newline \n tab \t µm");
    rt_ckpt_set_meta(c, "format", "segc"); /* replaces */
    return c;
}

static void check_entry(const rt_ckpt *c, const char *name, rt_ckpt_dtype dt, int rank,
                        const int64_t *dim, const void *data, size_t nbytes)
{
    const rt_ckpt_entry *e = rt_ckpt_find(c, name);
    CHECK(e != NULL);
    if (!e)
        return;
    CHECK_INT(e->dtype, dt);
    CHECK_INT(e->rank, rank);
    for (int i = 0; i < rank; i++)
        CHECK_INT(e->dim[i], dim[i]);
    CHECK_INT(e->nbytes, nbytes);
    CHECK(nbytes == 0 || memcmp(e->data, data, nbytes) == 0);
}

TEST(ckpt_round_trip)
{
    long live = seg_alloc_live();
    char dir[512], path[600];
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    rt_ckpt *w = sample();
    rt_error err = {{0}};
    CHECK_INT(rt_ckpt_write(w, path, &err), 0);
    CHECK_STR(err.msg, "");
    rt_ckpt_free(w);

    rt_ckpt *r = rt_ckpt_read(path, &err);
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK_INT(rt_ckpt_count(r), 8);
    CHECK_STR(rt_ckpt_at(r, 0)->name, "level.1.encoder.conv0.weight");
    check_entry(r, "level.1.encoder.conv0.weight", RT_CKPT_F32, 2, (const int64_t[]){2, 3}, w1, 24);
    check_entry(r, "labels", RT_CKPT_I32, 1, (const int64_t[]){4}, labels, 16);
    check_entry(r, "mask", RT_CKPT_U8, 1, (const int64_t[]){3}, mask, 3);
    check_entry(r, "after.mask", RT_CKPT_F32, 1, (const int64_t[]){2}, after, 8);
    check_entry(r, "optim.x.step", RT_CKPT_U64, 0, NULL, &step, 8);
    check_entry(r, "scalar", RT_CKPT_F32, 0, NULL, &scalar, 4);
    check_entry(r, "empty", RT_CKPT_F32, 2, (const int64_t[]){0, 4}, NULL, 0);
    check_entry(r, "count", RT_CKPT_I64, 1, (const int64_t[]){1}, &count, 8);
    CHECK(rt_ckpt_find(r, "nope") == NULL);
    CHECK_INT(rt_ckpt_meta_count(r), 2);
    CHECK_STR(rt_ckpt_meta(r, "format"), "segc");
    CHECK_STR(rt_ckpt_meta(r, "note"), "quote \" backslash \\ newline \n tab \t µm");
    CHECK(rt_ckpt_meta(r, "missing") == NULL);

    /* rt_ckpt_load copies out (from an unaligned address here) and checks types. */
    rt_type t = {RT_F32, 1, {2}};
    rt_tensor *x = rt_tensor_new(&t);
    CHECK_INT(rt_ckpt_load(r, "after.mask", x, &err), 0);
    CHECK_NEAR(rt_f32(x)[1], 9, 0);
    CHECK_INT(rt_ckpt_load(r, "labels", x, &err), -1);
    CHECK(strstr(err.msg, "tensor 'labels' is i32[4], expected f32[2]") != NULL);
    CHECK(strstr(err.msg, "a.safetensors") != NULL);
    CHECK_INT(rt_ckpt_load(r, "ghost", x, &err), -1);
    CHECK(strstr(err.msg, "no tensor 'ghost'") != NULL);
    rt_tensor_free(x);
    rt_ckpt_free(r);

    /* The header is padded to a multiple of 8 with spaces. */
    size_t n = 0;
    unsigned char *raw = slurp(path, &n);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = h << 8 | raw[i];
    CHECK_INT(h % 8, 0);
    CHECK_INT(n, 8 + h + 24 + 16 + 3 + 8 + 8 + 4 + 8);
    free(raw);
    scratch_rm(dir);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(ckpt_add_tensor_and_empty)
{
    char dir[512], path[600];
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
    rt_type t = {RT_U8, 3, {2, 1, 2}};
    rt_tensor *x = rt_tensor_new(&t);
    rt_u8(x)[3] = 7;
    rt_ckpt *w = rt_ckpt_new();
    rt_ckpt_add_tensor(w, "x", x);
    rt_error err = {{0}};
    CHECK_INT(rt_ckpt_write(w, path, &err), 0);
    rt_ckpt_free(w);
    rt_ckpt *r = rt_ckpt_read(path, &err);
    CHECK(r && rt_ckpt_find(r, "x") && ((const uint8_t *)rt_ckpt_find(r, "x")->data)[3] == 7);
    rt_ckpt_free(r);
    rt_tensor_free(x);
    /* A checkpoint with nothing in it is valid too. */
    w = rt_ckpt_new();
    CHECK_INT(rt_ckpt_write(w, path, &err), 0);
    rt_ckpt_free(w);
    r = rt_ckpt_read(path, &err);
    CHECK(r != NULL && rt_ckpt_count(r) == 0);
    rt_ckpt_free(r);
    scratch_rm(dir);
}

/* ------------------------------------------------------------ atomicity */

TEST(ckpt_atomic_replace)
{
    long live = seg_alloc_live();
    char dir[512], path[600];
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    float old_v[2] = {1, 2}, new_v[3] = {3, 4, 5};
    rt_ckpt *w = rt_ckpt_new();
    rt_ckpt_add(w, "v", RT_CKPT_F32, 1, (const int64_t[]){2}, old_v);
    rt_error err = {{0}};
    CHECK_INT(rt_ckpt_write(w, path, &err), 0);
    rt_ckpt_free(w);
    size_t old_n = 0;
    unsigned char *old_bytes = slurp(path, &old_n);

    w = rt_ckpt_new();
    rt_ckpt_add(w, "v", RT_CKPT_F32, 1, (const int64_t[]){3}, new_v);
    rt_ckpt_add(w, "w", RT_CKPT_F32, 1, (const int64_t[]){3}, new_v);
    int failures = 0;
    for (int k = 1; k < 50; k++) { /* fail each I/O step in turn */
        rt_atomic_file_debug_fail_at(k);
        err.msg[0] = '\0';
        if (rt_ckpt_write(w, path, &err) == 0)
            break;
        failures++;
        CHECK(strstr(err.msg, "model.safetensors: cannot write checkpoint") != NULL);
        size_t n = 0;
        unsigned char *now = slurp(path, &n);
        CHECK(now && n == old_n && memcmp(now, old_bytes, n) == 0);
        free(now);
        CHECK_INT(count_files(dir), 1); /* no temp file left behind */
    }
    rt_atomic_file_debug_fail_at(0);
    CHECK(failures >= 7); /* create, 2 header writes, 2 tensors, flush, fsync, close, rename */
    rt_ckpt *r = rt_ckpt_read(path, &err);
    CHECK(r && rt_ckpt_count(r) == 2 && rt_ckpt_find(r, "v")->dim[0] == 3);
    rt_ckpt_free(r);
    CHECK_INT(count_files(dir), 1);

    /* A folder that does not exist: a clear error, nothing created. */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/missing/x.safetensors", dir);
    CHECK_INT(rt_ckpt_write(w, bad, &err), -1);
    CHECK(strstr(err.msg, bad) != NULL && strstr(err.msg, "No such file") != NULL);
    rt_ckpt_free(w);
    free(old_bytes);
    scratch_rm(dir);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(ckpt_write_duplicate_names)
{
    char dir[512], path[600];
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/d.safetensors", dir);
    float v = 1;
    rt_ckpt *w = rt_ckpt_new();
    rt_ckpt_add(w, "a", RT_CKPT_F32, 0, NULL, &v);
    rt_ckpt_add(w, "b", RT_CKPT_F32, 0, NULL, &v);
    rt_ckpt_add(w, "a", RT_CKPT_F32, 0, NULL, &v);
    rt_error err = {{0}};
    CHECK_INT(rt_ckpt_write(w, path, &err), -1);
    CHECK(strstr(err.msg, "tensor name 'a' used twice") != NULL);
    CHECK_INT(count_files(dir), 0);
    rt_ckpt_free(w);
    scratch_rm(dir);
}

/* ----------------------------------------------------------- bad files */

TEST(ckpt_truncated_everywhere)
{
    long live = seg_alloc_live();
    char dir[512], path[600], cut[620];
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/full.safetensors", dir);
    snprintf(cut, sizeof cut, "%s/cut.safetensors", dir);
    rt_ckpt *w = sample();
    rt_error err = {{0}};
    CHECK_INT(rt_ckpt_write(w, path, &err), 0);
    rt_ckpt_free(w);
    size_t n = 0;
    unsigned char *full = slurp(path, &n);
    int bad = 0;
    for (size_t len = 0; len < n; len++) {
        spit(cut, full, len);
        err.msg[0] = '\0';
        rt_ckpt *r = rt_ckpt_read(cut, &err);
        if (r || !strstr(err.msg, "cut.safetensors: ") || !strstr(err.msg, "truncated"))
            bad++;
        if (bad == 1 && (r || !strstr(err.msg, "truncated")))
            test_fail_at(__FILE__, __LINE__, "length %zu: %s", len, r ? "accepted" : err.msg);
        rt_ckpt_free(r);
    }
    CHECK_INT(bad, 0);
    /* The exact message for a cut in the data. */
    spit(cut, full, n - 10);
    CHECK(rt_ckpt_read(cut, &err) == NULL);
    CHECK(strstr(err.msg, "cut.safetensors: truncated: tensor 'scalar' ends at byte 63 but the data holds 61") != NULL);
    free(full);
    scratch_rm(dir);
    CHECK_INT(seg_alloc_live(), live);
}

/* One malformed header and a fragment its error must contain. */
typedef struct bad_case {
    const char *header;
    size_t ndata;
    const char *want;
} bad_case;

#define T1 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"

static const bad_case bad_cases[] = {
    {"{" T1, 4, "expected '}', found the end of the header"},
    {"{" T1 ",}", 4, "expected '\"'"},
    {"{'a':{}}", 0, "expected '\"'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "fraction or exponent"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "expected a non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, "leading zero"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, "integer too large"},
    {"{\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2, "tensor 'a': unsupported dtype 'BF16'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a': missing field 'data_offsets'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":[]}}", 4, "unknown field 'x'"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "field 'dtype' given twice"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,2,3,4,5,6,7],\"data_offsets\":[0,4]}}", 4, "shape has more than 6 entries"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets needs 2 entries"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "tensor 'a' is f32[2] but its data_offsets span 4 bytes"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "run backwards"},
    {"{" T1 "," T1 "}", 4, "tensor name 'a' appears twice"},
    {"{" T1 ",\"b\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "tensors 'a' and 'b' overlap"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "4 unused bytes before tensor 'a'"},
    {"{" T1 "}", 6, "2 unused bytes after the last tensor"},
    {"{" T1 "}", 3, "truncated: tensor 'a' ends at byte 4 but the data holds 3"},
    {"{\"a\tb\":{}}", 0, "control character"},
    {"{\"\xc3\x28\":{}}", 0, "invalid UTF-8"},
    {"{\"\xed\xa0\x80\":{}}", 0, "invalid UTF-8"},
    {"{\"a\\q\":{}}", 0, "bad escape"},
    {"{\"a\\ud800\":{}}", 0, "high surrogate"},
    {"{\"a\\u0000\":{}}", 0, "NUL character"},
    {"{} x", 0, "unexpected text after the header object"},
    {"{\"__metadata__\":{\"k\":1}}", 0, "expected '\"'"},
    {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "metadata key 'k' given twice"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ given twice"},
    {"{}", 0, NULL}, /* the smallest valid file */
    {"{\"a\":true}", 0, "expected '{'"},
    {"{\"a\":null}", 0, "expected '{'"},
    {"[]", 0, "expected '{'"},
    {"{\"\":{}}", 0, "empty tensor name"},
};

TEST(ckpt_bad_headers)
{
    long live = seg_alloc_live();
    char dir[512], path[600];
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    static const unsigned char zeros[16];
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *b = &bad_cases[i];
        spit_raw(path, b->header, zeros, b->ndata);
        rt_error err = {{0}};
        rt_ckpt *r = rt_ckpt_read(path, &err);
        if (!b->want) {
            CHECK(r != NULL);
        } else if (r || !strstr(err.msg, b->want) || !strstr(err.msg, "bad.safetensors: ")) {
            test_fail_at(__FILE__, __LINE__, "case %zu (%s): want \"%s\", got %s", i, b->header,
                         b->want, r ? "success" : err.msg);
        }
        rt_ckpt_free(r);
    }
    scratch_rm(dir);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(ckpt_header_edge_cases)
{
    char dir[512], path[600];
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/e.safetensors", dir);
    /* Escapes, a surrogate pair, white space everywhere, unpadded header. */
    const char *h = " {\n\t\"x\\u00e9\\ud83d\\ude00\\/\" : { \"shape\" : [ ] , \"data_offsets\" : [ 0 , 1 ] ,"
                    " \"dtype\" : \"U8\" } , \"__metadata__\" : { \"k\\n\" : \"\" } }  \r\n";
    unsigned char one = 9;
    spit_raw(path, h, &one, 1);
    rt_error err = {{0}};
    rt_ckpt *r = rt_ckpt_read(path, &err);
    CHECK(r != NULL);
    if (r) {
        CHECK_STR(rt_ckpt_at(r, 0)->name, "x\xc3\xa9\xf0\x9f\x98\x80/");
        CHECK_STR(rt_ckpt_meta(r, "k\n"), "");
        CHECK_STR(rt_ckpt_meta_key(r, 0), "k\n");
    }
    rt_ckpt_free(r);
    /* Header lengths that cannot be right. */
    unsigned char huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    spit(path, huge, sizeof huge);
    CHECK(rt_ckpt_read(path, &err) == NULL);
    CHECK(strstr(err.msg, "over the 100 MB limit") != NULL);
    unsigned char longer[12] = {9, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
    spit(path, longer, sizeof longer);
    CHECK(rt_ckpt_read(path, &err) == NULL);
    CHECK(strstr(err.msg, "truncated: header length is 9 but the file holds 4 bytes") != NULL);
    CHECK(rt_ckpt_read(dir, &err) == NULL);
    CHECK(strstr(err.msg, "not a regular file") != NULL);
    snprintf(path, sizeof path, "%s/absent.safetensors", dir);
    CHECK(rt_ckpt_read(path, &err) == NULL);
    CHECK(strstr(err.msg, "absent.safetensors: cannot open checkpoint: No such file") != NULL);
    scratch_rm(dir);
}

/* ------------------------------------------------------- net comparison */

TEST(ckpt_check_mismatches)
{
    long live = seg_alloc_live();
    static float z[64 * 64 * 27];
    rt_ckpt *c = rt_ckpt_new();
    rt_ckpt_add(c, "level.1.conv0.weight", RT_CKPT_F32, 2, (const int64_t[]){2, 3}, z);
    rt_ckpt_add(c, "level.3.conv0.weight", RT_CKPT_F32, 5, (const int64_t[]){64, 32, 3, 3, 3}, z);
    rt_ckpt_add(c, "old.bias", RT_CKPT_F32, 1, (const int64_t[]){4}, z);
    rt_ckpt_add(c, "optim.level.1.conv0.weight.m", RT_CKPT_F32, 1, (const int64_t[]){6}, z);
    rt_ckpt_want want[] = {
        {"level.1.conv0.weight", {RT_F32, 2, {2, 3}}},
        {"level.3.conv0.weight", {RT_F32, 5, {64, 64, 3, 3, 3}}},
        {"level.4.conv0.bias", {RT_F32, 1, {128}}},
    };
    seg_buf report = {0};
    rt_error err = {{0}};
    CHECK_INT(rt_ckpt_check(c, want, 3, RT_OPTIM_PREFIX, 0, &report, &err), 3);
    CHECK_STR(report.data,
              "level.3.conv0.weight: checkpoint f32[64, 32, 3, 3, 3], net f32[64, 64, 3, 3, 3]\n"
              "level.4.conv0.bias: missing from the checkpoint (net f32[128])\n"
              "old.bias: in the checkpoint (f32[4]) but not in the net\n");
    CHECK(strstr(err.msg, "checkpoint: 3 mismatches with the net:\n  level.3.conv0.weight: "
                          "checkpoint f32[64, 32, 3, 3, 3], net f32[64, 64, 3, 3, 3]\n") != NULL);
    seg_buf_free(&report);
    /* Flags: inheriting a subset (missing fine), or loading into a bigger file. */
    CHECK_INT(rt_ckpt_check(c, want, 3, RT_OPTIM_PREFIX, RT_CKPT_ALLOW_MISSING, NULL, &err), 2);
    CHECK_INT(rt_ckpt_check(c, want, 3, NULL, RT_CKPT_ALLOW_MISSING | RT_CKPT_ALLOW_UNEXPECTED, NULL, &err), 1);
    CHECK_INT(rt_ckpt_check(c, want, 1, NULL, RT_CKPT_ALLOW_UNEXPECTED, NULL, &err), 0);
    /* dtype counts too. */
    rt_ckpt_want as_i32 = {"level.1.conv0.weight", {RT_I32, 2, {2, 3}}};
    CHECK_INT(rt_ckpt_check(c, &as_i32, 1, NULL, RT_CKPT_ALLOW_UNEXPECTED, NULL, &err), 1);
    CHECK(strstr(err.msg, "checkpoint f32[2, 3], net i32[2, 3]") != NULL);
    rt_ckpt_free(c);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(ckpt_check_many_mismatches)
{
    rt_ckpt *c = rt_ckpt_new();
    enum { M = 40 };
    rt_ckpt_want want[M];
    char names[M][48];
    for (int i = 0; i < M; i++) {
        snprintf(names[i], sizeof names[i], "decoder.level.%d.conv1.weight", i);
        want[i] = (rt_ckpt_want){names[i], {RT_F32, 1, {i + 1}}};
    }
    seg_buf report = {0};
    rt_error err = {{0}};
    CHECK_INT(rt_ckpt_check(c, want, M, NULL, 0, &report, &err), M);
    int lines = 0;
    for (const char *p = report.data; p && *p; p++)
        lines += *p == '\n';
    CHECK_INT(lines, M);
    CHECK(strstr(err.msg, "40 mismatches") != NULL);
    CHECK(strstr(err.msg, "more") != NULL);
    CHECK(strlen(err.msg) < sizeof err.msg - 1);
    seg_buf_free(&report);
    rt_ckpt_free(c);
}
