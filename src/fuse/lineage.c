/*
 * lineage.c - the mount's job table (lineage.h). /proc is read only when
 * a file is opened or a working tree changed (and cached per pid for a
 * second); a read adds to a counter its handle points at. One mutex
 * guards the table; the counters are atomics. Jobs are dropped only when
 * the table is full, idle ones first (no open file, no working tree
 * changed since its last snapshot), whose group leader is gone before
 * live ones, least recently used first. How a job is delimited and what
 * is not captured: docs/lineage.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lineage.h"

#define PID_CACHE 256          /* slots, direct-mapped by pid */
#define PID_TTL_NS 1000000000LL

struct lin_job;

/* Versions a job read: one per commit. */
struct lin_input {
	struct mlfs_lin_read rd;   /* first: handles point here */
	struct lin_job *job;
	struct mlfs_id commit;
	uint64_t files;            /* protected by the table lock */
	uint64_t *keys;            /* distinct file keys, open addressing
				    * (0 = empty, key 0 stored as 1); lock */
	size_t nkeys, cap;         /* lock */
};

/* The snapshot generation of a working tree. */
struct lin_wt {
	const void *wt;
	uint64_t epoch;            /* atomic; changed under the lock */
	struct lin_wt *next;
};

/* A job's mark on a working tree: it changed it in generation epoch. */
struct mlfs_lin_mark {
	struct lin_job *job;
	struct lin_wt *w;
	uint64_t epoch;            /* atomic; changed under the lock */
	unsigned holds;            /* handles open for writing; lock */
};

struct lin_job {
	struct mlfs_lin_key key;
	unsigned holds;            /* open handles; lock */
	uint64_t last;             /* last use (lock's clock); lock */
	struct lin_input **in;     /* lock */
	size_t nin;
	struct mlfs_lin_mark **marks; /* lock */
	size_t nmarks;
};

struct pid_slot {
	pid_t pid;
	uid_t uid;
	int64_t until_ns;
	struct mlfs_lin_key key;
};

struct mlfs_lin {
	pthread_mutex_t lock;
	struct lin_job *jobs[MLFS_LIN_JOBS_MAX]; /* lock */
	size_t njobs;                        /* lock */
	struct lin_wt *wts;                  /* lock; never freed early */
	struct pid_slot pids[PID_CACHE];     /* lock */
	size_t key_bytes;                    /* lock */
	uint64_t dropped;                    /* lock */
	uint64_t clock;                      /* lock */
	bool told;                           /* lock */
	void (*log)(void *ctx, const char *msg);
	void *log_ctx;
};

int mlfs_lin_new(void (*log)(void *ctx, const char *msg), void *ctx,
		 struct mlfs_lin **out)
{
	struct mlfs_lin *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return -ENOMEM;
	if (pthread_mutex_init(&l->lock, NULL)) {
		free(l);
		return -ENOMEM;
	}
	l->log = log;
	l->log_ctx = ctx;
	*out = l;
	return 0;
}

static void job_free(struct lin_job *j)
{
	for (size_t i = 0; i < j->nin; i++) {
		free(j->in[i]->keys);
		free(j->in[i]);
	}
	for (size_t i = 0; i < j->nmarks; i++)
		free(j->marks[i]);
	free(j->in);
	free(j->marks);
	free(j);
}

void mlfs_lin_free(struct mlfs_lin *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->njobs; i++)
		job_free(l->jobs[i]);
	while (l->wts) {
		struct lin_wt *w = l->wts;

		l->wts = w->next;
		free(w);
	}
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Called with the lock held: say once that a bound was hit. */
static void drop_locked(struct mlfs_lin *l, const char *what)
{
	l->dropped++;
	if (l->told || !l->log)
		return;
	l->told = true;
	l->log(l->log_ctx, what);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Fields 5 (process group) and 22 (start time) of /proc/@pid/stat. */
static int proc_stat(pid_t pid, pid_t *pgid, uint64_t *start)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	int fd, pg = 0;
	ssize_t k;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return -ESRCH;
	buf[k] = '\0';
	/* the command name (field 2) may hold spaces and parentheses */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*d %*d %*d %*d %llu", &pg,
			 &st) != 2)
		return -ESRCH;
	*pgid = pg;
	*start = st;
	return 0;
}

