/* The dense pack's records (docs/format.md 5.2): the writer picks version 1 for
 * main-graph tensors without repeats (as before) and version 2 otherwise; the
 * reader gives every tensor its graph, shares a repeat's values, and refuses
 * records whose `same` or order break the rules (LSC_ERR_BAD_BUNDLE). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/endian.h"
#include "onnx/dense_pack_graph.h"

#define N 4
#define COUNT 24

static float values[N][COUNT];
static int64_t dims[1] = {COUNT};

/* Items: graph 0 initializer, graph 2 initializer, graph 2 node, graph 5 node. */
static void items_for(lsc_pack_item *it)
{
    static const uint32_t graph[N] = {0, 2, 2, 5};
    static const int node[N] = {0, 0, 1, 1};
    memset(it, 0, N * sizeof *it);
    for (size_t i = 0; i < N; i++) {
        it[i].graph = graph[i];
        it[i].position = (uint32_t)i;
        it[i].node = node[i];
        it[i].rank = 1;
        it[i].dims = dims;
        it[i].count = COUNT;
        it[i].values = values[i];
    }
}

static lsc_status open_built(const lsc_pack_item *it, size_t n, uint32_t *version, lsc_dense_pack **pack,
                             lsc_error *error)
{
    lsc_bytes blob = {0};
    lsc_status st = lsc_dense_pack_build(it, n, &blob, error);
    if (st == LSC_OK) {
        *version = lsc_load_le32(blob.data + 4);
        st = lsc_dense_pack_open(blob.data, blob.size, "t", pack, error);
    }
    lsc_bytes_free(&blob);
    return st;
}

static void expect_bad(const lsc_pack_item *it, const char *what, const char *message_part)
{
    lsc_dense_pack *pack = NULL;
    lsc_error error = {0};
    uint32_t version = 0;
    lsc_status st = open_built(it, N, &version, &pack, &error);
    CHECKF(st == LSC_ERR_BAD_BUNDLE && pack == NULL, "%s: status %d", what, (int)st);
    CHECKF(strstr(error.message, message_part) != NULL, "%s: '%s'", what, error.message);
    lsc_dense_pack_close(&pack);
}

int main(void)
{
    for (size_t i = 0; i < N; i++)
        for (size_t e = 0; e < COUNT; e++)
            values[i][e] = (float)(i * 100 + e) / 8.0f;
    memcpy(values[3], values[1], sizeof values[1]);
    lsc_pack_item it[N];
    lsc_error error = {0};
    uint32_t version = 0;
    lsc_dense_pack *pack = NULL;

    /* Main graph only, no repeat: version 1, graph 0 everywhere. */
    items_for(it);
    for (size_t i = 0; i < N; i++)
        it[i].graph = 0;
    CHECK(open_built(it, 2, &version, &pack, &error) == LSC_OK && version == 1);
    CHECK(lsc_dense_pack_count(pack) == 2 && lsc_dense_pack_get(pack, 1)->graph == 0 &&
          !lsc_dense_pack_get(pack, 1)->same && lsc_dense_pack_get(pack, 1)->values[5] == values[1][5]);
    lsc_dense_pack_close(&pack);

    /* Bodies and a repeat: version 2, graphs given back, the repeat's values shared. */
    items_for(it);
    it[3].same = 1;
    it[3].same_as = 1;
    CHECK(open_built(it, N, &version, &pack, &error) == LSC_OK && version == 2);
    for (size_t i = 0; pack && i < N; i++) {
        const lsc_packed_tensor *t = lsc_dense_pack_get(pack, i);
        CHECKF(t->graph == it[i].graph && t->node == it[i].node && t->count == COUNT &&
                   memcmp(t->values, values[i], sizeof values[i]) == 0, "tensor %zu", i);
    }
    CHECK(pack && lsc_dense_pack_get(pack, 3)->same && lsc_dense_pack_get(pack, 3)->values == lsc_dense_pack_get(pack, 1)->values);
    lsc_dense_pack_close(&pack);

    /* Bodies without repeats: version 2 too. */
    items_for(it);
    CHECK(open_built(it, N, &version, &pack, &error) == LSC_OK && version == 2);
    lsc_dense_pack_close(&pack);

    items_for(it);
    it[1].same = 1;
    it[1].same_as = 2;
    expect_bad(it, "repeat of a later record", "not an earlier record");
    items_for(it);
    it[2].same = 1;
    it[2].same_as = 1;
    it[3].same = 1;
    it[3].same_as = 2;
    expect_bad(it, "repeat of a repeat", "not an earlier record");
    items_for(it);
    it[3].same = 1;
    it[3].same_as = 0;
    it[3].count = COUNT / 2;
    int64_t half[1] = {COUNT / 2};
    it[3].dims = half;
    expect_bad(it, "repeat of another size", "the record it repeats has");
    items_for(it);
    it[2].graph = 1;
    expect_bad(it, "graphs out of order", "records not by graph");
    items_for(it);
    it[2].node = 0;
    it[2].position = 1;
    expect_bad(it, "positions repeated", "records not by graph");
    return check_exit();
}
