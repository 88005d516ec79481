/*
 * stamp FILE: write the time this process started running, in
 * nanoseconds since the epoch, to FILE.  The job of bench-start.sh's
 * comparison with busybox crond: the moment a job's command starts, not
 * that of some later process of a shell script.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec	 ts;
	char		 buf[32];
	int		 fd, len;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (argc != 2) {
		fprintf(stderr, "usage: stamp FILE\n");
		return 2;
	}
	len = snprintf(buf, sizeof buf, "%lld%09ld\n", (long long)ts.tv_sec,
	    ts.tv_nsec);
	if ((fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, buf, (size_t)len) != len || close(fd) == -1) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
