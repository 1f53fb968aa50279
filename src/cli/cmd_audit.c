/*
 * cmd_audit.c - mlfs audit: the store's audit log, oldest first, and the
 * check of its chain (audit.h). A record that fails the check is shown
 * marked, never as if it could be trusted.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mlfs/audit.h"
#include "mlfs/names.h"

static const char usage[] =
	"usage: mlfs audit [NS/NAME] [--since DATE] [--json]\n"
	"       mlfs audit --verify\n\n"
	"Show every change of a ref or of version metadata, oldest first:\n"
	"id, time (UTC), user@host, operation, repository, ref, old -> new\n"
	"commit, message. NS/NAME keeps the records of one repository;\n"
	"--since keeps those at or after DATE (the forms @{DATE} takes).\n"
	"--verify checks the chain of records and names the first broken\n"
	"one (exit 1).\n";

static void iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "@%" PRId64, t);
}

static void short_id(bool has, const struct mlfs_id *id, char *buf)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	if (!has) {
		strcpy(buf, "-");
		return;
	}
	mlfs_id_to_hex(id, hex);
	memcpy(buf, hex, 12);
	buf[12] = '\0';
}

static void print_text(const struct mlfs_audit_record *r)
{
	char when[32], o[16], n[16];
	const char *msg = r->message ? r->message : r->detail;

	iso_time(r->time, when, sizeof(when));
	short_id(r->has_old, &r->old_commit, o);
	short_id(r->has_new, &r->new_commit, n);
	printf("%" PRId64 "\t%s%s\t", r->id, r->damaged ? "(damaged) " : "",
	       when);
	cli_put_name(stdout, r->user[0] ? r->user : "?");
	putchar('@');
	cli_put_name(stdout, r->host[0] ? r->host : "?");
	putchar('\t');
	cli_put_name(stdout, r->op);
	putchar('\t');
	cli_put_name(stdout, r->repo ? r->repo : "-");
	putchar('\t');
	cli_put_name(stdout, r->ref ? r->ref : "-");
	printf("\t%s -> %s\t", o, n);
	if (msg)
		cli_put_name(stdout, msg);
	putchar('\n');
}

static void json_opt_str(const char *key, const char *v)
{
	printf(", \"%s\": ", key);
	if (v)
		cli_json_str(stdout, v);
	else
		fputs("null", stdout);
}

static void json_opt_id(const char *key, bool has, const struct mlfs_id *id)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	if (has)
		mlfs_id_to_hex(id, hex);
	printf(", \"%s\": %s%s%s", key, has ? "\"" : "", has ? hex : "null",
	       has ? "\"" : "");
}

static void print_json(const struct mlfs_audit_record *r, bool first)
{
	char when[32];

	iso_time(r->time, when, sizeof(when));
	printf("%s{\"id\": %" PRId64 ", \"time\": %" PRId64
	       ", \"date\": \"%s\"", first ? "" : ", ", r->id, r->time, when);
	if (r->uid >= 0)
		printf(", \"uid\": %" PRId64, r->uid);
	else
		fputs(", \"uid\": null", stdout);
	json_opt_str("user", r->user);
	json_opt_str("host", r->host);
	json_opt_str("command", r->command);
	json_opt_str("op", r->op);
	json_opt_str("repo", r->repo);
	json_opt_str("ref", r->ref);
	json_opt_id("old", r->has_old, &r->old_commit);
	json_opt_id("new", r->has_new, &r->new_commit);
	json_opt_str("message", r->message);
	json_opt_str("detail", r->detail);
	json_opt_id("mac", r->has_mac, &r->mac);
	printf(", \"damaged\": %s}", r->damaged ? "true" : "false");
}

static int verify(struct mlfs_store *s)
{
	uint64_t n = 0;
	int64_t bad = 0;
	char why[600];
	int r = mlfs_audit_verify(s, &n, &bad);

	if (r == -EBADMSG) {
		snprintf(why, sizeof(why), "%s", mlfs_error_detail());
		mlfs_error_clear();
		return cli_error(0, "audit log: %" PRIu64 " records, broken "
				 "at %s", n, why);
	}
	if (r < 0)
		return cli_error(r, "cannot read the audit log");
	printf("audit log: %" PRIu64 " records, chain intact\n", n);
	return CLI_OK;
}

/* NS/NAME, without @REF or a path. */
static int parse_repo(const char *arg, struct mlfs_refspec *spec)
{
	const char *why;

	if (mlfs_refspec_parse(arg, 0, spec, &why) < 0) {
		fprintf(stderr, "mlfs: invalid reference '%s': %s\n", arg,
			why);
		return CLI_USAGE;
	}
	if (spec->rev[0] || spec->has_date || spec->back) {
		mlfs_refspec_release(spec);
		return cli_usage_error("audit", "expected NS/NAME, not '%s'",
				       arg);
	}
	return CLI_OK;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "verify", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_audit_filter f = { 0 };
	struct mlfs_audit_record *v = NULL;
	struct mlfs_store *s = NULL;
	struct mlfs_refspec spec;
	bool check = false, has_spec = false, since = false;
	size_t n = 0;
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'j') {
			c->json = true;
		} else if (ch == 's') {
			if (mlfs_parse_date(optarg, &f.since) < 0)
				return cli_usage_error("audit", "invalid date "
						       "'%s'", optarg);
			since = true;
		} else if (ch == 'v') {
			check = true;
		} else {
			return cli_usage_error("audit", "unknown option");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("audit", "expected at most one "
				       "NS/NAME");
	if (check && (c->json || since || argc - optind))
		return cli_usage_error("audit", "--verify takes no other "
				       "argument");
	if (argc - optind == 1) {
		r = parse_repo(argv[optind], &spec);
		if (r)
			return r;
		has_spec = true;
		f.ns = spec.ns;
		f.name = spec.name;
	}
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		goto out;
	if (check) {
		r = verify(s);
		goto out;
	}
	r = mlfs_audit_list(s, &f, &v, &n);
	if (r < 0) {
		r = cli_error(r, "cannot read the audit log");
		goto out;
	}
	if (c->json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (c->json)
			print_json(&v[i], i == 0);
		else
			print_text(&v[i]);
	}
	if (c->json)
		puts("]");
	r = CLI_OK;
	for (size_t i = 0; i < n && r == CLI_OK; i++)
		if (v[i].damaged)
			r = cli_error(0, "damaged audit records are marked "
				      "'(damaged)'; 'mlfs audit --verify' "
				      "names the first");
out:
	mlfs_audit_records_free(v, n);
	mlfs_store_close(s);
	if (has_spec)
		mlfs_refspec_release(&spec);
	return r;
}
