/*
 * vmeta.c - a version's key/value metadata in the store: reading a
 * commit's rows (each checked by meta_vmeta.c against its check value)
 * and changing them, each change with its audit record in the same
 * transaction. Rows written with a new commit come from ingest.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/audit.h"
#include "mlfs/vmeta.h"
#include "store_impl.h"

void mlfs_vmeta_changes_free(struct mlfs_vmeta_change *c, size_t n)
{
	if (!c)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].key);
		free(c[i].old);
		free(c[i].new);
	}
	free(c);
}

static int row_damaged(const struct mlfs_meta_kv *kv)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(&kv->commit, hex);
	mlfs_error_set("metadata '%.128s' of commit %s: check value mismatch "
		       "(damaged database)", kv->key, hex);
	return -EIO;
}

/* The rows of @commit, every one verified. */
static int load_rows(struct mlfs_store *s, const struct mlfs_id *commit,
		     struct mlfs_meta_kv **rows, size_t *n)
{
	int r = mlfs_meta_vmeta_list(s->meta, commit, rows, n);

	for (size_t i = 0; r == 0 && i < *n; i++)
		if ((*rows)[i].damaged)
			r = row_damaged(&(*rows)[i]);
	if (r < 0) {
		mlfs_meta_kv_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	return r;
}

int mlfs_vmeta_get(struct mlfs_store *s, const struct mlfs_id *commit,
		   struct mlfs_kv_list *out)
{
	struct mlfs_meta_kv *rows = NULL;
	struct mlfs_kv *nv;
	size_t n = 0;
	int r = load_rows(s, commit, &rows, &n);

	if (r < 0 || n == 0)
		goto out;
	nv = realloc(out->v, (out->n + n) * sizeof(*nv));
	if (!nv) {
		r = -ENOMEM;
		goto out;
	}
	out->v = nv;
	out->cap = out->n + n;
	/* The strings move to @out; the rows keep nothing to free. */
	for (size_t i = 0; i < n; i++) {
		out->v[out->n++] = (struct mlfs_kv){ rows[i].key,
						     rows[i].value };
		rows[i].key = rows[i].value = NULL;
	}
	mlfs_kv_list_sort(out);
out:
	mlfs_meta_kv_free(rows, n);
	return r;
}

static const struct mlfs_meta_kv *row_find(const struct mlfs_meta_kv *rows,
					   size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].key, key))
			return &rows[i];
	return NULL;
}

/* The requested changes against the current @rows, checked, in
 * @ch (key order); nothing is written. */
static int plan(const struct mlfs_meta_kv *rows, size_t nrows,
		const struct mlfs_kv_list *set, char *const *unset,
		size_t nunset, struct mlfs_vmeta_change *ch, size_t *nch)
{
	size_t total = nrows;
	const struct mlfs_meta_kv *cur;
	const struct mlfs_kv *kv;
	int r;

	*nch = 0;
	for (size_t i = 0; i < nunset; i++) {
		r = mlfs_vmeta_check_key(unset[i]);
		if (r < 0)
			return r;
		if (set && mlfs_kv_list_find(set, unset[i])) {
			mlfs_error_set("key '%s' is both set and unset",
				       unset[i]);
			return -EINVAL;
		}
		cur = row_find(rows, nrows, unset[i]);
		if (!cur) {
			mlfs_error_set("no key '%s'", unset[i]);
			return -ENOENT;
		}
		for (size_t j = 0; j < *nch; j++)
			if (!strcmp(ch[j].key, unset[i]))
				cur = NULL; /* named twice: once is enough */
		if (!cur)
			continue;
		ch[*nch].key = strdup(cur->key);
		ch[*nch].old = strdup(cur->value);
		if (!ch[(*nch)++].key || !ch[*nch - 1].old)
			return -ENOMEM; /* the caller frees the *nch slots */
		total--;
	}
	for (size_t i = 0; set && i < set->n; i++) {
		kv = &set->v[i];
		r = mlfs_vmeta_check_key(kv->key);
		if (r == 0)
			r = mlfs_vmeta_check_value(kv->key, kv->value,
						   strlen(kv->value));
		if (r < 0)
			return r;
		cur = row_find(rows, nrows, kv->key);
		if (cur && !strcmp(cur->value, kv->value))
			continue;
		if (!cur)
			total++;
		ch[*nch].key = strdup(kv->key);
		ch[*nch].new = strdup(kv->value);
		ch[*nch].old = cur ? strdup(cur->value) : NULL;
		(*nch)++;
		if (!ch[*nch - 1].key || !ch[*nch - 1].new ||
		    (cur && !ch[*nch - 1].old))
			return -ENOMEM;
	}
	if (total > MLFS_VMETA_PAIRS_MAX) {
		mlfs_error_set("a version holds at most %d keys",
			       MLFS_VMETA_PAIRS_MAX);
		return -E2BIG;
	}
	return 0;
}

