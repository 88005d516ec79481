/*
 * 102-store-migrate: schema versions and migrations.
 *
 * A new database ends at the newest embedded migration; reopening applies
 * nothing; a newer database is refused with the exact message; an older
 * one is brought up to date through store_open_with and an injected list
 * (the real migrations plus fakes), each migration in one transaction: a
 * migration that fails halfway leaves neither its first statements nor a
 * new user_version behind.  Databases that are not sqcron's are refused.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "xmalloc.h"
#include "tap.h"

static char	dir[512];		/* $TMPDIR/sqcron-102.XXXXXX */
static int	ndbs;

/* A new database path in the test's directory. */
static char *
db_path(void)
{
	char	*p;

	xasprintf(&p, "%s/db%d", dir, ndbs++);
	return p;
}

/* One number from a database, by a connection of the test's own. */
static int64_t
db_int(const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -2;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

static int
db_exec(const char *path, const char *sql)
{
	sqlite3	*db;
	int	 rc;

	if ((rc = sqlite3_open(path, &db)) == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* Does the database have this table? */
static int
has_table(const char *path, const char *name)
{
	char	*sql;
	int64_t	 n;

	xasprintf(&sql, "SELECT count(*) FROM sqlite_schema WHERE type = "
	    "'table' AND name = '%s'", name);
	n = db_int(path, sql);
	free(sql);
	return n == 1;
}

/* The embedded migrations followed by the given fakes. */
static struct store_migration *
with_fakes(size_t *n, const struct store_migration *fakes, size_t nfakes)
{
	struct store_migration	*m;
	size_t			 i;

	*n = store_nmigrations + nfakes;
	m = xreallocarray(NULL, *n, sizeof *m);
	for (i = 0; i < store_nmigrations; i++)
		m[i] = store_migrations[i];
	for (i = 0; i < nfakes; i++) {
		m[store_nmigrations + i] = fakes[i];
		m[store_nmigrations + i].version = (int)(store_nmigrations + i +
		    1);
	}
	return m;
}

static void
cleanup(void)
{
	char	*p;
	int	 i;

	for (i = 0; i < ndbs + 2; i++) {
		xasprintf(&p, "%s/db%d", dir, i);
		unlink(p);
		free(p);
		xasprintf(&p, "%s/db%d-wal", dir, i);
		unlink(p);
		free(p);
		xasprintf(&p, "%s/db%d-shm", dir, i);
		unlink(p);
		free(p);
	}
	rmdir(dir);
}

int
main(void)
{
	static const struct store_migration fakes[] = {
		{ 0, "0002-fake-table",
		    "CREATE TABLE fake (x INTEGER NOT NULL);\n"
		    "INSERT INTO fake (x) VALUES (42);\n"
		    "ALTER TABLE jobs ADD COLUMN fake_option TEXT;\n" },
		{ 0, "0003-fake-broken",
		    "CREATE TABLE half (x);\n"
		    "INSERT INTO half VALUES (1);\n"
		    "INSERT INTO no_such_table VALUES (1);\n" },
	};
	static const struct store_migration dangling[] = {
		{ 0, "0002-fake-dangling",
		    "INSERT INTO job_versions (job_id, version, created_at, "
		    "source, owner_uid, name, schedule, command) VALUES "
		    "(77, 1, 0, 'api', 0, 'x', '@daily', 'true');\n" },
	};
	struct store_migration	*m, bad[2];
	struct store		*st;
	char			*path, *cause = NULL, *v = NULL, want[256];
	const char		*tmp;
	glob_t			 g;
	size_t			 n;
	int			 fd;

	tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/sqcron-102.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		BAIL_OUT("mkdtemp %s: %s", dir, strerror(errno));
	atexit(cleanup);
	ok(store_nmigrations >= 1 && store_migrations[0].version == 1 &&
	    strcmp(store_migrations[0].name, "0001-init") == 0,
	    "the migrations are embedded, 0001-init first");

	/* a new database ends at the newest version */
	path = db_path();
	st = store_open(path, 0, &cause);
	ok(st != NULL, "open a new database");
	if (st == NULL)
		BAIL_OUT("%s", cause);
	is_int(store_version(st), (int64_t)store_nmigrations,
	    "store_version is the newest");
	store_meta_set(st, "marker", "kept", NULL);
	store_close(st);
	is_int(db_int(path, "PRAGMA user_version"),
	    (int64_t)store_nmigrations, "user_version is the newest");
	is_int(db_int(path, "PRAGMA application_id"), 0x53514352,
	    "application_id is sqcron's");

	/* reopening applies nothing (0001 again would fail: tables exist) */
	st = store_open(path, 1, &cause);
	ok(st != NULL, "reopen it (durability full)");
	if (st == NULL)
		BAIL_OUT("%s", cause);
	ok(store_meta_get(st, "marker", &v, NULL) == STORE_OK && v != NULL &&
	    strcmp(v, "kept") == 0, "its data is kept");
	free(v);
	store_close(st);

	/* an older database is brought up to date, once */
	m = with_fakes(&n, fakes, 1);
	st = store_open_with(path, 0, m, n, &cause);
	ok(st != NULL, "open it with a newer binary (one more migration)");
	if (st == NULL)
		BAIL_OUT("%s", cause);
	is_int(store_version(st), (int64_t)n, "now at the new version");
	store_close(st);
	is_int(db_int(path, "PRAGMA user_version"), (int64_t)n,
	    "user_version moved with it");
	is_int(db_int(path, "SELECT x FROM fake"), 42,
	    "the migration ran, every statement of it");
	is_int(db_int(path, "SELECT count(*) FROM pragma_table_info('jobs') "
	    "WHERE name = 'fake_option'"), 1, "including the ALTER TABLE");
	is_int(db_int(path, "SELECT count(*) FROM meta"), 1,
	    "the data survived the upgrade");
	st = store_open_with(path, 0, m, n, &cause);
	ok(st != NULL, "reopen at that version");
	store_close(st);
	is_int(db_int(path, "SELECT count(*) FROM fake"), 1,
	    "and the migration was not applied again");
	free(m);

	/* a migration failing halfway leaves nothing of itself */
	m = with_fakes(&n, fakes, 2);
	cause = NULL;
	st = store_open_with(path, 0, m, n, &cause);
	ok(st == NULL, "a failing migration refuses the open");
	snprintf(want, sizeof want, "migration 0003-fake-broken (schema "
	    "version %zu) failed: no such table: no_such_table", n);
	is(cause, want, "naming the migration and the reason");
	free(cause);
	cause = NULL;
	is_int(db_int(path, "PRAGMA user_version"), (int64_t)n - 1,
	    "user_version is unchanged");
	ok(!has_table(path, "half"), "its first statements were rolled back");
	ok(has_table(path, "fake"), "earlier migrations stay applied");
	free(m);

	/* from scratch, the good ones apply in turn and the bad one stops */
	free(path);
	path = db_path();
	m = with_fakes(&n, fakes, 2);
	st = store_open_with(path, 0, m, n, &cause);
	ok(st == NULL, "a new database with a broken last migration");
	free(cause);
	cause = NULL;
	is_int(db_int(path, "PRAGMA user_version"), (int64_t)n - 1,
	    "stops just before it, each migration its own transaction");
	free(m);

	/* a migration that leaves a dangling foreign key is refused */
	free(path);
	path = db_path();
	m = with_fakes(&n, dangling, 1);
	st = store_open_with(path, 0, m, n, &cause);
	ok(st == NULL && cause != NULL &&
	    strstr(cause, "dangling foreign keys") != NULL,
	    "a migration leaving dangling foreign keys is refused: %s",
	    cause != NULL ? cause : "(opened)");
	free(cause);
	cause = NULL;
	store_close(st);
	is_int(db_int(path, "PRAGMA user_version"), (int64_t)n - 1,
	    "and rolled back");
	free(m);

	/* a database newer than the binary is refused */
	free(path);
	path = db_path();
	st = store_open(path, 0, NULL);
	store_close(st);
	db_exec(path, "PRAGMA user_version = 7");
	st = store_open(path, 0, &cause);
	ok(st == NULL, "a newer database is refused");
	snprintf(want, sizeof want, "database schema version 7 is newer than "
	    "this sqcrond (knows up to %zu): upgrade sqcrond",
	    store_nmigrations);
	is(cause, want, "with the exact message");
	free(cause);
	cause = NULL;
	is_int(db_int(path, "PRAGMA user_version"), 7, "and left as it was");
	/* Every sql/NNNN-*.sql is embedded (a line in SQL_MIGRATIONS). */
	snprintf(want, sizeof want, "%s/sql/[0-9][0-9][0-9][0-9]-*.sql",
	    getenv("SQCRON_SRCDIR") != NULL ? getenv("SQCRON_SRCDIR") : ".");
	if (glob(want, 0, NULL, &g) == 0) {
		is_int((int64_t)store_nmigrations, (int64_t)g.gl_pathc,
		    "every sql/NNNN-*.sql file is embedded (%zu)",
		    g.gl_pathc);
		globfree(&g);
	} else
		ok(0, "no sql/NNNN-*.sql found in SQCRON_SRCDIR");

	/* not an sqcron database */
	free(path);
	path = db_path();
	db_exec(path, "CREATE TABLE theirs (x); INSERT INTO theirs VALUES (1)");
	st = store_open(path, 0, &cause);
	ok(st == NULL, "someone else's database is refused");
	is(cause, "not an sqcron database: it has tables but no schema "
	    "version", "saying why");
	free(cause);
	cause = NULL;
	ok(!has_table(path, "jobs"), "and not written to");
	db_exec(path, "PRAGMA user_version = 1");
	st = store_open(path, 0, &cause);
	is(cause, "not an sqcron database (application_id 0)",
	    "one with a schema version but not ours");
	free(cause);
	cause = NULL;
	store_close(st);

	free(path);
	path = db_path();
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		BAIL_OUT("%s: %s", path, strerror(errno));
	if (write(fd, "this is not sqlite, just text\n", 30) != 30)
		BAIL_OUT("write: %s", strerror(errno));
	close(fd);
	st = store_open(path, 0, &cause);
	ok(st == NULL && cause != NULL &&
	    strstr(cause, "not a database") != NULL,
	    "a file that is not a database: %s",
	    cause != NULL ? cause : "(opened)");
	free(cause);
	cause = NULL;
	store_close(st);

	xasprintf(&v, "%s/no/such/dir/db", dir);
	st = store_open(v, 0, &cause);
	ok(st == NULL && cause != NULL &&
	    strncmp(cause, "cannot open database: ", 22) == 0,
	    "a path that cannot exist: %s", cause != NULL ? cause : "(opened)");
	free(cause);
	cause = NULL;
	free(v);

	/* a misnumbered list is a bug in the binary, caught at open */
	bad[0] = store_migrations[0];
	bad[1] = fakes[0];
	bad[1].version = 3;
	st = store_open_with(path, 0, bad, 2, &cause);
	ok(st == NULL && cause != NULL &&
	    strstr(cause, "internal error") != NULL,
	    "migrations must be numbered 1, 2, ...: %s",
	    cause != NULL ? cause : "(opened)");
	free(cause);
	free(path);
	return done_testing();
}
