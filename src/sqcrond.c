/*
 * sqcrond.c: the daemon's main: options, configuration, the instance lock,
 * signals and the event loop.
 *
 * Start-up order (undone in reverse at exit):
 *	1. options and configuration (sqcrond -t stops here)
 *	2. logging, the schedule time zone
 *	3. the instance lock, DB.lock (a second daemon on the same database
 *	   exits with "already running, pid N")
 *	4. detaching (without -f), the pid in the lock file
 *	5. the store (migrations applied), the event loop with SIGTERM/SIGINT
 *	   (stop) and SIGHUP (reload), notification delivery (libcurl set
 *	   up before any thread) and the outbox, the runner (subreaper,
 *	   SIGCHLD), retention (prune), idle until told
 *	6. the crontab files, read into the store's file jobs; the policy:
 *	   runs left running become lost, queued ones wait again, every job
 *	   is scheduled, fires missed while down recorded; @reboot jobs run
 *	   when the boot id changed; then retention goes over every job
 *	   once, in the background, the crontab files are watched, and
 *	   undelivered notifications are tried again
 *	7. metrics: the HTTP listener and the textfile, when configured
 *	8. the control socket (a stale one is removed)
 *	9. READY=1 to $NOTIFY_SOCKET when set
 *
 * Stopping undoes it: SIGTERM stops scheduling, gives running jobs
 * shutdown_timeout to finish, kills the rest ("shutdown"), then the
 * loop ends and everything is freed in reverse order.
 */

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "control.h"
#include "crontabs.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "policy.h"
#include "prune.h"
#include "runner.h"
#include "store.h"
#include "tz.h"
#include "xmalloc.h"

#ifndef SQCRON_CONF_PATH
#define SQCRON_CONF_PATH "/etc/sqcrond.conf"
#endif
#ifndef SQCRON_VERSION
#define SQCRON_VERSION "0"
#endif

/* How long a stopping sqcrond waits for the mail of the last runs. */
#define SQCROND_MAIL_WAIT_S	5

struct sqcrond {
	const char		*conf_path;
	int			 conf_explicit;	/* -c given: the file must exist */
	int			 foreground;
	int			 stopping;
	int			 mail_waiting;	/* stopping, for sendmail */
	struct config		*conf;
	struct tz		*tz;
	int			 lock_fd;
	char			*lock_path;
	struct event_base	*base;
	struct api		 api;
	struct store		*store;
	struct notify		*notify;
	struct outbox		*outbox;
	struct runner		*runner;
	struct prune		*prune;
	struct policy		*policy;
	struct crontabs		*crontabs;
	struct mail		*mail;
	struct metrics		*metrics;
	struct control		*control;
	struct event		*ev_term;
	struct event		*ev_int;
	struct event		*ev_hup;
	struct event		*ev_watchdog;	/* systemd's, when asked */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: sqcrond [-f] [-c FILE] [-t] [-V]\n"
	    "  -f       stay in the foreground and log to stderr\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -t       check the configuration and exit (-tt also prints it)\n"
	    "  -V       print the version and exit\n", SQCRON_CONF_PATH);
}

/*
 * The configuration: the named file, or the built-in defaults when the
 * default file does not exist (a fresh install needs no file).
 */
static struct config *
sqcrond_load_config(struct sqcrond *d, char **cause)
{
	if (!d->conf_explicit && access(d->conf_path, F_OK) == -1 &&
	    errno == ENOENT)
		return config_default();
	return config_load(d->conf_path, cause);
}

static void
sqcrond_setup_log(struct sqcrond *d)
{
	int	to_stderr;

	to_stderr = d->conf->log == CONFIG_LOG_STDERR ||
	    (d->conf->log == CONFIG_LOG_DEFAULT && d->foreground);
	log_init("sqcrond", to_stderr, d->conf->log_level, d->conf->log_json);
}

/* Create the parent directories of path (like mkdir -p, mode 0755). */
static int
sqcrond_mkparents(const char *path, char **cause)
{
	char	*copy, *p;
	int	 ret = 0;

	copy = xstrdup(path);
	for (p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
			xasprintf(cause, "mkdir %s: %s", copy, strerror(errno));
			ret = -1;
			break;
		}
		*p = '/';
	}
	free(copy);
	return ret;
}

