/* gojson: a service's definition written as Go's encoding/json writes
 * compose-go's ServiceConfig, for the config-hash label docker compose v5
 * puts on its containers (pkg/compose/hash.go there). The canonical tree
 * (canon.c, model.c) already holds Compose's normal form; what is left is
 * Go's view of it: each struct's fields in declaration order, omitempty
 * (zero numbers, empty strings and lists dropped; pointers and value
 * structs kept), maps in sorted key order, durations as time.Duration
 * prints them, byte sizes as quoted integers, extra_hosts as a sorted
 * "host=ip" list, and strings escaped as Go escapes them (<, > and & too).
 * The tables below are compose-go v2.16.1's types; keys tend knows no Go
 * type for are written generically and listed by gojson_uncovered. */
#include "load/gojson.h"

#include "load/canon.h"
#include "load/parse.h"
#include "lib/sha256.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum GoKind {
    GO_SKIP,     /* left out of the hash */
    GO_STR,      /* string, omitempty */
    GO_STRX,     /* string, always written */
    GO_BOOL,     /* bool, omitempty: written when true */
    GO_BOOLP,    /* *bool: written when given */
    GO_INT,      /* integer, omitempty */
    GO_INTP,     /* *int / *uint64: written when given, zero too */
    GO_FLOAT,    /* float32, omitempty */
    GO_DUR,      /* Duration, omitempty */
    GO_DURP,     /* *Duration */
    GO_BYTES,    /* UnitBytes, omitempty: "1048576" */
    GO_LIST,     /* []string, omitempty; a scalar is a list of one */
    GO_CMD,      /* ShellCommand: null when absent, [] when empty */
    GO_MAP,      /* map[string]string, sorted; null values as "" */
    GO_MAPEQ,    /* MappingWithEquals: sorted; null values as null */
    GO_HOSTS,    /* HostsList: sorted "host=ip" strings */
    GO_HCTEST,   /* HealthCheckTest: a string is CMD-SHELL */
    GO_COUNT,    /* DeviceCount: "all" is -1 */
    GO_MODE,     /* *FileMode: "0644" */
    GO_OPTOUT,   /* OptOut, omitzero: written only when false */
    GO_ULIMITS,  /* map of *UlimitsConfig: one number, or soft/hard */
    GO_ENV,      /* the service's resolved environment (from the model) */
    GO_PATH,     /* string, cleaned as Go's path.Clean (volume targets) */
    GO_OBJ,      /* *struct: written when given (null value: left out) */
    GO_OBJV,     /* struct value: always written, {} when absent */
    GO_OBJLIST,  /* []struct */
    GO_OBJMAP,   /* map[string]*struct, sorted; null values as null */
    GO_ANY,      /* no Go type known here: written generically */
    GO_NSREF,    /* network_mode, ipc, pid: "service:NAME" as "container:ID" */
    GO_VOLFROM,  /* volumes_from: a service as its container's ID */
} GoKind;

typedef struct GoField GoField;
struct GoField {
    const char *key;
    GoKind kind;
    const GoField *sub; /* GO_OBJ*: the struct's fields, ended by a NULL key */
};

