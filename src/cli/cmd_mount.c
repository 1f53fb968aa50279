/*
 * cmd_mount.c - `mlfs mount` and `mlfs umount`. Checks what can be
 * checked before forking (store, its schema, mountpoint, that FUSE is
 * there) so the messages are plain, then hands over to the daemon in
 * src/fuse/daemon.c. /dev/fuse is never opened here (libfuse opens it,
 * or for an ordinary user the setuid fusermount3 does).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mount.h"

static const char mount_usage[] =
	"usage: mlfs mount MOUNTPOINT [--store DIR] [-f] [-d] [-o OPTS]\n"
	"\n"
	"  -f                stay in the foreground, log to stderr\n"
	"  -d                libfuse debug output (implies -f)\n"
	"  -o cache_size=N   decompressed-chunk cache (default 64M)\n"
	"  -o readahead=N    bytes decoded ahead of sequential readers (4M)\n"
	"  -o log=PATH       daemon log (default STORE/mount.log)\n"
	"  -o nolineage      record no lineage (docs/lineage.md)\n"
	"  -o OPT            any other option is passed to libfuse\n"
	"                    (e.g. allow_other)\n";

static const char umount_usage[] = "usage: mlfs umount MOUNTPOINT\n";

/* "64M", "1g", "4096" -> bytes. Returns 0 or -EINVAL. */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v > (SIZE_MAX >> shift))
		return -EINVAL;
	*out = (size_t)(v << shift);
	return 0;
}

/* Split -o @opts: our options into @o, the rest appended to o->fuse_opts. */
static int parse_opts(const char *opts, struct mlfs_mount_opts *o)
{
	char *copy = strdup(opts), *save = NULL, *tok;
	int r = 0;

	if (!copy)
		return cli_error(-ENOMEM, "cannot parse options");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "cache_size=", 11)) {
			if (parse_size(tok + 11, &o->cache_size) < 0 ||
			    !o->cache_size) {
				r = cli_usage_error("mount", "bad size '%s'",
						    tok + 11);
				goto out;
			}
		} else if (!strncmp(tok, "readahead=", 10)) {
			if (parse_size(tok + 10, &o->readahead) < 0) {
				r = cli_usage_error("mount", "bad size '%s'",
						    tok + 10);
				goto out;
			}
		} else if (!strcmp(tok, "nolineage")) {
			o->nolineage = true;
		} else if (!strncmp(tok, "log=", 4)) {
			free((char *)o->log_path);
			o->log_path = strdup(tok + 4); /* cmd_mount frees */
			if (!o->log_path) {
				r = cli_error(-ENOMEM, "cannot parse options");
				goto out;
			}
		} else if (*tok) {
			char *n = NULL;

			if (asprintf(&n, "%s%s%s",
				     o->fuse_opts ? o->fuse_opts : "",
				     o->fuse_opts ? "," : "", tok) < 0) {
				r = cli_error(-ENOMEM, "cannot parse options");
				goto out;
			}
			free(o->fuse_opts);
			o->fuse_opts = n;
		}
	}
out:
	free(copy);
	return r;
}

/*
 * Is FUSE there for us? Only asked, never opened: libfuse opens it, and
 * for a user whom mount(2) refuses it hands over to the setuid
 * fusermount3. That one opens /dev/fuse with the caller's own uid and
 * gid, on purpose (the device's mode is what decides who may use FUSE),
 * so a device the user may not open means no FUSE mount at all: say so
 * instead of the daemon's "cannot mount".
 */
static int check_dev_fuse(void)
{
	struct stat st;

	if (stat("/dev/fuse", &st) < 0)
		return cli_error(-errno, "cannot find '/dev/fuse' (is the "
				 "fuse module loaded and fuse3 installed?)");
	if (access("/dev/fuse", R_OK | W_OK) < 0 && errno == EACCES)
		return cli_error(0, "'/dev/fuse' (mode %04o, owner %u, group "
				 "%u) does not let you use FUSE; ask an "
				 "administrator to make it mode 0666 (the usual) "
				 "or to give you its group",
				 (unsigned)(st.st_mode & 07777),
				 (unsigned)st.st_uid, (unsigned)st.st_gid);
	return CLI_OK;
}

/* Open the store read-only as cli_open_store() does, but say what to do
 * about an older schema: the daemon never migrates a store. */
static int open_store(struct cli *c, struct mlfs_store **out)
{
	char *dir = c->store_dir ? strdup(c->store_dir) :
		    mlfs_store_default_dir();
	int r;

	if (!dir)
		return cli_error(-ENOMEM, "cannot find the store");
	r = mlfs_store_open(dir, MLFS_STORE_RDONLY, out);
	if (r == -ESTALE)
		r = cli_error(0, "store '%s' has an older format, and the "
			      "mount never changes a store; run 'mlfs upgrade "
			      "--store %s' first", dir, dir);
	else if (r < 0)
		r = cli_open_store(c, MLFS_STORE_RDONLY, out);
	else
		r = CLI_OK;
	free(dir);
	return r;
}

