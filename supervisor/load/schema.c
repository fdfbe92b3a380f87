/* schema: checks one raw services file against the Compose format and
 * tend's x-tend additions, before canonicalization, so that every message
 * speaks of the syntax the user actually wrote and points at the line where
 * it was written. The check is table-driven: each mapping level has a table
 * of known keys, each with a checker for its value (the walk is in
 * schema-walk.c). Keys of the Compose format that tend does not run are
 * listed as ignored and checked as compose checks them (schema-compose.c);
 * keys that tend runs are checked in depth, because later stages (canon,
 * model) trust the shapes this module lets through. Messages have the form
 * "PATH: problem", PATH being the dotted Compose path of the offending
 * value ("services.web.ports[0]"). */
#include "load/schema.h"

#include "load/schema-int.h"

#include "load/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- service keys ---- */

static void check_extra_hosts(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP) {
        for (size_t i = 0; i < n->len; i++) {
            size_t old = schema__path_push_key(c, n->keys[i]->str);
            schema__check_string_or_list(c, n->vals[i]);
            schema__path_pop(c, old);
        }
        return;
    }
    if (!n || n->kind != NODE_SEQ) {
        schema__err(c, n, "must be a mapping or a list, not %s", schema__kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        const Node *it = n->vals[i];
        if (schema__want_string(c, it) && !strpbrk(it->str, ":="))
            schema__err(c, it, "invalid host entry \"%s\" (expected HOST:IP or HOST=IP)", it->str);
        schema__path_pop(c, old);
    }
}

static const Field ulimit_fields[] = {
    {"soft", schema__check_int, F_REQUIRED, 0},
    {"hard", schema__check_int, F_REQUIRED, 0},
};

static void check_ulimit_entry(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP) {
        schema__check_fields(c, n, FIELDS(ulimit_fields));
        return;
    }
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be an integer or a mapping, not %s", schema__kind_name(n));
        return;
    }
    schema__check_int(c, n);
}

static void check_ulimits(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *k = n->keys[i];
        size_t old = schema__path_push_key(c, k->str);
        bool ok = *k->str != '\0';
        for (const char *p = k->str; *p; p++)
            if (!islower((unsigned char)*p))
                ok = false;
        if (!ok)
            schema__err(c, k, "invalid ulimit name \"%s\"", k->str);
        else
            check_ulimit_entry(c, n->vals[i]);
        schema__path_pop(c, old);
    }
}

/* build.ssh: "default" or ID=PATH entries (or a mapping of them). */
static void check_build_ssh(Ctx *c, const Node *n)
{
    schema__check_list_or_dict(c, n);
    if (!n || n->kind != NODE_SEQ)
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *it = n->vals[i];
        if (schema__type(it) != T_STRING || streq(it->str, "default") || strchr(it->str, '='))
            continue;
        size_t old = schema__path_push_index(c, i);
        schema__err(c, it, "invalid ssh entry \"%s\" (expected default or ID=PATH)", it->str);
        schema__path_pop(c, old);
    }
}

/* build.additional_contexts: NAME=SOURCE entries, or a mapping of text. */
static void check_additional_contexts(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_MAP | T_SEQ))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *it = n->vals[i];
        size_t old = n->kind == NODE_MAP ? schema__path_push_key(c, n->keys[i]->str)
                                         : schema__path_push_index(c, i);
        if (schema__want_string(c, it) && n->kind == NODE_SEQ && !strchr(it->str, '='))
            schema__err(c, it, "invalid entry \"%s\" (expected NAME=SOURCE)", it->str);
        schema__path_pop(c, old);
    }
}

static const Field build_fields[] = {
    {"context", schema__check_string, 0, 0},
    {"dockerfile", schema__check_string, 0, 0},
    {"dockerfile_inline", schema__check_string, 0, 0},
    {"entitlements", schema__check_list_of_strings, 0, 0},
    {"args", schema__check_list_or_dict, 0, 0},
    {"ssh", check_build_ssh, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
    {"cache_from", schema__check_list_of_strings, 0, 0},
    {"cache_to", schema__check_list_of_strings, 0, 0},
    {"no_cache", schema__check_bool, 0, 0},
    {"additional_contexts", check_additional_contexts, 0, 0},
    {"network", schema__check_string, 0, 0},
    {"provenance", NULL, 0, T_STRING | T_BOOL},
    {"sbom", NULL, 0, T_STRING | T_BOOL},
    {"no_cache_filter", schema__check_string_or_list, 0, 0},
    {"pull", schema__check_bool, 0, 0},
    {"target", schema__check_string, 0, 0},
    {"shm_size", schema__check_size, 0, T_INT | T_STRING},
    {"extra_hosts", check_extra_hosts, 0, 0},
    {"isolation", schema__check_string, 0, 0},
    {"privileged", schema__check_bool, 0, 0},
    {"secrets", schema__check_svc_secrets, 0, 0},
    {"tags", schema__check_list_of_strings, 0, 0},
    {"ulimits", check_ulimits, 0, 0},
    {"platforms", schema__check_list_of_strings, 0, 0},
};

static void check_build(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_MAP) || n->kind != NODE_MAP)
        return;
    schema__check_fields(c, n, FIELDS(build_fields));
}

static const Field env_file_fields[] = {
    {"path", schema__check_string, F_REQUIRED, 0},
    {"required", schema__check_bool, 0, 0},
    {"format", schema__check_string, 0, 0},
};

