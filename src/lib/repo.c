/*
 * repo.c - repositories, refs and reference resolution on top of meta.c.
 * Resolution order for "@word": tag, then branch, then alias, then
 * commit-id prefix (tags win, as in git's refs/tags before refs/heads;
 * an alias never takes a tag's or branch's name, docs/cli.md#references).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlfs/audit.h"
#include "mlfs/remote.h"
#include "mlfs/repo.h"
#include "store_impl.h"

int mlfs_repo_get(struct mlfs_store *s, const char *ns, const char *name,
		  struct mlfs_repo *out)
{
	return mlfs_meta_repo_get(s->meta, ns, name, out);
}

int mlfs_repo_create(struct mlfs_store *s, const char *ns, const char *name,
		     struct mlfs_repo *out)
{
	const struct mlfs_audit_event ev = { .op = "repo-create", .ns = ns,
					     .name = name };
	const char *why;
	int r;

	if (mlfs_name_check(ns, &why) < 0 || mlfs_name_check(name, &why) < 0) {
		mlfs_error_set("%s", why);
		return -EINVAL;
	}
	if (s->rdonly)
		return -EROFS;
	r = mlfs_meta_begin(s->meta);
	if (r < 0)
		return r;
	/* Looked up in the transaction: two creators race to one row. */
	r = mlfs_meta_repo_get(s->meta, ns, name, out);
	if (r == 0) {
		mlfs_error_set("repository '%s/%s' already exists", ns, name);
		r = -EEXIST;
	} else if (r == -ENOENT) {
		r = mlfs_meta_repo_create(s->meta, ns, name, out);
	}
	if (r == 0)
		r = mlfs_audit_append(s, &ev);
	if (r < 0) {
		mlfs_meta_rollback(s->meta);
		return r;
	}
	return mlfs_meta_commit(s->meta);
}

int mlfs_repo_list(struct mlfs_store *s, struct mlfs_repo **out, size_t *n)
{
	return mlfs_meta_repo_list(s->meta, out, n);
}

void mlfs_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int mlfs_namespace_list(struct mlfs_store *s, char ***out, size_t *n)
{
	struct mlfs_repo *repos;
	size_t nr, cnt = 0;
	char **v;
	int r = mlfs_repo_list(s, &repos, &nr);

	if (r < 0)
		return r;
	v = calloc(nr ? nr : 1, sizeof(*v));
	if (!v) {
		free(repos);
		return -ENOMEM;
	}
	/* Repos come sorted by ns: distinct namespaces are the changes. */
	for (size_t i = 0; i < nr; i++) {
		if (cnt && !strcmp(v[cnt - 1], repos[i].ns))
			continue;
		v[cnt] = strdup(repos[i].ns);
		if (!v[cnt]) {
			mlfs_strv_free(v, cnt);
			free(repos);
			return -ENOMEM;
		}
		cnt++;
	}
	free(repos);
	*out = v;
	*n = cnt;
	return 0;
}

int mlfs_commit_get(struct mlfs_store *s, const struct mlfs_id *id,
		    struct mlfs_commit *out)
{
	return mlfs_meta_commit_get(s->meta, id, out);
}

/* A commit reached through history (a ref, then parents): one without
 * its row is damage, named, never the end of the history. */
static int history_commit_get(struct mlfs_store *s, const struct mlfs_id *id,
			      struct mlfs_commit *out)
{
	char hex[MLFS_ID_HEX_LEN + 1];
	int r = mlfs_commit_get(s, id, out);

	if (r != -ENOENT)
		return r;
	mlfs_id_to_hex(id, hex);
	mlfs_error_set("commit %s of the history is missing (damaged "
		       "database)", hex);
	return -EIO;
}

void mlfs_commit_release(struct mlfs_commit *c)
{
	mlfs_meta_commit_release(c);
}

void mlfs_commit_list_free(struct mlfs_commit *v, size_t n)
{
	mlfs_meta_commit_list_free(v, n);
}

int mlfs_ref_list(struct mlfs_store *s, int64_t repo_id, int kind,
		  struct mlfs_ref **out, size_t *n)
{
	return mlfs_meta_ref_list(s->meta, repo_id, kind, out, n);
}

int mlfs_reflog_list(struct mlfs_store *s, int64_t repo_id,
		     struct mlfs_reflog_entry **out, size_t *n)
{
	return mlfs_meta_reflog_list(s->meta, repo_id, out, n);
}

