/*
 * audit.c - the audit log's chain (audit.h). Each record's check value is
 * the store's keyed hash over its fields and the check value before it
 * (objid.c, docs/format.md#audit-log); append reads the last one inside
 * the write transaction, so two writers cannot chain to the same record.
 * meta_audit.c runs the SQL.
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_impl.h"
#include "mlfs/audit.h"
#include "store_impl.h"

/* Longest command line recorded; a longer one ends in "...". */
#define AUDIT_CMD_MAX 4096

/* Set once at startup, before any thread appends (audit.h). */
static char audit_command[AUDIT_CMD_MAX + 4];

static bool shell_safe(const char *a)
{
	if (!*a)
		return false;
	for (; *a; a++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_@%+=:,./-", *a))
			return false;
	return true;
}

/* Append @s at @pos, as far as it fits; returns the new position, or
 * AUDIT_CMD_MAX + 1 once something did not fit. */
static size_t put(size_t pos, const char *s, size_t len)
{
	if (pos > AUDIT_CMD_MAX)
		return pos;
	if (len > AUDIT_CMD_MAX - pos) {
		memcpy(audit_command + pos, s, AUDIT_CMD_MAX - pos);
		return AUDIT_CMD_MAX + 1;
	}
	memcpy(audit_command + pos, s, len);
	return pos + len;
}

void mlfs_audit_set_command(int argc, char *const argv[])
{
	size_t pos = 0;

	/* Quoted as a shell reads it back, so one argument holding spaces
	 * does not read as two. */
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (i)
			pos = put(pos, " ", 1);
		if (shell_safe(a)) {
			pos = put(pos, a, strlen(a));
			continue;
		}
		pos = put(pos, "'", 1);
		for (; *a; a++)
			pos = *a == '\'' ? put(pos, "'\\''", 4) :
					   put(pos, a, 1);
		pos = put(pos, "'", 1);
	}
	if (pos > AUDIT_CMD_MAX) {
		memcpy(audit_command + AUDIT_CMD_MAX, "...", 4);
		return;
	}
	audit_command[pos] = '\0';
}

/* A request a daemon runs for a client (audit.h); this thread only. */
static _Thread_local const char *client_command;
static _Thread_local int64_t client_uid = -1;

const char *mlfs_audit_command(void)
{
	return audit_command;
}

void mlfs_audit_set_client(const char *command, int64_t uid)
{
	client_command = command;
	client_uid = command ? uid : -1;
}

/* The real uid's account name (not $USER, which anyone sets), or "". */
static void user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, size, "%s", res->pw_name);
	else
		buf[0] = '\0';
}

static void host_name(char *buf, size_t size)
{
	if (gethostname(buf, size - 1) < 0)
		buf[0] = '\0';
	buf[size - 1] = '\0';
}

/* Chain one record after the last; in a write transaction. */
static int append_locked(struct mlfs_store *s, struct mlfs_objid_audit *a)
{
	struct mlfs_id prev, mac;
	int64_t last;
	int r = mlfs_meta_audit_last(s->meta, &last, &prev);

	if (r == -ENOENT) {
		last = 0;
		memset(&prev, 0, sizeof(prev));
	} else if (r < 0) {
		return r;
	}
	a->id = last + 1;
	mlfs_objid_audit_mac(&s->cfg.key, a, &prev, &mac);
	return mlfs_meta_audit_add(s->meta, a, &mac);
}