/*
 * Take the instance lock: flock on DB.lock, opened close-on-exec so that
 * jobs never inherit it (an inherited descriptor would keep the lock held
 * by orphaned jobs after the daemon died).
 */
static int
sqcrond_lock(struct sqcrond *d, char **cause)
{
	char	buf[32];
	ssize_t	n;
	int	fd;

	xasprintf(&d->lock_path, "%s.lock", d->conf->db);
	if (sqcrond_mkparents(d->lock_path, cause) == -1)
		return -1;
	fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		xasprintf(cause, "%s: %s", d->lock_path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			n = pread(fd, buf, sizeof buf - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			xasprintf(cause, "already running, pid %s (lock %s)",
			    *buf != '\0' ? buf : "unknown", d->lock_path);
		} else
			xasprintf(cause, "flock %s: %s", d->lock_path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	d->lock_fd = fd;
	return 0;
}

/* Record our pid in the lock file, for "already running, pid N". */
static void
sqcrond_write_pid(struct sqcrond *d)
{
	char	buf[32];
	int	n;

	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) == -1 ||
	    pwrite(d->lock_fd, buf, (size_t)n, 0) != n)
		log_warn("%s: cannot record pid", d->lock_path);
}

/* Detach from the terminal: the parent returns only once the child runs. */
static void
sqcrond_detach(void)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0)
		_exit(0);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static struct runner *
sqcrond_runner(struct sqcrond *d, char **cause)
{
	struct runner_config	rc;

	memset(&rc, 0, sizeof rc);
	rc.shell = d->conf->shell;
	rc.path = d->conf->path;
	rc.use_cgroup = d->conf->cgroup == CONFIG_CGROUP_AUTO;
	rc.memory_poll_ms = d->conf->memory_poll_ms;
	return runner_new(d->base, &rc, cause);
}

/* Bind the control socket, creating its directory. */
static int
sqcrond_start_control(struct sqcrond *d, char **cause)
{
	struct control_options		 o;
	const struct control_method	*methods;
	size_t				 n;

	if (sqcrond_mkparents(d->conf->socket, cause) == -1)
		return -1;
	memset(&o, 0, sizeof o);
	o.path = d->conf->socket;
	o.mode = d->conf->socket_mode;
	o.group = d->conf->socket_group;
	o.admin_group = d->conf->admin_group;
	methods = api_methods(&n);
	d->control = control_new(d->base, &o, methods, n, &d->api, cause);
	return d->control != NULL ? 0 : -1;
}

/*
 * The kernel's id of this boot, for @reboot; NULL when unknown.
 * SQCRON_TEST_BOOT_ID_FILE names a file to read instead: a hook for the
 * test suite, documented as such, not a setting.
 */
static char *
sqcrond_boot_id(void)
{
	const char	*path = getenv("SQCRON_TEST_BOOT_ID_FILE");
	char		 buf[128];
	ssize_t		 n;
	int		 fd;

	if (path == NULL || *path == '\0')
		path = "/proc/sys/kernel/random/boot_id";
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return NULL;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (*buf == '\0') {
		log_warnx("%s: no boot id", path);
		return NULL;
	}
	return xstrdup(buf);
}

/* A crontab changed a job: tell events.subscribe. */
static void
sqcrond_job_event_cb(const char *event, const struct job_row *jr,
    const char *why, void *arg)
{
	api_job_event(arg, event, jr, why);
}

/* A run wrote output: mail it when its job says so. */
static void
sqcrond_output_cb(const struct run *r, const char *output, size_t len,
    void *arg)
{
	mail_run(arg, r, output, len);
}

/* sqcron_notifications_pending: the outbox's undelivered rows. */
static int64_t
sqcrond_pending(void *arg)
{
	int64_t	 n = notify_pending(arg);

	return n > 0 ? n : 0;
}

