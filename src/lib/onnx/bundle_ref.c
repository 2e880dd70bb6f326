/* The bundle entry an LSC weight tensor refers to (docs/format.md 3): named by the
 * value name, or "name#N" when sibling subgraphs encode different weights under
 * one name, and found at the tensor's external-data offset. */
#include <string.h>

#include "onnx/onnx_model.h"

/* "name#N", N decimal digits. */
static int is_suffixed(const lsc_bundle_entry *e, const char *name, size_t n)
{
    if (e->name_len < n + 2 || memcmp(e->name, name, n) != 0 || e->name[n] != '#')
        return 0;
    for (size_t i = n + 1; i < e->name_len; i++)
        if (e->name[i] < '0' || e->name[i] > '9')
            return 0;
    return 1;
}

lsc_status lsc_bundle_entry_for(const lsc_bundle *bundle, const char *name, const lsc_ext_ref *ref,
                                const char *label, size_t *index_out, lsc_error *error)
{
    size_t n = strlen(name);
    size_t index = lsc_bundle_find(bundle, name, n);
    if (index == (size_t)-1 || lsc_bundle_get(bundle, index)->offset != ref->offset)
        for (size_t i = 0; i < lsc_bundle_count(bundle); i++) {
            const lsc_bundle_entry *e = lsc_bundle_get(bundle, i);
            if (e->offset == ref->offset && is_suffixed(e, name, n)) {
                index = i;
                break;
            }
        }
    if (index == (size_t)-1)
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: not in bundle '%.200s'", label, ref->location);
    const lsc_bundle_entry *e = lsc_bundle_get(bundle, index);
    if (e->offset != ref->offset || (ref->has_length && e->size != ref->length))
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE,
                        "%s: external data offset/length disagree with the bundle's table of contents",
                        label);
    *index_out = index;
    return LSC_OK;
}
