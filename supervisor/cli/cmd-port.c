/* tend port SERVICE [PRIVATE_PORT] and tend top [SERVICE...]: where a
 * service listens and what runs in it. For containers both ask the engine
 * (the published ports of the container as it runs, the engine's `ps -ef`
 * of it), as docker compose does, with the same output. A host service
 * listens on the host itself: its port is its probe's port (and any port
 * its file names), published as it is; its processes are read from /proc
 * under the shim of the running tend that runs it. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "engine/docker.h"
#include "engine/ops.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char port_usage[] =
    "Usage: tend port [OPTIONS] SERVICE [PRIVATE_PORT]\n"
    "\n"
    "Prints the address on the host where the service's PRIVATE_PORT is\n"
    "published (127.0.0.1:49153), or every published port without PRIVATE_PORT.\n"
    "For a host service, which listens on the host itself, its probe's port\n"
    "(and the ports its file names), while a tend up runs it.\n"
    "\n"
    "Options:\n"
    "      --protocol tcp|udp   the port's protocol (default tcp)\n"
    "      --index N            the service's Nth container (default 1)\n"
    "  -h, --help               show this help\n";

const char top_usage[] =
    "Usage: tend top [SERVICE...]\n"
    "\n"
    "Shows the processes of the services' running containers, and of the host\n"
    "services a running tend runs.\n";

/* The state of every service a running tend runs, and the pid of each
 * host service's shim ("service" -> {"state","pid"}). NULL: none runs. */
static json_t *supervisor_ps(const Project *p, const char *cmd)
{
    CtlClient *cl = NULL;
    if (cli_connect_project(p, cmd, &cl) <= 0)
        return NULL;
    json_t *req = json_pack("{s:s}", "cmd", "ps"), *rep = NULL, *out = json_object();
    if (ctl_call(cl, req, 10000, &rep) == 0) {
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(rep, "services"), i, s)
        {
            const char *name = json_string_value(json_object_get(s, "service"));
            if (name)
                json_object_set(out, name, s);
        }
    }
    json_decref(req);
    json_decref(rep);
    ctl_close(cl);
    return out;
}

static bool live_state(const char *state)
{
    return state && (streq(state, "running") || streq(state, "ready") || streq(state, "unhealthy") ||
                     streq(state, "starting") || streq(state, "paused"));
}

/* ---- port ---- */

typedef struct Pub {
    const char *ip;
    long priv, pub;
    const char *type;
} Pub;

static int pub_cmp(const void *a, const void *b)
{
    const Pub *x = a, *y = b;
    return x->priv < y->priv ? -1 : x->priv > y->priv;
}

static void host_port_text(const char *ip, long port, char buf[128])
{
    if (ip && strchr(ip, ':'))
        snprintf(buf, 128, "[%s]:%ld", ip, port);
    else
        snprintf(buf, 128, "%s:%ld", ip ? ip : "", port);
}

/* An http probe's port: "http://127.0.0.1:8000/health" -> 8000 and
 * "127.0.0.1"; without one, 80 or 443. */
static int url_port(const char *url, char **ret_host)
{
    const char *p = strstr(url, "://");
    bool tls = str_startswith(url, "https");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    _cleanup_free_ char *auth = xstrndup(p, n);
    char *at = strrchr(auth, '@');
    char *hp = at ? at + 1 : auth;
    char *colon = hp[0] == '[' ? strstr(hp, "]:") : strrchr(hp, ':');
    int port = tls ? 443 : 80;
    if (colon) {
        port = atoi(colon + (hp[0] == '[' ? 2 : 1));
        colon[hp[0] == '[' ? 1 : 0] = '\0';
    }
    if (hp[0] == '[') {
        hp++;
        hp[strcspn(hp, "]")] = '\0';
    }
    *ret_host = *hp ? xstrdup(hp) : NULL;
    return port;
}

