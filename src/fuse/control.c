/*
 * control.c - the daemon's end of STORE/work/control.sock (control.h):
 * one thread answers `mlfs snapshot` and `mlfs discard` of working trees
 * this mount holds, one connection at a time. Only the daemon's own user
 * and root may connect (mode 0600, and the peer's uid is checked).
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "mlfs/alias.h"
#include "mlfs/audit.h"
#include "mlfs/control.h"
#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "mlfs/vmeta.h"
#include "mlfs/worktree.h"
#include "lineage.h"
#include "ops.h"

struct mlfs_ctl_server {
	struct mlfs_fs *fs;
	int fd;
	int stop[2]; /* a byte on stop[1] ends the thread */
	pthread_t th;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int reply_error(struct mlfs_ctl_msg *rep, int r)
{
	int e = mlfs_ctl_add(rep, "status", "error");

	if (e == 0)
		e = mlfs_ctl_addf(rep, "errno", "%d", -r);
	if (e == 0)
		e = mlfs_ctl_add(rep, "detail", mlfs_error_detail());
	return e;
}

/* The working tree a request names ("repo" = ns/name[@branch]). */
static int request_wt(struct mlfs_fs *fs, const struct mlfs_ctl_msg *req,
		      struct mlfs_wt **wt)
{
	const char *arg = mlfs_ctl_get(req, "repo"), *why;
	struct mlfs_refspec spec;
	struct mlfs_repo repo;
	struct mlfs_id tag;
	int r;

	mlfs_error_clear();
	if (!arg || mlfs_refspec_parse(arg, 0, &spec, &why) < 0) {
		mlfs_error_set("bad reference '%s'", arg ? arg : "");
		return -EINVAL;
	}
	if (spec.has_date || spec.back) {
		mlfs_error_set("'%s' is not a branch", arg);
		r = -EINVAL;
	} else if (*spec.rev &&
		   mlfs_repo_get(fs->store, spec.ns, spec.name, &repo) == 0 &&
		   mlfs_ref_get(fs->store, repo.id, MLFS_REF_TAG, spec.rev,
				&tag) == 0) {
		mlfs_error_set("'%s' names a tag: versions cannot be changed, "
			       "only branch heads", arg);
		r = -EROFS;
	} else if (*spec.rev &&
		   mlfs_repo_get(fs->store, spec.ns, spec.name, &repo) == 0 &&
		   mlfs_alias_get(fs->store, repo.id, spec.rev, &tag) == 0) {
		mlfs_error_set("'%s' names an alias: versions cannot be "
			       "changed, only branch heads", arg);
		r = -EROFS;
	} else {
		r = mlfs_wt_get(fs->work, spec.ns, spec.name,
				*spec.rev ? spec.rev : NULL, wt);
		if (r == -ENOENT && !*mlfs_error_detail())
			mlfs_error_set("no repository '%s/%s'", spec.ns,
				       spec.name);
	}
	mlfs_refspec_release(&spec);
	return r;
}

/* The job a request names ("job" = "<pgid> <leader start time>", sent
 * by mlfs run): 1 and @key, 0 (none), -EINVAL. */
static int request_job(const struct mlfs_ctl_msg *req,
		       struct mlfs_lin_key *key)
{
	const char *v = mlfs_ctl_get(req, "job");
	unsigned long long start;
	int pgid, end = 0;

	if (!v)
		return 0;
	if (sscanf(v, "%d %llu%n", &pgid, &start, &end) != 2 || v[end] ||
	    pgid <= 0) {
		mlfs_error_set("bad job '%s'", v);
		return -EINVAL;
	}
	key->pgid = pgid;
	key->uid = 0;
	key->start = start;
	return 1;
}

/* The inputs of a snapshot of @wt: those the mount saw (of the job the
 * request names, else of the jobs that changed @wt), and the commits the
 * request names ("input" = hex id, resolved by the client). */
