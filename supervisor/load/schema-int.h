/* schema-int: the inside of the Compose schema check, in three files:
 * schema-walk.c holds the walk, the messages and the types of single
 * values; schema.c the keys tend runs and x-tend; schema-compose.c the
 * Compose keys tend accepts without running them (deploy, logging,
 * secrets, ...), which are checked all the same, so that a file tend
 * accepts is one docker compose accepts too. Not a public API: only these
 * three files include it. */
#pragma once

#include "load/node.h"

/* What a walk reports: everything (one file alone), everything but the
 * F_MERGED keys a mapping lacks (one of several files: another may bring
 * them), or only those (the merged files, as Compose checks them). */
typedef enum SchemaMode {
    SCHEMA_ALL,
    SCHEMA_FILE,
    SCHEMA_MERGED,
} SchemaMode;

typedef struct Ctx {
    Diag *d;
    StrVec *ignored;
    StrBuf path; /* dotted path of the value being checked */
    size_t errors;
    SchemaMode mode;
} Ctx;

typedef void (*CheckFn)(Ctx *c, const Node *n);

enum {
    F_REQUIRED = 1 << 0,
    F_IGNORED = 1 << 1, /* Compose key that tend accepts but does not run */
    F_MERGED = 1 << 2,  /* required of the merged files, not of each one */
};

/* The types of the Compose schema, as compose reads a YAML value (YAML 1.2
 * through yaml.v3): `1000` is an integer, `true` a boolean, `yes` and
 * "1000" strings, an empty value null. A value that came through ${...}
 * is a string, whatever its text: compose interpolates before it checks. */
enum {
    T_NULL = 1 << 0,
    T_BOOL = 1 << 1,
    T_INT = 1 << 2,
    T_FLOAT = 1 << 3,
    T_STRING = 1 << 4,
    T_MAP = 1 << 5,
    T_SEQ = 1 << 6,
    T_NUMBER = T_INT | T_FLOAT,
};

typedef struct Field {
    const char *name;
    CheckFn check;  /* NULL: no check of its own */
    unsigned flags; /* F_* */
    unsigned types; /* T_* the value may have; 0: any (or as `check` says) */
} Field;

#define FIELDS(t) (t), ARRAY_SIZE(t)

/* ---- the walk and its messages (schema-walk.c) ---- */

size_t schema__path_push_key(Ctx *c, const char *key);
size_t schema__path_push_index(Ctx *c, size_t i);
void schema__path_pop(Ctx *c, size_t old);
/* "PATH: message" at n (the file's start when n is NULL); counts an error. */
void schema__err(Ctx *c, const Node *n, const char *fmt, ...) _printf_(3, 4);
const char *schema__kind_name(const Node *n);
/* Checks each key of m against fields (x- keys pass), then required keys. */
void schema__check_fields(Ctx *c, const Node *m, const Field *fields, size_t n);
/* The same where compose allows no x- keys (env_file entries, blkio_config). */
void schema__check_fields_no_ext(Ctx *c, const Node *m, const Field *fields, size_t n);
/* Each item of the list n with check (after a type check when types). */
void schema__check_items(Ctx *c, const Node *n, CheckFn check, unsigned types);

/* ---- types and formats (schema-walk.c) ---- */

unsigned schema__type(const Node *n);
/* False, after an error naming the allowed types, when n is not one of them. */
bool schema__want_types(Ctx *c, const Node *n, unsigned types);
bool schema__want_map(Ctx *c, const Node *n);
bool schema__want_seq(Ctx *c, const Node *n);
bool schema__want_string(Ctx *c, const Node *n);
bool schema__name_valid(const char *s);
bool schema__check_enum(Ctx *c, const Node *n, const char *what, const char *const *values);
void schema__check_string(Ctx *c, const Node *n);
void schema__check_bool(Ctx *c, const Node *n);
void schema__check_int(Ctx *c, const Node *n);
void schema__check_int_min(Ctx *c, const Node *n, long long min);
void schema__check_number(Ctx *c, const Node *n);
void schema__check_duration(Ctx *c, const Node *n);
void schema__check_size(Ctx *c, const Node *n);
void schema__check_signal(Ctx *c, const Node *n);
void schema__check_list_of_strings(Ctx *c, const Node *n);
void schema__check_string_or_list(Ctx *c, const Node *n);
void schema__check_list_or_dict(Ctx *c, const Node *n);
/* A list of strings (checked here) or a mapping: true when n is the
 * mapping, for the caller to check; anything else is an error. */
bool schema__want_map_or_list(Ctx *c, const Node *n);
void schema__check_dict_of_scalars(Ctx *c, const Node *n);
void schema__check_command(Ctx *c, const Node *n);
void schema__check_hook(Ctx *c, const Node *n);
bool schema__is_reset(const Node *n);
bool schema__want_int(Ctx *c, const Node *n, long long *ret);
void schema__check_scalar(Ctx *c, const Node *n);
void schema__check_int_nonneg(Ctx *c, const Node *n);
void schema__check_int_positive(Ctx *c, const Node *n);
void schema__check_port_int(Ctx *c, const Node *n);
bool schema__signal_valid(const char *s);
/* tend's own x-tend keys: any non-null scalar is text there, a port or a
 * password may be written as a number; exec is a command or a non-empty argv. */
bool schema__want_text(Ctx *c, const Node *n);
void schema__check_text(Ctx *c, const Node *n);
void schema__check_exec(Ctx *c, const Node *n);

/* ---- the Compose keys tend does not run (schema-compose.c) ---- */

void schema__check_deploy(Ctx *c, const Node *n);
void schema__check_logging(Ctx *c, const Node *n);
void schema__check_blkio(Ctx *c, const Node *n);
void schema__check_credential_spec(Ctx *c, const Node *n);
void schema__check_devices(Ctx *c, const Node *n);
void schema__check_gpus(Ctx *c, const Node *n);
void schema__check_provider(Ctx *c, const Node *n);
void schema__check_svc_models(Ctx *c, const Node *n);
void schema__check_svc_secrets(Ctx *c, const Node *n);
void schema__check_hooks(Ctx *c, const Node *n);
void schema__check_pre_start(Ctx *c, const Node *n);
void schema__check_top_secrets(Ctx *c, const Node *n);
void schema__check_top_configs(Ctx *c, const Node *n);
void schema__check_top_models(Ctx *c, const Node *n);
void schema__check_top_jobs(Ctx *c, const Node *n);
