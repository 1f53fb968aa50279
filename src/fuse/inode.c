/*
 * inode.c - the daemon's map from FUSE node ids to nodes, and from
 * (parent node id, name) to the current child. Node ids are handed out
 * once and never reused, so a stale id can never reach a different node;
 * st_ino is a hash of the path identity, so it stays the same even when
 * the kernel forgets a node and looks it up again. Directory nodes take
 * their decoded trees from the daemon's tree cache (treecache.c).
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fuse_lowlevel.h>

#include "listing.h"
#include "mount.h"

#define INITIAL_BUCKETS 1024u

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finaliser: spreads FNV's weak low bits */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t mlfs_itable_ino(uint64_t parent_ino, const char *name,
			 const struct mlfs_id *commit)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t p[8];

	mlfs_put_le64(p, parent_ino);
	h = fnv(h, p, sizeof(p));
	h = fnv(h, name, strlen(name) + 1);
	if (commit)
		h = fnv(h, commit->b, sizeof(commit->b));
	h = mix64(h);
	/* 0 is "no inode" to readdir users and 1 is the root */
	return h < 2 ? h + 2 : h;
}

static size_t id_bucket(const struct mlfs_itable *t, uint64_t nodeid)
{
	return (size_t)(mix64(nodeid) & (t->nbuckets - 1));
}

static size_t wt_bucket(const struct mlfs_itable *t, const void *wt,
			uint64_t ino)
{
	return (size_t)(mix64(ino ^ (uint64_t)(uintptr_t)wt) &
			(t->nbuckets - 1));
}

static size_t name_bucket(const struct mlfs_itable *t, uint64_t parent,
			  const char *name)
{
	uint8_t p[8];

	mlfs_put_le64(p, parent);
	return (size_t)(mix64(fnv(fnv(0xcbf29ce484222325ull, p, sizeof(p)),
				  name, strlen(name))) &
			(t->nbuckets - 1));
}

/* A zeroed node with a copy of @name in the same allocation (one malloc
 * per node: a walk of a big tree creates one per file). */
static struct mlfs_node *node_alloc(const char *name)
{
	size_t len = strlen(name);
	struct mlfs_node *n = calloc(1, sizeof(*n) + len + 1);

	if (!n)
		return NULL;
	n->name = (char *)(n + 1);
	memcpy(n->name, name, len + 1);
	return n;
}

static void free_node(struct mlfs_itable *t, struct mlfs_node *n)
{
	if (!n)
		return;
	/* reads with no open leave the node's state pinned (file.c); nobody
	 * else sees a node being freed */
	if (n->file)
		mlfs_ofile_unpin(t, n);
	mlfs_tcache_put(t->trees, n->tree);
	mlfs_listing_put(n->listing);
	free(n->target);
	free(n); /* the name lives in the node's allocation */
}

int mlfs_itable_init(struct mlfs_itable *t, struct mlfs_tcache *trees)
{
	struct mlfs_node *root;
	int r;

	memset(t, 0, sizeof(*t));
	t->trees = trees;
	r = -pthread_mutex_init(&t->lock, NULL);
	if (r < 0)
		return r;
	t->nbuckets = INITIAL_BUCKETS;
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	t->by_name = calloc(t->nbuckets, sizeof(*t->by_name));
	t->by_wt = calloc(t->nbuckets, sizeof(*t->by_wt));
	root = node_alloc("");
	if (!t->by_id || !t->by_name || !t->by_wt || !root) {
		r = -ENOMEM;
		goto out;
	}
	root->nodeid = FUSE_ROOT_ID;
	root->ino = FUSE_ROOT_ID;
	root->kind = MLFS_NODE_ROOT;
	root->type = MLFS_ENTRY_DIR;
	root->mode = 0755;
	/* the kernel never forgets the root; one lookup keeps it pinned */
	root->nlookup = 1;
	t->by_id[id_bucket(t, root->nodeid)] = root;
	t->count = 1;
	t->next_id = FUSE_ROOT_ID + 1;
	root = NULL;
	r = 0;
out:
	free_node(t, root);
	if (r < 0) {
		free(t->by_id);
		free(t->by_name);
		free(t->by_wt);
		pthread_mutex_destroy(&t->lock);
	}
	return r;
}

