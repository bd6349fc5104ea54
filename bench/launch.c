/* Benchmark launcher: runs one command and reports, as one JSON line in OUTFILE, its start and end
 * times (CLOCK_MONOTONIC), its exit status, and the CPU time and peak RSS of its process tree
 * (wait4's rusage covers the child and the descendants it waited for). A small C parent keeps the
 * measurement free of the Python driver's own memory and start-up.
 *
 * With LAUNCH_TERM_AFTER_MS set, the tool gets SIGTERM after that many milliseconds: how the shell
 * loops, which have no deadline of their own, are stopped. TERM, not KILL, and sent to the tool
 * alone: a shell dies at once but its rusage already holds every check it waited for (`timeout -s
 * KILL` took its whole process group down before the checks were waited for, so the figure was
 * `timeout`'s own).
 *
 *   launch OUTFILE PROGRAM [ARG]...
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

static void term_child(int sig) {
    (void)sig;
    if (child > 0) kill(child, SIGTERM);
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: launch OUTFILE PROGRAM [ARG]...\n");
        return 2;
    }
    long long start = now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    child = pid;
    const char *after = getenv("LAUNCH_TERM_AFTER_MS");
    if (after) {
        long ms = atol(after);
        struct sigaction sa = {.sa_handler = term_child};
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval t = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
        setitimer(ITIMER_REAL, &t, NULL);
    }
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    long long end = now_ns();
    FILE *out = fopen(argv[1], "w");
    if (!out) return 1;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    fprintf(out, "{\"pid\": %d, \"start_ns\": %lld, \"end_ns\": %lld, \"status\": %d, \"cpu_us\": %ld, \"maxrss_kb\": %ld}\n",
            (int)pid, start, end, code,
            ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec,
            ru.ru_maxrss);
    fclose(out);
    return 0;
}
