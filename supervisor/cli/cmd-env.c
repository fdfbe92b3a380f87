/* tend env: prints what tend gives one service, so that an IDE run
 * configuration or a script can start the service itself and get the same
 * result as under `tend up`.
 *
 * What a service gets (host.c, docker.c): a host process runs with tend's
 * own environment overlaid by the service's variables (env_file entries,
 * then environment), in working_dir (relative to the project folder;
 * default the project folder), its command a string through /bin/sh -c or
 * a list as is, with the entrypoint in front. A container's Env is the
 * service's variables only; the image adds its own ENV inside the engine.
 *
 * By default only the service's variables are printed (what an IDE adds to
 * its own environment); --all prints the whole merged set a host process
 * gets. Each format quotes exactly: dotenv as tend's dotenv.c reads it back,
 * shell with single quotes ('\'' for a quote), JSON as an object. */
#include "cli/cli.h"
#include "lib/env.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

const char env_usage[] =
    "Usage: tend env [OPTIONS] SERVICE\n"
    "\n"
    "Prints the environment tend gives SERVICE, so that an IDE or a script can\n"
    "run the service itself exactly as tend would: the variables of its\n"
    "env_file files overlaid by its environment. A host service also inherits\n"
    "tend's own environment (--all prints that merged set); a container gets\n"
    "only the service's variables (plus its image's ENV).\n"
    "\n"
    "Options:\n"
    "      --format FORMAT  dotenv (default): KEY='value' lines, as env_file\n"
    "                         and .env files are read\n"
    "                       shell: a script that exports the variables, then\n"
    "                         cd's to the working folder and execs the command\n"
    "                         (sh -c \"$(tend env web --format shell)\" runs web)\n"
    "                       json: {\"service\", \"runtime\", \"environment\",\n"
    "                         \"command\", \"working_dir\", ...}\n"
    "      --all            the full environment of a host service: tend's own\n"
    "                       environment overlaid by the service's\n"
    "      --no-command     shell: only the exports, no cd and exec\n"
    "  -h, --help           show this help\n";

typedef enum { FMT_DOTENV, FMT_SHELL, FMT_JSON } EnvFormat;

/* ---- quoting ---- */

/* A shell word in single quotes; a quote inside becomes '\''. */
static void put_shell_word(StrBuf *b, const char *s)
{
    strbuf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            strbuf_puts(b, "'\\''");
        else
            strbuf_putc(b, *s);
    }
    strbuf_putc(b, '\'');
}

/* [A-Za-z_][A-Za-z0-9_]*: a name `export` takes. */
static bool shell_name(const char *k)
{
    if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
        return false;
    for (k++; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return false;
    return true;
}

/* [A-Za-z_][A-Za-z0-9_.-]*: a name dotenv.c takes. */
static bool dotenv_name(const char *k)
{
    if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
        return false;
    for (k++; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '.' || *k == '-'))
            return false;
    return true;
}

/* Characters that read the same unquoted in every dotenv dialect. */
static bool dotenv_plain(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("_-./:@%+,=", *s)))
            return false;
    return true;
}

/* A dotenv value as dotenv.c reads it back: plain when nothing in it could
 * be read otherwise; else in single quotes (literal, newlines included);
 * a value with a single quote in double quotes, where \\ \" \n \r \t and
 * \$ (a literal dollar: double-quoted values are interpolated) are the
 * escapes. */
static void put_dotenv_value(StrBuf *b, const char *s)
{
    if (dotenv_plain(s)) {
        strbuf_puts(b, s);
        return;
    }
    if (!strchr(s, '\'')) {
        strbuf_putc(b, '\'');
        strbuf_puts(b, s);
        strbuf_putc(b, '\'');
        return;
    }
    strbuf_putc(b, '"');
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            strbuf_puts(b, "\\\\");
            break;
        case '"':
            strbuf_puts(b, "\\\"");
            break;
        case '\n':
            strbuf_puts(b, "\\n");
            break;
        case '\r':
            strbuf_puts(b, "\\r");
            break;
        case '\t':
            strbuf_puts(b, "\\t");
            break;
        case '$':
            strbuf_puts(b, "\\$");
            break;
        default:
            strbuf_putc(b, *s);
        }
    }
    strbuf_putc(b, '"');
}

/* A JSON string. Bytes from 0x80 up pass through, so UTF-8 stays UTF-8. */
static void put_json_string(StrBuf *b, const char *s)
{
    strbuf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            strbuf_putc(b, '\\');
            strbuf_putc(b, (char)c);
        } else if (c == '\n') {
            strbuf_puts(b, "\\n");
        } else if (c == '\t') {
            strbuf_puts(b, "\\t");
        } else if (c == '\r') {
            strbuf_puts(b, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            strbuf_printf(b, "\\u%04x", c);
        } else {
            strbuf_putc(b, (char)c);
        }
    }
    strbuf_putc(b, '"');
}

