/* Name -> index lookups for graphs with many nodes: open addressing, FNV-1a. The
 * keys are borrowed from the proto and must outlive the map. First put wins. */
#include <stdlib.h>
#include <string.h>

#include "common/name_map.h"

struct lsc_name_slot {
    const char *name;
    size_t value;
};

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int grow(lsc_name_map *map)
{
    size_t cap = map->cap ? map->cap * 2 : 64;
    struct lsc_name_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return 0;
    for (size_t i = 0; i < map->cap; i++) {
        if (!map->slots[i].name)
            continue;
        size_t j = hash_name(map->slots[i].name) & (cap - 1);
        while (slots[j].name)
            j = (j + 1) & (cap - 1);
        slots[j] = map->slots[i];
    }
    free(map->slots);
    map->slots = slots;
    map->cap = cap;
    return 1;
}

lsc_status lsc_name_map_put(lsc_name_map *map, const char *name, size_t value, lsc_error *error)
{
    if ((map->count + 1) * 2 > map->cap && !grow(map))
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory indexing names");
    size_t j = hash_name(name) & (map->cap - 1);
    while (map->slots[j].name) {
        if (strcmp(map->slots[j].name, name) == 0)
            return LSC_OK;
        j = (j + 1) & (map->cap - 1);
    }
    map->slots[j].name = name;
    map->slots[j].value = value;
    map->count++;
    return LSC_OK;
}

size_t lsc_name_map_get(const lsc_name_map *map, const char *name)
{
    if (!map->cap || !name)
        return (size_t)-1;
    size_t j = hash_name(name) & (map->cap - 1);
    while (map->slots[j].name) {
        if (strcmp(map->slots[j].name, name) == 0)
            return map->slots[j].value;
        j = (j + 1) & (map->cap - 1);
    }
    return (size_t)-1;
}

void lsc_name_map_free(lsc_name_map *map)
{
    free(map->slots);
    memset(map, 0, sizeof *map);
}
