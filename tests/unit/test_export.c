/*
 * test_export.c - export and cat check what they stream: the file's size
 * against its content row and the whole-file digest of the bytes against
 * the tree entry's id (with a content row that is valid in every other
 * respect, so no per-chunk or row check can see the damage); export
 * writes aligned blocks of zeros as holes and removes a file it could not
 * write correctly. A real store in a temp directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mlfs/export.h"
#include "mlfs/import.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"
#include "store_impl.h"
#include "testutil.h"

#define FILE_LEN 50000u
/* zeros, data, zeros, data, zeros: holes in the middle and at the end */
#define SPARSE_LEN (3u << 20)

static const struct mlfs_chunk_params small_chunks = { 1024, 4096, 16384 };

struct fixture {
	char root[64];
	char dir[128];
	char src[128];
	struct mlfs_store *s;
	struct mlfs_id tree;
	uint8_t a[FILE_LEN], b[FILE_LEN];
	uint8_t *sparse;
};

static uint8_t *read_all(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(mlfs_pread_full(fd, p, (size_t)st.st_size, 0), 0);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
}

static int setup(void **state)
{
	struct mlfs_store_init_opts io = { .chunk = small_chunks };
	struct mlfs_import_opts o = { .message = "t", .author = "t",
				      .threads = 2 };
	struct mlfs_import_stats st;
	struct mlfs_commit c = { 0 };
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/mlfs-test-export-XXXXXX",
		 tmp);
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/store", f->root);
	snprintf(f->src, sizeof(f->src), "%s/src", f->root);
	assert_int_equal(mkdir(f->src, 0755), 0);
	fill_random(f->a, FILE_LEN, 1);
	fill_random(f->b, FILE_LEN, 2);
	testutil_write_file(f->src, "a.bin", f->a, FILE_LEN);
	testutil_write_file(f->src, "b.bin", f->b, FILE_LEN);
	f->sparse = calloc(1, SPARSE_LEN);
	assert_non_null(f->sparse);
	fill_random(f->sparse + (1u << 20) + 100, 9000, 3);
	fill_random(f->sparse + (2u << 20), 4096, 4);
	testutil_write_file(f->src, "sparse.bin", f->sparse, SPARSE_LEN);
	assert_int_equal(mlfs_store_init(f->dir, &io), 0);
	assert_int_equal(mlfs_store_open(f->dir, 0, &f->s), 0);
	assert_int_equal(mlfs_import(f->s, f->src, "t", "r", &o, &st), 0);
	assert_int_equal(mlfs_commit_get(f->s, &st.commit, &c), 0);
	f->tree = c.tree;
	mlfs_commit_release(&c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mlfs_store_close(f->s);
	testutil_rm_rf(f->root);
	free(f->sparse);
	free(f);
	return 0;
}

static void lookup(struct fixture *f, const char *path,
		   struct mlfs_entry_copy *e)
{
	assert_int_equal(mlfs_tree_lookup_path(f->s, &f->tree, path, e), 0);
}

/* A new content row under id @digest holding @from's chunk list: valid in
 * itself (the store writes it, with whatever check values rows carry),
 * wrong for a file whose id is @digest. */
static void put_row_with_list_of(struct fixture *f,
				 const struct mlfs_id *digest,
				 const struct mlfs_entry *from)
{
	struct mlfs_buf list = MLFS_BUF_INIT;
	uint64_t size;

	assert_int_equal(mlfs_meta_content_get(f->s->meta, &from->id, &size,
					       &list), 0);
	assert_int_equal(mlfs_meta_begin(f->s->meta), 0);
	assert_int_equal(mlfs_meta_content_put(f->s->meta, digest, size,
					       list.data, list.len), 0);
	assert_int_equal(mlfs_meta_commit(f->s->meta), 0);
	mlfs_buf_release(&list);
}

