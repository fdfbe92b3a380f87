/* tend images | pull | build [SERVICE...]: the services' images. images
 * lists the images of the project's containers as docker compose does
 * (table, json, -q); pull fetches the services' images with their
 * pull_policy as Compose reads it; build builds the images of services
 * with build: (the engine's classic builder, engine/imgbuild.h). Host
 * services have no image: these commands pass them by. */
#include "cli/cli.h"
#include "engine/docker.h"
#include "engine/imgbuild.h"
#include "engine/ops.h"
#include "load/select.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char images_usage[] =
    "Usage: tend images [OPTIONS] [SERVICE...]\n"
    "\n"
    "Lists the images of the project's containers.\n"
    "\n"
    "Options:\n"
    "      --format table|json   output format (default table)\n"
    "  -q, --quiet               only the image IDs\n"
    "  -h, --help                show this help\n";

const char pull_usage[] =
    "Usage: tend pull [OPTIONS] [SERVICE...]\n"
    "\n"
    "Pulls the services' images. pull_policy decides as in Compose: always\n"
    "and none pull, missing pulls what is absent (and :latest), never and\n"
    "build pull nothing; services with build: but no image are passed by.\n"
    "\n"
    "Options:\n"
    "      --policy missing|always   use this pull_policy for every service\n"
    "      --ignore-buildable        pass by services that have build:\n"
    "      --ignore-pull-failures    pull what can be pulled; exit 0\n"
    "      --include-deps            also what the services depend on\n"
    "  -q, --quiet                   no progress\n"
    "  -h, --help                    show this help\n";

const char build_usage[] =
    "Usage: tend build [OPTIONS] [SERVICE...]\n"
    "\n"
    "Builds the images of services with build: (tagged with image:, else\n"
    "PROJECT-SERVICE), through the engine's builder.\n"
    "\n"
    "Options:\n"
    "      --build-arg K=V        a build argument (repeatable; K alone: from the\n"
    "                             environment)\n"
    "      --no-cache             nothing from the build cache\n"
    "      --pull                 pull the FROM images again\n"
    "      --with-dependencies    also what the services depend on\n"
    "  -q, --quiet                no build output\n"
    "  -h, --help                 show this help\n";

/* ---- images ---- */

/* "tend/busybox" -> "tend/busybox" and "latest"; "docker.io/library/redis:7"
 * -> "redis" and "7"; an image ID -> "" and "", as Compose shows them. */
static void repo_tag(const char *image, char **ret_repo, char **ret_tag)
{
    if (!image || str_startswith(image, "sha256:")) {
        *ret_repo = xstrdup("");
        *ret_tag = xstrdup("");
        return;
    }
    char *name, *tag;
    ops_image_ref_split(image, &name, &tag);
    char *at = strchr(name, '@');
    if (at)
        *at = '\0';
    const char *n = name;
    if (str_startswith(n, "docker.io/"))
        n += strlen("docker.io/");
    if (str_startswith(n, "library/") && !strchr(n + strlen("library/"), '/'))
        n += strlen("library/");
    *ret_repo = xstrdup(n);
    *ret_tag = tag ? tag : xstrdup("");
    free(name);
}

static time_t parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return timegm(&tm);
}

static int json_name_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "ContainerName")),
                  json_string_value(json_object_get(y, "ContainerName")));
}

