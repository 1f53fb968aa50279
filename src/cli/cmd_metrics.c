/*
 * cmd_metrics.c - mlfs metrics: the metrics of a repository's versions
 * side by side, one row per version (commit, the refs at it, time) and
 * one column per metric key. Values are shown as stored, never
 * re-formatted; only the sort reads them as numbers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mlfs/alias.h"
#include "mlfs/vmeta.h"

static const char usage[] =
	"usage: mlfs metrics NS/NAME [REF]... [--sort KEY[:asc|:desc]] "
	"[--json]\n\n"
	"Show the metrics (metadata whose value is a number) of every version\n"
	"of NS/NAME, newest first, or of the versions REF... in that order:\n"
	"one row per version (commit, refs pointing at it, time), one column\n"
	"per metric key; '-' where a version has none.\n"
	"      --sort KEY   highest KEY first (KEY:asc lowest first);\n"
	"                   versions without KEY last\n"
	"      --json       one object per version\n";

struct row {
	struct mlfs_commit c;   /* owned strings */
	struct mlfs_kv_list kv; /* the version's metrics only */
	size_t depth;           /* 1 + ancestors in the table (set_depths) */
	size_t order;           /* position before sorting */
	double sort_val;
	bool has_sort;
};

struct table {
	struct row *rows;
	size_t n;
	struct mlfs_ref *refs;
	size_t nref;
	struct mlfs_alias *aliases;
	size_t nalias;
	char **keys; /* union of metric keys, sorted; borrowed from rows */
	size_t nkeys;
};

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		mlfs_commit_release(&t->rows[i].c);
		mlfs_kv_list_release(&t->rows[i].kv);
	}
	free(t->rows);
	free(t->refs);
	free(t->aliases);
	free(t->keys);
}

static void iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Keep only the metrics of @r's metadata. */
static void keep_metrics(struct mlfs_kv_list *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (mlfs_vmeta_is_metric(l->v[i].value, NULL)) {
			l->v[k++] = l->v[i];
		} else {
			free(l->v[i].key);
			free(l->v[i].value);
		}
	}
	l->n = k;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted union of every row's keys. */
static int collect_keys(struct table *t)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < t->n; i++)
		total += t->rows[i].kv.n;
	t->keys = calloc(total ? total : 1, sizeof(*t->keys));
	if (!t->keys)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->rows[i].kv.n; j++)
			t->keys[k++] = t->rows[i].kv.v[j].key;
	qsort(t->keys, k, sizeof(*t->keys), cmp_str);
	t->nkeys = 0;
	for (size_t i = 0; i < k; i++)
		if (!t->nkeys || strcmp(t->keys[t->nkeys - 1], t->keys[i]))
			t->keys[t->nkeys++] = t->keys[i];
	return 0;
}

static int cmp_row_ptr(const void *a, const void *b)
{
	const struct row *x = *(struct row *const *)a;
	const struct row *y = *(struct row *const *)b;

	return mlfs_id_cmp(&x->c.id, &y->c.id);
}

static int cmp_id_row_ptr(const void *key, const void *e)
{
	return mlfs_id_cmp(key, &(*(struct row *const *)e)->c.id);
}

/* Set each row's ->depth to 1 + the number of its first-parent
 * ancestors in the set, which orders commits made in the same second
 * (a child after its parent). Each chain is walked once: O(n log n).
 * The chain is acyclic by construction (an id covers its parent); the
 * bound on a walk guards anyway. Returns 0 or -ENOMEM. */
static int set_depths(struct row *rows, size_t n)
{
	struct row **by_id = malloc((n ? n : 1) * sizeof(*by_id));
	size_t *parent = malloc((n ? n : 1) * sizeof(*parent));
	size_t *path = malloc((n ? n : 1) * sizeof(*path));
	int r = 0;

	if (!by_id || !parent || !path) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		by_id[i] = &rows[i];
	qsort(by_id, n, sizeof(*by_id), cmp_row_ptr);
	for (size_t i = 0; i < n; i++) {
		struct row **hit = rows[i].c.has_parent ?
			bsearch(&rows[i].c.parent, by_id, n, sizeof(*by_id),
				cmp_id_row_ptr) : NULL;

		parent[i] = hit ? (size_t)(*hit - rows) : n;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = 0, j = i, base;

		while (j < n && !rows[j].depth && len < n) {
			path[len++] = j;
			j = parent[j];
		}
		base = j < n ? rows[j].depth : 0;
		while (len)
			rows[path[--len]].depth = ++base;
	}
out:
	free(by_id);
	free(parent);
	free(path);
	return r;
}

