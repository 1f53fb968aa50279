/*
 * cmd_alias.c - mlfs alias and mlfs rollback: movable names for the
 * versions a team promotes ("production"), their history from the
 * audit log, and stepping one back. The library (mlfs/alias.h) does the
 * checks and the records; this file parses, asks and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mlfs/alias.h"

static const char alias_usage[] =
	"usage: mlfs alias NS/NAME[@REF] ALIAS [-m REASON]\n"
	"       mlfs alias --list NS/NAME [--json]\n"
	"       mlfs alias --history NS/NAME ALIAS [--json]\n"
	"       mlfs alias --delete NS/NAME ALIAS -m REASON\n\n"
	"Point ALIAS at the version REF names (default: head of main),\n"
	"creating it or moving it there; moving needs -m REASON. An alias\n"
	"resolves wherever a ref does (NS/NAME@ALIAS, also in the mount)\n"
	"and never has the name of a tag or branch of its repository.\n"
	"--history shows every target it had, when, by whom and why.\n";

static const char rollback_usage[] =
	"usage: mlfs rollback NS/NAME ALIAS -m REASON\n\n"
	"Move ALIAS back to the target it had before its current one.\n"
	"Rollbacks in a row walk further back; a delete ends the history.\n";

enum mode { SET, LIST, HISTORY, DELETE, ROLLBACK };

static void iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void short_hex(const struct mlfs_id *id, bool has, char *buf)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(id, hex);
	snprintf(buf, 13, "%.12s", has ? hex : "-");
}

static void json_id(const struct mlfs_id *id, bool has)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(id, hex);
	printf(has ? "\"%s\"" : "null", hex);
}

/* "user@host", or "user" when the host is unknown. */
static void who(const struct mlfs_audit_record *e, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", e->user[0] ? e->user : "?",
		 e->host[0] ? "@" : "", e->host);
}

/* Resolve NS/NAME with nothing after it: the repository. */
static int repo_of(struct mlfs_store *s, const char *arg, const char *cmd,
		   struct mlfs_repo *repo)
{
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	int r = cli_resolve(s, arg, false, &spec, &res);

	if (r)
		return r;
	if (spec.rev[0] || spec.has_date || spec.back)
		r = cli_usage_error(cmd, "expected NS/NAME without '@REF' "
				    "before the alias name");
	mlfs_refspec_release(&spec);
	*repo = res.repo;
	return r;
}

static int list_aliases(struct cli *c, struct mlfs_store *s, const char *arg)
{
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	struct mlfs_alias *v = NULL;
	size_t n = 0, bad = 0;
	/* A repository with no commits yet has no aliases to list. */
	int r = cli_resolve_unborn(s, arg, false, &spec, &res);

	if (r)
		return r;
	mlfs_refspec_release(&spec);
	r = mlfs_alias_list(s, res.repo.id, &v, &n);
	if (r < 0)
		return cli_error(r, "cannot list the aliases of '%s'", arg);
	if (c->json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		struct mlfs_audit_record *h = NULL, *last = NULL;
		char hex[13], when[32] = "-", by[300] = "-";
		size_t nh = 0;

		if (!v[i].damaged &&
		    mlfs_alias_history(s, &res.repo, v[i].name, &h, &nh) == 0 &&
		    nh)
			last = &h[nh - 1];
		mlfs_error_clear();
		/* Listed, not hidden; a target that fails its check, or
		 * whose history does not lead to it, is not shown. */
		bad += v[i].damaged || !last;
		short_hex(&v[i].commit, !v[i].damaged, hex);
		if (last) {
			iso_time(last->time, when, sizeof(when));
			who(last, by, sizeof(by));
		}
		if (c->json) {
			printf("%s{\"name\": ", i ? ", " : "");
			cli_json_str(stdout, v[i].name);
			printf(", \"commit\": ");
			json_id(&v[i].commit, !v[i].damaged);
			if (last) {
				printf(", \"time\": %lld, \"user\": ",
				       (long long)last->time);
				cli_json_str(stdout, last->user);
				printf(", \"host\": ");
				cli_json_str(stdout, last->host);
			} else {
				printf(", \"time\": null, \"user\": null, "
				       "\"host\": null, \"damaged\": true");
			}
			fputc('}', stdout);
		} else {
			printf("%-20s %-12s  %-20s  %s\n", v[i].name,
			       v[i].damaged ? "(damaged)" : hex, when, by);
		}
		mlfs_audit_records_free(h, nh);
	}
	if (c->json)
		fputs("]\n", stdout);
	free(v);
	if (bad)
		return cli_error(0, "%zu %s of '%s' %s damaged; run 'mlfs "
				 "fsck'", bad, bad == 1 ? "alias" : "aliases",
				 arg, bad == 1 ? "is" : "are");
	return CLI_OK;
}

