/* dataset.c — cases and datasets: the list of (image, label) pairs a
 * training stage reads.
 *
 * Sources: synthetic phantoms (synthetic.c), paired files by glob, and list
 * files of "image label" lines. Files are typed by extension: .png loads as
 * a 2D case (image as stored, 1 or 3 channels; label as gray), .nii and
 * .nii.gz load as 3D cases through rt_nifti_read (the 4th NIfTI dimension
 * becomes the channels). NIfTI stores x fastest, so its [t, z, y, x]
 * array is already our [C, Z, Y, X]; only the spacing is reversed.
 *
 * Every error names the file (and the list line); a failed load leaves the
 * dataset as it was. Labels must be integers in [0, classes); classes <= 0
 * only checks that they are non-negative integers.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#define DATA_LINE_MAX 4096 /* longest list-file line */

int64_t rt_case_numel(const rt_case *c) { return c->size[0] * c->size[1] * c->size[2]; }

void rt_case_free(rt_case *c)
{
    seg_free(c->image);
    seg_free(c->label);
    seg_free(c->source);
    memset(c, 0, sizeof *c);
}

void rt_dataset_push(rt_dataset *ds, rt_case *c)
{
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? 2 * ds->cap : 16;
        ds->cases = seg_xrealloc(ds->cases, (size_t)ds->cap * sizeof *ds->cases);
    }
    ds->cases[ds->n++] = *c;
    memset(c, 0, sizeof *c);
}

/* Drop the cases from index `keep` on (error rollback). */
static void dataset_truncate(rt_dataset *ds, int keep)
{
    while (ds->n > keep)
        rt_case_free(&ds->cases[--ds->n]);
}

void rt_dataset_free(rt_dataset *ds)
{
    dataset_truncate(ds, 0);
    seg_free(ds->cases);
    memset(ds, 0, sizeof *ds);
}

/* ------------------------------------------------------------ labels */

static const char *data_class_hint(double v, int classes)
{
    return v == 255 && classes == 2 ? " (a 0/255 mask? store 0/1)" : "";
}

/* Labels: integers in [0, classes); converts into lab. */
static int data_labels(const float *v, int64_t n, int classes, const char *path, int32_t *lab,
                       rt_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        double x = v[i];
        if (!(x >= 0) || x != floor(x) || (classes > 0 && x >= classes) || x > 2147483647.0) {
            if (classes > 0)
                rt_error_set(err, "%s: label value %g at voxel %lld is not an integer in [0, %d)%s",
                             path, x, (long long)i, classes, data_class_hint(x, classes));
            else
                rt_error_set(err, "%s: label value %g at voxel %lld is not a non-negative integer",
                             path, x, (long long)i);
            return -1;
        }
        lab[i] = (int32_t)x;
    }
    return 0;
}

static void data_shape_str(const rt_case *c, char *buf, size_t n)
{
    if (c->nsp == 2)
        snprintf(buf, n, "%lldx%lld", (long long)c->size[0], (long long)c->size[1]);
    else
        snprintf(buf, n, "%lldx%lldx%lld", (long long)c->size[0], (long long)c->size[1],
                 (long long)c->size[2]);
}

/* ------------------------------------------------------------- files */

static int data_has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcasecmp(s + n - m, suf) == 0;
}

/* One file as a case geometry plus float data (image, or label before
 * conversion). want = 0 image, 1 label (one channel). */
static int data_read(const char *path, int want, rt_case *c, float **data, rt_error *err)
{
    memset(c, 0, sizeof *c);
    if (data_has_suffix(path, ".png")) {
        rt_png p;
        if (rt_png_read(path, want, &p, err))
            return -1;
        *c = (rt_case){.nsp = 2, .channels = p.channels, .size = {p.height, p.width, 1},
                       .spacing = {1, 1, 1}};
        *data = p.data;
        return 0;
    }
    if (!data_has_suffix(path, ".nii") && !data_has_suffix(path, ".nii.gz")) {
        rt_error_set(err, "%s: unknown image format (expected .png, .nii or .nii.gz)", path);
        return -1;
    }
    rt_volume v;
    memset(&v, 0, sizeof v);
    if (rt_nifti_read(path, &v, err))
        return -1;
    *c = (rt_case){.nsp = 3, .channels = (int)v.nt, .size = {v.nz, v.ny, v.nx},
                   .spacing = {v.spacing[2], v.spacing[1], v.spacing[0]}};
    size_t n = (size_t)(v.nx * v.ny * v.nz * v.nt);
    *data = seg_xcalloc(n, sizeof **data);
    memcpy(*data, v.data, n * sizeof **data);
    rt_volume_free(&v);
    return 0;
}

