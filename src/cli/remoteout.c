/*
 * remoteout.c - the output of push, fetch, pull and clone: one line per
 * ref in git's shape (" * [new branch]", "   a..b", " ! [rejected]"),
 * a summary line, the --json form, and failures with their hints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "remoteout.h"

static const char *kind_word(int kind)
{
	return kind == 'b' ? "branch" : kind == 't' ? "tag" : "alias";
}

static const char *status_word(enum mlfs_remote_ref_status st)
{
	switch (st) {
	case MLFS_PUSH_UPTODATE: return "up-to-date";
	case MLFS_PUSH_CREATED: return "created";
	case MLFS_PUSH_UPDATED: return "fast-forward";
	case MLFS_PUSH_FORCED: return "forced";
	case MLFS_PUSH_REJECTED_NFF: return "rejected-non-fast-forward";
	case MLFS_PUSH_REJECTED_EXISTS: return "rejected-exists";
	case MLFS_FETCH_NEW: return "new";
	case MLFS_FETCH_FF: return "fast-forward";
	case MLFS_FETCH_SAME: return "up-to-date";
	case MLFS_FETCH_DIVERGED: return "diverged";
	case MLFS_FETCH_AHEAD: return "ahead";
	case MLFS_FETCH_DIFFERS: return "differs";
	case MLFS_FETCH_EDITED: return "edited";
	case MLFS_FETCH_BEHIND: return "behind";
	}
	return "?";
}

static void short_hex(const struct mlfs_id *id, char *out)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(id, hex);
	memcpy(out, hex, 12);
	out[12] = '\0';
}

static void print_ref(const struct mlfs_remote_ref_result *x)
{
	char o[13] = "", n[13], range[32], what[3 * MLFS_NAME_MAX + 16];

	if (x->has_old)
		short_hex(&x->old, o);
	short_hex(&x->new, n);
	snprintf(what, sizeof(what), "%s/%s %s %s", x->ns, x->name,
		 kind_word(x->kind), x->ref);
	snprintf(range, sizeof(range), "%s..%s", o, n);
	switch (x->status) {
	case MLFS_PUSH_CREATED:
	case MLFS_FETCH_NEW:
		printf(" * [new %s]\t%s -> %s\n", kind_word(x->kind), what, n);
		break;
	case MLFS_PUSH_UPDATED:
	case MLFS_FETCH_FF:
		printf("   %s\t%s\n", range, what);
		break;
	case MLFS_PUSH_FORCED:
		printf(" + %s\t%s (forced update)\n", range, what);
		break;
	case MLFS_PUSH_UPTODATE:
	case MLFS_FETCH_SAME:
		printf(" = [up to date]\t%s\n", what);
		break;
	case MLFS_PUSH_REJECTED_NFF:
		printf(" ! [rejected]\t%s (non-fast-forward, fetch first)\n",
		       what);
		break;
	case MLFS_PUSH_REJECTED_EXISTS:
		printf(" ! [rejected]\t%s (the remote's %s names another "
		       "version%s)\n", what, kind_word(x->kind),
		       x->kind == 'a' ? "; --force moves it" : "");
		break;
	case MLFS_FETCH_DIVERGED:
		printf(" ! [diverged]\t%s (local %s, remote %s: both have "
		       "commits the other lacks; left alone)\n", what, o, n);
		break;
	case MLFS_FETCH_AHEAD:
		printf(" = [ahead]\t%s (local %s has commits the remote lacks: "
		       "push them)\n", what, o);
		break;
	case MLFS_FETCH_DIFFERS:
		printf(" ! [differs]\t%s (local %s, remote %s; left alone)\n",
		       what, o[0] ? o : "another kind of ref", n);
		break;
	case MLFS_FETCH_EDITED:
		printf(" ! [edited]\t%s (the branch has edits through the mount "
		       "that are not in a version: snapshot or discard them, "
		       "then pull)\n", what);
		break;
	case MLFS_FETCH_BEHIND:
		printf("   %s\t%s (behind the remote: mlfs pull moves it)\n",
		       range, what);
		break;
	}
}

static const char *vmeta_word(enum mlfs_remote_vmeta_status st)
{
	switch (st) {
	case MLFS_VMETA_PUSHED: return "pushed";
	case MLFS_VMETA_FORCED: return "forced";
	case MLFS_VMETA_REJECTED: return "rejected";
	case MLFS_VMETA_FETCHED: return "fetched";
	case MLFS_VMETA_DIVERGED: return "diverged";
	}
	return "?";
}

static void print_vmeta(const struct mlfs_remote_vmeta_result *x)
{
	char n[13];

	short_hex(&x->commit, n);
	switch (x->status) {
	case MLFS_VMETA_PUSHED:
		printf("   [metadata]\t%s/%s@%s (updated)\n", x->ns, x->name, n);
		break;
	case MLFS_VMETA_FORCED:
		printf(" + [metadata]\t%s/%s@%s (forced update)\n", x->ns,
		       x->name, n);
		break;
	case MLFS_VMETA_REJECTED:
		printf(" ! [rejected]\tmetadata of %s/%s@%s changed on the "
		       "remote (fetch first)\n", x->ns, x->name, n);
		break;
	case MLFS_VMETA_FETCHED:
		printf("   [metadata]\t%s/%s@%s (updated from the remote)\n",
		       x->ns, x->name, n);
		break;
	case MLFS_VMETA_DIVERGED:
		printf(" ! [diverged]\tmetadata of %s/%s@%s (local and remote "
		       "changed; local kept)\n", x->ns, x->name, n);
		break;
	}
}

/* Diverged metadata is a warning on stderr too (also with --json). */
static void warn_vmeta(const struct mlfs_remote_stats *st)
{
	for (size_t i = 0; i < st->nvmeta; i++) {
		const struct mlfs_remote_vmeta_result *x = &st->vmeta[i];
		char hex[MLFS_ID_HEX_LEN + 1];

		if (x->status != MLFS_VMETA_DIVERGED)
			continue;
		mlfs_id_to_hex(&x->commit, hex);
		fprintf(stderr, "mlfs: metadata of %s/%s@%.12s diverged (local "
			"and remote changed); the local metadata is kept\n",
			x->ns, x->name, hex);
	}
}

