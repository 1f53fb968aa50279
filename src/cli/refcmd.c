/*
 * refcmd.c - what "mlfs tag" and "mlfs branch" share: create at a ref,
 * list, delete. The two commands differ only in the kind of ref.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlfs/remote.h"
#include "mlfs/worktree.h"
#include "refcmd.h"

static int list_refs(struct cli *c, struct mlfs_store *s, const char *arg,
		     enum mlfs_ref_kind kind)
{
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	struct mlfs_ref *v;
	size_t n, damaged = 0;
	/* Listing needs only the repository: with no commits yet, it has
	 * no refs to list. */
	int r = cli_resolve_unborn(s, arg, false, &spec, &res);

	if (r)
		return r;
	mlfs_refspec_release(&spec);
	r = mlfs_ref_list(s, res.repo.id, kind, &v, &n);
	if (r < 0)
		return cli_error(r, "cannot list refs of '%s'", arg);
	if (c->json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(&v[i].commit, hex);
		/* Listed, not hidden, but its target is not shown: it is
		 * exactly what cannot be trusted. */
		if (v[i].damaged) {
			damaged++;
			snprintf(hex, sizeof(hex), "(damaged)");
		}
		if (c->json) {
			printf("%s{\"name\": ", i ? ", " : "");
			cli_json_str(stdout, v[i].name);
			if (v[i].damaged)
				printf(", \"commit\": null, \"damaged\": true");
			else
				printf(", \"commit\": \"%s\"", hex);
			if (kind == MLFS_REF_BRANCH)
				printf(", \"default\": %s",
				       strcmp(v[i].name,
					      res.repo.default_branch) ?
				       "false" : "true");
			fputc('}', stdout);
		} else if (kind == MLFS_REF_BRANCH) {
			printf("%c %-20s %.12s\n",
			       strcmp(v[i].name, res.repo.default_branch) ?
			       ' ' : '*', v[i].name, hex);
		} else {
			printf("%-20s %.12s\n", v[i].name, hex);
		}
	}
	if (c->json)
		fputs("]\n", stdout);
	free(v);
	if (damaged)
		return cli_error(0, "%zu %s of '%s' %s damaged; run 'mlfs "
				 "fsck'", damaged, damaged == 1 ? "ref" :
				 "refs", arg, damaged == 1 ? "is" : "are");
	return CLI_OK;
}

/* mlfs branch -r: the remote-tracking refs of one repository. */
static int list_tracking(struct cli *c, struct mlfs_store *s, const char *arg)
{
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	struct mlfs_track *v;
	size_t n, damaged = 0;
	int r = cli_resolve_unborn(s, arg, false, &spec, &res);

	if (r)
		return r;
	mlfs_refspec_release(&spec);
	r = mlfs_track_list(s, NULL, res.repo.id, &v, &n);
	if (r < 0)
		return cli_error(r, "cannot list remote-tracking refs of '%s'",
				 arg);
	if (c->json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		char hex[MLFS_ID_HEX_LEN + 1], full[2 * MLFS_NAME_MAX + 2];

		mlfs_id_to_hex(&v[i].commit, hex);
		if (v[i].damaged) {
			damaged++;
			snprintf(hex, sizeof(hex), "(damaged)");
		}
		snprintf(full, sizeof(full), "%s/%s", v[i].remote,
			 v[i].branch);
		if (!c->json) {
			printf("  %-20s %.12s\n", full, hex);
			continue;
		}
		printf("%s{\"name\": ", i ? ", " : "");
		cli_json_str(stdout, full);
		printf(", \"remote\": ");
		cli_json_str(stdout, v[i].remote);
		printf(", \"branch\": ");
		cli_json_str(stdout, v[i].branch);
		if (v[i].damaged)
			printf(", \"commit\": null, \"damaged\": true}");
		else
			printf(", \"commit\": \"%s\"}", hex);
	}
	if (c->json)
		fputs("]\n", stdout);
	free(v);
	if (damaged)
		return cli_error(0, "%zu remote-tracking %s of '%s' %s damaged; "
				 "run 'mlfs fsck'", damaged,
				 damaged == 1 ? "ref" : "refs", arg,
				 damaged == 1 ? "is" : "are");
	return CLI_OK;
}

