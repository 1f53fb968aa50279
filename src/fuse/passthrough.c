/*
 * passthrough.c - FUSE passthrough for working-tree data files
 * (passthrough.h says what and why). The wire structures below are the
 * kernel's ABI (include/uapi/linux/fuse.h, protocol 7.40), spelled out
 * here because the system's <linux/fuse.h> may predate them and clashes
 * with libfuse's own definitions.
 */
#include "passthrough.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"

struct pt_in_header {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};

struct pt_init_in {
	uint32_t major, minor, max_readahead, flags, flags2;
};

struct pt_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct pt_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth;
	uint32_t unused[6];
};

struct pt_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct pt_attr {
	uint64_t ino, size, blocks, atime, mtime, ctime;
	uint32_t atimensec, mtimensec, ctimensec;
	uint32_t mode, nlink, uid, gid, rdev, blksize, flags;
};

struct pt_entry_out {
	uint64_t nodeid, generation, entry_valid, attr_valid;
	uint32_t entry_valid_nsec, attr_valid_nsec;
	struct pt_attr attr;
};

struct pt_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

_Static_assert(sizeof(struct pt_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct pt_out_header) == 16, "fuse_out_header");
_Static_assert(offsetof(struct pt_init_out, max_stack_depth) == 36,
	       "fuse_init_out");
_Static_assert(sizeof(struct pt_init_out) == 64, "fuse_init_out");
_Static_assert(sizeof(struct pt_open_out) == 16, "fuse_open_out");
_Static_assert(sizeof(struct pt_attr) == 88, "fuse_attr");
_Static_assert(sizeof(struct pt_entry_out) == 128, "fuse_entry_out");

#define PT_OP_INIT 26
#define PT_INIT_EXT (1u << 30)
#define PT_INIT2_PASSTHROUGH (1u << (37 - 32))
#define PT_FOPEN_KEEP_CACHE (1u << 1)
#define PT_FOPEN_PASSTHROUGH (1u << 7)
#define PT_IOC_BACKING_OPEN _IOW(229, 1, struct pt_backing_map)
#define PT_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

#define PT_BUCKETS 4096

/* The opens of one node this daemon answered and has not seen released. */
struct pt_node {
	uint64_t nodeid;
	int backing_id;      /* > 0 while npt > 0 */
	unsigned npt, ncached;
	/* Passthrough wrote the data file beneath the kernel's page cache
	 * of this node: the next cached open must not keep those pages. */
	bool pages_stale;
	struct pt_node *next;
};

struct mlfs_pt {
	int dev_fd;               /* /dev/fuse of the session */
	/* set by the I/O hooks during INIT, read after it */
	uint64_t init_unique;     /* atomic; 0 once INIT is answered */
	bool offered, granted;    /* atomic */
	bool refused;             /* atomic: backing ids are refused */
	pthread_mutex_t lock;
	pthread_cond_t released;  /* a node's last passthrough open went */
	struct pt_node *buckets[PT_BUCKETS]; /* protected by lock */
};

/* ---- the session's I/O: see INIT go by and grant passthrough ---- */

static struct mlfs_pt *pt_of(void *userdata)
{
	return ((struct mlfs_fs *)userdata)->pt;
}

static ssize_t pt_io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct mlfs_pt *pt = pt_of(userdata);
	ssize_t k = read(fd, buf, len);
	struct pt_in_header h;
	struct pt_init_in in;

	if (pt && k >= (ssize_t)(sizeof(h) + sizeof(in)) &&
	    !__atomic_load_n(&pt->granted, __ATOMIC_RELAXED)) {
		memcpy(&h, buf, sizeof(h));
		memcpy(&in, (char *)buf + sizeof(h), sizeof(in));
		if (h.opcode == PT_OP_INIT && (in.flags & PT_INIT_EXT) &&
		    (in.flags2 & PT_INIT2_PASSTHROUGH)) {
			__atomic_store_n(&pt->offered, true, __ATOMIC_RELAXED);
			__atomic_store_n(&pt->init_unique, h.unique,
					 __ATOMIC_RELEASE);
		}
	}
	return k;
}

static ssize_t pt_io_writev(int fd, struct iovec *iov, int count,
			    void *userdata)
{
	struct mlfs_pt *pt = pt_of(userdata);
	uint64_t init = pt ? __atomic_load_n(&pt->init_unique,
					     __ATOMIC_ACQUIRE) : 0;
	struct pt_out_header oh;
	struct pt_init_out out;
	struct iovec v[2];

	if (!init || count != 2 || iov[0].iov_len != sizeof(oh) ||
	    iov[1].iov_len != sizeof(out))
		return writev(fd, iov, count);
	memcpy(&oh, iov[0].iov_base, sizeof(oh));
	if (oh.unique != init || oh.error != 0)
		return writev(fd, iov, count);
	/* the INIT reply: ask for passthrough, one level of stacking (the
	 * data files are on a plain local file system) */
	memcpy(&out, iov[1].iov_base, sizeof(out));
	out.flags |= PT_INIT_EXT;
	out.flags2 |= PT_INIT2_PASSTHROUGH;
	out.max_stack_depth = 1;
	v[0] = iov[0];
	v[1].iov_base = &out;
	v[1].iov_len = sizeof(out);
	__atomic_store_n(&pt->init_unique, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&pt->granted, true, __ATOMIC_RELEASE);
	return writev(fd, v, 2);
}