static int port_host(const Project *p, const Service *s, long port, const char *proto)
{
    json_t *ps = supervisor_ps(p, "port");
    const char *state = json_string_value(json_object_get(json_object_get(ps, s->name), "state"));
    bool live = live_state(state);
    json_decref(ps);
    if (!live) {
        fprintf(stderr, "service \"%s\" is not running\n", s->name);
        return 1;
    }
    _cleanup_free_ char *url_host = NULL;
    int probe_port = s->probe.port;
    if (s->probe.kind == PROBE_HTTP && s->probe.url)
        probe_port = url_port(s->probe.url, &url_host);
    const char *host = url_host ? url_host : s->probe.host ? s->probe.host : "127.0.0.1";
    /* The ports it is known to listen on: its probe's, then its file's. */
    StrVec known = {0};
    if (probe_port > 0)
        strvec_push_take(&known, xasprintf("%d/tcp", probe_port));
    for (size_t i = 0; i < s->n_ports; i++)
        strvec_push_take(&known, xasprintf("%u/%s", s->ports[i].target, s->ports[i].protocol));
    for (size_t i = 0; i < s->expose.n; i++)
        strvec_push_take(&known, strchr(s->expose.v[i], '/') ? xstrdup(s->expose.v[i]) : xasprintf("%s/tcp", s->expose.v[i]));
    int status = 0;
    char buf[128];
    if (port > 0) {
        _cleanup_free_ char *want = xasprintf("%ld/%s", port, proto ? proto : "tcp");
        if (strvec_contains(&known, want)) {
            host_port_text(host, port, buf);
            printf("%s\n", buf);
        } else {
            StrBuf b;
            strbuf_init(&b, 0);
            for (size_t i = 0; i < known.n; i++)
                strbuf_printf(&b, "%s%s", i ? ", " : "", known.v[i]);
            fprintf(stderr, "no port %s for host service %s: %s\n", want, s->name, b.data ? b.data : "");
            strbuf_free(&b);
            status = 1;
        }
    } else {
        StrVec seen = {0};
        for (size_t i = 0; i < known.n; i++) {
            if (strvec_contains(&seen, known.v[i]) || (proto && !str_endswith(known.v[i], proto)))
                continue;
            strvec_push(&seen, known.v[i]);
            host_port_text(host, atol(known.v[i]), buf);
            printf("%s -> %s\n", known.v[i], buf);
        }
        strvec_free(&seen);
    }
    strvec_free(&known);
    return status;
}

static int port_container(const Project *p, const char *service, long port, const char *proto, int index)
{
    char *err = NULL;
    OpsSession *ops = ops_open(&err);
    StrVec names = {0};
    strvec_push(&names, service);
    json_t *list = NULL;
    if (!ops || ops_containers(ops, p->name, &names, false, true, &list, &err) < 0) {
        fprintf(stderr, "%s\n", err);
        free(err);
        strvec_free(&names);
        ops_close(ops);
        return 1;
    }
    strvec_free(&names);
    ops_close(ops);
    /* Compose's choice: that number, else the lowest; one-offs last. */
    json_t *ctr = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *oneoff = ops_ctr_label(c, LABEL_ONEOFF);
        bool is_oneoff = oneoff && streq(oneoff, "True");
        if (index > 0 && ops_ctr_number(c) != index)
            continue;
        if (!ctr || (!is_oneoff && ops_ctr_number(c) < ops_ctr_number(ctr)))
            ctr = c;
    }
    if (!ctr) {
        if (index > 0)
            fprintf(stderr, "service \"%s\" is not running container #%d\n", service, index);
        else
            fprintf(stderr, "service \"%s\" is not running\n", service);
        json_decref(list);
        return 1;
    }
    json_t *ports = json_object_get(ctr, "Ports");
    size_t n = json_array_size(ports);
    Pub *v = xcalloc(n ? n : 1, sizeof *v);
    size_t k = 0;
    json_array_foreach(ports, i, c)
    {
        Pub pb = {
            .ip = json_string_value(json_object_get(c, "IP")),
            .priv = (long)json_integer_value(json_object_get(c, "PrivatePort")),
            .pub = (long)json_integer_value(json_object_get(c, "PublicPort")),
            .type = json_string_value(json_object_get(c, "Type")),
        };
        if (!pb.type)
            pb.type = "tcp";
        if ((proto && !streq(pb.type, proto)) || (port > 0 && pb.priv != port))
            continue;
        v[k++] = pb;
    }
    /* a stable sort by private port, as Compose's */
    for (size_t a = 1; a < k; a++)
        for (size_t b = a; b > 0 && pub_cmp(&v[b - 1], &v[b]) > 0; b--) {
            Pub t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    int status = 0;
    char buf[128];
    if (port > 0 && k == 0) {
        StrBuf b;
        strbuf_init(&b, 0);
        json_array_foreach(ports, i, c)
        {
            const char *t = json_string_value(json_object_get(c, "Type"));
            strbuf_printf(&b, "%s%lld/%s", b.len ? ", " : "", (long long)json_integer_value(json_object_get(c, "PrivatePort")),
                          t ? t : "tcp");
        }
        fprintf(stderr, "no port %ld/%s for container %s: %s\n", port, proto ? proto : "tcp", ops_ctr_name(ctr),
                b.data ? b.data : "");
        strbuf_free(&b);
        status = 1;
    } else if (port > 0) {
        host_port_text(v[0].ip, v[0].pub, buf);
        printf("%s\n", buf);
    } else {
        for (size_t a = 0; a < k; a++) {
            host_port_text(v[a].ip, v[a].pub, buf);
            printf("%ld/%s -> %s\n", v[a].priv, v[a].type, buf);
        }
    }
    free(v);
    json_decref(list);
    return status;
}