int mlfs_audit_append(struct mlfs_store *s, const struct mlfs_audit_event *ev)
{
	char user[256], host[256], repo[2 * MLFS_NAME_MAX + 2];
	char cmd[AUDIT_CMD_MAX + 4];
	struct mlfs_objid_audit a = { 0 };
	bool own;
	int r;

	if (!ev->op || !*ev->op || !ev->ns != !ev->name)
		return -EINVAL;
	if (s->rdonly)
		return -EROFS;
	a.uid = client_command ? client_uid : (int64_t)getuid();
	user_name((uid_t)a.uid, user, sizeof(user));
	host_name(host, sizeof(host));
	a.time = (int64_t)time(NULL);
	a.has_uid = true;
	a.user = user;
	a.host = host;
	a.command = audit_command;
	if (client_command) {
		/* as long as a command line of our own may be */
		if (snprintf(cmd, AUDIT_CMD_MAX + 1, "%s", client_command) >
		    AUDIT_CMD_MAX)
			memcpy(cmd + AUDIT_CMD_MAX, "...", 4);
		a.command = cmd;
	}
	a.op = ev->op;
	if (ev->ns) {
		snprintf(repo, sizeof(repo), "%s/%s", ev->ns, ev->name);
		a.repo = repo;
	}
	a.ref = ev->ref;
	a.old_commit = ev->old_commit;
	a.new_commit = ev->new_commit;
	a.message = ev->message;

	mlfs_meta_lock(s->meta);
	own = !mlfs_meta_in_write(s->meta);
	r = own ? mlfs_meta_begin(s->meta) : 0;
	if (r == 0)
		r = append_locked(s, &a);
	if (own && r == 0)
		r = mlfs_meta_commit(s->meta);
	else if (own && r < 0)
		mlfs_meta_rollback(s->meta);
	mlfs_meta_unlock(s->meta);
	return r;
}

/* ---- reading and checking ---- */

static void format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "@%" PRId64, t);
}

/* Walks the chain in id order; each record is checked against the
 * stored check value of the one before it. */
struct walk {
	const struct mlfs_hash_key *key;
	struct mlfs_id prev;
	int64_t prev_id;
	uint64_t count;
	char why[96];         /* why the record just checked failed */
	/* verify: the first failure */
	int64_t bad_id;
	char bad[512];
	/* fsck: every failure */
	mlfs_audit_bad_fn bad_fn;
	void *bad_ctx;
	/* list */
	const struct mlfs_audit_filter *f;
	struct mlfs_audit_record *v;
	size_t n, cap;
};

/* Record @id does not chain to the one before it: removed records in
 * between, else it was altered. (A gap alone is no damage: only rows
 * sealed by migration 3 as they were can have one.) */
static void why_broken(struct walk *w, int64_t id)
{
	if (id == w->prev_id + 2)
		snprintf(w->why, sizeof(w->why), "record %" PRId64 " before "
			 "it is missing", w->prev_id + 1);
	else if (id > w->prev_id + 2)
		snprintf(w->why, sizeof(w->why), "records %" PRId64 "-%" PRId64
			 " before it are missing", w->prev_id + 1, id - 1);
	else
		snprintf(w->why, sizeof(w->why), "altered: it does not match "
			 "its check value");
}

/* Is @a, with its stored @mac, intact after the walk so far? Says why
 * not in w->why. */
static bool check_one(struct walk *w, const struct mlfs_objid_audit *a,
		      const struct mlfs_id *mac, bool malformed)
{
	struct mlfs_id got;
	bool ok = false;

	if (malformed) {
		snprintf(w->why, sizeof(w->why), "a field has a type mlfs "
			 "never writes");
	} else if (!mac) {
		snprintf(w->why, sizeof(w->why), "its check value is missing");
	} else {
		mlfs_objid_audit_mac(w->key, a, &w->prev, &got);
		ok = mlfs_id_cmp(&got, mac) == 0;
		if (!ok)
			why_broken(w, a->id);
	}
	w->prev_id = a->id;
	/* the next record chains to what is stored, so one altered record
	 * is named alone */
	if (mac)
		w->prev = *mac;
	else
		memset(&w->prev, 0, sizeof(w->prev));
	return ok;
}

static int verify_row(void *ctx, const struct mlfs_objid_audit *a,
		      const struct mlfs_id *mac, bool malformed)
{
	struct walk *w = ctx;
	char when[32];

	w->count++;
	if (check_one(w, a, mac, malformed))
		return 0;
	format_time(a->time, when, sizeof(when));
	if (w->bad_fn)
		return w->bad_fn(w->bad_ctx, a->id, when, a->op ? a->op : "?",
				 w->why);
	if (!w->bad_id) {
		w->bad_id = a->id;
		snprintf(w->bad, sizeof(w->bad),
			 "audit record %" PRId64 " (%s, %s): %s", a->id, when,
			 a->op ? a->op : "?", w->why);
	}
	return 0;
}