int mlfs_ref_get(struct mlfs_store *s, int64_t repo_id,
		 enum mlfs_ref_kind kind, const char *name,
		 struct mlfs_id *commit)
{
	return mlfs_meta_ref_get(s->meta, repo_id, kind, name, commit);
}

/* The audit record of a ref created (@old NULL) or deleted (@new NULL);
 * in the caller's transaction. */
static int audit_ref(struct mlfs_store *s, int64_t repo_id,
		     enum mlfs_ref_kind kind, const char *name,
		     const struct mlfs_id *old, const struct mlfs_id *new)
{
	bool tag = kind == MLFS_REF_TAG;
	struct mlfs_audit_event ev = { .old_commit = old, .new_commit = new };
	char ref[MLFS_NAME_MAX + 8];
	struct mlfs_repo repo;
	int r = mlfs_meta_repo_get_id(s->meta, repo_id, &repo);

	if (r < 0)
		return r;
	snprintf(ref, sizeof(ref), "%s:%s", tag ? "tag" : "branch", name);
	ev.op = tag ? (new ? "tag-create" : "tag-delete") :
		      (new ? "branch-create" : "branch-delete");
	ev.ns = repo.ns;
	ev.name = repo.name;
	ev.ref = ref;
	return mlfs_audit_append(s, &ev);
}

/* A tag or branch never takes an alias's name: "@NAME" means one thing
 * (docs/cli.md#references). */
static int alias_free(struct mlfs_store *s, int64_t repo_id,
		      const char *name)
{
	struct mlfs_repo repo;
	struct mlfs_id at;
	int r = mlfs_meta_alias_get(s->meta, repo_id, name, &at);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (mlfs_meta_repo_get_id(s->meta, repo_id, &repo) == 0)
		mlfs_error_set("name '%s' is taken by an alias of "
			       "'%s/%s'", name, repo.ns, repo.name);
	return -EEXIST;
}

int mlfs_ref_create(struct mlfs_store *s, int64_t repo_id,
		    enum mlfs_ref_kind kind, const char *name,
		    const struct mlfs_id *commit)
{
	struct mlfs_commit c;
	struct mlfs_id old;
	const char *why;
	int r;

	if (mlfs_ref_name_check(name, &why) < 0) {
		mlfs_error_set("%s", why);
		return -EINVAL;
	}
	r = mlfs_meta_begin(s->meta);
	if (r < 0)
		return r;
	r = mlfs_meta_commit_get(s->meta, commit, &c);
	if (r == 0) {
		if (c.repo_id != repo_id)
			r = -ENOENT;
		mlfs_commit_release(&c);
	}
	if (r == 0) {
		r = mlfs_meta_ref_get(s->meta, repo_id, kind, name, &old);
		r = r == 0 ? -EEXIST : r == -ENOENT ? 0 : r;
	}
	if (r == 0)
		r = alias_free(s, repo_id, name);
	if (r == 0)
		r = mlfs_meta_ref_set(s->meta, repo_id, kind, name, commit,
				      (int64_t)time(NULL));
	if (r == 0)
		r = audit_ref(s, repo_id, kind, name, NULL, commit);
	if (r < 0) {
		mlfs_meta_rollback(s->meta);
		return r;
	}
	return mlfs_meta_commit(s->meta);
}

int mlfs_ref_delete(struct mlfs_store *s, int64_t repo_id,
		    enum mlfs_ref_kind kind, const char *name)
{
	struct mlfs_repo repo;
	struct mlfs_id old;
	int r;

	r = mlfs_meta_begin(s->meta);
	if (r < 0)
		return r;
	r = mlfs_meta_repo_get_id(s->meta, repo_id, &repo);
	if (r == 0 && kind == MLFS_REF_BRANCH &&
	    !strcmp(name, repo.default_branch))
		r = -EBUSY;
	/* the record says what the name pointed at; a damaged ref row
	 * may still be deleted, its old commit then unknown */
	if (r == 0) {
		r = mlfs_meta_ref_get(s->meta, repo_id, kind, name, &old);
		if (r == -EIO || r == -EBADMSG)
			r = 1;
	}
	if (r >= 0) {
		bool known = r == 0;

		r = mlfs_meta_ref_delete(s->meta, repo_id, kind, name,
					 (int64_t)time(NULL));
		if (r == 0)
			r = audit_ref(s, repo_id, kind, name,
				      known ? &old : NULL, NULL);
	}
	if (r < 0) {
		mlfs_meta_rollback(s->meta);
		return r;
	}
	return mlfs_meta_commit(s->meta);
}