static int data_same_shape(const rt_case *a, const rt_case *b, const char *ia, const char *lb,
                           rt_error *err)
{
    int same = a->nsp == b->nsp;
    for (int i = 0; i < 3; i++)
        same = same && a->size[i] == b->size[i];
    if (!same) {
        char sa[64], sb[64];
        data_shape_str(a, sa, sizeof sa);
        data_shape_str(b, sb, sizeof sb);
        rt_error_set(err, "shape mismatch: image %s is %s but label %s is %s", ia, sa, lb, sb);
        return -1;
    }
    if (b->channels != 1) {
        rt_error_set(err, "%s: a label needs one channel, this file has %d", lb, b->channels);
        return -1;
    }
    return 0;
}

int rt_case_load(rt_case *c, const char *image_path, const char *label_path, int classes,
                 rt_error *err)
{
    rt_case lc;
    float *idata = NULL, *ldata = NULL;
    if (data_read(image_path, 0, c, &idata, err))
        return -1;
    c->image = idata;
    if (data_read(label_path, 1, &lc, &ldata, err) ||
        data_same_shape(c, &lc, image_path, label_path, err)) {
        seg_free(ldata);
        rt_case_free(c);
        return -1;
    }
    c->label = seg_xcalloc((size_t)rt_case_numel(c), sizeof *c->label);
    int rc = data_labels(ldata, rt_case_numel(c), classes, label_path, c->label, err);
    seg_free(ldata);
    if (rc) {
        rt_case_free(c);
        return -1;
    }
    c->source = seg_xstrdup(image_path);
    return 0;
}

int rt_case_read_image(rt_case *c, const char *path, rt_volume *vol, rt_error *err)
{
    float *data = NULL;
    int nifti = data_has_suffix(path, ".nii") || data_has_suffix(path, ".nii.gz");
    if (vol)
        memset(vol, 0, sizeof *vol);
    if (vol && nifti) { /* one read: the case takes the voxels, vol keeps the geometry */
        if (rt_nifti_read(path, vol, err))
            return -1;
        *c = (rt_case){.nsp = 3, .channels = (int)vol->nt, .size = {vol->nz, vol->ny, vol->nx},
                       .spacing = {vol->spacing[2], vol->spacing[1], vol->spacing[0]}};
        data = vol->data;
        vol->data = NULL;
    } else if (data_read(path, 0, c, &data, err)) {
        return -1;
    }
    c->image = data;
    c->label = seg_xcalloc((size_t)rt_case_numel(c), sizeof *c->label);
    c->source = seg_xstrdup(path);
    return 0;
}

