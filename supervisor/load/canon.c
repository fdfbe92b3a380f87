/* canon: rewrites one checked services file into Compose's normal form so
 * that merging compares like with like (a port written "8080:80" in one file
 * and as a mapping in another is the same port; a K=V list and a mapping are
 * the same labels). Which key takes which form is the key table's (keys.c);
 * this file holds the forms. It runs per file, after interpolation and the
 * schema check, and resolves relative paths against the file's base folder
 * so that included and extended files keep their own meaning. Defaults that
 * an override must not restate (a build's context, depends_on conditions)
 * come after the merge (canon_merged), and what only the printed form needs
 * (argv lists, flags left out when false) after the model has read the tree
 * (canon_finish): the model needs to know that a host command was a shell
 * string. */
#include "load/canon.h"

#include "load/keys.h"
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

/* A mount target without its trailing slashes ("/data/" is /data), as
 * Compose prints it and merges by it. */
static void clean_target(Arena *a, Node *m)
{
    Node *t = node_get(m, "target");
    if (!node_is_scalar(t))
        return;
    size_t n = strlen(t->str);
    while (n > 1 && t->str[n - 1] == '/')
        n--;
    if (t->str[n])
        node_map_set(a, m, "target", node_scalar(a, arena_strndup(a, t->str, n), &t->loc));
}

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
            clean_target(a, v);
            /* create_host_path is true unless it says false: Compose
             * prints only a false one */
            Node *bind = node_get(v, "bind");
            bool chp;
            if (bind && node_as_bool(node_get(bind, "create_host_path"), &chp) == 0 && chp)
                node_map_remove(bind, "create_host_path");
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
        clean_target(a, m);
        if (vs.read_only)
            node_map_set(a, m, "read_only", node_bool(a, true, &v->loc));
        if (vs.consistency)
            node_map_set(a, m, "consistency", node_scalar(a, vs.consistency, &v->loc));
        if (vs.type == VOLUME_BIND) {
            Node *b = new_map(a, &v->loc);
            if (vs.selinux)
                node_map_set(a, b, "selinux", node_scalar(a, vs.selinux, &v->loc));
            node_map_set(a, m, "bind", b);
        } else if (vs.type == VOLUME_VOLUME) {
            Node *b = new_map(a, &v->loc);
            if (vs.nocopy)
                node_map_set(a, b, "nocopy", node_bool(a, true, &v->loc));
            node_map_set(a, m, "volume", b);
        }
        vols->vals[i] = m;
        volume_spec_clear(&vs);
    }
    return errors;
}

/* ---- the rest of a service ---- */

static void canon_bytes(Arena *a, Node *map, const char *key)
{
    Node *v = node_get(map, key);
    int64_t b;
    if (!node_is_scalar(v) || bytes_parse(v->str, &b) < 0)
        return;
    v->str = arena_printf(a, "%lld", (long long)b);
    v->style = STYLE_QUOTED;
}

/* What each form needs: where relative paths start, where errors go, the
 * service being read (for messages), and the table entry (MOUNT differs
 * between secrets and configs). */
typedef struct Canon {
    Arena *a;
    const char *base_dir;
    Diag *d;
    const char *svc; /* the service's name, or NULL at the top level */
    const KeySpec *key;
    size_t errors;
    bool finishing; /* canon_finish: the printed form of the merged tree */
} Canon;

static Node *form_build(Canon *c, Node *b)
{
    Arena *a = c->a;
    if (b->kind == NODE_SCALAR && !node_is_null(b)) {
        Node *m = new_map(a, &b->loc);
        m->tag = b->tag;
        node_map_set(a, m, "context", b);
        b = m;
    }
    if (b->kind != NODE_MAP)
        return b;
    /* context and dockerfile get their defaults once the files are merged
     * (canon_merged): an override's build: {dockerfile: X} keeps the
     * base's context */
    Node *ctx = node_get(b, "context");
    if (node_is_scalar(ctx) && !is_remote(ctx->str))
        node_map_set(a, b, "context", abs_path_node(a, ctx, c->base_dir));
    return b;
}