static const GoField f_update[] = {
    {"parallelism", GO_INTP, NULL}, {"delay", GO_DUR, NULL},           {"failure_action", GO_STR, NULL},
    {"monitor", GO_DUR, NULL},      {"max_failure_ratio", GO_FLOAT, NULL}, {"order", GO_STR, NULL},
    {NULL, 0, NULL},
};
static const GoField f_devreq[] = {
    {"capabilities", GO_LIST, NULL}, {"driver", GO_STR, NULL}, {"count", GO_COUNT, NULL},
    {"device_ids", GO_LIST, NULL},   {"options", GO_MAP, NULL}, {NULL, 0, NULL},
};
static const GoField f_resource[] = {
    {"cpus", GO_FLOAT, NULL},          {"memory", GO_BYTES, NULL},         {"pids", GO_INT, NULL},
    {"devices", GO_OBJLIST, f_devreq}, {"generic_resources", GO_ANY, NULL}, {NULL, 0, NULL},
};
static const GoField f_resources[] = {
    {"limits", GO_OBJ, f_resource},
    {"reservations", GO_OBJ, f_resource},
    {NULL, 0, NULL},
};
static const GoField f_restart_policy[] = {
    {"condition", GO_STR, NULL},    {"delay", GO_DURP, NULL},  {"max_attempts", GO_INTP, NULL},
    {"window", GO_DURP, NULL},      {NULL, 0, NULL},
};
static const GoField f_preference[] = {{"spread", GO_STR, NULL}, {NULL, 0, NULL}};
static const GoField f_placement[] = {
    {"constraints", GO_LIST, NULL},
    {"preferences", GO_OBJLIST, f_preference},
    {"max_replicas_per_node", GO_INT, NULL},
    {NULL, 0, NULL},
};
static const GoField f_deploy[] = {
    {"mode", GO_STR, NULL},
    {"replicas", GO_SKIP, NULL}, /* scaling is not configuration */
    {"labels", GO_MAP, NULL},
    {"update_config", GO_OBJ, f_update},
    {"rollback_config", GO_OBJ, f_update},
    {"resources", GO_OBJV, f_resources},
    {"restart_policy", GO_OBJ, f_restart_policy},
    {"placement", GO_OBJV, f_placement},
    {"endpoint_mode", GO_STR, NULL},
    {NULL, 0, NULL},
};
static const GoField f_healthcheck[] = {
    {"test", GO_HCTEST, NULL},        {"timeout", GO_DURP, NULL},        {"interval", GO_DURP, NULL},
    {"retries", GO_INTP, NULL},       {"start_period", GO_DURP, NULL},   {"start_interval", GO_DURP, NULL},
    {"disable", GO_BOOL, NULL},       {NULL, 0, NULL},
};
static const GoField f_service_network[] = {
    {"aliases", GO_LIST, NULL},       {"driver_opts", GO_MAP, NULL},  {"gw_priority", GO_INT, NULL},
    {"interface_name", GO_STR, NULL}, {"ipv4_address", GO_STR, NULL}, {"ipv6_address", GO_STR, NULL},
    {"link_local_ips", GO_LIST, NULL}, {"mac_address", GO_STR, NULL}, {"priority", GO_INT, NULL},
    {NULL, 0, NULL},
};
static const GoField f_port[] = {
    {"name", GO_STR, NULL},      {"mode", GO_STR, NULL},     {"host_ip", GO_STR, NULL},
    {"target", GO_INT, NULL},    {"published", GO_STR, NULL}, {"protocol", GO_STR, NULL},
    {"app_protocol", GO_STR, NULL}, {NULL, 0, NULL},
};
static const GoField f_bind[] = {
    {"selinux", GO_STR, NULL},          {"propagation", GO_STR, NULL}, {"create_host_path", GO_OPTOUT, NULL},
    {"recursive", GO_STR, NULL},        {NULL, 0, NULL},
};
static const GoField f_volume_opts[] = {
    {"labels", GO_MAP, NULL}, {"nocopy", GO_BOOL, NULL}, {"subpath", GO_STR, NULL}, {NULL, 0, NULL},
};
static const GoField f_tmpfs_opts[] = {{"size", GO_BYTES, NULL}, {"mode", GO_INT, NULL}, {NULL, 0, NULL}};
static const GoField f_image_opts[] = {{"subpath", GO_STR, NULL}, {NULL, 0, NULL}};
static const GoField f_volume[] = {
    {"type", GO_STR, NULL},           {"source", GO_STR, NULL},         {"target", GO_PATH, NULL},
    {"read_only", GO_BOOL, NULL},     {"consistency", GO_STR, NULL},    {"bind", GO_OBJ, f_bind},
    {"volume", GO_OBJ, f_volume_opts}, {"tmpfs", GO_OBJ, f_tmpfs_opts}, {"image", GO_OBJ, f_image_opts},
    {NULL, 0, NULL},
};
static const GoField f_file_ref[] = {
    {"source", GO_STR, NULL}, {"target", GO_STR, NULL}, {"uid", GO_STR, NULL},
    {"gid", GO_STR, NULL},    {"mode", GO_MODE, NULL},  {NULL, 0, NULL},
};
/* Secrets are file references whose target defaults to /run/secrets/NAME. */
static const GoField f_secret_ref[] = {
    {"source", GO_STR, NULL}, {"target", GO_STR, NULL}, {"uid", GO_STR, NULL},
    {"gid", GO_STR, NULL},    {"mode", GO_MODE, NULL},  {NULL, 0, NULL},
};
static const GoField f_hook[] = {
    {"command", GO_CMD, NULL},     {"user", GO_STR, NULL},        {"privileged", GO_BOOL, NULL},
    {"working_dir", GO_STR, NULL}, {"environment", GO_MAPEQ, NULL}, {NULL, 0, NULL},
};
static const GoField f_trigger[] = {
    {"path", GO_STRX, NULL},    {"action", GO_STRX, NULL}, {"target", GO_STR, NULL},
    {"exec", GO_OBJV, f_hook},  {"include", GO_LIST, NULL}, {"ignore", GO_LIST, NULL},
    {"initial_sync", GO_BOOL, NULL}, {NULL, 0, NULL},
};
static const GoField f_develop[] = {{"watch", GO_OBJLIST, f_trigger}, {NULL, 0, NULL}};
static const GoField f_device[] = {
    {"source", GO_STR, NULL}, {"target", GO_STR, NULL}, {"permissions", GO_STR, NULL}, {NULL, 0, NULL},
};
static const GoField f_model[] = {{"endpoint_var", GO_STR, NULL}, {"model_var", GO_STR, NULL}, {NULL, 0, NULL}};
static const GoField f_logging[] = {{"driver", GO_STR, NULL}, {"options", GO_MAP, NULL}, {NULL, 0, NULL}};

/* The service's keys in the order compose v5 pins for the hash
 * (serviceHashKeyOrder in pkg/compose/hash.go). Keys that are not here are
 * written after these, sorted. */
