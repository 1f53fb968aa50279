/*
 * daemon.c - start-up and shutdown of the FUSE daemon: mountpoint checks,
 * fork with a readiness pipe (the parent returns only once the mount
 * answers), the libfuse session and multi-threaded loop, the log, and
 * unmounting through fusermount3 or umount -l.
 */
#define FUSE_USE_VERSION 312

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "mlfs/worktree.h"
#include "lineage.h"
#include "mount.h"
#include "passthrough.h"

/* Is @name one of the comma-separated options in @opts? */
static bool opt_has(const char *opts, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = opts; p && *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && !strncmp(p, name, len))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/* The working trees take their trees from the daemon's cache. */
static int tree_get(void *ctx, const struct mlfs_id *id,
		    const struct mlfs_tree **out)
{
	struct mlfs_fs *fs = ctx;

	return mlfs_tcache_get(fs->trees, fs->store, id, out);
}

static void tree_put(void *ctx, const struct mlfs_tree *t)
{
	mlfs_tcache_put(((struct mlfs_fs *)ctx)->trees, t);
}

extern char **environ;

/* What the child tells the parent through the readiness pipe. */
struct ready_msg {
	int err;        /* 0 or -errno */
	char why[256];  /* explanation when err < 0 */
};

int mlfs_mount_check_point(const char *mnt)
{
	char parent[4096];
	struct stat st, pst;
	struct dirent *d;
	DIR *dir;
	int r = 0;

	if (stat(mnt, &st) < 0)
		return -errno; /* ENOTCONN: a FUSE mount whose daemon died */
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((size_t)snprintf(parent, sizeof(parent), "%s/..", mnt) >=
	    sizeof(parent))
		return -ENAMETOOLONG;
	if (stat(parent, &pst) < 0)
		return -errno;
	/* a mount point sits on another device than its parent ("/" aside) */
	if (st.st_dev != pst.st_dev)
		return -EBUSY;
	dir = opendir(mnt);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
			r = -ENOTEMPTY;
			break;
		}
	}
	closedir(dir);
	return r;
}

/* Raise the mount's bdi read-ahead (the kernel caps FUSE at 128 KiB by
 * default) so sequential readers get 1 MiB requests. Best effort: only
 * root may write sysfs. */
