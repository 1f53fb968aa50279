/*
 * cmd_import.c - mlfs import: a file or tree becomes a new version.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "metaopt.h"
#include "mlfs/import.h"

static const char usage[] =
	"usage: mlfs import SRC NS/NAME [-b BRANCH] [-t TAG] [-m MSG] [-q]\n"
	"                   [--input NS/NAME@REF]... [--meta KEY=VALUE]...\n"
	"                   [--metrics FILE]... [--no-files-cache] [--json]\n\n"
	"Import SRC (a file or a directory tree) as a new version of NS/NAME.\n"
	"The repository is created on first import; the commit goes on the\n"
	"default branch (main) unless -b names another (a new branch starts\n"
	"at main's head). Kept: regular files, directories, symlinks, "
	"permission\n"
	"bits, mtimes (ns). Not kept: owners, hard links (stored as "
	"separate\n"
	"files), xattrs/ACLs, special files (skipped with a warning).\n\n"
	"  -b, --branch BRANCH  commit on BRANCH\n"
	"  -t, --tag TAG        also tag the new version\n"
	"  -m, --message MSG    commit message\n"
	"      --meta KEY=VALUE version metadata (repeatable)\n"
	"      --metrics FILE   metrics from a flat JSON object of numbers\n"
	"  -q, --quiet          no progress or summary on stderr\n"
	"      --threads N      compression threads (default: CPUs)\n"
	"      --input REF      record version REF as an input (lineage)\n"
	"      --no-files-cache read every file, even unchanged ones\n"
	"      --json           print the result as JSON\n";

static void show_progress(void *ctx MLFS_UNUSED,
			  const struct mlfs_import_progress *p)
{
	double mbs = p->seconds > 0 ? (double)p->bytes_done / 1e6 /
				      p->seconds : 0;
	double eta = mbs > 0 && p->bytes_total > p->bytes_done ?
		     (double)(p->bytes_total - p->bytes_done) / 1e6 / mbs : 0;

	fprintf(stderr, "\rimporting: %.1f / %.1f MB, %" PRIu64 "/%" PRIu64
		" files, %.0f MB/s, ETA %.0f s   ", (double)p->bytes_done / 1e6,
		(double)p->bytes_total / 1e6, p->files_done, p->files_total,
		mbs, eta);
}

/* The walk holds a descriptor for each directory level it is in (it opens
 * entries relative to their parent, never by path): let a deep tree use
 * as many as the hard limit allows, not the often 1024 of the soft one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort */
	}
}

static void warn(void *ctx MLFS_UNUSED, const char *path, const char *what)
{
	fprintf(stderr, "mlfs: warning: '%s': %s\n", path, what);
}

/* The --input references and what they resolved to, owned by
 * cmd_import(). */
struct import_inputs {
	char **args;
	size_t n;
	struct mlfs_input *v;
};