static int cmp_newest(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->c.time != y->c.time)
		return x->c.time < y->c.time ? 1 : -1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? 1 : -1;
	return mlfs_id_cmp(&x->c.id, &y->c.id);
}

/* @asc points to a bool: lowest first. */
static int cmp_metric(const void *a, const void *b, void *asc)
{
	const struct row *x = a, *y = b;
	bool sort_asc = *(const bool *)asc;

	if (x->has_sort != y->has_sort)
		return x->has_sort ? -1 : 1;
	if (x->has_sort && x->sort_val != y->sort_val)
		return (x->sort_val < y->sort_val) == sort_asc ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Append the row of commit @c (taken over) with its metrics. */
static int add_row(struct mlfs_store *s, struct table *t,
		   struct mlfs_commit *c, size_t *cap)
{
	struct row *nr, *r;
	int e;

	if (t->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;

		nr = realloc(t->rows, nc * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		t->rows = nr;
		*cap = nc;
	}
	r = &t->rows[t->n];
	memset(r, 0, sizeof(*r));
	r->c = *c;
	memset(c, 0, sizeof(*c));
	r->order = t->n++;
	e = mlfs_vmeta_get(s, &r->c.id, &r->kv);
	if (e == 0)
		keep_metrics(&r->kv);
	return e;
}

/* Every commit of the repository, newest first. */
static int rows_all(struct mlfs_store *s, const struct mlfs_repo *repo,
		    struct table *t)
{
	struct mlfs_commit *v = NULL;
	size_t n = 0, cap = 0;
	int r = mlfs_commit_list_all(s, repo->id, &v, &n);

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (v[i].damaged) {
			char hex[MLFS_ID_HEX_LEN + 1];

			mlfs_id_to_hex(&v[i].id, hex);
			mlfs_error_set("commit %s: damaged (see 'mlfs fsck')",
				       hex);
			r = -EIO;
			break;
		}
		r = add_row(s, t, &v[i], &cap);
	}
	mlfs_commit_list_free(v, n);
	if (r < 0)
		return r;
	r = set_depths(t->rows, t->n);
	if (r < 0)
		return r;
	qsort(t->rows, t->n, sizeof(*t->rows), cmp_newest);
	for (size_t i = 0; i < t->n; i++)
		t->rows[i].order = i;
	return 0;
}

/* A JSON number for the stored text @v: itself when it is one (JSON
 * has no "+1", ".5" or "7."), else the double it reads as. */
static void json_number(const char *v)
{
	const char *p = v;
	double d = 0;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		goto other;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			goto other;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			goto other;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (!*p) {
		fputs(v, stdout);
		return;
	}
other:
	(void)mlfs_vmeta_is_metric(v, &d); /* a metric: always true */
	printf("%.17g", d);
}

static void add_name(struct mlfs_buf *b, const char *name)
{
	if ((b->len && mlfs_buf_append(b, ",", 1) < 0) ||
	    mlfs_buf_append(b, name, strlen(name)) < 0)
		b->len = 0;
}

/* The tags, branches, then aliases at @c joined by "," (as mlfs du
 * shows them): "main,v2,prod". */
static void refs_text(const struct table *t, const struct mlfs_id *c,
		      struct mlfs_buf *b)
{
	b->len = 0;
	for (size_t i = 0; i < t->nref; i++)
		if (!t->refs[i].damaged && !mlfs_id_cmp(&t->refs[i].commit, c))
			add_name(b, t->refs[i].name);
	for (size_t i = 0; i < t->nalias; i++)
		if (!t->aliases[i].damaged &&
		    !mlfs_id_cmp(&t->aliases[i].commit, c))
			add_name(b, t->aliases[i].name);
	if (mlfs_buf_append(b, "", 1) < 0)
		b->len = 0;
}

static void print_json(const struct table *t)
{
	char hex[MLFS_ID_HEX_LEN + 1], when[32];

	printf("[");
	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		bool any = false;

		mlfs_id_to_hex(&r->c.id, hex);
		iso_time(r->c.time, when, sizeof(when));
		printf("%s{\"commit\": \"%s\", \"refs\": [", i ? ", " : "",
		       hex);
		for (size_t j = 0; j < t->nref; j++) {
			if (t->refs[j].damaged ||
			    mlfs_id_cmp(&t->refs[j].commit, &r->c.id))
				continue;
			printf("%s", any ? ", " : "");
			cli_json_str(stdout, t->refs[j].name);
			any = true;
		}
		printf("], \"aliases\": [");
		any = false;
		for (size_t j = 0; j < t->nalias; j++) {
			if (t->aliases[j].damaged ||
			    mlfs_id_cmp(&t->aliases[j].commit, &r->c.id))
				continue;
			printf("%s", any ? ", " : "");
			cli_json_str(stdout, t->aliases[j].name);
			any = true;
		}
		printf("], \"time\": %lld, \"date\": \"%s\", \"metrics\": {",
		       (long long)r->c.time, when);
		for (size_t j = 0; j < r->kv.n; j++) {
			printf("%s", j ? ", " : "");
			cli_json_str(stdout, r->kv.v[j].key);
			printf(": ");
			json_number(r->kv.v[j].value);
		}
		printf("}}");
	}
	printf("]\n");
}