static Node *form_env_file(Canon *c, Node *n)
{
    Arena *a = c->a;
    Node *ef = to_seq(a, n);
    if (!ef || ef->kind != NODE_SEQ)
        return ef;
    for (size_t i = 0; i < ef->len; i++) {
        Node *it = ef->vals[i];
        if (it->kind == NODE_SCALAR) {
            Node *m = new_map(a, &it->loc);
            node_map_set(a, m, "path", abs_path_node(a, it, c->base_dir));
            node_map_set(a, m, "required", node_bool(a, true, &it->loc));
            ef->vals[i] = m;
        } else if (it->kind == NODE_MAP) {
            Node *p = node_get(it, "path");
            if (node_is_scalar(p))
                node_map_set(a, it, "path", abs_path_node(a, p, c->base_dir));
            set_default(a, it, "required", node_bool(a, true, &it->loc));
        }
    }
    return ef;
}

/* A list of names, or a mapping: the names map to `dflt` copies (null when
 * dflt is NULL), and a null value in a mapping too. */
static Node *names_to_map(Arena *a, Node *n, Node *(*dflt)(Arena *, const Loc *))
{
    if (n->kind == NODE_SEQ) {
        Node *m = new_map(a, &n->loc);
        m->tag = n->tag;
        for (size_t i = 0; i < n->len; i++) {
            Node *it = n->vals[i];
            if (it->kind == NODE_SCALAR)
                node_map_set_node(a, m, plain(a, it->str, &it->loc),
                                  dflt ? dflt(a, &it->loc) : node_new(a, NODE_NULL, &it->loc));
        }
        return m;
    }
    if (n->kind == NODE_MAP && dflt)
        for (size_t i = 0; i < n->len; i++)
            if (node_is_null(n->vals[i]))
                n->vals[i] = dflt(a, &n->keys[i]->loc);
    return n;
}

static Node *empty_map(Arena *a, const Loc *loc)
{
    return new_map(a, loc);
}

/* The defaults of one depends_on entry (a null entry is {}). */
static void depends_on_defaults(Arena *a, Node *dep)
{
    for (size_t i = 0; dep && dep->kind == NODE_MAP && i < dep->len; i++) {
        Node *v = dep->vals[i];
        if (node_is_null(v))
            dep->vals[i] = v = new_map(a, &dep->keys[i]->loc);
        if (v->kind != NODE_MAP)
            continue;
        set_default(a, v, "condition", node_scalar(a, "service_started", &v->loc));
        set_default(a, v, "required", node_bool(a, true, &v->loc));
    }
}

/* A list of names takes the defaults now, as Compose reads a list when it
 * merges; a mapping's entries get theirs after the merge (canon_merged),
 * so that an override's {db: {required: false}} keeps the base's
 * condition. */
static Node *form_depends_on(Canon *c, Node *dep)
{
    if (dep->kind != NODE_SEQ)
        return dep;
    dep = names_to_map(c->a, dep, empty_map);
    depends_on_defaults(c->a, dep);
    return dep;
}

static Node *form_test(Canon *c, Node *test)
{
    if (test->kind != NODE_SCALAR || node_is_null(test))
        return test;
    Node *s = new_seq(c->a, &test->loc);
    s->tag = test->tag;
    if (streq(test->str, "NONE")) {
        node_seq_push(c->a, s, node_scalar(c->a, "NONE", &test->loc));
    } else {
        node_seq_push(c->a, s, node_scalar(c->a, "CMD-SHELL", &test->loc));
        node_seq_push(c->a, s, node_scalar(c->a, test->str, &test->loc));
    }
    return s;
}

static Node *form_list(Canon *c, Node *n)
{
    n = to_seq(c->a, n);
    if (n && n->kind == NODE_SEQ)
        for (size_t i = 0; i < n->len; i++)
            if (n->vals[i]->kind == NODE_SCALAR)
                n->vals[i]->style = STYLE_QUOTED;
    return n;
}

static Node *form_kv_paths(Canon *c, Node *n)
{
    n = to_kv_map(c->a, n, "=");
    if (n && n->kind == NODE_MAP)
        for (size_t i = 0; i < n->len; i++) {
            Node *v = n->vals[i];
            if (node_is_scalar(v) && !strstr(v->str, "://") && !str_startswith(v->str, "service:") &&
                !is_remote(v->str))
                n->vals[i] = abs_path_node(c->a, v, c->base_dir);
        }
    return n;
}