/* Tell systemd (or anything speaking its protocol) our state. */
static void
sqcrond_notify(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	size_t			 plen;
	int			 fd;

	if (path == NULL || (*path != '/' && *path != '@'))
		return;
	plen = strlen(path);
	if (plen >= sizeof sun.sun_path) {
		log_warnx("NOTIFY_SOCKET too long");
		return;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (*path == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify socket");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("notify %s", path);
	close(fd);
}

/*
 * systemd's watchdog (WatchdogSec=): WATCHDOG=1 at half its interval,
 * from the loop and only while the database answers, so a stuck loop or a
 * broken database gets the daemon restarted.  Without WATCHDOG_USEC there
 * is no timer: an idle sqcrond makes no system call.
 */
static void
sqcrond_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	struct sqcrond	*d = arg;
	char		*cause = NULL;

	(void)fd;
	(void)events;
	if (store_ping(d->store, &cause) < 0) {
		log_warnx("watchdog: not telling systemd all is well: %s",
		    cause);
		free(cause);
		return;
	}
	sqcrond_notify("WATCHDOG=1");
}

static void
sqcrond_watchdog(struct sqcrond *d)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	struct timeval	 tv;
	char		*end;
	long long	 us;

	if (usec == NULL || getenv("NOTIFY_SOCKET") == NULL)
		return;
	if (pid != NULL && strtoll(pid, &end, 10) != (long long)getpid())
		return;		/* meant for another process */
	errno = 0;
	us = strtoll(usec, &end, 10);
	if (errno != 0 || *end != '\0' || us <= 0) {
		log_warnx("WATCHDOG_USEC=%s: not a number of microseconds",
		    usec);
		return;
	}
	us /= 2;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	d->ev_watchdog = event_new(d->base, -1, EV_PERSIST,
	    sqcrond_watchdog_cb, d);
	event_add(d->ev_watchdog, &tv);
	log_info("systemd watchdog: WATCHDOG=1 every %lld ms", us / 1000);
}

static void
sqcrond_exit_cb(evutil_socket_t fd, short events, void *arg)
{
	struct sqcrond	*d = arg;

	(void)fd;
	(void)events;
	if (mail_pending(d->mail) > 0)
		log_warnx("%zu messages not mailed: sqcrond stops",
		    mail_pending(d->mail));
	event_base_loopexit(d->base, NULL);
}

/* No job runs any more: exit, once the last runs' mail has left. */
static void
sqcrond_stopped_cb(void *arg)
{
	struct sqcrond	*d = arg;
	struct timeval	 tv = { SQCROND_MAIL_WAIT_S, 0 };

	if (mail_pending(d->mail) > 0 && !d->mail_waiting) {
		d->mail_waiting = 1;
		log_info("waiting up to %d s for %zu messages to be mailed",
		    SQCROND_MAIL_WAIT_S, mail_pending(d->mail));
		if (event_base_once(d->base, -1, EV_TIMEOUT, sqcrond_exit_cb, d,
		    &tv) == 0) {
			mail_when_idle(d->mail, sqcrond_stopped_cb, d);
			return;
		}
	}
	event_base_loopexit(d->base, NULL);
}

static void
sqcrond_stop_cb(evutil_socket_t sig, short events, void *arg)
{
	struct sqcrond	*d = arg;

	log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" :
	    "SIGTERM");
	sqcrond_notify("STOPPING=1");
	metrics_set_stopping(d->metrics);
	if (d->stopping) {
		/* A second signal: stop waiting for the jobs. */
		log_info("killing %d running jobs now",
		    runner_kill_all(d->runner, "shutdown"));
		return;
	}
	d->stopping = 1;
	policy_shutdown(d->policy, d->conf->shutdown_timeout_ms,
	    sqcrond_stopped_cb, d);
}

/*
 * Read the configuration again (SIGHUP, sqcron reload); -1 with *cause,
 * keeping the running one, when the file is bad.
 */
