/*
 * rawtcp: talk to a TCP port on 127.0.0.1 byte for byte, for the tests
 * of the metrics listener (no curl or python needed).
 *
 * usage: rawtcp --free-port
 *	Print a port that is free on 127.0.0.1 now (the kernel's pick).
 * usage: rawtcp PORT [HOLD_MS]
 *	Connect, send standard input exactly as it is, then, after HOLD_MS
 *	(default 0) more milliseconds, print every byte received until the
 *	peer closes or 3 s pass without data.
 * usage: rawtcp PORT --wait-close MAX_S
 *	Connect, send standard input, then wait for the peer to close: print
 *	"closed after N s" (whole seconds), or "open after MAX_S s".
 * Exit 3 when it cannot connect.
 */

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("rawtcp");
		return 1;
	}
	printf("%d\n", ntohs(sin.sin_port));
	close(fd);
	return 0;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	sin;
	struct pollfd		pfd;
	char			buf[65536];
	ssize_t			n, w, off;
	double			start;
	int			fd, hold = 0, wait_close = 0;

	if (argc == 2 && strcmp(argv[1], "--free-port") == 0)
		return free_port();
	if (argc < 2)
		return 2;
	if (argc > 3 && strcmp(argv[2], "--wait-close") == 0)
		wait_close = (int)strtol(argv[3], NULL, 10);
	else if (argc > 2)
		hold = (int)strtol(argv[2], NULL, 10);
	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)strtol(argv[1], NULL, 10));
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		perror("rawtcp");
		return 3;
	}
	while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0) {
		for (off = 0; off < n; off += w) {
			/* The peer may close on us: read what it said. */
			if ((w = write(fd, buf + off, (size_t)(n - off))) <= 0)
				goto replies;
		}
	}
replies:
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (wait_close > 0) {
		start = now_s();
		while (now_s() - start < wait_close) {
			if (poll(&pfd, 1, 200) > 0 &&
			    read(fd, buf, sizeof buf) <= 0) {
				printf("closed after %d s\n",
				    (int)(now_s() - start));
				return 0;
			}
		}
		printf("open after %d s\n", wait_close);
		return 0;
	}
	if (hold > 0)
		usleep((useconds_t)hold * 1000);
	while (poll(&pfd, 1, 3000) > 0) {
		if ((n = read(fd, buf, sizeof buf)) <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return 0;
}