/* One "host=ip" item; an IPv6 address in brackets loses them ("[::1]"). */
static Node *host_entry(Arena *a, const char *host, size_t hlen, const char *ip, const Loc *loc)
{
    if (!ip)
        return node_scalarf(a, loc, "%.*s", (int)hlen, host);
    size_t n = strlen(ip);
    if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
        ip++;
        n -= 2;
    }
    Node *e = node_scalarf(a, loc, "%.*s=%.*s", (int)hlen, host, (int)n, ip);
    e->style = STYLE_QUOTED;
    return e;
}

/* extra_hosts: "host=ip" and "host:ip" items, or a mapping of a host to an
 * address or a list of them, become "host=ip" items, Compose's form. The
 * separator is the first '=' or, failing one, the first ':' (an IPv6
 * address after "host:" keeps its colons). */
static Node *form_hosts(Canon *c, Node *n)
{
    Arena *a = c->a;
    Node *out = new_seq(a, &n->loc);
    out->tag = n->tag;
    if (n->kind == NODE_SEQ) {
        for (size_t i = 0; i < n->len; i++) {
            Node *it = n->vals[i];
            if (!node_is_scalar(it))
                continue;
            const char *s = it->str;
            size_t k = strchr(s, '=') ? strcspn(s, "=") : strcspn(s, ":");
            node_seq_push(a, out, host_entry(a, s, k, s[k] ? s + k + 1 : NULL, &it->loc));
        }
    } else if (n->kind == NODE_MAP) {
        for (size_t i = 0; i < n->len; i++) {
            Node *v = n->vals[i];
            const char *h = n->keys[i]->str;
            if (v->kind == NODE_SEQ) {
                for (size_t j = 0; j < v->len; j++)
                    if (node_is_scalar(v->vals[j]))
                        node_seq_push(a, out, host_entry(a, h, strlen(h), v->vals[j]->str, &v->vals[j]->loc));
            } else {
                node_seq_push(a, out, host_entry(a, h, strlen(h), node_is_scalar(v) ? v->str : "", &v->loc));
            }
        }
    } else {
        return n;
    }
    return out;
}

static Node *form_name_map(Canon *c, Node *n)
{
    return names_to_map(c->a, n, NULL);
}

/* secrets and configs: a name is {source: name}; a service's secret is
 * mounted at /run/secrets/<source> unless it says where. */
static Node *form_mount(Canon *c, Node *n)
{
    if (n->kind != NODE_SEQ)
        return n;
    bool secret = str_endswith(c->key->path, "services.*.secrets");
    for (size_t i = 0; i < n->len; i++) {
        Node *it = n->vals[i];
        if (it->kind == NODE_SCALAR) {
            Node *m = new_map(c->a, &it->loc);
            node_map_set(c->a, m, "source", it);
            n->vals[i] = it = m;
        }
        Node *src = node_get(it, "source");
        if (secret && it->kind == NODE_MAP && node_is_scalar(src) && !node_get(it, "target"))
            node_map_set(c->a, it, "target", node_scalarf(c->a, &it->loc, "/run/secrets/%s", src->str));
    }
    return n;
}

/* "/dev/a:/dev/b:rwm" -> {source, target, permissions}, rwm by default. */
static Node *form_devices(Canon *c, Node *n)
{
    if (n->kind != NODE_SEQ)
        return n;
    for (size_t i = 0; i < n->len; i++) {
        Node *it = n->vals[i];
        if (!node_is_scalar(it))
            continue;
        const char *s = it->str;
        const char *c1 = strchr(s, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 && strchr(c2 + 1, ':'))
            continue; /* the schema's business */
        Node *m = new_map(c->a, &it->loc);
        const char *src = c1 ? arena_strndup(c->a, s, (size_t)(c1 - s)) : s;
        const char *dst = c1 ? arena_strndup(c->a, c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1)) : "";
        node_map_set(c->a, m, "source", node_scalar(c->a, src, &it->loc));
        node_map_set(c->a, m, "target", node_scalar(c->a, *dst ? dst : src, &it->loc));
        node_map_set(c->a, m, "permissions", node_scalar(c->a, c2 ? c2 + 1 : "rwm", &it->loc));
        n->vals[i] = m;
    }
    return n;
}

static Node *form_extends(Canon *c, Node *ext)
{
    if (ext->kind == NODE_SCALAR) {
        Node *m = new_map(c->a, &ext->loc);
        node_map_set(c->a, m, "service", ext);
        return m;
    }
    Node *f = node_get(ext, "file");
    if (node_is_scalar(f))
        node_map_set(c->a, ext, "file", abs_path_node(c->a, f, c->base_dir));
    return ext;
}

