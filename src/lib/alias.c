/*
 * alias.c - aliases on top of meta_alias.c and the audit log. Every
 * change writes its row and its audit record in one transaction, so the
 * records of "alias:NAME" are the alias's whole history; history and
 * rollback replay them as a stack of targets and insist that the replay
 * ends where the row is (docs/design.md#aliases).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/alias.h"
#include "store_impl.h"

/* "alias:" + name: the audit records' ref. */
#define REF_MAX (6 + MLFS_NAME_MAX + 1)

int mlfs_alias_get(struct mlfs_store *s, int64_t repo_id, const char *name,
		   struct mlfs_id *commit)
{
	return mlfs_meta_alias_get(s->meta, repo_id, name, commit);
}

int mlfs_alias_list(struct mlfs_store *s, int64_t repo_id,
		    struct mlfs_alias **out, size_t *n)
{
	return mlfs_meta_alias_list(s->meta, repo_id, out, n);
}

/* A name being set must also be one a new alias may take. */
static int check_name(const char *name, bool setting)
{
	const char *why;

	if ((setting ? mlfs_ref_name_check(name, &why) :
		       mlfs_name_check(name, &why)) < 0) {
		mlfs_error_set("%s", why);
		return -EINVAL;
	}
	return 0;
}

static int need_reason(const char *reason, const char *what,
		       const char *name)
{
	if (reason && reason[0])
		return 0;
	mlfs_error_set("%s alias '%s' needs a reason (-m)", what, name);
	return -EINVAL;
}

/* A tag, a branch and an alias of one repository never share a name,
 * so "@NAME" means one thing in every store this mlfs writes. */
static int name_free(struct mlfs_store *s, const struct mlfs_repo *repo,
		     const char *name)
{
	static const enum mlfs_ref_kind kinds[] = { MLFS_REF_TAG,
						    MLFS_REF_BRANCH };
	struct mlfs_id at;

	for (size_t i = 0; i < MLFS_ARRAY_SIZE(kinds); i++) {
		int r = mlfs_meta_ref_get(s->meta, repo->id, kinds[i], name,
					  &at);

		if (r == 0) {
			mlfs_error_set("name '%s' is taken by a %s of "
				       "'%s/%s'", name,
				       kinds[i] == MLFS_REF_TAG ? "tag" :
				       "branch", repo->ns, repo->name);
			return -EEXIST;
		}
		if (r != -ENOENT)
			return r;
	}
	return 0;
}

/* @commit must be a commit of @repo, and verify. */
static int check_target(struct mlfs_store *s, const struct mlfs_repo *repo,
			const struct mlfs_id *commit)
{
	char hex[MLFS_ID_HEX_LEN + 1];
	struct mlfs_commit c;
	int r = mlfs_meta_commit_get(s->meta, commit, &c);

	if (r == 0) {
		if (c.repo_id != repo->id)
			r = -ENOENT;
		mlfs_meta_commit_release(&c);
	}
	if (r == -ENOENT) {
		mlfs_id_to_hex(commit, hex);
		mlfs_error_set("commit %.12s is not a version of '%s/%s'", hex,
			       repo->ns, repo->name);
	}
	return r;
}

static int record(struct mlfs_store *s, const struct mlfs_repo *repo,
		  const char *op, const char *name,
		  const struct mlfs_id *old, const struct mlfs_id *now,
		  const char *reason)
{
	char ref[REF_MAX];
	struct mlfs_audit_event ev = {
		.op = op,
		.ns = repo->ns,
		.name = repo->name,
		.ref = ref,
		.old_commit = old,
		.new_commit = now,
		.message = reason && reason[0] ? reason : NULL,
	};

	snprintf(ref, sizeof(ref), "alias:%s", name);
	return mlfs_audit_append(s, &ev);
}

static int history_damaged(const struct mlfs_repo *repo, const char *name,
			   const struct mlfs_audit_record *rec,
			   const char *why)
{
	mlfs_error_set("history of alias '%s' of '%s/%s': audit record %lld "
		       "%s (damaged database)", name, repo->ns, repo->name,
		       (long long)rec->id, why);
	return -EIO;
}

static bool same(const struct mlfs_id *a, const struct mlfs_id *b)
{
	return !mlfs_id_cmp(a, b);
}

/*
 * Replay the records @rec (oldest first) as a stack of targets into
 * @stack (room for @n): create starts it, move pushes, rollback pops,
 * delete empties it. Each record must follow from the ones before (its
 * old commit the top, a rollback's new one the target below): a record
 * edited to say otherwise is damage, not a new history.
 */
static int replay(const struct mlfs_repo *repo, const char *name,
		  const struct mlfs_audit_record *rec, size_t n,
		  struct mlfs_id *stack, size_t *depth)
{
	size_t d = 0;

