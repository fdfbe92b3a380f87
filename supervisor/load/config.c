/* config: the loader's driver. It finds the services files, builds the
 * interpolation environment, runs each file through the per-file stages
 * (YAML, interpolation, schema, canonical form, include, extends), merges
 * the files in order and hands the result to the model. Per-file errors
 * stop the load before merging, so that one typo does not come back as a
 * cascade of cross-service errors. */
#include "load/config.h"

#include "load/canon.h"
#include "load/dotenv.h"
#include "load/envs.h"
#include "load/interp.h"
#include "load/merge.h"
#include "load/schema.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

void config_options_free(ConfigOptions *o)
{
    strvec_free(&o->files);
    strvec_free(&o->env_files);
    strvec_free(&o->profiles);
    strvec_free(&o->services);
}

char *project_name_normalize(const char *s)
{
    if (!s)
        return NULL;
    StrBuf b;
    strbuf_init(&b, 0);
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok)
            continue;
        if (b.len == 0 && (c == '_' || c == '-'))
            continue; /* must start with a letter or digit */
        strbuf_putc(&b, c);
    }
    if (b.len == 0) {
        strbuf_free(&b);
        return NULL;
    }
    return strbuf_steal(&b);
}

static bool name_valid(const char *s)
{
    _cleanup_free_ char *n = project_name_normalize(s);
    return n && streq(n, s);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- discovery ---- */

/* The drop-ins services.d/NAME.yaml (and .yml), in lexical order. */
static void dropins(const char *dir, StrVec *out)
{
    _cleanup_free_ char *dd = path_join(dir, "services.d");
    DIR *d = opendir(dd);
    if (!d)
        return;
    StrVec names = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && (str_endswith(e->d_name, ".yaml") || str_endswith(e->d_name, ".yml")))
            strvec_push(&names, e->d_name);
    closedir(d);
    strvec_sort(&names);
    for (size_t i = 0; i < names.n; i++) {
        char *p = path_join(dd, names.v[i]);
        if (is_file(p))
            strvec_push_take(out, p);
        else
            free(p);
    }
    strvec_free(&names);
}

static const char *const compose_names[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
                                            "docker-compose.yaml"};
static const char *const override_names[] = {"compose.override.yaml", "compose.override.yml",
                                             "docker-compose.override.yml",
                                             "docker-compose.override.yaml"};

/* In the current folder or the nearest parent that has one: services.yaml
 * with its drop-ins (or the drop-ins alone), else a compose file with its
 * override companion. Sets *ret_dir to the folder where they were found. */
static int discover(const char *cwd, StrVec *files, char **ret_dir, StrVec *looked)
{
    _cleanup_free_ char *dir = xstrdup(cwd);
    for (;;) {
        /* A file made or removed here changes the folder's time. */
        strvec_push(looked, dir);
        _cleanup_free_ char *dd = path_join(dir, "services.d");
        if (is_dir(dd))
            strvec_push(looked, dd);
        _cleanup_free_ char *main = path_join(dir, "services.yaml");
        bool have_main = is_file(main);
        StrVec di = {0};
        dropins(dir, &di);
        if (have_main || di.n > 0) {
            if (have_main)
                strvec_push(files, main);
            for (size_t i = 0; i < di.n; i++)
                strvec_push(files, di.v[i]);
            strvec_free(&di);
            *ret_dir = TAKE_PTR(dir);
            return 0;
        }
        strvec_free(&di);
        for (size_t i = 0; i < ARRAY_SIZE(compose_names); i++) {
            _cleanup_free_ char *c = path_join(dir, compose_names[i]);
            if (!is_file(c))
                continue;
            strvec_push(files, c);
            for (size_t k = 0; k < ARRAY_SIZE(override_names); k++) {
                _cleanup_free_ char *ov = path_join(dir, override_names[k]);
                if (is_file(ov)) {
                    strvec_push(files, ov);
                    break;
                }
            }
            *ret_dir = TAKE_PTR(dir);
            return 0;
        }
        if (streq(dir, "/"))
            return -ENOENT;
        char *up = path_dirname(dir);
        free(dir);
        dir = up;
    }
}

/* ---- loading one file ---- */

