/*
 * mlfs.c - main(), the command table, and the helpers every command
 * shares: git-style error messages, opening the store, resolving refs,
 * JSON strings and byte counts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mlfs/audit.h"

static const struct cmd commands[] = {
	{ "init", cmd_init, "create a store" },
	{ "import", cmd_import, "import a file or tree as a new version" },
	{ "tag", cmd_tag, "create, list or delete tags" },
	{ "branch", cmd_branch, "create, list or delete branches" },
	{ "alias", cmd_alias, "point a movable name at a version; history" },
	{ "rollback", cmd_rollback, "move an alias back to its last target" },
	{ "repos", cmd_repos, "list repositories" },
	{ "log", cmd_log, "show the history of a branch or ref" },
	{ "show", cmd_show, "show one version" },
	{ "ls", cmd_ls, "list the files of a version" },
	{ "cat", cmd_cat, "write a file of a version to stdout" },
	{ "export", cmd_export, "write a version to a directory" },
	{ "du", cmd_du, "show logical, stored and unique bytes" },
	{ "fsck", cmd_fsck, "check the store for damage" },
	{ "gc", cmd_gc, "remove pack files no version references" },
	{ "upgrade", cmd_upgrade, "migrate a store made by an older mlfs" },
	{ "mount", cmd_mount, "mount the store with FUSE" },
	{ "umount", cmd_umount, "unmount an mlfs mount" },
	{ "diff", cmd_diff, "show what changed between two versions" },
	{ "snapshot", cmd_snapshot, "make a branch's working tree a version" },
	{ "status", cmd_status, "show the edits of working trees" },
	{ "discard", cmd_discard, "drop the edits of a working tree" },
	{ "audit", cmd_audit, "show or verify the log of ref changes" },
	{ "lineage", cmd_lineage, "show what a version was made from" },
	{ "meta", cmd_meta, "show or change the metadata of a version" },
	{ "metrics", cmd_metrics, "compare the metrics of versions" },
	{ "run", cmd_run, "run a job and snapshot what it wrote" },
	{ "remote", cmd_remote, "add, remove or list S3 remotes" },
	{ "push", cmd_push, "upload versions and refs to a remote" },
	{ "fetch", cmd_fetch, "bring a remote's versions (data stays there)" },
	{ "pull", cmd_pull, "fetch, then fast-forward branches" },
	{ "clone", cmd_clone, "make a store from a remote" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mlfs [--store DIR] <command> [<args>]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(commands); i++)
		fprintf(f, "   %-8s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\nThe store is --store DIR, else $MLFS_STORE, else "
		   "/var/lib/mlfs (root) or ~/.local/share/mlfs.\n"
		   "'mlfs <command> --help' describes a command; see "
		   "also mlfs(1).\n");
}

static void print_detail(void)
{
	const char *d = mlfs_error_detail();

	if (d[0])
		fprintf(stderr, " (%s)", d);
}

int cli_error(int r, const char *fmt, ...)
{
	va_list ap;

	fputs("mlfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (r < 0)
		fprintf(stderr, ": %s", strerror(-r));
	print_detail();
	fputc('\n', stderr);
	mlfs_error_clear();
	return CLI_FAILED;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mlfs %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'mlfs %s --help'\n", cmd);
	return CLI_USAGE;
}

bool cli_want_help(int argc, char **argv, const char *usage_text)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return true;
		}
	}
	return false;
}

/* A store the library could not read for lack of permission: it named
 * the file ("cannot read store config '...'"); say what would help. */
static void cannot_read(int r)
{
	fprintf(stderr, "mlfs: %s: %s; ask the store's owner to add you to "
		"its group (docs/design.md#sharing-a-store)\n",
		mlfs_error_detail(), strerror(-r));
	mlfs_error_clear();
}

