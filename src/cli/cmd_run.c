/*
 * cmd_run.c - mlfs run: run a command as one job (a process group of its
 * own, docs/lineage.md#jobs) and, when it exits 0, snapshot every --out
 * branch through the mount with what that job read as the inputs, and
 * how it ran as metadata. Everything is checked before the command
 * starts; a failed command snapshots nothing and leaves its edits.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "metaopt.h"
#include "mlfs/control.h"
#include "mlfs/vmeta.h"
#include "mlfs/worktree.h"

static const char usage[] =
	"usage: mlfs run [--out NS/NAME[@BRANCH]]... [-t TAG] [-m MSG]\n"
	"                [--meta KEY=VALUE]... [--metrics FILE] -- CMD "
	"[ARG]...\n\n"
	"Run CMD as one job: its process group, whatever it spawns. When it\n"
	"exits 0, snapshot the working tree of every --out branch (through\n"
	"the running mount) with the versions the job read as its inputs,\n"
	"and run.command, run.exit, run.start, run.duration_s, run.user and\n"
	"run.host as metadata. When it fails, nothing is snapshotted, the\n"
	"edits are kept and mlfs run exits with CMD's status (128+N for\n"
	"signal N). The store must be mounted.\n\n"
	"  --out NS/NAME[@BRANCH]  a branch the job writes (repeatable)\n"
	"  -t, --tag TAG           tag each new version TAG\n"
	"  -m, --message MSG       commit message (default \"run: CMD\")\n"
	"  --meta KEY=VALUE        more metadata (repeatable)\n"
	"  --metrics FILE          metrics the job wrote to FILE (a flat JSON\n"
	"                          object of numbers), read after it exits\n";

/* The job's process group, for the signal handlers. */
static volatile sig_atomic_t job_pgid;

static void forward(int sig)
{
	if (job_pgid > 0)
		(void)kill(-(pid_t)job_pgid, sig);
}

struct run_opts {
	char **outs;
	size_t nouts;
	const char *tag, *message, *metrics;
	struct mlfs_kv_list meta;
	char **cmd;
};

/* Each --out names a branch (not a tag) of an existing repository. */
static int check_outs(struct mlfs_store *s, const struct run_opts *ro)
{
	for (size_t i = 0; i < ro->nouts; i++) {
		struct mlfs_refspec spec;
		struct mlfs_repo repo;
		struct mlfs_id id;
		const char *why;
		int r = mlfs_refspec_parse(ro->outs[i], 0, &spec, &why);

		if (r < 0)
			return cli_usage_error("run", "bad --out '%s': %s",
					       ro->outs[i], why);
		if (spec.has_date || spec.back) {
			mlfs_refspec_release(&spec);
			return cli_usage_error("run", "--out '%s' is not a "
					       "branch", ro->outs[i]);
		}
		r = mlfs_repo_get(s, spec.ns, spec.name, &repo);
		if (r == 0 && *spec.rev &&
		    mlfs_ref_get(s, repo.id, MLFS_REF_TAG, spec.rev, &id) == 0)
			r = cli_error(0, "--out '%s' names a tag: versions "
				      "cannot be changed, only branch heads",
				      ro->outs[i]);
		else if (r == 0 && ro->tag &&
			 mlfs_ref_get(s, repo.id, MLFS_REF_TAG, ro->tag,
				      &id) == 0)
			r = cli_error(0, "tag '%s' already exists in '%s/%s'",
				      ro->tag, spec.ns, spec.name);
		else if (r < 0)
			r = cli_error(0, "no repository '%s/%s'", spec.ns,
				      spec.name);
		mlfs_refspec_release(&spec);
		if (r)
			return r;
	}
	return CLI_OK;
}

/* Is the mount that records lineage running? */
static int check_mount(struct mlfs_store *s)
{
	struct mlfs_ctl_msg req = { 0 }, rep = { 0 };
	int r = mlfs_ctl_add(&req, "op", "ping");
	const char *lin;
	bool off;

	if (r == 0)
		r = mlfs_ctl_call(mlfs_store_dir(s), &req, &rep);
	lin = mlfs_ctl_get(&rep, "lineage");
	off = r == 0 && (!lin || strcmp(lin, "1"));
	mlfs_ctl_release(&req);
	mlfs_ctl_release(&rep);
	if (off)
		return cli_error(0, "the mount records no lineage (mounted "
				 "with -o nolineage)");
	if (r == -ENOENT || r == -ECONNREFUSED)
		return cli_error(0, "the store is not mounted: mlfs run needs "
				 "the mount to see what the job reads (mlfs "
				 "mount MNT)");
	if (r < 0)
		return cli_error(r, "the mount does not answer");
	return CLI_OK;
}

/* Field 22 of /proc/@pid/stat: its start time (clock ticks). */
static int proc_start(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return -EIO;
	buf[k] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			 "%*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 start) != 1)
		return -EIO;
	return 0;
}

/* Make @pgid the terminal's foreground group (we may be in the
 * background: SIGTTOU would stop us). */