static int job_of_locked(struct mlfs_lin *l, pid_t pid, uid_t uid,
			 struct mlfs_lin_key *key)
{
	struct pid_slot *s = &l->pids[(unsigned)pid % PID_CACHE];
	int64_t now = now_ns();
	uint64_t ignored;
	pid_t pg, ignored_pg;

	if (pid <= 0)
		return -ESRCH;
	if (s->pid == pid && s->uid == uid && now < s->until_ns) {
		*key = s->key;
		return 0;
	}
	if (proc_stat(pid, &pg, &ignored) < 0)
		return -ESRCH;
	key->pgid = pg;
	key->uid = uid;
	/* the leader's start time tells a reused group id apart; a group
	 * whose leader is gone keeps 0 */
	if (pg <= 0 || proc_stat(pg, &ignored_pg, &key->start) < 0)
		key->start = 0;
	s->pid = pid;
	s->uid = uid;
	s->until_ns = now + PID_TTL_NS;
	s->key = *key;
	return 0;
}

int mlfs_lin_job_of(struct mlfs_lin *l, pid_t pid, uid_t uid,
		    struct mlfs_lin_key *key)
{
	int r;

	pthread_mutex_lock(&l->lock);
	r = job_of_locked(l, pid, uid, key);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static bool key_eq(const struct mlfs_lin_key *a, const struct mlfs_lin_key *b)
{
	return a->pgid == b->pgid && a->uid == b->uid && a->start == b->start;
}

/* No open handle and no working tree changed since its snapshot. */
static bool job_idle(const struct lin_job *j)
{
	if (j->holds)
		return false;
	for (size_t i = 0; i < j->nmarks; i++)
		if (j->marks[i]->epoch == j->marks[i]->w->epoch)
			return false;
	return true;
}

/* Is the job's group leader still the process that started it? */
static bool job_alive(const struct lin_job *j)
{
	pid_t pg;
	uint64_t start;

	return j->key.start && proc_stat(j->key.pgid, &pg, &start) == 0 &&
	       start == j->key.start;
}

static void remove_at(struct mlfs_lin *l, size_t i)
{
	struct lin_job *j = l->jobs[i];

	for (size_t k = 0; k < j->nin; k++)
		l->key_bytes -= j->in[k]->cap * sizeof(uint64_t);
	job_free(j);
	l->jobs[i] = l->jobs[--l->njobs];
}

/* The table is full: drop the idle jobs whose leader is gone, else the
 * least recently used idle one. False when every job is busy. */
static bool make_room(struct mlfs_lin *l)
{
	size_t before = l->njobs, lru = SIZE_MAX;

	for (size_t i = 0; i < l->njobs;) {
		if (job_idle(l->jobs[i]) && !job_alive(l->jobs[i])) {
			remove_at(l, i);
			continue;
		}
		i++;
	}
	if (l->njobs < before)
		return true;
	for (size_t i = 0; i < l->njobs; i++)
		if (job_idle(l->jobs[i]) &&
		    (lru == SIZE_MAX || l->jobs[i]->last < l->jobs[lru]->last))
			lru = i;
	if (lru == SIZE_MAX)
		return false;
	remove_at(l, lru);
	return true;
}

static struct lin_job *find_job(struct mlfs_lin *l,
				const struct mlfs_lin_key *key)
{
	for (size_t i = 0; i < l->njobs; i++)
		if (key_eq(&l->jobs[i]->key, key))
			return l->jobs[i];
	return NULL;
}

/* The job of @pid, made if new; NULL when it cannot be recorded. */
static struct lin_job *get_job_locked(struct mlfs_lin *l, pid_t pid,
				      uid_t uid)
{
	struct mlfs_lin_key key;
	struct lin_job *j;

	if (job_of_locked(l, pid, uid, &key) < 0)
		return NULL;
	j = find_job(l, &key);
	if (!j) {
		if (l->njobs == MLFS_LIN_JOBS_MAX && !make_room(l)) {
			drop_locked(l, "lineage: too many jobs at once; "
				    "some opens and changes are not "
				    "recorded");
			return NULL;
		}
		j = calloc(1, sizeof(*j));
		if (!j)
			return NULL;
		j->key = key;
		l->jobs[l->njobs++] = j;
	}
	j->last = ++l->clock;
	return j;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Add @key to @in's set: 1 when new, 0 when there, -ENOMEM / -ENOSPC
 * (the budget of file keys is spent). */
static int key_add(struct mlfs_lin *l, struct lin_input *in, uint64_t key)
{
	size_t i;

	key = key ? key : 1;
	if ((in->nkeys + 1) * 4 > in->cap * 3) {
		size_t nc = in->cap ? in->cap * 2 : 16;
		uint64_t *nv;

		if (l->key_bytes + nc * sizeof(*nv) > MLFS_LIN_FILE_KEYS)
			return -ENOSPC;
		nv = calloc(nc, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		for (size_t k = 0; k < in->cap; k++) {
			if (!in->keys[k])
				continue;
			for (i = mix(in->keys[k]) & (nc - 1); nv[i];
			     i = (i + 1) & (nc - 1))
				;
			nv[i] = in->keys[k];
		}
		l->key_bytes += (nc - in->cap) * sizeof(*nv);
		free(in->keys);
		in->keys = nv;
		in->cap = nc;
	}
	for (i = mix(key) & (in->cap - 1); in->keys[i];
	     i = (i + 1) & (in->cap - 1))
		if (in->keys[i] == key)
			return 0;
	in->keys[i] = key;
	in->nkeys++;
	return 1;
}

static struct lin_input *get_input(struct mlfs_lin *l, struct lin_job *j,
				   const struct mlfs_id *commit)
{
	struct lin_input *in, **nv;

	for (size_t i = 0; i < j->nin; i++)
		if (!mlfs_id_cmp(&j->in[i]->commit, commit))
			return j->in[i];
	if (j->nin == MLFS_LIN_INPUTS_MAX) {
		drop_locked(l, "lineage: a job read more versions than are "
			    "recorded per job");
		return NULL;
	}
	nv = realloc(j->in, (j->nin + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	j->in = nv;
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->job = j;
	in->commit = *commit;
	j->in[j->nin++] = in;
	return in;
}

struct mlfs_lin_read *mlfs_lin_open(struct mlfs_lin *l, pid_t pid, uid_t uid,
				    const struct mlfs_id *commit,
				    uint64_t file_key, bool *fresh)
{
	struct lin_input *in = NULL;
	struct lin_job *j;

	*fresh = false;
	if (!l)
		return NULL;
	pthread_mutex_lock(&l->lock);
	j = get_job_locked(l, pid, uid);
	if (j)
		in = get_input(l, j, commit);
	if (in) {
		int r = key_add(l, in, file_key);

		/* past the budget every open counts as another file */
		if (r != 0)
			in->files++;
		*fresh = r != 0;
		if (r == -ENOSPC)
			drop_locked(l, "lineage: the budget of distinct "
				    "files is spent; files are counted per "
				    "open from now on");
		j->holds++;
	}
	pthread_mutex_unlock(&l->lock);
	return in ? &in->rd : NULL;
}

void mlfs_lin_close(struct mlfs_lin *l, struct mlfs_lin_read *rd)
{
	struct lin_input *in = (struct lin_input *)rd;

	if (!l || !rd)
		return;
	pthread_mutex_lock(&l->lock);
	in->job->holds--;
	pthread_mutex_unlock(&l->lock);
}

static struct lin_wt *get_wt(struct mlfs_lin *l, const void *wt)
{
	struct lin_wt *w;

	for (w = l->wts; w; w = w->next)
		if (w->wt == wt)
			return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->wt = wt;
	w->epoch = 1;
	w->next = l->wts;
	l->wts = w;
	return w;
}

struct mlfs_lin_mark *mlfs_lin_wrote(struct mlfs_lin *l, pid_t pid,
				     uid_t uid, const void *wt, bool hold)
{
	struct mlfs_lin_mark *m = NULL, **nv;
	struct lin_wt *w = NULL;
	struct lin_job *j;

	if (!l)
		return NULL;
	pthread_mutex_lock(&l->lock);
	j = get_job_locked(l, pid, uid);
	if (j)
		w = get_wt(l, wt);
	for (size_t i = 0; w && i < j->nmarks; i++)
		if (j->marks[i]->w == w)
			m = j->marks[i];
	if (w && !m) {
		nv = realloc(j->marks, (j->nmarks + 1) * sizeof(*nv));
		if (nv) {
			j->marks = nv;
			m = calloc(1, sizeof(*m));
		}
		if (m) {
			m->job = j;
			m->w = w;
			j->marks[j->nmarks++] = m;
		}
	}
	if (m) {
		__atomic_store_n(&m->epoch, w->epoch, __ATOMIC_RELAXED);
		if (hold) {
			j->holds++;
			m->holds++;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return hold ? m : NULL;
}

void mlfs_lin_write(struct mlfs_lin *l, struct mlfs_lin_mark *m)
{
	if (!m || __atomic_load_n(&m->epoch, __ATOMIC_RELAXED) ==
		  __atomic_load_n(&m->w->epoch, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&l->lock);
	m->epoch = m->w->epoch;
	m->job->last = ++l->clock;
	pthread_mutex_unlock(&l->lock);
}

void mlfs_lin_unmark(struct mlfs_lin *l, struct mlfs_lin_mark *m)
{
	if (!l || !m)
		return;
	pthread_mutex_lock(&l->lock);
	m->job->holds--;
	m->holds--;
	pthread_mutex_unlock(&l->lock);
}

static int add_job_inputs(const struct lin_job *j,
			  const struct mlfs_id *exclude,
			  struct mlfs_input **v, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < j->nin; i++) {
		const struct lin_input *in = j->in[i];

		if (exclude && !mlfs_id_cmp(&in->commit, exclude))
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct mlfs_input *nv = realloc(*v, nc * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			*v = nv;
			*cap = nc;
		}
		(*v)[(*n)++] = (struct mlfs_input){
			.commit = in->commit,
			.files = in->files,
			.bytes = __atomic_load_n(&in->rd.bytes,
						 __ATOMIC_RELAXED),
			.how = MLFS_INPUT_MOUNT,
		};
	}
	return 0;
}

int mlfs_lin_inputs(struct mlfs_lin *l, const void *wt,
		    const struct mlfs_lin_key *job,
		    const struct mlfs_id *exclude, struct mlfs_input **out,
		    size_t *n)
{
	struct mlfs_input *v = NULL;
	size_t nv = 0, cap = 0;
	struct lin_wt *w;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	for (w = l->wts; w && w->wt != wt; w = w->next)
		;
	for (size_t i = 0; r == 0 && i < l->njobs; i++) {
		const struct lin_job *j = l->jobs[i];
		bool wrote = false;

		if (job) {
			if (j->key.pgid != job->pgid ||
			    j->key.start != job->start)
				continue;
		} else {
			for (size_t k = 0; w && k < j->nmarks; k++)
				if (j->marks[k]->w == w &&
				    j->marks[k]->epoch == w->epoch)
					wrote = true;
			if (!wrote)
				continue;
		}
		r = add_job_inputs(j, exclude, &v, &nv, &cap);
	}
	pthread_mutex_unlock(&l->lock);
	if (r < 0) {
		free(v);
		return r;
	}
	*n = mlfs_inputs_merge(v, nv);
	*out = v;
	return 0;
}

void mlfs_lin_wt_done(struct mlfs_lin *l, const void *wt)
{
	struct lin_wt *w;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	for (w = l->wts; w && w->wt != wt; w = w->next)
		;
	if (w)
		__atomic_store_n(&w->epoch, w->epoch + 1, __ATOMIC_RELAXED);
	/* a file still open for writing stays changed across the snapshot
	 * (the kernel may write it without telling us: passthrough), so
	 * its job stays a writer of the next one */
	for (size_t i = 0; w && i < l->njobs; i++)
		for (size_t k = 0; k < l->jobs[i]->nmarks; k++) {
			struct mlfs_lin_mark *m = l->jobs[i]->marks[k];

			if (m->w == w && m->holds)
				__atomic_store_n(&m->epoch, w->epoch,
						 __ATOMIC_RELAXED);
		}
	pthread_mutex_unlock(&l->lock);
}

void mlfs_lin_stats(struct mlfs_lin *l, size_t *jobs, uint64_t *dropped)
{
	*jobs = 0;
	*dropped = 0;
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	*jobs = l->njobs;
	*dropped = l->dropped;
	pthread_mutex_unlock(&l->lock);
}