void mlfs_itable_release(struct mlfs_itable *t)
{
	for (size_t i = 0; t->by_id && i < t->nbuckets; i++) {
		struct mlfs_node *n = t->by_id[i], *next;

		for (; n; n = next) {
			next = n->id_next;
			free_node(t, n);
		}
	}
	free(t->by_id);
	free(t->by_name);
	free(t->by_wt);
	t->by_id = NULL;
	t->by_name = NULL;
	t->by_wt = NULL;
	pthread_mutex_destroy(&t->lock);
}

static struct mlfs_node *get_locked(struct mlfs_itable *t, uint64_t nodeid)
{
	struct mlfs_node *n = t->by_id[id_bucket(t, nodeid)];

	while (n && n->nodeid != nodeid)
		n = n->id_next;
	return n;
}

struct mlfs_node *mlfs_itable_get(struct mlfs_itable *t, uint64_t nodeid)
{
	struct mlfs_node *n;

	pthread_mutex_lock(&t->lock);
	n = get_locked(t, nodeid);
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* Double both tables when they average more than one node per bucket;
 * on allocation failure keep the old size (longer chains, still right). */
static void grow_locked(struct mlfs_itable *t)
{
	size_t nb = t->nbuckets * 2;
	struct mlfs_node **by_id, **by_name, **by_wt, **old_id = t->by_id;

	if (t->count < t->nbuckets)
		return;
	by_id = calloc(nb, sizeof(*by_id));
	by_name = calloc(nb, sizeof(*by_name));
	by_wt = calloc(nb, sizeof(*by_wt));
	if (!by_id || !by_name || !by_wt) {
		free(by_id);
		free(by_name);
		free(by_wt);
		return;
	}
	free(t->by_name);
	free(t->by_wt);
	t->by_id = by_id;
	t->by_name = by_name;
	t->by_wt = by_wt;
	t->nbuckets = nb;
	for (size_t i = 0; i < nb / 2; i++) {
		struct mlfs_node *n = old_id[i], *next;

		for (; n; n = next) {
			size_t b = id_bucket(t, n->nodeid);

			next = n->id_next;
			n->id_next = by_id[b];
			by_id[b] = n;
			if (n->hashed) {
				b = name_bucket(t, n->parent, n->name);
				n->name_next = by_name[b];
				by_name[b] = n;
			}
			if (n->kind == MLFS_NODE_WT && !n->wt_orphan) {
				b = wt_bucket(t, n->wt, n->ino);
				n->wt_next = by_wt[b];
				by_wt[b] = n;
			}
		}
	}
	free(old_id);
}

static void unhash_name_locked(struct mlfs_itable *t, struct mlfs_node *n)
{
	struct mlfs_node **pp;

	if (!n->hashed)
		return;
	pp = &t->by_name[name_bucket(t, n->parent, n->name)];
	while (*pp && *pp != n)
		pp = &(*pp)->name_next;
	if (*pp)
		*pp = n->name_next;
	n->name_next = NULL;
	n->hashed = false;
}

static bool same_node(const struct mlfs_node *a, const struct mlfs_node *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == MLFS_NODE_NS)
		return true;
	if (a->movable != b->movable ||
	    mlfs_id_cmp(&a->commit, &b->commit) ||
	    a->type != b->type || a->mode != b->mode ||
	    a->mtime_ns != b->mtime_ns || a->size != b->size ||
	    mlfs_id_cmp(&a->id, &b->id))
		return false;
	if (!a->target != !b->target)
		return false;
	return !a->target || !strcmp(a->target, b->target);
}

