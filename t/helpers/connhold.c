/*
 * connhold: hold connections to a Unix socket, for tests of max_conns.
 *
 * usage: connhold SOCKET COUNT SECONDS
 * Opens COUNT connections and pings sqcrond on each, so that each is
 * known to be accepted and counted; prints "held COUNT" when all
 * answered, then keeps them open, idle, for SECONDS or until it is
 * killed.  Exit 1 (after printing the reply) when a connection is
 * refused, 3 when one cannot connect.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ping[] = "{\"id\":1,\"method\":\"ping\"}\n";

/* Read one reply line into buf; -1 when the peer closed or is silent. */
static int
read_line(int fd, char *buf, size_t size)
{
	struct pollfd	pfd;
	size_t		len = 0;
	ssize_t		n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (len + 1 < size) {
		if (poll(&pfd, 1, 10000) <= 0)
			return -1;
		if ((n = read(fd, buf + len, size - 1 - len)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len) != NULL)
			return 0;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un	 sun;
	char			 buf[4096];
	int			*fds, i, count, seconds;

	if (argc != 4 || (count = (int)strtol(argv[2], NULL, 10)) < 1 ||
	    (seconds = (int)strtol(argv[3], NULL, 10)) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sun.sun_path)
		return 2;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]));
	if ((fds = calloc((size_t)count, sizeof *fds)) == NULL)
		return 2;
	for (i = 0; i < count; i++) {
		if ((fds[i] = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(fds[i], (struct sockaddr *)&sun, sizeof sun) == -1) {
			perror("connhold");
			return 3;
		}
		/* One at a time: each is accepted before the next comes. */
		if (write(fds[i], ping, sizeof ping - 1) !=
		    (ssize_t)(sizeof ping - 1) ||
		    read_line(fds[i], buf, sizeof buf) == -1) {
			printf("connection %d: no answer\n", i + 1);
			return 1;
		}
		if (strstr(buf, "\"result\"") == NULL) {
			printf("connection %d: %s", i + 1, buf);
			return 1;
		}
	}
	printf("held %d\n", count);
	fflush(stdout);
	sleep((unsigned)seconds);
	for (i = 0; i < count; i++)
		close(fds[i]);
	free(fds);
	return 0;
}