static void give_terminal(pid_t pgid)
{
	void (*ttou)(int) = signal(SIGTTOU, SIG_IGN);

	(void)tcsetpgrp(STDIN_FILENO, pgid);
	signal(SIGTTOU, ttou);
}

/* Run @cmd in a process group of its own (in the terminal's foreground
 * when we had it); its wait status into *status, its group into *pgid,
 * the group leader's start time into *start. */
static int spawn_job(char **cmd, int *status, pid_t *pgid,
		     unsigned long long *start)
{
	bool fg = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	struct sigaction sa = { .sa_handler = forward }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	pid_t pid;
	int r = 0;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return cli_error(-errno, "cannot start '%s'", cmd[0]);
	if (pid == 0) {
		(void)setpgid(0, 0);
		if (fg)
			give_terminal(getpid());
		execvp(cmd[0], cmd);
		fprintf(stderr, "mlfs run: cannot run '%s': %s\n", cmd[0],
			strerror(errno));
		_exit(127);
	}
	/* both sides set the group: whichever runs first */
	(void)setpgid(pid, pid);
	*pgid = pid;
	job_pgid = pid;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	/* a zombie's stat is still there: read before the wait */
	if (proc_start(pid, start) < 0)
		*start = 0;
	for (;;) {
		if (waitpid(pid, status, fg ? WUNTRACED : 0) < 0) {
			if (errno == EINTR)
				continue;
			r = cli_error(-errno, "cannot wait for '%s'", cmd[0]);
			break;
		}
		if (!WIFSTOPPED(*status))
			break;
		/* Ctrl-Z stopped the job, which the shell cannot see: stop
		 * too, so it does; once continued (fg), hand the terminal
		 * back to the job and continue it */
		give_terminal(getpgrp());
		(void)raise(SIGSTOP);
		give_terminal(pid);
		(void)kill(-pid, SIGCONT);
	}
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	job_pgid = 0;
	if (fg)
		give_terminal(getpgrp());
	return r;
}

/* The command line as one metadata value: arguments with a space or a
 * quote single-quoted, control characters as '?', cut to the longest
 * value a version holds (at a character boundary). */
static int command_value(char **cmd, struct mlfs_buf *b)
{
	int r = 0;

	for (size_t i = 0; r == 0 && cmd[i]; i++) {
		bool q = !*cmd[i] || strpbrk(cmd[i], " \t'\"\\$*?") != NULL;

		if (i)
			r = mlfs_buf_append(b, " ", 1);
		if (r == 0 && q)
			r = mlfs_buf_append(b, "'", 1);
		for (const char *p = cmd[i]; r == 0 && *p; p++) {
			char ch = (unsigned char)*p < 0x20 || *p == 0x7f ?
				  '?' : *p;

			r = ch == '\'' ? mlfs_buf_append(b, "'\\''", 4) :
					 mlfs_buf_append(b, &ch, 1);
		}
		if (r == 0 && q)
			r = mlfs_buf_append(b, "'", 1);
	}
	if (r == 0 && b->len > MLFS_VMETA_VALUE_MAX) {
		b->len = MLFS_VMETA_VALUE_MAX;
		while (b->len && (b->data[b->len] & 0xc0) == 0x80)
			b->len--;
	}
	return r ? r : mlfs_buf_append(b, "", 1);
}