int mlfs_itable_link(struct mlfs_itable *t, const struct mlfs_node *parent,
		     const struct mlfs_node *tmpl, struct mlfs_node **out)
{
	struct mlfs_node *n, *fresh = NULL;
	int r = 0;

	/* allocate outside the lock; lookups of other names go on meanwhile */
	fresh = node_alloc(tmpl->name);
	if (!fresh)
		return -ENOMEM;
	{
		char *name = fresh->name;

		*fresh = *tmpl;
		fresh->name = name;
	}
	fresh->target = tmpl->target ? strdup(tmpl->target) : NULL;
	fresh->tree = NULL;
	fresh->dirahead = false;
	fresh->file = NULL;
	fresh->id_next = fresh->name_next = NULL;
	fresh->hashed = false;
	if (tmpl->target && !fresh->target) {
		r = -ENOMEM;
		goto out;
	}
	fresh->parent = parent->nodeid;
	fresh->parent_ino = parent->ino;
	fresh->ino = mlfs_itable_ino(parent->ino, tmpl->name,
				     tmpl->kind == MLFS_NODE_VERSION ?
				     &tmpl->commit : NULL);

	pthread_mutex_lock(&t->lock);
	n = t->by_name[name_bucket(t, parent->nodeid, tmpl->name)];
	while (n && (n->parent != parent->nodeid ||
		     strcmp(n->name, tmpl->name)))
		n = n->name_next;
	if (n && same_node(n, fresh)) {
		n->nlookup++;
		*out = n;
		pthread_mutex_unlock(&t->lock);
		goto out;
	}
	if (n)
		unhash_name_locked(t, n); /* a branch head moved on */
	grow_locked(t);
	n = fresh;
	fresh = NULL;
	n->nodeid = t->next_id++;
	n->nlookup = 1;
	n->id_next = t->by_id[id_bucket(t, n->nodeid)];
	t->by_id[id_bucket(t, n->nodeid)] = n;
	{
		size_t b = name_bucket(t, n->parent, n->name);

		n->name_next = t->by_name[b];
		t->by_name[b] = n;
	}
	n->hashed = true;
	t->count++;
	*out = n;
	pthread_mutex_unlock(&t->lock);
out:
	free_node(t, fresh);
	return r;
}

/* The node of (@tmpl->wt, @tmpl->ino) of this generation or a newer one
 * (a lookup that raced with a discard), or NULL; nodes of older
 * generations leave by_wt on the way. */
static struct mlfs_node *wt_find_locked(struct mlfs_itable *t,
					const struct mlfs_node *tmpl)
{
	size_t b = wt_bucket(t, tmpl->wt, tmpl->ino);
	struct mlfs_node *n;

	for (struct mlfs_node **pp = &t->by_wt[b]; (n = *pp);) {
		if (n->wt != tmpl->wt || n->ino != tmpl->ino ||
		    n->wt_gen >= tmpl->wt_gen) {
			if (n->wt == tmpl->wt && n->ino == tmpl->ino)
				return n;
			pp = &n->wt_next;
			continue;
		}
		/* an older generation: the orphan of a discard keeps its
		 * node (and the kernel its pages) for the opens on it */
		*pp = n->wt_next;
		n->wt_next = NULL;
		n->wt_orphan = true;
	}
	return NULL;
}

