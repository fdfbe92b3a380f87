/* tend envs: the project's environments (load/envs.h), one per line, or
 * with --files each with the overlay files it adds, relative to the project
 * folder. The base files are loaded first, so that the project folder is
 * the one every other command uses and a broken base is reported here too. */
#include "cli/cli.h"
#include "load/envs.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char envs_usage[] =
    "Usage: tend envs [--files]\n"
    "\n"
    "Lists the project's environments, one per line: the folders env/NAME/\n"
    "with *.yaml files and the files compose.NAME.yaml in the project folder.\n"
    "`tend --env NAME COMMAND` (or TEND_ENV=NAME) merges NAME's files over\n"
    "the base services files and reads .env.NAME after .env.\n"
    "\n"
    "Options:\n"
    "      --files   print each environment's files after its name\n"
    "  -h, --help    show this help\n";

int cmd_envs(ConfigOptions *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"files", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool files = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'F':
            files = true;
            break;
        case 'h':
            fputs(envs_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend envs --help' for usage.\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tend envs: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    o->base_only = true;
    o->all_profiles = true;
    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r)
        return r;
    StrVec names = {0};
    envs_list(p->workdir, &names);
    size_t skip = strlen(p->workdir) + 1;
    for (size_t i = 0; i < names.n; i++) {
        fputs(names.v[i], stdout);
        StrVec f = {0};
        if (files && envs_overlay_files(p->workdir, names.v[i], &f) == 0)
            for (size_t k = 0; k < f.n; k++)
                printf(" %s", f.v[k] + skip);
        strvec_free(&f);
        fputc('\n', stdout);
    }
    strvec_free(&names);
    project_free(p);
    return fflush(stdout) == 0 ? 0 : 1;
}
