/* common: what several commands share around a running stack: loading the
 * project with every profile, connecting to its supervisor with a message
 * when that fails, and the colour of a service's name. */
#include "cli/cli.h"

#include "ctl/client.h"
#include "ctl/proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_connect_project(const Project *p, const char *cmd, CtlClient **ret)
{
    return cli_connect_named(p->name, cmd, ret);
}

int cli_connect_named(const char *name, const char *cmd, CtlClient **ret)
{
    _cleanup_free_ char *path = ctl_socket_path_named(name);
    char *err = NULL;
    int r = ctl_connect(path, ret, &err);
    if (r == -ENOENT || r == -ECONNREFUSED) {
        free(err);
        if (r == -ECONNREFUSED)
            ctl_probe(path, NULL); /* removes the stale file */
        return 0;
    }
    if (r < 0) {
        fprintf(stderr, "tend %s: %s\n", cmd, err ? err : strerror(-r));
        free(err);
        return r;
    }
    return 1;
}

/* The same palette and hash as logmux, so a name keeps its colour. */
const char *cli_color(const char *name)
{
    static const char *const palette[] = {
        "\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m", "\033[31m",
        "\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m", "\033[91m",
    };
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return palette[h % ARRAY_SIZE(palette)];
}

/* ---- for the commands ---- */

int cli_load_project(ConfigOptions *o, Project **ret)
{
    o->all_profiles = true;
    return config_load_report(o, ret);
}

int cli_load_named(ConfigOptions *o, const char *cmd, int argc, char **argv, bool check, Project **ret,
                   StrVec *names)
{
    for (int i = 0; i < argc; i++)
        strvec_push(names, argv[i]);
    int r = cli_load_project(o, ret);
    return cli_named_done(cmd, r, check, ret, names);
}

int cli_load_active(ConfigOptions *o, const char *cmd, int argc, char **argv, Project **ret, StrVec *names)
{
    for (int i = 0; i < argc; i++) {
        strvec_push(names, argv[i]);
        strvec_push(&o->services, argv[i]); /* enabled whatever their profiles */
    }
    int r = config_load_report(o, ret);
    return cli_named_done(cmd, r, true, ret, names);
}

int cli_named_done(const char *cmd, int r, bool check, Project **ret, StrVec *names)
{
    for (size_t i = 0; r == 0 && check && i < names->n; i++)
        if (!project_service(*ret, names->v[i])) {
            fprintf(stderr, "tend %s: no service \"%s\" in the project\n", cmd, names->v[i]);
            r = 2;
        }
    if (r) {
        if (*ret)
            project_free(*ret);
        *ret = NULL;
        strvec_free(names);
    }
    return r;
}

/* ---- acting through a running tend ---- */

int cli_ctl_act(CtlClient *c, const char *cmd, const StrVec *names, json_t *extra, StrVec *ret_acted)
{
    json_t *req = extra ? json_copy(extra) : json_object();
    json_object_set_new(req, "cmd", json_string(cmd));
    json_t *svcs = json_array();
    for (size_t i = 0; names && i < names->n; i++)
        json_array_append_new(svcs, json_string(names->v[i]));
    json_object_set_new(req, "services", svcs);
    json_t *rep = NULL;
    int r = ctl_call(c, req, 60000, &rep);
    json_decref(req);
    if (r < 0 || !json_is_object(rep)) {
        fprintf(stderr, "tend %s: the running tend (pid %d) did not answer: %s\n", cmd, (int)ctl_pid(c),
                strerror(r < 0 ? -r : EPROTO));
        json_decref(rep);
        return 1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rep, "services"), i, e)
        if (json_string_value(e))
            strvec_push(ret_acted, json_string_value(e));
    int status = 0;
    if (!json_is_true(json_object_get(rep, "ok"))) {
        const char *err = json_string_value(json_object_get(rep, "error"));
        fprintf(stderr, "tend %s: %s\n", cmd, err ? err : "refused");
        status = 1;
    }
    json_decref(rep);
    return status;
}

void cli_ctl_wait_stopped(CtlClient *c, const StrVec *names)
{
    if (!names->n)
        return;
    json_t *req = json_pack("{s:s,s:s}", "cmd", "wait", "condition", ctl_wait_cond_to_string(CTL_WAIT_STOPPED));
    json_t *svcs = json_array();
    for (size_t i = 0; i < names->n; i++)
        json_array_append_new(svcs, json_string(names->v[i]));
    json_object_set_new(req, "services", svcs);
    json_t *rep = NULL;
    /* -EPIPE: stopping the last service ended that tend, which is fine */
    if (ctl_call(c, req, -1, &rep) == 0)
        json_decref(rep);
    json_decref(req);
}

void cli_progress(const char *kind, const char *name, const char *what)
{
    fprintf(stderr, " %s %s  %s\n", kind, name, what);
}

/* ---- output as the docker CLI formats it ---- */

static size_t utf8_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

void cli_table_print(FILE *f, const StrVec *rows, size_t ncols, size_t minwidth, size_t padding)
{
    size_t nrows = ncols ? rows->n / ncols : 0;
    size_t *w = xcalloc(ncols ? ncols : 1, sizeof *w);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c + 1 < ncols; c++) {
            size_t l = utf8_width(rows->v[r * ncols + c]) + padding;
            if (l > w[c])
                w[c] = l;
        }
    for (size_t c = 0; c + 1 < ncols; c++)
        if (w[c] < minwidth)
            w[c] = minwidth;
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *cell = rows->v[r * ncols + c];
            fputs(cell, f);
            if (c + 1 < ncols)
                for (size_t k = utf8_width(cell); k < w[c]; k++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
    free(w);
}

void cli_human_size(double size, char buf[32])
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    size_t i = 0;
    while (size >= 1000 && i + 1 < ARRAY_SIZE(units)) {
        size /= 1000;
        i++;
    }
    snprintf(buf, 32, "%.3g%s", size, units[i]);
}

void cli_human_duration(int64_t seconds, char buf[32])
{
    long long s = (long long)seconds, m = s / 60, h = (long long)((double)s / 3600 + 0.5);
    if (s < 1)
        snprintf(buf, 32, "Less than a second");
    else if (s == 1)
        snprintf(buf, 32, "1 second");
    else if (s < 60)
        snprintf(buf, 32, "%lld seconds", s);
    else if (m == 1)
        snprintf(buf, 32, "About a minute");
    else if (m < 60)
        snprintf(buf, 32, "%lld minutes", m);
    else if (h == 1)
        snprintf(buf, 32, "About an hour");
    else if (h < 48)
        snprintf(buf, 32, "%lld hours", h);
    else if (h < 24 * 7 * 2)
        snprintf(buf, 32, "%lld days", h / 24);
    else if (h < 24 * 30 * 2)
        snprintf(buf, 32, "%lld weeks", h / 24 / 7);
    else if (h < 24 * 365 * 2)
        snprintf(buf, 32, "%lld months", h / 24 / 30);
    else
        snprintf(buf, 32, "%lld years", s / 3600 / 24 / 365);
}
