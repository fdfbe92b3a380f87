/* keys: the table of Compose keys with their normal form and merge rule
 * (see keys.h). canon walks it to bring each file to one form; merge looks
 * a path up in it to pick the rule. Every key a service may have is listed,
 * the plain ones too (as-is, default merge), so that the table reads as the
 * reference of the format (the README's merge table sums it up). Kept in
 * step with compose-go v2's transform, override (merge.go, uncity.go) and
 * types packages, the code docker compose v5 runs. */
#include "load/keys.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* K: a key; U: a list that keeps one item per key within a file too. */
#define K(path, form, merge) {path, form, merge, false}
#define U(path, form, merge) {path, form, merge, true}

/* In canon's order: `build` is made a mapping before build.args is read,
 * develop.watch entries before their paths. */
static const KeySpec table[] = {
    /* top level */
    K("name", FORM_AS_IS, MERGE_DEEP),
    K("version", FORM_AS_IS, MERGE_DEEP),
    K("include", FORM_AS_IS, MERGE_APPEND),
    K("networks.*", FORM_EXTERNAL, MERGE_DEEP),
    K("networks.*.name", FORM_AS_IS, MERGE_DEEP),
    K("networks.*.driver", FORM_AS_IS, MERGE_DEEP),
    K("networks.*.driver_opts", FORM_AS_IS, MERGE_DEEP),
    K("networks.*.attachable", FORM_FALSE_OUT, MERGE_DEEP),
    K("networks.*.enable_ipv4", FORM_AS_IS, MERGE_DEEP),
    K("networks.*.enable_ipv6", FORM_AS_IS, MERGE_DEEP),
    K("networks.*.external", FORM_AS_IS, MERGE_DEEP),
    K("networks.*.internal", FORM_FALSE_OUT, MERGE_DEEP),
    K("networks.*.ipam.driver", FORM_AS_IS, MERGE_DEEP),
    K("networks.*.ipam.config", FORM_AS_IS, MERGE_IPAM),
    K("networks.*.ipam.options", FORM_AS_IS, MERGE_DEEP),
    U("networks.*.labels", FORM_KV_MAP, MERGE_KV),
    K("volumes.*", FORM_EXTERNAL, MERGE_DEEP),
    K("volumes.*.name", FORM_AS_IS, MERGE_DEEP),
    K("volumes.*.driver", FORM_AS_IS, MERGE_DEEP),
    K("volumes.*.driver_opts", FORM_AS_IS, MERGE_DEEP),
    K("volumes.*.external", FORM_AS_IS, MERGE_DEEP),
    K("volumes.*.labels", FORM_KV_MAP, MERGE_KV),
    K("secrets.*", FORM_EXTERNAL, MERGE_DEEP),
    K("secrets.*.name", FORM_AS_IS, MERGE_DEEP),
    K("secrets.*.file", FORM_PATH, MERGE_DEEP),
    K("secrets.*.environment", FORM_AS_IS, MERGE_DEEP),
    K("secrets.*.content", FORM_AS_IS, MERGE_DEEP),
    K("secrets.*.external", FORM_AS_IS, MERGE_DEEP),
    K("secrets.*.driver", FORM_AS_IS, MERGE_DEEP),
    K("secrets.*.driver_opts", FORM_AS_IS, MERGE_DEEP),
    K("secrets.*.template_driver", FORM_AS_IS, MERGE_DEEP),
    K("secrets.*.labels", FORM_KV_MAP, MERGE_KV),
    K("configs.*", FORM_EXTERNAL, MERGE_DEEP),
    K("configs.*.name", FORM_AS_IS, MERGE_DEEP),
    K("configs.*.file", FORM_PATH, MERGE_DEEP),
    K("configs.*.environment", FORM_AS_IS, MERGE_DEEP),
    K("configs.*.content", FORM_AS_IS, MERGE_DEEP),
    K("configs.*.external", FORM_AS_IS, MERGE_DEEP),
    K("configs.*.template_driver", FORM_AS_IS, MERGE_DEEP),
    K("configs.*.labels", FORM_KV_MAP, MERGE_KV),
    K("models.*.model", FORM_AS_IS, MERGE_DEEP),
    K("models.*.context_size", FORM_AS_IS, MERGE_DEEP),
    K("models.*.runtime_flags", FORM_AS_IS, MERGE_DEEP),

    /* a service, A to Z (build and its keys first: see above) */
    K("services.*.build", FORM_BUILD, MERGE_DEEP),
    K("services.*.build.context", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.dockerfile", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.dockerfile_inline", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.target", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.network", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.isolation", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.ssh", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.entitlements", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.provenance", FORM_STRING, MERGE_DEEP),
    K("services.*.build.sbom", FORM_STRING, MERGE_DEEP),
    U("services.*.build.args", FORM_KV_MAP, MERGE_KV),
    U("services.*.build.labels", FORM_KV_MAP, MERGE_KV),
    U("services.*.build.additional_contexts", FORM_KV_PATHS, MERGE_KV),
    K("services.*.build.extra_hosts", FORM_HOSTS, MERGE_SET),
    U("services.*.build.tags", FORM_AS_IS, MERGE_SET),
    K("services.*.build.platforms", FORM_AS_IS, MERGE_SET),
    K("services.*.build.no_cache", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.build.pull", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.build.privileged", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.build.cache_from", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.cache_to", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.secrets", FORM_MOUNT, MERGE_SECRETS),
    K("services.*.build.secrets.*.mode", FORM_FILE_MODE, MERGE_DEEP),
    K("services.*.build.ulimits", FORM_AS_IS, MERGE_DEEP),
    K("services.*.build.shm_size", FORM_BYTES, MERGE_DEEP),
    U("services.*.annotations", FORM_KV_MAP, MERGE_KV),
    K("services.*.attach", FORM_AS_IS, MERGE_DEEP),
    K("services.*.blkio_config", FORM_AS_IS, MERGE_DEEP),
    U("services.*.cap_add", FORM_AS_IS, MERGE_SET),
    U("services.*.cap_drop", FORM_AS_IS, MERGE_SET),
    K("services.*.cgroup", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cgroup_parent", FORM_AS_IS, MERGE_DEEP),
    K("services.*.command", FORM_COMMAND, MERGE_REPLACE),
    U("services.*.configs", FORM_MOUNT, MERGE_CONFIGS),
    K("services.*.configs.*.mode", FORM_FILE_MODE, MERGE_DEEP),
    K("services.*.container_name", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpu_count", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpu_percent", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpu_period", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpu_quota", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpu_rt_period", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpu_rt_runtime", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpu_shares", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpus", FORM_AS_IS, MERGE_DEEP),
    K("services.*.cpuset", FORM_AS_IS, MERGE_DEEP),
    K("services.*.credential_spec", FORM_AS_IS, MERGE_DEEP),
    K("services.*.depends_on", FORM_DEPENDS_ON, MERGE_DEEP),
    K("services.*.depends_on.*.restart", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.deploy", FORM_AS_IS, MERGE_DEEP),
    U("services.*.deploy.labels", FORM_KV_MAP, MERGE_KV),
    K("services.*.deploy.resources.limits.memory", FORM_BYTES, MERGE_DEEP),
    K("services.*.deploy.resources.reservations.memory", FORM_BYTES, MERGE_DEEP),
    K("services.*.deploy.resources.reservations.devices", FORM_GPUS, MERGE_DEEP),
    K("services.*.develop", FORM_AS_IS, MERGE_DEEP),
    K("services.*.develop.watch", FORM_AS_IS, MERGE_DEEP),
    K("services.*.develop.watch.*.path", FORM_PATH, MERGE_DEEP),
    K("services.*.develop.watch.*.ignore", FORM_LIST, MERGE_DEEP),
    K("services.*.develop.watch.*.include", FORM_LIST, MERGE_DEEP),
    K("services.*.develop.watch.*.initial_sync", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.device_cgroup_rules", FORM_AS_IS, MERGE_SET),
    U("services.*.devices", FORM_DEVICES, MERGE_DEVICES),
    U("services.*.dns", FORM_LIST, MERGE_SET),
    U("services.*.dns_opt", FORM_AS_IS, MERGE_SET),
    U("services.*.dns_search", FORM_LIST, MERGE_SET),
    K("services.*.domainname", FORM_AS_IS, MERGE_DEEP),
    K("services.*.entrypoint", FORM_COMMAND, MERGE_REPLACE),
    U("services.*.env_file", FORM_ENV_FILE, MERGE_ENV_FILE),
    U("services.*.environment", FORM_KV_MAP, MERGE_KV),
    U("services.*.expose", FORM_LIST, MERGE_SET),
    K("services.*.extends", FORM_EXTENDS, MERGE_DEEP),
    K("services.*.external_links", FORM_AS_IS, MERGE_SET),
    K("services.*.extra_hosts", FORM_HOSTS, MERGE_SET),
    K("services.*.gpus", FORM_GPUS, MERGE_DEEP),
    K("services.*.group_add", FORM_AS_IS, MERGE_SET),
    K("services.*.healthcheck", FORM_AS_IS, MERGE_DEEP),
    K("services.*.healthcheck.test", FORM_TEST, MERGE_REPLACE),
    K("services.*.healthcheck.disable", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.healthcheck.interval", FORM_DURATION, MERGE_DEEP),
    K("services.*.healthcheck.timeout", FORM_DURATION, MERGE_DEEP),
    K("services.*.healthcheck.start_period", FORM_DURATION, MERGE_DEEP),
    K("services.*.healthcheck.start_interval", FORM_DURATION, MERGE_DEEP),
    K("services.*.hostname", FORM_AS_IS, MERGE_DEEP),
    K("services.*.image", FORM_AS_IS, MERGE_DEEP),
    K("services.*.init", FORM_AS_IS, MERGE_DEEP),
    K("services.*.ipc", FORM_AS_IS, MERGE_DEEP),
    K("services.*.isolation", FORM_AS_IS, MERGE_DEEP),
    K("services.*.label_file", FORM_LIST, MERGE_SET),
    U("services.*.labels", FORM_KV_MAP, MERGE_KV),
    U("services.*.links", FORM_AS_IS, MERGE_SET),
    K("services.*.logging", FORM_AS_IS, MERGE_LOGGING),
    K("services.*.mac_address", FORM_AS_IS, MERGE_DEEP),
    K("services.*.mem_limit", FORM_BYTES, MERGE_DEEP),
    K("services.*.mem_reservation", FORM_BYTES, MERGE_DEEP),
    K("services.*.mem_swappiness", FORM_BYTES, MERGE_DEEP), /* Compose reads it as a size too */
    K("services.*.memswap_limit", FORM_BYTES, MERGE_DEEP),
    K("services.*.models", FORM_NAME_MAP, MERGE_DEEP),
    K("services.*.network_mode", FORM_AS_IS, MERGE_DEEP),
    K("services.*.networks", FORM_NAME_MAP, MERGE_DEEP),
    U("services.*.networks.*.aliases", FORM_AS_IS, MERGE_SET),
    U("services.*.networks.*.link_local_ips", FORM_AS_IS, MERGE_SET),
    K("services.*.oom_kill_disable", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.oom_score_adj", FORM_AS_IS, MERGE_DEEP),
    K("services.*.pid", FORM_AS_IS, MERGE_DEEP),
    K("services.*.pids_limit", FORM_AS_IS, MERGE_DEEP),
    K("services.*.platform", FORM_AS_IS, MERGE_DEEP),
    U("services.*.ports", FORM_PORTS, MERGE_PORTS),
    K("services.*.post_start", FORM_AS_IS, MERGE_DEEP),
    K("services.*.post_start.*.command", FORM_COMMAND, MERGE_DEEP),
    K("services.*.post_start.*.privileged", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.pre_stop", FORM_AS_IS, MERGE_DEEP),
    K("services.*.pre_stop.*.command", FORM_COMMAND, MERGE_DEEP),
    K("services.*.pre_stop.*.privileged", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.privileged", FORM_FALSE_OUT, MERGE_DEEP),
    U("services.*.profiles", FORM_AS_IS, MERGE_SET),
    K("services.*.provider", FORM_AS_IS, MERGE_DEEP),
    K("services.*.pull_policy", FORM_AS_IS, MERGE_DEEP),
    K("services.*.read_only", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.restart", FORM_AS_IS, MERGE_DEEP),
    K("services.*.runtime", FORM_AS_IS, MERGE_DEEP),
    K("services.*.scale", FORM_AS_IS, MERGE_DEEP),
    U("services.*.secrets", FORM_MOUNT, MERGE_SECRETS),
    K("services.*.secrets.*.mode", FORM_FILE_MODE, MERGE_DEEP),
    K("services.*.security_opt", FORM_AS_IS, MERGE_SET),
    K("services.*.shm_size", FORM_BYTES, MERGE_DEEP),
    K("services.*.stdin_open", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.stop_grace_period", FORM_DURATION, MERGE_DEEP),
    K("services.*.stop_signal", FORM_AS_IS, MERGE_DEEP),
    K("services.*.storage_opt", FORM_AS_IS, MERGE_DEEP),
    U("services.*.sysctls", FORM_KV_MAP, MERGE_KV),
    U("services.*.tmpfs", FORM_LIST, MERGE_SET),
    K("services.*.tty", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.ulimits", FORM_AS_IS, MERGE_DEEP),
    K("services.*.use_api_socket", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.user", FORM_AS_IS, MERGE_DEEP),
    K("services.*.userns_mode", FORM_AS_IS, MERGE_DEEP),
    K("services.*.uts", FORM_AS_IS, MERGE_DEEP),
    U("services.*.volumes", FORM_VOLUMES, MERGE_VOLUMES),
    K("services.*.volumes.*.read_only", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.volumes.*.volume.nocopy", FORM_FALSE_OUT, MERGE_DEEP),
    K("services.*.volumes_from", FORM_AS_IS, MERGE_SET),
    K("services.*.working_dir", FORM_AS_IS, MERGE_DEEP),
    /* tend's own: seed steps run in order, and appending an override's
     * steps would run the shared ones twice */
    K("services.*.x-tend.seed", FORM_AS_IS, MERGE_REPLACE),
};

const KeySpec *keys_table(size_t *ret_n)
{
    *ret_n = ARRAY_SIZE(table);
    return table;
}

bool keys_match(const char *pattern, const char *const *comps, size_t depth)
{
    const char *p = pattern;
    for (size_t i = 0; i < depth; i++) {
        if (!*p)
            return false;
        size_t n = strcspn(p, ".");
        const char *comp = comps[i] ? comps[i] : "";
        if (!(n == 1 && p[0] == '*') && (strlen(comp) != n || strncmp(p, comp, n) != 0))
            return false;
        p += n;
        if (*p == '.')
            p++;
    }
    return *p == '\0';
}

/* ---- indexes, made once ----
 *
 * Loading looks keys up for every node of every service, so a scan of the
 * whole table each time would cost more than the rest of the load: the
 * entries are indexed by (depth, last component), a table-wide "*" as the
 * last component in a bucket of its own, and the entries under
 * services.*.KEY by KEY. Both keep the table's order within a bucket. */

#define MAX_COMP 64

typedef struct Slot {
    unsigned depth;
    char last[MAX_COMP]; /* "*" for a wildcard */
    unsigned idx;        /* in table */
} Slot;

typedef struct SvcSlot {
    char key[MAX_COMP];
    unsigned idx;
} SvcSlot;

static Slot slots[ARRAY_SIZE(table)];
static SvcSlot svc_slots[ARRAY_SIZE(table)];
static size_t n_svc_slots;
static const KeySpec *svc_entries[ARRAY_SIZE(table)]; /* svc_slots' entries, in order */
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static int cmp_slot(const void *x, const void *y)
{
    const Slot *a = x, *b = y;
    if (a->depth != b->depth)
        return a->depth < b->depth ? -1 : 1;
    int c = strcmp(a->last, b->last);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_svc_slot(const void *x, const void *y)
{
    const SvcSlot *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void index_build(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
        const char *p = table[i].path;
        const char *last = strrchr(p, '.');
        last = last ? last + 1 : p;
        unsigned depth = 1;
        for (const char *q = p; *q; q++)
            depth += *q == '.';
        slots[i] = (Slot){.depth = depth, .idx = (unsigned)i};
        snprintf(slots[i].last, sizeof(slots[i].last), "%s", last);
        static const char svc_prefix[] = "services.*.";
        size_t pl = sizeof(svc_prefix) - 1;
        if (strlen(p) > pl && memcmp(p, svc_prefix, pl) == 0) {
            const char *k = &p[pl];
            SvcSlot *s = &svc_slots[n_svc_slots++];
            snprintf(s->key, sizeof(s->key), "%.*s", (int)strcspn(k, "."), k);
            s->idx = (unsigned)i;
        }
    }
    qsort(slots, ARRAY_SIZE(slots), sizeof(Slot), cmp_slot);
    qsort(svc_slots, n_svc_slots, sizeof(SvcSlot), cmp_svc_slot);
    for (size_t i = 0; i < n_svc_slots; i++)
        svc_entries[i] = &table[svc_slots[i].idx];
}

/* The first slot of (depth, last), or ARRAY_SIZE(slots). */
static size_t slot_find(unsigned depth, const char *last)
{
    size_t lo = 0, hi = ARRAY_SIZE(slots);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const Slot *s = &slots[mid];
        int c = s->depth != depth ? (s->depth < depth ? -1 : 1) : strcmp(s->last, last);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first entry of bucket (depth, last) that matches, as a table index
 * (or SIZE_MAX). */
static size_t bucket_match(unsigned depth, const char *last, const char *const *comps)
{
    for (size_t i = slot_find(depth, last);
         i < ARRAY_SIZE(slots) && slots[i].depth == depth && streq(slots[i].last, last); i++)
        if (keys_match(table[slots[i].idx].path, comps, depth))
            return slots[i].idx;
    return SIZE_MAX;
}

const KeySpec *keys_lookup(const char *const *comps, size_t depth)
{
    if (depth == 0 || depth > 32)
        return NULL;
    pthread_once(&index_once, index_build);
    const char *last = comps[depth - 1] ? comps[depth - 1] : "";
    size_t a = bucket_match((unsigned)depth, last, comps);
    size_t b = bucket_match((unsigned)depth, "*", comps);
    size_t i = a < b ? a : b; /* the table's first match, as a scan would find */
    return i == SIZE_MAX ? NULL : &table[i];
}

const KeySpec *const *keys_for_service_key(const char *key, size_t *ret_n)
{
    pthread_once(&index_once, index_build);
    size_t lo = 0, hi = n_svc_slots;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(svc_slots[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < n_svc_slots && streq(svc_slots[lo + n].key, key))
        n++;
    *ret_n = n;
    return &svc_entries[lo];
}

const char *key_form_to_string(KeyForm f)
{
    static const char *const t[FORM_MAX] = {
        [FORM_AS_IS] = "as written",
        [FORM_KV_MAP] = "mapping (K=V list or mapping)",
        [FORM_KV_PATHS] = "mapping of folders (K=V list or mapping)",
        [FORM_HOSTS] = "host=ip list (list or mapping)",
        [FORM_LIST] = "list (string or list)",
        [FORM_NAME_MAP] = "mapping (list of names or mapping)",
        [FORM_PATH] = "absolute path",
        [FORM_DURATION] = "duration",
        [FORM_BYTES] = "bytes",
        [FORM_PORTS] = "port mappings",
        [FORM_VOLUMES] = "mount mappings",
        [FORM_ENV_FILE] = "[{path, required}]",
        [FORM_DEPENDS_ON] = "{service: {condition, required}}",
        [FORM_BUILD] = "{context, dockerfile}",
        [FORM_TEST] = "test list",
        [FORM_COMMAND] = "argv list",
        [FORM_DEVICES] = "{source, target, permissions}",
        [FORM_MOUNT] = "{source, target}",
        [FORM_EXTENDS] = "{service, file}",
        [FORM_GPUS] = "device requests (count -1: all)",
        [FORM_FALSE_OUT] = "flag (false left out)",
        [FORM_FILE_MODE] = "octal file mode string",
        [FORM_STRING] = "string",
        [FORM_EXTERNAL] = "external: true, name",
    };
    return (unsigned)f < FORM_MAX ? t[f] : "?";
}

const char *key_merge_to_string(KeyMerge m)
{
    static const char *const t[MERGE_MAX] = {
        [MERGE_DEEP] = "deep",
        [MERGE_REPLACE] = "replace",
        [MERGE_APPEND] = "append",
        [MERGE_SET] = "append-unique",
        [MERGE_KV] = "merge-by-key",
        [MERGE_PORTS] = "merge-by-port",
        [MERGE_VOLUMES] = "merge-by-target",
        [MERGE_ENV_FILE] = "merge-by-path",
        [MERGE_SECRETS] = "merge-by-target",
        [MERGE_CONFIGS] = "merge-by-target",
        [MERGE_DEVICES] = "merge-by-target",
        [MERGE_LOGGING] = "merge-if-same-driver",
        [MERGE_IPAM] = "merge-by-subnet",
    };
    return (unsigned)m < MERGE_MAX ? t[m] : "?";
}
