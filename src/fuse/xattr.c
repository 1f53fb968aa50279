/*
 * xattr.c - the extended attributes a mount shows: user.mlfs.commit on
 * every node of a version (the commit it belongs to) and user.mlfs.digest
 * on its files (the content digest), both as lower-case hex. Relies on the
 * inode map (inode.c) for the node's identity; setting is refused (ops.c).
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <string.h>

#include "ops.h"

#define XATTR_COMMIT "user.mlfs.commit"
#define XATTR_DIGEST "user.mlfs.digest"

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
	size_t len = 0;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind == MLFS_NODE_ENTRY && n->type == MLFS_ENTRY_FILE)
		len = sizeof(both);
	else if (n->kind == MLFS_NODE_VERSION || n->kind == MLFS_NODE_ENTRY)
		len = sizeof(XATTR_COMMIT);
	reply_xattr(req, both, len, size);
}