int rt_case_read_label(const rt_case *c, const char *path, int classes, int32_t *label,
                       rt_error *err)
{
    rt_case lc;
    float *data = NULL;
    int rc = data_read(path, 1, &lc, &data, err) || data_same_shape(c, &lc, c->source, path, err) ||
             data_labels(data, rt_case_numel(c), classes, path, label, err);
    seg_free(data);
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------- globs */

static int data_glob(const char *pattern, glob_t *g, rt_error *err)
{
    int r = glob(pattern, 0, NULL, g);
    if (r == GLOB_NOMATCH || (r == 0 && g->gl_pathc == 0)) {
        rt_error_set(err, "no files match '%s'", pattern);
        globfree(g);
        return -1;
    }
    if (r != 0) {
        rt_error_set(err, "cannot expand '%s' (%s)", pattern,
                     r == GLOB_NOSPACE ? "out of memory" : "read error");
        globfree(g);
        return -1;
    }
    return 0;
}

static int data_load_pairs(rt_dataset *ds, char **img, char **lab, size_t n, int classes,
                           rt_error *err)
{
    int keep = ds->n;
    for (size_t i = 0; i < n; i++) {
        rt_case c;
        if (rt_case_load(&c, img[i], lab[i], classes, err)) {
            dataset_truncate(ds, keep);
            return -1;
        }
        rt_dataset_push(ds, &c);
    }
    return 0;
}

int rt_dataset_glob(rt_dataset *ds, const char *image_glob, const char *label_glob, int classes,
                    rt_error *err)
{
    glob_t gi, gl;
    if (data_glob(image_glob, &gi, err))
        return -1;
    if (data_glob(label_glob, &gl, err)) {
        globfree(&gi);
        return -1;
    }
    int rc = -1;
    if (gi.gl_pathc != gl.gl_pathc)
        rt_error_set(err, "'%s' matches %zu files but '%s' matches %zu: images and labels pair by "
                     "sorted order", image_glob, (size_t)gi.gl_pathc, label_glob, (size_t)gl.gl_pathc);
    else
        rc = data_load_pairs(ds, gi.gl_pathv, gl.gl_pathv, gi.gl_pathc, classes, err);
    globfree(&gi);
    globfree(&gl);
    return rc;
}

/* ------------------------------------------------------------ lists */

/* dir of `list` joined with p, unless p is absolute. */
static char *data_join(const char *list, const char *p)
{
    const char *slash = strrchr(list, '/');
    if (p[0] == '/' || !slash)
        return seg_xstrdup(p);
    size_t d = (size_t)(slash - list) + 1, n = strlen(p);
    char *s = seg_xcalloc(d + n + 1, 1);
    memcpy(s, list, d);
    memcpy(s + d, p, n);
    return s;
}

/* Split a line into "image label"; 0 = pair, 1 = blank/comment, -1 = bad. */
static int data_list_line(char *line, char **img, char **lab)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    const char *ws = " \t\r\n";
    char *save = NULL;
    *img = strtok_r(line, ws, &save);
    if (!*img)
        return 1;
    *lab = strtok_r(NULL, ws, &save);
    return *lab && !strtok_r(NULL, ws, &save) ? 0 : -1;
}

static int data_list_pair(rt_dataset *ds, const char *list, int lineno, char *line, int classes,
                          rt_error *err)
{
    char *img, *lab;
    int kind = data_list_line(line, &img, &lab);
    if (kind == 1)
        return 0;
    if (kind < 0) {
        rt_error_set(err, "%s:%d: expected two paths, 'image label'", list, lineno);
        return -1;
    }
    char *pi = data_join(list, img), *pl = data_join(list, lab);
    rt_case c;
    int rc = rt_case_load(&c, pi, pl, classes, err);
    if (rc == 0)
        rt_dataset_push(ds, &c);
    seg_free(pi);
    seg_free(pl);
    return rc;
}

static int data_list_read(rt_dataset *ds, FILE *f, const char *list, int classes, rt_error *err)
{
    char line[DATA_LINE_MAX];
    int lineno = 0, pairs = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rt_error_set(err, "%s:%d: line longer than %d characters", list, lineno, DATA_LINE_MAX - 1);
            return -1;
        }
        int before = ds->n;
        if (data_list_pair(ds, list, lineno, line, classes, err))
            return -1;
        pairs += ds->n > before;
    }
    if (ferror(f)) {
        rt_error_set(err, "%s: read error", list);
        return -1;
    }
    if (pairs == 0)
        rt_error_set(err, "%s: no 'image label' lines", list);
    return pairs ? 0 : -1;
}

int rt_dataset_list(rt_dataset *ds, const char *list_path, int classes, rt_error *err)
{
    FILE *f = fopen(list_path, "r");
    if (!f) {
        rt_error_set(err, "cannot open %s: %s", list_path, strerror(errno));
        return -1;
    }
    int keep = ds->n;
    int rc = data_list_read(ds, f, list_path, classes, err);
    fclose(f);
    if (rc)
        dataset_truncate(ds, keep);
    return rc;
}