static int import_main(struct cli *c, int argc, char **argv,
		       struct import_inputs *in)
{
	static const struct option opts[] = {
		{ "branch", required_argument, NULL, 'b' },
		{ "tag", required_argument, NULL, 't' },
		{ "message", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "threads", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "input", required_argument, NULL, 'i' },
		{ "no-files-cache", no_argument, NULL, 'F' },
		{ "meta", required_argument, NULL, 'M' },
		{ "metrics", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_kv_list meta = MLFS_KV_LIST_INIT;
	struct mlfs_import_opts o = { .warn = warn, .meta = &meta };
	struct mlfs_import_stats st;
	struct mlfs_store *s = NULL;
	struct mlfs_refspec spec;
	bool quiet = false;
	char hex[MLFS_ID_HEX_LEN + 1], b1[32], b2[32];
	const char *why;
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "b:t:m:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			o.branch = optarg;
			break;
		case 't':
			o.tag = optarg;
			break;
		case 'm':
			o.message = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'T':
			o.threads = atoi(optarg);
			break;
		case 'j':
			c->json = true;
			break;
		case 'F':
			o.no_files_cache = true;
			break;
		case 'i':
			if (cli_inputs_add(&in->args, &in->n, optarg)) {
				mlfs_kv_list_release(&meta);
				return CLI_FAILED;
			}
			break;
		case 'M':
		case 'X':
			r = cli_meta_option("import", &meta, ch == 'X', optarg);
			if (r) {
				mlfs_kv_list_release(&meta);
				return r;
			}
			break;
		default:
			mlfs_kv_list_release(&meta);
			return cli_usage_error("import", "unknown option");
		}
	}
	if (argc - optind != 2) {
		mlfs_kv_list_release(&meta);
		return cli_usage_error("import", "expected SRC and NS/NAME");
	}
	r = mlfs_refspec_parse(argv[optind + 1], 0, &spec, &why);
	if (r == 0 && (spec.rev[0] || spec.has_date || spec.back)) {
		why = "import takes a repository NS/NAME; use -b BRANCH or "
		      "-t TAG for refs";
		r = -EINVAL;
	}
	if (r == 0 && o.branch && mlfs_ref_name_check(o.branch, &why) < 0)
		r = -EINVAL;
	if (r == 0 && o.tag && mlfs_ref_name_check(o.tag, &why) < 0)
		r = -EINVAL;
	if (r < 0) {
		mlfs_refspec_release(&spec);
		mlfs_kv_list_release(&meta);
		struct mlfs_buf q1 = MLFS_BUF_INIT, q2 = MLFS_BUF_INIT;

		/* quoted: a bad name may hold control bytes */
		fprintf(stderr, "mlfs: invalid name in '%s'%s%s%s%s: %s\n",
			cli_quote(&q1, argv[optind + 1]),
			o.branch ? " / branch '" : "",
			o.branch ? cli_quote(&q2, o.branch) : "",
			o.branch ? "'" : "", o.tag ? " / tag" : "", why);
		mlfs_buf_release(&q1);
		mlfs_buf_release(&q2);
		return CLI_USAGE;
	}
	if (access(argv[optind], F_OK) < 0) {
		r = -errno;
		mlfs_refspec_release(&spec);
		mlfs_kv_list_release(&meta);
		return cli_error(r, "cannot import '%s'", argv[optind]);
	}
	r = cli_open_store(c, 0, &s);
	if (r) {
		mlfs_refspec_release(&spec);
		mlfs_kv_list_release(&meta);
		return r;
	}
	/* inputs are commits before anything is written */
	r = cli_inputs_resolve(s, in->args, in->n, &in->v);
	if (r)
		goto out;
	o.inputs = in->v;
	o.ninputs = in->n;
	if (!quiet && isatty(2))
		o.progress = show_progress;
	raise_fd_limit();
	r = mlfs_import(s, argv[optind], spec.ns, spec.name, &o, &st);
	if (o.progress)
		fputc('\n', stderr);
	if (r == -EEXIST) {
		/* the tag exists, or an alias has the name: the detail
		 * says which, and is the whole message */
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", mlfs_error_detail());
		mlfs_error_clear();
		r = msg[0] ? cli_error(0, "%s", msg) :
			     cli_error(0, "tag '%s' already exists in '%s/%s'",
				       o.tag, spec.ns, spec.name);
		goto out;
	}
	if (r == -EBUSY && *mlfs_error_detail()) {
		/* the branch has edits in its working tree: the detail says */
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", mlfs_error_detail());
		mlfs_error_clear();
		r = cli_error(0, "%s", msg);
		goto out;
	}
	if (r == -EBUSY) {
		r = cli_error(r, "store is busy (another import is running)");
		goto out;
	}
	if (r == -ENOSPC) {
		r = cli_error(r, "import of '%s' into '%s/%s' failed",
			      argv[optind], spec.ns, spec.name);
		fprintf(stderr, "hint: the store's file system is full; "
			"nothing was committed and the import's pack files "
			"were removed\n");
		goto out;
	}
	if (r < 0) {
		r = cli_error(r, "import of '%s' into '%s/%s' failed",
			      argv[optind], spec.ns, spec.name);
		goto out;
	}
	mlfs_id_to_hex(&st.commit, hex);
	if (c->json) {
		printf("{\"commit\": \"%s\", \"repo\": ", hex);
		cli_json_str(stdout, argv[optind + 1]);
		printf(", \"created_repo\": %s, \"files\": %" PRIu64
		       ", \"files_cached\": %" PRIu64
		       ", \"dirs\": %" PRIu64 ", \"symlinks\": %" PRIu64
		       ", \"skipped\": %" PRIu64 ", \"changed\": %" PRIu64
		       ", \"bytes\": %" PRIu64
		       ", \"chunks\": %" PRIu64 ", \"new_chunks\": %" PRIu64
		       ", \"new_raw_bytes\": %" PRIu64
		       ", \"new_stored_bytes\": %" PRIu64
		       ", \"seconds\": %.3f}\n",
		       st.created_repo ? "true" : "false", st.files,
		       st.files_cached, st.dirs,
		       st.symlinks, st.skipped, st.changed, st.bytes, st.chunks,
		       st.new_chunks, st.new_raw_bytes, st.new_stored_bytes,
		       st.seconds);
	} else {
		printf("%s\n", hex);
	}
	if (!quiet)
		fprintf(stderr, "imported %" PRIu64 " files (%s) in %.2f s, "
			"%.0f MB/s; %" PRIu64 " of %" PRIu64 " chunks new, "
			"%s written\n", st.files,
			cli_human_bytes(st.bytes, b1, sizeof(b1)), st.seconds,
			st.seconds > 0 ? (double)st.bytes / 1e6 / st.seconds :
			0, st.new_chunks, st.chunks,
			cli_human_bytes(st.new_stored_bytes, b2, sizeof(b2)));
	if (!quiet && st.files_cached)
		fprintf(stderr, "%" PRIu64 " of them unchanged since the last "
			"import (files cache): not read\n", st.files_cached);
	r = CLI_OK;
out:
	mlfs_refspec_release(&spec);
	mlfs_kv_list_release(&meta);
	mlfs_store_close(s);
	return r;
}

int cmd_import(struct cli *c, int argc, char **argv)
{
	struct import_inputs in = { 0 };
	int r = import_main(c, argc, argv, &in);

	free(in.args);
	free(in.v);
	return r;
}