static void check_env_file_item(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_MAP) || n->kind != NODE_MAP)
        return;
    schema__check_fields_no_ext(c, n, FIELDS(env_file_fields));
}

static void check_env_file(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_SEQ))
        return;
    if (n->kind != NODE_SEQ) {
        check_env_file_item(c, n);
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        check_env_file_item(c, n->vals[i]);
        schema__path_pop(c, old);
    }
}

/* ---- volumes ---- */

static void check_volume_type(Ctx *c, const Node *n)
{
    static const char *const types[] = {"bind", "volume", "tmpfs", "npipe", "cluster", "image", NULL};
    schema__check_enum(c, n, "volume type", types);
}

static void check_propagation(Ctx *c, const Node *n)
{
    static const char *const v[] = {"rprivate", "private", "rshared", "shared", "rslave", "slave", NULL};
    schema__check_enum(c, n, "propagation", v);
}

static void check_selinux(Ctx *c, const Node *n)
{
    static const char *const v[] = {"z", "Z", NULL};
    schema__check_enum(c, n, "selinux option", v);
}

static void check_recursive(Ctx *c, const Node *n)
{
    static const char *const v[] = {"enabled", "disabled", "writable", "readonly", NULL};
    schema__check_enum(c, n, "recursive option", v);
}

static const Field vol_bind_fields[] = {
    {"propagation", check_propagation, 0, 0},
    {"create_host_path", schema__check_bool, 0, 0},
    {"selinux", check_selinux, 0, 0},
    {"recursive", check_recursive, 0, 0},
};

static const Field vol_volume_fields[] = {
    {"nocopy", schema__check_bool, 0, 0},
    {"subpath", schema__check_string, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
};

static void check_tmpfs_size(Ctx *c, const Node *n)
{
    long long v;
    if (schema__type(n) == T_INT && node_as_int(n, &v) == 0 && v < 0)
        schema__err(c, n, "must be 0 or more, not %lld", v);
    else
        schema__check_size(c, n);
}

static const Field vol_tmpfs_fields[] = {
    {"size", check_tmpfs_size, 0, T_INT | T_STRING},
    {"mode", schema__check_int_nonneg, 0, T_INT}, /* compose refuses text here */
};

static const Field vol_image_fields[] = {
    {"subpath", schema__check_string, 0, 0},
};

static void check_vol_bind(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(vol_bind_fields));
}

static void check_vol_volume(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(vol_volume_fields));
}

static void check_vol_tmpfs(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(vol_tmpfs_fields));
}

static void check_vol_image(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(vol_image_fields));
}

static const Field volume_long_fields[] = {
    {"type", check_volume_type, F_REQUIRED, 0},
    {"source", schema__check_string, 0, 0},
    {"target", schema__check_string, F_REQUIRED, 0},
    {"read_only", schema__check_bool, 0, 0},
    {"consistency", schema__check_string, 0, 0},
    {"bind", check_vol_bind, 0, 0},
    {"volume", check_vol_volume, 0, 0},
    {"tmpfs", check_vol_tmpfs, 0, 0},
    {"image", check_vol_image, 0, 0},
};

static void check_volumes(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (!schema__want_types(c, v, T_STRING | T_MAP)) {
            /* reported */
        } else if (v->kind == NODE_MAP) {
            schema__check_fields(c, v, FIELDS(volume_long_fields));
        } else {
            VolumeSpec vs = {0};
            _cleanup_free_ char *e = NULL;
            if (volume_parse_short(v->str, &vs, &e) < 0)
                schema__err(c, v, "%s", e ? e : "invalid volume");
            else
                volume_spec_clear(&vs);
        }
        schema__path_pop(c, old);
    }
}

/* ---- ports ---- */

static void check_port_target(Ctx *c, const Node *n)
{
    long long v;
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be an integer, not %s", schema__kind_name(n));
        return;
    }
    if (node_as_int(n, &v) < 0 || v < 1 || v > 65535)
        schema__err(c, n, "invalid port \"%s\"", n->str);
}

static void check_port_published(Ctx *c, const Node *n)
{
    uint32_t lo, hi;
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be a string or a number, not %s", schema__kind_name(n));
        return;
    }
    if (!port_range_valid(n->str, &lo, &hi))
        schema__err(c, n, "invalid port \"%s\"", n->str);
}

static void check_port_protocol(Ctx *c, const Node *n)
{
    static const char *const v[] = {"tcp", "udp", "sctp", NULL};
    schema__check_enum(c, n, "protocol", v);
}

static void check_port_mode(Ctx *c, const Node *n)
{
    static const char *const v[] = {"host", "ingress", NULL};
    schema__check_enum(c, n, "mode", v);
}

static void check_ip(Ctx *c, const Node *n);

static const Field port_long_fields[] = {
    {"name", schema__check_string, 0, 0},
    {"target", check_port_target, F_REQUIRED, T_INT | T_STRING},
    {"published", check_port_published, 0, T_INT | T_STRING},
    {"host_ip", check_ip, 0, 0},
    {"protocol", check_port_protocol, 0, 0},
    {"mode", check_port_mode, 0, 0},
    {"app_protocol", schema__check_string, 0, 0},
};

