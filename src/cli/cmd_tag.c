/*
 * cmd_tag.c - mlfs tag: name a version for good.
 */
#include "refcmd.h"

static const char usage[] =
	"usage: mlfs tag NS/NAME[@REF] TAG     create TAG at REF (default: "
	"head of main)\n"
	"       mlfs tag --list NS/NAME [--json]\n"
	"       mlfs tag --delete NS/NAME TAG\n\n"
	"Tags are immutable names for versions: they cannot be moved, only\n"
	"deleted and created again. When a tag and a branch share a name,\n"
	"NS/NAME@NAME means the tag. Deleting a tag keeps its commits.\n";

int cmd_tag(struct cli *c, int argc, char **argv)
{
	return cli_ref_command(c, argc, argv, MLFS_REF_TAG, usage);
}