int cmd_mount(struct cli *c, int argc, char **argv)
{
	struct mlfs_mount_opts o;
	struct mlfs_store *s = NULL;
	const char *mnt_arg = NULL;
	char *store_dir = NULL, *store_abs = NULL, *mnt_abs = NULL;
	char why[256];
	int r;

	memset(&o, 0, sizeof(o));
	o.readahead = MLFS_MOUNT_READAHEAD_DEFAULT;
	if (cli_want_help(argc, argv, mount_usage))
		return CLI_OK;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-f")) {
			o.foreground = true;
		} else if (!strcmp(a, "-d")) {
			o.debug = o.foreground = true;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--store")) {
			if (i + 1 >= argc) {
				r = cli_usage_error("mount", "'%s' needs a "
						    "value", a);
				goto out;
			}
			if (a[1] == 'o') {
				r = parse_opts(argv[++i], &o);
				if (r)
					goto out;
			} else {
				c->store_dir = argv[++i];
			}
		} else if (!strncmp(a, "-o", 2)) {
			r = parse_opts(a + 2, &o);
			if (r)
				goto out;
		} else if (!strncmp(a, "--store=", 8)) {
			c->store_dir = a + 8;
		} else if (a[0] == '-' && a[1]) {
			r = cli_usage_error("mount", "unknown option '%s'", a);
			goto out;
		} else if (!mnt_arg) {
			mnt_arg = a;
		} else {
			r = cli_usage_error("mount", "too many arguments");
			goto out;
		}
	}
	if (!mnt_arg) {
		r = cli_usage_error("mount", "missing MOUNTPOINT");
		goto out;
	}

	/* the store must exist; opening it gives the usual message (read
	 * access is enough: the mount never writes the store, nor migrates
	 * an older one) */
	r = open_store(c, &s);
	if (r)
		goto out;
	store_dir = strdup(mlfs_store_dir(s));
	mlfs_store_close(s);
	s = NULL;
	if (!store_dir) {
		r = cli_error(-ENOMEM, "out of memory");
		goto out;
	}
	/* the daemon runs in "/": give it absolute paths */
	store_abs = realpath(store_dir, NULL);
	if (!store_abs) {
		r = cli_error(-errno, "cannot find store '%s'", store_dir);
		goto out;
	}

	r = mlfs_mount_check_point(mnt_arg);
	switch (r) {
	case 0:
		break;
	case -ENOENT:
		r = cli_error(0, "mountpoint '%s' does not exist", mnt_arg);
		goto out;
	case -ENOTDIR:
		r = cli_error(0, "mountpoint '%s' is not a directory", mnt_arg);
		goto out;
	case -ENOTEMPTY:
		r = cli_error(0, "mountpoint '%s' is not empty", mnt_arg);
		goto out;
	case -EBUSY:
		r = cli_error(0, "'%s' is already mounted", mnt_arg);
		goto out;
	case -ENOTCONN:
		r = cli_error(0, "'%s' is a mount whose daemon died; run "
			      "'mlfs umount %s' first", mnt_arg, mnt_arg);
		goto out;
	default:
		r = cli_error(r, "cannot use mountpoint '%s'", mnt_arg);
		goto out;
	}
	mnt_abs = realpath(mnt_arg, NULL);
	if (!mnt_abs) {
		r = cli_error(-errno, "cannot use mountpoint '%s'", mnt_arg);
		goto out;
	}
	r = check_dev_fuse();
	if (r)
		goto out;

	o.store_dir = store_abs;
	o.mountpoint = mnt_abs;
	r = mlfs_mount_start(&o, why, sizeof(why));
	if (r < 0) {
		r = cli_error(r, "cannot mount '%s' on '%s': %s", store_abs,
			      mnt_abs, why[0] ? why : "failed");
		goto out;
	}
	r = CLI_OK;
out:
	mlfs_store_close(s);
	free(o.fuse_opts);
	free((char *)o.log_path);
	free(store_dir);
	free(store_abs);
	free(mnt_abs);
	return r;
}

int cmd_umount(struct cli *c MLFS_UNUSED, int argc, char **argv)
{
	int r;

	if (cli_want_help(argc, argv, umount_usage))
		return CLI_OK;
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error("umount", "expected one MOUNTPOINT");
	r = mlfs_mount_unmount(argv[1]);
	if (r < 0)
		return cli_error(0, "cannot unmount '%s': not mounted, or busy",
				 argv[1]);
	return CLI_OK;
}
