/* kset: the Kubernetes objects of one project (one environment), as the
 * export builds them (build.c), compares them (patch.c) and writes them
 * (tree.c). Objects are YAML trees (load/node.h) in the set's arena;
 * ConfigMaps and Secrets are Kustomize generators, so that their names get
 * a content hash and a changed value rolls the pods that use it. Internal
 * to the kube layer. */
#pragma once

#include "load/model.h"

typedef struct KObj {
    const char *kind, *name; /* the identity of the object */
    const char *group;       /* the file it goes to: GROUP.yaml */
    const char *from;        /* "services.d/web.yaml:11", for a comment; may be NULL */
    Node *doc;
} KObj;

typedef struct KGenEntry {
    const char *key;
    const char *data;
    size_t len;
} KGenEntry;

/* A configMapGenerator or secretGenerator entry. ConfigMaps of variables
 * are written as literals; files and every secret value as files of their
 * own (secret values never appear in a YAML file). */
typedef struct KGen {
    bool secret;
    bool literals;
    const char *name;
    const char *component; /* app.kubernetes.io/name */
    KGenEntry *e;
    size_t n, cap;
} KGen;

typedef struct KubeSet {
    Arena *a;
    const char *project;
    const char *namespace;   /* x-tend.kube.namespace, or NULL */
    KObj *objs;
    size_t n_objs, cap_objs;
    KGen *gens;
    size_t n_gens, cap_gens;
} KubeSet;

/* ---- building trees (kset.c) ---- */

Node *kmap(KubeSet *k);
Node *kseq(KubeSet *k);
Node *kstr(KubeSet *k, const char *s);
Node *kstrf(KubeSet *k, const char *fmt, ...) _printf_(2, 3);
Node *kint(KubeSet *k, long long v);
Node *kbool(KubeSet *k, bool v);
/* map[key] = val (val NULL: nothing); returns val. */
Node *kset(KubeSet *k, Node *map, const char *key, Node *val);
Node *kpush(KubeSet *k, Node *seq, Node *item);
/* map[key], made an empty map (or seq) when missing. */
Node *kmap_at(KubeSet *k, Node *map, const char *key);
Node *kseq_at(KubeSet *k, Node *map, const char *key);
Node *kstrv(KubeSet *k, const StrVec *v);

/* A new object {apiVersion, kind, metadata: {name, labels}} added to the set. */
Node *kobj_add(KubeSet *k, const char *api, const char *kind, const char *name, const char *group,
               const char *from, Node *labels);
const KObj *kobj_find(const KubeSet *k, const char *kind, const char *name);
KGen *kgen_add(KubeSet *k, bool secret, bool literals, const char *name, const char *component);
void kgen_put(KubeSet *k, KGen *g, const char *key, const char *data, size_t len);
const KGen *kgen_find(const KubeSet *k, bool secret, const char *name);
bool kgen_equal(const KGen *a, const KGen *b);

bool knode_equal(const Node *a, const Node *b);
KubeSet *kubeset_new(void);
void kubeset_free(KubeSet *k);

/* A Kubernetes name (a DNS label) from a Compose name: lower case, '-' for
 * anything else, at most 63 characters. Arena-allocated. */
const char *kname(KubeSet *k, const char *s);

/* ---- the export's steps ---- */

typedef struct KubeBuildOptions {
    const char *registry; /* --registry, over x-tend.kube.registry */
} KubeBuildOptions;

/* build.c: the objects of a loaded project. Errors (bad x-tend.kube
 * settings, unreadable files) and warnings (what is dropped) go to d. */
int kube_build(const Project *p, const KubeBuildOptions *o, KubeSet **ret, Diag *d);

/* patch.c: what turns base into target, as the files of an overlay under
 * prefix ("overlays/NAME/"): its kustomization.yaml, patches, new objects
 * and generator files. base NULL: the whole of target as one kustomization
 * (base/, or a flat tree). `resources_up` is the path to the base from the
 * overlay ("../../base"). */
typedef struct KubeTree KubeTree;
void kube_emit(const KubeSet *base, const KubeSet *target, const char *prefix, const char *resources_up,
               const char *header, KubeTree *out);
void kube_tree_add(KubeTree *t, const char *path, const char *data, size_t len, bool secret);