/* Where a cell's text is made; valid until the next cell. */
struct cell_buf {
	char hex[MLFS_ID_HEX_LEN + 1];
	char when[32];
	struct mlfs_buf refs;
};

static const char *cell(const struct table *t, size_t row, size_t col,
			struct cell_buf *b)
{
	const struct row *r = &t->rows[row];
	const struct mlfs_kv *kv;

	switch (col) {
	case 0:
		mlfs_id_to_hex(&r->c.id, b->hex);
		b->hex[12] = '\0';
		return b->hex;
	case 1:
		refs_text(t, &r->c.id, &b->refs);
		return b->refs.len > 1 ? (const char *)b->refs.data : "-";
	case 2:
		iso_time(r->c.time, b->when, sizeof(b->when));
		return b->when;
	default:
		kv = mlfs_kv_list_find(&r->kv, t->keys[col - 3]);
		return kv ? kv->value : "-";
	}
}

/* Columns padded to their widest cell, two spaces apart; the last one
 * not padded. */
static int print_text(const struct table *t)
{
	static const char *const fixed[] = { "commit", "refs", "time" };
	size_t ncol = 3 + t->nkeys, *w = calloc(ncol, sizeof(*w));
	struct cell_buf b = { .refs = MLFS_BUF_INIT };

	if (!w)
		return -ENOMEM;
	for (size_t c = 0; c < ncol; c++) {
		w[c] = strlen(c < 3 ? fixed[c] : t->keys[c - 3]);
		for (size_t r = 0; r < t->n; r++) {
			size_t l = strlen(cell(t, r, c, &b));

			w[c] = l > w[c] ? l : w[c];
		}
	}
	for (size_t r = 0; r <= t->n; r++) {
		for (size_t c = 0; c < ncol; c++) {
			const char *v = r == 0 ? (c < 3 ? fixed[c] :
					t->keys[c - 3]) : cell(t, r - 1, c, &b);

			if (c + 1 < ncol)
				printf("%-*s  ", (int)w[c], v);
			else
				printf("%s\n", v);
		}
	}
	mlfs_buf_release(&b.refs);
	free(w);
	return 0;
}

