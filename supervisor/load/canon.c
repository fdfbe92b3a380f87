/* canon: rewrites one checked services file into Compose's long syntax so
 * that merging compares like with like (a port written "8080:80" in one file
 * and as a mapping in another is the same port). It runs per file, after
 * interpolation and the schema check, and resolves relative paths against
 * the file's base folder so that included and extended files keep their own
 * meaning. It leaves command and entrypoint strings alone: the model needs to
 * know that a host command was a shell string (canon_finish splits them for
 * output later). */
#include "load/canon.h"

#include "load/parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int shell_split(const char *s, StrVec *ret)
{
    StrVec out = {0};
    StrBuf word;
    strbuf_init(&word, 1 << 20);
    bool in_word = false;
    const char *p = s;
    while (*p) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word) {
                strvec_push_take(&out, strbuf_steal(&word));
                strbuf_init(&word, 1 << 20);
                in_word = false;
            }
            p++;
            continue;
        }
        in_word = true;
        if (c == '\\') {
            if (p[1]) {
                if (p[1] != '\n')
                    strbuf_putc(&word, p[1]);
                p += 2;
            } else {
                strbuf_putc(&word, '\\');
                p++;
            }
        } else if (c == '\'') {
            const char *e = strchr(p + 1, '\'');
            if (!e)
                goto unclosed;
            strbuf_append(&word, p + 1, (size_t)(e - p - 1));
            p = e + 1;
        } else if (c == '"') {
            p++;
            for (;;) {
                if (!*p)
                    goto unclosed;
                if (*p == '"')
                    break;
                if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
                    if (p[1] != '\n')
                        strbuf_putc(&word, p[1]);
                    p += 2;
                    continue;
                }
                strbuf_putc(&word, *p++);
            }
            p++;
        } else {
            strbuf_putc(&word, c);
            p++;
        }
    }
    if (in_word)
        strvec_push_take(&out, strbuf_steal(&word));
    strbuf_free(&word);
    *ret = out;
    return 0;
unclosed:
    strbuf_free(&word);
    strvec_free(&out);
    return -EINVAL;
}

/* ---- helpers ---- */

static Node *new_map(Arena *a, const Loc *loc)
{
    return node_new(a, NODE_MAP, loc);
}

static Node *new_seq(Arena *a, const Loc *loc)
{
    return node_new(a, NODE_SEQ, loc);
}

static Node *plain(Arena *a, const char *s, const Loc *loc)
{
    Node *n = node_scalar(a, s, loc);
    n->style = STYLE_PLAIN;
    return n;
}

static Node *abs_path_node(Arena *a, const Node *n, const char *base_dir)
{
    _cleanup_free_ char *p = path_absolute(base_dir, n->str);
    return node_scalar(a, p, &n->loc);
}

/* A value written as a relative path becomes absolute; URLs and git
 * contexts stay as written. */
static bool is_remote(const char *s)
{
    return strstr(s, "://") || str_startswith(s, "git@") || str_startswith(s, "github.com/");
}

/* Lists of "K=V" / "K" (or a mapping) become a mapping of strings; a key
 * without a value maps to null. Values written as numbers or booleans are
 * kept as text, as Compose does. `sep` is '=' for environment and labels. */
static Node *to_kv_map(Arena *a, Node *n, const char *seps)
{
    if (!n || n->kind == NODE_MAP) {
        if (n)
            for (size_t i = 0; i < n->len; i++)
                if (n->vals[i]->kind == NODE_SCALAR)
                    n->vals[i]->style = STYLE_QUOTED;
        return n;
    }
    if (n->kind != NODE_SEQ)
        return n;
    Node *m = new_map(a, &n->loc);
    for (size_t i = 0; i < n->len; i++) {
        Node *it = n->vals[i];
        if (it->kind != NODE_SCALAR)
            continue;
        const char *s = it->str;
        size_t k = strcspn(s, seps);
        Node *key = node_scalar(a, "", &it->loc);
        key->str = arena_strndup(a, s, k);
        key->style = STYLE_PLAIN;
        Node *val = s[k] ? node_scalar(a, s + k + 1, &it->loc) : node_new(a, NODE_NULL, &it->loc);
        node_map_set_node(a, m, key, val);
    }
    m->tag = n->tag;
    return m;
}

