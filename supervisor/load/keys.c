/* keys: the table of Compose keys with their normal form and merge rule
 * (see keys.h). canon walks it to bring each file to one form; merge looks
 * a path up in it to pick the rule. Every key a service may have is listed,
 * the plain ones too (as-is, default merge), so that the table reads as the
 * reference of the format; the README's merge table is written from it. */
#include "load/keys.h"

#include <string.h>

/* In canon's order: `build` is made a mapping before build.args is read,
 * develop.watch entries before their paths. */
static const KeySpec table[] = {
    /* top level */
    {"name", FORM_AS_IS, MERGE_DEEP},
    {"version", FORM_AS_IS, MERGE_DEEP},
    {"include", FORM_AS_IS, MERGE_APPEND},
    {"networks.*", FORM_EXTERNAL, MERGE_DEEP},
    {"networks.*.name", FORM_AS_IS, MERGE_DEEP},
    {"networks.*.driver", FORM_AS_IS, MERGE_DEEP},
    {"networks.*.driver_opts", FORM_AS_IS, MERGE_DEEP},
    {"networks.*.attachable", FORM_FALSE_OUT, MERGE_DEEP},
    {"networks.*.enable_ipv4", FORM_AS_IS, MERGE_DEEP},
    {"networks.*.enable_ipv6", FORM_AS_IS, MERGE_DEEP},
    {"networks.*.external", FORM_AS_IS, MERGE_DEEP},
    {"networks.*.internal", FORM_FALSE_OUT, MERGE_DEEP},
    {"networks.*.ipam.driver", FORM_AS_IS, MERGE_DEEP},
    {"networks.*.ipam.config", FORM_AS_IS, MERGE_IPAM},
    {"networks.*.ipam.options", FORM_AS_IS, MERGE_DEEP},
    {"networks.*.labels", FORM_KV_MAP, MERGE_KV},
    {"volumes.*", FORM_EXTERNAL, MERGE_DEEP},
    {"volumes.*.name", FORM_AS_IS, MERGE_DEEP},
    {"volumes.*.driver", FORM_AS_IS, MERGE_DEEP},
    {"volumes.*.driver_opts", FORM_AS_IS, MERGE_DEEP},
    {"volumes.*.external", FORM_AS_IS, MERGE_DEEP},
    {"volumes.*.labels", FORM_KV_MAP, MERGE_KV},
    {"secrets.*", FORM_EXTERNAL, MERGE_DEEP},
    {"secrets.*.name", FORM_AS_IS, MERGE_DEEP},
    {"secrets.*.file", FORM_PATH, MERGE_DEEP},
    {"secrets.*.environment", FORM_AS_IS, MERGE_DEEP},
    {"secrets.*.content", FORM_AS_IS, MERGE_DEEP},
    {"secrets.*.external", FORM_AS_IS, MERGE_DEEP},
    {"secrets.*.driver", FORM_AS_IS, MERGE_DEEP},
    {"secrets.*.driver_opts", FORM_AS_IS, MERGE_DEEP},
    {"secrets.*.template_driver", FORM_AS_IS, MERGE_DEEP},
    {"secrets.*.labels", FORM_KV_MAP, MERGE_KV},
    {"configs.*", FORM_EXTERNAL, MERGE_DEEP},
    {"configs.*.name", FORM_AS_IS, MERGE_DEEP},
    {"configs.*.file", FORM_PATH, MERGE_DEEP},
    {"configs.*.environment", FORM_AS_IS, MERGE_DEEP},
    {"configs.*.content", FORM_AS_IS, MERGE_DEEP},
    {"configs.*.external", FORM_AS_IS, MERGE_DEEP},
    {"configs.*.template_driver", FORM_AS_IS, MERGE_DEEP},
    {"configs.*.labels", FORM_KV_MAP, MERGE_KV},
    {"models.*.model", FORM_AS_IS, MERGE_DEEP},
    {"models.*.context_size", FORM_AS_IS, MERGE_DEEP},
    {"models.*.runtime_flags", FORM_AS_IS, MERGE_DEEP},

    /* a service, A to Z (build and its keys first: see above) */
    {"services.*.build", FORM_BUILD, MERGE_DEEP},
    {"services.*.build.context", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.dockerfile", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.dockerfile_inline", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.target", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.network", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.isolation", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.ssh", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.entitlements", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.provenance", FORM_STRING, MERGE_DEEP},
    {"services.*.build.sbom", FORM_STRING, MERGE_DEEP},
    {"services.*.build.args", FORM_KV_MAP, MERGE_KV},
    {"services.*.build.labels", FORM_KV_MAP, MERGE_KV},
    {"services.*.build.additional_contexts", FORM_KV_PATHS, MERGE_KV},
    {"services.*.build.extra_hosts", FORM_HOSTS, MERGE_SET},
    {"services.*.build.tags", FORM_AS_IS, MERGE_SET},
    {"services.*.build.platforms", FORM_AS_IS, MERGE_SET},
    {"services.*.build.no_cache", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.build.pull", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.build.privileged", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.build.cache_from", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.cache_to", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.secrets", FORM_MOUNT, MERGE_SECRETS},
    {"services.*.build.secrets.*.mode", FORM_FILE_MODE, MERGE_DEEP},
    {"services.*.build.ulimits", FORM_AS_IS, MERGE_DEEP},
    {"services.*.build.shm_size", FORM_BYTES, MERGE_DEEP},
    {"services.*.annotations", FORM_KV_MAP, MERGE_KV},
    {"services.*.attach", FORM_AS_IS, MERGE_DEEP},
    {"services.*.blkio_config", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cap_add", FORM_AS_IS, MERGE_SET},
    {"services.*.cap_drop", FORM_AS_IS, MERGE_SET},
    {"services.*.cgroup", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cgroup_parent", FORM_AS_IS, MERGE_DEEP},
    {"services.*.command", FORM_COMMAND, MERGE_REPLACE},
    {"services.*.configs", FORM_MOUNT, MERGE_CONFIGS},
    {"services.*.configs.*.mode", FORM_FILE_MODE, MERGE_DEEP},
    {"services.*.container_name", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpu_count", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpu_percent", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpu_period", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpu_quota", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpu_rt_period", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpu_rt_runtime", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpu_shares", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpus", FORM_AS_IS, MERGE_DEEP},
    {"services.*.cpuset", FORM_AS_IS, MERGE_DEEP},
    {"services.*.credential_spec", FORM_AS_IS, MERGE_DEEP},
    {"services.*.depends_on", FORM_DEPENDS_ON, MERGE_DEEP},
    {"services.*.depends_on.*.restart", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.deploy", FORM_AS_IS, MERGE_DEEP},
    {"services.*.deploy.labels", FORM_KV_MAP, MERGE_KV},
    {"services.*.deploy.resources.limits.memory", FORM_BYTES, MERGE_DEEP},
    {"services.*.deploy.resources.reservations.memory", FORM_BYTES, MERGE_DEEP},
    {"services.*.deploy.resources.reservations.devices", FORM_GPUS, MERGE_DEEP},
    {"services.*.develop", FORM_AS_IS, MERGE_DEEP},
    {"services.*.develop.watch", FORM_AS_IS, MERGE_DEEP},
    {"services.*.develop.watch.*.path", FORM_PATH, MERGE_DEEP},
    {"services.*.develop.watch.*.ignore", FORM_LIST, MERGE_DEEP},
    {"services.*.develop.watch.*.include", FORM_LIST, MERGE_DEEP},
    {"services.*.develop.watch.*.initial_sync", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.device_cgroup_rules", FORM_AS_IS, MERGE_SET},
    {"services.*.devices", FORM_DEVICES, MERGE_DEVICES},
    {"services.*.dns", FORM_LIST, MERGE_SET},
    {"services.*.dns_opt", FORM_AS_IS, MERGE_SET},
    {"services.*.dns_search", FORM_LIST, MERGE_SET},
    {"services.*.domainname", FORM_AS_IS, MERGE_DEEP},
    {"services.*.entrypoint", FORM_COMMAND, MERGE_REPLACE},
    {"services.*.env_file", FORM_ENV_FILE, MERGE_ENV_FILE},
    {"services.*.environment", FORM_KV_MAP, MERGE_KV},
    {"services.*.expose", FORM_LIST, MERGE_SET},
    {"services.*.extends", FORM_EXTENDS, MERGE_DEEP},
    {"services.*.external_links", FORM_AS_IS, MERGE_SET},
    {"services.*.extra_hosts", FORM_HOSTS, MERGE_SET},
    {"services.*.gpus", FORM_GPUS, MERGE_DEEP},
    {"services.*.group_add", FORM_AS_IS, MERGE_SET},
    {"services.*.healthcheck", FORM_AS_IS, MERGE_DEEP},
    {"services.*.healthcheck.test", FORM_TEST, MERGE_REPLACE},
    {"services.*.healthcheck.disable", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.healthcheck.interval", FORM_DURATION, MERGE_DEEP},
    {"services.*.healthcheck.timeout", FORM_DURATION, MERGE_DEEP},
    {"services.*.healthcheck.start_period", FORM_DURATION, MERGE_DEEP},
    {"services.*.healthcheck.start_interval", FORM_DURATION, MERGE_DEEP},
    {"services.*.hostname", FORM_AS_IS, MERGE_DEEP},
    {"services.*.image", FORM_AS_IS, MERGE_DEEP},
    {"services.*.init", FORM_AS_IS, MERGE_DEEP},
    {"services.*.ipc", FORM_AS_IS, MERGE_DEEP},
    {"services.*.isolation", FORM_AS_IS, MERGE_DEEP},
    {"services.*.label_file", FORM_LIST, MERGE_SET},
    {"services.*.labels", FORM_KV_MAP, MERGE_KV},
    {"services.*.links", FORM_AS_IS, MERGE_SET},
    {"services.*.logging", FORM_AS_IS, MERGE_LOGGING},
    {"services.*.mac_address", FORM_AS_IS, MERGE_DEEP},
    {"services.*.mem_limit", FORM_BYTES, MERGE_DEEP},
    {"services.*.mem_reservation", FORM_BYTES, MERGE_DEEP},
    {"services.*.mem_swappiness", FORM_BYTES, MERGE_DEEP}, /* Compose reads it as a size too */
    {"services.*.memswap_limit", FORM_BYTES, MERGE_DEEP},
    {"services.*.models", FORM_NAME_MAP, MERGE_DEEP},
    {"services.*.network_mode", FORM_AS_IS, MERGE_DEEP},
    {"services.*.networks", FORM_NAME_MAP, MERGE_DEEP},
    {"services.*.networks.*", FORM_AS_IS, MERGE_NET_ENTRY},
    {"services.*.networks.*.aliases", FORM_AS_IS, MERGE_SET},
    {"services.*.networks.*.link_local_ips", FORM_AS_IS, MERGE_SET},
    {"services.*.oom_kill_disable", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.oom_score_adj", FORM_AS_IS, MERGE_DEEP},
    {"services.*.pid", FORM_AS_IS, MERGE_DEEP},
    {"services.*.pids_limit", FORM_AS_IS, MERGE_DEEP},
    {"services.*.platform", FORM_AS_IS, MERGE_DEEP},
    {"services.*.ports", FORM_PORTS, MERGE_PORTS},
    {"services.*.post_start", FORM_AS_IS, MERGE_DEEP},
    {"services.*.post_start.*.command", FORM_COMMAND, MERGE_DEEP},
    {"services.*.post_start.*.privileged", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.pre_stop", FORM_AS_IS, MERGE_DEEP},
    {"services.*.pre_stop.*.command", FORM_COMMAND, MERGE_DEEP},
    {"services.*.pre_stop.*.privileged", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.privileged", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.profiles", FORM_AS_IS, MERGE_SET},
    {"services.*.provider", FORM_AS_IS, MERGE_DEEP},
    {"services.*.pull_policy", FORM_AS_IS, MERGE_DEEP},
    {"services.*.read_only", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.restart", FORM_AS_IS, MERGE_DEEP},
    {"services.*.runtime", FORM_AS_IS, MERGE_DEEP},
    {"services.*.scale", FORM_AS_IS, MERGE_DEEP},
    {"services.*.secrets", FORM_MOUNT, MERGE_SECRETS},
    {"services.*.secrets.*.mode", FORM_FILE_MODE, MERGE_DEEP},
    {"services.*.security_opt", FORM_AS_IS, MERGE_SET},
    {"services.*.shm_size", FORM_BYTES, MERGE_DEEP},
    {"services.*.stdin_open", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.stop_grace_period", FORM_DURATION, MERGE_DEEP},
    {"services.*.stop_signal", FORM_AS_IS, MERGE_DEEP},
    {"services.*.storage_opt", FORM_AS_IS, MERGE_DEEP},
    {"services.*.sysctls", FORM_KV_MAP, MERGE_KV},
    {"services.*.tmpfs", FORM_LIST, MERGE_SET},
    {"services.*.tty", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.ulimits", FORM_AS_IS, MERGE_DEEP},
    {"services.*.use_api_socket", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.user", FORM_AS_IS, MERGE_DEEP},
    {"services.*.userns_mode", FORM_AS_IS, MERGE_DEEP},
    {"services.*.uts", FORM_AS_IS, MERGE_DEEP},
    {"services.*.volumes", FORM_VOLUMES, MERGE_VOLUMES},
    {"services.*.volumes.*.read_only", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.volumes.*.volume.nocopy", FORM_FALSE_OUT, MERGE_DEEP},
    {"services.*.volumes_from", FORM_AS_IS, MERGE_SET},
    {"services.*.working_dir", FORM_AS_IS, MERGE_DEEP},
    /* tend's own: seed steps run in order, and appending an override's
     * steps would run the shared ones twice */
    {"services.*.x-tend.seed", FORM_AS_IS, MERGE_REPLACE},
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

const KeySpec *keys_lookup(const char *const *comps, size_t depth)
{
    for (size_t i = 0; i < ARRAY_SIZE(table); i++)
        if (keys_match(table[i].path, comps, depth))
            return &table[i];
    return NULL;
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
        [MERGE_NET_ENTRY] = "deep, null keeps",
    };
    return (unsigned)m < MERGE_MAX ? t[m] : "?";
}
