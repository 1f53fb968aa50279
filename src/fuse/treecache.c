/*
 * treecache.c - decoded, verified trees shared by the whole daemon, keyed
 * by tree id. mlfs_tree_load() re-hashes a tree against its id; with this
 * cache that happens once per tree per daemon, not once per directory
 * node (the kernel forgets nodes and looks them up again; the same
 * subtree appears in many versions; the tree read-ahead threads load
 * trees the daemon then needs). Directory nodes hold references; trees
 * nobody references stay on an LRU list until the byte bound evicts them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

#define INITIAL_BUCKETS 1024u

struct tentry {
	struct mlfs_tree *t;
	size_t bytes;              /* estimate of what t holds */
	unsigned refs;             /* protected by the cache lock */
	struct tentry *next;       /* hash chain; lock */
	struct tentry *lru_prev;   /* unreferenced entries only; lock */
	struct tentry *lru_next;   /* lock */
};

struct mlfs_tcache {
	pthread_mutex_t lock;
	struct tentry **b;         /* protected by lock */
	size_t nbuckets, count;    /* protected by lock */
	size_t bytes, max_bytes;   /* protected by lock */
	struct tentry *lru_head;   /* least recently released; lock */
	struct tentry *lru_tail;   /* lock */
	uint64_t loads, hits;      /* trees loaded (and so verified), and
				    * found cached; protected by lock */
};

static size_t bucket_of(const struct mlfs_id *id, size_t nbuckets)
{
	uint64_t h = mlfs_get_le64(id->b); /* ids are keyed hashes */

	return (size_t)(h & (nbuckets - 1));
}

static size_t tree_bytes(const struct mlfs_tree *t)
{
	size_t b = sizeof(*t) + t->n * sizeof(*t->e);

	for (size_t i = 0; i < t->n; i++)
		b += strlen(t->e[i].name) + 1 +
		     (t->e[i].target ? strlen(t->e[i].target) + 1 : 0);
	return b;
}

int mlfs_tcache_new(size_t max_bytes, struct mlfs_tcache **out)
{
	struct mlfs_tcache *tc = calloc(1, sizeof(*tc));
	int r;

	if (!tc)
		return -ENOMEM;
	r = -pthread_mutex_init(&tc->lock, NULL);
	if (r < 0) {
		free(tc);
		return r;
	}
	tc->nbuckets = INITIAL_BUCKETS;
	tc->b = calloc(tc->nbuckets, sizeof(*tc->b));
	if (!tc->b) {
		pthread_mutex_destroy(&tc->lock);
		free(tc);
		return -ENOMEM;
	}
	tc->max_bytes = max_bytes;
	*out = tc;
	return 0;
}

void mlfs_tcache_free(struct mlfs_tcache *tc)
{
	if (!tc)
		return;
	for (size_t i = 0; i < tc->nbuckets; i++) {
		struct tentry *e = tc->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			mlfs_tree_free(e->t);
			free(e);
		}
	}
	free(tc->b);
	pthread_mutex_destroy(&tc->lock);
	free(tc);
}

static struct tentry *find_locked(struct mlfs_tcache *tc,
				  const struct mlfs_id *id)
{
	struct tentry *e = tc->b[bucket_of(id, tc->nbuckets)];

	while (e && mlfs_id_cmp(&e->t->id, id))
		e = e->next;
	return e;
}

