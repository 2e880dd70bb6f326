/* Given graph inputs for verify (verify_inputs.h). */
#include "verify_inputs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lsc_status verify_input_parse(char *arg, verify_input *in, lsc_error *error)
{
    memset(in, 0, sizeof *in);
    error->message[0] = '\0';
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return LSC_ERR_INVALID_ARGUMENT;
    *eq = '\0';
    in->name = arg;
    in->spec = eq + 1;
    size_t n = strlen(in->spec);
    if (n > 4 && strcmp(in->spec + n - 4, ".npy") == 0) {
        in->from_file = 1;
        return npy_read_file(in->spec, &in->array, error);
    }
    char *end;
    errno = 0;
    in->value = strtod(in->spec, &end);
    if (*end || errno || isnan(in->value)) {
        *eq = '='; /* the caller shows the argument as given */
        return LSC_ERR_INVALID_ARGUMENT;
    }
    errno = 0;
    in->ivalue = strtoll(in->spec, &end, 10);
    in->integral = !*end && !errno;
    return LSC_OK;
}

void verify_input_free(verify_input *in)
{
    npy_array_free(&in->array);
}

#ifdef LSC_HAVE_ORT
static void shape_text(int rank, const int64_t *dims, const ortrun_desc *d, char *buf, size_t size)
{
    int n = snprintf(buf, size, "[");
    for (int i = 0; i < rank && n > 0 && (size_t)n < size; i++) {
        const char *sep = i ? "," : "";
        if (dims[i] >= 0)
            n += snprintf(buf + n, size - (size_t)n, "%s%lld", sep, (long long)dims[i]);
        else
            n += snprintf(buf + n, size - (size_t)n, "%s%s", sep, d && d->dim_names[i][0] ? d->dim_names[i] : "?");
    }
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

/* The value as d's type: 0 when it does not fit. */
static int value_fits(const verify_input *in, int type)
{
    long long v = in->ivalue;
    switch (type) {
    case ORTRUN_FLOAT: return fabs(in->value) <= 3.4028234663852886e38 || isinf(in->value);
    case ORTRUN_DOUBLE: return 1;
    case ORTRUN_UINT8: return in->integral && v >= 0 && v <= 255;
    case ORTRUN_INT8: return in->integral && v >= -128 && v <= 127;
    case ORTRUN_INT32: return in->integral && v >= INT32_MIN && v <= INT32_MAX;
    case ORTRUN_INT64: return in->integral;
    case ORTRUN_BOOL: return in->integral && (v == 0 || v == 1);
    default: return 0;
    }
}

lsc_status verify_input_check(const verify_input *in, const ortrun_desc *d, lsc_error *error)
{
    if (!ortrun_elem_size(d->type))
        return lsc_error_set(error, LSC_ERR_UNSUPPORTED, "input '%s': element type %d is not handled", d->name, d->type);
    if (!in->from_file) {
        if (!value_fits(in, d->type))
            return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "input '%s' is %s: --input %s=%s does not fit", d->name,
                        npy_type_name(d->type), in->name, in->spec);
        return LSC_OK;
    }
    const npy_array *a = &in->array;
    if (a->type != d->type)
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "input '%s': %s holds %s, the model wants %s", d->name,
                    in->spec, npy_type_name(a->type), npy_type_name(d->type));
    int same = a->rank == d->rank;
    for (int i = 0; same && i < d->rank; i++)
        same = d->dims[i] < 0 || d->dims[i] == a->dims[i];
    if (!same) {
        char have[256], want[256];
        shape_text(a->rank, a->dims, NULL, have, sizeof have);
        shape_text(d->rank, d->dims, d, want, sizeof want);
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "input '%s': %s has shape %s, the model wants %s", d->name,
                    in->spec, have, want);
    }
    return LSC_OK;
}

lsc_status verify_input_tensor(const verify_input *in, const ortrun_desc *d, const int64_t *dims,
                               ortrun_tensor *t, lsc_error *error)
{
    memset(t, 0, sizeof *t);
    if (in->from_file) {
        t->type = in->array.type;
        t->rank = in->array.rank;
        memcpy(t->dims, in->array.dims, sizeof t->dims);
        t->bytes = in->array.bytes;
        t->data = malloc(t->bytes ? t->bytes : 1);
        if (!t->data)
            return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory for input '%s'", d->name);
        memcpy(t->data, in->array.data, t->bytes);
        return LSC_OK;
    }
    /* A random tensor of the right type and size, then every element overwritten. */
    lsc_status st = ortrun_random_tensor(d, dims, 0, t, error);
    if (st != LSC_OK)
        return st;
    size_t n = ortrun_count(t->rank, t->dims);
    for (size_t i = 0; i < n; i++) {
        switch (t->type) {
        case ORTRUN_FLOAT: ((float *)t->data)[i] = (float)in->value; break;
        case ORTRUN_DOUBLE: ((double *)t->data)[i] = in->value; break;
        case ORTRUN_INT32: ((int32_t *)t->data)[i] = (int32_t)in->ivalue; break;
        case ORTRUN_INT64: ((int64_t *)t->data)[i] = (int64_t)in->ivalue; break;
        case ORTRUN_INT8: ((int8_t *)t->data)[i] = (int8_t)in->ivalue; break;
        default: ((uint8_t *)t->data)[i] = (uint8_t)in->ivalue; break; /* uint8, bool */
        }
    }
    return LSC_OK;
}
#endif