	for (size_t i = 0; i < n; i++) {
		const struct mlfs_audit_record *e = &rec[i];
		const char *op = e->op ? e->op : "";
		bool top_is_old = e->has_old && d && same(&stack[d - 1],
							  &e->old_commit);

		if (e->damaged)
			return history_damaged(repo, name, e, "is damaged");
		if (!strcmp(op, "alias-create") && e->has_new && !e->has_old) {
			/* Starts afresh even over a stack left by records
			 * of a repository of the same name before. */
			stack[0] = e->new_commit;
			d = 1;
		} else if (!strcmp(op, "alias-move") && e->has_new &&
			   top_is_old) {
			stack[d++] = e->new_commit;
		} else if (!strcmp(op, "rollback") && e->has_new &&
			   top_is_old && d >= 2 &&
			   same(&stack[d - 2], &e->new_commit)) {
			d--;
		} else if (!strcmp(op, "alias-delete") && !e->has_new &&
			   top_is_old) {
			d = 0;
		} else {
			return history_damaged(repo, name, e, "does not "
					       "follow from the records "
					       "before it");
		}
	}
	*depth = d;
	return 0;
}

/* The alias's records, verified, replayed, and checked to end at its
 * row. *rec (free with mlfs_audit_records_free) and, when @stack is not
 * NULL, *stack (free) and *depth; *cur gets the row's commit when it
 * exists (*has_cur). */
static int load_history(struct mlfs_store *s, const struct mlfs_repo *repo,
			const char *name, struct mlfs_audit_record **rec,
			size_t *n, struct mlfs_id **stack, size_t *depth,
			struct mlfs_id *cur, bool *has_cur)
{
	char ref[REF_MAX], hex[MLFS_ID_HEX_LEN + 1];
	struct mlfs_audit_filter f = { .ns = repo->ns, .name = repo->name,
				       .ref = ref };
	struct mlfs_id *st = NULL;
	size_t d = 0;
	int r;

	*rec = NULL;
	*n = 0;
	r = mlfs_meta_alias_get(s->meta, repo->id, name, cur);
	if (r < 0 && r != -ENOENT)
		return r;
	*has_cur = r == 0;
	snprintf(ref, sizeof(ref), "alias:%s", name);
	r = mlfs_audit_list(s, &f, rec, n);
	if (r < 0)
		return r;
	st = malloc((*n ? *n : 1) * sizeof(*st));
	if (!st) {
		r = -ENOMEM;
		goto out;
	}
	r = replay(repo, name, *rec, *n, st, &d);
	if (r < 0)
		goto out;
	if (*has_cur && (!d || !same(&st[d - 1], cur))) {
		mlfs_id_to_hex(cur, hex);
		mlfs_error_set("alias '%s' of '%s/%s' names %.12s, which its "
			       "history does not lead to (damaged database)",
			       name, repo->ns, repo->name, hex);
		r = -EIO;
	} else if (!*has_cur && d) {
		mlfs_error_set("alias '%s' of '%s/%s' is missing; its history "
			       "says it exists (damaged database)", name,
			       repo->ns, repo->name);
		r = -EIO;
	}
out:
	if (r < 0 || !stack) {
		free(st);
		if (r < 0) {
			mlfs_audit_records_free(*rec, *n);
			*rec = NULL;
			*n = 0;
		}
	} else {
		*stack = st;
		*depth = d;
	}
	return r;
}

int mlfs_alias_history(struct mlfs_store *s, const struct mlfs_repo *repo,
		       const char *name, struct mlfs_audit_record **out,
		       size_t *n)
{
	struct mlfs_id cur;
	bool has_cur, began;
	int r = check_name(name, false);

	if (r < 0)
		return r;
	/* One snapshot: the row and the records agree as committed. */
	began = mlfs_meta_read_begin(s->meta);
	r = load_history(s, repo, name, out, n, NULL, NULL, &cur, &has_cur);
	mlfs_meta_read_end(s->meta, began);
	return r;
}

/* Run @fn in a write transaction: its change and its record commit or
 * roll back together. @fn returns 0 (commit), 1 (nothing to change:
 * roll back, and succeed) or -errno (roll back). */
static int in_txn(struct mlfs_store *s, int (*fn)(struct mlfs_store *s,
						   void *ctx), void *ctx)
{
	int r;

	if (s->rdonly)
		return -EROFS;
	r = mlfs_meta_begin(s->meta);
	if (r < 0)
		return r;
	r = fn(s, ctx);
	if (r == 1) { /* nothing to change */
		mlfs_meta_rollback(s->meta);
		return 0;
	}
	if (r < 0) {
		mlfs_meta_rollback(s->meta);
		return r;
	}
	return mlfs_meta_commit(s->meta);
}

