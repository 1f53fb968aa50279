/*
 * fuzz_s3_credentials.c - mlfs_s3_creds_parse (an ~/.aws/credentials
 * file). Input: one byte N, then N bytes of profile name (NUL-free), then
 * the file. Invariants: a failure leaves the output zeroed and is
 * -ENOENT or -EBADMSG; a success has non-empty keys without a newline,
 * and parsing the same text again gives the same keys.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/s3.h"

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t n = (size_t)fuzz_take(&in, 1);
	struct mlfs_s3_creds c, again;
	char *profile, *text;
	int r;

	if (n > in.n)
		n = in.n;
	profile = fuzz_strndup(in.p, n);
	if (strlen(profile) != n) {
		free(profile);
		return 0;
	}
	in.p += n;
	in.n -= n;
	/* An exact-size copy: a read past the end is an ASan error. */
	text = malloc(in.n ? in.n : 1);
	if (!text)
		abort();
	memcpy(text, in.p, in.n);
	r = mlfs_s3_creds_parse(text, in.n, profile, &c);
	if (r) {
		FUZZ_CHECK(r == -ENOENT || r == -EBADMSG || r == -ENOMEM);
		FUZZ_CHECK(!c.access_key && !c.secret_key && !c.session_token);
	} else {
		FUZZ_CHECK(c.access_key[0] && c.secret_key[0]);
		FUZZ_CHECK(!strchr(c.access_key, '\n') &&
			   !strchr(c.secret_key, '\n'));
		FUZZ_CHECK(mlfs_s3_creds_parse(text, in.n, profile, &again) == 0);
		FUZZ_CHECK(same(c.access_key, again.access_key) &&
			   same(c.secret_key, again.secret_key) &&
			   same(c.session_token, again.session_token));
		mlfs_s3_creds_free(&again);
		mlfs_s3_creds_free(&c);
	}
	free(text);
	free(profile);
	return 0;
}
