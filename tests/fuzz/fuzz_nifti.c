/* fuzz_nifti.c — libFuzzer target for the NIfTI reader (runtime/nifti.c):
 * the input as a .nii file, or as a .nii.gz when it starts with gzip's
 * magic (the reader refuses gzip data under a .nii name, so both paths
 * are reached). A volume that is read is also checked the way a case is
 * (every voxel finite, since the reader promises that).
 */
#include "fuzz_file.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[512];
    int gz = n >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    fuzz_write(gz ? "in.nii.gz" : "in.nii", data, n, path, sizeof path);
    rt_volume v;
    rt_error err = {{0}};
    if (rt_nifti_read(path, &v, &err) == 0) {
        int64_t nvox = v.nx * v.ny * v.nz * v.nt;
        for (int64_t i = 0; i < nvox; i++)
            if (!isfinite(v.data[i]))
                abort(); /* the reader lets no NaN or infinity through */
        rt_volume_free(&v);
    }
    unlink(path);
    return 0;
}