typedef struct Loader {
    const ConfigOptions *o;
    Arena *a;
    Diag *d;
    Env *env;
    StrVec *ignored;
    StrVec *inputs;      /* files read, for stamps */
    StrVec stack;        /* files being included, for cycles */
    StrVec cache_paths;  /* files loaded for extends */
    Node **cache_roots;
    size_t depth;
} Loader;

static Node *load_tree(Loader *l, const char *path, const char *data, size_t len, const char *base_dir)
{
    size_t errors0 = l->d->errors;
    Node *root;
    if (data)
        root = yaml_load(l->a, path, data, len, l->d, 0);
    else
        root = yaml_load_file(l->a, path, l->d);
    if (!data)
        strvec_push(l->inputs, path);
    if (!root)
        return NULL;
    if (root->kind != NODE_MAP) {
        if (node_is_null(root))
            return node_new(l->a, NODE_MAP, &root->loc);
        diag_error(l->d, &root->loc, "a services file must be a mapping, not %s", node_kind_name(root));
        return NULL;
    }
    if (!l->o->no_interpolate)
        interp_tree(l->a, root, env_lookup, l->env, l->d);
    schema_check_file(root, l->d, l->ignored);
    if (l->d->errors > errors0)
        return NULL;
    canon_file(l->a, root, base_dir, l->d);
    if (l->d->errors > errors0)
        return NULL;
    return root;
}

static Node *file_for_extends(Loader *l, const char *path, const Loc *loc)
{
    for (size_t i = 0; i < l->cache_paths.n; i++)
        if (streq(l->cache_paths.v[i], path))
            return l->cache_roots[i];
    if (!is_file(path)) {
        diag_error(l->d, loc, "extends: cannot read %s: %s", path, strerror(errno ? errno : ENOENT));
        return NULL;
    }
    _cleanup_free_ char *dir = path_dirname(path);
    Node *root = load_tree(l, path, NULL, 0, dir);
    if (!root)
        return NULL;
    strvec_push(&l->cache_paths, path);
    l->cache_roots = xrealloc(l->cache_roots, l->cache_paths.n * sizeof(Node *));
    l->cache_roots[l->cache_paths.n - 1] = root;
    return root;
}

/* Replaces a service that extends another by the merge of its (resolved)
 * base and itself. Paths in a base from another file were already made
 * absolute against that file's folder, so they keep their meaning. */
static Node *resolve_extends(Loader *l, Node *root, const char *file, const char *name, StrVec *chain)
{
    Node *services = node_get(root, "services");
    ssize_t idx = node_index(services, name);
    if (idx < 0)
        return NULL;
    Node *svc = services->vals[idx];
    Node *ext = node_get(svc, "extends");
    if (!ext || ext->kind != NODE_MAP)
        return svc;
    _cleanup_free_ char *key = xasprintf("%s#%s", file, name);
    if (strvec_contains(chain, key) || chain->n > 64) {
        StrBuf b;
        strbuf_init(&b, 0);
        for (size_t i = 0; i < chain->n; i++)
            strbuf_printf(&b, "%s -> ", strchr(chain->v[i], '#') + 1);
        strbuf_puts(&b, name);
        diag_error(l->d, &ext->loc, "services.%s.extends: circular extends: %s", name, b.data);
        strbuf_free(&b);
        node_map_remove(svc, "extends");
        return svc;
    }
    const char *bfile = node_is_scalar(node_get(ext, "file")) ? node_get(ext, "file")->str : NULL;
    const Node *bname_n = node_get(ext, "service");
    const char *bname = node_is_scalar(bname_n) ? bname_n->str : NULL;
    if (!bname) {
        node_map_remove(svc, "extends");
        return svc;
    }
    Node *broot = root;
    const char *bpath = file;
    if (bfile && !streq(bfile, file)) {
        broot = file_for_extends(l, bfile, &node_get(ext, "file")->loc);
        bpath = bfile;
        if (!broot) {
            node_map_remove(svc, "extends");
            return svc;
        }
    }
    if (!node_get(node_get(broot, "services"), bname)) {
        diag_error(l->d, &bname_n->loc, "services.%s.extends: no service \"%s\" in %s", name, bname, bpath);
        node_map_remove(svc, "extends");
        return svc;
    }
    strvec_push(chain, key);
    Node *base = resolve_extends(l, broot, bpath, bname, chain);
    free(chain->v[--chain->n]);
    chain->v[chain->n] = NULL;
    node_map_remove(svc, "extends");
    Node *merged = merge_service(l->a, node_copy(l->a, base), svc);
    merged->loc = svc->loc;
    services->vals[idx] = merged;
    return merged;
}