/* gpus and deploy device requests: "all" is one request for every device,
 * a request naming neither a count nor device ids asks for all of them, and
 * "all" as a count is -1, as Compose prints it. */
static Node *form_gpus(Canon *c, Node *n)
{
    Arena *a = c->a;
    if (node_is_scalar(n)) {
        Node *s = new_seq(a, &n->loc);
        Node *m = new_map(a, &n->loc);
        node_map_set(a, m, "count", node_scalar(a, "all", &n->loc));
        node_seq_push(a, s, m);
        n = s;
    }
    if (n->kind != NODE_SEQ)
        return n;
    for (size_t i = 0; i < n->len; i++) {
        Node *it = n->vals[i];
        if (it->kind != NODE_MAP)
            continue;
        Node *cnt = node_get(it, "count");
        if (!cnt && !node_get(it, "device_ids"))
            node_map_set(a, it, "count", cnt = node_scalar(a, "all", &it->loc));
        if (node_is_scalar(cnt) && streq(cnt->str, "all")) {
            cnt = node_scalar(a, "-1", &cnt->loc);
            cnt->style = STYLE_PLAIN;
            node_map_set(a, it, "count", cnt);
        }
    }
    return n;
}

/* A file mode as Compose prints it, "0" and octal digits: a quoted value
 * is octal, a plain one an integer as YAML 1.1 reads it (0440 and 0o440
 * octal, 288 decimal). */
static Node *form_file_mode(Canon *c, Node *v)
{
    if (!node_is_scalar(v))
        return v;
    const char *s = v->str;
    int base = 10;
    if (v->style == STYLE_QUOTED || (s[0] == '0' && s[1] && s[1] != 'o' && s[1] != 'x'))
        base = 8;
    else if (s[0] == '0' && s[1] == 'o') {
        base = 8;
        s += 2;
    } else if (s[0] == '0' && s[1] == 'x')
        base = 16;
    char *end;
    errno = 0;
    long long m = strtoll(s, &end, base);
    if (errno || *end || end == s || m < 0)
        return v; /* the schema's business */
    Node *out = node_scalarf(c->a, &v->loc, "0%llo", m);
    out->style = STYLE_QUOTED;
    return out;
}

/* Brings the value of `map.key` to the form of c->key. */
static void apply_form(Canon *c, Node *map, const char *key)
{
    Arena *a = c->a;
    Node *v = node_get(map, key);
    if (!v)
        return;
    Node *out = v;
    switch (c->key->form) {
    case FORM_KV_MAP:
        out = to_kv_map(a, v, "=");
        break;
    case FORM_KV_PATHS:
        out = form_kv_paths(c, v);
        break;
    case FORM_HOSTS:
        out = form_hosts(c, v);
        break;
    case FORM_LIST:
        out = form_list(c, v);
        break;
    case FORM_NAME_MAP:
        out = form_name_map(c, v);
        break;
    case FORM_PATH:
        if (node_is_scalar(v))
            out = abs_path_node(a, v, c->base_dir);
        break;
    case FORM_DURATION:
        canon_duration(a, map, key);
        break;
    case FORM_BYTES:
        canon_bytes(a, map, key);
        break;
    case FORM_PORTS:
        c->errors += canon_ports(a, map, c->svc, c->d);
        break;
    case FORM_VOLUMES:
        c->errors += canon_volumes(a, map, c->svc, c->base_dir, c->d);
        break;
    case FORM_ENV_FILE:
        out = form_env_file(c, v);
        break;
    case FORM_DEPENDS_ON:
        out = form_depends_on(c, v);
        break;
    case FORM_BUILD:
        out = form_build(c, v);
        break;
    case FORM_TEST:
        out = form_test(c, v);
        break;
    case FORM_MOUNT:
        out = form_mount(c, v);
        break;
    case FORM_DEVICES:
        out = form_devices(c, v);
        break;
    case FORM_EXTENDS:
        out = form_extends(c, v);
        break;
    case FORM_GPUS:
        out = form_gpus(c, v);
        break;
    case FORM_FILE_MODE:
        out = form_file_mode(c, v);
        break;
    case FORM_STRING:
        if (node_is_scalar(v))
            v->style = STYLE_QUOTED;
        break;
    case FORM_EXTERNAL: {
        /* external: {name: N} (deprecated) is external: true with name N */
        Node *ext = node_get(v, "external");
        if (ext && ext->kind == NODE_MAP) {
            Node *en = node_get(ext, "name");
            if (node_is_scalar(en) && !node_get(v, "name"))
                node_map_set(a, v, "name", en);
            node_map_set(a, v, "external", node_bool(a, true, &ext->loc));
        }
        break;
    }
    case FORM_FALSE_OUT: {
        bool b;
        if (c->finishing && node_as_bool(v, &b) == 0 && !b)
            node_map_remove(map, key);
        break;
    }
    case FORM_AS_IS:
    case FORM_COMMAND: /* split by canon_finish, once the model has read it */
    case FORM_MAX:
        break;
    }
    if (out && out != v)
        node_map_set(a, map, key, out);
}