static int
sqcrond_reload(void *arg, char **cause)
{
	struct sqcrond	*d = arg;
	struct config	*conf;

	sqcrond_notify("RELOADING=1");
	if ((conf = sqcrond_load_config(d, cause)) == NULL) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", *cause);
		crontabs_reload(d->crontabs, d->conf);
		sqcrond_notify("READY=1");
		return -1;
	}
	if (strcmp(conf->db, d->conf->db) != 0)
		log_warnx("reload: db changed to %s; it takes effect at "
		    "restart", conf->db);
	config_free(d->conf);
	d->conf = conf;
	d->api.conf = conf;
	policy_set_config(d->policy, conf);
	prune_set_config(d->prune, conf);
	mail_set_config(d->mail, conf);
	notify_set_config(d->notify, conf);
	outbox_set_config(d->outbox, conf);
	metrics_set_config(d->metrics, conf);
	sqcrond_setup_log(d);
	log_info("configuration reloaded from %s", d->conf->file != NULL ?
	    d->conf->file : "built-in defaults");
	crontabs_reload(d->crontabs, conf);
	sqcrond_notify("READY=1");
	return 0;
}

static void
sqcrond_reload_cb(evutil_socket_t sig, short events, void *arg)
{
	char	*cause = NULL;

	(void)sig;
	(void)events;
	if (sqcrond_reload(arg, &cause) == -1)
		free(cause);
}