static Node *to_seq(Arena *a, Node *n)
{
    if (!n || n->kind == NODE_SEQ || node_is_null(n))
        return n;
    Node *s = new_seq(a, &n->loc);
    s->tag = n->tag;
    node_seq_push(a, s, n);
    return s;
}

static void canon_duration(Arena *a, Node *map, const char *key)
{
    Node *v = node_get(map, key);
    if (!node_is_scalar(v))
        return;
    int64_t ns;
    if (duration_parse(v->str, &ns) < 0)
        return;
    char buf[40];
    duration_format(ns, buf);
    v->str = arena_strdup(a, buf);
    v->style = STYLE_QUOTED;
}

static void set_default(Arena *a, Node *map, const char *key, Node *val)
{
    if (!node_get_key(map, key))
        node_map_set(a, map, key, val);
}

static void canon_bytes(Arena *a, Node *map, const char *key);

/* ---- ports ---- */

static size_t canon_ports(Arena *a, Node *svc, const char *name, Diag *d)
{
    Node *ports = node_get(svc, "ports");
    if (!ports || ports->kind != NODE_SEQ)
        return 0;
    size_t errors = 0;
    Node *out = new_seq(a, &ports->loc);
    out->tag = ports->tag;
    for (size_t i = 0; i < ports->len; i++) {
        Node *p = ports->vals[i];
        if (p->kind == NODE_MAP) {
            Node *pub = node_get(p, "published");
            if (pub && pub->kind == NODE_SCALAR)
                pub->style = STYLE_QUOTED;
            set_default(a, p, "protocol", node_scalar(a, "tcp", &p->loc));
            set_default(a, p, "mode", node_scalar(a, "ingress", &p->loc));
            node_seq_push(a, out, p);
            continue;
        }
        if (p->kind != NODE_SCALAR)
            continue;
        PortSpec *specs = NULL;
        size_t n = 0;
        _cleanup_free_ char *err = NULL;
        if (port_parse_short(p->str, &specs, &n, &err) < 0) {
            diag_error(d, &p->loc, "services.%s.ports[%zu]: %s", name, i, err ? err : "invalid port");
            errors++;
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            Node *m = new_map(a, &p->loc);
            node_map_set(a, m, "mode", node_scalar(a, "ingress", &p->loc));
            if (specs[k].host_ip)
                node_map_set(a, m, "host_ip", node_scalar(a, specs[k].host_ip, &p->loc));
            node_map_set(a, m, "target", node_scalarf(a, &p->loc, "%u", specs[k].target));
            node_get(m, "target")->style = STYLE_PLAIN;
            if (specs[k].published)
                node_map_set(a, m, "published", node_scalar(a, specs[k].published, &p->loc));
            node_map_set(a, m, "protocol",
                         node_scalar(a, specs[k].protocol ? specs[k].protocol : "tcp", &p->loc));
            node_seq_push(a, out, m);
        }
        port_specs_free(specs, n);
    }
    node_map_set(a, svc, "ports", out);
    return errors;
}

/* ---- volumes ---- */