static int snapshot_inputs(struct mlfs_fs *fs, const struct mlfs_ctl_msg *req,
			   struct mlfs_wt *wt, struct mlfs_input **out,
			   size_t *n)
{
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1],
		branch[MLFS_NAME_MAX + 1];
	struct mlfs_input *v = NULL, *nv;
	struct mlfs_lin_key key;
	struct mlfs_id base;
	bool has_base;
	size_t nm = 0;
	int r = request_job(req, &key);

	if (r < 0)
		return r;
	mlfs_wt_describe(wt, ns, name, branch, &has_base, &base);
	r = mlfs_lin_inputs(fs->lin, wt, r ? &key : NULL,
			    has_base ? &base : NULL, &v, n);
	for (size_t i = 0; r == 0 && i < req->n; i++)
		nm += !strcmp(req->v[i].key, "input");
	if (r < 0 || !nm)
		goto out;
	nv = realloc(v, (*n + nm) * sizeof(*nv));
	if (!nv) {
		r = -ENOMEM;
		goto out;
	}
	v = nv;
	for (size_t i = 0; r == 0 && i < req->n; i++) {
		if (strcmp(req->v[i].key, "input"))
			continue;
		memset(&v[*n], 0, sizeof(v[*n]));
		v[*n].how = MLFS_INPUT_MANUAL;
		if (mlfs_id_from_hex(req->v[i].value, &v[*n].commit) < 0) {
			mlfs_error_set("bad input '%s'", req->v[i].value);
			r = -EINVAL;
		}
		(*n)++;
	}
	if (r == 0)
		*n = mlfs_inputs_merge(v, *n);
out:
	if (r < 0) {
		free(v);
		v = NULL;
		*n = 0;
	}
	*out = v;
	return r;
}

/* MLFS_TEST_SNAPSHOT_PAUSE=PATH in the daemon's environment (for tests,
 * tests/worktree_open.sh): while PATH is a FIFO, a snapshot about to read
 * its files, with the working trees unlocked, creates PATH.reached and
 * waits until something is written into it, or 60 s have passed. */
static void test_pause(void *ctx)
{
	mlfs_test_pause(ctx);
}

/* *@snapped: the working tree snapshot, whose unneeded data files the
 * caller removes once the client has its answer. */
static int do_snapshot(struct mlfs_fs *fs, const struct mlfs_ctl_msg *req,
		       struct mlfs_ctl_msg *rep, struct mlfs_wt **snapped)
{
	struct mlfs_kv_list meta = MLFS_KV_LIST_INIT;
	struct mlfs_wt_snapshot_opts o = {
		.tag = mlfs_ctl_get(req, "tag"),
		.message = mlfs_ctl_get(req, "message"),
		.author = mlfs_ctl_get(req, "author"),
		.meta = &meta,
		.defer_garbage = true,
		.reading_ctx = getenv("MLFS_TEST_SNAPSHOT_PAUSE"),
	};
	struct mlfs_wt_snapshot_result res = { 0 };
	char hex[MLFS_ID_HEX_LEN + 1];
	struct mlfs_input *inputs = NULL;
	size_t ninputs = 0;
	struct mlfs_wt *wt;
	int r = request_wt(fs, req, &wt);