static Node *load_full(Loader *l, const char *path, const char *data, size_t len, const char *base_dir);

/* include: each entry's files are loaded as a project of their own (their
 * folder is their base) and their services, volumes and networks are added;
 * a name defined twice is an error, as in Compose. */
static void process_include(Loader *l, Node *root, const char *base_dir)
{
    Node *inc = node_get(root, "include");
    if (!inc)
        return;
    node_map_remove(root, "include");
    if (inc->kind != NODE_SEQ)
        return;
    for (size_t i = 0; i < inc->len; i++) {
        Node *it = inc->vals[i];
        StrVec paths = {0};
        Node *pn = it->kind == NODE_MAP ? node_get(it, "path") : it;
        if (node_is_scalar(pn))
            strvec_push_take(&paths, path_absolute(base_dir, pn->str));
        else if (pn && pn->kind == NODE_SEQ)
            for (size_t k = 0; k < pn->len; k++)
                if (node_is_scalar(pn->vals[k]))
                    strvec_push_take(&paths, path_absolute(base_dir, pn->vals[k]->str));
        if (paths.n == 0) {
            strvec_free(&paths);
            continue;
        }
        const char *pd = it->kind == NODE_MAP && node_is_scalar(node_get(it, "project_directory"))
                             ? node_get(it, "project_directory")->str
                             : NULL;
        _cleanup_free_ char *dir = pd ? path_absolute(base_dir, pd) : path_dirname(paths.v[0]);

        /* An include's env_file adds variables for its own files only. */
        Env env = {0}, *saved = l->env;
        Node *ef = it->kind == NODE_MAP ? node_get(it, "env_file") : NULL;
        if (ef) {
            StrVec efs = {0};
            if (node_is_scalar(ef))
                strvec_push_take(&efs, path_absolute(base_dir, ef->str));
            else if (ef->kind == NODE_SEQ)
                for (size_t k = 0; k < ef->len; k++)
                    if (node_is_scalar(ef->vals[k]))
                        strvec_push_take(&efs, path_absolute(base_dir, ef->vals[k]->str));
            Env fe = {0};
            for (size_t k = 0; k < efs.n; k++) {
                strvec_push(l->inputs, efs.v[k]);
                if (dotenv_load(efs.v[k], env_lookup, l->env, &fe, l->d) == -ENOENT)
                    diag_error(l->d, &ef->loc, "include[%zu].env_file: %s: no such file", i, efs.v[k]);
            }
            for (size_t k = 0; k < l->env->n; k++)
                env_set(&env, l->env->keys[k], l->env->vals[k]);
            env_merge_missing(&env, &fe);
            env_free(&fe);
            strvec_free(&efs);
            l->env = &env;
        }

        Node *sub = NULL;
        for (size_t k = 0; k < paths.n; k++) {
            if (strvec_contains(&l->stack, paths.v[k])) {
                diag_error(l->d, &pn->loc, "include[%zu]: %s includes itself", i, paths.v[k]);
                continue;
            }
            if (!is_file(paths.v[k])) {
                diag_error(l->d, &pn->loc, "include[%zu]: %s: no such file", i, paths.v[k]);
                continue;
            }
            Node *r = load_full(l, paths.v[k], NULL, 0, dir);
            if (r)
                sub = sub ? merge_project(l->a, sub, r) : r;
        }
        l->env = saved;
        env_free(&env);
        strvec_free(&paths);
        if (!sub)
            continue;
        static const char *const sections[] = {"services", "volumes", "networks"};
        for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
            Node *from = node_get(sub, sections[s]);
            if (!from || from->kind != NODE_MAP)
                continue;
            Node *to = node_get(root, sections[s]);
            if (!to || to->kind != NODE_MAP) {
                to = node_new(l->a, NODE_MAP, &from->loc);
                node_map_set(l->a, root, sections[s], to);
            }
            for (size_t k = 0; k < from->len; k++) {
                Node *had = node_get_key(to, from->keys[k]->str);
                if (had) {
                    diag_error(l->d, &had->loc,
                               "%s.%s: already defined by included file %s:%d", sections[s],
                               from->keys[k]->str, from->keys[k]->loc.file ? from->keys[k]->loc.file : "?",
                               from->keys[k]->loc.line);
                    continue;
                }
                node_map_set_node(l->a, to, from->keys[k], from->vals[k]);
            }
        }
    }
}

