/* The benchmark's "application": records the moment it starts (CLOCK_MONOTONIC and CLOCK_REALTIME,
 * in nanoseconds) by appending a line to $MARK_FILE, then exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void) {
    struct timespec m, r;
    clock_gettime(CLOCK_MONOTONIC, &m);
    clock_gettime(CLOCK_REALTIME, &r);
    const char *path = getenv("MARK_FILE");
    if (!path) return 0;
    FILE *f = fopen(path, "a");
    if (!f) return 1;
    fprintf(f, "%lld %lld\n", (long long)m.tv_sec * 1000000000LL + m.tv_nsec, (long long)r.tv_sec * 1000000000LL + r.tv_nsec);
    fclose(f);
    return 0;
}
