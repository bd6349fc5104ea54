/* The kernel's floor for waiting on a closed port: the same refused connection readygate makes
 * (socket, non-blocking connect, SO_ERROR, close), once per INTERVAL_MS for SECONDS, with nothing
 * else around it. Not a tool: the benchmark runs it beside them so that "readygate is close to the
 * floor" is a measured statement on each machine.
 *
 *   floor PORT INTERVAL_MS SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(0x7f000001);
    int interval = atoi(argv[2]);
    int attempts = atoi(argv[3]) * 1000 / interval;
    int ep = epoll_create1(0);
    struct epoll_event ev;
    for (int i = 0; i < attempts; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(s, (struct sockaddr *)&a, sizeof a);
        int err;
        socklen_t len = sizeof err;
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
        close(s);
        epoll_wait(ep, &ev, 1, interval); /* sleep, as an event loop does */
    }
    return 1; /* never "ready" */
}