static const GoField f_service[] = {
    {"profiles", GO_SKIP, NULL},
    {"annotations", GO_MAP, NULL},
    {"attach", GO_BOOLP, NULL},
    {"build", GO_SKIP, NULL},
    {"develop", GO_OBJ, f_develop},
    {"blkio_config", GO_ANY, NULL},
    {"cap_add", GO_LIST, NULL},
    {"cap_drop", GO_LIST, NULL},
    {"cgroup_parent", GO_STR, NULL},
    {"cgroup", GO_STR, NULL},
    {"cpu_count", GO_INT, NULL},
    {"cpu_percent", GO_FLOAT, NULL},
    {"cpu_period", GO_INT, NULL},
    {"cpu_quota", GO_INT, NULL},
    {"cpu_rt_period", GO_INT, NULL},
    {"cpu_rt_runtime", GO_INT, NULL},
    {"cpus", GO_FLOAT, NULL},
    {"cpuset", GO_STR, NULL},
    {"cpu_shares", GO_INT, NULL},
    {"command", GO_CMD, NULL},
    {"configs", GO_OBJLIST, f_file_ref},
    {"container_name", GO_STR, NULL},
    {"credential_spec", GO_ANY, NULL},
    {"depends_on", GO_SKIP, NULL},
    {"deploy", GO_OBJ, f_deploy},
    {"device_cgroup_rules", GO_LIST, NULL},
    {"devices", GO_OBJLIST, f_device},
    {"dns", GO_LIST, NULL},
    {"dns_opt", GO_LIST, NULL},
    {"dns_search", GO_LIST, NULL},
    {"dockerfile", GO_STR, NULL},
    {"domainname", GO_STR, NULL},
    {"entrypoint", GO_CMD, NULL},
    {"provider", GO_ANY, NULL},
    {"environment", GO_ENV, NULL},
    {"env_file", GO_SKIP, NULL}, /* read into environment, then dropped */
    {"expose", GO_LIST, NULL},
    {"extends", GO_SKIP, NULL},  /* resolved while loading */
    {"external_links", GO_LIST, NULL},
    {"extra_hosts", GO_HOSTS, NULL},
    {"group_add", GO_LIST, NULL},
    {"gpus", GO_OBJLIST, f_devreq},
    {"hostname", GO_STR, NULL},
    {"healthcheck", GO_OBJ, f_healthcheck},
    {"image", GO_STR, NULL},
    {"init", GO_BOOLP, NULL},
    {"ipc", GO_NSREF, NULL},
    {"isolation", GO_STR, NULL},
    {"labels", GO_MAP, NULL},
    {"label_file", GO_LIST, NULL},
    {"links", GO_LIST, NULL},
    {"logging", GO_OBJ, f_logging},
    {"log_driver", GO_STR, NULL},
    {"log_opt", GO_MAP, NULL},
    {"mem_limit", GO_BYTES, NULL},
    {"mem_reservation", GO_BYTES, NULL},
    {"memswap_limit", GO_BYTES, NULL},
    {"mem_swappiness", GO_BYTES, NULL},
    {"mac_address", GO_STR, NULL},
    {"models", GO_OBJMAP, f_model},
    {"net", GO_STR, NULL},
    {"network_mode", GO_NSREF, NULL},
    {"networks", GO_OBJMAP, f_service_network},
    {"oom_kill_disable", GO_BOOL, NULL},
    {"oom_score_adj", GO_INT, NULL},
    {"pid", GO_NSREF, NULL},
    {"pids_limit", GO_INT, NULL},
    {"platform", GO_STR, NULL},
    {"ports", GO_OBJLIST, f_port},
    {"privileged", GO_BOOL, NULL},
    {"pull_policy", GO_SKIP, NULL},
    {"read_only", GO_BOOL, NULL},
    {"restart", GO_STR, NULL},
    {"runtime", GO_STR, NULL},
    {"scale", GO_SKIP, NULL},
    {"secrets", GO_OBJLIST, f_secret_ref},
    {"security_opt", GO_LIST, NULL},
    {"shm_size", GO_BYTES, NULL},
    {"stdin_open", GO_BOOL, NULL},
    {"stop_grace_period", GO_DURP, NULL},
    {"stop_signal", GO_STR, NULL},
    {"storage_opt", GO_MAP, NULL},
    {"sysctls", GO_MAP, NULL},
    {"tmpfs", GO_LIST, NULL},
    {"tty", GO_BOOL, NULL},
    {"ulimits", GO_ULIMITS, NULL},
    {"use_api_socket", GO_BOOL, NULL},
    {"user", GO_STR, NULL},
    {"userns_mode", GO_STR, NULL},
    {"uts", GO_STR, NULL},
    {"volume_driver", GO_STR, NULL},
    {"volumes", GO_OBJLIST, f_volume},
    {"volumes_from", GO_VOLFROM, NULL},
    {"working_dir", GO_STR, NULL},
    {"pre_start", GO_ANY, NULL},
    {"post_start", GO_OBJLIST, f_hook},
    {"pre_stop", GO_OBJLIST, f_hook},
    {"pull_refresh_after", GO_STR, NULL},
    {NULL, 0, NULL},
};