static void json_id(const char *key, const struct mlfs_id *id, bool has)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	if (!has) {
		printf("\"%s\":null", key);
		return;
	}
	mlfs_id_to_hex(id, hex);
	printf("\"%s\":\"%s\"", key, hex);
}

void remote_print(const struct mlfs_remote *r,
		  const struct mlfs_remote_stats *st, bool push, bool json,
		  const char *json_tail)
{
	char b[32];

	if (json) {
		printf("{\"remote\":");
		cli_json_str(stdout, r->name);
		printf(",\"url\":");
		cli_json_str(stdout, r->url);
		printf(",\"packs\":%llu,\"pack_bytes\":%llu,\"commits\":%llu,"
		       "\"trees\":%llu,\"contents\":%llu,\"seconds\":%.3f,"
		       "\"rejected\":%zu,\"refs\":[",
		       (unsigned long long)st->packs,
		       (unsigned long long)st->pack_bytes,
		       (unsigned long long)st->commits,
		       (unsigned long long)st->trees,
		       (unsigned long long)st->contents, st->seconds,
		       st->rejected);
		for (size_t i = 0; i < st->nrefs; i++) {
			const struct mlfs_remote_ref_result *x = &st->refs[i];
			char repo[2 * MLFS_NAME_MAX + 2];

			snprintf(repo, sizeof(repo), "%s/%s", x->ns, x->name);
			printf("%s{\"repo\":", i ? "," : "");
			cli_json_str(stdout, repo);
			printf(",\"kind\":\"%s\",\"name\":", kind_word(x->kind));
			cli_json_str(stdout, x->ref);
			putchar(',');
			json_id("old", &x->old, x->has_old);
			putchar(',');
			json_id("new", &x->new, true);
			printf(",\"status\":\"%s\"}", status_word(x->status));
		}
		printf("],\"metadata\":[");
		for (size_t i = 0; i < st->nvmeta; i++) {
			const struct mlfs_remote_vmeta_result *x = &st->vmeta[i];
			char repo[2 * MLFS_NAME_MAX + 2];

			snprintf(repo, sizeof(repo), "%s/%s", x->ns, x->name);
			printf("%s{\"repo\":", i ? "," : "");
			cli_json_str(stdout, repo);
			putchar(',');
			json_id("commit", &x->commit, true);
			printf(",\"status\":\"%s\"}", vmeta_word(x->status));
		}
		printf("]%s}\n", json_tail ? json_tail : "");
		warn_vmeta(st);
		return;
	}
	printf("%s %s\n", push ? "To" : "From", r->url);
	for (size_t i = 0; i < st->nrefs; i++)
		print_ref(&st->refs[i]);
	for (size_t i = 0; i < st->nvmeta; i++)
		print_vmeta(&st->vmeta[i]);
	warn_vmeta(st);
	cli_human_bytes(st->pack_bytes, b, sizeof(b));
	printf("%s %llu pack(s) (%s), %llu commit(s), %llu tree(s), %llu "
	       "content(s) in %.2f s\n", push ? "uploaded" : "indexed",
	       (unsigned long long)st->packs, b,
	       (unsigned long long)st->commits,
	       (unsigned long long)st->trees,
	       (unsigned long long)st->contents, st->seconds);
}

