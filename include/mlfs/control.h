/*
 * control.h - how commands reach a running mount: the daemon that edits a
 * store's working trees listens on STORE/work/control.sock (mode 0600:
 * its own user and root), and `mlfs snapshot` / `mlfs discard` send it
 * their request instead of editing themselves. One request and one reply
 * per connection, each a message: lines "key=value" (in the value, "\\"
 * is written "\\\\" and a newline "\\n"), then an empty line. Keys are
 * [a-z_]+; a key may repeat (a list). Messages over MLFS_CTL_MAX bytes are
 * refused. The parser takes untrusted bytes (tests/fuzz/fuzz_control.c).
 */
#ifndef MLFS_CONTROL_H
#define MLFS_CONTROL_H

#include <stddef.h>

#include "mlfs/util.h"

/* A snapshot request carries its version metadata: up to 1024 pairs of
 * a 128-byte key and a 4096-byte value, doubled by escaping at worst,
 * fit. */
#define MLFS_CTL_MAX (16u << 20)
#define MLFS_CTL_SOCKET "control.sock"

struct mlfs_ctl_field {
	char *key;
	char *value;
};

struct mlfs_ctl_msg {
	struct mlfs_ctl_field *v;
	size_t n, cap;
};

/* Append key=value (copied). Returns 0 or -ENOMEM, -EINVAL (bad key). */
MLFS_MUST_CHECK int mlfs_ctl_add(struct mlfs_ctl_msg *m, const char *key,
				 const char *value);
MLFS_MUST_CHECK int mlfs_ctl_addf(struct mlfs_ctl_msg *m, const char *key,
				  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The first value of @key, or NULL. */
const char *mlfs_ctl_get(const struct mlfs_ctl_msg *m, const char *key);
void mlfs_ctl_release(struct mlfs_ctl_msg *m);

/* Encode @m into @out (appended). */
MLFS_MUST_CHECK int mlfs_ctl_encode(const struct mlfs_ctl_msg *m,
				    struct mlfs_buf *out);
/* Parse the message at the start of @p (@len bytes). Returns the bytes
 * it took (the empty line included), 0 when incomplete, or -EBADMSG
 * (malformed: bad key, bad escape, a NUL, too long), -ENOMEM. */
MLFS_MUST_CHECK long mlfs_ctl_parse(const void *p, size_t len,
				    struct mlfs_ctl_msg *out);

/* Read one message from @fd (until it is complete). Returns 0, -EBADMSG,
 * -EPIPE (closed before it was complete), -errno. */
MLFS_MUST_CHECK int mlfs_ctl_read(int fd, struct mlfs_ctl_msg *out);
MLFS_MUST_CHECK int mlfs_ctl_write(int fd, const struct mlfs_ctl_msg *m);

/* Send @req to the mount serving the store in @store_dir and wait for its
 * reply. Returns 0, -ENOENT / -ECONNREFUSED (no mount listens), -EBADMSG,
 * -errno. */
MLFS_MUST_CHECK int mlfs_ctl_call(const char *store_dir,
				  const struct mlfs_ctl_msg *req,
				  struct mlfs_ctl_msg *reply);

#endif