int cmd_images(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_FORMAT = 256 };
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *format = "table";
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            if (!streq(optarg, "table") && !streq(optarg, "json")) {
                fprintf(stderr, "tend images: --format must be table or json, not \"%s\"\n", optarg);
                return 2;
            }
            format = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(images_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend images --help' for usage.\n", stderr);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_named(o, "images", argc - optind, argv + optind, true, &p, &names);
    if (r)
        return r;
    char *err = NULL;
    OpsSession *ops = ops_open(&err);
    json_t *list = NULL;
    int status = 0;
    if (!ops || ops_containers(ops, p->name, &names, true, true, &list, &err) < 0) {
        fprintf(stderr, "tend images: %s\n", err);
        free(err);
        ops_close(ops);
        strvec_free(&names);
        project_free(p);
        return 1;
    }
    /* One entry per container, in Compose's JSON shape. */
    size_t n = json_array_size(list);
    json_t **rows = xcalloc(n ? n : 1, sizeof *rows);
    size_t i;
    json_t *ctr;
    json_array_foreach(list, i, ctr)
    {
        const char *image = json_string_value(json_object_get(ctr, "Image"));
        char *repo, *tag;
        repo_tag(image, &repo, &tag);
        json_t *row = json_object();
        _cleanup_free_ char *e = engine_escape(image ? image : "");
        _cleanup_free_ char *path = xasprintf("/images/%s/json", e);
        json_t *img = NULL;
        int st = ops_call(ops, "GET", path, NULL, &img, NULL);
        const char *id = st == 200 ? json_string_value(json_object_get(img, "Id"))
                                   : json_string_value(json_object_get(ctr, "ImageID"));
        json_object_set_new(row, "ID", json_string(id ? id : ""));
        json_object_set_new(row, "ContainerName", json_string(ops_ctr_name(ctr)));
        json_object_set_new(row, "Repository", json_string(repo));
        json_object_set_new(row, "Tag", json_string(tag));
        if (st == 200) {
            const char *os = json_string_value(json_object_get(img, "Os"));
            const char *arch = json_string_value(json_object_get(img, "Architecture"));
            const char *variant = json_string_value(json_object_get(img, "Variant"));
            _cleanup_free_ char *plat = variant && *variant ? xasprintf("%s/%s/%s", os ? os : "", arch ? arch : "", variant)
                                                            : xasprintf("%s/%s", os ? os : "", arch ? arch : "");
            json_object_set_new(row, "Platform", json_string(os && arch ? plat : "unknown"));
            json_object_set_new(row, "Size", json_integer(json_integer_value(json_object_get(img, "Size"))));
            json_t *created = json_object_get(img, "Created");
            if (json_string_value(created) && *json_string_value(created))
                json_object_set(row, "Created", created);
            const char *ltt = json_string_value(json_object_get(json_object_get(img, "Metadata"), "LastTagTime"));
            if (ltt && !str_startswith(ltt, "0001-01-01"))
                json_object_set_new(row, "LastTagTime", json_string(ltt));
        } else {
            json_object_set_new(row, "Platform", json_string("unknown"));
            json_object_set_new(row, "Size", json_integer(0));
        }
        json_decref(img);
        free(repo);
        free(tag);
        rows[i] = row;
    }
    qsort(rows, n, sizeof *rows, json_name_cmp);
    if (quiet) {
        StrVec seen = {0};
        for (size_t k = 0; k < n; k++) {
            const char *id = json_string_value(json_object_get(rows[k], "ID"));
            const char *colon = strchr(id, ':');
            const char *bare = colon ? colon + 1 : id;
            if (!strvec_contains(&seen, bare)) {
                strvec_push(&seen, bare);
                printf("%s\n", bare);
            }
        }
        strvec_free(&seen);
    } else if (streq(format, "json")) {
        json_t *arr = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append(arr, rows[k]);
        char *txt = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", txt);
        free(txt);
        json_decref(arr);
    } else {
        StrVec t = {0};
        static const char *const head[] = {"CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE", "CREATED"};
        for (size_t k = 0; k < ARRAY_SIZE(head); k++)
            strvec_push(&t, head[k]);
        for (size_t k = 0; k < n; k++) {
            json_t *row = rows[k];
            const char *repo = json_string_value(json_object_get(row, "Repository"));
            const char *tag = json_string_value(json_object_get(row, "Tag"));
            const char *id = json_string_value(json_object_get(row, "ID"));
            const char *colon = strchr(id, ':');
            char size[32], ago[32];
            cli_human_size((double)json_integer_value(json_object_get(row, "Size")), size);
            strvec_push(&t, json_string_value(json_object_get(row, "ContainerName")));
            strvec_push(&t, *repo ? repo : "<none>");
            strvec_push(&t, *tag ? tag : "<none>");
            strvec_push(&t, json_string_value(json_object_get(row, "Platform")));
            strvec_push_take(&t, xstrndup(colon ? colon + 1 : id, 12));
            strvec_push(&t, size);
            const char *created = json_string_value(json_object_get(row, "Created"));
            if (created) {
                cli_human_duration((int64_t)(time(NULL) - parse_rfc3339(created)), ago);
                strvec_push_take(&t, xasprintf("%s ago", ago));
            } else {
                strvec_push(&t, "N/A");
            }
        }
        cli_table_print(stdout, &t, ARRAY_SIZE(head), 20, 3);
        strvec_free(&t);
    }
    for (size_t k = 0; k < n; k++)
        json_decref(rows[k]);
    free(rows);
    json_decref(list);
    ops_close(ops);
    strvec_free(&names);
    project_free(p);
    return fflush(stdout) == 0 ? status : 1;
}

