/* schema-compose: the Compose keys tend accepts but does not run (deploy,
 * logging, blkio_config, devices, secrets, configs, models, jobs, ...).
 * tend lists them as ignored, and checks them all the same, key by key
 * against the Compose specification's schema (compose-go's
 * compose-spec.json): a file tend accepts is one docker compose accepts
 * too, and a typo in `deploy.resources` is found by tend first, not on the
 * day the file meets a Swarm or a Compose run. The walk, the messages and
 * the basic types come from schema.c (load/schema-int.h). */
#include "load/schema-int.h"


#define STR T_STRING
#define NUM_STR (T_NUMBER | T_STRING)
#define INT_STR (T_INT | T_STRING)
#define BOOL_STR (T_BOOL | T_STRING)

/* ---- deploy ---- */

static void check_order(Ctx *c, const Node *n)
{
    static const char *const v[] = {"start-first", "stop-first", NULL};
    schema__check_enum(c, n, "order", v);
}

/* A count compose reads into an unsigned integer (text is cast). */
static void check_count(Ctx *c, const Node *n)
{
    schema__check_int_min(c, n, 0);
}

static const Field update_fields[] = {
    {"parallelism", check_count, 0, INT_STR},
    {"delay", schema__check_duration, 0, 0},
    {"failure_action", NULL, 0, STR},
    {"monitor", schema__check_duration, 0, 0},
    {"max_failure_ratio", schema__check_number, 0, NUM_STR},
    {"order", check_order, 0, 0},
};

static void check_update_config(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(update_fields));
}

static const Field discrete_fields[] = {
    {"kind", NULL, 0, STR},
    {"value", NULL, 0, NUM_STR},
};

static void check_discrete(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(discrete_fields));
}

static const Field generic_fields[] = {
    {"discrete_resource_spec", check_discrete, 0, 0},
};

static void check_generic_item(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(generic_fields));
}

static void check_generic_resources(Ctx *c, const Node *n)
{
    schema__check_items(c, n, check_generic_item, 0);
}

/* A device request: deploy.resources.reservations.devices and gpus. */
static const Field device_request_fields[] = {
    {"capabilities", schema__check_list_of_strings, F_REQUIRED, 0},
    {"count", NULL, 0, INT_STR},
    {"device_ids", schema__check_list_of_strings, 0, 0},
    {"driver", NULL, 0, STR},
    {"options", schema__check_list_or_dict, 0, 0},
};

static void check_device_request(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(device_request_fields));
}

static void check_device_requests(Ctx *c, const Node *n)
{
    schema__check_items(c, n, check_device_request, 0);
}

/* A memory figure: "512M" or a number of bytes written as text; compose
 * refuses a bare number here. */
static void check_memory(Ctx *c, const Node *n)
{
    if (schema__want_string(c, n))
        schema__check_size(c, n);
}

static const Field limits_fields[] = {
    {"cpus", schema__check_number, 0, NUM_STR},
    {"memory", check_memory, 0, 0},
    {"pids", schema__check_int, 0, INT_STR},
};

static const Field reservations_fields[] = {
    {"cpus", schema__check_number, 0, NUM_STR},
    {"memory", check_memory, 0, 0},
    {"generic_resources", check_generic_resources, 0, 0},
    {"devices", check_device_requests, 0, 0},
};

static void check_limits(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(limits_fields));
}

static void check_reservations(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(reservations_fields));
}

static const Field resources_fields[] = {
    {"limits", check_limits, 0, 0},
    {"reservations", check_reservations, 0, 0},
};

static void check_resources(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(resources_fields));
}


static const Field restart_policy_fields[] = {
    {"condition", NULL, 0, STR},
    {"delay", schema__check_duration, 0, 0},
    {"max_attempts", check_count, 0, INT_STR},
    {"window", schema__check_duration, 0, 0},
};

static void check_restart_policy(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(restart_policy_fields));
}

static const Field preference_fields[] = {
    {"spread", NULL, 0, STR},
};