int
main(int argc, char **argv)
{
	struct sqcrond	 d;
	char		*cause = NULL, *abs_path = NULL, *boot_id;
	int		 ch, check = 0;

	/*
	 * A burst of fires allocates and frees in waves; glibc's default
	 * gives the top of the heap back at every wave and faults it in
	 * again (each shrink a TLB shootdown on every core).  Keep up to
	 * 4 MiB of free heap while busy; the loop trims explicitly when a
	 * burst is over or a client leaves, so the idle daemon stays small.
	 */
	mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);

	memset(&d, 0, sizeof d);
	d.conf_path = SQCRON_CONF_PATH;
	d.lock_fd = -1;

	while ((ch = getopt(argc, argv, "c:fhtV")) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			d.conf_explicit = 1;
			break;
		case 'f':
			d.foreground = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 't':
			check++;
			break;
		case 'V':
			printf("sqcrond %s\n", SQCRON_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sqcrond: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}

	/* Reloads happen after chdir("/"): keep an absolute path. */
	if ((abs_path = realpath(d.conf_path, NULL)) != NULL)
		d.conf_path = abs_path;

	if ((d.conf = sqcrond_load_config(&d, &cause)) == NULL) {
		fprintf(stderr, "sqcrond: %s\n", cause);
		free(cause);
		free(abs_path);
		return 1;
	}
	if ((d.tz = tz_load(d.conf->timezone, &cause)) == NULL) {
		fprintf(stderr, "sqcrond: %s%stimezone: %s\n",
		    d.conf->file != NULL ? d.conf->file : "",
		    d.conf->file != NULL ? ": " : "", cause);
		free(cause);
		config_free(d.conf);
		free(abs_path);
		return 1;
	}
	if (check) {
		if (check > 1)
			config_dump(d.conf, stdout);
		printf("sqcrond: configuration %s OK\n", d.conf->file != NULL ?
		    d.conf->file : "(built-in defaults)");
		tz_free(d.tz);
		config_free(d.conf);
		free(abs_path);
		return 0;
	}

	sqcrond_setup_log(&d);
	if (sqcrond_lock(&d, &cause) == -1)
		fatalx("%s", cause);
	if (!d.foreground)
		sqcrond_detach();
	sqcrond_write_pid(&d);
	signal(SIGPIPE, SIG_IGN);

	if ((d.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	d.ev_term = evsignal_new(d.base, SIGTERM, sqcrond_stop_cb, &d);
	d.ev_int = evsignal_new(d.base, SIGINT, sqcrond_stop_cb, &d);
	d.ev_hup = evsignal_new(d.base, SIGHUP, sqcrond_reload_cb, &d);
	if (d.ev_term == NULL || d.ev_int == NULL || d.ev_hup == NULL ||
	    evsignal_add(d.ev_term, NULL) == -1 ||
	    evsignal_add(d.ev_int, NULL) == -1 ||
	    evsignal_add(d.ev_hup, NULL) == -1)
		fatalx("cannot install signal handlers");

	if ((d.store = store_open(d.conf->db, d.conf->durability ==
	    CONFIG_DURABILITY_FULL, &cause)) == NULL)
		fatalx("%s: %s", d.conf->db, cause);
	if ((d.notify = notify_new(d.base, d.store, d.conf, &cause)) == NULL)
		fatalx("%s", cause);
	d.outbox = outbox_new(d.store, d.conf, d.notify);
	if ((d.runner = sqcrond_runner(&d, &cause)) == NULL)
		fatalx("%s", cause);
	log_info("memory limits: %s", runner_memory_mode(d.runner));
	d.prune = prune_new(d.base, d.store, d.conf);
	d.mail = mail_new(d.runner, d.store, d.conf);
	if ((d.policy = policy_new(d.base, d.store, d.runner, d.prune, d.conf,
	    d.tz, &cause)) == NULL)
		fatalx("%s", cause);
	policy_set_outbox(d.policy, d.outbox);
	policy_set_kept_output_cb(d.policy, sqcrond_output_cb, d.mail);
	d.crontabs = crontabs_new(d.base, d.store, d.conf);
	if (policy_start(d.policy, &cause) == -1)
		fatalx("%s", cause);
	crontabs_start(d.crontabs, d.policy);
	if ((boot_id = sqcrond_boot_id()) == NULL)
		log_warnx("@reboot jobs are not run: the boot id is unknown");
	else if (policy_reboot(d.policy, boot_id, &cause) == -1) {
		log_warnx("@reboot jobs are not run: %s", cause);
		free(cause);
		cause = NULL;
	}
	free(boot_id);
	prune_all(d.prune);
	notify_start(d.notify);
	d.api.started_at = (int64_t)time(NULL) * 1000;
	d.metrics = metrics_new(d.base, d.store, d.policy, d.conf->db,
	    d.api.started_at);
	policy_set_changed_cb(d.policy, metrics_changed, d.metrics);
	metrics_set_pending_fn(d.metrics, sqcrond_pending, d.notify);
	metrics_set_outbox(d.metrics, d.outbox);
	metrics_set_config(d.metrics, d.conf);

	d.api.conf = d.conf;
	d.api.store = d.store;
	d.api.policy = d.policy;
	d.api.prune = d.prune;
	d.api.crontabs = d.crontabs;
	d.api.metrics = d.metrics;
	d.api.tz = d.tz;
	d.api.zone = tz_name(d.tz);
	d.api.reload = sqcrond_reload;
	d.api.reload_arg = &d;
	d.api.base = d.base;
	LIST_INIT(&d.api.subs);
	crontabs_set_event_cb(d.crontabs, sqcrond_job_event_cb, &d.api);
	if (sqcrond_start_control(&d, &cause) == -1)
		fatalx("%s", cause);

	log_info("sqcrond %s started, pid %ld, db %s, time zone %s",
	    SQCRON_VERSION, (long)getpid(), d.conf->db, tz_name(d.tz));
	sqcrond_notify("READY=1");
	sqcrond_watchdog(&d);

	if (event_base_dispatch(d.base) == -1)
		fatalx("event loop failed");

	control_free(d.control);
	crontabs_free(d.crontabs);
	policy_set_changed_cb(d.policy, NULL, NULL);
	metrics_free(d.metrics);
	policy_free(d.policy);
	mail_free(d.mail);
	prune_free(d.prune);
	runner_free(d.runner);
	outbox_free(d.outbox);
	notify_free(d.notify);
	store_close(d.store);
	event_free(d.ev_hup);
	if (d.ev_watchdog != NULL)
		event_free(d.ev_watchdog);
	event_free(d.ev_int);
	event_free(d.ev_term);
	event_base_free(d.base);
	/* Leave DB.lock in place: removing it would race a new instance. */
	close(d.lock_fd);
	free(d.lock_path);
	tz_free(d.tz);
	log_info("stopped");
	config_free(d.conf);
	free(abs_path);
	return 0;
}