static size_t canon_volumes(Arena *a, Node *svc, const char *name, const char *base_dir, Diag *d)
{
    Node *vols = node_get(svc, "volumes");
    if (!vols || vols->kind != NODE_SEQ)
        return 0;
    size_t errors = 0;
    for (size_t i = 0; i < vols->len; i++) {
        Node *v = vols->vals[i];
        if (v->kind == NODE_MAP) {
            Node *type = node_get(v, "type");
            Node *tm = node_get(v, "tmpfs");
            if (tm && tm->kind == NODE_MAP)
                canon_bytes(a, tm, "size");
            Node *src = node_get(v, "source");
            if (type && node_is_scalar(type) && streq(type->str, "bind") && node_is_scalar(src))
                node_map_set(a, v, "source", abs_path_node(a, src, base_dir));
            continue;
        }
        if (v->kind != NODE_SCALAR)
            continue;
        VolumeSpec vs = {0};
        _cleanup_free_ char *err = NULL;
        if (volume_parse_short(v->str, &vs, &err) < 0) {
            diag_error(d, &v->loc, "services.%s.volumes[%zu]: %s", name, i, err ? err : "invalid volume");
            errors++;
            continue;
        }
        Node *m = new_map(a, &v->loc);
        /* Compose's own short form leaves an empty "volume" options object
         * behind that its long form does not; the config-hash sees it, the
         * printed form does not (load/gojson.c). */
        m->tag = CANON_TAG_SHORT;
        const char *type = vs.type == VOLUME_BIND ? "bind" : vs.type == VOLUME_TMPFS ? "tmpfs" : "volume";
        node_map_set(a, m, "type", node_scalar(a, type, &v->loc));
        if (vs.source) {
            if (vs.type == VOLUME_BIND) {
                _cleanup_free_ char *p = path_absolute(base_dir, vs.source);
                node_map_set(a, m, "source", node_scalar(a, p, &v->loc));
            } else {
                node_map_set(a, m, "source", node_scalar(a, vs.source, &v->loc));
            }
        }
        node_map_set(a, m, "target", node_scalar(a, vs.target, &v->loc));
        if (vs.read_only)
            node_map_set(a, m, "read_only", node_bool(a, true, &v->loc));
        if (vs.consistency)
            node_map_set(a, m, "consistency", node_scalar(a, vs.consistency, &v->loc));
        if (vs.type == VOLUME_BIND) {
            Node *b = new_map(a, &v->loc);
            node_map_set(a, b, "create_host_path", node_bool(a, true, &v->loc));
            if (vs.selinux)
                node_map_set(a, b, "selinux", node_scalar(a, vs.selinux, &v->loc));
            node_map_set(a, m, "bind", b);
        } else if (vs.type == VOLUME_VOLUME && vs.nocopy) {
            Node *b = new_map(a, &v->loc);
            node_map_set(a, b, "nocopy", node_bool(a, true, &v->loc));
            node_map_set(a, m, "volume", b);
        }
        vols->vals[i] = m;
        volume_spec_clear(&vs);
    }
    return errors;
}

/* ---- the rest of a service ---- */

static void canon_build(Arena *a, Node *svc, const char *base_dir)
{
    Node *b = node_get(svc, "build");
    if (!b || node_is_null(b))
        return;
    if (b->kind == NODE_SCALAR) {
        Node *m = new_map(a, &b->loc);
        m->tag = b->tag;
        node_map_set(a, m, "context", b);
        node_map_set(a, svc, "build", m);
        b = m;
    }
    if (b->kind != NODE_MAP)
        return;
    Node *ctx = node_get(b, "context");
    if (!ctx)
        node_map_set(a, b, "context", ctx = node_scalar(a, ".", &b->loc));
    if (node_is_scalar(ctx) && !is_remote(ctx->str))
        node_map_set(a, b, "context", abs_path_node(a, ctx, base_dir));
    set_default(a, b, "dockerfile", node_scalar(a, "Dockerfile", &b->loc));
    if (node_get(b, "args"))
        node_map_set(a, b, "args", to_kv_map(a, node_get(b, "args"), "="));
    if (node_get(b, "labels"))
        node_map_set(a, b, "labels", to_kv_map(a, node_get(b, "labels"), "="));
}