static void check_preference(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(preference_fields));
}

static void check_preferences(Ctx *c, const Node *n)
{
    schema__check_items(c, n, check_preference, 0);
}

static void check_strings(Ctx *c, const Node *n)
{
    schema__check_items(c, n, NULL, STR);
}

static const Field placement_fields[] = {
    {"constraints", check_strings, 0, 0},
    {"preferences", check_preferences, 0, 0},
    {"max_replicas_per_node", check_count, 0, INT_STR},
};

static void check_placement(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(placement_fields));
}



static void check_replicas(Ctx *c, const Node *n)
{
    schema__check_int_min(c, n, 0);
}

static const Field deploy_fields[] = {
    {"mode", NULL, 0, STR},
    {"endpoint_mode", NULL, 0, STR},
    {"replicas", check_replicas, 0, INT_STR},
    {"labels", schema__check_list_or_dict, 0, 0},
    {"rollback_config", check_update_config, 0, 0},
    {"update_config", check_update_config, 0, 0},
    {"resources", check_resources, 0, 0},
    {"restart_policy", check_restart_policy, 0, 0},
    {"placement", check_placement, 0, 0},
};

void schema__check_deploy(Ctx *c, const Node *n)
{
    if (node_is_null(n))
        return;
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(deploy_fields));
}

/* ---- logging, blkio_config, credential_spec ---- */

static void check_log_options(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        schema__want_types(c, n->vals[i], T_STRING | T_NUMBER | T_NULL);
        schema__path_pop(c, old);
    }
}

static const Field logging_fields[] = {
    {"driver", NULL, 0, STR},
    {"options", check_log_options, 0, 0},
};

void schema__check_logging(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(logging_fields));
}

/* A weight compose reads into a 16-bit unsigned integer, text refused. */
static void check_blkio_weight_value(Ctx *c, const Node *n)
{
    long long v;
    if (schema__want_int(c, n, &v) && (v < 0 || v > 65535))
        schema__err(c, n, "must be between 0 and 65535, not %lld", v);
}

static const Field blkio_limit_fields[] = {
    {"path", NULL, 0, STR},
    {"rate", NULL, 0, INT_STR},
};

static const Field blkio_weight_fields[] = {
    {"path", NULL, 0, STR},
    {"weight", check_blkio_weight_value, 0, T_INT},
};

static void check_blkio_limit(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields_no_ext(c, n, FIELDS(blkio_limit_fields));
}

static void check_blkio_weight(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields_no_ext(c, n, FIELDS(blkio_weight_fields));
}

static void check_blkio_limits(Ctx *c, const Node *n)
{
    schema__check_items(c, n, check_blkio_limit, 0);
}

static void check_blkio_weights(Ctx *c, const Node *n)
{
    schema__check_items(c, n, check_blkio_weight, 0);
}

static const Field blkio_fields[] = {
    {"device_read_bps", check_blkio_limits, 0, 0},
    {"device_read_iops", check_blkio_limits, 0, 0},
    {"device_write_bps", check_blkio_limits, 0, 0},
    {"device_write_iops", check_blkio_limits, 0, 0},
    {"weight", check_blkio_weight_value, 0, T_INT},
    {"weight_device", check_blkio_weights, 0, 0},
};

void schema__check_blkio(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields_no_ext(c, n, FIELDS(blkio_fields));
}

static const Field credential_spec_fields[] = {
    {"config", NULL, 0, STR},
    {"file", NULL, 0, STR},
    {"registry", NULL, 0, STR},
};

void schema__check_credential_spec(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(credential_spec_fields));
}

/* ---- devices, gpus, provider, models ---- */

/* The schema requires source only; compose refuses a device without its
 * target when it loads the file. */
static const Field device_fields[] = {
    {"source", NULL, F_REQUIRED, STR},
    {"target", NULL, F_REQUIRED, STR},
    {"permissions", NULL, 0, STR},
};