int mlfs_pt_new(struct fuse_session *se, struct mlfs_pt **out)
{
	static const struct fuse_custom_io io = {
		.read = pt_io_read,
		.writev = pt_io_writev,
	};
	const char *off = getenv("MLFS_NO_PASSTHROUGH");
	struct mlfs_pt *pt;
	int r;

	*out = NULL;
	if (off && *off && strcmp(off, "0"))
		return 0;
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	pt->dev_fd = fuse_session_fd(se);
	r = -pthread_mutex_init(&pt->lock, NULL);
	if (r < 0) {
		free(pt);
		return r;
	}
	{
		pthread_condattr_t ca;

		r = -pthread_condattr_init(&ca);
		if (r == 0)
			r = -pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (r == 0)
			r = -pthread_cond_init(&pt->released, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (r < 0) {
		pthread_mutex_destroy(&pt->lock);
		free(pt);
		return r;
	}
	/* the session keeps its fd; only reads and writes go through us */
	r = fuse_session_custom_io(se, &io, pt->dev_fd);
	if (r < 0) {
		pthread_cond_destroy(&pt->released);
		pthread_mutex_destroy(&pt->lock);
		free(pt);
		return r;
	}
	*out = pt;
	return 0;
}

void mlfs_pt_free(struct mlfs_pt *pt)
{
	if (!pt)
		return;
	for (size_t i = 0; i < PT_BUCKETS; i++)
		while (pt->buckets[i]) {
			struct pt_node *n = pt->buckets[i];

			pt->buckets[i] = n->next;
			free(n);
		}
	pthread_cond_destroy(&pt->released);
	pthread_mutex_destroy(&pt->lock);
	free(pt);
}

bool mlfs_pt_granted(const struct mlfs_pt *pt)
{
	return pt && __atomic_load_n(&pt->granted, __ATOMIC_ACQUIRE);
}

/* ---- the mode of each open ---- */

static struct pt_node **pt_slot_locked(struct mlfs_pt *pt, uint64_t nodeid)
{
	struct pt_node **p = &pt->buckets[(nodeid * 0x9e3779b97f4a7c15ull) >>
					  52];

	while (*p && (*p)->nodeid != nodeid)
		p = &(*p)->next;
	return p;
}

static void pt_put_locked(struct pt_node **p)
{
	struct pt_node *n = *p;

	if (n->npt || n->ncached || n->pages_stale)
		return;
	*p = n->next;
	free(n);
}

/* A backing id for @fd, or 0 (passthrough refused: cached from now on). */
static int pt_backing_open_locked(struct mlfs_pt *pt, int fd)
{
	struct pt_backing_map map = { .fd = fd };
	int id;

	if (pt->refused)
		return 0;
	id = ioctl(pt->dev_fd, PT_IOC_BACKING_OPEN, &map);
	if (id > 0)
		return id;
	/* EPERM without CAP_SYS_ADMIN, EOPNOTSUPP on older kernels: the
	 * same for every later file, so ask no more */
	if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOTTY ||
	    errno == EINVAL)
		pt->refused = true;
	return 0;
}

int mlfs_pt_acquire(struct mlfs_pt *pt, uint64_t nodeid, int fd,
		    struct mlfs_pt_open *o)
{
	struct pt_node **p, *n;
	int r = 0;

	o->backing_id = 0;
	o->keep_cache = true;
	if (!pt)
		return 0;
	pthread_mutex_lock(&pt->lock);
	if (fd < 0) {
		/* It cannot share a passthrough open's backing file. The
		 * kernel lets go of an open before its RELEASE reaches us:
		 * give a release on its way a moment to arrive. */
		struct timespec dl;

		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += 1;
		while ((n = *pt_slot_locked(pt, nodeid)) && n->npt)
			if (pthread_cond_timedwait(&pt->released, &pt->lock,
						   &dl) == ETIMEDOUT)
				break;
	}
	p = pt_slot_locked(pt, nodeid);
	n = *p;
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			r = -ENOMEM;
			goto out;
		}
		n->nodeid = nodeid;
		*p = n;
	}
	if (n->npt) {
		/* the kernel wants every open of it in passthrough mode,
		 * with the same backing file */
		if (fd < 0) {
			r = -EBUSY;
			goto out;
		}
		o->backing_id = n->backing_id;
		n->npt++;
	} else if (fd >= 0 && !n->ncached &&
		   __atomic_load_n(&pt->granted, __ATOMIC_ACQUIRE) &&
		   (n->backing_id = pt_backing_open_locked(pt, fd)) > 0) {
		o->backing_id = n->backing_id;
		n->npt = 1;
		n->pages_stale = true;
	} else {
		if (n->pages_stale && !n->ncached)
			o->keep_cache = false;
		n->pages_stale = false;
		n->ncached++;
	}
