/* shim: `tend __shim [--] ARGV...`, the parent of every host process. It
 * makes its own process group, asks for SIGRTMIN+2 when tend dies
 * (PR_SET_PDEATHSIG), becomes a child subreaper, runs ARGV as its child and
 * passes signals it receives from tend on to the group. On tend's death it
 * kills the group and every descendant left with SIGKILL. It exits with
 * the child's status (128+N for a signal). */
#pragma once

int shim_main(int argc, char **argv);
