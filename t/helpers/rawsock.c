/*
 * rawsock: talk to a Unix socket byte for byte, for protocol tests.
 *
 * usage: rawsock SOCKET [HOLD_MS [QUIET_MS]]
 * Connects, sends standard input exactly as it is (no newline added),
 * then, after HOLD_MS (default 0) more milliseconds with the connection
 * open, prints every line received, as it comes, until the peer closes
 * or QUIET_MS (default 3000) pass without data.  Exit 3 when it cannot
 * connect.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un	sun;
	struct pollfd		pfd;
	char			buf[65536];
	ssize_t			n, w, off;
	int			fd, hold = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
	int			quiet = argc > 3 ? (int)strtol(argv[3], NULL, 10) :
				    3000;

	if (argc < 2)
		return 2;
	/* The daemon may close on a request it refuses: read what it said. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sun.sun_path)
		return 2;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		perror("rawsock");
		return 3;
	}
	while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0) {
		for (off = 0; off < n; off += w) {
			if ((w = write(fd, buf + off, (size_t)(n - off))) <= 0) {
				/* The peer may close on us: read what it said. */
				goto replies;
			}
		}
	}
replies:
	if (hold > 0)
		usleep((useconds_t)hold * 1000);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, quiet) > 0) {
		if ((n = read(fd, buf, sizeof buf)) <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);		/* tests watch the file grow */
	}
	close(fd);
	return 0;
}