static void check_ports(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *p = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (p->kind == NODE_MAP) {
            schema__check_fields(c, p, FIELDS(port_long_fields));
        } else if (node_is_scalar(p)) {
            PortSpec *specs = NULL;
            size_t ns = 0;
            _cleanup_free_ char *e = NULL;
            if (port_parse_short(p->str, &specs, &ns, &e) < 0)
                schema__err(c, p, "%s", e ? e : "invalid port");
            else
                port_specs_free(specs, ns);
        } else {
            schema__err(c, p, "must be a string, a number or a mapping, not %s", schema__kind_name(p));
        }
        schema__path_pop(c, old);
    }
}

/* "80", "8000-8010", "53/udp" */
static void check_expose(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *p = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (!node_is_scalar(p)) {
            schema__err(c, p, "must be a string or a number, not %s", schema__kind_name(p));
        } else {
            _cleanup_free_ char *s = xstrdup(p->str);
            char *slash = strchr(s, '/');
            bool ok = true;
            if (slash) {
                *slash = '\0';
                ok = streq(slash + 1, "tcp") || streq(slash + 1, "udp") || streq(slash + 1, "sctp");
            }
            uint32_t lo, hi;
            if (!ok || !port_range_valid(s, &lo, &hi))
                schema__err(c, p, "invalid port \"%s\"", p->str);
        }
        schema__path_pop(c, old);
    }
}

/* ---- depends_on, healthcheck, networks ---- */

static void check_condition(Ctx *c, const Node *n)
{
    static const char *const v[] = {"service_started", "service_healthy",
                                    "service_completed_successfully", NULL};
    schema__check_enum(c, n, "condition", v);
}

static const Field depends_fields[] = {
    {"condition", check_condition, F_MERGED, 0}, /* an override may give only {required: false} */
    {"required", schema__check_bool, 0, 0},
    {"restart", schema__check_bool, 0, 0},
};

static void check_depends_on(Ctx *c, const Node *n)
{
    if (!schema__want_map_or_list(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        /* compose refuses `db:` with nothing: the long form needs its condition */
        if (v->kind == NODE_MAP)
            schema__check_fields(c, v, FIELDS(depends_fields));
        else if (!schema__is_reset(v))
            schema__err(c, v, "must be a mapping with a condition, not %s (or list the names: depends_on: [%s])",
                        schema__kind_name(v), n->keys[i]->str);
        schema__path_pop(c, old);
    }
}

static void check_hc_test(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_SEQ) || n->kind != NODE_SEQ)
        return;
    schema__check_list_of_strings(c, n);
    if (n->len > 0 && node_is_scalar(n->vals[0])) {
        static const char *const v[] = {"NONE", "CMD", "CMD-SHELL", NULL};
        size_t old = schema__path_push_index(c, 0);
        schema__check_enum(c, n->vals[0], "test type", v);
        schema__path_pop(c, old);
    }
}

static const Field healthcheck_fields[] = {
    {"test", check_hc_test, 0, 0},
    {"interval", schema__check_duration, 0, 0},
    {"timeout", schema__check_duration, 0, 0},
    {"start_period", schema__check_duration, 0, 0},
    {"start_interval", schema__check_duration, 0, 0},
    {"retries", schema__check_int_nonneg, 0, 0},
    {"disable", schema__check_bool, 0, 0},
};

static void check_healthcheck(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(healthcheck_fields));
}

static const Field svc_network_fields[] = {
    {"aliases", schema__check_list_of_strings, 0, 0},
    {"interface_name", schema__check_string, 0, 0},
    {"ipv4_address", schema__check_string, 0, 0},
    {"ipv6_address", schema__check_string, 0, 0},
    {"link_local_ips", schema__check_list_of_strings, 0, 0},
    {"mac_address", schema__check_string, 0, 0},
    {"driver_opts", schema__check_dict_of_scalars, 0, 0},
    {"priority", schema__check_number, 0, 0},
    {"gw_priority", schema__check_number, 0, 0},
};

static void check_svc_networks(Ctx *c, const Node *n)
{
    if (!schema__want_map_or_list(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        if (v->kind == NODE_MAP)
            schema__check_fields(c, v, FIELDS(svc_network_fields));
        else if (!node_is_null(v))
            schema__err(c, v, "must be a mapping or null, not %s", schema__kind_name(v));
        schema__path_pop(c, old);
    }
}

/* ---- small enums and formats ---- */

static void check_restart(Ctx *c, const Node *n)
{
    if (!schema__want_string(c, n))
        return;
    const char *s = n->str;
    if (streq(s, "no") || streq(s, "always") || streq(s, "unless-stopped") ||
        streq(s, "on-failure"))
        return;
    if (str_startswith(s, "on-failure:") && isdigit((unsigned char)s[11])) {
        char *end;
        errno = 0;
        long v = strtol(s + 11, &end, 10);
        if (!*end && errno == 0 && v >= 0 && v <= INT_MAX)
            return;
    }
    schema__err(c, n, "invalid restart policy \"%s\" (expected no, always, on-failure[:N] or unless-stopped)", s);
}

static bool pull_every_valid(const char *s)
{
    /* every_([0-9]+[wdhms])+ */
    if (!*s)
        return false;
    while (*s) {
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
        if (!*s || !strchr("wdhms", *s))
            return false;
        s++;
    }
    return true;
}

static void check_pull_policy(Ctx *c, const Node *n)
{
    static const char *const v[] = {"always", "never", "missing", "build", "if_not_present",
                                    "refresh", "daily", "weekly", NULL};
    if (!schema__want_string(c, n))
        return;
    for (size_t i = 0; v[i]; i++)
        if (streq(n->str, v[i]))
            return;
    if (str_startswith(n->str, "every_") && pull_every_valid(n->str + 6))
        return;
    schema__err(c, n,
        "invalid pull policy \"%s\" (expected always, never, missing, build, if_not_present, daily, "
        "weekly or every_<duration>)",
        n->str);
}

static void check_profiles(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *p = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (schema__want_string(c, p) && !schema__name_valid(p->str))
            schema__err(c, p, "invalid profile name \"%s\"", p->str);
        schema__path_pop(c, old);
    }
}