static void put_json_strvec(StrBuf *b, const StrVec *v)
{
    strbuf_putc(b, '[');
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            strbuf_puts(b, ", ");
        put_json_string(b, v->v[i]);
    }
    strbuf_putc(b, ']');
}

/* ---- what the service gets ---- */

/* The variables: the service's (env_file, then environment), or with all
 * tend's environment overlaid by them, as host.c's host_env builds it. A
 * variable without a value is left out (tend's value stays, as in host.c). */
static void service_env(const Service *s, bool all, Env *ret)
{
    if (all)
        env_from_environ(ret, environ);
    for (size_t i = 0; i < s->environment.n; i++)
        if (s->environment.vals[i])
            env_set(ret, s->environment.keys[i], s->environment.vals[i]);
}

/* A host service's command line, as host.c's host_argv builds it. */
static void host_command(const Service *s, StrVec *ret)
{
    if (s->shell && s->command_string && !s->has_entrypoint) {
        strvec_push(ret, "/bin/sh");
        strvec_push(ret, "-c");
        strvec_push(ret, s->command_string);
        return;
    }
    for (size_t i = 0; i < s->entrypoint.n; i++)
        strvec_push(ret, s->entrypoint.v[i]);
    for (size_t i = 0; i < s->command.n; i++)
        strvec_push(ret, s->command.v[i]);
}

/* A host service's folder: working_dir from the project folder, as host.c
 * joins it (folded lexically for display, as the probes' folder is). */
static char *host_cwd(const Project *p, const Service *s)
{
    return s->working_dir ? path_absolute(p->workdir, s->working_dir) : xstrdup(p->workdir);
}

/* ---- output ---- */

static void emit_dotenv(StrBuf *b, const Env *e, bool *skipped)
{
    for (size_t i = 0; i < e->n; i++) {
        if (!dotenv_name(e->keys[i])) {
            *skipped = true;
            fprintf(stderr, "tend env: %s: not a name a dotenv file can hold; left out\n", e->keys[i]);
            continue;
        }
        strbuf_printf(b, "%s=", e->keys[i]);
        put_dotenv_value(b, e->vals[i]);
        strbuf_putc(b, '\n');
    }
}

static void emit_shell(StrBuf *b, const Project *p, const Service *s, const Env *e, bool command)
{
    bool host = s->runtime == RUNTIME_HOST;
    strbuf_printf(b, "# tend env %s (project %s): %s\n", s->name, p->name,
                  host ? "a host service" : "a container; tend runs it (tend up)");
    /* Names `export` cannot take go on the exec line through env(1). */
    StrVec odd = {0};
    for (size_t i = 0; i < e->n; i++) {
        if (!shell_name(e->keys[i])) {
            strvec_push_take(&odd, xasprintf("%s=%s", e->keys[i], e->vals[i]));
            continue;
        }
        strbuf_printf(b, "export %s=", e->keys[i]);
        put_shell_word(b, e->vals[i]);
        strbuf_putc(b, '\n');
    }
    if (!command || !host) {
        for (size_t i = 0; i < odd.n; i++)
            strbuf_printf(b, "# not a shell name, set only by env(1): %s\n", odd.v[i]);
        strvec_free(&odd);
        return;
    }
    _cleanup_free_ char *cwd = host_cwd(p, s);
    strbuf_puts(b, "cd ");
    put_shell_word(b, cwd);
    strbuf_puts(b, " || exit\nexec");
    if (odd.n > 0)
        strbuf_puts(b, " env");
    for (size_t i = 0; i < odd.n; i++) {
        strbuf_putc(b, ' ');
        put_shell_word(b, odd.v[i]);
    }
    StrVec argv = {0};
    host_command(s, &argv);
    for (size_t i = 0; i < argv.n; i++) {
        strbuf_putc(b, ' ');
        put_shell_word(b, argv.v[i]);
    }
    strbuf_putc(b, '\n');
    strvec_free(&argv);
    strvec_free(&odd);
}