static int show_history(struct cli *c, struct mlfs_store *s, const char *arg,
			const char *name)
{
	struct mlfs_audit_record *h = NULL;
	struct mlfs_repo repo;
	size_t n = 0;
	int r = repo_of(s, arg, "alias", &repo);

	if (r)
		return r;
	r = mlfs_alias_history(s, &repo, name, &h, &n);
	if (r < 0)
		return cli_error(r, "cannot read the history of alias '%s' of "
				 "'%s/%s'", name, repo.ns, repo.name);
	if (!n)
		return cli_error(0, "no alias '%s' in '%s/%s', now or before",
				 name, repo.ns, repo.name);
	if (c->json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		const struct mlfs_audit_record *e = &h[i];
		char when[32], by[300], oh[13], nh[13];

		iso_time(e->time, when, sizeof(when));
		who(e, by, sizeof(by));
		short_hex(&e->old_commit, e->has_old, oh);
		short_hex(&e->new_commit, e->has_new, nh);
		if (c->json) {
			printf("%s{\"id\": %lld, \"time\": %lld, \"user\": ",
			       i ? ", " : "", (long long)e->id,
			       (long long)e->time);
			cli_json_str(stdout, e->user);
			printf(", \"host\": ");
			cli_json_str(stdout, e->host);
			printf(", \"op\": ");
			cli_json_str(stdout, e->op);
			printf(", \"old\": ");
			json_id(&e->old_commit, e->has_old);
			printf(", \"new\": ");
			json_id(&e->new_commit, e->has_new);
			printf(", \"message\": ");
			if (e->message)
				cli_json_str(stdout, e->message);
			else
				fputs("null", stdout);
			fputc('}', stdout);
		} else {
			printf("%s  %s  %-12s  %-12s -> %-12s  %s\n", when, by,
			       e->op, oh, nh, e->message ? e->message : "");
		}
	}
	if (c->json)
		fputs("]\n", stdout);
	mlfs_audit_records_free(h, n);
	return CLI_OK;
}

/* The library's answer to a change, worded for the user. */
static int change_error(int r, const char *cmd, const char *verb,
			const char *name, const struct mlfs_repo *repo)
{
	if (r == -EINVAL) {
		/* a move raced in after our check: the detail says */
		fprintf(stderr, "mlfs %s: %s\n", cmd, mlfs_error_detail());
		mlfs_error_clear();
		return CLI_USAGE;
	}
	if (r == -EEXIST || r == -ENODATA ||
	    (r == -ENOENT && *mlfs_error_detail())) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", mlfs_error_detail());
		mlfs_error_clear();
		return r == -EEXIST ? cli_error(0, "cannot %s alias '%s' (%s)",
						verb, name, msg) :
				      cli_error(0, "%s", msg);
	}
	if (r == -ENOENT)
		return cli_error(0, "no alias '%s' in '%s/%s'", name, repo->ns,
				 repo->name);
	if (r == -EBUSY)
		return cli_error(r, "store is busy; try again");
	return cli_error(r, "cannot %s alias '%s' of '%s/%s'", verb, name,
			 repo->ns, repo->name);
}

static int set_alias(struct mlfs_store *s, const char *arg, const char *name,
		     const char *reason)
{
	struct mlfs_alias_change ch;
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	struct mlfs_id cur;
	char oh[13], nh[13];
	int r = cli_resolve(s, arg, false, &spec, &res);

	if (r)
		return r;
	mlfs_refspec_release(&spec);
	/* Refused before anything is written: a move says why. */
	r = mlfs_alias_get(s, res.repo.id, name, &cur);
	if (r == 0 && mlfs_id_cmp(&cur, &res.commit) && !reason) {
		short_hex(&cur, true, oh);
		return cli_usage_error("alias", "alias '%s' of '%s/%s' is at "
				       "%s: moving it needs -m REASON", name,
				       res.repo.ns, res.repo.name, oh);
	}
	if (r < 0 && r != -ENOENT)
		return cli_error(r, "cannot read alias '%s'", name);
	r = mlfs_alias_set(s, &res.repo, name, &res.commit, reason, &ch);
	if (r < 0)
		return change_error(r, "alias", "set", name, &res.repo);
	short_hex(&ch.old, true, oh);
	short_hex(&ch.now, true, nh);
	if (!ch.changed)
		printf("alias '%s' already at %s\n", name, nh);
	else if (ch.had_old)
		printf("alias '%s' %s -> %s\n", name, oh, nh);
	else
		printf("alias '%s' -> %s\n", name, nh);
	return CLI_OK;
}

