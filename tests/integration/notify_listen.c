/*
 * notify_listen.c - stands in for systemd's notify socket in tests.
 *
 * usage: notify_listen PATH TIMEOUT_MS
 * Binds a datagram socket at PATH, prints each datagram on its own line
 * until one holds "READY=1" (exit 0) or TIMEOUT_MS passes (exit 1).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char buf[4096];
    int fd;

    if (argc != 3 || strlen(argv[1]) >= sizeof addr.sun_path) {
        fprintf(stderr, "usage: notify_listen PATH TIMEOUT_MS\n");
        return 2;
    }
    strcpy(addr.sun_path, argv[1]);
    unlink(argv[1]);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd == -1 || bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        perror("notify_listen");
        return 2;
    }
    /* Tell the caller we are listening. */
    printf("LISTENING\n");
    fflush(stdout);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;

        if (poll(&p, 1, atoi(argv[2])) <= 0) {
            return 1;
        }
        n = recv(fd, buf, sizeof buf - 1, 0);
        if (n <= 0) {
            return 1;
        }
        buf[n] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
        if (strstr(buf, "READY=1") != NULL) {
            return 0;
        }
    }
}