out:
	if (*p)
		pt_put_locked(p);
	pthread_mutex_unlock(&pt->lock);
	return r;
}

void mlfs_pt_release(struct mlfs_pt *pt, uint64_t nodeid,
		     const struct mlfs_pt_open *o)
{
	struct pt_node **p, *n;

	if (!pt)
		return;
	pthread_mutex_lock(&pt->lock);
	p = pt_slot_locked(pt, nodeid);
	n = *p;
	if (n && o->backing_id > 0 && n->npt) {
		if (--n->npt == 0) {
			uint32_t id = (uint32_t)n->backing_id;

			/* open files keep their own reference */
			(void)ioctl(pt->dev_fd, PT_IOC_BACKING_CLOSE, &id);
			n->backing_id = 0;
			pthread_cond_broadcast(&pt->released);
		}
	} else if (n && o->backing_id <= 0 && n->ncached) {
		n->ncached--;
	}
	if (n)
		pt_put_locked(p);
	pthread_mutex_unlock(&pt->lock);
}

/* ---- replies ---- */

static void open_out(const struct fuse_file_info *fi,
		     const struct mlfs_pt_open *o, struct pt_open_out *out)
{
	memset(out, 0, sizeof(*out));
	out->fh = fi->fh;
	out->open_flags = PT_FOPEN_PASSTHROUGH;
	out->backing_id = o->backing_id;
}

int mlfs_pt_reply_open(fuse_req_t req, struct fuse_file_info *fi,
		       const struct mlfs_pt_open *o)
{
	struct pt_open_out out;
	struct iovec v;

	if (o->backing_id <= 0) {
		fi->keep_cache = o->keep_cache;
		return fuse_reply_open(req, fi);
	}
	open_out(fi, o, &out);
	v.iov_base = &out;
	v.iov_len = sizeof(out);
	return fuse_reply_iov(req, &v, 1);
}

static uint64_t timeout_sec(double t)
{
	return t <= 0 ? 0 : t >= 1e18 ? (uint64_t)1e18 : (uint64_t)t;
}

static uint32_t timeout_nsec(double t)
{
	if (t <= 0 || t >= 1e18)
		return 0;
	return (uint32_t)((t - (double)(uint64_t)t) * 1e9);
}

static void entry_out(const struct fuse_entry_param *e,
		      struct pt_entry_out *out)
{
	const struct stat *st = &e->attr;

	memset(out, 0, sizeof(*out));
	out->nodeid = e->ino;
	out->generation = e->generation;
	out->entry_valid = timeout_sec(e->entry_timeout);
	out->entry_valid_nsec = timeout_nsec(e->entry_timeout);
	out->attr_valid = timeout_sec(e->attr_timeout);
	out->attr_valid_nsec = timeout_nsec(e->attr_timeout);
	out->attr.ino = st->st_ino;
	out->attr.size = (uint64_t)st->st_size;
	out->attr.blocks = (uint64_t)st->st_blocks;
	out->attr.atime = (uint64_t)st->st_atim.tv_sec;
	out->attr.mtime = (uint64_t)st->st_mtim.tv_sec;
	out->attr.ctime = (uint64_t)st->st_ctim.tv_sec;
	out->attr.atimensec = (uint32_t)st->st_atim.tv_nsec;
	out->attr.mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	out->attr.ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	out->attr.mode = st->st_mode;
	out->attr.nlink = (uint32_t)st->st_nlink;
	out->attr.uid = st->st_uid;
	out->attr.gid = st->st_gid;
	out->attr.rdev = (uint32_t)st->st_rdev;
	out->attr.blksize = (uint32_t)st->st_blksize;
}

int mlfs_pt_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
			 struct fuse_file_info *fi,
			 const struct mlfs_pt_open *o)
{
	struct pt_entry_out eo;
	struct pt_open_out oo;
	struct iovec v[2];

	if (o->backing_id <= 0) {
		fi->keep_cache = o->keep_cache;
		return fuse_reply_create(req, e, fi);
	}
	entry_out(e, &eo);
	open_out(fi, o, &oo);
	v[0].iov_base = &eo;
	v[0].iov_len = sizeof(eo);
	v[1].iov_base = &oo;
	v[1].iov_len = sizeof(oo);
	return fuse_reply_iov(req, v, 2);
}
