/* A stand-in application for the gate's tests: it reports what it inherited across exec.
 *
 * Prints (to stdout): its PID, each argv entry, the SigBlk/SigIgn/SigCgt lines of
 * /proc/self/status, and its open file descriptors. With INSPECT_MARKER=path it also creates that
 * file, so a test can prove the command did (or did not) run. With INSPECT_WAIT=1 it then waits
 * for SIGTERM and exits 0 on it (an application that handles SIGTERM). Built statically with
 * musl-gcc it also serves as the application in FROM-scratch images. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t got_term = 0;
static void on_term(int sig) { (void)sig; got_term = 1; }

int main(int argc, char **argv) {
    struct timeval now;
    gettimeofday(&now, NULL);
    printf("pid=%d\n", (int)getpid());
    printf("started_ms=%lld\n", (long long)now.tv_sec * 1000 + now.tv_usec / 1000);
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);

    FILE *st = fopen("/proc/self/status", "r");
    if (st) {
        char line[256];
        while (fgets(line, sizeof line, st))
            if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7) || !strncmp(line, "SigCgt:", 7))
                fputs(line, stdout);
        fclose(st);
    }

    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int own = dirfd(d);
        struct dirent *e;
        printf("fds=");
        int first = 1;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            if (atoi(e->d_name) == own) continue;
            printf(first ? "%s" : ",%s", e->d_name);
            first = 0;
        }
        printf("\n");
        closedir(d);
    }
    const char *marker = getenv("INSPECT_MARKER");
    if (marker) {
        int fd = open(marker, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) close(fd);
    }
    fflush(stdout);
    if (getenv("INSPECT_WAIT")) {
        signal(SIGTERM, on_term);
        while (!got_term) pause();
        printf("got SIGTERM\n");
        fflush(stdout);
    }
    const char *code = getenv("INSPECT_EXIT");
    return code ? atoi(code) : 0;
}
