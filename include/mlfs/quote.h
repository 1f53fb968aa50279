/*
 * quote.h - names for text output, quoted as git quotes paths with
 * core.quotePath (its default): a name holding a double quote, a
 * backslash, a control byte or a byte >= 0x80 is written in double quotes
 * with C escapes, so each name is one line and cannot fake another.
 * JSON output never uses this: it escapes by its own rules.
 */
#ifndef MLFS_QUOTE_H
#define MLFS_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "mlfs/util.h"

/* Whether @len bytes at @s need quoting. */
bool mlfs_quote_needed(const char *s, size_t len);

/*
 * Append @len bytes at @s to @out, as they are when no byte needs it,
 * else in double quotes with \a \b \t \n \v \f \r \" \\ and a three-digit
 * octal \ooo for every other byte below 0x20, 0x7f and each byte >= 0x80
 * (UTF-8 names too, as git by default). Not NUL-terminated. Returns 0 or
 * -ENOMEM (@out then holds a prefix of the result).
 */
MLFS_MUST_CHECK int mlfs_quote_path(struct mlfs_buf *out, const char *s,
				    size_t len);

#endif