static void check_container_name(Ctx *c, const Node *n)
{
    if (schema__want_string(c, n) && !schema__name_valid(n->str))
        schema__err(c, n, "invalid container name \"%s\"", n->str);
}

static void check_cpus(Ctx *c, const Node *n)
{
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be a number, not %s", schema__kind_name(n));
        return;
    }
    char *end;
    errno = 0;
    double v = strtod(n->str, &end);
    if (!*n->str || *end || errno == ERANGE || isspace((unsigned char)*n->str) || v < 0)
        schema__err(c, n, "invalid number of CPUs \"%s\"", n->str);
}

/* ---- develop ---- */


static void check_develop_action(Ctx *c, const Node *n)
{
    static const char *const v[] = {"sync", "rebuild", "restart", "sync+restart", "sync+exec", NULL};
    schema__check_enum(c, n, "action", v);
}

static const Field develop_rule_fields[] = {
    {"path", schema__check_string, F_REQUIRED, 0},
    {"action", check_develop_action, F_REQUIRED, 0},
    {"target", schema__check_string, 0, 0},
    {"ignore", schema__check_string_or_list, 0, 0},
    {"include", schema__check_string_or_list, 0, 0},
    {"exec", schema__check_hook, 0, 0},
    {"initial_sync", schema__check_bool, 0, 0},
};

static void check_develop_watch(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        if (schema__want_map(c, n->vals[i]))
            schema__check_fields(c, n->vals[i], FIELDS(develop_rule_fields));
        schema__path_pop(c, old);
    }
}

static const Field develop_fields[] = {
    {"watch", check_develop_watch, 0, 0},
};

static void check_develop(Ctx *c, const Node *n)
{
    if (node_is_null(n))
        return;
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(develop_fields));
}

static const Field extends_fields[] = {
    {"service", schema__check_string, F_REQUIRED, 0},
    {"file", NULL, 0, T_STRING | T_NULL},
};

static void check_extends(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_MAP) || n->kind != NODE_MAP)
        return;
    schema__check_fields(c, n, FIELDS(extends_fields));
}

/* ---- x-tend of a service ---- */

/* tend's own keys read a number as text, as before: `debounce: 1.5` is an
 * invalid duration, `signal: 15` a signal. */
static void check_xduration(Ctx *c, const Node *n)
{
    int64_t ns;
    if (schema__want_text(c, n) && duration_parse(n->str, &ns) < 0)
        schema__err(c, n, "invalid duration \"%s\"", n->str);
}

static void check_xsignal(Ctx *c, const Node *n)
{
    if (schema__want_text(c, n) && !schema__signal_valid(n->str))
        schema__err(c, n, "invalid signal \"%s\"", n->str);
}

static void check_runtime(Ctx *c, const Node *n)
{
    static const char *const v[] = {"docker", "host", NULL};
    schema__check_enum(c, n, "runtime", v);
}

static const Field probe_pg_fields[] = {
    {"host", schema__check_text, 0, 0},
    {"port", schema__check_port_int, 0, 0},
    {"user", schema__check_text, 0, 0},
    {"password", schema__check_text, 0, 0},
    {"dbname", schema__check_text, 0, 0},
};

static const Field probe_redis_fields[] = {
    {"host", schema__check_text, 0, 0},
    {"port", schema__check_port_int, 0, 0},
};

/* `postgres: true` (defaults) or a mapping of connection settings. */
static void check_probe_true_or_map(Ctx *c, const Node *n, const Field *fields, size_t nf)
{
    bool b;
    if (n && n->kind == NODE_MAP) {
        schema__check_fields(c, n, fields, nf);
        return;
    }
    if (node_as_bool(n, &b) == 0 && b)
        return;
    if (node_as_bool(n, &b) == 0)
        schema__err(c, n, "must be true or a mapping, not false");
    else
        schema__err(c, n, "must be true or a mapping, not %s", schema__kind_name(n));
}

static void check_probe_pg(Ctx *c, const Node *n)
{
    check_probe_true_or_map(c, n, FIELDS(probe_pg_fields));
}

static void check_probe_redis(Ctx *c, const Node *n)
{
    check_probe_true_or_map(c, n, FIELDS(probe_redis_fields));
}

static void check_http_status(Ctx *c, const Node *n)
{
    long long v;
    if (schema__want_int(c, n, &v) && (v < 100 || v > 599))
        schema__err(c, n, "invalid HTTP status %lld (expected 100-599)", v);
}

static const Field probe_http_fields[] = {
    {"url", schema__check_text, F_REQUIRED, 0},
    {"status", check_http_status, 0, 0},
};

static void check_probe_http(Ctx *c, const Node *n)
{
    if (node_is_scalar(n))
        return;
    if (!n || n->kind != NODE_MAP) {
        schema__err(c, n, "must be a string or a mapping, not %s", schema__kind_name(n));
        return;
    }
    schema__check_fields(c, n, FIELDS(probe_http_fields));
}