static void raise_readahead(const char *mnt)
{
	char path[128], val[32];
	struct stat st;
	int fd, k;

	if (stat(mnt, &st) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major(st.st_dev), minor(st.st_dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	k = snprintf(val, sizeof(val), "%u", 4096u);
	if (write(fd, val, (size_t)k) < 0) {
		/* keep the kernel default */
	}
	close(fd);
}

struct ready_ctx {
	const char *mnt;
	int fd; /* write end of the readiness pipe, or -1 */
	struct mlfs_fs *fs;
};

/* Runs beside the session loop: the first stat() of the root is answered
 * only once the kernel's INIT is done, i.e. the mount is usable. */
static void *ready_thread(void *arg)
{
	struct ready_ctx *rc = arg;
	struct ready_msg m;
	struct stat st;

	memset(&m, 0, sizeof(m));
	if (stat(rc->mnt, &st) < 0) {
		m.err = -errno;
		snprintf(m.why, sizeof(m.why), "mount did not answer");
	}
	raise_readahead(rc->mnt);
	/* INIT is done: no_open and no_opendir are set */
	if (!rc->fs->work)
		mlfs_fs_log(rc->fs, "files of versions: %s",
			    rc->fs->no_open ?
			    "opened with no request to the daemon (no-open)" :
			    "opened through the daemon");
	mlfs_fs_log(rc->fs, "directories: %s",
		    rc->fs->no_opendir ?
		    "opened with no request to the daemon (no-opendir)" :
		    "opened through the daemon");
	if (rc->fs->work)
		mlfs_fs_log(rc->fs, "written files: %s",
			    mlfs_pt_granted(rc->fs->pt) ?
			    "kernel passthrough to their data files" :
			    "read and written through the daemon");
	if (rc->fd >= 0) {
		if (write(rc->fd, &m, sizeof(m)) != sizeof(m)) {
			/* the parent died; nothing to tell */
		}
		close(rc->fd);
	}
	return NULL;
}

static void report(int fd, int err, const char *why)
{
	struct ready_msg m;

	memset(&m, 0, sizeof(m));
	m.err = err;
	snprintf(m.why, sizeof(m.why), "%s", why);
	if (fd >= 0 && write(fd, &m, sizeof(m)) != sizeof(m)) {
		/* parent gone */
	}
}

static void lin_log(void *ctx, const char *msg)
{
	mlfs_fs_log(ctx, "%s", msg);
}

/* Open the store, build the session, mount, serve. Reports start-up
 * failures on @ready_fd (or, in the foreground, in @why). */
static int serve(const struct mlfs_mount_opts *o, int ready_fd, int log_fd,
		 char *why, size_t why_size)
{
	struct mlfs_fs fs;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct fuse_loop_config *cfg = NULL;
	struct ready_ctx rc = { .mnt = o->mountpoint, .fd = ready_fd,
				 .fs = &fs };
	struct mlfs_ctl_server *ctl = NULL;
	char *optstr = NULL;
	bool itable = false, mounted = false, handlers = false;
	pthread_t rt;
	int r;

	/* Chunk buffers (up to a few hundred KiB) come and go thousands of
	 * times a second: keep them in the heap instead of mmap/munmap and
	 * trimming (glibc's default trims anything past twice the last freed
	 * mmap), each of which costs page faults and zeroing on reuse. The
	 * chunk cache bounds what the heap holds; an arena still gives back
	 * a free top of more than 16 MiB. Tuning hints: results ignored. */
	(void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 16 << 20);

	memset(&fs, 0, sizeof(fs));
	fs.log_fd = log_fd;
	fs.uid = getuid();
	fs.gid = getgid();
	fs.readahead = o->readahead;
	fs.rdplus_attrs = true;
	/* read-only: the daemon never writes, nor migrates, a store */
	r = mlfs_store_open(o->store_dir, MLFS_STORE_RDONLY, &fs.store);
	if (r == -ESTALE) {
		snprintf(why, why_size, "store '%s' has an older format; run "
			 "'mlfs upgrade' first", o->store_dir);
		goto out;
	}
	if (r < 0) {
		snprintf(why, why_size, "cannot open store '%s'", o->store_dir);
		goto out;
	}
	if (o->cache_size)
		mlfs_store_set_cache_size(fs.store, o->cache_size);
	/* Working trees need a store we may write: without one, branch
	 * heads are shown read-only, as versions. One daemon per store
	 * edits them (STORE/work/lock). */
	if (!opt_has(o->fuse_opts, "ro") &&
	    mlfs_store_open(o->store_dir, 0, &fs.wstore) == 0) {
		/* a daemon just unmounted may still be letting go */
		for (int tries = 0; tries < 60; tries++) {
			r = mlfs_work_open(fs.wstore, MLFS_WORK_EDIT,
					   &fs.work);
			if (r != -EBUSY)
				break;
			usleep(50 * 1000);
		}
		if (r == -EBUSY) {
			snprintf(why, why_size, "%s; unmount it first, or "
				 "mount with -o ro", mlfs_error_detail());
			goto out;
		}
		if (r < 0) {
			mlfs_store_close(fs.wstore);
			fs.wstore = NULL;
		}
	}
	r = mlfs_tcache_new(MLFS_TCACHE_BYTES, &fs.trees);
	if (r < 0) {
		snprintf(why, why_size, "cannot set up the tree cache");
		goto out;
	}
	r = mlfs_itable_init(&fs.itable, fs.trees);
	if (r < 0) {
		snprintf(why, why_size, "cannot set up the inode table");
		goto out;
	}
	if (fs.work) {
		struct mlfs_tree_source src = { tree_get, tree_put, &fs };

		mlfs_work_set_trees(fs.work, &src);
	}
	itable = true;
	if (!o->nolineage && mlfs_lin_new(lin_log, &fs, &fs.lin) < 0) {
		r = -ENOMEM;
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	r = mlfs_prefetch_new(fs.store, &fs.itable, MLFS_MOUNT_PREFETCH_THREADS,
			      &fs.prefetch);
	if (r < 0) {
		snprintf(why, why_size, "cannot start read-ahead threads");
		goto out;
	}

	/* best effort: without it, walks are just slower when cold */
	if (mlfs_dirahead_new(o->store_dir, MLFS_MOUNT_DIRAHEAD_THREADS,
			      fs.trees, &fs.dirahead) < 0)
		fs.dirahead = NULL;

	/* without working trees, ro: the kernel itself refuses writes with
	 * EROFS; with them, the callbacks say EROFS for versions */
	if (asprintf(&optstr, "%sdefault_permissions,fsname=mlfs,"
		     "subtype=mlfs%s%s", fs.work ? "" : "ro,",
		     o->fuse_opts ? "," : "",
		     o->fuse_opts ? o->fuse_opts : "") < 0) {
		optstr = NULL;
		r = -ENOMEM;
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	if (fuse_opt_add_arg(&args, "mlfs") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, optstr) ||
	    (o->debug && fuse_opt_add_arg(&args, "-d"))) {
		r = -ENOMEM;
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	se = fuse_session_new(&args, &mlfs_fuse_ops, sizeof(mlfs_fuse_ops),
			      &fs);
	if (!se) {
		r = -EINVAL;
		snprintf(why, why_size, "bad mount options '%s'", optstr);
		goto out;
	}
	fs.se = se;
	if (fuse_set_signal_handlers(se) < 0) {
		r = -EIO;
		snprintf(why, why_size, "cannot install signal handlers");
		goto out;
	}
	handlers = true;
	if (fuse_session_mount(se, o->mountpoint) < 0) {
		r = -EIO;
		snprintf(why, why_size, "cannot mount on '%s' (see %s)",
			 o->mountpoint, o->foreground ? "above" : "the log");
		goto out;
	}
	mounted = true;
	/* best effort: without it, written files go through the daemon */
	if (fs.work && mlfs_pt_new(se, &fs.pt) < 0)
		fs.pt = NULL;
	if (fs.work && mlfs_ctl_server_start(&fs, o->store_dir, &ctl) < 0)
		/* the mount works; snapshots wait for an unmount */
		mlfs_fs_log(&fs, "cannot listen for commands: %s",
			    *mlfs_error_detail() ? mlfs_error_detail() :
			    "control socket");

	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		r = -ENOMEM;
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	fuse_loop_cfg_set_max_threads(cfg, MLFS_MOUNT_MAX_THREADS);
	fuse_loop_cfg_set_idle_threads(cfg, MLFS_MOUNT_MAX_THREADS / 2);
	fuse_loop_cfg_set_clone_fd(cfg, 0);

	r = -pthread_create(&rt, NULL, ready_thread, &rc);
	if (r < 0) {
		snprintf(why, why_size, "cannot start a thread");
		goto out;
	}
	ready_fd = -1; /* the ready thread reports from now on */
	mlfs_fs_log(&fs, "serving store '%s' on '%s'", o->store_dir,
		    o->mountpoint);
	r = fuse_session_loop_mt(se, cfg);
	pthread_join(rt, NULL);
	{
		uint64_t loads, hits;
		size_t ntrees, tbytes;

		mlfs_tcache_stats(fs.trees, &loads, &hits, &ntrees, &tbytes);
		mlfs_fs_log(&fs, "unmounted '%s' (trees: %llu loaded and "
			    "verified, %llu reused)", o->mountpoint,
			    (unsigned long long)loads,
			    (unsigned long long)hits);
	}
	r = r < 0 ? r : 0;
	why[0] = '\0';
out:
	if (r < 0 && ready_fd >= 0)
		report(ready_fd, r, why);
	mlfs_ctl_server_stop(ctl);
	if (mounted)
		fuse_session_unmount(se);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (se)
		fuse_session_destroy(se);
	mlfs_pt_free(fs.pt); /* the session's I/O used it until now */
	fuse_loop_cfg_destroy(cfg);
	fuse_opt_free_args(&args);
	free(optstr);
	/* stop read-ahead before the files and store it uses go away */
	mlfs_prefetch_free(fs.prefetch);
	mlfs_dirahead_free(fs.dirahead);
	if (itable)
		mlfs_itable_release(&fs.itable);
	mlfs_lin_free(fs.lin);
	/* the working trees' open files are closed by now (releases) */
	mlfs_work_close(fs.work);
	mlfs_store_close(fs.wstore);
	mlfs_tcache_free(fs.trees); /* after the nodes let go of theirs */
	mlfs_store_close(fs.store);
	return r;
}

static int open_log(const struct mlfs_mount_opts *o)
{
	char *path = NULL;
	int fd;

	if (o->log_path)
		return open(o->log_path,
			    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (asprintf(&path, "%s/mount.log", o->store_dir) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	if (fd >= 0 || (errno != EROFS && errno != EACCES && errno != EPERM))
		return fd;
	/* A store we may only read (read-only media, another user's):
	 * log beside other per-user runtime files instead. */
	if (asprintf(&path, "%s/mlfs-mount.%u.log",
		     getenv("XDG_RUNTIME_DIR") ? getenv("XDG_RUNTIME_DIR") :
		     "/tmp", (unsigned)getuid()) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	return fd;
}

int mlfs_mount_start(const struct mlfs_mount_opts *o, char *why_buf,
		     size_t why_size)
{
	struct ready_msg m;
	int pfd[2] = { -1, -1 }, log_fd, null_fd, status;
	ssize_t k;
	pid_t pid;

	why_buf[0] = '\0';
	if (o->foreground) {
		if (o->log_path) {
			log_fd = open_log(o);
			if (log_fd < 0) {
				snprintf(why_buf, why_size,
					 "cannot open log '%s'", o->log_path);
				return -errno;
			}
		} else {
			log_fd = STDERR_FILENO;
		}
		return serve(o, -1, log_fd, why_buf, why_size);
	}

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(why_buf, why_size, "cannot create a pipe");
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		snprintf(why_buf, why_size, "cannot fork");
		return -errno;
	}
	if (pid == 0) {
		char why[256];
		int r;

		close(pfd[0]);
		if (setsid() < 0 || chdir("/") < 0) {
			/* keep going: still a working daemon */
		}
		log_fd = open_log(o);
		if (log_fd < 0) {
			report(pfd[1], -errno, "cannot open the daemon log");
			_exit(1);
		}
		/* libfuse and SQLite may write to stderr: into the log */
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null_fd >= 0) {
			dup2(null_fd, STDIN_FILENO);
			dup2(null_fd, STDOUT_FILENO);
			close(null_fd);
		}
		dup2(log_fd, STDERR_FILENO);
		why[0] = '\0';
		r = serve(o, pfd[1], log_fd, why, sizeof(why));
		_exit(r < 0 ? 1 : 0);
	}

	close(pfd[1]);
	do {
		k = read(pfd[0], &m, sizeof(m));
	} while (k < 0 && errno == EINTR);
	close(pfd[0]);
	if (k != (ssize_t)sizeof(m)) {
		/* the child died before it could say anything */
		waitpid(pid, &status, 0);
		snprintf(why_buf, why_size, "the mount daemon exited during "
			 "start-up (see %s/mount.log)", o->store_dir);
		return -EIO;
	}
	if (m.err < 0) {
		waitpid(pid, &status, 0);
		snprintf(why_buf, why_size, "%s", m.why);
		return m.err;
	}
	return 0;
}

/* Run @argv quietly; returns its exit status or -errno. */
static int run_quiet(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, status;

	r = -posix_spawn_file_actions_init(&fa);
	if (r < 0)
		return r;
	(void)posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					       O_WRONLY, 0);
	(void)posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					       O_WRONLY, 0);
	r = -posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r < 0)
		return r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int mlfs_mount_unmount(const char *mnt)
{
	char *fm[] = { "fusermount3", "-u", "-q", (char *)mnt, NULL };
	char *um[] = { "umount", "-l", (char *)mnt, NULL };

	if (run_quiet(fm) == 0)
		return 0;
	/* fusermount3 refuses some dead mounts; a lazy umount (root)
	 * does not */
	if (run_quiet(um) == 0)
		return 0;
	return -EINVAL;
}