static Node *load_full(Loader *l, const char *path, const char *data, size_t len, const char *base_dir)
{
    size_t errors0 = l->d->errors;
    if (l->depth > 32) {
        diag_error(l->d, &(Loc){path, 0, 0}, "include: nested more than 32 levels");
        return NULL;
    }
    Node *root = load_tree(l, path, data, len, base_dir);
    if (!root)
        return NULL;
    strvec_push(&l->stack, path);
    l->depth++;
    process_include(l, root, base_dir);
    l->depth--;
    free(l->stack.v[--l->stack.n]);
    l->stack.v[l->stack.n] = NULL;
    Node *services = node_get(root, "services");
    if (services && services->kind == NODE_MAP)
        for (size_t i = 0; i < services->len; i++) {
            if (!node_get(services->vals[i], "extends"))
                continue;
            StrVec chain = {0};
            resolve_extends(l, root, path, services->keys[i]->str, &chain);
            strvec_free(&chain);
        }
    return l->d->errors > errors0 ? NULL : root;
}

/* ---- the environment ---- */

static void split_list(const char *s, const char *seps, StrVec *out)
{
    if (!s)
        return;
    while (*s) {
        size_t n = strcspn(s, seps);
        if (n > 0) {
            char *w = xstrndup(s, n);
            /* trim */
            char *b = w, *e = w + strlen(w);
            while (*b == ' ')
                b++;
            while (e > b && e[-1] == ' ')
                *--e = 0;
            if (*b && !strvec_contains(out, b))
                strvec_push(out, b);
            free(w);
        }
        s += n;
        if (*s)
            s++;
    }
}

/* ---- environments ---- */

/* The environment asked for (--env, else TEND_ENV from the shell, else from
 * .env): its overlay files go after the base files, and its .env.NAME after
 * .env. A discovered compose.override.yaml is left out, as
 * `docker compose -f compose.yaml -f compose.NAME.yaml` leaves it out. */
static int environment_overlay(const ConfigOptions *o, Project *p, bool discovered, Env *shell,
                               Env *fileenv, Diag *d)
{
    const char *name = o->env_name;
    Loc loc = {0}, *at = NULL;
    if (o->base_only)
        return 0;
    if (!name || !*name)
        name = env_get(shell, "TEND_ENV");
    if ((!name || !*name) && env_get(fileenv, "TEND_ENV")) {
        name = env_get(fileenv, "TEND_ENV");
        _cleanup_free_ char *dotenv = path_join(p->workdir, ".env");
        envs_dotenv_loc(p->arena, dotenv, "TEND_ENV", &loc);
        at = &loc;
    }
    if (!name || !*name)
        return 0;
    StrVec *files = &p->config_files;
    if (discovered && files->n > 1)
        for (size_t k = 0; k < ARRAY_SIZE(override_names); k++)
            if (streq(path_basename(files->v[files->n - 1]), override_names[k])) {
                free(files->v[--files->n]);
                files->v[files->n] = NULL;
                break;
            }
    if (envs_resolve(p->workdir, name, at, files, d) < 0)
        return -EINVAL;
    _cleanup_free_ char *dotenv = xasprintf("%s/.env.%s", p->workdir, name);
    if (is_file(dotenv)) {
        dotenv_load(dotenv, env_lookup, shell, fileenv, d);
        strvec_push(&p->inputs, dotenv);
    }
    /* A drop-in made in env/NAME/ changes the environment (stamps). */
    _cleanup_free_ char *dir = xasprintf("%s/env/%s", p->workdir, name);
    if (is_dir(dir))
        strvec_push(&p->inputs, dir);
    return 0;
}

