/*
 * cmd_work.c - the commands of working trees: mlfs snapshot (the working
 * tree of a branch becomes its new head), mlfs status (what is not yet in
 * a version) and mlfs discard (drop the edits). They edit STORE/work
 * themselves when no mount holds them; while a mount of the store runs,
 * snapshot and discard are sent to it (control.h) and status reads what
 * it has committed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "metaopt.h"
#include "mlfs/alias.h"
#include "mlfs/audit.h"
#include "mlfs/control.h"
#include "mlfs/worktree.h"

/* open_wt: a mount holds the working trees (send it the request). */
#define WT_MOUNTED 100

static const char snapshot_usage[] =
	"usage: mlfs snapshot NS/NAME[@BRANCH] [-t TAG] [-m MSG]\n"
	"                     [--input NS/NAME@REF]... [--meta KEY=VALUE]...\n"
	"                     [--metrics FILE]... [--json]\n\n"
	"Make the working tree of the branch (the default branch without\n"
	"@BRANCH) its new head commit, parent the previous head, and print\n"
	"the commit id. Only what changed since the last snapshot is read.\n"
	"With no changes, says so and makes no commit (exit 0).\n"
	"  -t, --tag TAG      also tag the new version\n"
	"  -m, --message MSG  the commit message (default \"snapshot\")\n"
	"      --input REF    record version REF as an input (lineage); the\n"
	"                     mount adds the versions its writers read\n"
	"      --meta K=V     version metadata of the new commit (repeatable)\n"
	"      --metrics FILE metrics from a flat JSON object of numbers\n";

static const char status_usage[] =
	"usage: mlfs status [NS/NAME[@BRANCH]] [--json]\n\n"
	"Show what the working tree of the branch changed against its head:\n"
	"A added, M modified, D deleted, R renamed, T type changed, P mode\n"
	"changed, with sizes. Without an argument: every branch with edits.\n";

static const char discard_usage[] =
	"usage: mlfs discard NS/NAME[@BRANCH] [PATH...]\n\n"
	"Drop the edits of the branch's working tree: all of them, or those\n"
	"at and below each PATH (a path of the tree, as the mount shows it\n"
	"below NS/NAME), which then reads as the head has it again (or is\n"
	"gone, if the head has no such path). Open files keep their bytes\n"
	"until closed.\n";

/* Parse "ns/name[@branch]" (a branch by name only). */
static int parse_branch(const char *cmd, const char *arg,
			struct mlfs_refspec *spec)
{
	const char *why;

	memset(spec, 0, sizeof(*spec));
	if (mlfs_refspec_parse(arg, 0, spec, &why) < 0)
		return cli_usage_error(cmd, "bad reference '%s': %s", arg,
				       why);
	if (spec->has_date || spec->back) {
		mlfs_refspec_release(spec);
		return cli_usage_error(cmd, "'%s' is not a branch: only a "
				       "branch head has a working tree", arg);
	}
	return CLI_OK;
}

/* Open the working trees for editing and the one of @spec. */
static int open_wt(struct cli *c, const char *arg, bool edit,
		   const struct mlfs_refspec *spec, struct mlfs_store **s,
		   struct mlfs_work **w, struct mlfs_wt **wt)
{
	struct mlfs_id tag;
	struct mlfs_repo repo;
	int r = *s ? CLI_OK : cli_open_store(c, edit ? 0 : MLFS_STORE_RDONLY, s);

