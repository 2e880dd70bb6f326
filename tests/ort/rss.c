/* Resident memory from /proc/self/status (rss.h). */
#include "rss.h"

#include <stdio.h>
#include <string.h>

static uint64_t status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    size_t len = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, len) && sscanf(line + len, " %llu", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

uint64_t rss_peak(void) { return status_kb("VmHWM:"); }
uint64_t rss_current(void) { return status_kb("VmRSS:"); }

int rss_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w"); /* "5": VmHWM := VmRSS (Linux 4.0) */
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}