/* ---- the whole load ---- */

static int load(const ConfigOptions *o, const char *mem_name, const char *mem_data, size_t mem_len,
                Project **ret, Diag *d)
{
    char cwdbuf[PATH_MAX];
    const char *cwd = o->cwd;
    if (!cwd) {
        if (!getcwd(cwdbuf, sizeof(cwdbuf))) {
            diag_error(d, NULL, "cannot get the current folder: %s", strerror(errno));
            return -errno;
        }
        cwd = cwdbuf;
    }
    Env shell = {0};
    env_from_environ(&shell, o->environ_ ? o->environ_ : environ);

    StrVec files = {0};
    StrVec inputs = {0};
    _cleanup_free_ char *found_dir = NULL;
    int r = 0;
    if (mem_name) {
        strvec_push_take(&files, path_absolute(cwd, mem_name));
    } else if (o->files.n > 0) {
        for (size_t i = 0; i < o->files.n; i++)
            strvec_push_take(&files, path_absolute(cwd, o->files.v[i]));
    } else if (env_get(&shell, "COMPOSE_FILE") && *env_get(&shell, "COMPOSE_FILE")) {
        StrVec cf = {0};
        split_list(env_get(&shell, "COMPOSE_FILE"), env_get(&shell, "COMPOSE_PATH_SEPARATOR")
                                                        ? env_get(&shell, "COMPOSE_PATH_SEPARATOR")
                                                        : ":",
                   &cf);
        for (size_t i = 0; i < cf.n; i++)
            strvec_push_take(&files, path_absolute(cwd, cf.v[i]));
        strvec_free(&cf);
    } else if (discover(cwd, &files, &found_dir, &inputs) < 0) {
        diag_error(d, NULL,
                   "no services file found in %s or its parents (looked for services.yaml, services.d/*.yaml, "
                   "compose.yaml, compose.yml, docker-compose.yml and docker-compose.yaml); "
                   "name one with -f FILE",
                   cwd);
        env_free(&shell);
        strvec_free(&files);
        strvec_free(&inputs);
        return -ENOENT;
    }
    if (!mem_name)
        for (size_t i = 0; i < files.n; i++)
            if (!is_file(files.v[i])) {
                diag_error(d, NULL, "%s: %s", files.v[i], is_dir(files.v[i]) ? "is a folder" : "no such file");
                r = -ENOENT;
            }
    if (r < 0) {
        env_free(&shell);
        strvec_free(&files);
        strvec_free(&inputs);
        return r;
    }

    Project *p = xcalloc(1, sizeof(*p));
    p->arena = arena_new();
    if (o->project_dir)
        p->workdir = path_absolute(cwd, o->project_dir);
    else if (found_dir)
        p->workdir = xstrdup(found_dir);
    else
        p->workdir = path_dirname(files.v[0]);
    p->config_files = files;
    p->inputs = inputs;
    strvec_push(&p->inputs, p->workdir); /* a .env made there */

    /* Interpolation environment: the shell wins over --env-file, which wins
     * over .env.NAME of the environment, which wins over .env in the
     * project folder. */
    Env fileenv = {0};
    _cleanup_free_ char *dotenv = path_join(p->workdir, ".env");
    if (is_file(dotenv)) {
        dotenv_load(dotenv, env_lookup, &shell, &fileenv, d);
        strvec_push(&p->inputs, dotenv);
    }
    if (!mem_name && environment_overlay(o, p, found_dir != NULL, &shell, &fileenv, d) < 0) {
        env_free(&shell);
        env_free(&fileenv);
        project_free(p);
        return -EINVAL;
    }
    for (size_t i = 0; i < o->env_files.n; i++) {
        _cleanup_free_ char *ef = path_absolute(cwd, o->env_files.v[i]);
        strvec_push(&p->inputs, ef);
        if (dotenv_load(ef, env_lookup, &shell, &fileenv, d) == -ENOENT)
            diag_error(d, NULL, "--env-file %s: no such file", ef);
    }
    p->env = shell;
    env_merge_missing(&p->env, &fileenv);
    env_free(&fileenv);
    if (d->errors) {
        project_free(p);
        return -EINVAL;
    }

    /* Load every file, then merge in order. */
    Loader l = {.o = o, .a = p->arena, .d = d, .env = &p->env, .ignored = &p->ignored, .inputs = &p->inputs};
    Node *merged = NULL;
    bool bad = false;
    for (size_t i = 0; i < p->config_files.n; i++) {
        const char *f = p->config_files.v[i];
        Node *root = load_full(&l, f, mem_name ? mem_data : NULL, mem_len, p->workdir);
        if (!root) {
            bad = true;
            continue;
        }
        merged = merged ? merge_project(p->arena, merged, root) : root;
    }
    strvec_free(&l.stack);
    strvec_free(&l.cache_paths);
    free(l.cache_roots);
    if (bad || d->errors) {
        project_free(p);
        return -EINVAL;
    }
    merge_strip_tags(merged);
    merge_unique(p->arena, merged);
    if (schema_check_merged(merged, d)) {
        project_free(p);
        return -EINVAL;
    }
    canon_merged(p->arena, merged, p->workdir);
    p->tree = merged;

    /* Project name: -p, COMPOSE_PROJECT_NAME, name:, then the folder. */
    const char *given = o->project_name;
    const char *what = "-p";
    const Node *nn = node_get(merged, "name");
    if (!given && env_get(&p->env, "COMPOSE_PROJECT_NAME") && *env_get(&p->env, "COMPOSE_PROJECT_NAME")) {
        given = env_get(&p->env, "COMPOSE_PROJECT_NAME");
        what = "COMPOSE_PROJECT_NAME";
    }
    if (!given && node_is_scalar(nn)) {
        given = nn->str;
        what = "name";
    }
    if (given) {
        if (!name_valid(given)) {
            diag_error(d, streq(what, "name") ? &nn->loc : NULL,
                       "%s: invalid project name \"%s\": use lower-case letters, digits, '-' and '_', "
                       "starting with a letter or digit",
                       what, given);
            project_free(p);
            return -EINVAL;
        }
        p->name = xstrdup(given);
    } else {
        p->name = project_name_normalize(path_basename(p->workdir));
        if (!p->name) {
            diag_error(d, NULL, "cannot make a project name from the folder \"%s\"; use -p NAME",
                       p->workdir);
            project_free(p);
            return -EINVAL;
        }
    }

    /* Profiles: --profile, then COMPOSE_PROFILES and TEND_PROFILES. */
    StrVec profiles = {0};
    for (size_t i = 0; i < o->profiles.n; i++)
        split_list(o->profiles.v[i], ",", &profiles);
    split_list(env_get(&p->env, "COMPOSE_PROFILES"), ",", &profiles);
    split_list(env_get(&p->env, "TEND_PROFILES"), ",", &profiles);
    ModelOptions mo = {.profiles = &profiles, .services = &o->services, .all_profiles = o->all_profiles};
    model_build(p, &mo, d);
    strvec_free(&profiles);
    if (d->errors) {
        project_free(p);
        return -EINVAL;
    }
    canon_finish(p->arena, p->tree);

    /* Ignored keys, once each. */
    StrVec ig = {0};
    for (size_t i = 0; i < p->ignored.n; i++)
        if (!strvec_contains(&ig, p->ignored.v[i]))
            strvec_push(&ig, p->ignored.v[i]);
    strvec_free(&p->ignored);
    p->ignored = ig;
    *ret = p;
    return 0;
}

int config_load(const ConfigOptions *o, Project **ret, Diag *d)
{
    return load(o, NULL, NULL, 0, ret, d);
}

int config_load_string(const ConfigOptions *o, const char *name, const char *data, size_t len,
                       Project **ret, Diag *d)
{
    return load(o, name, data, len, ret, d);
}

int config_load_report(const ConfigOptions *o, Project **ret)
{
    Diag d = {0};
    int r = config_load(o, ret, &d);
    for (size_t i = 0; i < d.msgs.n; i++)
        fprintf(stderr, "%s\n", d.msgs.v[i]);
    diag_free(&d);
    if (r == 0)
        return 0;
    return r == -EINVAL || r == -ENOENT ? 2 : 1;
}
