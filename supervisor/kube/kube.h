/* kube: the Kubernetes export of a project. `tend kube` turns the services
 * files into a Kustomize tree: base/ from the base files, and for each
 * environment (load/envs.h) overlays/NAME/ holding only what differs from
 * the base (strategic-merge patches, new objects, replaced generators).
 * Everything is computed in memory first and the same files give the same
 * bytes. What has no Kubernetes equivalent is dropped with one warning per
 * item, at the file:line where it was written. */
#pragma once

#include "load/config.h"

typedef struct KubeOptions {
    const char *registry; /* prefix for locally built images; NULL: x-tend.kube.registry */
    bool flat;            /* one environment as a single kustomization, no base/overlays */
} KubeOptions;

/* One file of the tree, by its path relative to the output folder. */
typedef struct KubeFile {
    char *path;
    char *data;
    size_t len;
    bool secret; /* holds a secret value: written with mode 0600 */
} KubeFile;

typedef struct KubeTree {
    KubeFile *files; /* sorted by path */
    size_t n, cap;
    StrVec envs;     /* the environments it holds */
    bool partial;    /* base/ and one overlay: other overlays are kept */
} KubeTree;

void kube_tree_free(KubeTree *t);

/* Builds the tree. o says how to load the project (its env_name, when set,
 * is the one environment written; otherwise every environment found). With
 * ko->flat, o->env_name (or none, for the base) is written as one
 * kustomization. Errors and warnings go to d; returns 0, -EINVAL for a bad
 * services file or x-tend.kube setting (exit status 2), or another -errno. */
int kube_export(const ConfigOptions *o, const KubeOptions *ko, KubeTree *ret, Diag *d);

/* Writes the tree into dir. A folder that tend kube did not write (no
 * .tend-kube marker) must be empty or absent; in one it did write, base/
 * and the overlays being written are replaced whole, other overlays are
 * kept. Returns 0, or -errno with *err set (malloc'd). */
int kube_tree_write(const KubeTree *t, const char *dir, char **err);