/* The rows of the versions @refs named on the command line, in order. */
static int rows_named(struct mlfs_store *s, const char *repo_arg,
		      char **refs, int nrefs, struct table *t)
{
	size_t cap = 0;
	int r = CLI_OK;

	for (int i = 0; i < nrefs; i++) {
		struct mlfs_refspec spec;
		struct mlfs_resolved res;
		struct mlfs_commit c;
		char *arg = NULL;

		if (asprintf(&arg, "%s@%s", repo_arg, refs[i]) < 0)
			return cli_error(-ENOMEM, "out of memory");
		r = cli_resolve(s, arg, false, &spec, &res);
		free(arg);
		if (r)
			return r;
		mlfs_refspec_release(&spec);
		r = mlfs_commit_get(s, &res.commit, &c);
		if (r == 0)
			r = add_row(s, t, &c, &cap);
		if (r < 0)
			return cli_error(r, "cannot read version '%s@%s'",
					 repo_arg, refs[i]);
	}
	return CLI_OK;
}

/* "KEY", "KEY:asc" or "KEY:desc" into @key (NUL-terminated in place). */
static int parse_sort(char *arg, bool *asc)
{
	char *colon = strrchr(arg, ':');

	*asc = false;
	if (colon && (!strcmp(colon, ":asc") || !strcmp(colon, ":desc"))) {
		*asc = !strcmp(colon, ":asc");
		*colon = '\0';
	}
	return mlfs_vmeta_check_key(arg);
}

int cmd_metrics(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct table t = { 0 };
	struct mlfs_store *s = NULL;
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	const char *why;
	char *sort = NULL, detail[512];
	bool have_sort = false, sort_asc = false;
	int opt, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'j') {
			c->json = true;
		} else if (opt == 's') {
			sort = optarg;
		} else {
			return cli_usage_error("metrics", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("metrics", "expected NS/NAME");
	if (sort && parse_sort(sort, &sort_asc) < 0) {
		snprintf(detail, sizeof(detail), "%s", mlfs_error_detail());
		mlfs_error_clear();
		return cli_usage_error("metrics", "--sort: %s", detail);
	}
	if (mlfs_refspec_parse(argv[optind], 0, &spec, &why) < 0)
		return cli_usage_error("metrics", "bad repository '%s': %s",
				       argv[optind], why);
	r = spec.rev[0] || spec.has_date || spec.back;
	mlfs_refspec_release(&spec);
	if (r)
		return cli_usage_error("metrics", "expected NS/NAME, then the "
				       "refs as separate arguments");
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	r = cli_resolve_unborn(s, argv[optind], false, &spec, &res);
	if (r)
		goto out;
	mlfs_refspec_release(&spec);
	if (optind + 1 < argc)
		r = rows_named(s, argv[optind], argv + optind + 1,
			       argc - optind - 1, &t);
	else if (!res.unborn && (r = rows_all(s, &res.repo, &t)) < 0)
		r = cli_error(r, "cannot read the versions of '%s'",
			      argv[optind]);
	if (r)
		goto out;
	r = mlfs_ref_list(s, res.repo.id, 0, &t.refs, &t.nref);
	if (r == 0)
		r = mlfs_alias_list(s, res.repo.id, &t.aliases, &t.nalias);
	if (r == 0)
		r = collect_keys(&t);
	if (r < 0) {
		r = cli_error(r, "cannot read '%s'", argv[optind]);
		goto out;
	}
	for (size_t i = 0; sort && i < t.n; i++) {
		const struct mlfs_kv *kv = mlfs_kv_list_find(&t.rows[i].kv,
							     sort);

		t.rows[i].has_sort = kv && mlfs_vmeta_is_metric(kv->value,
						&t.rows[i].sort_val);
		have_sort |= t.rows[i].has_sort;
	}
	if (sort && t.n && !have_sort) {
		r = cli_error(0, "no version of '%s' has the metric '%s'",
			      argv[optind], sort);
		goto out;
	}
	if (sort)
		qsort_r(t.rows, t.n, sizeof(*t.rows), cmp_metric, &sort_asc);
	if (c->json)
		print_json(&t);
	else if (print_text(&t) < 0)
		r = cli_error(-ENOMEM, "out of memory");
out:
	table_release(&t);
	mlfs_store_close(s);
	return r;
}