	if (r)
		return r;
	/* Held by a mount: ask it, unless it is going away (unmounted, its
	 * socket gone, the lock not yet let go): then wait for it. */
	for (int tries = 0;; tries++) {
		char sock[PATH_MAX];
		struct stat st;

		r = mlfs_work_open(*s, edit ? MLFS_WORK_EDIT : 0, w);
		if (r != -EBUSY)
			break;
		snprintf(sock, sizeof(sock), "%s/work/%s", mlfs_store_dir(*s),
			 MLFS_CTL_SOCKET);
		if (stat(sock, &st) == 0 || tries == 100)
			return WT_MOUNTED;
		usleep(50 * 1000);
	}
	if (r < 0)
		return cli_error(r, "cannot open the working trees");
	if (!*w) {
		*wt = NULL;
		return CLI_OK;
	}
	if (*spec->rev && mlfs_repo_get(*s, spec->ns, spec->name, &repo) == 0 &&
	    mlfs_ref_get(*s, repo.id, MLFS_REF_TAG, spec->rev, &tag) == 0)
		return cli_error(0, "'%s' names a tag: versions cannot be "
				 "changed, only branch heads", arg);
	if (*spec->rev && mlfs_repo_get(*s, spec->ns, spec->name, &repo) == 0 &&
	    mlfs_alias_get(*s, repo.id, spec->rev, &tag) == 0)
		return cli_error(0, "'%s' names an alias: versions cannot be "
				 "changed, only branch heads", arg);
	r = mlfs_wt_get(*w, spec->ns, spec->name, *spec->rev ? spec->rev : NULL,
			wt);
	if (r == -ENOENT && !*mlfs_error_detail())
		return cli_error(0, "no repository '%s/%s'", spec->ns,
				 spec->name);
	if (r < 0)
		return cli_error(r, "cannot open the working tree of '%s'",
				 arg);
	return CLI_OK;
}

/* -EAGAIN when no mount listens on the store's socket (it is gone, or
 * going: its lock is let go right after), else 0. */
static int socket_gone(const char *store_dir)
{
	char sock[PATH_MAX];
	struct stat st;

	snprintf(sock, sizeof(sock), "%s/work/%s", store_dir,
		 MLFS_CTL_SOCKET);
	return stat(sock, &st) == 0 ? 0 : -EAGAIN;
}

/* Ask the mount that holds the working trees; a reply of failure is
 * returned as its -errno with the detail set. */
static int call_mount(struct mlfs_store *s, struct mlfs_ctl_msg *req,
		      struct mlfs_ctl_msg *rep)
{
	const char *st, *e;
	int r = mlfs_ctl_call(mlfs_store_dir(s), req, rep);

	if (r == -ENOENT || r == -ECONNREFUSED)
		return -EAGAIN; /* the mount is going away: try again */
	if (r < 0) {
		mlfs_error_set("the working trees are held by a running mount "
			       "that does not answer (%s)", strerror(-r));
		return -EBUSY;
	}
	st = mlfs_ctl_get(rep, "status");
	if (st && !strcmp(st, "ok"))
		return 0;
	e = mlfs_ctl_get(rep, "errno");
	mlfs_error_set("%s", mlfs_ctl_get(rep, "detail") ?
		       mlfs_ctl_get(rep, "detail") : "");
	r = e ? atoi(e) : 0;
	return r > 0 && r < 4096 ? -r : -EIO;
}

static uint64_t u64_of(const struct mlfs_ctl_msg *m, const char *key)
{
	const char *v = mlfs_ctl_get(m, key);

	return v ? strtoull(v, NULL, 10) : 0;
}

int cli_snapshot_remote(struct mlfs_store *s, const char *arg,
			const struct mlfs_wt_snapshot_opts *o, const char *job,
			struct mlfs_wt_snapshot_result *res, size_t *ninputs)
{
	struct mlfs_ctl_msg req = { 0 }, rep = { 0 };
	const char *user = getenv("USER");
	int r = mlfs_ctl_add(&req, "op", "snapshot");

