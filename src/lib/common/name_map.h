/* Name -> index lookups (name_map.c): open addressing over borrowed keys. */
#ifndef LSC_COMMON_NAME_MAP_H
#define LSC_COMMON_NAME_MAP_H

#include <stddef.h>

#include "common/error.h"

/* A set of strings mapping each to a size_t, for graph lookups by name. */
typedef struct lsc_name_map {
    struct lsc_name_slot *slots;
    size_t cap, count;
} lsc_name_map;

lsc_status lsc_name_map_put(lsc_name_map *map, const char *name, size_t value, lsc_error *error);
/* Value for name or (size_t)-1. */
size_t lsc_name_map_get(const lsc_name_map *map, const char *name);
void lsc_name_map_free(lsc_name_map *map);

#endif /* LSC_COMMON_NAME_MAP_H */
