/*
 * s3probe.c - a test driver for the libmlfs S3 client (tests/s3_client.sh):
 * one operation per run against $S3_ENDPOINT / $S3_BUCKET (optional
 * $S3_PREFIX), credentials as mlfs_s3_creds_load() finds them.
 *
 *   s3probe mkbucket
 *   s3probe put KEY FILE [create | match ETAG]    prints the new ETag
 *   s3probe get KEY [OFF LEN]                     object bytes to stdout
 *   s3probe head KEY                              "SIZE ETAG"
 *   s3probe rm KEY
 *   s3probe ls PREFIX [PAGE_KEYS]                 "KEY SIZE ETAG" lines
 *
 * A failure prints "s3probe: DETAIL (strerror)" and exits 3 for EEXIST,
 * 4 ESTALE, 5 ENOENT, 6 EACCES, 1 otherwise. Not an mlfs command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/s3.h"

static int list_one(void *ctx, const char *key, uint64_t size,
		    const char *etag)
{
	(void)ctx;
	printf("%s %llu %s\n", key, (unsigned long long)size, etag);
	return 0;
}

static int read_all(const char *path, char **p, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, got;
	char *b = malloc(cap);

	if (!f || !b) {
		free(b);
		if (f)
			fclose(f);
		return -errno;
	}
	while ((got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				fclose(f);
				return -ENOMEM;
			}
			b = nb;
		}
	}
	fclose(f);
	*p = b;
	*len = n;
	return 0;
}

static int run(struct mlfs_s3 *s, int argc, char **argv)
{
	char etag[MLFS_S3_ETAG_MAX];
	const char *op = argv[1];

	if (!strcmp(op, "mkbucket") && argc == 2)
		return mlfs_s3_create_bucket(s);
	if (!strcmp(op, "put") && (argc == 4 || argc == 5 || argc == 6)) {
		enum mlfs_s3_cond cond = MLFS_S3_ALWAYS;
		char *data = NULL;
		size_t len = 0;
		int r;
		if (argc == 5 && !strcmp(argv[4], "create"))
			cond = MLFS_S3_CREATE_ONLY;
		else if (argc == 6 && !strcmp(argv[4], "match"))
			cond = MLFS_S3_IF_MATCH;
		else if (argc != 4)
			return -EINVAL;
		r = read_all(argv[3], &data, &len);
		if (r == 0)
			r = mlfs_s3_put(s, argv[2], data, len, cond,
					argc == 6 ? argv[5] : NULL, etag);
		free(data);
		if (r == 0)
			printf("%s\n", etag);
		return r;
	}
	if (!strcmp(op, "get") && (argc == 3 || argc == 5)) {
		struct mlfs_s3_buf b;
		uint64_t off = argc == 5 ? strtoull(argv[3], NULL, 10) : 0;
		uint64_t len = argc == 5 ? strtoull(argv[4], NULL, 10) : 0;
		int r = mlfs_s3_get(s, argv[2], off, len, &b);
		if (r)
			return r;
		if (fwrite(b.p, 1, b.len, stdout) != b.len)
			r = -EIO;
		free(b.p);
		return r;
	}
	if (!strcmp(op, "head") && argc == 3) {
		uint64_t size;
		int r = mlfs_s3_head(s, argv[2], &size, etag);
		if (r == 0)
			printf("%llu %s\n", (unsigned long long)size, etag);
		return r;
	}
	if (!strcmp(op, "rm") && argc == 3)
		return mlfs_s3_delete(s, argv[2]);
	if (!strcmp(op, "ls") && (argc == 3 || argc == 4))
		return mlfs_s3_list(s, argv[2],
				    argc == 4 ? (unsigned)atoi(argv[3]) : 0,
				    list_one, NULL);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct mlfs_s3_config cfg = {
		.endpoint = getenv("S3_ENDPOINT"),
		.bucket = getenv("S3_BUCKET"),
		.prefix = getenv("S3_PREFIX"),
		.retries = 2,
		.timeout_sec = 30,
	};
	struct mlfs_s3_creds creds;
	struct mlfs_s3 *s = NULL;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: s3probe mkbucket|put|get|head|rm|ls ...\n");
		return 2;
	}
	mlfs_error_clear();
	r = mlfs_s3_creds_load(&creds);
	if (r == 0) {
		r = mlfs_s3_open(&cfg, &creds, &s);
		mlfs_s3_creds_free(&creds);
	}
	if (r == 0)
		r = run(s, argc, argv);
	mlfs_s3_close(s);
	if (r == 0)
		return 0;
	fprintf(stderr, "s3probe: %s (%s)\n",
		*mlfs_error_detail() ? mlfs_error_detail() : "bad usage",
		strerror(-r));
	switch (r) {
	case -EEXIST: return 3;
	case -ESTALE: return 4;
	case -ENOENT: return 5;
	case -EACCES: return 6;
	default: return 1;
	}
}