	if (o.reading_ctx)
		o.reading = test_pause;
	/* "meta" fields are KEY=VALUE, checked again here: the client's
	 * checks are not the daemon's to trust. */
	for (size_t i = 0; r == 0 && i < req->n; i++)
		if (!strcmp(req->v[i].key, "meta"))
			r = mlfs_vmeta_parse_arg(&meta, req->v[i].value);
	if (r == 0)
		r = snapshot_inputs(fs, req, wt, &inputs, &ninputs);
	o.inputs = inputs;
	o.ninputs = ninputs;
	if (r == 0)
		r = mlfs_wt_snapshot(wt, &o, &res);
	if (r == 0)
		*snapped = wt;
	free(inputs);
	mlfs_kv_list_release(&meta);
	if (r < 0)
		return reply_error(rep, r);
	/* the jobs that changed the tree so far are in this commit (or
	 * made no change to snapshot) */
	if (!res.no_changes)
		mlfs_lin_wt_done(fs->lin, wt);
	mlfs_id_to_hex(&res.commit, hex);
	r = mlfs_ctl_add(rep, "status", "ok");
	if (r == 0 && (!res.no_changes || res.tagged_head))
		r = mlfs_ctl_add(rep, "commit", hex);
	if (r == 0)
		r = mlfs_ctl_addf(rep, "tagged_head", "%d", res.tagged_head);
	if (r == 0)
		r = mlfs_ctl_addf(rep, "no_changes", "%d", res.no_changes);
	if (r == 0)
		r = mlfs_ctl_addf(rep, "files", "%llu",
				  (unsigned long long)res.files_ingested);
	if (r == 0)
		r = mlfs_ctl_addf(rep, "bytes", "%llu",
				  (unsigned long long)res.bytes_ingested);
	if (r == 0)
		r = mlfs_ctl_addf(rep, "new_chunks", "%llu",
				  (unsigned long long)res.new_chunks);
	if (r == 0)
		r = mlfs_ctl_addf(rep, "new_stored", "%llu",
				  (unsigned long long)res.new_stored_bytes);
	if (r == 0)
		r = mlfs_ctl_addf(rep, "seconds", "%.6f", res.seconds);
	if (r == 0 && !res.no_changes)
		r = mlfs_ctl_addf(rep, "inputs", "%zu", ninputs);
	for (size_t i = 0; r == 0 && i < res.nopen; i++)
		r = mlfs_ctl_add(rep, "open", res.open_files[i]);
	for (size_t i = 0; r == 0 && i < res.nskipped; i++)
		r = mlfs_ctl_add(rep, "skipped", res.skipped[i]);
	if (!res.no_changes)
		mlfs_fs_log(fs, "snapshot %s of %s", hex,
			    mlfs_ctl_get(req, "repo"));
	mlfs_wt_snapshot_result_release(&res);
	return r;
}

static int do_discard(struct mlfs_fs *fs, const struct mlfs_ctl_msg *req,
		      struct mlfs_ctl_msg *rep)
{
	const char **paths = calloc(req->n ? req->n : 1, sizeof(*paths));
	struct mlfs_wt *wt;
	size_t np = 0;
	int r = paths ? request_wt(fs, req, &wt) : -ENOMEM;

	for (size_t i = 0; paths && i < req->n; i++)
		if (!strcmp(req->v[i].key, "path"))
			paths[np++] = req->v[i].value;
	if (r == 0)
		r = mlfs_wt_discard(wt, paths, np);
	free(paths);
	if (r < 0)
		return reply_error(rep, r);
	mlfs_lin_wt_done(fs->lin, wt); /* what its writers did is gone */
	/* what the kernel holds of the tree is the edits': it forgets it
	 * before the client hears that the discard is done, so that no
	 * reader after it meets a page or size of the edits */
	mlfs_fs_wt_invalidate(fs, wt, true);
	mlfs_fs_log(fs, "discarded the edits of %s", mlfs_ctl_get(req, "repo"));
	return mlfs_ctl_add(rep, "status", "ok");
}