/* ---- Go's encoding of scalars ---- */

/* A string as encoding/json writes it: HTML-safe (<, >, & escaped), U+2028
 * and U+2029 escaped, invalid UTF-8 replaced by U+FFFD. */
static void go_string(StrBuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    strbuf_putc(b, '"');
    while (*p) {
        unsigned char c = *p;
        if (c < 0x80) {
            switch (c) {
            case '"': strbuf_puts(b, "\\\""); break;
            case '\\': strbuf_puts(b, "\\\\"); break;
            case '\n': strbuf_puts(b, "\\n"); break;
            case '\r': strbuf_puts(b, "\\r"); break;
            case '\t': strbuf_puts(b, "\\t"); break;
            case '\b': strbuf_puts(b, "\\b"); break;
            case '\f': strbuf_puts(b, "\\f"); break;
            default:
                if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                    char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                    strbuf_puts(b, e);
                } else {
                    strbuf_putc(b, (char)c);
                }
            }
            p++;
            continue;
        }
        /* A multi-byte sequence: copied when valid, else one U+FFFD per bad byte. */
        size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        uint32_t cp = n == 4 ? c & 7 : n == 3 ? c & 15 : c & 31;
        size_t i = 1;
        for (; n && i < n && (p[i] & 0xc0) == 0x80; i++)
            cp = cp << 6 | (p[i] & 0x3f);
        bool ok = n && i == n && !(n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
                  !(n == 4 && (cp < 0x10000 || cp > 0x10ffff));
        if (!ok) {
            strbuf_puts(b, "\\ufffd");
            p++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            strbuf_printf(b, "\\u%04x", cp);
            p += n;
        } else {
            strbuf_append(b, (const char *)p, n);
            p += n;
        }
    }
    strbuf_putc(b, '"');
}

/* A float32 as encoding/json writes it: the fewest digits that read back
 * as the same float32, in plain notation between 1e-6 and 1e21. */
static void go_float32(StrBuf *b, double v)
{
    float f = (float)v;
    char buf[64];
    int prec = 1;
    for (; prec < 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, (double)f);
        if (strtof(buf, NULL) == f)
            break;
    }
    double a = fabs((double)f);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        /* Go: "1e-07" (two-digit exponent at least). */
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, (double)f);
        char *e = strchr(buf, 'e');
        char *m = e ? e - 1 : NULL;
        if (m && strchr(buf, '.')) { /* drop trailing zeros of the mantissa */
            while (*m == '0')
                m--;
            if (*m == '.')
                m--;
            memmove(m + 1, e, strlen(e) + 1);
        }
        strbuf_puts(b, buf);
        return;
    }
    /* Plain notation with prec significant digits. */
    int exp10 = a == 0 ? 0 : (int)floor(log10(a));
    int decimals = prec - 1 - exp10;
    if (decimals < 0)
        decimals = 0;
    snprintf(buf, sizeof(buf), "%.*f", decimals, (double)f);
    if (strchr(buf, '.')) {
        size_t n = strlen(buf);
        while (n && buf[n - 1] == '0')
            buf[--n] = '\0';
        if (n && buf[n - 1] == '.')
            buf[--n] = '\0';
    }
    strbuf_puts(b, buf);
}

static const char *scalar(const Node *n)
{
    return n && n->kind == NODE_SCALAR && n->str ? n->str : NULL;
}

static bool is_true(const Node *n)
{
    bool v = false;
    return scalar(n) && node_as_bool(n, &v) == 0 && v;
}

static bool as_int(const Node *n, long long *ret)
{
    const char *s = scalar(n);
    if (!s)
        return false;
    if (node_as_int(n, ret) == 0)
        return true;
    char *end;
    double d = strtod(s, &end); /* "1.0" read by Go's yaml as a whole number */
    if (end == s || *end)
        return false;
    *ret = (long long)d;
    return true;
}

static bool as_duration(const Node *n, int64_t *ret)
{
    const char *s = scalar(n);
    return s && duration_parse(s, ret) == 0;
}

static bool as_bytes(const Node *n, long long *ret)
{
    const char *s = scalar(n);
    int64_t v;
    if (!s || bytes_parse(s, &v) < 0)
        return false;
    *ret = v;
    return true;
}

/* Go's path.Clean. */
static char *go_path_clean(const char *p)
{
    if (!p || !*p)
        return xstrdup(".");
    bool rooted = p[0] == '/';
    StrVec parts = {0};
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* nothing */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (parts.n && !streq(parts.v[parts.n - 1], ".."))
                free(parts.v[--parts.n]);
            else if (!rooted)
                strvec_push(&parts, "..");
        } else {
            strvec_push_take(&parts, xstrndup(s, n));
        }
        s = e;
    }
    StrBuf b;
    strbuf_init(&b, 0);
    if (rooted)
        strbuf_putc(&b, '/');
    for (size_t i = 0; i < parts.n; i++)
        strbuf_printf(&b, "%s%s", i ? "/" : "", parts.v[i]);
    strvec_free(&parts);
    char *r = strbuf_steal(&b);
    if (!*r) {
        free(r);
        return xstrdup(".");
    }
    return r;
}

