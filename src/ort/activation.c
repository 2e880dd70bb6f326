/* The activation compress folded into an LSC op (docs/format.md 3.1, "Decision
 * (folded activation)"), read once at kernel creation; the ops apply it with
 * lsc_ort_activate where they write their output. */
#include <float.h>
#include <string.h>

#include "kernel.h"

OrtStatus *lsc_ort_activation_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info)
{
    static const struct {
        const char *name;
        lsc_ort_act_kind kind;
        int n_params;
    } known[] = {{"Relu", LSC_ACT_RELU, 0}, {"Clip", LSC_ACT_CLIP, 2}, {"LeakyRelu", LSC_ACT_LEAKY_RELU, 1}};
    char name[32] = "";
    float params[2];
    int n_params;
    OrtStatus *s;
    kernel->act = (lsc_ort_activation){LSC_ACT_NONE, -FLT_MAX, FLT_MAX, 0.0f};
    if ((s = lsc_ort_attr_string(kernel, info, "lsc_activation", name, sizeof name)) ||
        (s = lsc_ort_attr_floats(kernel, info, "lsc_activation_params", params, 2, &n_params)))
        return s;
    n_params = n_params < 0 ? 0 : n_params;
    if (!name[0] && !n_params)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(name, known[i].name) != 0)
            continue;
        if (n_params != known[i].n_params)
            return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_GRAPH,
                                "attribute lsc_activation_params has %d values, %s takes %d", n_params, name,
                                known[i].n_params);
        kernel->act.kind = known[i].kind;
        if (known[i].kind == LSC_ACT_CLIP)
            kernel->act.lo = params[0], kernel->act.hi = params[1];
        else if (known[i].kind == LSC_ACT_LEAKY_RELU)
            kernel->act.alpha = params[0];
        return NULL;
    }
    return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_GRAPH, "attribute lsc_activation: unknown activation '%s'",
                        name);
}
