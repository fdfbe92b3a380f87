/* keys: every key of the Compose specification that has a normal form or a
 * merge rule of its own, in one table. A key is named by its path
 * ("services.*.build.args", "*" matching one component: a service name, a
 * network name, a list index). Its form says what canon turns the ways it
 * may be written into (a "K=V" list and a mapping both become a mapping, a
 * string becomes a one-item list, ...); its merge rule says how merge folds
 * an override file's value onto a base file's (replace it, merge a mapping
 * per key, append a list and drop repeats, merge a list by a key of its
 * items, ...). Keys absent from the table follow the defaults: kept as
 * written, mappings merged per key, lists appended without exact repeats,
 * scalars replaced. The table follows compose-go v2's transform and
 * override packages (the code docker compose v5 runs). */
#pragma once

#include "lib/util.h"

typedef enum KeyForm {
    FORM_AS_IS,      /* kept as written */
    FORM_KV_MAP,     /* "K=V"/"K" list or mapping -> mapping of strings (bare K: null) */
    FORM_KV_PATHS,   /* FORM_KV_MAP whose values are folders (relative ones made absolute) */
    FORM_HOSTS,      /* "host=ip"/"host:ip" list or mapping (ip or ip list) -> "host=ip" list */
    FORM_LIST,       /* a string or a list -> a list of strings */
    FORM_NAME_MAP,   /* a list of names or a mapping -> a mapping (listed name: null) */
    FORM_PATH,       /* a relative path made absolute */
    FORM_DURATION,   /* "1m30s", "90s" -> Go's form ("1m30s") */
    FORM_BYTES,      /* "512m", "1gb" -> a count of bytes */
    FORM_PORTS,      /* "8080:80/udp" -> {target, published, protocol, mode, host_ip} */
    FORM_VOLUMES,    /* "./src:/app:ro" -> {type, source, target, read_only, bind|volume} */
    FORM_ENV_FILE,   /* a path or list -> [{path, required}] */
    FORM_DEPENDS_ON, /* a list of names -> {name: {condition, required}} */
    FORM_BUILD,      /* a context string -> {context, dockerfile} */
    FORM_TEST,       /* healthcheck.test string -> ["CMD-SHELL", string] */
    FORM_COMMAND,    /* a shell string -> argv list (when printed) */
    FORM_MOUNT,      /* secrets/configs: a name -> {source}; a secret gets its target */
    FORM_DEVICES,    /* "/dev/a:/dev/b:rwm" -> {source, target, permissions} */
    FORM_EXTENDS,    /* a service name -> {service}; file made absolute */
    FORM_GPUS,       /* "all" -> [{count: -1}]; a request without count or ids: count -1 (all) */
    FORM_FALSE_OUT,  /* a flag that is false unless set: printed only when true */
    FORM_FILE_MODE,  /* 0440, "440" (octal) or 288 -> "0440" */
    FORM_STRING,     /* true, 1 -> "true", "1" */
    FORM_EXTERNAL,   /* a resource's external: {name: N} -> external: true, name: N */
    FORM_MAX,
} KeyForm;

typedef enum KeyMerge {
    MERGE_DEEP,      /* the default: mappings per key, lists append (no exact repeats), scalars replace */
    MERGE_REPLACE,   /* the override's value wins as a whole */
    MERGE_APPEND,    /* lists append, repeats kept */
    MERGE_SET,       /* lists append, then drop repeats (first one kept) */
    MERGE_KV,        /* mappings per key, "K=V" lists by K */
    MERGE_PORTS,     /* by (host_ip, published, target, protocol) */
    MERGE_VOLUMES,   /* by target */
    MERGE_ENV_FILE,  /* by path */
    MERGE_SECRETS,   /* by target, else /run/secrets/<source> */
    MERGE_CONFIGS,   /* by target, else /<source> */
    MERGE_DEVICES,   /* by the container path */
    MERGE_LOGGING,   /* merged only when the drivers agree, else replaced */
    MERGE_IPAM,      /* ipam.config entries by subnet, merged deep */
    MERGE_MAX,
} KeyMerge;

typedef struct KeySpec {
    const char *path; /* dot-separated, "*" matches one component */
    KeyForm form;
    KeyMerge merge;
    bool unique; /* a list that keeps one item per key of its merge rule even
                  * within one file (Compose's EnforceUnicity) */
} KeySpec;

/* The whole table, in the order canon applies the forms (a parent's form
 * before its children's). */
const KeySpec *keys_table(size_t *ret_n);

/* Whether `pattern` names the path made of comps[0..depth). */
bool keys_match(const char *pattern, const char *const *comps, size_t depth);

/* The entry for a path, or NULL (defaults apply): the table's first entry
 * that matches. */
const KeySpec *keys_lookup(const char *const *comps, size_t depth);

/* The entries under services.*.KEY (KEY itself and its children), in the
 * table's order; *ret_n of them. */
const KeySpec *const *keys_for_service_key(const char *key, size_t *ret_n);

const char *key_form_to_string(KeyForm f);
const char *key_merge_to_string(KeyMerge m);