static void canon_env_file(Arena *a, Node *svc, const char *base_dir)
{
    Node *ef = to_seq(a, node_get(svc, "env_file"));
    if (!ef || ef->kind != NODE_SEQ)
        return;
    for (size_t i = 0; i < ef->len; i++) {
        Node *it = ef->vals[i];
        if (it->kind == NODE_SCALAR) {
            Node *m = new_map(a, &it->loc);
            node_map_set(a, m, "path", abs_path_node(a, it, base_dir));
            node_map_set(a, m, "required", node_bool(a, true, &it->loc));
            ef->vals[i] = m;
        } else if (it->kind == NODE_MAP) {
            Node *p = node_get(it, "path");
            if (node_is_scalar(p))
                node_map_set(a, it, "path", abs_path_node(a, p, base_dir));
            set_default(a, it, "required", node_bool(a, true, &it->loc));
        }
    }
    node_map_set(a, svc, "env_file", ef);
}

static void canon_depends_on(Arena *a, Node *svc)
{
    Node *dep = node_get(svc, "depends_on");
    if (!dep)
        return;
    if (dep->kind == NODE_SEQ) {
        Node *m = new_map(a, &dep->loc);
        m->tag = dep->tag;
        for (size_t i = 0; i < dep->len; i++) {
            Node *it = dep->vals[i];
            if (it->kind != NODE_SCALAR)
                continue;
            Node *key = plain(a, it->str, &it->loc);
            node_map_set_node(a, m, key, new_map(a, &it->loc));
        }
        node_map_set(a, svc, "depends_on", m);
        dep = m;
    }
    if (dep->kind != NODE_MAP)
        return;
    for (size_t i = 0; i < dep->len; i++) {
        Node *v = dep->vals[i];
        if (node_is_null(v)) {
            v = new_map(a, &dep->keys[i]->loc);
            dep->vals[i] = v;
        }
        if (v->kind != NODE_MAP)
            continue;
        set_default(a, v, "condition", node_scalar(a, "service_started", &v->loc));
        set_default(a, v, "required", node_bool(a, true, &v->loc));
    }
}

static void canon_healthcheck(Arena *a, Node *svc)
{
    Node *hc = node_get(svc, "healthcheck");
    if (!hc || hc->kind != NODE_MAP)
        return;
    Node *test = node_get(hc, "test");
    if (test && test->kind == NODE_SCALAR && !node_is_null(test)) {
        Node *s = new_seq(a, &test->loc);
        s->tag = test->tag;
        if (streq(test->str, "NONE")) {
            node_seq_push(a, s, node_scalar(a, "NONE", &test->loc));
        } else {
            node_seq_push(a, s, node_scalar(a, "CMD-SHELL", &test->loc));
            node_seq_push(a, s, node_scalar(a, test->str, &test->loc));
        }
        node_map_set(a, hc, "test", s);
    }
    static const char *const durs[] = {"interval", "timeout", "start_period", "start_interval"};
    for (size_t i = 0; i < ARRAY_SIZE(durs); i++)
        canon_duration(a, hc, durs[i]);
}

static void canon_networks(Arena *a, Node *svc)
{
    Node *nets = node_get(svc, "networks");
    if (!nets || nets->kind != NODE_SEQ)
        return;
    Node *m = new_map(a, &nets->loc);
    m->tag = nets->tag;
    for (size_t i = 0; i < nets->len; i++)
        if (nets->vals[i]->kind == NODE_SCALAR)
            node_map_set_node(a, m, plain(a, nets->vals[i]->str, &nets->vals[i]->loc),
                              node_new(a, NODE_NULL, &nets->vals[i]->loc));
    node_map_set(a, svc, "networks", m);
}

