/* The dependency of the late-name figure, inside a FROM scratch container: listens on PORT (all
 * addresses), prints "listening NANOS" (CLOCK_REALTIME, which containers share with the host) the
 * moment it listens, then accepts and closes connections until killed.
 *
 *   listen PORT
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128)) return 1;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    printf("listening %lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    fflush(stdout);
    for (;;) {
        int c = accept(s, 0, 0);
        if (c >= 0) close(c);
    }
}
