/* The plugin's threading rules (src/ort/rules.h): serial below the line, a split by
 * rows of X for small weights and for weights of too few block rows, lsc_spmm's own
 * split for large weights, no split without two tasks of rows. */
#include <stdint.h>

#include "check.h"
#include "rules.h"

int main(void)
{
    /* LeNet-300-100 at batch 32: fc3 (260 values) serial, fc1 and fc2 not */
    CHECK(lsc_ort_rows_serial(260, 32));
    CHECK(!lsc_ort_rows_serial(2700, 32));
    CHECK(!lsc_ort_rows_serial(18816, 32));
    CHECK(lsc_ort_rows_serial(LSC_ORT_ROWS_SERIAL_WORK / 32 - 1, 32));
    CHECK(!lsc_ort_rows_serial(LSC_ORT_ROWS_SERIAL_WORK / 32, 32));
    CHECK(!lsc_ort_rows_serial(1, 1)); /* one row: lsc_spmm's own line */
    /* fc1 (300 block rows, 94 KB) at batch 32 on 2 threads: two tasks of 16 rows */
    CHECK(lsc_ort_rows_tasks(300, 94000, 32, 2) == 2);
    CHECK(lsc_ort_rows_tasks(300, 94000, 32, 4) == 4);
    CHECK(lsc_ort_rows_tasks(300, 94000, 24, 4) == 3); /* 8 rows a task at least */
    CHECK(lsc_ort_rows_tasks(300, 94000, 15, 2) == 0); /* not two tasks of 8 */
    CHECK(lsc_ort_rows_tasks(300, 94000, 32, 1) == 0);
    /* large weights keep lsc_spmm's split, unless too few block rows for it */
    CHECK(lsc_ort_rows_tasks(4096, 3900000, 32, 2) == 0);
    CHECK(lsc_ort_rows_tasks(4096, LSC_ORT_ROWS_SPLIT_BYTES, 32, 2) == 2);
    CHECK(lsc_ort_rows_tasks(4096, LSC_ORT_ROWS_SPLIT_BYTES + 1, 32, 2) == 0);
    CHECK(lsc_ort_rows_tasks(3, 3900000, 32, 2) == 2);
    return check_exit();
}