/* ---- pull ---- */

typedef struct Pulling {
    const char *image;
    const Service *s;
    bool quiet;
    bool done, ok;
    char *err;
    int *left;
} Pulling;

static void on_pull_line(void *ud, const char *line)
{
    Pulling *pl = ud;
    if (!pl->quiet)
        fprintf(stderr, "   %s %s\n", pl->s->name, line);
}

static void on_pulled(void *ud, bool ok, const char *err)
{
    Pulling *pl = ud;
    pl->done = true;
    pl->ok = ok;
    pl->err = err ? xstrdup(err) : NULL;
    (*pl->left)--;
}

/* Compose's rule (shouldPullImage): no policy, always: pull; missing and
 * if_not_present: when absent, or a :latest tag; never, build: not. */
static bool wants_pull(OpsSession *ops, const Service *s, const char *policy, const char **ret_why)
{
    if (!policy || streq(policy, "always") || str_startswith(policy, "daily") ||
        str_startswith(policy, "weekly") || str_startswith(policy, "every_") || streq(policy, "refresh"))
        return true;
    if (streq(policy, "missing") || streq(policy, "if_not_present")) {
        char *name, *tag;
        ops_image_ref_split(s->image, &name, &tag);
        bool latest = tag && streq(tag, "latest");
        free(name);
        free(tag);
        if (latest)
            return true;
        _cleanup_free_ char *e = engine_escape(s->image);
        _cleanup_free_ char *path = xasprintf("/images/%s/json", e);
        if (ops_call(ops, "GET", path, NULL, NULL, NULL) != 200)
            return true;
        *ret_why = "Image is already present locally";
        return false;
    }
    *ret_why = streq(policy, "never") ? "pull_policy is never" : "pull_policy is build";
    return false;
}

