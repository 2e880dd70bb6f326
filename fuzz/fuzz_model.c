/* The ONNX model reader and our graph walk, through the library's entry points:
 * the model file is written to a scratch folder and opened (lsc_model_open, every
 * layer got and loaded), restored as if compressed, and compressed and restored
 * again with the restored weights checked (fuzz_onnx.c).
 * Input: the model, optionally followed by FUZZ_SPLIT and a bundle, written as
 * model.lsc beside it (the name the seeds' compressed models refer to). */
#include "fuzz_onnx.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *model, *bundle;
    size_t model_size, bundle_size;
    fuzz_split(data, size, &model, &model_size, &bundle, &bundle_size);
    fuzz_clean_scratch();
    fuzz_write_file(fuzz_path(0, "model.lsc.onnx"), model, model_size);
    if (bundle_size)
        fuzz_write_file(fuzz_path(1, "model.lsc"), bundle, bundle_size);
    /* Mostly one forced block shape (fast); every fifth size the full search. */
    unsigned flags = size % 5 == 0 ? (unsigned)(size & 1) : (unsigned)((size & 1) | 2 | (size >> 1 & ~3u));
    fuzz_exercise_model(fuzz_scratch_dir(), "model.lsc.onnx", size, flags & 0xffff);
    return 0;
}