/* Applies c->key's form to every value its path names below `n`, which is
 * the node at comps[-1]; "*" walks every entry of a mapping or list. */
static void walk_form(Canon *c, Node *n, const char *path)
{
    if (!n || !*path)
        return;
    size_t len = strcspn(path, ".");
    const char *rest = path[len] ? path + len + 1 : "";
    if (len == 1 && path[0] == '*' && !*rest) {
        for (size_t i = 0; n->kind == NODE_MAP && i < n->len; i++)
            apply_form(c, n, n->keys[i]->str);
        return;
    }
    if (len == 1 && path[0] == '*') {
        if (n->kind == NODE_MAP || n->kind == NODE_SEQ)
            for (size_t i = 0; i < n->len; i++)
                walk_form(c, n->vals[i], rest);
        return;
    }
    if (n->kind != NODE_MAP)
        return;
    char comp[128];
    if (len >= sizeof(comp))
        return;
    memcpy(comp, path, len);
    comp[len] = '\0';
    if (*rest)
        walk_form(c, node_get(n, comp), rest);
    else
        apply_form(c, n, comp);
}

/* Applies every form of the table whose path starts with `prefix` to the
 * node that prefix names. */
/* Applies to one service the forms of the table's entries under its keys
 * (those of `finishing` forms or the others). */