/* run.* metadata, then --metrics FILE; run.* wins over --meta. */
static int run_meta(struct run_opts *ro, int64_t start, double secs)
{
	struct mlfs_buf cmd = MLFS_BUF_INIT;
	struct passwd *pw = getpwuid(getuid());
	char when[32], dur[32], host[256] = "";
	struct tm tm;
	time_t t = (time_t)start;
	int r;

	if (ro->metrics) {
		r = mlfs_vmeta_read_metrics(&ro->meta, ro->metrics);
		if (r < 0)
			return cli_error(r, "cannot take the metrics of "
					 "'%s'; nothing snapshotted, the edits "
					 "are kept", ro->metrics);
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(dur, sizeof(dur), "%.3f", secs);
	(void)gethostname(host, sizeof(host) - 1);
	r = command_value(ro->cmd, &cmd);
	if (r == 0)
		r = mlfs_kv_list_set(&ro->meta, "run.command",
				     (const char *)cmd.data);
	if (r == 0)
		r = mlfs_kv_list_set(&ro->meta, "run.exit", "0");
	if (r == 0)
		r = mlfs_kv_list_set(&ro->meta, "run.start", when);
	if (r == 0)
		r = mlfs_kv_list_set(&ro->meta, "run.duration_s", dur);
	if (r == 0)
		r = mlfs_kv_list_set(&ro->meta, "run.user",
				     pw ? pw->pw_name : "unknown");
	if (r == 0 && *host)
		r = mlfs_kv_list_set(&ro->meta, "run.host", host);
	mlfs_buf_release(&cmd);
	if (r < 0)
		return cli_error(r, "cannot record how the command ran; "
				 "nothing snapshotted, the edits are kept");
	return CLI_OK;
}

/* Snapshot @out with the inputs of job @job; prints the commit. */
static int snapshot_out(struct mlfs_store *s, const struct run_opts *ro,
			const char *out, const char *job)
{
	struct mlfs_wt_snapshot_opts o = {
		.tag = ro->tag, .message = ro->message, .meta = &ro->meta,
	};
	struct mlfs_wt_snapshot_result res = { 0 };
	char hex[MLFS_ID_HEX_LEN + 1];
	size_t ninputs = 0;
	int r;

	for (int tries = 0;; tries++) {
		r = cli_snapshot_remote(s, out, &o, job, &res, &ninputs);
		if (r != -EAGAIN || tries == 100)
			break;
		usleep(50 * 1000);
	}
	if (r < 0) {
		r = cli_error(r, "snapshot of '%s' failed; the edits are kept",
			      out);
		goto out;
	}
	mlfs_id_to_hex(&res.commit, hex);
	if (res.no_changes && !res.tagged_head) {
		fprintf(stderr, "nothing to snapshot: the job made no change "
			"to '%s'\n", out);
	} else {
		printf("%s %s\n", out, hex);
		if (!res.no_changes)
			fprintf(stderr, "snapshot %.12s of %s: %" PRIu64
				" file(s) written, %zu input(s)\n", hex, out,
				res.files_ingested, ninputs);
	}
	r = CLI_OK;
out:
	mlfs_wt_snapshot_result_release(&res);
	return r;
}

static int parse(struct run_opts *ro, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "tag", required_argument, NULL, 't' },
		{ "message", required_argument, NULL, 'm' },
		{ "meta", required_argument, NULL, 'M' },
		{ "metrics", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why;
	int ch, r = CLI_OK;

	/* "+": options end at CMD, whose own options are its */
	while (r == CLI_OK &&
	       (ch = getopt_long(argc, argv, "+t:m:", opts, NULL)) != -1) {
		if (ch == 'o')
			r = cli_inputs_add(&ro->outs, &ro->nouts, optarg);
		else if (ch == 't')
			ro->tag = optarg;
		else if (ch == 'm')
			ro->message = optarg;
		else if (ch == 'M')
			r = cli_meta_option("run", &ro->meta, false, optarg);
		else if (ch == 'X')
			ro->metrics = optarg; /* the job writes it */
		else
			r = cli_usage_error("run", "unknown option");
	}
	if (r)
		return r;
	if (optind >= argc)
		return cli_usage_error("run", "expected -- CMD [ARG]...");
	if (ro->tag && mlfs_ref_name_check(ro->tag, &why) < 0) {
		struct mlfs_buf q = MLFS_BUF_INIT;
		int k = cli_usage_error("run", "bad tag name '%s': %s",
					cli_quote(&q, ro->tag), why);

		mlfs_buf_release(&q);
		return k;
	}
	ro->cmd = argv + optind;
	return CLI_OK;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	struct run_opts ro = { .meta = MLFS_KV_LIST_INIT };
	struct mlfs_store *s = NULL;
	unsigned long long start = 0;
	char job[64], *msg = NULL;
	double t0;
	int64_t wall;
	pid_t pgid = 0;
	int status = 0, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	r = parse(&ro, argc, argv);
	if (r == CLI_OK)
		r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r == CLI_OK)
		r = check_outs(s, &ro);
	if (r == CLI_OK)
		r = check_mount(s);
	if (r)
		goto out;
	wall = (int64_t)time(NULL);
	t0 = mlfs_now();
	r = spawn_job(ro.cmd, &status, &pgid, &start);
	if (r)
		goto out;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "mlfs run: '%s' was killed by signal %d; "
			"nothing snapshotted, the edits are kept\n", ro.cmd[0],
			WTERMSIG(status));
		r = 128 + WTERMSIG(status);
		goto out;
	}
	if (WEXITSTATUS(status)) {
		fprintf(stderr, "mlfs run: '%s' exited with status %d; "
			"nothing snapshotted, the edits are kept\n", ro.cmd[0],
			WEXITSTATUS(status));
		r = WEXITSTATUS(status);
		goto out;
	}
	r = run_meta(&ro, wall, mlfs_now() - t0);
	if (r)
		goto out;
	if (!ro.message) {
		const struct mlfs_kv *kv = mlfs_kv_list_find(&ro.meta,
							     "run.command");

		if (asprintf(&msg, "run: %s", kv ? kv->value : ro.cmd[0]) < 0) {
			msg = NULL;
			r = cli_error(-ENOMEM, "cannot snapshot");
			goto out;
		}
	}
	if (msg)
		ro.message = msg;
	snprintf(job, sizeof(job), "%d %llu", (int)pgid, start);
	for (size_t i = 0; i < ro.nouts; i++)
		if (snapshot_out(s, &ro, ro.outs[i], job))
			r = CLI_FAILED;
out:
	free(msg);
	free(ro.outs);
	mlfs_kv_list_release(&ro.meta);
	mlfs_store_close(s);
	return r;
}