int remote_fail(int e, const char *what, const struct mlfs_remote *r)
{
	const char *d = mlfs_error_detail();

	if (e == -EXDEV || (e == -EIO && d[0]) || (e == -ENOENT && d[0])) {
		fprintf(stderr, "mlfs: cannot %s remote '%s': %s\n", what,
			r->name, d);
		mlfs_error_clear();
		return CLI_FAILED;
	}
	return cli_error(e, "cannot %s remote '%s' (%s)", what, r->name,
			 r->url);
}

int remote_open(struct cli *c, const char *name, unsigned flags,
		struct mlfs_store **s, struct mlfs_remote *r)
{
	int e, rc = cli_open_store(c, flags, s);

	memset(r, 0, sizeof(*r));
	if (rc != CLI_OK)
		return rc;
	mlfs_error_clear();
	e = mlfs_remote_pick(*s, name, r);
	if (e < 0) {
		if (e == -ENOENT && mlfs_error_detail()[0]) {
			fprintf(stderr, "mlfs: %s\n", mlfs_error_detail());
			mlfs_error_clear();
			rc = CLI_FAILED;
		} else {
			rc = cli_error(e, "cannot read remote '%s'",
				       name ? name : "origin");
		}
		mlfs_store_close(*s);
		*s = NULL;
	}
	return rc;
}

void remote_progress(void *ctx, uint64_t done, uint64_t total)
{
	const double *t0 = ctx;
	double dt = mlfs_now() - *t0, rate = dt > 0 ? (double)done / dt : 0;
	char a[32], b[32];

	if (!isatty(2))
		return;
	fprintf(stderr, "\rpacks: %s of %s, %.1f MB/s, ETA %.0f s   ",
		cli_human_bytes(done, a, sizeof(a)),
		cli_human_bytes(total, b, sizeof(b)), rate / 1e6,
		rate > 0 ? (double)(total - done) / rate : 0.0);
	if (done >= total)
		fputc('\n', stderr);
}

int remote_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v > (UINT64_MAX >> shift) || (v << shift) < (1u << 20))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int remote_where_opt(const char *cmd, int ch, struct remote_where *w)
{
	switch (ch) {
	case 'e':
		w->endpoint = optarg;
		return 1;
	case 'r':
		w->region = optarg;
		return 1;
	case 'v':
		w->vhost = true;
		return 1;
	case 'c':
		if (remote_parse_size(optarg, &w->cache_size) < 0)
			return cli_usage_error(cmd, "--cache-size takes a size "
					       "of at least 1M, not '%s'",
					       optarg);
		return 1;
	default:
		return 0;
	}
}

int remote_where_make(const char *name, const char *url,
		      const struct remote_where *w, const char *what,
		      struct mlfs_remote *r)
{
	int e;

	mlfs_error_clear();
	e = mlfs_remote_make(name, url, w->endpoint, w->region, w->vhost, r);
	if (e == -EINVAL) {
		/* the detail says which of name or URL, and why */
		fprintf(stderr, "mlfs: %s\n", mlfs_error_detail());
		mlfs_error_clear();
		return CLI_USAGE;
	}
	if (e < 0)
		return cli_error(e, "%s", what);
	r->cache_size = w->cache_size;
	return CLI_OK;
}
