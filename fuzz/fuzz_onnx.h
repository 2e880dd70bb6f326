/* The model-level checks shared by fuzz_model and fuzz_external. */
#ifndef LSC_FUZZ_ONNX_H
#define LSC_FUZZ_ONNX_H

#include <stddef.h>

/* dir/model is opened (lsc_model_open, every layer got and loaded), decompressed
 * (as if it were a compressed model: dir/dec.onnx), and, when it opened, compressed
 * bit-exact into dir/out.lsc.onnx + dir/out.lsc; a successful compress must reopen and
 * decompress (dir/back.onnx) to a model whose every loadable layer is identical.
 * flags: bit 0 include graph inputs, bit 1 force one block shape / index width
 * (chosen by the higher bits). Aborts on a broken promise, never on bad input. */
void fuzz_exercise_model(const char *dir, const char *model, size_t input_size, unsigned flags);

#endif /* LSC_FUZZ_ONNX_H */