static const Field probe_tcp_fields[] = {
    {"host", schema__check_text, 0, 0},
    {"port", schema__check_port_int, F_REQUIRED, 0},
};

static bool port_text_valid(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    long v = strtol(s, NULL, 10);
    return strlen(s) <= 5 && v >= 1 && v <= 65535;
}

/* A port (5432) or "host:port" ("db:5432", "[::1]:5432"). */
static void check_probe_tcp(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP) {
        schema__check_fields(c, n, FIELDS(probe_tcp_fields));
        return;
    }
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be a port, a string or a mapping, not %s", schema__kind_name(n));
        return;
    }
    const char *colon = strrchr(n->str, ':');
    bool ok = colon ? colon > n->str && port_text_valid(colon + 1) : port_text_valid(n->str);
    if (!ok)
        schema__err(c, n, "invalid address \"%s\" (expected PORT or HOST:PORT)", n->str);
}

static void check_regex(Ctx *c, const Node *n)
{
    if (!schema__want_string(c, n))
        return;
    regex_t re;
    int r = regcomp(&re, n->str, REG_EXTENDED | REG_NOSUB);
    if (r != 0) {
        char buf[256];
        regerror(r, &re, buf, sizeof(buf));
        schema__err(c, n, "invalid regular expression \"%s\": %s", n->str, buf);
        return;
    }
    regfree(&re);
}

static const char *const probe_kinds[] = {"postgres", "redis", "http", "tcp", "log", "exec", NULL};

static const Field probe_fields[] = {
    {"postgres", check_probe_pg, 0, 0},
    {"redis", check_probe_redis, 0, 0},
    {"http", check_probe_http, 0, 0},
    {"tcp", check_probe_tcp, 0, 0},
    {"log", check_regex, 0, 0},
    {"exec", schema__check_exec, 0, 0},
    {"interval", check_xduration, 0, 0},
    {"timeout", check_xduration, 0, 0},
    {"start_period", check_xduration, 0, 0},
    {"start_interval", check_xduration, 0, 0},
    {"retries", schema__check_int_positive, 0, 0},
};

/* Reports a mapping that does not hold exactly one of `kinds`: at the
 * second kind key when there are two, at the mapping when there is none. */
static void check_exactly_one(Ctx *c, const Node *m, const char *const *kinds)
{
    const Node *second = NULL;
    size_t count = 0;
    for (size_t i = 0; i < m->len; i++)
        for (size_t k = 0; kinds[k]; k++)
            if (streq(m->keys[i]->str, kinds[k]) && ++count == 2)
                second = m->keys[i];
    if (count == 1)
        return;
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t k = 0; kinds[k]; k++)
        strbuf_printf(&b, "%s%s", k ? ", " : "", kinds[k]);
    schema__err(c, second ? second : m, "exactly one of %s is required", b.data);
    strbuf_free(&b);
}

static void check_probe(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    size_t before = c->errors;
    schema__check_fields(c, n, FIELDS(probe_fields));
    if (c->errors == before)
        check_exactly_one(c, n, probe_kinds);
}

static const char *const seed_kinds[] = {"sql", "redis", "exec", NULL};

static const Field seed_fields[] = {
    {"sql", schema__check_string_or_list, 0, 0},
    {"database", schema__check_text, 0, 0},
    {"redis", schema__check_string_or_list, 0, 0},
    {"exec", schema__check_exec, 0, 0},
};

static void check_seed(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *st = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (schema__want_map(c, st)) {
            size_t before = c->errors;
            schema__check_fields(c, st, FIELDS(seed_fields));
            if (c->errors == before)
                check_exactly_one(c, st, seed_kinds);
            const Node *db = node_get_key(st, "database");
            if (c->errors == before && db && node_index(st, "sql") < 0) {
                size_t o2 = schema__path_push_key(c, "database");
                schema__err(c, db, "only valid in a sql step");
                schema__path_pop(c, o2);
            }
        }
        schema__path_pop(c, old);
    }
}

static void check_xwatch_action(Ctx *c, const Node *n)
{
    static const char *const v[] = {"restart", "signal", NULL};
    schema__check_enum(c, n, "action", v);
}

static void check_xrule_action(Ctx *c, const Node *n)
{
    static const char *const v[] = {"sync", "rebuild", "restart", "sync+restart", "sync+exec",
                                    "signal", NULL};
    schema__check_enum(c, n, "action", v);
}

/* exec of a watch rule: a command, or a develop-style hook mapping. */
static void check_xrule_exec(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP)
        schema__check_hook(c, n);
    else
        schema__check_exec(c, n);
}

static const Field xrule_fields[] = {
    {"path", schema__check_text, F_REQUIRED, 0},
    {"action", check_xrule_action, 0, 0},
    {"target", schema__check_text, 0, 0},
    {"ignore", schema__check_string_or_list, 0, 0},
    {"include", schema__check_string_or_list, 0, 0},
    {"exec", check_xrule_exec, 0, 0},
    {"signal", check_xsignal, 0, 0},
};

static void check_xrules(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        if (schema__want_map(c, n->vals[i]))
            schema__check_fields(c, n->vals[i], FIELDS(xrule_fields));
        schema__path_pop(c, old);
    }
}

static const Field xwatch_fields[] = {
    {"enabled", schema__check_bool, 0, 0},
    {"bind_mounts", schema__check_bool, 0, 0},
    {"action", check_xwatch_action, 0, 0},
    {"signal", check_xsignal, 0, 0},
    {"debounce", check_xduration, 0, 0},
    {"ignore", schema__check_string_or_list, 0, 0},
    {"rules", check_xrules, 0, 0},
};