static void emit_json(StrBuf *b, const Project *p, const Service *s, const Env *e)
{
    bool host = s->runtime == RUNTIME_HOST;
    strbuf_puts(b, "{\n  \"service\": ");
    put_json_string(b, s->name);
    strbuf_puts(b, ",\n  \"project\": ");
    put_json_string(b, p->name);
    strbuf_printf(b, ",\n  \"runtime\": \"%s\"", host ? "host" : "docker");
    if (!host) {
        strbuf_puts(b, ",\n  \"image\": ");
        if (s->image)
            put_json_string(b, s->image);
        else {
            _cleanup_free_ char *img = xasprintf("%s-%s", p->name, s->name);
            put_json_string(b, img);
        }
    }
    strbuf_puts(b, ",\n  \"environment\": {");
    for (size_t i = 0; i < e->n; i++) {
        strbuf_puts(b, i ? ",\n    " : "\n    ");
        put_json_string(b, e->keys[i]);
        strbuf_puts(b, ": ");
        put_json_string(b, e->vals[i]);
    }
    strbuf_puts(b, e->n ? "\n  }" : "}");
    /* host: the argv tend executes; a container: the file's entrypoint and
     * command, null where the image's default applies. */
    if (host) {
        StrVec argv = {0};
        host_command(s, &argv);
        strbuf_puts(b, ",\n  \"command\": ");
        put_json_strvec(b, &argv);
        strvec_free(&argv);
        _cleanup_free_ char *cwd = host_cwd(p, s);
        strbuf_puts(b, ",\n  \"working_dir\": ");
        put_json_string(b, cwd);
    } else {
        strbuf_puts(b, ",\n  \"entrypoint\": ");
        if (s->has_entrypoint)
            put_json_strvec(b, &s->entrypoint);
        else
            strbuf_puts(b, "null");
        strbuf_puts(b, ",\n  \"command\": ");
        if (s->has_command)
            put_json_strvec(b, &s->command);
        else
            strbuf_puts(b, "null");
        strbuf_puts(b, ",\n  \"working_dir\": ");
        if (s->working_dir)
            put_json_string(b, s->working_dir);
        else
            strbuf_puts(b, "null");
    }
    strbuf_puts(b, ",\n  \"env_files\": ");
    put_json_strvec(b, &s->env_files);
    strbuf_puts(b, ",\n  \"depends_on\": [");
    for (size_t i = 0; i < s->n_deps; i++) {
        if (i)
            strbuf_puts(b, ", ");
        put_json_string(b, p->services[s->deps[i].index]->name);
    }
    strbuf_puts(b, "],\n  \"project_directory\": ");
    put_json_string(b, p->workdir);
    strbuf_puts(b, "\n}\n");
}

int cmd_env(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_FORMAT = 256, OPT_ALL, OPT_NO_COMMAND };
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"all", no_argument, NULL, OPT_ALL},
        {"no-command", no_argument, NULL, OPT_NO_COMMAND},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    EnvFormat fmt = FMT_DOTENV;
    bool all = false, command = true;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            if (streq(optarg, "dotenv"))
                fmt = FMT_DOTENV;
            else if (streq(optarg, "shell"))
                fmt = FMT_SHELL;
            else if (streq(optarg, "json"))
                fmt = FMT_JSON;
            else {
                fprintf(stderr, "tend env: --format must be dotenv, shell or json, not \"%s\"\n", optarg);
                return 2;
            }
            break;
        case OPT_ALL:
            all = true;
            break;
        case OPT_NO_COMMAND:
            command = false;
            break;
        case 'h':
            fputs(env_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend env --help' for usage.\n", stderr);
            return 2;
        }
    }
    if (argc - optind != 1) {
        fputs("tend env: name one service\nRun 'tend env --help' for usage.\n", stderr);
        return 2;
    }
    const char *name = argv[optind];
    /* Named, the service is enabled whatever its profiles, as with `tend up
     * SERVICE`; a wrong name gets "no such service" with a suggestion. */
    strvec_push(&o->services, name);

    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r)
        return r;
    const Service *s = project_service(p, name);
    if (!s) {
        fprintf(stderr, "tend env: no such service: \"%s\"\n", name);
        project_free(p);
        return 2;
    }

    Env e = {0};
    service_env(s, all && s->runtime == RUNTIME_HOST, &e);
    StrBuf out;
    strbuf_init(&out, 0);
    bool skipped = false;
    switch (fmt) {
    case FMT_DOTENV:
        emit_dotenv(&out, &e, &skipped);
        break;
    case FMT_SHELL:
        emit_shell(&out, p, s, &e, command);
        break;
    case FMT_JSON:
        emit_json(&out, p, s, &e);
        break;
    }
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    strbuf_free(&out);
    env_free(&e);
    project_free(p);
    if (fflush(stdout) != 0)
        return 1;
    return skipped ? 1 : 0;
}