static void canon_ulimits(Arena *a, Node *svc)
{
    Node *ul = node_get(svc, "ulimits");
    if (!ul || ul->kind != NODE_MAP)
        return;
    for (size_t i = 0; i < ul->len; i++) {
        Node *v = ul->vals[i];
        if (v->kind == NODE_SCALAR) {
            Node *m = new_map(a, &v->loc);
            m->tag = CANON_TAG_SHORT; /* Compose hashes the one number as written */
            node_map_set(a, m, "soft", node_copy(a, v));
            node_map_set(a, m, "hard", node_copy(a, v));
            ul->vals[i] = m;
        }
    }
}

static void canon_scalar_list(Arena *a, Node *svc, const char *key)
{
    Node *n = node_get(svc, key);
    if (!n)
        return;
    n = to_seq(a, n);
    if (n && n->kind == NODE_SEQ)
        for (size_t i = 0; i < n->len; i++)
            if (n->vals[i]->kind == NODE_SCALAR)
                n->vals[i]->style = STYLE_QUOTED;
    node_map_set(a, svc, key, n);
}

static void canon_bytes(Arena *a, Node *map, const char *key)
{
    Node *v = node_get(map, key);
    int64_t b;
    if (!node_is_scalar(v) || bytes_parse(v->str, &b) < 0)
        return;
    v->str = arena_printf(a, "%lld", (long long)b);
    v->style = STYLE_QUOTED;
}

static void canon_develop(Arena *a, Node *svc, const char *base_dir)
{
    Node *dev = node_get(svc, "develop");
    Node *watch = dev ? node_get(dev, "watch") : NULL;
    if (!watch || watch->kind != NODE_SEQ)
        return;
    for (size_t i = 0; i < watch->len; i++) {
        Node *r = watch->vals[i];
        if (r->kind != NODE_MAP)
            continue;
        Node *p = node_get(r, "path");
        if (node_is_scalar(p))
            node_map_set(a, r, "path", abs_path_node(a, p, base_dir));
        Node *ign = node_get(r, "ignore");
        if (ign)
            node_map_set(a, r, "ignore", to_seq(a, ign));
        Node *inc = node_get(r, "include");
        if (inc)
            node_map_set(a, r, "include", to_seq(a, inc));
    }
}

static void abs_list(Arena *a, Node *n, const char *base_dir)
{
    if (node_is_scalar(n))
        return;
    if (n && n->kind == NODE_SEQ)
        for (size_t i = 0; i < n->len; i++)
            if (node_is_scalar(n->vals[i]))
                n->vals[i] = abs_path_node(a, n->vals[i], base_dir);
}

static void canon_xtend(Arena *a, Node *svc, const char *base_dir)
{
    Node *x = node_get(svc, "x-tend");
    if (!x || x->kind != NODE_MAP)
        return;
    Node *seed = node_get(x, "seed");
    if (seed && seed->kind == NODE_SEQ) {
        for (size_t i = 0; i < seed->len; i++) {
            Node *st = seed->vals[i];
            static const char *const kinds[] = {"sql", "redis"};
            for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
                Node *f = node_get(st, kinds[k]);
                if (!f)
                    continue;
                f = to_seq(a, f);
                abs_list(a, f, base_dir);
                node_map_set(a, st, kinds[k], f);
            }
        }
    }
    Node *w = node_get(x, "watch");
    Node *rules = w ? node_get(w, "rules") : NULL;
    if (rules && rules->kind == NODE_SEQ)
        for (size_t i = 0; i < rules->len; i++) {
            Node *p = node_get(rules->vals[i], "path");
            if (node_is_scalar(p))
                node_map_set(a, rules->vals[i], "path", abs_path_node(a, p, base_dir));
        }
}