static int change_cmp(const void *a, const void *b)
{
	const struct mlfs_vmeta_change *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* Write the changes and their audit records; in the transaction. */
static int apply(struct mlfs_store *s, const char *ns, const char *name,
		 const struct mlfs_id *commit,
		 const struct mlfs_vmeta_change *ch, size_t n)
{
	struct mlfs_audit_event ev = { 0 };
	char ref[MLFS_VMETA_KEY_MAX + 8];
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (ch[i].new)
			r = mlfs_meta_vmeta_put(s->meta, commit, ch[i].key,
						ch[i].new);
		else
			r = mlfs_meta_vmeta_delete(s->meta, commit,
						   ch[i].key);
		if (r < 0)
			break;
		snprintf(ref, sizeof(ref), "meta:%s", ch[i].key);
		ev.op = ch[i].new ? "meta-set" : "meta-unset";
		ev.ns = ns;
		ev.name = name;
		ev.ref = ref;
		ev.new_commit = commit;
		ev.message = ch[i].new;
		r = mlfs_audit_append(s, &ev);
	}
	return r;
}

/* -ENOENT unless @commit is a commit of @ns/@name. */
static int check_commit(struct mlfs_store *s, const char *ns,
			const char *name, const struct mlfs_id *commit)
{
	struct mlfs_repo repo;
	struct mlfs_commit c;
	char hex[MLFS_ID_HEX_LEN + 1];
	int r = mlfs_meta_repo_get(s->meta, ns, name, &repo);

	if (r == 0)
		r = mlfs_meta_commit_get(s->meta, commit, &c);
	if (r == 0) {
		if (c.repo_id != repo.id)
			r = -ENOENT;
		mlfs_commit_release(&c);
	}
	if (r == -ENOENT) {
		mlfs_id_to_hex(commit, hex);
		mlfs_error_set("no commit %s in '%s/%s'", hex, ns, name);
	}
	return r;
}

int mlfs_vmeta_update(struct mlfs_store *s, const char *ns, const char *name,
		      const struct mlfs_id *commit,
		      const struct mlfs_kv_list *set, char *const *unset,
		      size_t nunset, struct mlfs_vmeta_change **changes,
		      size_t *nchanges)
{
	struct mlfs_meta_kv *rows = NULL;
	struct mlfs_vmeta_change *ch;
	size_t nrows = 0, nch = 0, max = nunset + (set ? set->n : 0);
	int r;

	if (changes)
		*changes = NULL;
	if (nchanges)
		*nchanges = 0;
	if (s->rdonly)
		return -EROFS;
	ch = calloc(max ? max : 1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	r = mlfs_meta_begin(s->meta);
	if (r < 0)
		goto out;
	r = check_commit(s, ns, name, commit);
	if (r == 0)
		r = load_rows(s, commit, &rows, &nrows);
	if (r == 0)
		r = plan(rows, nrows, set, unset, nunset, ch, &nch);
	if (r == 0) {
		qsort(ch, nch, sizeof(*ch), change_cmp);
		r = apply(s, ns, name, commit, ch, nch);
	}
	if (r < 0)
		mlfs_meta_rollback(s->meta);
	else
		r = mlfs_meta_commit(s->meta);
out:
	mlfs_meta_kv_free(rows, nrows);
	if (r == 0 && nchanges)
		*nchanges = nch;
	if (r == 0 && changes)
		*changes = ch;
	else
		mlfs_vmeta_changes_free(ch, nch);
	return r;
}