int cmd_port(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_PROTOCOL = 256, OPT_INDEX };
    static const struct option opts[] = {
        {"protocol", required_argument, NULL, OPT_PROTOCOL},
        {"index", required_argument, NULL, OPT_INDEX},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *proto = NULL;
    int index = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_PROTOCOL:
            if (!streq(optarg, "tcp") && !streq(optarg, "udp") && !streq(optarg, "sctp")) {
                fprintf(stderr, "tend port: --protocol must be tcp or udp, not \"%s\"\n", optarg);
                return 2;
            }
            proto = optarg;
            break;
        case OPT_INDEX:
            index = atoi(optarg);
            break;
        case 'h':
            fputs(port_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend port --help' for usage.\n", stderr);
            return 2;
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2) {
        fputs("tend port: Usage: tend port [OPTIONS] SERVICE [PRIVATE_PORT]\n", stderr);
        return 2;
    }
    long port = 0;
    if (nargs == 2) {
        char *end;
        port = strtol(argv[optind + 1], &end, 10);
        if (*end || port < 1 || port > 65535) {
            fprintf(stderr, "tend port: invalid port \"%s\"\n", argv[optind + 1]);
            return 2;
        }
        if (!proto)
            proto = "tcp";
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_named(o, "port", 1, argv + optind, true, &p, &names);
    if (r)
        return r;
    const Service *s = project_service(p, names.v[0]);
    int status = s->runtime == RUNTIME_HOST ? port_host(p, s, port, proto)
                                            : port_container(p, s->name, port, proto, index);
    strvec_free(&names);
    project_free(p);
    return fflush(stdout) == 0 ? status : 1;
}

/* ---- top ---- */

typedef struct ProcInfo {
    long pid, ppid, tty;
    unsigned long long utime, stime, start;
} ProcInfo;

static bool proc_read(long pid, ProcInfo *ret)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, 4096, &data, &len) < 0)
        return false;
    const char *rp = strrchr(data, ')');
    bool ok = false;
    if (rp) {
        /* after "pid (comm)": state ppid pgrp session tty_nr tpgid flags
         * minflt cminflt majflt cmajflt utime stime cutime cstime priority
         * nice num_threads itrealvalue starttime */
        char st;
        long ppid, pgrp, sess, tty;
        unsigned long long f[8], ut, stm, start;
        long cut, cst, prio, nice, thr, itr;
        ok = sscanf(rp + 2, "%c %ld %ld %ld %ld %llu %llu %llu %llu %llu %llu %llu %llu %ld %ld %ld %ld %ld %ld %llu",
                    &st, &ppid, &pgrp, &sess, &tty, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &ut, &stm, &cut, &cst,
                    &prio, &nice, &thr, &itr, &start) == 20;
        if (ok)
            *ret = (ProcInfo){pid, ppid, tty, ut, stm, start};
    }
    free(data);
    return ok;
}

