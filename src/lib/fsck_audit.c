/*
 * fsck_audit.c - fsck's check of the audit log: every record that does
 * not chain to the one before it is a problem (kind "audit", object
 * "record N"), as mlfs audit --verify finds the first (audit.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "audit_impl.h"
#include "fsck_impl.h"

static int bad_record(void *ctx, int64_t id, const char *when,
		      const char *op, const char *why)
{
	char object[32];
	long k;

	snprintf(object, sizeof(object), "record %" PRId64, id);
	k = fsck_problem(ctx, "audit", object, AT_STORE,
			 "%s; it says %s at %s", why, op, when);
	return k < 0 ? (int)k : 0;
}

int fsck_check_audit(struct fsck *f)
{
	int r = mlfs_audit_check(f->s, bad_record, f, &f->st->audit_records);

	if (r < 0 && r != -ENOMEM) {
		long k = fsck_problem(f, "database", NULL, AT_STORE,
				      "cannot read the audit log: %s",
				      fsck_db_why(NULL, r));

		r = k < 0 ? (int)k : 0;
	}
	return r;
}