static int delete_alias(struct mlfs_store *s, const char *arg,
			const char *name, const char *reason)
{
	struct mlfs_alias_change ch;
	struct mlfs_repo repo;
	char oh[13];
	int r = repo_of(s, arg, "alias", &repo);

	if (r)
		return r;
	r = mlfs_alias_delete(s, &repo, name, reason, &ch);
	if (r < 0)
		return change_error(r, "alias", "delete", name, &repo);
	short_hex(&ch.old, true, oh);
	printf("deleted alias '%s' (was %s; its history stays in the audit "
	       "log)\n", name, oh);
	return CLI_OK;
}

/* Arguments every form shares, checked before the store is opened. */
static int check_args(const char *cmd, enum mode mode, int argc,
		      char **argv, const char *reason)
{
	const char *why;

	if (argc != (mode == LIST ? 1 : 2))
		return cli_usage_error(cmd, "wrong arguments");
	if (mode != LIST && (mode == SET ? mlfs_ref_name_check(argv[1], &why) :
			     mlfs_name_check(argv[1], &why)) < 0) {
		struct mlfs_buf q = MLFS_BUF_INIT;

		fprintf(stderr, "mlfs: invalid alias name '%s': %s\n",
			cli_quote(&q, argv[1]), why);
		mlfs_buf_release(&q);
		return CLI_USAGE;
	}
	if (reason && !reason[0])
		return cli_usage_error(cmd, "-m needs a non-empty reason");
	if ((mode == LIST || mode == HISTORY) && reason)
		return cli_usage_error(cmd, "-m goes with a change, not with "
				       "--list or --history");
	if ((mode == DELETE || mode == ROLLBACK) && !reason)
		return cli_usage_error(cmd, "%s an alias needs -m REASON",
				       mode == DELETE ? "deleting" :
				       "rolling back");
	return CLI_OK;
}

int cmd_alias(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "history", no_argument, NULL, 'H' },
		{ "delete", no_argument, NULL, 'd' },
		{ "message", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_store *s = NULL;
	const char *reason = NULL;
	enum mode mode = SET;
	int ch, r, modes = 0;

	if (cli_want_help(argc, argv, alias_usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "ldm:", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			mode = LIST;
			modes++;
			break;
		case 'H':
			mode = HISTORY;
			modes++;
			break;
		case 'd':
			mode = DELETE;
			modes++;
			break;
		case 'm':
			reason = optarg;
			break;
		case 'j':
			c->json = true;
			break;
		default:
			return cli_usage_error("alias", "unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if (modes > 1)
		return cli_usage_error("alias", "--list, --history and "
				       "--delete exclude each other");
	if (c->json && mode != LIST && mode != HISTORY)
		return cli_usage_error("alias", "--json goes with --list or "
				       "--history");
	r = check_args("alias", mode, argc, argv, reason);
	if (r)
		return r;
	r = cli_open_store(c, mode == LIST || mode == HISTORY ?
			   MLFS_STORE_RDONLY : 0, &s);
	if (r)
		return r;
	if (mode == LIST)
		r = list_aliases(c, s, argv[0]);
	else if (mode == HISTORY)
		r = show_history(c, s, argv[0], argv[1]);
	else if (mode == DELETE)
		r = delete_alias(s, argv[0], argv[1], reason);
	else
		r = set_alias(s, argv[0], argv[1], reason);
	mlfs_store_close(s);
	return r;
}

int cmd_rollback(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_alias_change chg;
	struct mlfs_store *s = NULL;
	const char *reason = NULL;
	struct mlfs_repo repo;
	char oh[13], nh[13];
	int ch, r;

	if (cli_want_help(argc, argv, rollback_usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
		if (ch != 'm')
			return cli_usage_error("rollback", "unknown option");
		reason = optarg;
	}
	argc -= optind;
	argv += optind;
	r = check_args("rollback", ROLLBACK, argc, argv, reason);
	if (r)
		return r;
	r = cli_open_store(c, 0, &s);
	if (r)
		return r;
	r = repo_of(s, argv[0], "rollback", &repo);
	if (r == 0) {
		r = mlfs_alias_rollback(s, &repo, argv[1], reason, &chg);
		if (r < 0) {
			r = change_error(r, "rollback", "roll back", argv[1],
					 &repo);
		} else {
			short_hex(&chg.old, true, oh);
			short_hex(&chg.now, true, nh);
			printf("alias '%s' rolled back %s -> %s\n", argv[1], oh,
			       nh);
			r = CLI_OK;
		}
	}
	mlfs_store_close(s);
	return r;
}