int cli_open_store(struct cli *c, unsigned flags, struct mlfs_store **out)
{
	char *dir = c->store_dir ? strdup(c->store_dir) :
		    mlfs_store_default_dir();
	struct stat st;
	int r;

	if (!dir)
		return cli_error(-ENOMEM, "cannot find the store");
	mlfs_error_clear();
	r = mlfs_store_open(dir, flags, out);
	if (r == -ENOENT)
		fprintf(stderr, "mlfs: no mlfs store at '%s'\n"
			"hint: create one with 'mlfs init --store %s', or "
			"point --store or MLFS_STORE at an existing one\n",
			dir, dir);
	else if (r == -EPROTONOSUPPORT)
		cli_error(0, "store '%s' was made by a newer mlfs; upgrade "
			  "mlfs to use it", dir);
	else if (r == -ESTALE)
		cli_error(0, "store '%s' was made by an older mlfs; run "
			  "'mlfs upgrade --store %s' to upgrade it", dir, dir);
	else if ((r == -EACCES || r == -EPERM) &&
		 !strncmp(mlfs_error_detail(), "cannot read ", 12))
		cannot_read(r);
	else if (r == -ENOLCK)
		cli_error(0, "cannot read store '%s' safely: you may not "
			  "create its lock file mlfs.db-shm, and its owner "
			  "could be writing; ask them to run any mlfs command "
			  "on it once (docs/design.md#sharing-a-store)", dir);
	else if (r == -EROFS || r == -EACCES || r == -EPERM)
		cli_error(r, "cannot write to store '%s' (this command "
			  "changes the store)", dir);
	else if (r == -EBADMSG)
		cli_error(r, "store '%s' is damaged (config or database)",
			  dir);
	else if (r < 0)
		cli_error(r, "cannot open store '%s'", dir);
	/* A store shared with a group (a setgid, group-readable
	 * directory): the packs this command writes must be readable by
	 * the group too, whatever the user's umask. */
	if (r == 0 && !(flags & MLFS_STORE_RDONLY) && stat(dir, &st) == 0 &&
	    (st.st_mode & (S_ISGID | S_IRGRP)) == (S_ISGID | S_IRGRP))
		umask(umask(0) & ~(mode_t)S_IRGRP);
	free(dir);
	return r < 0 ? CLI_FAILED : CLI_OK;
}

/* cli_resolve, and with @unborn_ok an unborn default branch is no error
 * (res->unborn set, @spec kept for the caller). */
static int resolve(struct mlfs_store *s, const char *arg, bool allow_path,
		   bool unborn_ok, struct mlfs_refspec *spec,
		   struct mlfs_resolved *res)
{
	struct mlfs_id *cand = NULL;
	size_t ncand = 0;
	const char *why;
	int r;

	/* Every command that reads a version takes "@REMOTE/BRANCH" */
	r = mlfs_refspec_parse(arg, (allow_path ? MLFS_REFSPEC_PATH : 0) |
			       MLFS_REFSPEC_REMOTE, spec, &why);
	if (r == -EINVAL) {
		fprintf(stderr, "mlfs: invalid reference '%s': %s\n", arg,
			why);
		return CLI_USAGE;
	}
	if (r < 0)
		return cli_error(r, "cannot parse '%s'", arg);
	mlfs_error_clear();
	/* "@X/Y...": remote X's branch, or rev X and a path (names.h) */
	r = mlfs_refspec_settle(s, spec);
	if (r < 0) {
		mlfs_refspec_release(spec);
		return cli_error(r, "cannot resolve '%s'", arg);
	}
	r = mlfs_resolve(s, spec, res, &cand, &ncand);
	if (r == -ENOENT && res->unborn && unborn_ok) {
		mlfs_error_clear();
		return CLI_OK;
	}
	if (r == -ENOTUNIQ) {
		fprintf(stderr, "mlfs: commit prefix '%s' is ambiguous; "
			"candidates:\n", spec->rev);
		for (size_t i = 0; i < ncand; i++) {
			char hex[MLFS_ID_HEX_LEN + 1];

			mlfs_id_to_hex(&cand[i], hex);
			fprintf(stderr, "  %s\n", hex);
		}
		free(cand);
		mlfs_error_clear();
		mlfs_refspec_release(spec);
		return CLI_USAGE;
	}
	if (r < 0) {
		const char *d = mlfs_error_detail();

		if (r == -ENOENT && d[0])
			fprintf(stderr, "mlfs: %s\n", d);
		else if (r == -EINVAL && d[0])
			fprintf(stderr, "mlfs: invalid reference '%s': %s\n",
				arg, d);
		else
			cli_error(r, "cannot resolve '%s'", arg);
		mlfs_error_clear();
		mlfs_refspec_release(spec);
		return r == -EINVAL ? CLI_USAGE : CLI_FAILED;
	}
	return CLI_OK;
}