static void check_device(Ctx *c, const Node *n)
{
    if (schema__want_types(c, n, T_STRING | T_MAP) && n->kind == NODE_MAP)
        schema__check_fields(c, n, FIELDS(device_fields));
}

void schema__check_devices(Ctx *c, const Node *n)
{
    schema__check_items(c, n, check_device, 0);
}

/* gpus: "all", or a list of device requests (capabilities optional). */
/* count: a number, or "all". */
static void check_gpu_count(Ctx *c, const Node *n)
{
    long long v;
    if (schema__type(n) == T_STRING && streq(n->str, "all"))
        return;
    if (node_as_int(n, &v) < 0)
        schema__err(c, n, "invalid count \"%s\" (expected all or a number)", n->str);
}

static const Field gpu_fields[] = {
    {"capabilities", schema__check_list_of_strings, 0, 0},
    {"count", check_gpu_count, 0, INT_STR},
    {"device_ids", schema__check_list_of_strings, 0, 0},
    {"driver", NULL, 0, STR},
    {"options", schema__check_list_or_dict, 0, 0},
};

static void check_gpu(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(gpu_fields));
}

void schema__check_gpus(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_SEQ))
        return;
    if (n->kind == NODE_SEQ)
        schema__check_items(c, n, check_gpu, 0);
    else if (!streq(n->str, "all"))
        schema__err(c, n, "invalid value \"%s\" (expected all or a list of device requests)", n->str);
}

static void check_provider_options(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        const Node *v = n->vals[i];
        if (schema__want_types(c, v, T_STRING | T_NUMBER | T_BOOL | T_SEQ) && v->kind == NODE_SEQ)
            schema__check_items(c, v, NULL, T_STRING | T_NUMBER | T_BOOL);
        schema__path_pop(c, old);
    }
}

static const Field provider_fields[] = {
    {"type", NULL, F_REQUIRED, STR},
    {"options", check_provider_options, 0, 0},
};

void schema__check_provider(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(provider_fields));
}

static const Field svc_model_fields[] = {
    {"endpoint_var", NULL, 0, STR},
    {"model_var", NULL, 0, STR},
};

/* A service's models: a list of names, or names mapped to null or to the
 * variables that receive the model's endpoint and name. */
void schema__check_svc_models(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_SEQ | T_MAP))
        return;
    if (n->kind == NODE_SEQ) {
        schema__check_list_of_strings(c, n);
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        const Node *v = n->vals[i];
        if (!schema__name_valid(n->keys[i]->str))
            schema__err(c, n->keys[i], "invalid model name \"%s\"", n->keys[i]->str);
        else if (schema__want_types(c, v, T_MAP | T_NULL) && v->kind == NODE_MAP)
            schema__check_fields(c, v, FIELDS(svc_model_fields));
        schema__path_pop(c, old);
    }
}

/* ---- secrets and configs of a service ---- */

static const Field svc_secret_fields[] = {
    {"source", NULL, 0, STR},
    {"target", NULL, 0, STR},
    {"uid", NULL, 0, STR},
    {"gid", NULL, 0, STR},
    {"mode", schema__check_int, 0, NUM_STR},
};

static void check_svc_secret(Ctx *c, const Node *n)
{
    if (schema__want_types(c, n, T_STRING | T_MAP) && n->kind == NODE_MAP)
        schema__check_fields(c, n, FIELDS(svc_secret_fields));
}

void schema__check_svc_secrets(Ctx *c, const Node *n)
{
    schema__check_items(c, n, check_svc_secret, 0);
}

/* ---- lifecycle hooks ---- */

/* post_start, pre_stop: a list of hooks (command, user, ...). */
void schema__check_hooks(Ctx *c, const Node *n)
{
    schema__check_items(c, n, schema__check_hook, 0);
}

/* pre_start: a list of containers run before the service; each is a
 * container of its own, checked for its shape only. */
void schema__check_pre_start(Ctx *c, const Node *n)
{
    schema__check_items(c, n, NULL, T_MAP);
}

/* ---- top level: secrets, configs, models, jobs ---- */

