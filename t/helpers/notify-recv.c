/*
 * notify-recv: a stand-in for systemd's notification socket in tests.
 *
 * usage: notify-recv PATH SECONDS
 * Binds a datagram socket at PATH and prints each message received, one
 * per line, until one contains "STOPPING=1" or SECONDS pass.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un	sun;
	struct pollfd		pfd;
	char			buf[4096];
	ssize_t			n;
	time_t			end;
	int			fd;

	if (argc != 3) {
		fprintf(stderr, "usage: notify-recv PATH SECONDS\n");
		return 2;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sun.sun_path)
		return 2;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		perror("notify-recv");
		return 1;
	}
	end = time(NULL) + strtol(argv[2], NULL, 10);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (time(NULL) < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof buf - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
		if (strstr(buf, "STOPPING=1") != NULL)
			break;
	}
	close(fd);
	unlink(argv[1]);
	return 0;
}
