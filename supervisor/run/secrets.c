/* secrets: what of a project must not be shown, and masking it in the
 * project's tree for `tend config`. */
#include "run/secrets.h"

#include "load/node.h"

#include <stdlib.h>
#include <string.h>

static void add_env(Secrets *out, const Env *e)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->vals[i] && secret_name(e->keys[i]))
            secrets_add(out, e->vals[i]);
}

/* The top-level secrets: {file: PATH} (its contents, a trailing newline
 * dropped) or {environment: NAME} (that variable's value). */
static void add_compose_secrets(const Project *p, Secrets *out)
{
    const Node *secrets = node_get(p->tree, "secrets");
    for (size_t i = 0; secrets && secrets->kind == NODE_MAP && i < secrets->len; i++) {
        const Node *def = secrets->vals[i];
        const Node *file = node_get(def, "file");
        const Node *var = node_get(def, "environment");
        if (file && file->str) {
            _cleanup_free_ char *path = path_absolute(p->workdir, file->str);
            _cleanup_free_ char *data = NULL;
            size_t len = 0;
            if (read_file(path, 1 << 20, &data, &len) == 0 && data) {
                while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
                    data[--len] = '\0';
                secrets_add(out, data);
            }
        } else if (var && var->str) {
            secrets_add(out, env_get(&p->env, var->str));
        }
    }
}

void project_secrets(const Project *p, Secrets *out)
{
    add_env(out, &p->env);
    for (size_t i = 0; i < p->n_services; i++) {
        const Service *s = p->services[i];
        add_env(out, &s->environment);
        secrets_add(out, s->probe.password);
    }
    add_compose_secrets(p, out);
}

static void mask_node(Arena *a, Node *n, const Secrets *s, bool secret_value)
{
    if (!n)
        return;
    if (n->kind == NODE_SCALAR && n->str) {
        if (secret_value && *n->str) {
            n->str = (char *)SECRET_MASK; /* the arena owns the old text; this one is static */
            return;
        }
        size_t ml = 0;
        char *masked = secrets_redact(s, n->str, strlen(n->str), &ml);
        if (masked) {
            n->str = arena_strdup(a, masked);
            free(masked);
        }
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        const char *key = n->kind == NODE_MAP && n->keys[i] ? n->keys[i]->str : NULL;
        /* environment: {NAME: value} and x-tend probe passwords. */
        bool secret = key && (secret_name(key) || streq(key, "password"));
        mask_node(a, n->vals[i], s, secret);
    }
}

void project_mask_tree(Project *p, const Secrets *s)
{
    mask_node(p->arena, p->tree, s, false);
}