size_t canon_service(Arena *a, Node *svc, const char *name, const char *base_dir, Diag *d)
{
    if (!svc || svc->kind != NODE_MAP)
        return 0;
    size_t errors = 0;
    canon_build(a, svc, base_dir);
    if (node_get(svc, "environment"))
        node_map_set(a, svc, "environment", to_kv_map(a, node_get(svc, "environment"), "="));
    if (node_get(svc, "labels"))
        node_map_set(a, svc, "labels", to_kv_map(a, node_get(svc, "labels"), "="));
    if (node_get(svc, "extra_hosts"))
        node_map_set(a, svc, "extra_hosts", to_kv_map(a, node_get(svc, "extra_hosts"), "=:"));
    if (node_get(svc, "sysctls"))
        node_map_set(a, svc, "sysctls", to_kv_map(a, node_get(svc, "sysctls"), "="));
    canon_env_file(a, svc, base_dir);
    errors += canon_ports(a, svc, name, d);
    errors += canon_volumes(a, svc, name, base_dir, d);
    canon_depends_on(a, svc);
    canon_healthcheck(a, svc);
    canon_networks(a, svc);
    canon_ulimits(a, svc);
    canon_scalar_list(a, svc, "expose");
    canon_scalar_list(a, svc, "tmpfs");
    canon_scalar_list(a, svc, "dns");
    canon_scalar_list(a, svc, "dns_search");
    canon_bytes(a, svc, "mem_limit");
    canon_bytes(a, svc, "shm_size");
    Node *cpus = node_get(svc, "cpus");
    if (node_is_scalar(cpus) && cpus->style == STYLE_QUOTED && strtod(cpus->str, NULL) > 0)
        cpus->style = STYLE_PLAIN; /* "0.5" and 0.5 are the same limit */
    canon_duration(a, svc, "stop_grace_period");
    canon_develop(a, svc, base_dir);
    canon_xtend(a, svc, base_dir);
    Node *ext = node_get(svc, "extends");
    if (ext && ext->kind == NODE_SCALAR) {
        Node *m = new_map(a, &ext->loc);
        node_map_set(a, m, "service", ext);
        node_map_set(a, svc, "extends", m);
    } else if (ext && ext->kind == NODE_MAP) {
        Node *f = node_get(ext, "file");
        if (node_is_scalar(f))
            node_map_set(a, ext, "file", abs_path_node(a, f, base_dir));
    }
    return errors;
}

size_t canon_file(Arena *a, Node *root, const char *base_dir, Diag *d)
{
    size_t errors = 0;
    Node *services = node_get(root, "services");
    if (services && services->kind == NODE_MAP)
        for (size_t i = 0; i < services->len; i++) {
            if (node_is_null(services->vals[i]))
                services->vals[i] = new_map(a, &services->keys[i]->loc);
            errors += canon_service(a, services->vals[i], services->keys[i]->str, base_dir, d);
        }
    static const char *const tops[] = {"volumes", "networks"};
    for (size_t t = 0; t < ARRAY_SIZE(tops); t++) {
        Node *m = node_get(root, tops[t]);
        if (m && m->kind == NODE_MAP)
            for (size_t i = 0; i < m->len; i++) {
                if (node_is_null(m->vals[i]))
                    m->vals[i] = new_map(a, &m->keys[i]->loc);
                Node *labels = node_get(m->vals[i], "labels");
                if (labels)
                    node_map_set(a, m->vals[i], "labels", to_kv_map(a, labels, "="));
            }
    }
    return errors;
}

void canon_finish(Arena *a, Node *root)
{
    Node *services = node_get(root, "services");
    if (!services || services->kind != NODE_MAP)
        return;
    static const char *const keys[] = {"command", "entrypoint"};
    for (size_t i = 0; i < services->len; i++) {
        Node *svc = services->vals[i];
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
            Node *c = node_get(svc, keys[k]);
            if (!node_is_scalar(c))
                continue;
            StrVec argv = {0};
            if (shell_split(c->str, &argv) < 0)
                continue;
            Node *s = new_seq(a, &c->loc);
            for (size_t j = 0; j < argv.n; j++)
                node_seq_push(a, s, node_scalar(a, argv.v[j], &c->loc));
            node_map_set(a, svc, keys[k], s);
            strvec_free(&argv);
        }
    }
}