int cli_ref_command(struct cli *c, int argc, char **argv,
		    enum mlfs_ref_kind kind, const char *usage)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "delete", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "remotes", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = kind == MLFS_REF_TAG ? "tag" : "branch";
	struct mlfs_store *s = NULL;
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	bool list = false, del = false, remotes = false;
	const char *why;
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, kind == MLFS_REF_BRANCH ? "ldr" :
				 "ld", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (kind != MLFS_REF_BRANCH)
				return cli_usage_error(what, "unknown option");
			remotes = list = true;
			break;
		case 'l':
			list = true;
			break;
		case 'd':
			del = true;
			break;
		case 'j':
			c->json = true;
			break;
		default:
			return cli_usage_error(what, "unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if ((list && argc != 1) || (!list && argc != 2) || (list && del))
		return cli_usage_error(what, "wrong arguments");
	if (!list && (del ? mlfs_name_check(argv[1], &why) :
		      mlfs_ref_name_check(argv[1], &why)) < 0) {
		struct mlfs_buf q = MLFS_BUF_INIT;

		fprintf(stderr, "mlfs: invalid %s name '%s': %s\n", what,
			cli_quote(&q, argv[1]), why);
		mlfs_buf_release(&q);
		return CLI_USAGE;
	}
	r = cli_open_store(c, list ? MLFS_STORE_RDONLY : 0, &s);
	if (r)
		return r;
	if (list) {
		r = remotes ? list_tracking(c, s, argv[0]) :
		    list_refs(c, s, argv[0], kind);
		goto out;
	}
	r = cli_resolve(s, argv[0], false, &spec, &res);
	if (r)
		goto out;
	if (del && (spec.rev[0] || spec.has_date || spec.back)) {
		r = cli_usage_error(what, "--delete takes NS/NAME and the "
				    "%s name", what);
		goto out_spec;
	}
	if (del && kind == MLFS_REF_BRANCH &&
	    mlfs_work_branch_dirty(s, spec.ns, spec.name, argv[1]) > 0) {
		r = cli_error(0, "branch '%s' of '%s/%s' has edits that are "
			      "not in a version yet (see 'mlfs status "
			      "%s/%s@%s'): snapshot or discard them first",
			      argv[1], spec.ns, spec.name, spec.ns, spec.name,
			      argv[1]);
		goto out_spec;
	}
	if (del)
		r = mlfs_ref_delete(s, res.repo.id, kind, argv[1]);
	else
		r = mlfs_ref_create(s, res.repo.id, kind, argv[1],
				    &res.commit);
	if (r == -EEXIST && *mlfs_error_detail())
		/* an alias has the name: the detail says so */
		r = cli_error(0, "cannot create %s '%s'", what, argv[1]);
	else if (r == -EEXIST)
		r = cli_error(0, "%s '%s' already exists in '%s/%s'", what,
			      argv[1], spec.ns, spec.name);
	else if (r == -ENOENT) {
		mlfs_error_clear(); /* it says the same */
		r = cli_error(0, "no %s '%s' in '%s/%s'", what, argv[1],
			      spec.ns, spec.name);
	}
	else if (r == -EBUSY && del && kind == MLFS_REF_BRANCH)
		r = cli_error(0, "cannot delete '%s', the default branch of "
			      "'%s/%s'", argv[1], spec.ns, spec.name);
	else if (r == -EBUSY)
		r = cli_error(r, "store is busy; try again");
	else if (r < 0)
		r = cli_error(r, "cannot %s %s '%s'", del ? "delete" :
			      "create", what, argv[1]);
	else {
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(&res.commit, hex);
		if (del)
			printf("deleted %s '%s' (its commits stay in the "
			       "store)\n", what, argv[1]);
		else
			printf("%s '%s' -> %.12s\n", what, argv[1], hex);
		r = CLI_OK;
	}
out_spec:
	mlfs_refspec_release(&spec);
out:
	mlfs_store_close(s);
	return r;
}