static void apply_service(Canon *c, Node *svc)
{
    const size_t pl = strlen("services.*.");
    for (size_t i = 0; i < svc->len; i++) {
        size_t n;
        const KeySpec *const *keys = keys_for_service_key(svc->keys[i]->str, &n);
        for (size_t k = 0; k < n; k++) {
            bool late = keys[k]->form == FORM_FALSE_OUT;
            if (keys[k]->form == FORM_AS_IS || late != c->finishing)
                continue;
            c->key = keys[k];
            walk_form(c, svc, keys[k]->path + pl);
        }
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
    Canon c = {.a = a, .base_dir = base_dir, .d = d, .svc = name};
    apply_service(&c, svc);
    size_t errors = c.errors;
    Node *cpus = node_get(svc, "cpus");
    if (node_is_scalar(cpus) && cpus->style == STYLE_QUOTED && strtod(cpus->str, NULL) > 0)
        cpus->style = STYLE_PLAIN; /* "0.5" and 0.5 are the same limit */
    canon_xtend(a, svc, base_dir);
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
    static const char *const tops[] = {"volumes", "networks", "secrets", "configs"};
    for (size_t t = 0; t < ARRAY_SIZE(tops); t++) {
        Node *m = node_get(root, tops[t]);
        if (m && m->kind == NODE_MAP)
            for (size_t i = 0; i < m->len; i++)
                if (node_is_null(m->vals[i]))
                    m->vals[i] = new_map(a, &m->keys[i]->loc);
    }
    /* the top-level keys of the table: everything not under services */
    size_t nk;
    const KeySpec *keys = keys_table(&nk);
    Canon c = {.a = a, .base_dir = base_dir, .d = d};
    for (size_t i = 0; i < nk; i++) {
        if (keys[i].form == FORM_AS_IS || keys[i].form == FORM_FALSE_OUT ||
            str_startswith(keys[i].path, "services."))
            continue;
        c.key = &keys[i];
        walk_form(&c, root, keys[i].path);
    }
    return errors + c.errors;
}

/* Adds `name` to a service's depends_on unless it is there. */
static void implied_dep(Arena *a, Node *svc, const char *name, size_t len, bool restart, const Loc *loc)
{
    Node *deps = node_get(svc, "depends_on");
    if (!deps) {
        deps = new_map(a, loc);
        node_map_set(a, svc, "depends_on", deps);
    }
    if (deps->kind != NODE_MAP)
        return;
    const char *dep = arena_strndup(a, name, len);
    if (node_get_key(deps, dep))
        return;
    Node *m = new_map(a, loc);
    node_map_set(a, m, "condition", node_scalar(a, "service_started", loc));
    node_map_set(a, m, "restart", node_bool(a, restart, loc));
    node_map_set(a, m, "required", node_bool(a, true, loc));
    node_map_set_node(a, deps, plain(a, dep, loc), m);
}

void canon_merged(Arena *a, Node *root, const char *workdir)
{
    Node *services = node_get(root, "services");
    if (!services || services->kind != NODE_MAP)
        return;
    for (size_t i = 0; i < services->len; i++) {
        Node *svc = services->vals[i];
        if (svc->kind != NODE_MAP)
            continue;
        Node *b = node_get(svc, "build");
        if (b && b->kind == NODE_MAP) {
            if (!node_get(b, "context"))
                node_map_set(a, b, "context", node_scalar(a, workdir, &b->loc));
            if (!node_get(b, "dockerfile") && !node_get(b, "dockerfile_inline"))
                node_map_set(a, b, "dockerfile", node_scalar(a, "Dockerfile", &b->loc));
        }
        depends_on_defaults(a, node_get(svc, "depends_on"));
        Node *pp = node_get(svc, "pull_policy");
        if (node_is_scalar(pp) && streq(pp->str, "if_not_present"))
            node_map_set(a, svc, "pull_policy", node_scalar(a, "missing", &pp->loc));
        Node *links = node_get(svc, "links");
        for (size_t k = 0; links && links->kind == NODE_SEQ && k < links->len; k++) {
            Node *l = links->vals[k];
            if (node_is_scalar(l))
                implied_dep(a, svc, l->str, strcspn(l->str, ":"), true, &l->loc);
        }
        static const char *const ns[] = {"network_mode", "ipc", "pid", "uts", "cgroup"};
        for (size_t k = 0; k < ARRAY_SIZE(ns); k++) {
            Node *v = node_get(svc, ns[k]);
            if (node_is_scalar(v) && str_startswith(v->str, "service:"))
                implied_dep(a, svc, v->str + 8, strlen(v->str + 8), true, &v->loc);
        }
        Node *vf = node_get(svc, "volumes_from");
        for (size_t k = 0; vf && vf->kind == NODE_SEQ && k < vf->len; k++) {
            Node *v = vf->vals[k];
            if (node_is_scalar(v) && !str_startswith(v->str, "container:"))
                implied_dep(a, svc, v->str, strcspn(v->str, ":"), false, &v->loc);
        }
    }
}

static int cmp_scalar(const void *x, const void *y)
{
    const Node *a = *(Node *const *)x, *b = *(Node *const *)y;
    return strcmp(a->str ? a->str : "", b->str ? b->str : "");
}

/* Secrets and configs are named <project>_<key> on the engine unless they
 * are external or named, as Compose prints them. */
static void name_top(Arena *a, Node *root, const char *what)
{
    Node *m = node_get(root, what);
    Node *pn = node_get(root, "name");
    if (!m || m->kind != NODE_MAP || !node_is_scalar(pn))
        return;
    for (size_t i = 0; i < m->len; i++) {
        Node *v = m->vals[i];
        bool ext = false;
        Node *e = node_get(v, "external");
        if (v->kind != NODE_MAP || node_get(v, "name") ||
            (e && (e->kind == NODE_MAP || (node_as_bool(e, &ext) == 0 && ext))))
            continue;
        node_map_set(a, v, "name", node_scalarf(a, &v->loc, "%s_%s", pn->str, m->keys[i]->str));
    }
}

/* A shell string at map.key becomes its argv list. */
static void split_command(Arena *a, Node *map, const char *key)
{
    Node *c = node_get(map, key);
    if (!node_is_scalar(c))
        return;
    StrVec argv = {0};
    if (shell_split(c->str, &argv) < 0)
        return;
    Node *s = new_seq(a, &c->loc);
    for (size_t j = 0; j < argv.n; j++)
        node_seq_push(a, s, node_scalar(a, argv.v[j], &c->loc));
    node_map_set(a, map, key, s);
    strvec_free(&argv);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Adds the scalar map[key] (or every key of a mapping) to `used`. */
static void note_used(StrVec *used, const Node *n, const char *field)
{
    if (!n)
        return;
    if (!field && n->kind == NODE_MAP) {
        for (size_t i = 0; i < n->len; i++)
            strvec_push(used, n->keys[i]->str);
        return;
    }
    if (n->kind != NODE_SEQ)
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *it = n->vals[i];
        const Node *src = node_get(it, field);
        if (streq(field, "source") && node_is_scalar(node_get(it, "type")) &&
            !streq(node_get(it, "type")->str, "volume"))
            continue; /* a bind or tmpfs mount names no volume */
        if (node_is_scalar(src))
            strvec_push(used, src->str);
    }
}

/* Drops the top-level networks, volumes, secrets, configs and models no
 * service uses, as `docker compose config` leaves them out. The model has
 * read them all already. */
void canon_drop_unused(Node *root)
{
    const Node *services = node_get(root, "services");
    if (services && services->kind != NODE_MAP)
        services = NULL;
    StrVec used[5] = {0};
    static const char *const tops[5] = {"networks", "volumes", "secrets", "configs", "models"};
    for (size_t i = 0; services && i < services->len; i++) {
        const Node *svc = services->vals[i];
        note_used(&used[0], node_get(svc, "networks"), NULL);
        note_used(&used[1], node_get(svc, "volumes"), "source");
        note_used(&used[2], node_get(svc, "secrets"), "source");
        note_used(&used[2], node_get(node_get(svc, "build"), "secrets"), "source");
        note_used(&used[3], node_get(svc, "configs"), "source");
        note_used(&used[4], node_get(svc, "models"), NULL);
    }
    for (size_t t = 0; t < ARRAY_SIZE(tops); t++) {
        Node *m = node_get(root, tops[t]);
        if (used[t].n > 1) /* sorted for bsearch: hundreds of services */
            qsort(used[t].v, used[t].n, sizeof(char *), cmp_str);
        if (m && m->kind == NODE_MAP) {
            size_t w = 0;
            for (size_t i = 0; i < m->len; i++)
                if (used[t].n && bsearch(&m->keys[i]->str, used[t].v, used[t].n, sizeof(char *), cmp_str)) {
                    m->keys[w] = m->keys[i];
                    m->vals[w++] = m->vals[i];
                }
            m->len = w;
            if (w == 0)
                node_map_remove(root, tops[t]);
        }
        strvec_free(&used[t]);
    }
}

void canon_finish(Arena *a, Node *root)
{
    name_top(a, root, "secrets");
    name_top(a, root, "configs");
    size_t nk;
    const KeySpec *keys = keys_table(&nk);
    Canon c = {.a = a, .finishing = true};
    for (size_t i = 0; i < nk; i++)
        if (keys[i].form == FORM_FALSE_OUT && !str_startswith(keys[i].path, "services.")) {
            c.key = &keys[i];
            walk_form(&c, root, keys[i].path);
        }
    Node *services = node_get(root, "services");
    if (!services || services->kind != NODE_MAP)
        return;
    for (size_t i = 0; i < services->len; i++) {
        Node *svc = services->vals[i];
        if (svc->kind != NODE_MAP)
            continue;
        apply_service(&c, svc); /* flags left out when false */
        /* extra_hosts print sorted; env_file was read into environment */
        Node *ehs[] = {node_get(svc, "extra_hosts"), node_get(node_get(svc, "build"), "extra_hosts")};
        for (size_t k = 0; k < ARRAY_SIZE(ehs); k++)
            if (ehs[k] && ehs[k]->kind == NODE_SEQ && ehs[k]->len > 1)
                qsort(ehs[k]->vals, ehs[k]->len, sizeof(Node *), cmp_scalar);
        node_map_remove(svc, "env_file");
        split_command(a, svc, "command");
        split_command(a, svc, "entrypoint");
        static const char *const hooks[] = {"post_start", "pre_stop"};
        for (size_t k = 0; k < ARRAY_SIZE(hooks); k++) {
            Node *h = node_get(svc, hooks[k]);
            for (size_t j = 0; h && h->kind == NODE_SEQ && j < h->len; j++)
                split_command(a, h->vals[j], "command");
        }
    }
}
