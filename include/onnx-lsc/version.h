#ifndef ONNX_LSC_VERSION_H
#define ONNX_LSC_VERSION_H

/* The API version; meson.build reads these to set the shared library's soname. */
#define LSC_API_VERSION_MAJOR 0
#define LSC_API_VERSION_MINOR 2
#define LSC_API_VERSION_PATCH 0

#endif /* ONNX_LSC_VERSION_H */
