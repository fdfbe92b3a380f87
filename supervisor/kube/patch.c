/* patch: writing an object set as kustomization files. For the base (or a
 * flat tree) that is every object, grouped one file per service, and the
 * generators. For an environment it is what differs from the base, in the
 * forms Kustomize applies: a strategic-merge patch per changed object
 * (lists with a merge key patched element by element, or replaced whole
 * with `$patch: replace` when elements come, go or move, since their order
 * can matter), `$patch: delete` for objects the environment does not have,
 * new objects as resources, and changed generators with behavior: replace.
 * Building an overlay gives exactly the objects of the environment. */
#include "kube/kset.h"
#include "kube/kube.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kube_tree_add(KubeTree *t, const char *path, const char *data, size_t len, bool secret)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 32;
        t->files = xrealloc(t->files, t->cap * sizeof(*t->files));
    }
    KubeFile *f = &t->files[t->n++];
    f->path = xstrdup(path);
    f->data = xmalloc(len + 1);
    memcpy(f->data, data, len);
    f->data[len] = '\0';
    f->len = len;
    f->secret = secret;
}

static void add_buf(KubeTree *t, const char *prefix, const char *rel, StrBuf *b)
{
    _cleanup_free_ char *path = xasprintf("%s%s", prefix, rel);
    kube_tree_add(t, path, b->data ? b->data : "", b->len, false);
}

/* ---- diff ---- */

/* The merge key of a list, as the Kubernetes types declare it for the
 * lists tend writes; NULL for lists that are replaced whole. */
static const char *merge_key(const char *field, const Node *list)
{
    static const char *const by_name[] = {"containers", "initContainers", "volumes", "env", "imagePullSecrets"};
    for (size_t i = 0; i < ARRAY_SIZE(by_name); i++)
        if (streq(field, by_name[i]))
            return "name";
    if (streq(field, "volumeMounts"))
        return "mountPath";
    if (streq(field, "hostAliases"))
        return "ip";
    if (streq(field, "ports") && list->len)
        return node_get(list->vals[0], "containerPort") ? "containerPort" : "port";
    return NULL;
}

static const char *key_of(const Node *item, const char *key)
{
    const Node *v = node_get(item, key);
    return node_is_scalar(v) ? v->str : NULL;
}

static Node *diff(KubeSet *k, const Node *b, const Node *t, const char *field);

static Node *diff_list(KubeSet *k, const Node *b, const Node *t, const char *field)
{
    const char *mk = merge_key(field, t->len ? t : b);
    bool same_keys = mk && b->len == t->len;
    for (size_t i = 0; same_keys && i < t->len; i++)
        same_keys = key_of(b->vals[i], mk) && key_of(t->vals[i], mk) && streq(key_of(b->vals[i], mk), key_of(t->vals[i], mk));
    if (!same_keys) {
        if (knode_equal(b, t))
            return NULL;
        Node *out = kseq(k);
        if (mk) {
            Node *rep = kpush(k, out, kmap(k));
            kset(k, rep, "$patch", kstr(k, "replace"));
        }
        for (size_t i = 0; i < t->len; i++)
            kpush(k, out, node_copy(k->a, t->vals[i]));
        return out;
    }
    /* Kustomize puts patched elements first: every element is named, the
     * unchanged ones by their key alone, so that the order stays. */
    Node *out = kseq(k);
    bool changed = false;
    for (size_t i = 0; i < t->len; i++) {
        Node *d = diff(k, b->vals[i], t->vals[i], field);
        changed |= d != NULL;
        Node *e = kpush(k, out, kmap(k));
        kset(k, e, mk, node_copy(k->a, node_get(t->vals[i], mk)));
        for (size_t j = 0; d && j < d->len; j++)
            if (!streq(d->keys[j]->str, mk))
                kset(k, e, d->keys[j]->str, d->vals[j]);
    }
    return changed ? out : NULL;
}

/* What turns b into t, or NULL when they are equal. A key b has and t has
 * not becomes null (strategic merge deletes it). */
