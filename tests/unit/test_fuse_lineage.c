/*
 * test_fuse_lineage.c - the mount's job table (src/fuse/lineage.c),
 * compiled in: distinct files and bytes per job and version, writers of
 * a working tree and their generations, the base left out, one job's
 * inputs, and a process in another group not attributed. Jobs are real
 * process groups (this process, and a child in a group of its own).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/fuse/lineage.c"

static const struct mlfs_id A = { .b = { 0xa } }, B = { .b = { 0xb } };
static const int wt1 = 1, wt2 = 2; /* working-tree keys: addresses */

static int setup(void **state)
{
	struct mlfs_lin *l;

	assert_int_equal(mlfs_lin_new(NULL, NULL, &l), 0);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	mlfs_lin_free(*state);
	return 0;
}

static struct mlfs_lin_read *open_as(struct mlfs_lin *l, pid_t pid,
				     const struct mlfs_id *c, uint64_t key,
				     bool *fresh)
{
	struct mlfs_lin_read *rd = mlfs_lin_open(l, pid, getuid(), c, key,
						 fresh);

	assert_non_null(rd);
	return rd;
}

static void inputs(struct mlfs_lin *l, const void *wt,
		   const struct mlfs_lin_key *job, const struct mlfs_id *ex,
		   struct mlfs_input **v, size_t *n)
{
	assert_int_equal(mlfs_lin_inputs(l, wt, job, ex, v, n), 0);
}

static void test_lin_files_are_distinct_and_bytes_add_up(void **state)
{
	struct mlfs_lin *l = *state;
	struct mlfs_lin_read *r1, *r2, *r3;
	struct mlfs_input *v;
	bool fresh;
	size_t n;

	r1 = open_as(l, getpid(), &A, 7, &fresh);
	assert_true(fresh);
	r2 = open_as(l, getpid(), &A, 7, &fresh);
	assert_false(fresh); /* the same file again: cached pages kept */
	r3 = open_as(l, getpid(), &A, 8, &fresh);
	assert_true(fresh);
	mlfs_lin_count(r1, 100);
	mlfs_lin_count(r2, 20);
	mlfs_lin_count(r3, 3);
	(void)mlfs_lin_wrote(l, getpid(), getuid(), &wt1, false);
	inputs(l, &wt1, NULL, NULL, &v, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].commit.b, A.b, MLFS_ID_LEN);
	assert_int_equal(v[0].files, 2);
	assert_int_equal(v[0].bytes, 123);
	assert_int_equal(v[0].how, MLFS_INPUT_MOUNT);
	free(v);
	/* another tree this job did not change: nothing */
	inputs(l, &wt2, NULL, NULL, &v, &n);
	assert_int_equal(n, 0);
	mlfs_lin_close(l, r1);
	mlfs_lin_close(l, r2);
	mlfs_lin_close(l, r3);
}

static void test_lin_base_left_out_and_generations(void **state)
{
	struct mlfs_lin *l = *state;
	struct mlfs_lin_mark *m;
	struct mlfs_input *v;
	bool fresh;
	size_t n;

	mlfs_lin_close(l, open_as(l, getpid(), &A, 1, &fresh));
	mlfs_lin_close(l, open_as(l, getpid(), &B, 1, &fresh));
	(void)mlfs_lin_wrote(l, getpid(), getuid(), &wt1, false);
	inputs(l, &wt1, NULL, &A, &v, &n); /* A is the tree's base */
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].commit.b, B.b, MLFS_ID_LEN);
	free(v);
	mlfs_lin_wt_done(l, &wt1);
	inputs(l, &wt1, NULL, NULL, &v, &n);
	assert_int_equal(n, 0); /* snapshotted: no writer left */
	/* a handle open for writing re-marks on its next write, and keeps
	 * its job a writer across a snapshot */
	m = mlfs_lin_wrote(l, getpid(), getuid(), &wt1, true);
	assert_non_null(m);
	mlfs_lin_wt_done(l, &wt1);
	inputs(l, &wt1, NULL, NULL, &v, &n);
	assert_int_equal(n, 2);
	free(v);
	mlfs_lin_unmark(l, m);
	mlfs_lin_wt_done(l, &wt1);
	inputs(l, &wt1, NULL, NULL, &v, &n);
	assert_int_equal(n, 0);
}

static void test_lin_other_group_not_attributed(void **state)
{
	struct mlfs_lin *l = *state;
	struct mlfs_lin_key me, other;
	struct mlfs_input *v;
	bool fresh;
	size_t n;
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0) {
		(void)setpgid(0, 0);
		pause();
		_exit(0);
	}
	(void)setpgid(child, child);
	assert_int_equal(mlfs_lin_job_of(l, getpid(), getuid(), &me), 0);
	assert_int_equal(mlfs_lin_job_of(l, child, getuid(), &other), 0);
	assert_int_equal(other.pgid, child);
	assert_true(other.start != 0);
	assert_true(me.pgid != other.pgid);
	/* the child reads B, we read A and write the tree */
	mlfs_lin_close(l, open_as(l, child, &B, 1, &fresh));
	mlfs_lin_close(l, open_as(l, getpid(), &A, 1, &fresh));
	(void)mlfs_lin_wrote(l, getpid(), getuid(), &wt1, false);
	inputs(l, &wt1, NULL, NULL, &v, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].commit.b, A.b, MLFS_ID_LEN);
	free(v);
	/* one job's inputs by its key, written or not (mlfs run) */
	inputs(l, &wt2, &other, NULL, &v, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].commit.b, B.b, MLFS_ID_LEN);
	free(v);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* a gone process is not recorded (pid 0 is never one) */
	assert_null(mlfs_lin_open(l, 0, getuid(), &A, 1, &fresh));
	assert_false(fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_lin_files_are_distinct_and_bytes_add_up),
		T(test_lin_base_left_out_and_generations),
		T(test_lin_other_group_not_attributed),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
