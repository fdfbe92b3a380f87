/* facts: the state of one export shared by build.c (the objects of a
 * project) and workload.c (pods, containers, probes, seeds), and what they
 * both ask of a service (facts.c). Internal to kube/. */
#pragma once

#include "kube/kset.h"

typedef struct Settings {       /* x-tend.kube at the top level */
    const char *registry, *expose, *host, *ingress_class, *namespace;
    const char *storage, *storage_class, *wait_image, *kubectl_image;
} Settings;

typedef struct SvcSettings {    /* x-tend.kube of a service */
    const char *workload, *expose, *host, *path, *storage;
} SvcSettings;

typedef enum Workload { W_DEPLOYMENT, W_STATEFULSET, W_JOB } Workload;

typedef struct KPort {
    int port;
    char proto[8];              /* TCP, UDP, SCTP */
} KPort;

typedef struct PortList {
    KPort v[128];
    size_t n;
} PortList;

typedef struct SvcInfo {
    bool exported;
    const char *name;           /* the Kubernetes name */
    Workload kind;
    SvcSettings ss;
    PortList ports;             /* container ports, sorted */
    int main_port;              /* the port others wait on; 0: none */
    bool seed_job;
    Node *claims;               /* a StatefulSet's volumeClaimTemplates */
} SvcInfo;

typedef struct Builder {
    const Project *p;
    KubeSet *k;
    Diag *d;
    Settings st;
    const char *registry;
    SvcInfo *info;              /* by service index */
    bool need_wait_account;     /* some pod waits with kubectl */
} Builder;

typedef struct UrlParts {
    const char *scheme;         /* HTTP, HTTPS */
    int port;
    const char *path;           /* points into the URL */
} UrlParts;

/* facts.c */
const char *build_rel(Builder *b, const char *file);
const char *build_from(Builder *b, const Loc *loc);
bool build_volume_alone(Builder *b, const Service *s, const char *vol);
void build_drop(Builder *b, const Service *s, const Node *at, const char *fmt, ...) _printf_(4, 5);
int build_target_port(const Service *s, int port);
int build_probe_port(const Service *s);
int build_url(const char *url, UrlParts *u);
bool build_is_postgres(const Service *s);
bool build_is_redis(const Service *s);
const Volume *build_volume(const Project *p, const char *key);
Node *build_labels(Builder *b, const char *name);
Node *build_selector(Builder *b, const char *name);
bool build_image_is(const Service *s, const char *const *names);
bool build_label_valid(const char *key, const char *val);