struct change {
	const struct mlfs_repo *repo;
	const char *name;
	const struct mlfs_id *commit; /* set: the target */
	const char *reason;
	struct mlfs_alias_change res;
};

static int set_txn(struct mlfs_store *s, void *ctx)
{
	struct change *c = ctx;
	int r = check_target(s, c->repo, c->commit);

	if (r == 0)
		r = name_free(s, c->repo, c->name);
	if (r < 0)
		return r;
	r = mlfs_meta_alias_get(s->meta, c->repo->id, c->name, &c->res.old);
	if (r < 0 && r != -ENOENT)
		return r;
	c->res.had_old = r == 0;
	c->res.now = *c->commit;
	if (c->res.had_old && same(&c->res.old, c->commit))
		return 1;
	if (c->res.had_old) {
		r = need_reason(c->reason, "moving", c->name);
		if (r < 0)
			return r;
	}
	r = mlfs_meta_alias_set(s->meta, c->repo->id, c->name, c->commit);
	if (r == 0)
		r = record(s, c->repo, c->res.had_old ? "alias-move" :
			   "alias-create", c->name,
			   c->res.had_old ? &c->res.old : NULL, c->commit,
			   c->reason);
	c->res.changed = r == 0;
	return r;
}

int mlfs_alias_set(struct mlfs_store *s, const struct mlfs_repo *repo,
		   const char *name, const struct mlfs_id *commit,
		   const char *reason, struct mlfs_alias_change *out)
{
	struct change c = { repo, name, commit, reason, { 0 } };
	int r = check_name(name, true);

	if (r == 0)
		r = in_txn(s, set_txn, &c);
	if (r == 0 && out)
		*out = c.res;
	return r;
}

static int delete_txn(struct mlfs_store *s, void *ctx)
{
	struct change *c = ctx;
	int r = mlfs_meta_alias_get(s->meta, c->repo->id, c->name,
				    &c->res.old);

	if (r == -ENOENT)
		mlfs_error_set("no alias '%s' in '%s/%s'", c->name,
			       c->repo->ns, c->repo->name);
	if (r < 0)
		return r;
	c->res.had_old = true;
	r = mlfs_meta_alias_delete(s->meta, c->repo->id, c->name);
	if (r == 0)
		r = record(s, c->repo, "alias-delete", c->name, &c->res.old,
			   NULL, c->reason);
	c->res.changed = r == 0;
	return r;
}

int mlfs_alias_delete(struct mlfs_store *s, const struct mlfs_repo *repo,
		      const char *name, const char *reason,
		      struct mlfs_alias_change *out)
{
	struct change c = { repo, name, NULL, reason, { 0 } };
	int r = check_name(name, false);

	if (r == 0)
		r = need_reason(reason, "deleting", name);
	if (r == 0)
		r = in_txn(s, delete_txn, &c);
	if (r == 0 && out)
		*out = c.res;
	return r;
}

static int rollback_txn(struct mlfs_store *s, void *ctx)
{
	struct change *c = ctx;
	struct mlfs_audit_record *rec = NULL;
	struct mlfs_id *stack = NULL;
	size_t n = 0, d = 0;
	bool has_cur;
	int r = load_history(s, c->repo, c->name, &rec, &n, &stack, &d,
			     &c->res.old, &has_cur);

	if (r < 0)
		return r;
	if (!has_cur) {
		mlfs_error_set("no alias '%s' in '%s/%s'", c->name,
			       c->repo->ns, c->repo->name);
		r = -ENOENT;
	} else if (d < 2) {
		mlfs_error_set("alias '%s' of '%s/%s' has no earlier target "
			       "to roll back to", c->name, c->repo->ns,
			       c->repo->name);
		r = -ENODATA;
	}
	if (r == 0) {
		c->res.had_old = true;
		c->res.now = stack[d - 2];
		r = check_target(s, c->repo, &c->res.now);
	}
	if (r == 0)
		r = mlfs_meta_alias_set(s->meta, c->repo->id, c->name,
					&c->res.now);
	if (r == 0)
		r = record(s, c->repo, "rollback", c->name, &c->res.old,
			   &c->res.now, c->reason);
	c->res.changed = r == 0;
	free(stack);
	mlfs_audit_records_free(rec, n);
	return r;
}

int mlfs_alias_rollback(struct mlfs_store *s, const struct mlfs_repo *repo,
			const char *name, const char *reason,
			struct mlfs_alias_change *out)
{
	struct change c = { repo, name, NULL, reason, { 0 } };
	int r = check_name(name, false);

	if (r == 0)
		r = need_reason(reason, "rolling back", name);
	if (r == 0)
		r = in_txn(s, rollback_txn, &c);
	if (r == 0 && out)
		*out = c.res;
	return r;
}