/* One `ps -ef` row (UID PID PPID C STIME TTY TIME CMD) for a process. */
static void proc_row(const ProcInfo *pi, StrVec *row)
{
    char path[64], buf[64];
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    /* uid: the owner of /proc/PID */
    snprintf(path, sizeof path, "/proc/%ld/status", pi->pid);
    char *status = NULL;
    size_t len = 0;
    long uid = -1;
    if (read_file(path, 65536, &status, &len) == 0) {
        const char *u = strstr(status, "\nUid:");
        if (u)
            uid = strtol(u + 5, NULL, 10);
    }
    free(status);
    struct passwd *pw = uid >= 0 ? getpwuid((uid_t)uid) : NULL;
    if (pw)
        strvec_push(row, pw->pw_name);
    else
        strvec_push_take(row, xasprintf("%ld", uid));
    strvec_push_take(row, xasprintf("%ld", pi->pid));
    strvec_push_take(row, xasprintf("%ld", pi->ppid));
    /* C: CPU use over the process's life, in percent */
    double uptime = 0;
    char *up = NULL;
    if (read_file("/proc/uptime", 256, &up, &len) == 0)
        uptime = strtod(up, NULL);
    free(up);
    double age = uptime - (double)pi->start / (double)hz;
    double cpu = (double)(pi->utime + pi->stime) / (double)hz;
    strvec_push_take(row, xasprintf("%d", age > 0 ? (int)(cpu * 100 / age) : 0));
    /* STIME: the clock time it started, or its date when not today */
    time_t now = time(NULL), started = now - (time_t)(age > 0 ? age : 0);
    struct tm tm_now, tm_s;
    localtime_r(&now, &tm_now);
    localtime_r(&started, &tm_s);
    strftime(buf, sizeof buf, tm_now.tm_yday == tm_s.tm_yday && tm_now.tm_year == tm_s.tm_year ? "%H:%M" : "%b%d",
             &tm_s);
    strvec_push(row, buf);
    /* TTY: pts/N for the usual pseudo-terminals (major 136..143), else ? */
    long major = (pi->tty >> 8) & 0xfff, minor = (pi->tty & 0xff) | ((pi->tty >> 12) & 0xfff00);
    if (pi->tty == 0)
        strvec_push(row, "?");
    else if (major >= 136 && major <= 143)
        strvec_push_take(row, xasprintf("pts/%ld", (major - 136) * 256 + minor));
    else
        strvec_push_take(row, xasprintf("%ld,%ld", major, minor));
    unsigned long long t = (pi->utime + pi->stime) / (unsigned long long)hz;
    strvec_push_take(row, xasprintf("%02llu:%02llu:%02llu", t / 3600, t / 60 % 60, t % 60));
    /* CMD: the command line, or [comm] for a kernel-ish process */
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pi->pid);
    char *cmd = NULL;
    if (read_file(path, 65536, &cmd, &len) == 0 && len > 0) {
        for (size_t i = 0; i + 1 < len; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        strvec_push(row, cmd);
    } else {
        snprintf(path, sizeof path, "/proc/%ld/comm", pi->pid);
        free(cmd);
        cmd = NULL;
        if (read_file(path, 4096, &cmd, &len) == 0)
            cmd[strcspn(cmd, "\n")] = '\0';
        strvec_push_take(row, xasprintf("[%s]", cmd ? cmd : "?"));
    }
    free(cmd);
}

/* The processes under a host service's shim (its descendants: the shim
 * is their subreaper), oldest first. */
