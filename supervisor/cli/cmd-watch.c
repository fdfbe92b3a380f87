/* tend watch [SERVICE...]: `tend up --watch`, as `docker compose watch`
 * is `up` with watching: the stack runs in the foreground and the named
 * services (default: all) are reloaded when their files change. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char watch_usage[] =
    "Usage: tend watch [OPTIONS] [SERVICE...]\n"
    "\n"
    "Starts the stack in the foreground, as `tend up`, and reloads services\n"
    "when their files change: the develop.watch and x-tend watch rules, and\n"
    "by default the project folders a container bind-mounts. With SERVICE,\n"
    "only those are watched (what they depend on still runs). Changes are\n"
    "gathered until 100 ms pass without one (x-tend watch.debounce), then\n"
    "each service is reloaded once; one line tells what changed and how\n"
    "long the service took to be ready again.\n"
    "\n"
    "Options: those of `tend up` (see tend up --help), for example\n"
    "      --no-deps                 do not start what the named services need\n"
    "      --wait-timeout S          give up if not ready within S seconds\n"
    "      --json                    logs, state changes and reloads as JSON lines\n"
    "  -h, --help                    show this help\n";

int cmd_watch(ConfigOptions *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--"))
            break;
        if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
            fputs(watch_usage, stdout);
            return 0;
        }
    }
    /* up --watch ARGS...: the same options, one more flag. */
    char **av = xcalloc((size_t)argc + 2, sizeof(char *));
    av[0] = (char *)"up";
    av[1] = (char *)"--watch";
    for (int i = 1; i < argc; i++)
        av[i + 1] = argv[i];
    int r = cmd_up(o, argc + 1, av);
    free(av);
    return r;
}