	if (r == 0)
		r = mlfs_ctl_add(&req, "repo", arg);
	if (r == 0 && o->tag)
		r = mlfs_ctl_add(&req, "tag", o->tag);
	if (r == 0 && o->message)
		r = mlfs_ctl_add(&req, "message", o->message);
	if (r == 0 && user && *user)
		r = mlfs_ctl_add(&req, "author", user);
	/* for the audit record the mount appends */
	if (r == 0)
		r = mlfs_ctl_add(&req, "command", mlfs_audit_command());
	for (size_t i = 0; r == 0 && i < o->ninputs; i++) {
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(&o->inputs[i].commit, hex);
		r = mlfs_ctl_add(&req, "input", hex);
	}
	if (r == 0 && job)
		r = mlfs_ctl_add(&req, "job", job);
	/* Keys hold no '=', so the daemon splits at the first one. */
	for (size_t i = 0; r == 0 && o->meta && i < o->meta->n; i++)
		r = mlfs_ctl_addf(&req, "meta", "%s=%s", o->meta->v[i].key,
				  o->meta->v[i].value);
	if (r == 0)
		r = call_mount(s, &req, &rep);
	if (r == 0) {
		const char *hex = mlfs_ctl_get(&rep, "commit");

		res->no_changes = u64_of(&rep, "no_changes") != 0;
		res->tagged_head = u64_of(&rep, "tagged_head") != 0;
		if (hex && mlfs_id_from_hex(hex, &res->commit) < 0)
			r = -EBADMSG;
		res->files_ingested = u64_of(&rep, "files");
		res->bytes_ingested = u64_of(&rep, "bytes");
		res->new_chunks = u64_of(&rep, "new_chunks");
		res->new_stored_bytes = u64_of(&rep, "new_stored");
		res->seconds = mlfs_ctl_get(&rep, "seconds") ?
			       atof(mlfs_ctl_get(&rep, "seconds")) : 0;
		if (ninputs)
			*ninputs = u64_of(&rep, "inputs");
		for (size_t i = 0; r == 0 && i < rep.n; i++) {
			bool open = !strcmp(rep.v[i].key, "open");
			char ***list = open ? &res->open_files : &res->skipped;
			size_t *n = open ? &res->nopen : &res->nskipped;
			char **nv;

			if (!open && strcmp(rep.v[i].key, "skipped"))
				continue;
			nv = realloc(*list, (*n + 1) * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*list = nv;
			nv[*n] = rep.v[i].value;
			rep.v[i].value = NULL;
			(*n)++;
		}
	}
	mlfs_ctl_release(&req);
	mlfs_ctl_release(&rep);
	return r;
}

int cmd_snapshot(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "message", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "input", required_argument, NULL, 'i' },
		{ "meta", required_argument, NULL, 'M' },
		{ "metrics", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_kv_list meta = MLFS_KV_LIST_INIT;
	struct mlfs_wt_snapshot_opts o = { .meta = &meta };
	struct mlfs_wt_snapshot_result res = { 0 };
	struct mlfs_input *inputs = NULL;
	char **input_args = NULL;
	size_t ninput_args = 0, ninputs = 0;
	struct mlfs_refspec spec = { 0 };
	struct mlfs_store *s = NULL;
	struct mlfs_work *w = NULL;
	struct mlfs_wt *wt = NULL;
	char hex[MLFS_ID_HEX_LEN + 1], b[32];
	const char *why;
	bool have_spec = false;
	int ch, r;

	if (cli_want_help(argc, argv, snapshot_usage))
		return CLI_OK;
	r = CLI_OK;
	while ((ch = getopt_long(argc, argv, "t:m:", opts, NULL)) != -1) {
		r = CLI_OK;
		if (ch == 't')
			o.tag = optarg;
		else if (ch == 'm')
			o.message = optarg;
		else if (ch == 'j')
			c->json = true;
		else if (ch == 'i')
			r = cli_inputs_add(&input_args, &ninput_args, optarg);
		else if (ch == 'M' || ch == 'X')
			r = cli_meta_option("snapshot", &meta, ch == 'X',
					    optarg);
		else
			r = cli_usage_error("snapshot", "unknown option");
		if (r)
			goto out;
	}
	if (optind + 1 != argc) {
		r = cli_usage_error("snapshot", "expected one NS/NAME"
				    "[@BRANCH]");
		goto out;
	}
	if (o.tag && mlfs_ref_name_check(o.tag, &why) < 0) {
		struct mlfs_buf q = MLFS_BUF_INIT;

		r = cli_usage_error("snapshot", "bad tag name '%s': %s",
				    cli_quote(&q, o.tag), why);
		mlfs_buf_release(&q);
		goto out;
	}
	r = parse_branch("snapshot", argv[optind], &spec);
	if (r)
		goto out;
	have_spec = true;
	/* inputs are commits before anything is written */
	if (ninput_args) {
		r = cli_open_store(c, 0, &s);
		if (r == CLI_OK)
			r = cli_inputs_resolve(s, input_args, ninput_args,
					       &inputs);
		if (r)
			goto out;
		o.inputs = inputs;
		o.ninputs = ninputs = mlfs_inputs_merge(inputs, ninput_args);
	}
	for (int tries = 0;; tries++) {
		r = open_wt(c, argv[optind], true, &spec, &s, &w, &wt);
		if (r == WT_MOUNTED)
			r = cli_snapshot_remote(s, argv[optind], &o, NULL,
						&res, &ninputs);
		else if (r)
			goto out;
		else
			r = mlfs_wt_snapshot(wt, &o, &res);
		if (r != -EAGAIN || tries == 100)
			break;
		usleep(50 * 1000); /* an unmounted daemon letting go */
	}
	if (r == -EAGAIN) {
		mlfs_error_set("the mount that holds the working trees does "
			       "not answer");
		r = -EBUSY;
	}
	if (r == -ESTALE) {
		char moved[1024];

		snprintf(moved, sizeof(moved), "%s", mlfs_error_detail());
		mlfs_error_clear(); /* said once, not again after */
		r = cli_error(0, "%s; the edits are kept (see 'mlfs status')",
			      moved);
		goto out;
	}
	if (r == -EEXIST) {
		/* the tag exists, or an alias has the name: a detail
		 * says which, and is the whole message */
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", mlfs_error_detail());
		mlfs_error_clear();
		r = msg[0] ? cli_error(0, "%s", msg) :
			     cli_error(0, "tag '%s' already exists in '%s/%s'",
				       o.tag, spec.ns, spec.name);
		goto out;
	}
	if (r < 0) {
		r = cli_error(r, "snapshot of '%s' failed; the edits are kept",
			      argv[optind]);
		goto out;
	}
	mlfs_id_to_hex(&res.commit, hex);
	if (c->json) {
		printf("{\"commit\": %s%s%s, \"no_changes\": %s, "
		       "\"tagged_head\": %s, "
		       "\"files_ingested\": %" PRIu64 ", \"bytes_ingested\": %"
		       PRIu64 ", \"new_chunks\": %" PRIu64
		       ", \"new_stored_bytes\": %" PRIu64 ", \"seconds\": %.3f, "
		       "\"open_files\": [",
		       res.no_changes && !res.tagged_head ? "" : "\"",
		       res.no_changes && !res.tagged_head ? "null" : hex,
		       res.no_changes && !res.tagged_head ? "" : "\"",
		       res.no_changes ? "true" : "false",
		       res.tagged_head ? "true" : "false", res.files_ingested,
		       res.bytes_ingested, res.new_chunks, res.new_stored_bytes,
		       res.seconds);
		for (size_t i = 0; i < res.nopen; i++) {
			if (i)
				printf(", ");
			cli_json_str(stdout, res.open_files[i]);
		}
		printf("], \"skipped\": [");
		for (size_t i = 0; i < res.nskipped; i++) {
			if (i)
				printf(", ");
			cli_json_str(stdout, res.skipped[i]);
		}
		printf("], \"inputs\": %zu}\n", res.no_changes ? 0 : ninputs);
	} else if (res.no_changes && res.tagged_head) {
		printf("nothing to snapshot: the working tree of '%s' has no "
		       "changes; tagged its head %.12s as '%s'\n", argv[optind],
		       hex, o.tag);
	} else if (res.no_changes) {
		printf("nothing to snapshot: the working tree of '%s' has no "
		       "changes\n", argv[optind]);
	} else {
		printf("%s\n", hex);
		fprintf(stderr, "snapshot %.12s of %s: %" PRIu64 " file(s) "
			"read (%s), %" PRIu64 " new chunk(s), %.2f s\n", hex,
			argv[optind], res.files_ingested,
			cli_human_bytes(res.bytes_ingested, b, sizeof(b)),
			res.new_chunks, res.seconds);
		if (ninputs)
			fprintf(stderr, "inputs: %zu version(s) recorded "
				"(mlfs lineage)\n", ninputs);
		for (size_t i = 0; i < res.nopen; i++) {
			fprintf(stderr, "note: '");
			cli_put_name(stderr, res.open_files[i]);
			fprintf(stderr, "' was open for writing: its content "
				"at this moment was taken\n");
		}
		for (size_t i = 0; i < res.nskipped; i++) {
			fprintf(stderr, "note: '");
			cli_put_name(stderr, res.skipped[i]);
			fprintf(stderr, "' is a FIFO, socket or device: not "
				"kept in versions, left out\n");
		}
	}
	/* No commit, so nothing to hold the metadata: say where it goes. */
	if (res.no_changes && meta.n)
		fprintf(stderr, "note: no version was made, so --meta and "
			"--metrics were not applied ('mlfs meta %s KEY=VALUE' "
			"sets metadata on the head)\n", argv[optind]);
	r = CLI_OK;
out:
	free(inputs);
	free(input_args);
	mlfs_wt_snapshot_result_release(&res);
	mlfs_kv_list_release(&meta);
	if (have_spec)
		mlfs_refspec_release(&spec);
	mlfs_work_close(w);
	mlfs_store_close(s);
	return r;
}

static const char *type_name(int t)
{
	return t == MLFS_ENTRY_DIR ? "dir" : t == MLFS_ENTRY_SYMLINK ?
	       "symlink" : t == MLFS_WT_SPECIAL ? "special" : "file";
}

static void print_status(struct cli *c, const char *what,
			 const struct mlfs_wt_status *st, bool *first)
{
	char hex[MLFS_ID_HEX_LEN + 1], b[32];

	if (c->json) {
		printf("%s{\"branch\": ", *first ? "" : ", ");
		cli_json_str(stdout, what);
		printf(", \"branch_moved\": %s, \"snapshot_finishing\": %s, "
		       "\"changes\": [", st->branch_moved ? "true" : "false",
		       st->snapshot_finishing ? "true" : "false");
		for (size_t i = 0; i < st->n; i++) {
			const struct mlfs_wt_status_entry *e = &st->v[i];

			printf("%s{\"change\": \"%c\", \"path\": ",
			       i ? ", " : "", e->change);
			cli_json_str(stdout, e->path);
			if (e->old_path) {
				printf(", \"old_path\": ");
				cli_json_str(stdout, e->old_path);
				printf(", \"modified\": %s",
				       e->modified ? "true" : "false");
			}
			printf(", \"type\": \"%s\", \"size\": %" PRIu64
			       ", \"old_size\": %" PRIu64 ", \"mode\": \"%04o\""
			       "}", type_name(e->change == MLFS_WT_DELETED ?
					      e->old_type : e->type),
			       e->size, e->old_size,
			       (unsigned)(e->change == MLFS_WT_DELETED ?
					  e->old_mode : e->mode) & 07777);
		}
		printf("]}");
		*first = false;
		return;
	}
	printf("%s%s:\n", *first ? "" : "\n", what);
	*first = false;
	if (st->branch_moved) {
		mlfs_id_to_hex(&st->head, hex);
		printf("  the branch moved to %.12s since these edits began: "
		       "a snapshot is refused\n", st->has_head ? hex : "(none)");
	}
	if (!st->n)
		printf("  no changes\n");
	for (size_t i = 0; i < st->n; i++) {
		const struct mlfs_wt_status_entry *e = &st->v[i];
		uint64_t size = e->change == MLFS_WT_DELETED ? e->old_size :
				e->size;

		printf("  %c ", e->change);
		if (e->old_path) {
			cli_put_name(stdout, e->old_path);
			printf(" -> ");
		}
		cli_put_name(stdout, e->path);
		if (e->change == MLFS_WT_TYPE)
			printf("  (%s -> %s)", type_name(e->old_type),
			       type_name(e->type));
		else if (e->change == MLFS_WT_MODE)
			printf("  (%04o -> %04o)", (unsigned)e->old_mode,
			       (unsigned)e->mode);
		else if (e->change == MLFS_WT_TIME)
			printf("  (modification time)");
		else if ((e->change == MLFS_WT_ADDED ||
			  e->change == MLFS_WT_DELETED) &&
			 (e->change == MLFS_WT_DELETED ? e->old_type :
			  e->type) == MLFS_ENTRY_DIR)
			printf("/");
		else if (e->change == MLFS_WT_MODIFIED || e->modified)
			printf("  (%s%s -> %s)", e->modified ? "modified, " : "",
			       cli_human_bytes(e->old_size, b, sizeof(b)),
			       cli_human_bytes(e->size, b + 16, 16));
		else
			printf("  (%s)", cli_human_bytes(size, b, sizeof(b)));
		printf("\n");
	}
}

/* Print the status of @arg; with @only_changed, nothing when it has no
 * change (an edit that was undone). */
static int status_one(struct cli *c, struct mlfs_work *w, const char *arg,
		      bool only_changed, bool *first)
{
	struct mlfs_refspec spec;
	struct mlfs_wt_status st;
	struct mlfs_wt *wt;
	int r = parse_branch("status", arg, &spec);

	if (r)
		return r;
	r = mlfs_wt_get(w, spec.ns, spec.name, *spec.rev ? spec.rev : NULL,
			&wt);
	if (r == 0)
		r = mlfs_wt_status(wt, &st);
	if (r < 0) {
		r = cli_error(r, "cannot read the working tree of '%s'", arg);
	} else {
		if (!only_changed || st.n || st.branch_moved)
			print_status(c, arg, &st, first);
		mlfs_wt_status_release(&st);
	}
	mlfs_refspec_release(&spec);
	return r;
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_store *s = NULL;
	struct mlfs_work *w = NULL;
	char **names = NULL;
	size_t n = 0;
	bool first = true;
	int ch, r;

	if (cli_want_help(argc, argv, status_usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'j')
			c->json = true;
		else
			return cli_usage_error("status", "unknown option");
	}
	if (optind + 1 < argc)
		return cli_usage_error("status", "expected at most one "
				       "NS/NAME[@BRANCH]");
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	/* reading needs no lock: the mount commits every edit at once */
	r = mlfs_work_open(s, 0, &w);
	if (r < 0) {
		r = cli_error(r, "cannot open the working trees");
		goto out;
	}
	if (c->json)
		printf("[");
	if (optind < argc) {
		if (w) {
			r = status_one(c, w, argv[optind], false, &first);
		} else {
			struct mlfs_wt_status none = { 0 };

			print_status(c, argv[optind], &none, &first);
		}
	} else if (w) {
		r = mlfs_work_dirty_list(w, &names, &n);
		if (r < 0)
			r = cli_error(r, "cannot list the working trees");
		for (size_t i = 0; r == 0 && i < n; i++)
			r = status_one(c, w, names[i], true, &first);
		if (r == 0 && first && !c->json)
			printf("no working tree has changes\n");
	} else if (!c->json) {
		printf("no working tree has changes\n");
	}
	if (c->json)
		printf("]\n");
out:
	mlfs_strv_free(names, n);
	mlfs_work_close(w);
	mlfs_store_close(s);
	return r;
}

int cmd_discard(struct cli *c, int argc, char **argv)
{
	struct mlfs_refspec spec;
	struct mlfs_store *s = NULL;
	struct mlfs_work *w = NULL;
	struct mlfs_wt *wt = NULL;
	int r;

	if (cli_want_help(argc, argv, discard_usage))
		return CLI_OK;
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage_error("discard", "expected NS/NAME[@BRANCH] "
				       "[PATH...]");
	r = parse_branch("discard", argv[1], &spec);
	if (r)
		return r;
	for (int tries = 0;; tries++) {
		r = open_wt(c, argv[1], true, &spec, &s, &w, &wt);
		if (r != WT_MOUNTED || tries == 100 ||
		    socket_gone(mlfs_store_dir(s)) != -EAGAIN)
			break;
		usleep(50 * 1000); /* an unmounted daemon letting go */
	}
	if (r == WT_MOUNTED) {
		struct mlfs_ctl_msg req = { 0 }, rep = { 0 };

		r = mlfs_ctl_add(&req, "op", "discard");
		if (r == 0)
			r = mlfs_ctl_add(&req, "repo", argv[1]);
		for (int i = 2; r == 0 && i < argc; i++)
			r = mlfs_ctl_add(&req, "path", argv[i]);
		if (r == 0)
			r = call_mount(s, &req, &rep);
		mlfs_ctl_release(&req);
		mlfs_ctl_release(&rep);
		if (r == -EAGAIN)
			r = cli_error(0, "the mount that holds the working "
				      "trees does not answer");
		else if (r < 0)
			r = cli_error(r, "discard of '%s' failed", argv[1]);
		else
			printf("discarded the edits of '%s'\n", argv[1]);
	} else if (r == 0) {
		r = mlfs_wt_discard(wt, (const char *const *)argv + 2,
				    (size_t)(argc - 2));
		if (r < 0)
			r = cli_error(r, "discard of '%s' failed", argv[1]);
		else
			printf("discarded the edits of '%s'\n", argv[1]);
	}
	mlfs_refspec_release(&spec);
	mlfs_work_close(w);
	mlfs_store_close(s);
	return r;
}