int mlfs_itable_link_wt(struct mlfs_itable *t, const struct mlfs_node *parent,
			const struct mlfs_node *tmpl, struct mlfs_node **out)
{
	/* a listing links every entry again and again: the new node is only
	 * allocated when none is found (then looked for once more) */
	struct mlfs_node *n, *fresh = NULL;
	char *target = tmpl->target ? strdup(tmpl->target) : NULL;
	size_t b;

	if (tmpl->target && !target)
		return -ENOMEM;
	for (;;) {
		pthread_mutex_lock(&t->lock);
		n = wt_find_locked(t, tmpl);
		if (n || fresh)
			break;
		pthread_mutex_unlock(&t->lock);
		fresh = node_alloc(tmpl->name);
		if (!fresh) {
			free(target);
			return -ENOMEM;
		}
	}
	if (n) {
		n->nlookup++;
		n->type = tmpl->type;
		n->mode = tmpl->mode;
		n->mtime_ns = tmpl->mtime_ns;
		n->size = tmpl->size;
		n->id = tmpl->id;
		n->parent = parent->nodeid;
		n->parent_ino = parent->ino;
		if (target) {
			char *old = n->target;

			n->target = target;
			target = old;
		}
		*out = n;
		pthread_mutex_unlock(&t->lock);
		free(target);
		free(fresh);
		return 0;
	}
	grow_locked(t);
	{
		char *name = fresh->name;

		*fresh = *tmpl;
		fresh->name = name;
	}
	fresh->target = target;
	fresh->tree = NULL;
	fresh->file = NULL;
	fresh->id_next = fresh->name_next = NULL;
	fresh->hashed = false;
	fresh->wt_orphan = false;
	fresh->parent = parent->nodeid;
	fresh->parent_ino = parent->ino;
	fresh->nodeid = t->next_id++;
	fresh->nlookup = 1;
	fresh->id_next = t->by_id[id_bucket(t, fresh->nodeid)];
	t->by_id[id_bucket(t, fresh->nodeid)] = fresh;
	b = wt_bucket(t, fresh->wt, fresh->ino);
	fresh->wt_next = t->by_wt[b];
	t->by_wt[b] = fresh;
	t->count++;
	*out = fresh;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

bool mlfs_node_digest_bad(struct mlfs_itable *t, const struct mlfs_node *n)
{
	bool bad;

	pthread_mutex_lock(&t->lock);
	bad = n->digest_bad;
	pthread_mutex_unlock(&t->lock);
	return bad;
}

void mlfs_itable_forget(struct mlfs_itable *t, uint64_t nodeid, uint64_t n)
{
	struct mlfs_node *node, **pp;

	pthread_mutex_lock(&t->lock);
	node = get_locked(t, nodeid);
	if (!node || node->kind == MLFS_NODE_ROOT) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	node->nlookup = node->nlookup > n ? node->nlookup - n : 0;
	if (node->nlookup) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	unhash_name_locked(t, node);
	if (node->kind == MLFS_NODE_WT && !node->wt_orphan) {
		pp = &t->by_wt[wt_bucket(t, node->wt, node->ino)];
		while (*pp && *pp != node)
			pp = &(*pp)->wt_next;
		if (*pp)
			*pp = node->wt_next;
	}
	pp = &t->by_id[id_bucket(t, nodeid)];
	while (*pp && *pp != node)
		pp = &(*pp)->id_next;
	if (*pp)
		*pp = node->id_next;
	t->count--;
	pthread_mutex_unlock(&t->lock);
	/* no open file is left: the kernel releases before it forgets (a
	 * pinned state of reads with no open goes with the node) */
	free_node(t, node);
}

int mlfs_itable_tree(struct mlfs_itable *t, struct mlfs_store *s,
		     struct mlfs_node *n, const struct mlfs_tree **out)
{
	const struct mlfs_tree *tree = NULL;
	int r;

	pthread_mutex_lock(&t->lock);
	*out = n->tree;
	pthread_mutex_unlock(&t->lock);
	if (*out)
		return 0;
	/* from the cache, which loads unlocked; a racing caller's
	 * reference is dropped */
	r = mlfs_tcache_get(t->trees, s, &n->id, &tree);
	if (r < 0)
		return r;
	pthread_mutex_lock(&t->lock);
	if (!n->tree) {
		n->tree = tree;
		tree = NULL;
	}
	*out = n->tree;
	pthread_mutex_unlock(&t->lock);
	mlfs_tcache_put(t->trees, tree);
	return 0;
}

void mlfs_itable_path(struct mlfs_itable *t, const struct mlfs_node *n,
		      char *buf, size_t size)
{
	const char *parts[64];
	size_t np = 0, used = 0;

	if (!size)
		return;
	buf[0] = '\0';
	pthread_mutex_lock(&t->lock);
	while (n && n->kind != MLFS_NODE_ROOT && np < MLFS_ARRAY_SIZE(parts)) {
		parts[np++] = n->name;
		n = get_locked(t, n->parent);
	}
	for (size_t i = np; i-- > 0 && used < size;) {
		int k = snprintf(buf + used, size - used, "%s%s", parts[i],
				 i ? "/" : "");

		if (k < 0)
			break;
		used += (size_t)k;
	}
	pthread_mutex_unlock(&t->lock);
}