int cli_resolve(struct mlfs_store *s, const char *arg, bool allow_path,
		struct mlfs_refspec *spec, struct mlfs_resolved *res)
{
	return resolve(s, arg, allow_path, false, spec, res);
}

int cli_resolve_unborn(struct mlfs_store *s, const char *arg,
		       bool allow_path, struct mlfs_refspec *spec,
		       struct mlfs_resolved *res)
{
	return resolve(s, arg, allow_path, true, spec, res);
}

int cli_lookup(struct mlfs_store *s, const char *arg,
	       struct mlfs_entry_copy *ent)
{
	struct mlfs_commit commit = { 0 };
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	int r = cli_resolve(s, arg, true, &spec, &res);

	memset(ent, 0, sizeof(*ent));
	if (r)
		return r;
	r = mlfs_commit_get(s, &res.commit, &commit);
	if (r == 0)
		r = mlfs_tree_lookup_path(s, &commit.tree, spec.path, ent);
	mlfs_commit_release(&commit);
	mlfs_refspec_release(&spec);
	return r < 0 ? cli_error(r, "cannot read '%s'", arg) : CLI_OK;
}

void cli_json_str(FILE *f, const char *s)
{
	const unsigned char *end = (const unsigned char *)s + strlen(s);

	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t k = 1;

		if (*p >= 0x80 && (k = mlfs_utf8_seq_len(p, (size_t)(end - p))))
			fwrite(p, 1, k, f);
		else if (*p >= 0x80) /* not UTF-8: surrogate-escaped */
			fprintf(f, "\\udc%02x", *p);
		else if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
		if (k > 1)
			p += k - 1;
	}
	fputc('"', f);
}

const char *cli_human_bytes(unsigned long long n, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", n);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
	return buf;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	int i = 1, w = 1;

	/* The whole command line, --store included, goes in every audit
	 * record this process appends (the mount daemon's too). */
	mlfs_audit_set_command(argc, argv);
	/* --store may stand before or after the command: take it out of
	 * argv wherever it is (up to "--"), so commands never see it. */
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--")) {
			while (k < argc)
				argv[w++] = argv[k++];
			break;
		}
		if (!strcmp(argv[k], "--store")) {
			if (k + 1 >= argc) {
				fprintf(stderr, "mlfs: --store needs a "
					"directory\n");
				return CLI_USAGE;
			}
			c.store_dir = argv[++k];
			continue;
		}
		if (!strncmp(argv[k], "--store=", 8)) {
			c.store_dir = argv[k] + 8;
			continue;
		}
		argv[w++] = argv[k];
	}
	argc = w;
	argv[argc] = NULL;
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
	    !strcmp(argv[i], "help")) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[i], "--version")) {
		printf("mlfs %s\n", MLFS_VERSION_STRING);
		return CLI_OK;
	}
	for (size_t k = 0; k < MLFS_ARRAY_SIZE(commands); k++)
		if (!strcmp(argv[i], commands[k].name))
			return commands[k].fn(&c, argc - i, argv + i);
	fprintf(stderr, "mlfs: '%s' is not an mlfs command; see 'mlfs "
		"--help'\n", argv[i]);
	return CLI_USAGE;
}