static int tmp_fd(struct fixture *f, const char *name, char *path,
		  size_t size)
{
	int fd;

	snprintf(path, size, "%s/%s", f->root, name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	return fd;
}

static void test_export_content_fd_streams_exact_bytes(void **state)
{
	struct fixture *f = *state;
	struct mlfs_entry_copy e = { 0 };
	enum mlfs_export_fault fault = MLFS_EXPORT_DAMAGED;
	char path[PATH_MAX];
	uint8_t *got;
	size_t len;
	int fd = tmp_fd(f, "plain", path, sizeof(path));

	lookup(f, "a.bin", &e);
	assert_int_equal(mlfs_export_content_fd(f->s, &e.e, fd, 0, &fault),
			 0);
	assert_int_equal(fault, MLFS_EXPORT_OK);
	close(fd);
	got = read_all(path, &len);
	assert_int_equal(len, FILE_LEN);
	assert_memory_equal(got, f->a, FILE_LEN);
	free(got);
	mlfs_entry_copy_release(&e);
}

static void test_export_content_fd_rejects_digest_mismatch(void **state)
{
	struct fixture *f = *state;
	struct mlfs_entry_copy b = { 0 };
	struct mlfs_entry e;
	enum mlfs_export_fault fault = MLFS_EXPORT_OK;
	char path[PATH_MAX], want[200], da[MLFS_ID_HEX_LEN + 1],
	     db[MLFS_ID_HEX_LEN + 1];
	int fd = tmp_fd(f, "mismatch", path, sizeof(path));

	/* A file entry whose id names a row holding b's chunks. */
	lookup(f, "b.bin", &b);
	e = b.e;
	mlfs_hash(&f->s->cfg.key, "not b", 5, &e.id);
	put_row_with_list_of(f, &e.id, &b.e);
	mlfs_error_clear();
	assert_int_equal(mlfs_export_content_fd(f->s, &e, fd, 0, &fault),
			 -EIO);
	assert_int_equal(fault, MLFS_EXPORT_DAMAGED);
	mlfs_id_to_hex(&e.id, da);
	mlfs_id_to_hex(&b.e.id, db);
	snprintf(want, sizeof(want),
		 "content digest mismatch (expected %s, got %s)", da, db);
	assert_string_equal(mlfs_error_detail(), want);
	close(fd);
	mlfs_entry_copy_release(&b);
}

static void test_export_content_fd_rejects_size_mismatch(void **state)
{
	struct fixture *f = *state;
	struct mlfs_entry_copy a = { 0 };
	enum mlfs_export_fault fault = MLFS_EXPORT_OK;
	char path[PATH_MAX];
	int fd = tmp_fd(f, "size", path, sizeof(path));
	struct stat st;

	lookup(f, "a.bin", &a);
	a.e.size = FILE_LEN - 1;
	mlfs_error_clear();
	assert_int_equal(mlfs_export_content_fd(f->s, &a.e, fd, 0, &fault),
			 -EIO);
	assert_int_equal(fault, MLFS_EXPORT_DAMAGED);
	assert_string_equal(mlfs_error_detail(),
			    "size mismatch (the tree says 49999 bytes, the "
			    "content row 50000)");
	/* Checked before a byte is written. */
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	mlfs_entry_copy_release(&a);
}

static void test_export_content_fd_reports_write_errors(void **state)
{
	struct fixture *f = *state;
	struct mlfs_entry_copy a = { 0 };
	enum mlfs_export_fault fault = MLFS_EXPORT_OK;
	char path[PATH_MAX];
	int fd = tmp_fd(f, "ro", path, sizeof(path));

	close(fd);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	lookup(f, "a.bin", &a);
	assert_int_equal(mlfs_export_content_fd(f->s, &a.e, fd, 0, &fault),
			 -EBADF);
	assert_int_equal(fault, MLFS_EXPORT_WRITE);
	close(fd);
	mlfs_entry_copy_release(&a);
}

static void test_export_writes_zero_blocks_as_holes(void **state)
{
	struct fixture *f = *state;
	struct mlfs_entry_copy e = { 0 };
	struct mlfs_export_stats st;
	char path[PATH_MAX];
	struct stat sb;
	uint8_t *got;
	size_t len;

	snprintf(path, sizeof(path), "%s/sparse-out", f->root);
	lookup(f, "sparse.bin", &e);
	assert_int_equal(mlfs_export(f->s, &e.e, path, &st), 0);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.bytes, SPARSE_LEN);
	got = read_all(path, &len);
	assert_int_equal(len, SPARSE_LEN);
	assert_memory_equal(got, f->sparse, SPARSE_LEN);
	free(got);
	/* 13096 bytes of data in 4 blocks; the small chunks (at most 16 KiB)
	 * of the zero runs do not start on block boundaries, so blocks of
	 * zeros span chunks and are holes all the same. */
	assert_int_equal(stat(path, &sb), 0);
	assert_true((uint64_t)sb.st_blocks * 512 <= 64u << 10);
	{
		int fd = open(path, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(lseek(fd, 0, SEEK_DATA), 1u << 20);
		assert_int_equal(lseek(fd, 1u << 20, SEEK_HOLE),
				 (1u << 20) + 12288);
		assert_int_equal(lseek(fd, (1u << 20) + 12288, SEEK_DATA),
				 2u << 20);
		/* The trailing zeros are a hole too. */
		assert_int_equal(lseek(fd, 2u << 20, SEEK_HOLE),
				 (2u << 20) + 4096);
		close(fd);
	}
	mlfs_entry_copy_release(&e);
}

static void test_export_removes_file_with_wrong_digest(void **state)
{
	struct fixture *f = *state;
	struct mlfs_entry_copy b = { 0 };
	struct mlfs_export_stats st;
	struct mlfs_entry e;
	char path[PATH_MAX];
	struct stat sb;

	lookup(f, "b.bin", &b);
	e = b.e;
	mlfs_hash(&f->s->cfg.key, "not b either", 12, &e.id);
	put_row_with_list_of(f, &e.id, &b.e);
	snprintf(path, sizeof(path), "%s/bad-out", f->root);
	assert_int_equal(mlfs_export(f->s, &e, path, &st), -EIO);
	assert_int_equal(st.fault, MLFS_EXPORT_DAMAGED);
	assert_string_equal(st.fault_path, "");
	assert_true(st.removed_partial);
	assert_int_equal(st.files, 0);
	assert_int_equal(lstat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);
	mlfs_entry_copy_release(&b);
}

static void test_export_of_existing_dest_is_eexist(void **state)
{
	struct fixture *f = *state;
	struct mlfs_entry_copy root = { 0 };
	struct mlfs_export_stats st;

	lookup(f, "", &root);
	assert_int_equal(mlfs_export(f->s, &root.e, f->src, &st), -EEXIST);
	assert_int_equal(st.fault, MLFS_EXPORT_WRITE);
	assert_false(st.removed_partial);
	mlfs_entry_copy_release(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_export_content_fd_streams_exact_bytes, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_export_content_fd_rejects_digest_mismatch, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_export_content_fd_rejects_size_mismatch, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_export_content_fd_reports_write_errors, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_export_writes_zero_blocks_as_holes, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_export_removes_file_with_wrong_digest, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_export_of_existing_dest_is_eexist, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