int mlfs_audit_verify(struct mlfs_store *s, uint64_t *count,
		      int64_t *first_bad)
{
	struct walk w = { .key = &s->cfg.key };
	int r = mlfs_meta_audit_each(s->meta, verify_row, &w);

	if (count)
		*count = w.count;
	if (first_bad)
		*first_bad = w.bad_id;
	if (r < 0)
		return r;
	if (w.bad_id) {
		mlfs_error_set("%s", w.bad);
		return -EBADMSG;
	}
	return 0;
}

int mlfs_audit_check(struct mlfs_store *s, mlfs_audit_bad_fn bad, void *ctx,
		     uint64_t *count)
{
	struct walk w = { .key = &s->cfg.key, .bad_fn = bad, .bad_ctx = ctx };
	int r = mlfs_meta_audit_each(s->meta, verify_row, &w);

	*count = w.count;
	return r;
}

static bool matches(const struct mlfs_audit_filter *f,
		    const struct mlfs_objid_audit *a)
{
	char repo[2 * MLFS_NAME_MAX + 2];

	if (!f)
		return true;
	if (f->ns && f->name) {
		snprintf(repo, sizeof(repo), "%s/%s", f->ns, f->name);
		if (!a->repo || strcmp(a->repo, repo))
			return false;
	}
	if (f->ref && (!a->ref || strcmp(a->ref, f->ref)))
		return false;
	return a->time >= f->since;
}

static int copy_record(struct mlfs_audit_record *d,
		       const struct mlfs_objid_audit *a,
		       const struct mlfs_id *mac, bool damaged)
{
	bool nomem = false;

	memset(d, 0, sizeof(*d));
	d->id = a->id;
	d->time = a->time;
	d->uid = a->has_uid ? a->uid : -1;
	d->user = mlfs_strdup_opt(a->user ? a->user : "", &nomem);
	d->host = mlfs_strdup_opt(a->host ? a->host : "", &nomem);
	d->command = mlfs_strdup_opt(a->command ? a->command : "", &nomem);
	d->op = mlfs_strdup_opt(a->op ? a->op : "", &nomem);
	d->repo = mlfs_strdup_opt(a->repo, &nomem);
	d->ref = mlfs_strdup_opt(a->ref, &nomem);
	d->message = mlfs_strdup_opt(a->message, &nomem);
	d->detail = mlfs_strdup_opt(a->detail, &nomem);
	d->has_old = a->old_commit != NULL;
	d->has_new = a->new_commit != NULL;
	if (a->old_commit)
		d->old_commit = *a->old_commit;
	if (a->new_commit)
		d->new_commit = *a->new_commit;
	d->has_mac = mac != NULL;
	if (mac)
		d->mac = *mac;
	d->damaged = damaged;
	return nomem ? -ENOMEM : 0;
}

static void record_release(struct mlfs_audit_record *r)
{
	free(r->user);
	free(r->host);
	free(r->command);
	free(r->op);
	free(r->repo);
	free(r->ref);
	free(r->message);
	free(r->detail);
}

static int list_row(void *ctx, const struct mlfs_objid_audit *a,
		    const struct mlfs_id *mac, bool malformed)
{
	struct walk *w = ctx;
	bool ok = check_one(w, a, mac, malformed);
	int r;

	/* A damaged record is in every listing: its fields, the filter's
	 * input, are not to be trusted either. */
	if (ok && !matches(w->f, a))
		return 0;
	if (w->n == w->cap) {
		size_t nc = w->cap ? 2 * w->cap : 32;
		void *nv = realloc(w->v, nc * sizeof(*w->v));

		if (!nv)
			return -ENOMEM;
		w->v = nv;
		w->cap = nc;
	}
	r = copy_record(&w->v[w->n], a, mac, !ok);
	w->n++; /* released with the rest, even half copied */
	return r;
}

int mlfs_audit_list(struct mlfs_store *s, const struct mlfs_audit_filter *f,
		    struct mlfs_audit_record **out, size_t *n)
{
	struct walk w = { .key = &s->cfg.key, .f = f };
	int r = mlfs_meta_audit_each(s->meta, list_row, &w);

	if (r < 0) {
		mlfs_audit_records_free(w.v, w.n);
		*out = NULL;
		*n = 0;
		return r;
	}
	*out = w.v;
	*n = w.n;
	return 0;
}

void mlfs_audit_records_free(struct mlfs_audit_record *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		record_release(&r[i]);
	free(r);
}