int cmd_pull(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_POLICY = 256, OPT_IGNORE_BUILDABLE, OPT_IGNORE_FAILURES, OPT_INCLUDE_DEPS, OPT_IGNORED };
    static const struct option opts[] = {
        {"policy", required_argument, NULL, OPT_POLICY},
        {"ignore-buildable", no_argument, NULL, OPT_IGNORE_BUILDABLE},
        {"ignore-pull-failures", no_argument, NULL, OPT_IGNORE_FAILURES},
        {"include-deps", no_argument, NULL, OPT_INCLUDE_DEPS},
        {"parallel", no_argument, NULL, OPT_IGNORED},
        {"no-parallel", no_argument, NULL, OPT_IGNORED},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *policy = NULL;
    bool ignore_buildable = false, ignore_failures = false, include_deps = false, quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_POLICY:
            if (!streq(optarg, "missing") && !streq(optarg, "always")) {
                fprintf(stderr, "tend pull: --policy must be missing or always, not \"%s\"\n", optarg);
                return 2;
            }
            policy = optarg;
            break;
        case OPT_IGNORE_BUILDABLE:
            ignore_buildable = true;
            break;
        case OPT_IGNORE_FAILURES:
            ignore_failures = true;
            break;
        case OPT_INCLUDE_DEPS:
            include_deps = true;
            break;
        case OPT_IGNORED:
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(pull_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend pull --help' for usage.\n", stderr);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_active(o, "pull", argc - optind, argv + optind, &p, &names);
    if (r)
        return r;
    bool *sel = xcalloc(p->n_services ? p->n_services : 1, sizeof(bool));
    select_services(p, &names, !include_deps, NULL, sel);
    char *err = NULL;
    OpsSession *ops = ops_open(&err);
    if (!ops) {
        fprintf(stderr, "tend pull: %s\n", err);
        free(err);
        free(sel);
        strvec_free(&names);
        project_free(p);
        return 1;
    }
    Pulling *pulls = xcalloc(p->n_services ? p->n_services : 1, sizeof *pulls);
    StrVec scheduled = {0};
    int left = 0;
    for (size_t i = 0; i < p->n_services; i++) {
        const Service *s = p->services[i];
        if (!sel[i] || s->runtime != RUNTIME_DOCKER)
            continue;
        const char *why = NULL;
        if (!s->image) {
            if (!quiet)
                cli_progress("Service", s->name, "Skipped - No image to be pulled");
            continue;
        }
        if (!wants_pull(ops, s, policy ? policy : s->pull_policy, &why)) {
            if (!quiet)
                fprintf(stderr, " Image %s  Skipped - %s\n", s->image, why);
            continue;
        }
        if (s->build && ignore_buildable) {
            if (!quiet)
                fprintf(stderr, " Image %s  Skipped - Image can be built\n", s->image);
            continue;
        }
        if (strvec_contains(&scheduled, s->image))
            continue;
        strvec_push(&scheduled, s->image);
        Pulling *pl = &pulls[i];
        *pl = (Pulling){.image = s->image, .s = s, .quiet = quiet, .left = &left};
        left++;
        if (!quiet)
            cli_progress("Image", s->image, "Pulling");
        ops_pull(ops_engine(ops), s->image, on_pull_line, on_pulled, pl);
    }
    bool all_done = left == 0;
    while (!all_done && uv_run(ops_loop(ops), UV_RUN_ONCE))
        all_done = left == 0;
    int status = 0;
    StrVec must_build = {0};
    for (size_t i = 0; i < p->n_services; i++) {
        Pulling *pl = &pulls[i];
        if (!pl->s)
            continue;
        if (pl->done && pl->ok) {
            if (!quiet)
                cli_progress("Image", pl->image, "Pulled");
        } else {
            fprintf(stderr, " Image %s  Error %s\n", pl->image, pl->err ? pl->err : "the pull did not finish");
            if (pl->s->build)
                strvec_push(&must_build, pl->s->name); /* it can be built instead */
            else if (!ignore_failures)
                status = 1;
        }
        free(pl->err);
    }
    if (must_build.n) {
        fprintf(stderr, "WARNING: Some service image(s) must be built from source by running:\n    tend build");
        for (size_t i = 0; i < must_build.n; i++)
            fprintf(stderr, " %s", must_build.v[i]);
        fputc('\n', stderr);
    }
    strvec_free(&must_build);
    strvec_free(&scheduled);
    free(pulls);
    free(sel);
    ops_close(ops);
    strvec_free(&names);
    project_free(p);
    return status;
}

/* ---- build ---- */

typedef struct Building {
    const char *service;
    bool quiet;
    bool done, ok;
    char *err;
} Building;

static void on_build_line(void *ud, const char *line)
{
    Building *b = ud;
    if (!b->quiet)
        fprintf(stderr, "%s | %s\n", b->service, line);
}

static void on_built(void *ud, bool ok, const char *err)
{
    Building *b = ud;
    b->done = true;
    b->ok = ok;
    b->err = err ? xstrdup(err) : NULL;
}

int cmd_build(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_BUILD_ARG = 256, OPT_NO_CACHE, OPT_PULL, OPT_WITH_DEPS };
    static const struct option opts[] = {
        {"build-arg", required_argument, NULL, OPT_BUILD_ARG},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"pull", no_argument, NULL, OPT_PULL},
        {"with-dependencies", no_argument, NULL, OPT_WITH_DEPS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    unsigned flags = 0;
    bool with_deps = false, quiet = false;
    StrVec args = {0};
    int c;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_BUILD_ARG:
            strvec_push(&args, optarg);
            break;
        case OPT_NO_CACHE:
            flags |= IMAGE_BUILD_NO_CACHE;
            break;
        case OPT_PULL:
            flags |= IMAGE_BUILD_PULL;
            break;
        case OPT_WITH_DEPS:
            with_deps = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(build_usage, stdout);
            strvec_free(&args);
            return 0;
        default:
            fputs("Run 'tend build --help' for usage.\n", stderr);
            strvec_free(&args);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_active(o, "build", argc - optind, argv + optind, &p, &names);
    if (r) {
        strvec_free(&args);
        return r;
    }
    bool *sel = xcalloc(p->n_services ? p->n_services : 1, sizeof(bool));
    select_services(p, &names, !with_deps, NULL, sel);
    char *err = NULL;
    OpsSession *ops = ops_open(&err);
    int status = 0, built = 0;
    if (!ops) {
        fprintf(stderr, "tend build: %s\n", err);
        free(err);
        status = 1;
    }
    for (size_t i = 0; i < p->n_services && status == 0; i++) {
        const Service *s = p->services[i];
        if (!sel[i] || !s->build)
            continue;
        _cleanup_free_ char *image = s->image ? xstrdup(s->image) : xasprintf("%s-%s", p->name, s->name);
        /* --build-arg over the file's args; K alone takes K from the environment */
        Env bargs = {0};
        for (size_t k = 0; k < s->build->args.n; k++)
            env_set(&bargs, s->build->args.keys[k], s->build->args.vals[k]);
        for (size_t k = 0; k < args.n; k++) {
            const char *eq = strchr(args.v[k], '=');
            _cleanup_free_ char *key = xstrndup(args.v[k], eq ? (size_t)(eq - args.v[k]) : strlen(args.v[k]));
            const char *val = eq ? eq + 1 : getenv(key);
            if (val)
                env_set(&bargs, key, val);
        }
        Env labels = {0};
        env_set(&labels, LABEL_PROJECT, p->name);
        env_set(&labels, LABEL_SERVICE, s->name);
        Building b = {.service = s->name, .quiet = quiet};
        if (!quiet)
            fprintf(stderr, " Image %s  Building (%s)\n", image, s->build->context);
        ImageBuild *ib = image_build_with(flags, ops_engine(ops), s->build->context, s->build->dockerfile,
                                          s->build->target, &bargs, image, &labels, on_build_line, on_built, &b, &err);
        env_free(&bargs);
        env_free(&labels);
        if (!ib) {
            b.done = true;
            b.err = err;
            err = NULL;
        }
        ops_wait(ops, &b.done);
        if (b.done && b.ok) {
            cli_progress("Image", image, "Built");
            built++;
        } else {
            fprintf(stderr, "tend build: %s: %s\n", s->name, b.err ? b.err : "the build did not finish");
            status = 1;
        }
        free(b.err);
    }
    if (status == 0 && built == 0 && !quiet)
        fputs("No service to build (none of them has build:)\n", stderr);
    ops_close(ops);
    free(sel);
    strvec_free(&args);
    strvec_free(&names);
    project_free(p);
    return status;
}
