/*
 * ops.h - what the low-level callbacks share: ops.c (the mlfs_fuse_ops
 * table), lookup.c (names), log.c, read.c (open files of versions),
 * wt.c (working trees), control.c (commands), dir.c (listings),
 * notify.c (kernel cache invalidation) and xattr.c. Private to those;
 * cmd_mount.c and the rest of src/fuse see only mount.h. Includers
 * define FUSE_USE_VERSION first, as for <fuse_lowlevel.h>.
 */
#ifndef MLFS_FUSE_OPS_H
#define MLFS_FUSE_OPS_H

#include <fuse_lowlevel.h>

#include "mount.h"

static inline struct mlfs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ---- lookups (lookup.c) ---- */

/* stat(2) of version node @n; its kernel attribute timeout. */
void mlfs_fs_stat(const struct mlfs_fs *fs, const struct mlfs_node *n,
		  struct stat *st);
double mlfs_fs_attr_timeout(const struct mlfs_node *n);
/* Is @ns a namespace (of a repository, or made by mkdir)? 0, -ENOENT. */
MLFS_MUST_CHECK int mlfs_fs_ns_exists(struct mlfs_fs *fs, const char *ns);

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

/* (log.c) A lookup or listing of @name in @n (@name NULL: of @n itself) failed
 * with @r. Damage (-EIO: verification failed; -EBADMSG: malformed) is
 * logged with the path and mlfs_error_detail() and becomes -EIO, what a
 * reader should see; other errors are returned as they are. */
MLFS_MUST_CHECK int mlfs_fs_damage(struct mlfs_fs *fs,
				   const struct mlfs_node *n,
				   const char *name, const char *op, int r);

/* ---- kernel cache invalidation (notify.c) ---- */

/* A batch of names and inodes for the kernel to forget; NULL when @se is
 * NULL (no session yet) or out of memory, which the others take. */
struct mlfs_inval;
struct mlfs_inval *mlfs_inval_new(struct fuse_session *se);
/* Add node @id and, when @name is not NULL, its entry @name in @parent.
 * Returns 0 or -ENOMEM (the batch still sends what it holds). */
MLFS_MUST_CHECK int mlfs_inval_add(struct mlfs_inval *j, uint64_t id,
				   uint64_t parent, const char *name);
/* Send @j and free it: here when @wait (a caller that holds no lock a
 * request could wait for, and no request whose lock the kernel's
 * invalidation would wait for: an entry's inside its directory), else
 * from a thread of its own. */
void mlfs_inval_send(struct mlfs_inval *j, bool wait);
/* Make the kernel forget node @id's attributes and cached pages (a
 * directory's: its listing) now, as mlfs_inval_send() with @wait; no
 * session (@se NULL): nothing. */
void mlfs_inval_inode_now(struct fuse_session *se, uint64_t id);

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

struct mlfs_lin_read;

/* One open of a file of a version (fi->fh). */
struct mlfs_vopen {
	struct mlfs_lin_read *rd;   /* lineage counter, or NULL */
};

/* Serve a read of [@off, @off + @size) of @f (a version's file, or a
 * working tree's still stored bytes), adding what is served to @rd
 * (NULL: nothing). */
void mlfs_read_ofile(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct mlfs_ofile *f, struct mlfs_lin_read *rd);
/* Within an OPEN of @n (@ino) whose reply keeps the page cache: the first
 * such open of a file of up to MLFS_PUSH_MAX bytes (any such open when
 * @again) stores them all in the page cache, checked as a read checks
 * them (nothing when a check fails), adding them to @rd. @f: the open's
 * state (NULL: the node's, loaded). Returns whether it stored them. */
bool mlfs_push_open(fuse_req_t req, fuse_ino_t ino, struct mlfs_node *n,
		    struct mlfs_ofile *f, struct mlfs_lin_read *rd, bool again);

void mlfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mlfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi);
void mlfs_op_release(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi);

/* ---- working trees (wt.c) ---- */

struct mlfs_wt_dirent;

/* Lookup of "<name>[@<branch>]" in namespace node @ns_node: when it names
 * a branch head of a writable store, its working tree's root (0); 1 when
 * it is not one (a version then); -errno. */
