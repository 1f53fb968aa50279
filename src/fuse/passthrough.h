/*
 * passthrough.h - FUSE passthrough for the data files of working trees:
 * the kernel reads and writes a written file's data file itself, at
 * local-disk speed, instead of sending each read and write here.
 *
 * libfuse 3.14 knows nothing of passthrough (kernel protocol 7.40), so
 * the session's I/O is wrapped (fuse_session_custom_io): the INIT reply
 * gets FUSE_PASSTHROUGH when the kernel offers it, and opens of data
 * files are answered with our own fuse_open_out carrying a backing id.
 *
 * The kernel's rule for one inode: while any open of it is in
 * passthrough mode, every open must be, with the same backing file; and
 * no open may be while a cached (page cache) open exists. The table here
 * keeps, per node id, the backing id and the opens of each mode this
 * daemon has answered and not yet seen released; the kernel's counts are
 * never above ours (it drops an open before sending RELEASE), so
 * deciding by ours keeps to the rule. Without passthrough (an older
 * kernel, no CAP_SYS_ADMIN, MLFS_NO_PASSTHROUGH=1 in the daemon's
 * environment) every open is cached, as before.
 */
#ifndef MLFS_FUSE_PASSTHROUGH_H
#define MLFS_FUSE_PASSTHROUGH_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

struct mlfs_pt;

/* Wrap @se's I/O (after fuse_session_mount, before the loop). *out is
 * NULL when passthrough is switched off. Returns 0 or -errno. */
int mlfs_pt_new(struct fuse_session *se, struct mlfs_pt **out);
void mlfs_pt_free(struct mlfs_pt *pt);
/* Did the kernel take passthrough (known once the mount answers)? */
bool mlfs_pt_granted(const struct mlfs_pt *pt);

/* How one open is answered. */
struct mlfs_pt_open {
	int backing_id;  /* > 0: passthrough to the data file */
	bool keep_cache; /* cached: may the kernel keep its pages? */
};

/*
 * Decide the mode of a new open of node @nodeid. @fd is its data file
 * (-1: the bytes are read through the chunk path, which needs the page
 * cache). @pt may be NULL (cached). Returns 0, or -EBUSY when the node is
 * open in passthrough mode and this open has no data file to share (its
 * edits were discarded meanwhile), and still is after waiting up to a
 * second for its release. Every successful call is paired with one
 * mlfs_pt_release with the same @o.
 */
int mlfs_pt_acquire(struct mlfs_pt *pt, uint64_t nodeid, int fd,
		    struct mlfs_pt_open *o);
void mlfs_pt_release(struct mlfs_pt *pt, uint64_t nodeid,
		     const struct mlfs_pt_open *o);

/* fuse_reply_open / fuse_reply_create with @o's mode. */
int mlfs_pt_reply_open(fuse_req_t req, struct fuse_file_info *fi,
		       const struct mlfs_pt_open *o);
int mlfs_pt_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
			 struct fuse_file_info *fi,
			 const struct mlfs_pt_open *o);

#endif
