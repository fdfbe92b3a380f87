/* common: what several commands share around a running stack: loading the
 * project with every profile, connecting to its supervisor with a message
 * when that fails, and the colour of a service's name. */
#include "cli/cli.h"

#include "ctl/client.h"
#include "ctl/proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_connect_project(const Project *p, const char *cmd, CtlClient **ret)
{
    return cli_connect_named(p->name, cmd, ret);
}

int cli_connect_named(const char *name, const char *cmd, CtlClient **ret)
{
    _cleanup_free_ char *path = ctl_socket_path_named(name);
    char *err = NULL;
    int r = ctl_connect(path, ret, &err);
    if (r == -ENOENT || r == -ECONNREFUSED) {
        free(err);
        if (r == -ECONNREFUSED)
            ctl_probe(path, NULL); /* removes the stale file */
        return 0;
    }
    if (r < 0) {
        fprintf(stderr, "tend %s: %s\n", cmd, err ? err : strerror(-r));
        free(err);
        return r;
    }
    return 1;
}

/* The same palette and hash as logmux, so a name keeps its colour. */
const char *cli_color(const char *name)
{
    static const char *const palette[] = {
        "\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m", "\033[31m",
        "\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m", "\033[91m",
    };
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return palette[h % ARRAY_SIZE(palette)];
}

/* ---- for the commands ---- */

int cli_load_project(ConfigOptions *o, Project **ret)
{
    o->all_profiles = true;
    return config_load_report(o, ret);
}

int cli_load_named(ConfigOptions *o, const char *cmd, int argc, char **argv, bool check, Project **ret,
                   StrVec *names)
{
    for (int i = 0; i < argc; i++)
        strvec_push(names, argv[i]);
    int r = cli_load_project(o, ret);
    for (size_t i = 0; r == 0 && check && i < names->n; i++)
        if (!project_service(*ret, names->v[i])) {
            fprintf(stderr, "tend %s: no service \"%s\" in the project\n", cmd, names->v[i]);
            r = 2;
        }
    if (r) {
        if (*ret)
            project_free(*ret);
        *ret = NULL;
        strvec_free(names);
    }
    return r;
}