/* ---- values ---- */

/* What one emission reads beside the tree. */
typedef struct GoCtx {
    const Service *s;
    GojsonResolve resolve;
    void *ud;
} GoCtx;

static bool emit_value(StrBuf *b, const GoField *f, const Node *v, const GoCtx *x);

/* An untyped value: maps in written order, plain scalars as YAML reads them. */
static void emit_any(StrBuf *b, const Node *v)
{
    if (!v || v->kind == NODE_NULL || (v->kind == NODE_SCALAR && !v->str)) {
        strbuf_puts(b, "null");
    } else if (v->kind == NODE_SCALAR) {
        long long i;
        bool t;
        if (v->style == STYLE_PLAIN && node_as_int(v, &i) == 0)
            strbuf_printf(b, "%lld", i);
        else if (v->style == STYLE_PLAIN && node_as_bool(v, &t) == 0)
            strbuf_puts(b, t ? "true" : "false");
        else
            go_string(b, v->str);
    } else if (v->kind == NODE_SEQ) {
        strbuf_putc(b, '[');
        for (size_t i = 0; i < v->len; i++) {
            if (i)
                strbuf_putc(b, ',');
            emit_any(b, v->vals[i]);
        }
        strbuf_putc(b, ']');
    } else {
        strbuf_putc(b, '{');
        for (size_t i = 0; i < v->len; i++) {
            if (i)
                strbuf_putc(b, ',');
            go_string(b, v->keys[i]->str);
            strbuf_putc(b, ':');
            emit_any(b, v->vals[i]);
        }
        strbuf_putc(b, '}');
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The indexes of a map's entries in Go's order (sorted keys). malloc'd. */
static size_t *sorted_entries(const Node *m)
{
    size_t *ix = xcalloc(m->len ? m->len : 1, sizeof(*ix));
    const char **keys = xcalloc(m->len ? m->len : 1, sizeof(*keys));
    for (size_t i = 0; i < m->len; i++)
        keys[i] = m->keys[i]->str;
    qsort(keys, m->len, sizeof(*keys), cmp_str);
    for (size_t i = 0; i < m->len; i++)
        for (size_t j = 0; j < m->len; j++)
            if (m->keys[j]->str == keys[i]) {
                ix[i] = j;
                break;
            }
    free(keys);
    return ix;
}

static void emit_list(StrBuf *b, const Node *v)
{
    strbuf_putc(b, '[');
    if (v->kind == NODE_SCALAR) {
        go_string(b, v->str);
    } else {
        for (size_t i = 0; i < v->len; i++) {
            if (i)
                strbuf_putc(b, ',');
            const char *s = scalar(v->vals[i]);
            go_string(b, s ? s : "");
        }
    }
    strbuf_putc(b, ']');
}

static void emit_struct(StrBuf *b, const GoField *fields, const Node *v, const GoCtx *x);

static void emit_env(StrBuf *b, const Service *s)
{
    /* The model holds env_file entries overlaid by environment, resolved
     * from the shell and .env; the keys left unset are null for Go. */
    size_t n = s->environment.n + s->env_null.n;
    const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
    size_t k = 0;
    for (size_t i = 0; i < s->environment.n; i++)
        keys[k++] = s->environment.keys[i];
    for (size_t i = 0; i < s->env_null.n; i++)
        if (!env_has(&s->environment, s->env_null.v[i]))
            keys[k++] = s->env_null.v[i];
    qsort(keys, k, sizeof(*keys), cmp_str);
    strbuf_putc(b, '{');
    for (size_t i = 0; i < k; i++) {
        if (i && streq(keys[i], keys[i - 1]))
            continue;
        if (i)
            strbuf_putc(b, ',');
        go_string(b, keys[i]);
        strbuf_putc(b, ':');
        const char *val = env_get(&s->environment, keys[i]);
        if (val || env_has(&s->environment, keys[i]))
            go_string(b, val ? val : "");
        else
            strbuf_puts(b, "null");
    }
    strbuf_putc(b, '}');
    free(keys);
}

/* A list item still in its short form: a device "src[:dst[:perm]]", or a
 * secret or config by name, as compose-go's transforms make them long. */
static void emit_short_item(StrBuf *b, const GoField *sub, const char *str)
{
    strbuf_putc(b, '{');
    if (sub == f_device) {
        StrVec parts = {0};
        const char *p = str;
        for (;;) {
            const char *c = strchr(p, ':');
            strvec_push_take(&parts, c ? xstrndup(p, (size_t)(c - p)) : xstrdup(p));
            if (!c)
                break;
            p = c + 1;
        }
        const char *src = parts.v[0];
        const char *dst = parts.n > 1 && *parts.v[1] ? parts.v[1] : src;
        const char *perm = parts.n > 2 ? parts.v[2] : "rwm";
        bool first = true;
        const char *keys[] = {"source", "target", "permissions"};
        const char *vals[] = {src, dst, perm};
        for (int i = 0; i < 3; i++) {
            if (!*vals[i])
                continue;
            if (!first)
                strbuf_putc(b, ',');
            first = false;
            go_string(b, keys[i]);
            strbuf_putc(b, ':');
            go_string(b, vals[i]);
        }
        strvec_free(&parts);
    } else if (sub == f_file_ref || sub == f_secret_ref) {
        strbuf_puts(b, "\"source\":");
        go_string(b, str);
        if (sub == f_secret_ref) {
            _cleanup_free_ char *t = xasprintf("/run/secrets/%s", str);
            strbuf_puts(b, ",\"target\":");
            go_string(b, t);
        }
    }
    strbuf_putc(b, '}');
}

/* Writes the value of one field; false when Go would leave it out. */
static bool emit_value(StrBuf *b, const GoField *f, const Node *v, const GoCtx *x)
{
    const Service *s = x->s;
    bool null = !v || v->kind == NODE_NULL || (v->kind == NODE_SCALAR && !v->str);
    long long i;
    int64_t ns;
    char buf[40];
    switch (f->kind) {
    case GO_SKIP:
        return false;
    case GO_STR:
        if (null || v->kind != NODE_SCALAR || !v->str[0])
            return false;
        go_string(b, v->str);
        return true;
    case GO_STRX:
        go_string(b, scalar(v) ? scalar(v) : "");
        return true;
    case GO_PATH: {
        if (null || v->kind != NODE_SCALAR || !v->str[0])
            return false;
        char *c = go_path_clean(v->str);
        go_string(b, c);
        free(c);
        return true;
    }
    case GO_BOOL:
        if (!is_true(v))
            return false;
        strbuf_puts(b, "true");
        return true;
    case GO_BOOLP:
        if (null)
            return false;
        strbuf_puts(b, is_true(v) ? "true" : "false");
        return true;
    case GO_OPTOUT:
        if (null || is_true(v))
            return false;
        strbuf_puts(b, "false");
        return true;
    case GO_INT:
    case GO_INTP:
        if (null || !as_int(v, &i) || (f->kind == GO_INT && i == 0))
            return false;
        strbuf_printf(b, "%lld", i);
        return true;
    case GO_COUNT:
        if (null)
            return false;
        if (v->str && strcasecmp(v->str, "all") == 0)
            i = -1;
        else if (!as_int(v, &i) || i == 0)
            return false;
        strbuf_printf(b, "%lld", i);
        return true;
    case GO_FLOAT: {
        double d = scalar(v) ? strtod(v->str, NULL) : 0;
        if ((float)d == 0)
            return false;
        go_float32(b, d);
        return true;
    }
    case GO_DUR:
    case GO_DURP:
        if (null || !as_duration(v, &ns) || (f->kind == GO_DUR && ns == 0))
            return false;
        duration_format(ns, buf);
        go_string(b, buf);
        return true;
    case GO_BYTES:
        if (null || !as_bytes(v, &i) || i == 0)
            return false;
        strbuf_printf(b, "\"%lld\"", i);
        return true;
    case GO_MODE: {
        if (null || !as_int(v, &i)) {
            /* "0644" as a quoted string: octal */
            if (null || !v->str)
                return false;
            i = strtoll(v->str, NULL, 8);
        } else if (v->style == STYLE_QUOTED || (v->str[0] == '0' && v->str[1])) {
            i = strtoll(v->str, NULL, 8);
        }
        strbuf_printf(b, "\"0%llo\"", i);
        return true;
    }
    case GO_LIST:
        if (null || (v->kind == NODE_SEQ && v->len == 0) || (v->kind == NODE_MAP))
            return false;
        emit_list(b, v);
        return true;
    case GO_CMD:
        if (null) {
            strbuf_puts(b, "null");
        } else if (v->kind == NODE_SCALAR) { /* a string, split as Compose splits it */
            StrVec words = {0};
            shell_split(v->str, &words);
            strbuf_putc(b, '[');
            for (size_t j = 0; j < words.n; j++) {
                if (j)
                    strbuf_putc(b, ',');
                go_string(b, words.v[j]);
            }
            strbuf_putc(b, ']');
            strvec_free(&words);
        } else {
            emit_list(b, v);
        }
        return true;
    case GO_HCTEST:
        if (null)
            return false;
        if (v->kind == NODE_SCALAR) {
            strbuf_puts(b, "[\"CMD-SHELL\",");
            go_string(b, v->str);
            strbuf_putc(b, ']');
            return true;
        }
        if (v->len == 0)
            return false;
        emit_list(b, v);
        return true;
    case GO_MAP:
    case GO_MAPEQ: {
        if (null || v->kind != NODE_MAP || v->len == 0)
            return false;
        size_t *ix = sorted_entries(v);
        strbuf_putc(b, '{');
        for (size_t j = 0; j < v->len; j++) {
            const Node *val = v->vals[ix[j]];
            if (j)
                strbuf_putc(b, ',');
            go_string(b, v->keys[ix[j]]->str);
            strbuf_putc(b, ':');
            const char *sv = scalar(val);
            if (!sv && f->kind == GO_MAPEQ)
                strbuf_puts(b, "null");
            else
                go_string(b, sv ? sv : (val && val->str ? val->str : ""));
        }
        strbuf_putc(b, '}');
        free(ix);
        return true;
    }
    case GO_HOSTS: {
        if (null)
            return false;
        StrVec all = {0};
        if (v->kind == NODE_MAP) {
            for (size_t j = 0; j < v->len; j++) {
                const Node *val = v->vals[j];
                if (val->kind == NODE_SEQ) {
                    for (size_t k = 0; k < val->len; k++)
                        strvec_push_take(&all, xasprintf("%s=%s", v->keys[j]->str,
                                                         scalar(val->vals[k]) ? scalar(val->vals[k]) : ""));
                } else {
                    strvec_push_take(&all, xasprintf("%s=%s", v->keys[j]->str, scalar(val) ? scalar(val) : ""));
                }
            }
        } else if (v->kind == NODE_SEQ) {
            for (size_t j = 0; j < v->len; j++) {
                const char *e = scalar(v->vals[j]);
                if (!e)
                    continue;
                /* "host:ip" or "host=ip": Go keeps the first separator's split */
                const char *sep = strchr(e, '=');
                if (!sep)
                    sep = strchr(e, ':');
                strvec_push_take(&all, sep ? xasprintf("%.*s=%s", (int)(sep - e), e, sep + 1) : xstrdup(e));
            }
        }
        if (!all.n) {
            strvec_free(&all);
            return false;
        }
        qsort(all.v, all.n, sizeof(*all.v), cmp_str);
        strbuf_putc(b, '[');
        for (size_t j = 0; j < all.n; j++) {
            if (j)
                strbuf_putc(b, ',');
            go_string(b, all.v[j]);
        }
        strbuf_putc(b, ']');
        strvec_free(&all);
        return true;
    }
    case GO_ULIMITS: {
        if (null || v->kind != NODE_MAP || v->len == 0)
            return false;
        size_t *ix = sorted_entries(v);
        strbuf_putc(b, '{');
        for (size_t j = 0; j < v->len; j++) {
            const Node *u = v->vals[ix[j]];
            if (j)
                strbuf_putc(b, ',');
            go_string(b, v->keys[ix[j]]->str);
            strbuf_putc(b, ':');
            long long soft = 0, hard = 0;
            if (u->kind == NODE_SCALAR) {
                as_int(u, &soft);
                strbuf_printf(b, "%lld", soft);
            } else if (u->kind == NODE_MAP && u->tag && streq(u->tag, CANON_TAG_SHORT)) {
                as_int(node_get(u, "soft"), &soft);
                strbuf_printf(b, "%lld", soft);
            } else if (u->kind == NODE_MAP) {
                as_int(node_get(u, "soft"), &soft);
                as_int(node_get(u, "hard"), &hard);
                strbuf_putc(b, '{');
                if (soft)
                    strbuf_printf(b, "\"soft\":%lld", soft);
                if (hard)
                    strbuf_printf(b, "%s\"hard\":%lld", soft ? "," : "", hard);
                strbuf_putc(b, '}');
            } else {
                strbuf_puts(b, "null");
            }
        }
        strbuf_putc(b, '}');
        free(ix);
        return true;
    }
    case GO_ENV:
        if (!s || (s->environment.n == 0 && s->env_null.n == 0))
            return false;
        emit_env(b, s);
        return true;
    case GO_OBJ:
        if (null || v->kind != NODE_MAP)
            return false;
        emit_struct(b, f->sub, v, x);
        return true;
    case GO_OBJV:
        emit_struct(b, f->sub, v && v->kind == NODE_MAP ? v : NULL, x);
        return true;
    case GO_OBJLIST:
        if (null || v->kind != NODE_SEQ || v->len == 0)
            return false;
        strbuf_putc(b, '[');
        for (size_t j = 0; j < v->len; j++) {
            if (j)
                strbuf_putc(b, ',');
            if (v->vals[j]->kind == NODE_SCALAR && v->vals[j]->str)
                emit_short_item(b, f->sub, v->vals[j]->str);
            else
                emit_struct(b, f->sub, v->vals[j], x);
        }
        strbuf_putc(b, ']');
        return true;
    case GO_OBJMAP: {
        if (null || v->kind != NODE_MAP || v->len == 0)
            return false;
        size_t *ix = sorted_entries(v);
        strbuf_putc(b, '{');
        for (size_t j = 0; j < v->len; j++) {
            const Node *val = v->vals[ix[j]];
            if (j)
                strbuf_putc(b, ',');
            go_string(b, v->keys[ix[j]]->str);
            strbuf_putc(b, ':');
            if (!val || val->kind != NODE_MAP)
                strbuf_puts(b, "null");
            else
                emit_struct(b, f->sub, val, x);
        }
        strbuf_putc(b, '}');
        free(ix);
        return true;
    }
    case GO_ANY:
        if (null)
            return false;
        emit_any(b, v);
        return true;
    case GO_NSREF: {
        if (null || v->kind != NODE_SCALAR || !v->str[0])
            return false;
        const char *id = x->resolve && str_startswith(v->str, "service:") ? x->resolve(x->ud, v->str + 8) : NULL;
        if (id) {
            _cleanup_free_ char *m = xasprintf("container:%s", id);
            go_string(b, m);
        } else {
            go_string(b, v->str);
        }
        return true;
    }
    case GO_VOLFROM: {
        if (null || v->kind != NODE_SEQ || v->len == 0)
            return false;
        /* compose: "container:NAME[:mode]" becomes NAME, "SERVICE[:mode]"
         * the ID of the service's container (the mode dropped both ways). */
        strbuf_putc(b, '[');
        for (size_t j = 0; j < v->len; j++) {
            const char *e = scalar(v->vals[j]) ? scalar(v->vals[j]) : "";
            if (j)
                strbuf_putc(b, ',');
            if (!x->resolve) {
                go_string(b, e);
                continue;
            }
            const char *colon = strchr(e, ':');
            _cleanup_free_ char *head = colon ? xstrndup(e, (size_t)(colon - e)) : xstrdup(e);
            if (streq(head, "container") && colon) {
                const char *end = strchr(colon + 1, ':');
                _cleanup_free_ char *name = end ? xstrndup(colon + 1, (size_t)(end - colon - 1)) : xstrdup(colon + 1);
                go_string(b, name);
            } else {
                const char *id = x->resolve(x->ud, head);
                go_string(b, id ? id : e);
            }
        }
        strbuf_putc(b, ']');
        return true;
    }
    }
    return false;
}

/* One struct: its fields in declaration order. A short-form volume gets
 * the empty options object compose-go's short-syntax parser leaves. */
static void emit_struct(StrBuf *b, const GoField *fields, const Node *v, const GoCtx *x)
{
    strbuf_putc(b, '{');
    bool first = true;
    bool short_volume = fields == f_volume && v && v->tag && streq(v->tag, CANON_TAG_SHORT);
    for (const GoField *f = fields; f->key; f++) {
        const Node *val = v && v->kind == NODE_MAP ? node_get(v, f->key) : NULL;
        size_t mark = b->len;
        if (!first)
            strbuf_putc(b, ',');
        go_string(b, f->key);
        strbuf_putc(b, ':');
        bool wrote;
        if (!val && fields == f_secret_ref && streq(f->key, "target") && scalar(node_get(v, "source"))) {
            _cleanup_free_ char *t = xasprintf("/run/secrets/%s", scalar(node_get(v, "source")));
            go_string(b, t);
            wrote = true;
        } else if (!val && fields == f_devreq && streq(f->key, "count") && !node_get(v, "device_ids")) {
            strbuf_puts(b, "-1"); /* neither count nor device_ids: "all" */
            wrote = true;
        } else if (short_volume && f->sub == f_volume_opts && !val) {
            const Node *type = node_get(v, "type");
            wrote = scalar(type) && streq(type->str, "volume");
            if (wrote)
                strbuf_puts(b, "{}");
        } else {
            wrote = emit_value(b, f, val, x);
        }
        if (wrote) {
            first = false;
        } else {
            b->len = mark;
            if (b->data)
                b->data[mark] = '\0';
        }
    }
    strbuf_putc(b, '}');
}

static const GoField *service_field(const char *key)
{
    for (const GoField *f = f_service; f->key; f++)
        if (streq(f->key, key))
            return f;
    return NULL;
}

void gojson_service(const Service *s, GojsonResolve resolve, void *ud, StrBuf *out)
{
    GoCtx x = {.s = s, .resolve = resolve, .ud = ud};
    /* Every key in the pinned order. compose-go has no field beyond these
     * (a key it does not know fails its schema), so nothing is appended
     * after them. The environment comes from the model, so it is written
     * even when the tree has none (env_file alone). */
    emit_struct(out, f_service, s->node, &x);
}

bool gojson_has_refs(const Service *s)
{
    static const char *const modes[] = {"network_mode", "ipc", "pid"};
    for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
        const char *m = scalar(node_get(s->node, modes[i]));
        if (m && str_startswith(m, "service:"))
            return true;
    }
    const Node *vf = node_get(s->node, "volumes_from");
    return vf && vf->kind == NODE_SEQ && vf->len > 0;
}

char *gojson_service_hash(const Service *s, GojsonResolve resolve, void *ud)
{
    StrBuf b;
    strbuf_init(&b, 0);
    gojson_service(s, resolve, ud, &b);
    char hex[65];
    sha256_hex_of(b.data ? b.data : "", b.len, hex);
    strbuf_free(&b);
    return xstrdup(hex);
}

void gojson_uncovered(const Service *s, StrVec *ret)
{
    const Node *svc = s->node;
    if (!svc || svc->kind != NODE_MAP)
        return;
    for (size_t i = 0; i < svc->len; i++) {
        const char *k = svc->keys[i]->str;
        const GoField *f = k ? service_field(k) : NULL;
        if (!k || strncmp(k, "x-", 2) == 0 || streq(k, "name"))
            continue;
        if (!f || f->kind == GO_ANY)
            strvec_push(ret, k);
    }
}