MLFS_MUST_CHECK int mlfs_fs_wt_root(struct mlfs_fs *fs,
				    struct mlfs_node *ns_node, const char *ns,
				    const char *comp,
				    struct fuse_entry_param *e);
MLFS_MUST_CHECK int mlfs_fs_wt_lookup(struct mlfs_fs *fs,
				      struct mlfs_node *p, const char *name,
				      struct fuse_entry_param *e);
MLFS_MUST_CHECK int mlfs_fs_wt_listing(struct mlfs_fs *fs,
				       struct mlfs_node *n,
				       struct mlfs_wt_dirent **v, size_t *nv);
/* Make the kernel forget what it holds of @wt (its base changed). */
void mlfs_fs_wt_invalidate(struct mlfs_fs *fs, struct mlfs_wt *wt,
			   bool wait);
void mlfs_wt_op_getattr(fuse_req_t req, struct mlfs_node *n);
void mlfs_wt_op_readlink(fuse_req_t req, struct mlfs_node *n);
void mlfs_wt_op_mknod(fuse_req_t req, struct mlfs_node *p, const char *name,
		      mode_t mode, dev_t rdev);
void mlfs_wt_op_mkdir(fuse_req_t req, struct mlfs_node *p, const char *name,
		      mode_t mode);
void mlfs_wt_op_symlink(fuse_req_t req, const char *link,
			struct mlfs_node *p, const char *name);
void mlfs_wt_op_remove(fuse_req_t req, struct mlfs_node *p, const char *name,
		       bool dir);
void mlfs_wt_op_rename(fuse_req_t req, struct mlfs_node *p, const char *name,
		       struct mlfs_node *np, const char *newname,
		       unsigned flags);
void mlfs_wt_op_link(fuse_req_t req, struct mlfs_node *n,
		     struct mlfs_node *np, const char *newname);
void mlfs_wt_op_setattr(fuse_req_t req, struct mlfs_node *n,
			struct stat *attr, int to_set);
void mlfs_wt_op_open(fuse_req_t req, struct mlfs_node *n,
		     struct fuse_file_info *fi);
void mlfs_wt_op_create(fuse_req_t req, struct mlfs_node *p, const char *name,
		       mode_t mode, struct fuse_file_info *fi);
void mlfs_wt_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void mlfs_wt_op_write(fuse_req_t req, const char *buf, size_t size,
		      off_t off, struct fuse_file_info *fi);
void mlfs_wt_op_fallocate(fuse_req_t req, int mode, off_t offset,
			  off_t length, struct fuse_file_info *fi);
void mlfs_wt_op_fsync(fuse_req_t req, int datasync,
		      struct fuse_file_info *fi);
void mlfs_wt_op_fsyncdir(fuse_req_t req, struct mlfs_node *n);
void mlfs_wt_op_release(fuse_req_t req, struct fuse_file_info *fi);
void mlfs_wt_op_setxattr(fuse_req_t req, struct mlfs_node *n,
			 const char *name, const char *value, size_t size,
			 int flags);
void mlfs_wt_op_getxattr(fuse_req_t req, struct mlfs_node *n,
			 const char *name, size_t size);
void mlfs_wt_op_listxattr(fuse_req_t req, struct mlfs_node *n, size_t size);
void mlfs_wt_op_removexattr(fuse_req_t req, struct mlfs_node *n,
			    const char *name);

/* ---- extended attributes (xattr.c) ---- */

void mlfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      size_t size);
void mlfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
/* Whether @name is a user.mlfs.meta.<key> (version metadata). */
bool mlfs_xattr_is_meta(const char *name);
/* Working-tree nodes: the root shows its head's user.mlfs.meta.*
 * read-only (EROFS on set/remove); every other name goes to the
 * working tree's own xattrs (wt.c). */
void mlfs_op_wt_getxattr(fuse_req_t req, struct mlfs_node *n,
			 const char *name, size_t size);
void mlfs_op_wt_listxattr(fuse_req_t req, struct mlfs_node *n, size_t size);
void mlfs_op_wt_setxattr(fuse_req_t req, struct mlfs_node *n,
			 const char *name, const char *value, size_t size,
			 int flags);
void mlfs_op_wt_removexattr(fuse_req_t req, struct mlfs_node *n,
			    const char *name);

#endif