/* external of a secret or config: a boolean (text is cast), or a mapping
 * whose name is text; compose lets other keys of that mapping pass. */
static void check_external(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_BOOL | T_STRING | T_MAP))
        return;
    if (n->kind != NODE_MAP) {
        schema__check_bool(c, n);
        return;
    }
    const Node *name = node_get(n, "name");
    if (name) {
        size_t old = schema__path_push_key(c, "name");
        schema__want_string(c, name);
        schema__path_pop(c, old);
    }
}

static const Field secret_fields[] = {
    {"name", NULL, 0, STR},
    {"environment", NULL, 0, STR},
    {"file", NULL, 0, STR},
    {"external", check_external, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
    {"driver", NULL, 0, STR},
    {"driver_opts", schema__check_dict_of_scalars, 0, 0},
    {"template_driver", NULL, 0, STR},
};

static const Field config_fields[] = {
    {"name", NULL, 0, STR},
    {"content", NULL, 0, STR},
    {"environment", NULL, 0, STR},
    {"file", NULL, 0, STR},
    {"external", check_external, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
    {"template_driver", NULL, 0, STR},
};

static void check_runtime_flags(Ctx *c, const Node *n)
{
    schema__check_items(c, n, NULL, STR);
}

static const Field model_fields[] = {
    {"name", NULL, 0, STR},
    {"model", NULL, F_MERGED, STR},
    {"context_size", NULL, 0, T_INT},
    {"runtime_flags", check_runtime_flags, 0, 0},
};

/* A top-level mapping of named objects, each a mapping checked by fields
 * (or, with fields NULL, only said to be a mapping). */
static void check_named(Ctx *c, const Node *n, const char *what, const Field *fields, size_t nf,
                        bool null_ok)
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
        if (schema__want_types(c, v, null_ok ? T_MAP | T_NULL : T_MAP) && v->kind == NODE_MAP &&
            fields)
            schema__check_fields(c, v, fields, nf);
        schema__path_pop(c, old);
    }
}

/* A secret or config comes from one source: file, environment or content
 * (a config). Reported at the second one. */
static void check_one_source(Ctx *c, const Node *n)
{
    static const char *const sources[] = {"file", "environment", "content"};
    if (!n || n->kind != NODE_MAP)
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        if (v->kind != NODE_MAP)
            continue;
        const Node *first = NULL;
        for (size_t k = 0; k < v->len; k++)
            for (size_t s = 0; s < ARRAY_SIZE(sources); s++) {
                if (!streq(v->keys[k]->str, sources[s]))
                    continue;
                if (!first) {
                    first = v->keys[k];
                    continue;
                }
                size_t old = schema__path_push_key(c, n->keys[i]->str);
                schema__err(c, v->keys[k], "\"%s\" and \"%s\" are two sources; keep one",
                            first->str, v->keys[k]->str);
                schema__path_pop(c, old);
            }
    }
}

void schema__check_top_secrets(Ctx *c, const Node *n)
{
    size_t before = c->errors;
    check_named(c, n, "secret", FIELDS(secret_fields), false);
    if (c->errors == before)
        check_one_source(c, n);
}

void schema__check_top_configs(Ctx *c, const Node *n)
{
    size_t before = c->errors;
    check_named(c, n, "config", FIELDS(config_fields), false);
    if (c->errors == before)
        check_one_source(c, n);
}

void schema__check_top_models(Ctx *c, const Node *n)
{
    check_named(c, n, "model", FIELDS(model_fields), false);
}

/* Jobs are containers run on triggers; tend runs none and checks only that
 * each is a mapping with its triggers, as compose requires. */
void schema__check_top_jobs(Ctx *c, const Node *n)
{
    check_named(c, n, "job", NULL, 0, false);
    if (!n || n->kind != NODE_MAP)
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        if (v->kind != NODE_MAP || node_index(v, "triggers") >= 0)
            continue;
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        schema__err(c, v, "missing required key \"triggers\"");
        schema__path_pop(c, old);
    }
}