static Node *diff(KubeSet *k, const Node *b, const Node *t, const char *field)
{
    if (knode_equal(b, t))
        return NULL;
    if (!b || !t || b->kind != t->kind || t->kind == NODE_SCALAR || t->kind == NODE_NULL)
        return node_copy(k->a, t);
    if (t->kind == NODE_SEQ)
        return diff_list(k, b, t, field);
    Node *out = kmap(k);
    for (size_t i = 0; i < t->len; i++) {
        const char *key = t->keys[i]->str;
        Node *d = diff(k, node_get(b, key), t->vals[i], key);
        if (d)
            kset(k, out, key, d);
    }
    for (size_t i = 0; i < b->len; i++)
        if (!node_get_key(t, b->keys[i]->str))
            kset(k, out, b->keys[i]->str, node_new(k->a, NODE_NULL, NULL));
    return out->len ? out : NULL;
}

/* ---- writing ---- */

static const char *lower(KubeSet *k, const char *s)
{
    char *o = arena_strdup(k->a, s);
    for (char *p = o; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return o;
}

static void emit_doc(StrBuf *out, const Node *doc, const char *from)
{
    if (out->len)
        strbuf_puts(out, "---\n");
    if (from)
        strbuf_printf(out, "# from %s\n", from);
    yaml_emit(doc, out);
}

/* The objects of set `objs` (all, or those `only` marks) one file per
 * group, in the order groups first appear; the file names go to res. */
static void emit_groups(KubeSet *k, const KObj *objs, size_t n, const bool *only, const char *prefix,
                        const char *header, Node *res, KubeTree *out)
{
    StrVec groups = {0};
    for (size_t i = 0; i < n; i++)
        if ((!only || only[i]) && !strvec_contains(&groups, objs[i].group))
            strvec_push(&groups, objs[i].group);
    for (size_t g = 0; g < groups.n; g++) {
        StrBuf b;
        strbuf_init(&b, 0);
        for (size_t i = 0; i < n; i++)
            if ((!only || only[i]) && streq(objs[i].group, groups.v[g]))
                emit_doc(&b, objs[i].doc, objs[i].from);
        StrBuf f;
        strbuf_init(&f, 0);
        strbuf_printf(&f, "%s%s", header, b.data);
        _cleanup_free_ char *rel = xasprintf("%s.yaml", groups.v[g]);
        add_buf(out, prefix, rel, &f);
        kpush(k, res, kstr(k, rel));
        strbuf_free(&b);
        strbuf_free(&f);
    }
    strvec_free(&groups);
}

/* A generator entry, its files written under prefix. */
static Node *emit_gen(KubeSet *k, const KGen *g, const char *behavior, const char *project, const char *prefix,
                      KubeTree *out)
{
    Node *e = kmap(k);
    kset(k, e, "name", kstr(k, g->name));
    if (behavior)
        kset(k, e, "behavior", kstr(k, behavior));
    bool literals = g->literals;
    for (size_t i = 0; literals && i < g->n; i++)
        literals = !memchr(g->e[i].data, '\n', g->e[i].len) && !memchr(g->e[i].data, '\0', g->e[i].len);
    Node *list = kseq_at(k, e, literals ? "literals" : "files");
    for (size_t i = 0; i < g->n; i++) {
        if (literals) {
            kpush(k, list, kstrf(k, "%s=%.*s", g->e[i].key, (int)g->e[i].len, g->e[i].data));
            continue;
        }
        const char *rel = arena_printf(k->a, "%s/%s/%s", g->secret ? "secrets" : "files", g->name, g->e[i].key);
        kpush(k, list, kstrf(k, "%s=%s", g->e[i].key, rel));
        _cleanup_free_ char *path = xasprintf("%s%s", prefix, rel);
        kube_tree_add(out, path, g->e[i].data, g->e[i].len, g->secret);
    }
    Node *labels = kmap_at(k, kmap_at(k, e, "options"), "labels");
    kset(k, labels, "app.kubernetes.io/name", kstr(k, g->component ? g->component : g->name));
    kset(k, labels, "app.kubernetes.io/part-of", kstr(k, project));
    kset(k, labels, "app.kubernetes.io/managed-by", kstr(k, "tend"));
    return e;
}

static void add_patch(KubeSet *k, const char *prefix, const char *header, const char *kind, const char *name,
                      Node *doc, Node *patches, KubeTree *out)
{
    const char *rel = arena_printf(k->a, "patches/%s-%s.yaml", lower(k, kind), name);
    StrBuf b;
    strbuf_init(&b, 0);
    strbuf_puts(&b, header);
    yaml_emit(doc, &b);
    add_buf(out, prefix, rel, &b);
    strbuf_free(&b);
    kset(k, kpush(k, patches, kmap(k)), "path", kstr(k, rel));
}

static Node *patch_head(KubeSet *k, const Node *like, const char *kind, const char *name)
{
    Node *p = kmap(k);
    kset(k, p, "apiVersion", node_copy(k->a, node_get(like, "apiVersion")));
    kset(k, p, "kind", kstr(k, kind));
    kset(k, kmap_at(k, p, "metadata"), "name", kstr(k, name));
    return p;
}

void kube_emit(const KubeSet *base, const KubeSet *target, const char *prefix, const char *resources_up,
               const char *header, KubeTree *out)
{
    KubeSet *k = kubeset_new(); /* for the files' trees */
    Node *kz = kmap(k);
    kset(k, kz, "apiVersion", kstr(k, "kustomize.config.k8s.io/v1beta1"));
    kset(k, kz, "kind", kstr(k, "Kustomization"));
    if (target->namespace && (!base || !strnull_eq(base->namespace, target->namespace)))
        kset(k, kz, "namespace", kstr(k, target->namespace));
    Node *res = kseq(k), *patches = kseq(k), *cms = kseq(k), *secs = kseq(k);
    if (resources_up)
        kpush(k, res, kstr(k, resources_up));

    bool *fresh = xcalloc(target->n_objs + 1, sizeof(bool));
    for (size_t i = 0; i < target->n_objs; i++)
        fresh[i] = !base || !kobj_find(base, target->objs[i].kind, target->objs[i].name);
    emit_groups(k, target->objs, target->n_objs, fresh, prefix, header, res, out);
    free(fresh);

    if (base) {
        for (size_t i = 0; i < target->n_objs; i++) {
            const KObj *t = &target->objs[i], *b = kobj_find(base, t->kind, t->name);
            if (!b)
                continue;
            Node *d = diff(k, b->doc, t->doc, "");
            if (!d)
                continue;
            Node *p = patch_head(k, t->doc, t->kind, t->name);
            for (size_t j = 0; j < d->len; j++) {
                const char *key = d->keys[j]->str;
                if (streq(key, "metadata")) {
                    Node *md = node_get(p, "metadata");
                    for (size_t m = 0; m < d->vals[j]->len; m++)
                        kset(k, md, d->vals[j]->keys[m]->str, d->vals[j]->vals[m]);
                } else
                    kset(k, p, key, d->vals[j]);
            }
            add_patch(k, prefix, header, t->kind, t->name, p, patches, out);
        }
        for (size_t i = 0; i < base->n_objs; i++) {
            const KObj *b = &base->objs[i];
            if (kobj_find(target, b->kind, b->name))
                continue;
            Node *p = patch_head(k, b->doc, b->kind, b->name);
            kset(k, p, "$patch", kstr(k, "delete"));
            add_patch(k, prefix, header, b->kind, b->name, p, patches, out);
        }
    }

    for (size_t i = 0; i < target->n_gens; i++) {
        const KGen *g = &target->gens[i], *bg = base ? kgen_find(base, g->secret, g->name) : NULL;
        if (bg && kgen_equal(bg, g))
            continue;
        kpush(k, g->secret ? secs : cms, emit_gen(k, g, bg ? "replace" : NULL, target->project, prefix, out));
    }
    for (size_t i = 0; base && i < base->n_gens; i++) {
        const KGen *g = &base->gens[i];
        if (kgen_find(target, g->secret, g->name))
            continue;
        Node *like = kmap(k);
        kset(k, like, "apiVersion", kstr(k, "v1"));
        const char *kind = g->secret ? "Secret" : "ConfigMap";
        Node *p = patch_head(k, like, kind, g->name);
        kset(k, p, "$patch", kstr(k, "delete"));
        add_patch(k, prefix, header, kind, g->name, p, patches, out);
    }

    if (res->len)
        kset(k, kz, "resources", res);
    if (patches->len)
        kset(k, kz, "patches", patches);
    if (cms->len)
        kset(k, kz, "configMapGenerator", cms);
    if (secs->len)
        kset(k, kz, "secretGenerator", secs);
    StrBuf b;
    strbuf_init(&b, 0);
    strbuf_puts(&b, header);
    yaml_emit(kz, &b);
    add_buf(out, prefix, "kustomization.yaml", &b);
    strbuf_free(&b);
    kubeset_free(k);
}