static void check_xwatch(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(xwatch_fields));
}

static const Field xtend_service_fields[] = {
    {"runtime", check_runtime, 0, 0},
    {"probe", check_probe, 0, 0},
    {"seed", check_seed, 0, 0},
    {"watch", check_xwatch, 0, 0},
    {"kube", NULL, 0, 0}, /* checked by tend kube (kube/settings.c) */
};

static void check_xtend_service(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(xtend_service_fields));
}

/* environment: compose's list_or_dict, and a variable needs a name: an
 * entry "=value" (or an empty key) would reach the container as no
 * variable at all, or be refused by the engine when it starts. Compose's
 * schema lets it through; tend refuses it here, with the line. */
static void check_environment(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_SEQ) {
        /* one pass, so that the messages come in the order of the file */
        for (size_t i = 0; i < n->len; i++) {
            const Node *it = n->vals[i];
            size_t old = schema__path_push_index(c, i);
            if (schema__want_string(c, it) && it->str[0] == '=')
                schema__err(c, it, "invalid entry \"%s\": the variable's name before = is empty", it->str);
            schema__path_pop(c, old);
        }
        return;
    }
    schema__check_list_or_dict(c, n);
    if (n && n->kind == NODE_MAP) {
        for (size_t i = 0; i < n->len; i++)
            if (!n->keys[i]->str[0])
                schema__err(c, n->keys[i], "a variable's name is empty");
    }
}

/* ---- small checks of keys tend does not run ---- */

static void check_cgroup(Ctx *c, const Node *n)
{
    static const char *const v[] = {"host", "private", NULL};
    schema__check_enum(c, n, "cgroup", v);
}

/* An integer within [lo, hi] when written as one; text is compose's to cast. */
static void check_int_between(Ctx *c, const Node *n, long long lo, long long hi)
{
    long long v;
    if (!schema__want_int(c, n, &v))
        return;
    if (v < lo || v > hi)
        schema__err(c, n, "must be between %lld and %lld, not %lld", lo, hi, v);
}

static void check_cpu_count(Ctx *c, const Node *n)
{
    check_int_between(c, n, 0, LLONG_MAX);
}

static void check_cpu_percent(Ctx *c, const Node *n)
{
    if (schema__type(n) == T_INT)
        check_int_between(c, n, 0, 100);
    else
        schema__check_number(c, n); /* text: compose reads a float */
}

static void check_oom_score_adj(Ctx *c, const Node *n)
{
    check_int_between(c, n, -1000, 1000);
}

/* mem_reservation, memswap_limit, mem_swappiness: a number as written
 * (memswap_limit -1 is "unlimited"), or a size in text ("512m"). */
static void check_memory_figure(Ctx *c, const Node *n)
{
    if (schema__type(n) == T_STRING)
        schema__check_size(c, n);
}

static void check_storage_opt(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        schema__want_types(c, n->vals[i], T_STRING | T_NUMBER | T_NULL);
        schema__path_pop(c, old);
    }
}

static void check_group_add(Ctx *c, const Node *n)
{
    schema__check_items(c, n, NULL, T_STRING | T_NUMBER);
}

/* ---- a service ---- */

