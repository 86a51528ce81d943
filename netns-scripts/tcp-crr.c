/*
 * TCP connection rate, as netperf's TCP_CRR measures it: each transaction is connect, a 1-byte
 * request, a 1-byte response, close. Used by measure-rings.sh inside lab namespaces only.
 *
 *   tcp-crr server ADDR PORT SECONDS [WORKERS]
 *       WORKERS processes (default 1) accept on one listening socket for SECONDS, then exit
 *   tcp-crr client ADDR PORT SECONDS CLIENTS
 *       CLIENTS processes run transactions back to back for SECONDS; prints the total per second.
 *
 * The client closes with SO_LINGER 0 (RST), so no TIME_WAIT pile-up exhausts its ports. Bounded in
 * time on both sides; every blocking call has a 2 s timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void timeouts(int fd) {
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int serve(struct sockaddr_in *addr, int seconds, int workers) {
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *) addr, sizeof *addr) < 0 || listen(l, 1024) < 0) {
        perror("tcp-crr server: bind/listen");
        return 1;
    }
    timeouts(l); /* accept wakes at least every 2 s to check the deadline */
    for (int i = 1; i < workers; i++) {
        if (fork() == 0) {
            break;
        }
    }
    alarm(seconds + 5);
    double end = now() + seconds;
    while (now() < end) {
        int c = accept(l, NULL, NULL);
        if (c < 0) {
            continue;
        }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeouts(c);
        char b;
        if (read(c, &b, 1) == 1) {
            if (write(c, &b, 1) != 1) {
                /* the client went away: next connection */
            }
        }
        close(c);
    }
    while (wait(NULL) > 0) {
    }
    return 0;
}

static long run_client(struct sockaddr_in *addr, double end) {
    long done = 0;
    int one = 1;
    struct linger rst = {1, 0};
    while (now() < end) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(s, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
        timeouts(s);
        char b = 1;
        if (connect(s, (struct sockaddr *) addr, sizeof *addr) == 0 && write(s, &b, 1) == 1 && read(s, &b, 1) == 1) {
            done++;
        }
        close(s);
    }
    return done;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: tcp-crr server ADDR PORT SECONDS [WORKERS] | client ADDR PORT SECONDS [CLIENTS]\n");
        return 2;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
        fprintf(stderr, "tcp-crr: bad address %s\n", argv[2]);
        return 2;
    }
    int seconds = atoi(argv[4]);
    if (seconds < 1 || seconds > 600) {
        fprintf(stderr, "tcp-crr: seconds must be 1-600\n");
        return 2;
    }
    if (strcmp(argv[1], "server") == 0) {
        int workers = argc > 5 ? atoi(argv[5]) : 1;
        if (workers < 1 || workers > 64) {
            fprintf(stderr, "tcp-crr: workers must be 1-64\n");
            return 2;
        }
        return serve(&addr, seconds, workers);
    }
    int clients = argc > 5 ? atoi(argv[5]) : 1;
    if (clients < 1 || clients > 64) {
        fprintf(stderr, "tcp-crr: clients must be 1-64\n");
        return 2;
    }
    int fds[2];
    if (pipe(fds) < 0) {
        return 1;
    }
    double start = now(), end = start + seconds;
    for (int i = 0; i < clients; i++) {
        if (fork() == 0) {
            alarm(seconds + 5);
            long n = run_client(&addr, end);
            if (write(fds[1], &n, sizeof n) != sizeof n) {
                _exit(1);
            }
            _exit(0);
        }
    }
    long total = 0, n;
    for (int i = 0; i < clients; i++) {
        if (read(fds[0], &n, sizeof n) == sizeof n) {
            total += n;
        }
    }
    while (wait(NULL) > 0) {
    }
    printf("%.0f\n", total / (now() - start));
    return 0;
}
