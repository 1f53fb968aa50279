/*
 * ops.h - what the low-level callbacks share: ops.c (lookups, files, the
 * mlfs_fuse_ops table), read.c (open files), dir.c (listings) and
 * xattr.c. Private to those; cmd_mount.c and the rest of src/fuse see
 * only mount.h. Includers define FUSE_USE_VERSION first, as for
 * <fuse_lowlevel.h>.
 */
#ifndef MLFS_FUSE_OPS_H
#define MLFS_FUSE_OPS_H

#include <fuse_lowlevel.h>

#include "mount.h"

static inline struct mlfs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ---- lookups (ops.c) ---- */

/*
 * Look @name up in @p and count one kernel lookup of the result. A name
 * absent from a version (which can never change) returns 1, so the caller
 * can let the kernel cache the negative entry; elsewhere -ENOENT.
 */
MLFS_MUST_CHECK int mlfs_fs_lookup(struct mlfs_fs *fs, struct mlfs_node *p,
				   const char *name,
				   struct fuse_entry_param *e);

/* mlfs_fs_lookup() of entry @ent of directory @p's tree (readdirplus: the
 * entry is at hand, no search). Returns 0 or -ENOMEM. */
MLFS_MUST_CHECK int mlfs_fs_lookup_entry(struct mlfs_fs *fs,
					 struct mlfs_node *p,
					 const struct mlfs_entry *ent,
					 struct fuse_entry_param *e);

/* A lookup or listing of @name in @n (@name NULL: of @n itself) failed
 * with @r. Damage (-EIO: verification failed; -EBADMSG: malformed) is
 * logged with the path and mlfs_error_detail() and becomes -EIO, what a
 * reader should see; other errors are returned as they are. */
MLFS_MUST_CHECK int mlfs_fs_damage(struct mlfs_fs *fs,
				   const struct mlfs_node *n,
				   const char *name, const char *op, int r);

/* ---- directories (dir.c) ---- */

/* A lookup found a non-directory in @dir: readdirplus gives attributes
 * again if @dir was listed with names only. */
void mlfs_dir_saw_lookup(struct mlfs_fs *fs, struct mlfs_node *dir);

void mlfs_op_opendir(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi);
void mlfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		     off_t off, struct fuse_file_info *fi);
void mlfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi);
void mlfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi);

/* ---- files of versions (read.c) ---- */

void mlfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mlfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi);
void mlfs_op_release(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi);

/* ---- extended attributes (xattr.c) ---- */

void mlfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      size_t size);
void mlfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

#endif