static int commit_foreign(const struct mlfs_id *id)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(id, hex);
	mlfs_error_set("commit %s belongs to another repository (damaged "
		       "database)", hex);
	return -EIO;
}

/* Resolve a hex prefix among @repo_id's commits. */
static int resolve_prefix(struct mlfs_store *s, int64_t repo_id,
			  const char *hex, struct mlfs_id *out,
			  struct mlfs_id **candidates, size_t *ncand)
{
	char lo_hex[MLFS_ID_HEX_LEN + 1], hi_hex[MLFS_ID_HEX_LEN + 1];
	size_t len = strlen(hex), n;
	struct mlfs_id lo, hi, *v;
	int r;

	for (size_t i = 0; i < MLFS_ID_HEX_LEN; i++) {
		char c = i < len ? hex[i] : 0;

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		lo_hex[i] = c ? c : '0';
		hi_hex[i] = c ? c : 'f';
	}
	lo_hex[MLFS_ID_HEX_LEN] = hi_hex[MLFS_ID_HEX_LEN] = '\0';
	if (mlfs_id_from_hex(lo_hex, &lo) < 0 ||
	    mlfs_id_from_hex(hi_hex, &hi) < 0)
		return -EINVAL;
	r = mlfs_meta_commit_range(s->meta, repo_id, &lo, &hi, 16, &v, &n);
	if (r < 0)
		return r;
	if (n == 1) {
		*out = v[0];
		free(v);
		return 0;
	}
	if (n == 0) {
		free(v);
		return -ENOENT;
	}
	if (candidates) {
		*candidates = v;
		*ncand = n;
	} else {
		free(v);
	}
	return -ENOTUNIQ;
}

