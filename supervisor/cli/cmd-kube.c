/* tend kube: the Kustomize tree for Kubernetes (kube/kube.h). Parses the
 * options, prints the warnings (one per item that has no Kubernetes
 * equivalent) and writes the folder. */
#include "cli/cli.h"
#include "kube/kube.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char kube_usage[] =
    "Usage: tend [--env NAME] kube [-o DIR] [--registry PREFIX] [--flat]\n"
    "\n"
    "Writes a Kustomize tree for Kubernetes from the services files:\n"
    "base/ from the base files and overlays/NAME/ for each environment\n"
    "(tend envs), holding only what NAME changes. `kubectl apply -k\n"
    "DIR/overlays/NAME` (or `kustomize build`) gives the objects: a Deployment\n"
    "per service (a StatefulSet with a volume claim for one that keeps a named\n"
    "volume, a Job for one that others wait to complete), Services, an Ingress\n"
    "or a LoadBalancer for published ports, probes from healthchecks and\n"
    "x-tend probes, init containers for depends_on, seed Jobs, ConfigMaps and\n"
    "Secrets. What has no Kubernetes equivalent is left out with a warning\n"
    "naming the file and line. With --env, only base/ and that overlay are\n"
    "written (TEND_ENV is not read).\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR       the folder (default: k8s in the project folder);\n"
    "                         it must be empty or written by tend kube before\n"
    "      --registry PREFIX  prefix for images built locally (default:\n"
    "                         x-tend.kube.registry; none: for kind load or\n"
    "                         minikube image load)\n"
    "      --flat             one kustomization for the base (or --env NAME)\n"
    "                         alone, without base/ and overlays/\n"
    "  -h, --help             show this help\n";

int cmd_kube(ConfigOptions *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"registry", required_argument, NULL, 'R'},
        {"flat", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *out = NULL;
    KubeOptions ko = {0};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'R':
            ko.registry = optarg;
            break;
        case 'F':
            ko.flat = true;
            break;
        case 'h':
            fputs(kube_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend kube --help' for usage.\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tend kube: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    KubeTree t = {0};
    Diag d = {0};
    int r = kube_export(o, &ko, &t, &d);
    for (size_t i = 0; i < d.msgs.n; i++)
        fprintf(stderr, "%s\n", d.msgs.v[i]);
    diag_free(&d);
    if (r < 0)
        return r == -EINVAL ? 2 : 1;
    _cleanup_free_ char *dir = NULL;
    if (out)
        dir = xstrdup(out);
    else {
        /* the project folder: where base/'s files came from */
        ConfigOptions lo = *o;
        lo.base_only = true;
        Project *p = NULL;
        Diag ld = {0};
        if (config_load(&lo, &p, &ld) == 0)
            dir = path_join(p->workdir, "k8s");
        project_free(p);
        diag_free(&ld);
    }
    char *err = NULL;
    r = dir ? kube_tree_write(&t, dir, &err) : -EIO;
    if (r < 0) {
        fprintf(stderr, "tend kube: %s\n", err ? err : "cannot find the project folder");
        free(err);
        kube_tree_free(&t);
        return 1;
    }
    fprintf(stderr, "tend kube: wrote %s (%zu files", dir, t.n);
    for (size_t i = 0; i < t.envs.n; i++)
        fprintf(stderr, "%s%s", i ? ", " : "; environments: ", t.envs.v[i]);
    fprintf(stderr, ")\n");
    kube_tree_free(&t);
    return 0;
}
