/* ONNX external data: a tensor's bytes in another file named relative to the
 * model's folder. Locations that could reach outside that folder (absolute paths,
 * `..` components, symbolic links pointing out) are refused. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx/onnx_model.h"

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return 0;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

lsc_status lsc_ext_parse(const lsc_onnx_model *model, const Onnx__TensorProto *tensor,
                         const char *label, lsc_ext_ref *ref, lsc_error *error)
{
    memset(ref, 0, sizeof *ref);
    for (size_t i = 0; i < tensor->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tensor->external_data[i];
        const char *key = e->key ? e->key : "";
        const char *value = e->value ? e->value : "";
        if (strcmp(key, "location") == 0) {
            ref->location = value;
        } else if (strcmp(key, "offset") == 0) {
            if (!parse_u64(value, &ref->offset))
                return lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: external data offset '%.40s' is not a number",
                                label, value);
        } else if (strcmp(key, "length") == 0) {
            if (!parse_u64(value, &ref->length))
                return lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: external data length '%.40s' is not a number",
                                label, value);
            ref->has_length = 1;
        }
    }
    if (!ref->location)
        return lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: external data has no location", label);
    return lsc_ext_check_location(model, ref->location, label, error);
}

static lsc_status check_inside(const char *dir, const char *path, const char *location,
                               const char *label, lsc_error *error);

lsc_status lsc_ext_check_location(const lsc_onnx_model *model, const char *location,
                                  const char *label, lsc_error *error)
{
    if (!*location)
        return lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: external data location is empty", label);
    if (location[0] == '/' || location[0] == '\\' || (location[0] && location[1] == ':'))
        return lsc_fail(error, LSC_ERR_EXTERNAL_DATA,
                        "%s: external data location '%.200s' is absolute (must be relative to the model's folder)",
                        label, location);
    /* Components are split on '/' and '\' alike, so a Windows-style escape is caught too. */
    const char *p = location;
    while (*p) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return lsc_fail(error, LSC_ERR_EXTERNAL_DATA,
                            "%s: external data location '%.200s' escapes the model's folder ('..')",
                            label, location);
        p += n;
        if (*p)
            p++;
    }
    /* An existing file (a bundle, a data file) must not be a symbolic link out of the
     * model's folder either; a missing one is reported by whoever opens it. */
    if (model && model->dir) {
        char *path = lsc_path_join(model->dir, location);
        if (!path)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", label);
        struct stat sb;
        lsc_status st = lstat(path, &sb) == 0 ? check_inside(model->dir, path, location, label, error)
                                               : LSC_OK;
        free(path);
        return st;
    }
    return LSC_OK;
}

/* The resolved file must lie inside the resolved model folder (no symlink escape). */
static lsc_status check_inside(const char *dir, const char *path, const char *location,
                               const char *label, lsc_error *error)
{
    char real_dir[PATH_MAX], real_path[PATH_MAX];
    if (!realpath(dir, real_dir))
        return lsc_fail(error, LSC_ERR_IO, "%s: cannot resolve folder '%.200s': %s", label, dir,
                        strerror(errno));
    if (!realpath(path, real_path))
        return lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: external data file '%.200s' missing: %s",
                        label, location, strerror(errno));
    size_t n = strlen(real_dir);
    int inside = strncmp(real_path, real_dir, n) == 0 &&
                 (real_path[n] == '/' || (n == 1 && real_dir[0] == '/'));
    if (!inside)
        return lsc_fail(error, LSC_ERR_EXTERNAL_DATA,
                        "%s: external data location '%.200s' leads outside the model's folder (symbolic link)",
                        label, location);
    return LSC_OK;
}

lsc_status lsc_ext_open_file(lsc_onnx_model *model, const char *location, const char *label,
                             lsc_map *map_out, lsc_error *error)
{
    for (size_t i = 0; i < model->n_ext; i++) {
        if (strcmp(model->ext[i].location, location) == 0) {
            *map_out = model->ext[i].map;
            return LSC_OK;
        }
    }
    LSC_TRY(lsc_ext_check_location(model, location, label, error));
    char *path = lsc_path_join(model->dir, location);
    if (!path)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", label);
    lsc_status st = check_inside(model->dir, path, location, label, error);
    lsc_map map = {0};
    if (st == LSC_OK) {
        st = lsc_map_file(path, &map, error);
        if (st != LSC_OK) {
            lsc_error_prefix(error, label);
            if (error)
                error->status = st = LSC_ERR_EXTERNAL_DATA;
            else
                st = LSC_ERR_EXTERNAL_DATA;
        }
    }
    free(path);
    if (st != LSC_OK)
        return st;
    lsc_ext_file *ext = realloc(model->ext, (model->n_ext + 1) * sizeof *ext);
    char *loc = lsc_strdup(location);
    if (!ext || !loc) {
        if (ext)
            model->ext = ext;
        free(loc);
        lsc_unmap(&map);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", label);
    }
    model->ext = ext;
    ext[model->n_ext].location = loc;
    ext[model->n_ext].map = map;
    *map_out = map;
    model->n_ext++;
    return LSC_OK;
}