/* 1 when the store has remote @name, 0 when not, or -errno. */
static int have_remote(struct mlfs_store *s, const char *name)
{
	struct mlfs_remote row;
	int r = mlfs_meta_remote_get(s->meta, name, &row);

	if (r == 0)
		mlfs_remote_release(&row);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

int mlfs_refspec_settle(struct mlfs_store *s, struct mlfs_refspec *spec)
{
	int r;

	if (!spec->remote[0] || !spec->alt_path)
		return 0;
	r = have_remote(s, spec->remote);
	if (r < 0)
		return r;
	if (r == 0) {
		memcpy(spec->rev, spec->remote, sizeof(spec->rev));
		spec->remote[0] = '\0';
		spec->back = 0;
		free(spec->path);
		spec->path = spec->alt_path;
	} else {
		free(spec->alt_path);
	}
	spec->alt_path = NULL;
	return 0;
}

/* Branch @spec->rev of remote @spec->remote, as last seen there. */
static int resolve_tracking(struct mlfs_store *s,
			    const struct mlfs_refspec *spec,
			    const struct mlfs_repo *repo, struct mlfs_id *cur)
{
	struct mlfs_id id;
	int r = have_remote(s, spec->remote);

	/* No remote X, but X is a ref here: "@X/Y" was a path where the
	 * command takes none (a usage error, as before remotes) */
	if (r == 0 && (mlfs_is_hex_prefix(spec->remote) ||
		       mlfs_ref_get(s, repo->id, MLFS_REF_TAG, spec->remote,
				    &id) == 0 ||
		       mlfs_ref_get(s, repo->id, MLFS_REF_BRANCH, spec->remote,
				    &id) == 0 ||
		       mlfs_meta_alias_get(s->meta, repo->id, spec->remote,
					   &id) == 0)) {
		mlfs_error_set("a path is not allowed here; name only "
			       "<namespace>/<name>[@<ref>] ('%s' is no "
			       "remote)", spec->remote);
		return -EINVAL;
	}
	if (r == 0) {
		mlfs_error_clear();
		mlfs_error_set("no remote '%s' (see 'mlfs remote list')",
			       spec->remote);
		return -ENOENT;
	}
	if (r < 0)
		return r;
	if (!spec->rev[0]) {
		mlfs_error_set("'@%s/' names no branch: write '@%s/BRANCH' "
			       "(see 'mlfs branch -r %s/%s')", spec->remote,
			       spec->remote, spec->ns, spec->name);
		return -EINVAL;
	}
	r = mlfs_meta_track_get(s->meta, spec->remote, repo->id, spec->rev,
				cur);
	if (r == -ENOENT)
		mlfs_error_set("remote '%s' had no branch '%s' of '%s/%s' when "
			       "last fetched (see 'mlfs branch -r %s/%s')",
			       spec->remote, spec->rev, spec->ns, spec->name,
			       spec->ns, spec->name);
	return r;
}

int mlfs_resolve(struct mlfs_store *s, const struct mlfs_refspec *spec,
		 struct mlfs_resolved *out, struct mlfs_id **candidates,
		 size_t *ncand)
{
	struct mlfs_refspec settled;
	const char *branch = NULL;
	int64_t now = (int64_t)time(NULL);
	struct mlfs_commit head;
	struct mlfs_id cur;
	int r, rt = -ENOENT, rb = -ENOENT, ra = -ENOENT;
	bool by_id = false;

	memset(out, 0, sizeof(*out));
	if (candidates)
		*candidates = NULL;
	if (spec->remote[0] && spec->alt_path) {
		/* the reading mlfs_refspec_settle would pick, on a shallow
		 * copy: its strings stay the caller's */
		r = have_remote(s, spec->remote);
		if (r < 0)
			return r;
		if (r == 0) {
			settled = *spec;
			memcpy(settled.rev, spec->remote, sizeof(settled.rev));
			settled.remote[0] = '\0';
			settled.back = 0;
			spec = &settled;
		}
	}
	r = mlfs_repo_get(s, spec->ns, spec->name, &out->repo);
	if (r == -ENOENT)
		mlfs_error_set("no repository '%s/%s'", spec->ns, spec->name);
	if (r < 0)
		return r;
	if (spec->remote[0]) {
		r = resolve_tracking(s, spec, &out->repo, &cur);
		if (r < 0)
			return r;
		/* moves with every fetch: never immutable */
		out->rev_kind = MLFS_REF_TRACK;
	} else if (mlfs_is_full_id(spec->rev) &&
		   (r = resolve_prefix(s, out->repo.id, spec->rev, &cur, NULL,
				       NULL)) != -ENOENT) {
		/* A whole id names its commit for good: before any name
		 * (new names cannot look like one; older stores may hold
		 * such a name, reached when no commit has its id). */
		if (r < 0)
			return r;
		by_id = true;
	} else if (spec->rev[0]) {
		/* A damaged tag or branch row is an error, never a reason
		 * to try the next kind of name: that would serve another
		 * version. */
		rt = mlfs_ref_get(s, out->repo.id, MLFS_REF_TAG, spec->rev,
				  &cur);
		if (rt == -ENOENT)
			rb = mlfs_ref_get(s, out->repo.id, MLFS_REF_BRANCH,
					  spec->rev, &cur);
		if (rt == -ENOENT && rb == -ENOENT)
			ra = mlfs_meta_alias_get(s->meta, out->repo.id,
						 spec->rev, &cur);
		if ((rt < 0 && rt != -ENOENT) || (rb < 0 && rb != -ENOENT))
			return rt != -ENOENT ? rt : rb;
		if (ra < 0 && ra != -ENOENT)
			return ra;
	}
	if (spec->remote[0]) {
		/* @cur is the tracking ref's commit */
	} else if (by_id) {
		out->rev_kind = 'c';
		out->immutable = true;
	} else if (!spec->rev[0] || (rt == -ENOENT && rb == -ENOENT &&
				     ra == -ENOENT && !spec->has_date &&
				     !strcmp(spec->rev,
					     out->repo.default_branch))) {
		branch = out->repo.default_branch;
		out->rev_kind = MLFS_REF_BRANCH;
	} else if (rt == 0) {
		/* Tags can be deleted and made again elsewhere: not
		 * immutable, unlike a commit id. */
		out->rev_kind = MLFS_REF_TAG;
	} else if (rb == 0) {
		branch = spec->rev;
		out->rev_kind = MLFS_REF_BRANCH;
	} else if (ra == 0) {
		/* Moved by design: never immutable. */
		out->rev_kind = MLFS_REF_ALIAS;
	} else if (mlfs_is_hex_prefix(spec->rev)) {
		r = resolve_prefix(s, out->repo.id, spec->rev, &cur,
				   candidates, ncand);
		if (r == -ENOENT)
			mlfs_error_set("no tag, branch, alias or commit '%s' "
				       "in '%s/%s'", spec->rev, spec->ns,
				       spec->name);
		else if (r == -ENOTUNIQ)
			mlfs_error_set("commit prefix '%s' is ambiguous",
				       spec->rev);
		if (r < 0)
			return r;
		out->rev_kind = 'c';
		out->immutable = true;
	} else if (spec->has_date) {
		/* A deleted branch still has its history: "@dev@{date}". */
		branch = spec->rev;
		out->rev_kind = MLFS_REF_BRANCH;
	} else {
		mlfs_error_set("no tag, branch, alias or commit '%s' in "
			       "'%s/%s'", spec->rev, spec->ns, spec->name);
		return -ENOENT;
	}
	if (spec->has_date) {
		if (!branch) {
			mlfs_error_set("'@{date}' applies to branches, and "
				       "'%s' is not one (%s)", spec->rev,
				       out->rev_kind == MLFS_REF_ALIAS ?
				       "it is an alias; its changes: 'mlfs "
				       "alias --history'" :
				       out->rev_kind == MLFS_REF_TAG ?
				       "it is a tag" : "it is a commit id");
			return -EINVAL;
		}
		r = mlfs_meta_reflog_at(s->meta, out->repo.id, branch,
					spec->date, &cur);
		if (r == -ENOENT)
			mlfs_error_set("branch '%s' of '%s/%s' did not exist "
				       "at that time", branch, spec->ns,
				       spec->name);
		if (r < 0)
			return r;
		out->immutable = spec->date < now;
	} else if (branch) {
		r = mlfs_ref_get(s, out->repo.id, MLFS_REF_BRANCH, branch,
				 &cur);
		/* The default branch cannot be deleted: when it is
		 * missing, it was never made (an empty repository, as
		 * after `git init`). */
		out->unborn = r == -ENOENT &&
			      !strcmp(branch, out->repo.default_branch);
		if (out->unborn)
			mlfs_error_set("'%s/%s' has no commits yet (branch "
				       "'%s' is unborn)", spec->ns,
				       spec->name, branch);
		else if (r == -ENOENT)
			mlfs_error_set("branch '%s' of '%s/%s' does not exist",
				       branch, spec->ns, spec->name);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < spec->back; i++) {
		struct mlfs_commit c;

		r = history_commit_get(s, &cur, &c);
		if (r < 0)
			return r;
		if (!c.has_parent) {
			mlfs_commit_release(&c);
			mlfs_error_set("history of '%s/%s' from there has "
				       "only %u commit%s", spec->ns, spec->name,
				       i + 1, i ? "s" : "");
			return -ENOENT;
		}
		cur = c.parent;
		mlfs_commit_release(&c);
	}
	/* The name led to a commit: it must verify and be this
	 * repository's own. */
	r = mlfs_commit_get(s, &cur, &head);
	if (r == -ENOENT) {
		mlfs_error_set("'%s/%s@%s%s%s' names a commit that is not in "
			       "the store (damaged database)", spec->ns,
			       spec->name, spec->remote,
			       spec->remote[0] ? "/" : "",
			       spec->rev[0] ? spec->rev :
			       out->repo.default_branch);
		return -EIO;
	}
	if (r < 0)
		return r;
	if (head.repo_id != out->repo.id)
		r = commit_foreign(&cur);
	mlfs_commit_release(&head);
	if (r < 0)
		return r;
	out->commit = cur;
	return 0;
}

int mlfs_commit_history(struct mlfs_store *s, const struct mlfs_id *start,
			size_t max, struct mlfs_commit **out, size_t *n)
{
	struct mlfs_commit *v = NULL;
	size_t cnt = 0, cap = 0;
	struct mlfs_id cur = *start;
	int r = 0;

	for (;;) {
		if (max && cnt == max)
			break;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct mlfs_commit *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		r = history_commit_get(s, &cur, &v[cnt]);
		if (r < 0)
			break;
		cnt++;
		if (!v[cnt - 1].has_parent)
			break;
		cur = v[cnt - 1].parent;
	}
	if (r < 0) {
		mlfs_commit_list_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int mlfs_commit_list_all(struct mlfs_store *s, int64_t repo_id,
			 struct mlfs_commit **out, size_t *n)
{
	return mlfs_meta_commit_all(s->meta, repo_id, out, n);
}