static void serve(struct mlfs_ctl_server *sv, int cfd)
{
	struct mlfs_ctl_msg req = { 0 }, rep = { 0 };
	struct timeval tv = { .tv_sec = 10 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct mlfs_wt *snapped = NULL;
	const char *op;
	int r;

	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid()))
		return;
	/* a client that sends nothing does not hold the daemon */
	(void)setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = mlfs_ctl_read(cfd, &req);
	if (r < 0)
		return;
	op = mlfs_ctl_get(&req, "op");
	if (op && !strcmp(op, "snapshot")) {
		/* the record names the client and its command, not us */
		mlfs_audit_set_client(mlfs_ctl_get(&req, "command") ?
				      mlfs_ctl_get(&req, "command") : "",
				      (int64_t)cred.uid);
		r = do_snapshot(sv->fs, &req, &rep, &snapped);
		mlfs_audit_set_client(NULL, -1);
	} else if (op && !strcmp(op, "discard")) {
		r = do_discard(sv->fs, &req, &rep);
	} else if (op && !strcmp(op, "ping")) {
		/* mlfs run: is the mount there to record the job? */
		r = mlfs_ctl_add(&rep, "status", "ok");
		if (r == 0)
			r = mlfs_ctl_addf(&rep, "lineage", "%d",
					  sv->fs->lin != NULL);
	} else {
		mlfs_error_set("unknown request '%s'", op ? op : "");
		r = reply_error(&rep, -EINVAL);
	}
	/* a client gone before the reply has nothing to be told */
	if (r == 0 && mlfs_ctl_write(cfd, &rep) < 0)
		r = -EPIPE;
	mlfs_ctl_release(&req);
	mlfs_ctl_release(&rep);
	/* the removal of large data files (an unlink of 1 GiB takes ~0.3 s)
	 * need not keep the client waiting: the snapshot is committed */
	if (snapped && mlfs_wt_collect_garbage(snapped) < 0)
		mlfs_fs_log(sv->fs, "snapshot: data files left for later: %s",
			    *mlfs_error_detail() ? mlfs_error_detail() :
			    "work.db log sync failed");
}

static void *server_thread(void *arg)
{
	struct mlfs_ctl_server *sv = arg;

	for (;;) {
		struct pollfd p[2] = { { sv->fd, POLLIN, 0 },
				       { sv->stop[0], POLLIN, 0 } };
		int cfd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		cfd = accept4(sv->fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		serve(sv, cfd);
		close(cfd);
	}
	return NULL;
}

int mlfs_ctl_server_start(struct mlfs_fs *fs, const char *store_dir,
			  struct mlfs_ctl_server **out)
{
	struct mlfs_ctl_server *sv = calloc(1, sizeof(*sv));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int r = 0;

	*out = NULL;
	if (!sv)
		return -ENOMEM;
	sv->fs = fs;
	sv->fd = sv->stop[0] = sv->stop[1] = -1;
	if ((size_t)snprintf(sv->path, sizeof(sv->path), "%s/work/%s",
			     store_dir, MLFS_CTL_SOCKET) >= sizeof(sv->path)) {
		mlfs_error_set("store path too long for a control socket");
		r = -ENAMETOOLONG;
		goto out;
	}
	strcpy(sa.sun_path, sv->path);
	if (pipe2(sv->stop, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	sv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv->fd < 0) {
		r = -errno;
		goto out;
	}
	/* a socket left by a killed daemon: we hold the work lock now */
	(void)unlink(sv->path);
	old = umask(077);
	if (bind(sv->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	umask(old);
	if (r == 0 && listen(sv->fd, 8) < 0)
		r = -errno;
	if (r == 0)
		r = -pthread_create(&sv->th, NULL, server_thread, sv);
out:
	if (r < 0) {
		if (sv->fd >= 0) {
			close(sv->fd);
			(void)unlink(sv->path);
		}
		if (sv->stop[0] >= 0) {
			close(sv->stop[0]);
			close(sv->stop[1]);
		}
		free(sv);
		return r;
	}
	*out = sv;
	return 0;
}

void mlfs_ctl_server_stop(struct mlfs_ctl_server *sv)
{
	if (!sv)
		return;
	if (write(sv->stop[1], "x", 1) == 1)
		pthread_join(sv->th, NULL);
	close(sv->fd);
	(void)unlink(sv->path);
	close(sv->stop[0]);
	close(sv->stop[1]);
	free(sv);
}