static const Field service_fields[] = {
    /* run by tend: checked in depth */
    {"image", schema__check_string, 0, 0},
    {"build", check_build, 0, 0},
    {"command", schema__check_command, 0, 0},
    {"entrypoint", schema__check_command, 0, 0},
    {"environment", check_environment, 0, 0},
    {"env_file", check_env_file, 0, 0},
    {"volumes", check_volumes, 0, 0},
    {"ports", check_ports, 0, 0},
    {"expose", check_expose, 0, 0},
    {"depends_on", check_depends_on, 0, 0},
    {"healthcheck", check_healthcheck, 0, 0},
    {"profiles", check_profiles, 0, 0},
    {"restart", check_restart, 0, 0},
    {"user", schema__check_string, 0, 0},
    {"working_dir", schema__check_string, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
    {"networks", check_svc_networks, 0, 0},
    {"network_mode", schema__check_string, 0, 0},
    {"hostname", schema__check_string, 0, 0},
    {"container_name", check_container_name, 0, 0},
    {"stop_signal", schema__check_signal, 0, 0},
    {"stop_grace_period", schema__check_duration, 0, 0},
    {"init", schema__check_bool, 0, 0},
    {"tty", schema__check_bool, 0, 0},
    {"stdin_open", schema__check_bool, 0, 0},
    {"read_only", schema__check_bool, 0, 0},
    {"tmpfs", schema__check_string_or_list, 0, 0},
    {"extra_hosts", check_extra_hosts, 0, 0},
    {"mem_limit", schema__check_size, 0, 0},
    {"shm_size", schema__check_size, 0, 0},
    {"cpus", check_cpus, 0, 0},
    {"ulimits", check_ulimits, 0, 0},
    {"develop", check_develop, 0, 0},
    {"extends", check_extends, 0, 0},
    {"pull_policy", check_pull_policy, 0, 0},
    {"platform", schema__check_string, 0, 0},
    {"x-tend", check_xtend_service, 0, 0},
    /* The container keys engine/hostcfg.c passes on, and (F_IGNORED) the
     * Compose keys tend accepts but does not act on; all checked as compose
     * checks them (schema-compose.c for the deep ones). */
    {"annotations", schema__check_list_or_dict, F_IGNORED, 0},
    {"attach", schema__check_bool, F_IGNORED, T_BOOL | T_STRING},
    {"blkio_config", schema__check_blkio, 0, 0},
    {"cap_add", schema__check_list_of_strings, 0, 0},
    {"cap_drop", schema__check_list_of_strings, 0, 0},
    {"cgroup", check_cgroup, 0, 0},
    {"cgroup_parent", NULL, 0, T_STRING},
    {"configs", schema__check_svc_secrets, 0, 0},
    {"cpu_count", check_cpu_count, 0, T_INT | T_STRING},
    {"cpu_percent", check_cpu_percent, F_IGNORED, T_INT | T_STRING},
    {"cpu_shares", schema__check_int, 0, T_INT | T_STRING},
    {"cpu_quota", schema__check_int, 0, T_INT | T_STRING},
    {"cpu_period", schema__check_int, 0, T_INT | T_STRING},
    {"cpu_rt_period", schema__check_int, 0, T_INT | T_STRING},
    {"cpu_rt_runtime", schema__check_int, 0, T_INT | T_STRING},
    {"cpuset", NULL, 0, T_STRING},
    {"credential_spec", schema__check_credential_spec, F_IGNORED, 0},
    {"deploy", schema__check_deploy, F_IGNORED, 0},
    {"device_cgroup_rules", schema__check_list_of_strings, 0, 0},
    {"devices", schema__check_devices, 0, 0},
    {"dns", schema__check_string_or_list, 0, 0},
    {"dns_opt", schema__check_list_of_strings, 0, 0},
    {"dns_search", schema__check_string_or_list, 0, 0},
    {"domainname", NULL, 0, T_STRING},
    {"external_links", schema__check_list_of_strings, 0, 0},
    {"gpus", schema__check_gpus, F_IGNORED, 0},
    {"group_add", check_group_add, 0, 0},
    {"ipc", NULL, 0, T_STRING},
    {"isolation", NULL, 0, T_STRING},
    {"label_file", schema__check_string_or_list, F_IGNORED, 0},
    {"links", schema__check_list_of_strings, 0, 0},
    {"logging", schema__check_logging, 0, 0},
    {"mac_address", NULL, 0, T_STRING},
    {"mem_reservation", check_memory_figure, 0, T_INT | T_STRING},
    {"mem_swappiness", check_memory_figure, 0, T_INT | T_STRING},
    {"memswap_limit", check_memory_figure, 0, T_NUMBER | T_STRING},
    {"models", schema__check_svc_models, F_IGNORED, 0},
    {"oom_kill_disable", schema__check_bool, 0, T_BOOL | T_STRING},
    {"oom_score_adj", check_oom_score_adj, 0, T_INT | T_STRING},
    {"pid", NULL, 0, T_STRING | T_NULL},
    {"pids_limit", schema__check_int, 0, T_NUMBER | T_STRING},
    {"post_start", schema__check_hooks, F_IGNORED, 0},
    {"pre_start", schema__check_pre_start, F_IGNORED, 0},
    {"pre_stop", schema__check_hooks, F_IGNORED, 0},
    {"privileged", schema__check_bool, 0, T_BOOL | T_STRING},
    {"provider", schema__check_provider, F_IGNORED, 0},
    {"pull_refresh_after", NULL, F_IGNORED, T_STRING},
    {"runtime", NULL, 0, T_STRING},
    {"scale", schema__check_int_nonneg, F_IGNORED, T_INT | T_STRING},
    {"secrets", schema__check_svc_secrets, 0, 0},
    {"security_opt", schema__check_list_of_strings, 0, 0},
    {"storage_opt", check_storage_opt, 0, 0},
    {"sysctls", schema__check_list_or_dict, 0, 0},
    {"use_api_socket", NULL, F_IGNORED, T_BOOL},
    {"userns_mode", NULL, 0, T_STRING},
    {"uts", NULL, 0, T_STRING},
    {"volumes_from", schema__check_list_of_strings, 0, 0},
};

/* services, volumes, networks, ...: compose wants a mapping even when it is
 * empty, and refuses a bare `services:` (null). */
static void check_services(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *k = n->keys[i], *v = n->vals[i];
        if (!schema__name_valid(k->str)) {
            schema__err(c, k, "invalid service name \"%s\"", k->str);
            continue;
        }
        size_t old = schema__path_push_key(c, k->str);
        /* compose refuses a service written as `web:` alone */
        if (v->kind == NODE_MAP)
            schema__check_fields(c, v, FIELDS(service_fields));
        else if (!schema__is_reset(v))
            schema__err(c, v, "must be a mapping, not %s", schema__kind_name(v));
        schema__path_pop(c, old);
    }
}

/* ---- top-level volumes, networks, include, x-tend ---- */

static const Field external_fields[] = {
    {"name", schema__check_string, 0, 0},
};

static void check_external(Ctx *c, const Node *n)
{
    bool b;
    if (n && n->kind == NODE_MAP)
        schema__check_fields(c, n, FIELDS(external_fields));
    else if (node_as_bool(n, &b) < 0)
        schema__err(c, n, "must be a boolean or a mapping, not %s", schema__kind_name(n));
}

/* A mapping of text values (ipam options, aux_addresses). */
static void check_dict_of_strings(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        schema__want_string(c, n->vals[i]);
        schema__path_pop(c, old);
    }
}