static void host_procs(long shim, StrVec *rows, const char *service, size_t *ret_n)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    ProcInfo *all = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        ProcInfo pi;
        if (*end || pid <= 0 || !proc_read(pid, &pi))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            all = xrealloc(all, cap * sizeof *all);
        }
        all[n++] = pi;
    }
    closedir(d);
    bool *mine = xcalloc(n ? n : 1, sizeof(bool));
    /* descendants: repeat until nothing is added (parents may come later) */
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < n; i++) {
            if (mine[i])
                continue;
            bool under = all[i].ppid == shim;
            for (size_t j = 0; j < n && !under; j++)
                under = mine[j] && all[j].pid == all[i].ppid;
            if (under)
                mine[i] = more = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!mine[i])
            continue;
        strvec_push(rows, service);
        strvec_push(rows, "-");
        proc_row(&all[i], rows);
        (*ret_n)++;
    }
    free(mine);
    free(all);
}

int cmd_top(ConfigOptions *o, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(top_usage, stdout);
            return 0;
        }
        fputs("Run 'tend top --help' for usage.\n", stderr);
        return 2;
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_named(o, "top", argc - optind, argv + optind, true, &p, &names);
    if (r)
        return r;
    int status = 0;
    /* Compose's columns: SERVICE, #, then the engine's titles; CMD last */
    static const char *const titles[] = {"SERVICE", "#", "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"};
    StrVec rows = {0};
    for (size_t i = 0; i < ARRAY_SIZE(titles); i++)
        strvec_push(&rows, titles[i]);
    size_t count = 0;
    bool any_docker = false;
    for (size_t i = 0; i < p->n_services; i++)
        any_docker |= p->services[i]->runtime == RUNTIME_DOCKER;
    char *err = NULL;
    OpsSession *ops = any_docker ? ops_open(&err) : NULL;
    json_t *list = NULL;
    if (any_docker && (!ops || ops_containers(ops, p->name, &names, false, true, &list, &err) < 0)) {
        fprintf(stderr, "tend top: %s\n", err);
        free(err);
        status = 1;
    }
    size_t i;
    json_t *ctr;
    json_array_foreach(list, i, ctr)
    {
        _cleanup_free_ char *path = xasprintf("/containers/%s/top", json_string_value(json_object_get(ctr, "Id")));
        json_t *top = NULL;
        if (ops_call(ops, "GET", path, NULL, &top, &err) != 200) {
            fprintf(stderr, "tend top: %s: %s\n", ops_ctr_name(ctr), err ? err : "no answer");
            free(err);
            err = NULL;
            status = 1;
            continue;
        }
        /* the engine's titles, mapped onto ours ("-" where it has none) */
        json_t *tt = json_object_get(top, "Titles");
        size_t k;
        json_t *proc;
        json_array_foreach(json_object_get(top, "Processes"), k, proc)
        {
            strvec_push(&rows, ops_ctr_service(ctr));
            const char *num = ops_ctr_label(ctr, LABEL_NUMBER);
            strvec_push(&rows, num ? num : "-");
            for (size_t t = 2; t < ARRAY_SIZE(titles); t++) {
                const char *cell = "-";
                for (size_t x = 0; x < json_array_size(tt); x++)
                    if (strnull_eq(json_string_value(json_array_get(tt, x)), titles[t]))
                        cell = json_string_value(json_array_get(proc, x));
                strvec_push(&rows, cell ? cell : "-");
            }
            count++;
        }
        json_decref(top);
    }
    json_decref(list);
    ops_close(ops);
    /* host services, under the running tend */
    json_t *ps = NULL;
    for (size_t k = 0; k < p->n_services; k++) {
        const Service *s = p->services[k];
        if (s->runtime != RUNTIME_HOST || (names.n && !strvec_contains(&names, s->name)))
            continue;
        if (!ps && !(ps = supervisor_ps(p, "top")))
            break;
        json_t *v = json_object_get(ps, s->name);
        json_t *pid = json_object_get(v, "pid");
        if (json_is_integer(pid) && live_state(json_string_value(json_object_get(v, "state"))))
            host_procs((long)json_integer_value(pid), &rows, s->name, &count);
    }
    json_decref(ps);
    if (count)
        cli_table_print(stdout, &rows, ARRAY_SIZE(titles), 4, 2);
    strvec_free(&rows);
    strvec_free(&names);
    project_free(p);
    return fflush(stdout) == 0 ? status : 1;
}
