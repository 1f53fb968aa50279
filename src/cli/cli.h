/*
 * cli.h - shared pieces of the mlfs command line: the command table
 * signature, error reporting with git-style wording, store opening and
 * reference resolution with the messages every command uses.
 */
#ifndef MLFS_CLI_H
#define MLFS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"

/* Exit codes. */
#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2

#define MLFS_VERSION_STRING "0.1.0"

struct cli {
	const char *store_dir; /* --store, or NULL: default location */
	bool json;             /* --json was given (commands that support it) */
};

struct cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *summary;
};

/* Print "mlfs: <msg>: strerror(-r)" (r < 0) or "mlfs: <msg>" (r == 0) to
 * stderr, append mlfs_error_detail() when set. Returns CLI_FAILED. */
int cli_error(int r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print "mlfs <cmd>: <msg>" and a usage hint; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Open the store (--store, $MLFS_STORE, default), with the message that
 * says how to create one when it is missing. Returns CLI_OK or an exit
 * code (already reported). */
int cli_open_store(struct cli *c, unsigned flags, struct mlfs_store **out);

/* Parse and resolve "ns/name[@ref][/path]"; reports errors (exit 2 for a
 * malformed reference, 1 for unknown repo/ref). */
int cli_resolve(struct mlfs_store *s, const char *arg, bool allow_path,
		struct mlfs_refspec *spec, struct mlfs_resolved *res);
/* As cli_resolve, but a repository with no commits yet is CLI_OK with
 * res->unborn set (and res->commit zero): for listings, which are then
 * empty. Release @spec on CLI_OK either way. */
int cli_resolve_unborn(struct mlfs_store *s, const char *arg,
		       bool allow_path, struct mlfs_refspec *spec,
		       struct mlfs_resolved *res);

/* Resolve "ns/name[@ref][/path]" and look up the entry it names (the
 * version's root without a path); reports errors. Release @ent with
 * mlfs_entry_copy_release (also after a failure). */
int cli_lookup(struct mlfs_store *s, const char *arg,
	       struct mlfs_entry_copy *ent);

/* Print @s as a JSON string literal (with quotes) to @f. */
void cli_json_str(FILE *f, const char *s);
/* @name quoted for text output as git quotes paths (docs/cli.md, names)
 * into @b (reset first, NUL-terminated; the caller releases it). Returns
 * b->data, or @name itself if out of memory. */
const char *cli_quote(struct mlfs_buf *b, const char *name);
/* Print @name to @f, quoted as cli_quote does. */
void cli_put_name(FILE *f, const char *name);
/* Format a byte count as "1.5 MiB" into @buf. */
const char *cli_human_bytes(unsigned long long n, char *buf, size_t size);

/* Handle "--help"/"-h" anywhere in argv: print @usage to stdout and
 * return true. */
bool cli_want_help(int argc, char **argv, const char *usage);

struct mlfs_input;

/* (inputs.c) Resolve each "NS/NAME@REF" of @args to an input named by
 * hand (*out malloc'd, @n entries; NULL for none). Reports errors: exit
 * 2 for a malformed reference, 1 for an unknown one. */
int cli_inputs_resolve(struct mlfs_store *s, char *const *args, size_t n,
		       struct mlfs_input **out);
/* Append @arg (borrowed) to the list *@args of *@n (for repeated
 * --input). Returns CLI_OK or CLI_FAILED (reported). */
int cli_inputs_add(char ***args, size_t *n, char *arg);

struct mlfs_wt_snapshot_opts;
struct mlfs_wt_snapshot_result;

/* (cmd_work.c) Ask the mount that holds the working trees to snapshot
 * @arg ("ns/name[@branch]") with @o (its tag, message and inputs); @job
 * ("<pgid> <start>", may be NULL) limits the inputs the mount saw to
 * that job's (mlfs run). *@ninputs (may be NULL) gets the number of
 * inputs recorded. Returns 0, -EAGAIN (the mount is going away: retry),
 * -EBUSY (it does not answer), the mount's -errno (detail set). */
int cli_snapshot_remote(struct mlfs_store *s, const char *arg,
			const struct mlfs_wt_snapshot_opts *o, const char *job,
			struct mlfs_wt_snapshot_result *res, size_t *ninputs);

/* Commands, one file each (src/cli/cmd_<name>.c). */
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_tag(struct cli *c, int argc, char **argv);
int cmd_alias(struct cli *c, int argc, char **argv);
int cmd_rollback(struct cli *c, int argc, char **argv);
int cmd_branch(struct cli *c, int argc, char **argv);
int cmd_repos(struct cli *c, int argc, char **argv);
int cmd_log(struct cli *c, int argc, char **argv);
int cmd_show(struct cli *c, int argc, char **argv);
int cmd_ls(struct cli *c, int argc, char **argv);
int cmd_cat(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_du(struct cli *c, int argc, char **argv);
int cmd_fsck(struct cli *c, int argc, char **argv);
int cmd_gc(struct cli *c, int argc, char **argv);
int cmd_upgrade(struct cli *c, int argc, char **argv);
int cmd_mount(struct cli *c, int argc, char **argv);
int cmd_umount(struct cli *c, int argc, char **argv);
int cmd_diff(struct cli *c, int argc, char **argv);
int cmd_snapshot(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_discard(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_lineage(struct cli *c, int argc, char **argv);
int cmd_meta(struct cli *c, int argc, char **argv);
int cmd_metrics(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_remote(struct cli *c, int argc, char **argv);
int cmd_push(struct cli *c, int argc, char **argv);
int cmd_fetch(struct cli *c, int argc, char **argv);
int cmd_pull(struct cli *c, int argc, char **argv);
int cmd_clone(struct cli *c, int argc, char **argv);

#endif
