/*
 * xattr.c - the extended attributes a mount shows: user.mlfs.commit on
 * every node of a version (the commit it belongs to) and user.mlfs.digest
 * on its files (the content digest), both as lower-case hex; and
 * user.mlfs.meta.<key> on a version's root directory, and read-only on a
 * working tree's root (its head's), with the value bytes of the version
 * metadata (mlfs/vmeta.h). Metadata is read from the store at each call:
 * the kernel does not cache xattrs, so `mlfs meta` is seen at once.
 * Relies on the inode map (inode.c) for the node's identity; setting on
 * versions is refused (ops.c).
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/vmeta.h"
#include "mlfs/worktree.h"
#include "ops.h"

#define XATTR_COMMIT "user.mlfs.commit"
#define XATTR_DIGEST "user.mlfs.digest"
#define XATTR_META "user.mlfs.meta."
#define XATTR_META_LEN (sizeof(XATTR_META) - 1)

static void reply_xattr(fuse_req_t req, const char *val, size_t len,
			size_t size)
{
	if (!size)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

bool mlfs_xattr_is_meta(const char *name)
{
	return !strncmp(name, XATTR_META, XATTR_META_LEN);
}

/* The metadata of @commit; damage is logged (the reply is only EIO). */
static int load_meta(struct mlfs_fs *fs, const struct mlfs_id *commit,
		     struct mlfs_kv_list *l)
{
	char hex[MLFS_ID_HEX_LEN + 1];
	int r = mlfs_vmeta_get(fs->store, commit, l);

	if (r == -EIO || r == -EBADMSG) {
		mlfs_id_to_hex(commit, hex);
		mlfs_fs_log(fs, "metadata of %s: %s", hex,
			    mlfs_error_detail());
	}
	return r;
}

/* Reply with the value of user.mlfs.meta.<key> @name of @commit. */
static void get_meta(fuse_req_t req, const struct mlfs_id *commit,
		     const char *name, size_t size)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT;
	const struct mlfs_kv *kv;
	int r = load_meta(fs_of(req), commit, &l);

	if (r < 0) {
		fuse_reply_err(req, -r);
	} else {
		kv = mlfs_kv_list_find(&l, name + XATTR_META_LEN);
		if (kv)
			reply_xattr(req, kv->value, strlen(kv->value), size);
		else
			fuse_reply_err(req, ENODATA);
	}
	mlfs_kv_list_release(&l);
}

/* Append "user.mlfs.meta.<key>\0" for each key of @commit to @b. */
static int list_meta(struct mlfs_fs *fs, const struct mlfs_id *commit,
		     struct mlfs_buf *b)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT;
	int r = load_meta(fs, commit, &l);

	for (size_t i = 0; r == 0 && i < l.n; i++) {
		r = mlfs_buf_append(b, XATTR_META, XATTR_META_LEN);
		if (r == 0)
			r = mlfs_buf_append(b, l.v[i].key,
					    strlen(l.v[i].key) + 1);
	}
	mlfs_kv_list_release(&l);
	return r;
}

void mlfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      size_t size)
{
	struct mlfs_node *n = mlfs_itable_get(&fs_of(req)->itable, ino);
	char hex[MLFS_ID_HEX_LEN + 1];
	bool versioned;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	versioned = n->kind == MLFS_NODE_VERSION || n->kind == MLFS_NODE_ENTRY;
	if (n->kind == MLFS_NODE_VERSION && mlfs_xattr_is_meta(name)) {
		get_meta(req, &n->commit, name, size);
		return;
	}
	if (versioned && !strcmp(name, XATTR_COMMIT)) {
		mlfs_id_to_hex(&n->commit, hex);
	} else if (n->kind == MLFS_NODE_ENTRY && n->type == MLFS_ENTRY_FILE &&
		   !strcmp(name, XATTR_DIGEST)) {
		mlfs_id_to_hex(&n->id, hex);
	} else {
		fuse_reply_err(req, ENODATA);
		return;
	}
	reply_xattr(req, hex, strlen(hex), size);
}

void mlfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	static const char both[] = XATTR_COMMIT "\0" XATTR_DIGEST;
	struct mlfs_node *n = mlfs_itable_get(&fs_of(req)->itable, ino);
	struct mlfs_buf b = MLFS_BUF_INIT;
	size_t len = 0;
	int r;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind == MLFS_NODE_VERSION) {
		r = mlfs_buf_append(&b, XATTR_COMMIT, sizeof(XATTR_COMMIT));
		if (r == 0)
			r = list_meta(fs_of(req), &n->commit, &b);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			reply_xattr(req, (const char *)b.data, b.len, size);
		mlfs_buf_release(&b);
		return;
	}
	if (n->kind == MLFS_NODE_ENTRY && n->type == MLFS_ENTRY_FILE)
		len = sizeof(both);
	else if (n->kind == MLFS_NODE_ENTRY)
		len = sizeof(XATTR_COMMIT);
	reply_xattr(req, both, len, size);
}

/* ---- working-tree roots: their head's metadata, read-only ---- */

/* Whether @n is the root of its working tree; its head in @head. */
static bool wt_root_head(struct mlfs_node *n, struct mlfs_id *head)
{
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1];
	char branch[MLFS_NAME_MAX + 1];
	struct mlfs_wt_attr a;
	bool has_base = false;

	if (mlfs_wt_root(n->wt, &a) < 0 || a.ino != n->ino)
		return false;
	mlfs_wt_describe(n->wt, ns, name, branch, &has_base, head);
	return has_base;
}

void mlfs_op_wt_getxattr(fuse_req_t req, struct mlfs_node *n,
			 const char *name, size_t size)
{
	struct mlfs_id head;
	struct mlfs_wt_attr a;

	if (!mlfs_xattr_is_meta(name)) {
		mlfs_wt_op_getxattr(req, n, name, size);
	} else if (wt_root_head(n, &head)) {
		get_meta(req, &head, name, size);
	} else if (mlfs_wt_root(n->wt, &a) == 0 && a.ino == n->ino) {
		fuse_reply_err(req, ENODATA); /* no head: no metadata */
	} else {
		mlfs_wt_op_getxattr(req, n, name, size);
	}
}

void mlfs_op_wt_listxattr(fuse_req_t req, struct mlfs_node *n, size_t size)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id head;
	size_t len = 0;
	int r;

	if (!wt_root_head(n, &head)) {
		mlfs_wt_op_listxattr(req, n, size);
		return;
	}
	/* The tree's own names first (a user.mlfs.meta.* set before this
	 * rule would show twice; it cannot be set any more), then the
	 * head's. */
	r = mlfs_wt_listxattr(n->wt, n->ino, NULL, 0, &len);
	if (r == 0)
		r = mlfs_buf_reserve(&b, len + 1);
	if (r == 0)
		r = mlfs_wt_listxattr(n->wt, n->ino, (char *)b.data, len + 1,
				      &b.len);
	if (r == 0)
		r = list_meta(fs_of(req), &head, &b);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_xattr(req, (const char *)b.data, b.len, size);
	mlfs_buf_release(&b);
}

void mlfs_op_wt_setxattr(fuse_req_t req, struct mlfs_node *n,
			 const char *name, const char *value, size_t size,
			 int flags)
{
	struct mlfs_wt_attr a;

	/* Metadata belongs to versions and is set with `mlfs meta`. */
	if (mlfs_xattr_is_meta(name) && mlfs_wt_root(n->wt, &a) == 0 &&
	    a.ino == n->ino)
		fuse_reply_err(req, EROFS);
	else
		mlfs_wt_op_setxattr(req, n, name, value, size, flags);
}

void mlfs_op_wt_removexattr(fuse_req_t req, struct mlfs_node *n,
			    const char *name)
{
	struct mlfs_wt_attr a;

	if (mlfs_xattr_is_meta(name) && mlfs_wt_root(n->wt, &a) == 0 &&
	    a.ino == n->ino)
		fuse_reply_err(req, EROFS);
	else
		mlfs_wt_op_removexattr(req, n, name);
}