static const Field ipam_config_fields[] = {
    {"subnet", schema__check_string, 0, 0},
    {"ip_range", schema__check_string, 0, 0},
    {"gateway", schema__check_string, 0, 0},
    {"aux_addresses", check_dict_of_strings, 0, 0},
};

static void check_ipam_config_item(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(ipam_config_fields));
}

static void check_ipam_config(Ctx *c, const Node *n)
{
    schema__check_items(c, n, check_ipam_config_item, 0);
}

static const Field ipam_fields[] = {
    {"driver", schema__check_string, 0, 0},
    {"config", check_ipam_config, 0, 0},
    {"options", check_dict_of_strings, 0, 0},
};

static void check_ipam(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(ipam_fields));
}

static const Field volume_fields[] = {
    {"name", schema__check_string, 0, 0},
    {"driver", schema__check_string, 0, 0},
    {"driver_opts", schema__check_dict_of_scalars, 0, 0},
    {"external", check_external, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
};

static const Field network_fields[] = {
    {"name", schema__check_string, 0, 0},
    {"driver", schema__check_string, 0, 0},
    {"driver_opts", schema__check_dict_of_scalars, 0, 0},
    {"ipam", check_ipam, 0, 0},
    {"external", check_external, 0, 0},
    {"internal", schema__check_bool, 0, 0},
    {"enable_ipv4", schema__check_bool, 0, 0},
    {"enable_ipv6", schema__check_bool, 0, 0},
    {"attachable", schema__check_bool, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
};

static void check_named_objects(Ctx *c, const Node *n, const char *what, const Field *fields,
                                size_t nf)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *k = n->keys[i], *v = n->vals[i];
        if (!schema__name_valid(k->str)) {
            schema__err(c, k, "invalid %s name \"%s\"", what, k->str);
            continue;
        }
        size_t old = schema__path_push_key(c, k->str);
        if (v->kind == NODE_MAP)
            schema__check_fields(c, v, fields, nf);
        else if (!node_is_null(v) && !schema__is_reset(v))
            schema__err(c, v, "must be a mapping or null, not %s", schema__kind_name(v));
        schema__path_pop(c, old);
    }
}

static void check_top_volumes(Ctx *c, const Node *n)
{
    check_named_objects(c, n, "volume", FIELDS(volume_fields));
}

static void check_top_networks(Ctx *c, const Node *n)
{
    check_named_objects(c, n, "network", FIELDS(network_fields));
}

static const Field include_fields[] = {
    {"path", schema__check_string_or_list, F_REQUIRED, 0},
    {"project_directory", schema__check_string, 0, 0},
    {"env_file", schema__check_string_or_list, 0, 0},
};

static void check_include(Ctx *c, const Node *n)
{
    if (node_is_null(n) || !schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *it = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (it->kind == NODE_MAP)
            schema__check_fields(c, it, FIELDS(include_fields));
        else if (!node_is_scalar(it))
            schema__err(c, it, "must be a string or a mapping, not %s", schema__kind_name(it));
        schema__path_pop(c, old);
    }
}

static void check_ip(Ctx *c, const Node *n)
{
    if (!schema__want_string(c, n))
        return;
    unsigned char buf[16];
    if (inet_pton(AF_INET, n->str, buf) != 1 && inet_pton(AF_INET6, n->str, buf) != 1)
        schema__err(c, n, "invalid IP address \"%s\"", n->str);
}

static const Field xtend_top_watch_fields[] = {
    {"debounce", check_xduration, 0, 0},
};

static void check_xtend_top_watch(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(xtend_top_watch_fields));
}

static const Field xtend_top_fields[] = {
    {"default_host_ip", check_ip, 0, 0},
    {"watch", check_xtend_top_watch, 0, 0},
    {"kube", NULL, 0, 0}, /* checked by tend kube (kube/settings.c) */
};

static void check_xtend_top(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(xtend_top_fields));
}

static const Field top_fields[] = {
    {"name", schema__check_string, 0, 0},
    {"services", check_services, 0, 0},
    {"volumes", check_top_volumes, 0, 0},
    {"networks", check_top_networks, 0, 0},
    {"include", check_include, 0, 0},
    {"x-tend", check_xtend_top, 0, 0},
    {"secrets", schema__check_top_secrets, 0, 0},
    {"configs", schema__check_top_configs, 0, 0},
    {"models", schema__check_top_models, F_IGNORED, 0},
    {"jobs", schema__check_top_jobs, F_IGNORED, 0},
    {"version", NULL, F_IGNORED, T_STRING},
};

static size_t check_mode(const Node *root, Diag *d, StrVec *ignored, SchemaMode mode)
{
    Ctx c = {.d = d, .ignored = ignored, .mode = mode};
    strbuf_init(&c.path, 1 << 16);
    if (!root || root->kind != NODE_MAP) {
        schema__err(&c, root, "the top level must be a mapping, not %s", schema__kind_name(root));
    } else {
        schema__check_fields(&c, root, FIELDS(top_fields));
    }
    strbuf_free(&c.path);
    return c.errors;
}

size_t schema_check(const Node *root, Diag *d, StrVec *ignored)
{
    return check_mode(root, d, ignored, SCHEMA_ALL);
}

size_t schema_check_file(const Node *root, Diag *d, StrVec *ignored)
{
    return check_mode(root, d, ignored, SCHEMA_FILE);
}

size_t schema_check_merged(const Node *root, Diag *d)
{
    return check_mode(root, d, NULL, SCHEMA_MERGED);
}
