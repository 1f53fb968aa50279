/*
 * cmd_branch.c - mlfs branch: lines of development.
 */
#include "refcmd.h"

static const char usage[] =
	"usage: mlfs branch NS/NAME[@REF] BRANCH   create BRANCH at REF\n"
	"       mlfs branch --list NS/NAME [--json]\n"
	"       mlfs branch -r NS/NAME [--json]          remote-tracking refs\n"
	"       mlfs branch --delete NS/NAME BRANCH\n\n"
	"'mlfs import -b BRANCH' adds commits to a branch. The default branch\n"
	"(main) cannot be deleted. Deleting a branch never deletes commits:\n"
	"those a tag or another branch reaches stay reachable, and every\n"
	"commit stays addressable by id. -r (--remotes) lists where each\n"
	"remote's branches were at the last fetch, pull, clone or push; read\n"
	"them as NS/NAME@REMOTE/BRANCH.\n";

int cmd_branch(struct cli *c, int argc, char **argv)
{
	return cli_ref_command(c, argc, argv, MLFS_REF_BRANCH, usage);
}