static void lru_unlink_locked(struct mlfs_tcache *tc, struct tentry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else if (tc->lru_head == e)
		tc->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else if (tc->lru_tail == e)
		tc->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

/* An entry nobody references goes to the LRU's tail (newest). */
static void lru_append_locked(struct mlfs_tcache *tc, struct tentry *e)
{
	e->lru_prev = tc->lru_tail;
	e->lru_next = NULL;
	if (tc->lru_tail)
		tc->lru_tail->lru_next = e;
	else
		tc->lru_head = e;
	tc->lru_tail = e;
}

static void unhash_locked(struct mlfs_tcache *tc, struct tentry *e)
{
	struct tentry **pp = &tc->b[bucket_of(&e->t->id, tc->nbuckets)];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	tc->count--;
	tc->bytes -= e->bytes;
}

/* Evict unreferenced trees, oldest first, while over the bound; the
 * evicted go on @*dead, to be freed outside the lock. */
static void evict_locked(struct mlfs_tcache *tc, struct tentry **dead)
{
	while (tc->bytes > tc->max_bytes && tc->lru_head) {
		struct tentry *e = tc->lru_head;

		lru_unlink_locked(tc, e);
		unhash_locked(tc, e);
		e->next = *dead;
		*dead = e;
	}
}

static void free_dead(struct tentry *dead)
{
	while (dead) {
		struct tentry *next = dead->next;

		mlfs_tree_free(dead->t);
		free(dead);
		dead = next;
	}
}

/* Double the buckets past one entry per bucket; on failure keep them. */
static void grow_locked(struct mlfs_tcache *tc)
{
	size_t nb = tc->nbuckets * 2;
	struct tentry **b;

	if (tc->count < tc->nbuckets)
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < tc->nbuckets; i++) {
		struct tentry *e = tc->b[i], *next;

		for (; e; e = next) {
			size_t k = bucket_of(&e->t->id, nb);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(tc->b);
	tc->b = b;
	tc->nbuckets = nb;
}

/* Take a reference to the cached tree @id, if any. */
static const struct mlfs_tree *ref_locked(struct mlfs_tcache *tc,
					  const struct mlfs_id *id)
{
	struct tentry *e = find_locked(tc, id);

	if (!e)
		return NULL;
	if (e->refs++ == 0)
		lru_unlink_locked(tc, e);
	return e->t;
}

/*
 * Add @t (owned) to the cache with @refs references (0: on the LRU list)
 * unless a tree of that id is there already (a racing load): then @t is
 * freed. Returns the cached tree, or NULL when out of memory (@t freed).
 */
static const struct mlfs_tree *insert(struct mlfs_tcache *tc,
				      struct mlfs_tree *t, unsigned refs)
{
	struct tentry *e = calloc(1, sizeof(*e)), *dead = NULL;
	const struct mlfs_tree *got;

	if (!e) {
		mlfs_tree_free(t);
		return NULL;
	}
	e->t = t;
	e->bytes = tree_bytes(t);
	pthread_mutex_lock(&tc->lock);
	got = refs ? ref_locked(tc, &t->id) : (find_locked(tc, &t->id) ?
					       t : NULL);
	if (got) {
		pthread_mutex_unlock(&tc->lock);
		mlfs_tree_free(t);
		free(e);
		return refs ? got : NULL;
	}
	grow_locked(tc);
	e->refs = refs;
	if (!refs)
		tc->loads++; /* by read-ahead; a get counted its own */
	e->next = tc->b[bucket_of(&t->id, tc->nbuckets)];
	tc->b[bucket_of(&t->id, tc->nbuckets)] = e;
	tc->count++;
	tc->bytes += e->bytes;
	if (!refs)
		lru_append_locked(tc, e);
	evict_locked(tc, &dead);
	pthread_mutex_unlock(&tc->lock);
	free_dead(dead);
	return t;
}

int mlfs_tcache_get(struct mlfs_tcache *tc, struct mlfs_store *s,
		    const struct mlfs_id *id, const struct mlfs_tree **out)
{
	struct mlfs_tree *t = NULL;
	int r;

	pthread_mutex_lock(&tc->lock);
	*out = ref_locked(tc, id);
	if (*out)
		tc->hits++;
	else
		tc->loads++;
	pthread_mutex_unlock(&tc->lock);
	if (*out)
		return 0;
	/* load and verify unlocked (SQLite, hashing) */
	r = mlfs_tree_load(s, id, &t);
	if (r < 0)
		return r;
	*out = insert(tc, t, 1);
	return *out ? 0 : -ENOMEM;
}

bool mlfs_tcache_has(struct mlfs_tcache *tc, const struct mlfs_id *id)
{
	bool has;

	pthread_mutex_lock(&tc->lock);
	has = find_locked(tc, id) != NULL;
	pthread_mutex_unlock(&tc->lock);
	return has;
}

void mlfs_tcache_add(struct mlfs_tcache *tc, struct mlfs_tree *t)
{
	/* a NULL result is fine: dropped, or there already */
	(void)insert(tc, t, 0);
}

void mlfs_tcache_put(struct mlfs_tcache *tc, const struct mlfs_tree *t)
{
	struct tentry *e, *dead = NULL;

	if (!t)
		return;
	pthread_mutex_lock(&tc->lock);
	e = find_locked(tc, &t->id);
	if (e && e->t == t && e->refs && --e->refs == 0) {
		lru_append_locked(tc, e);
		evict_locked(tc, &dead);
	}
	pthread_mutex_unlock(&tc->lock);
	free_dead(dead);
}

void mlfs_tcache_stats(struct mlfs_tcache *tc, uint64_t *loads,
		       uint64_t *hits, size_t *count, size_t *bytes)
{
	pthread_mutex_lock(&tc->lock);
	*loads = tc->loads;
	*hits = tc->hits;
	*count = tc->count;
	*bytes = tc->bytes;
	pthread_mutex_unlock(&tc->lock);
}
