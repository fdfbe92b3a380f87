/* dynlib: the functions of libcurl, libpq and hiredis that tend calls,
 * defined here and forwarded to the real ones, which are loaded on first use
 * (see dynlib.h). Each wrapper keeps the library's own prototype (the
 * headers are included), so a mismatch is a compile error. */
#define CURL_DISABLE_TYPECHECK 1 /* curl_easy_setopt must stay a function here */
#include "lib/dynlib.h"

#include "lib/util.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct Lib {
    const char *what;          /* for messages */
    const char *const *names;  /* sonames to try, in order */
    pthread_mutex_t lock;
    void *handle;
    char *err;
} Lib;

static const char *const curl_names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so", NULL};
static const char *const pq_names[] = {"libpq.so.5", "libpq.so", NULL};
static const char *const hiredis_names[] = {"libhiredis.so." STR(HIREDIS_SONAME), "libhiredis.so", NULL};

static Lib libs[_DYNLIB_MAX] = {
    [DYNLIB_CURL] = {"libcurl", curl_names, PTHREAD_MUTEX_INITIALIZER, NULL, NULL},
    [DYNLIB_PQ] = {"libpq", pq_names, PTHREAD_MUTEX_INITIALIZER, NULL, NULL},
    [DYNLIB_HIREDIS] = {"hiredis", hiredis_names, PTHREAD_MUTEX_INITIALIZER, NULL, NULL},
};

bool dynlib_load(DynLib l, char **err)
{
    Lib *b = &libs[l];
    pthread_mutex_lock(&b->lock);
    if (!b->handle && !b->err) {
        StrBuf why;
        strbuf_init(&why, 0);
        for (const char *const *n = b->names; *n && !b->handle; n++) {
            b->handle = dlopen(*n, RTLD_NOW | RTLD_LOCAL);
            if (!b->handle) {
                const char *e = dlerror();
                strbuf_printf(&why, "%s%s", why.len ? "; " : "", e ? e : *n);
            }
        }
        if (!b->handle)
            b->err = xasprintf("cannot load %s (%s)", b->what, why.data ? why.data : "not found");
        strbuf_free(&why);
    }
    bool ok = b->handle != NULL;
    if (!ok && err)
        *err = xstrdup(b->err);
    pthread_mutex_unlock(&b->lock);
    return ok;
}

bool dynlib_loaded(DynLib l)
{
    pthread_mutex_lock(&libs[l].lock);
    bool ok = libs[l].handle != NULL;
    pthread_mutex_unlock(&libs[l].lock);
    return ok;
}

static void *preload_main(void *arg)
{
    unsigned mask = (unsigned)(uintptr_t)arg;
    for (int l = 0; l < _DYNLIB_MAX; l++)
        if (mask & DYNLIB_MASK(l))
            (void)dynlib_load((DynLib)l, NULL);
    return NULL;
}

void dynlib_preload(unsigned mask)
{
    if (!mask)
        return;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, preload_main, (void *)(uintptr_t)mask) != 0)
        preload_main((void *)(uintptr_t)mask);
    pthread_attr_destroy(&a);
}

/* A library that is installed with tend's package but cannot be loaded is
 * a broken installation: say which and stop, as the dynamic linker would
 * have at start. */
static void *sym(DynLib l, const char *name)
{
    char *err = NULL;
    if (!dynlib_load(l, &err)) {
        fprintf(stderr, "tend: %s; reinstall it (Debian: libcurl4, libpq5, libhiredis0.14)\n", err);
        exit(1);
    }
    void *p = dlsym(libs[l].handle, name);
    if (!p) {
        fprintf(stderr, "tend: %s has no %s: a version tend was not built for\n", libs[l].what, name);
        exit(1);
    }
    return p;
}

/* The function pointer of the real `name`, looked up once. */
#define REAL(lib, name)                                                                                    \
    static __typeof__(&name) real_;                                                                        \
    if (!real_)                                                                                            \
        real_ = (__typeof__(&name))sym(lib, #name);

/* ---- libcurl ---- */

#define C DYNLIB_CURL

CURLcode curl_global_init(long flags)
{
    REAL(C, curl_global_init);
    return real_(flags);
}

CURL *curl_easy_init(void)
{
    REAL(C, curl_easy_init);
    return real_();
}

void curl_easy_cleanup(CURL *curl)
{
    REAL(C, curl_easy_cleanup);
    real_(curl);
}

/* The one argument after the option has the type the option's number range
 * says: long, a pointer (object or function), or curl_off_t. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    REAL(C, curl_easy_setopt);
    va_list ap;
    va_start(ap, option);
    CURLcode r;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        r = real_(curl, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_OFF_T)
        r = real_(curl, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_BLOB)
        r = real_(curl, option, va_arg(ap, curl_off_t));
    else
        r = real_(curl, option, va_arg(ap, void *));
    va_end(ap);
    return r;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    REAL(C, curl_easy_getinfo);
    va_list ap;
    va_start(ap, info);
    void *out = va_arg(ap, void *);
    va_end(ap);
    return real_(curl, info, out);
}

const char *curl_easy_strerror(CURLcode code)
{
    REAL(C, curl_easy_strerror);
    return real_(code);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
    REAL(C, curl_slist_append);
    return real_(list, data);
}

void curl_slist_free_all(struct curl_slist *list)
{
    REAL(C, curl_slist_free_all);
    real_(list);
}

CURLM *curl_multi_init(void)
{
    REAL(C, curl_multi_init);
    return real_();
}

CURLMcode curl_multi_cleanup(CURLM *multi)
{
    REAL(C, curl_multi_cleanup);
    return real_(multi);
}

CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
    REAL(C, curl_multi_setopt);
    va_list ap;
    va_start(ap, option);
    CURLMcode r;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        r = real_(multi, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_OFF_T)
        r = real_(multi, option, va_arg(ap, void *));
    else
        r = real_(multi, option, va_arg(ap, curl_off_t));
    va_end(ap);
    return r;
}

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *curl)
{
    REAL(C, curl_multi_add_handle);
    return real_(multi, curl);
}

CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *curl)
{
    REAL(C, curl_multi_remove_handle);
    return real_(multi, curl);
}

CURLMcode curl_multi_assign(CURLM *multi, curl_socket_t fd, void *p)
{
    REAL(C, curl_multi_assign);
    return real_(multi, fd, p);
}

CURLMcode curl_multi_socket_action(CURLM *multi, curl_socket_t s, int ev, int *running)
{
    REAL(C, curl_multi_socket_action);
    return real_(multi, s, ev, running);
}

CURLMsg *curl_multi_info_read(CURLM *multi, int *left)
{
    REAL(C, curl_multi_info_read);
    return real_(multi, left);
}

const char *curl_multi_strerror(CURLMcode code)
{
    REAL(C, curl_multi_strerror);
    return real_(code);
}

#undef C

/* ---- libpq ---- */

#define P DYNLIB_PQ

PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values, int expand_dbname)
{
    REAL(P, PQconnectStartParams);
    return real_(keywords, values, expand_dbname);
}

PostgresPollingStatusType PQconnectPoll(PGconn *conn)
{
    REAL(P, PQconnectPoll);
    return real_(conn);
}

ConnStatusType PQstatus(const PGconn *conn)
{
    REAL(P, PQstatus);
    return real_(conn);
}

char *PQerrorMessage(const PGconn *conn)
{
    REAL(P, PQerrorMessage);
    return real_(conn);
}

int PQsocket(const PGconn *conn)
{
    REAL(P, PQsocket);
    return real_(conn);
}

void PQfinish(PGconn *conn)
{
    REAL(P, PQfinish);
    real_(conn);
}

int PQsetnonblocking(PGconn *conn, int arg)
{
    REAL(P, PQsetnonblocking);
    return real_(conn, arg);
}

PQnoticeReceiver PQsetNoticeReceiver(PGconn *conn, PQnoticeReceiver proc, void *arg)
{
    REAL(P, PQsetNoticeReceiver);
    return real_(conn, proc, arg);
}

int PQsendQuery(PGconn *conn, const char *query)
{
    REAL(P, PQsendQuery);
    return real_(conn, query);
}

int PQsendQueryParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                      const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                      int resultFormat)
{
    REAL(P, PQsendQueryParams);
    return real_(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat);
}

int PQflush(PGconn *conn)
{
    REAL(P, PQflush);
    return real_(conn);
}

int PQconsumeInput(PGconn *conn)
{
    REAL(P, PQconsumeInput);
    return real_(conn);
}

int PQisBusy(PGconn *conn)
{
    REAL(P, PQisBusy);
    return real_(conn);
}

PGresult *PQgetResult(PGconn *conn)
{
    REAL(P, PQgetResult);
    return real_(conn);
}

int PQputCopyEnd(PGconn *conn, const char *errormsg)
{
    REAL(P, PQputCopyEnd);
    return real_(conn, errormsg);
}

ExecStatusType PQresultStatus(const PGresult *res)
{
    REAL(P, PQresultStatus);
    return real_(res);
}

char *PQresultErrorMessage(const PGresult *res)
{
    REAL(P, PQresultErrorMessage);
    return real_(res);
}

char *PQresultErrorField(const PGresult *res, int fieldcode)
{
    REAL(P, PQresultErrorField);
    return real_(res, fieldcode);
}

int PQntuples(const PGresult *res)
{
    REAL(P, PQntuples);
    return real_(res);
}

char *PQgetvalue(const PGresult *res, int tup_num, int field_num)
{
    REAL(P, PQgetvalue);
    return real_(res, tup_num, field_num);
}

void PQclear(PGresult *res)
{
    REAL(P, PQclear);
    real_(res);
}

#undef P

/* ---- hiredis ---- */

#define H DYNLIB_HIREDIS

redisAsyncContext *redisAsyncConnect(const char *ip, int port)
{
    REAL(H, redisAsyncConnect);
    return real_(ip, port);
}

int redisAsyncSetConnectCallback(redisAsyncContext *ac, redisConnectCallback *fn)
{
    REAL(H, redisAsyncSetConnectCallback);
    return real_(ac, fn);
}

int redisAsyncSetDisconnectCallback(redisAsyncContext *ac, redisDisconnectCallback *fn)
{
    REAL(H, redisAsyncSetDisconnectCallback);
    return real_(ac, fn);
}

void redisAsyncHandleRead(redisAsyncContext *ac)
{
    REAL(H, redisAsyncHandleRead);
    real_(ac);
}

void redisAsyncHandleWrite(redisAsyncContext *ac)
{
    REAL(H, redisAsyncHandleWrite);
    real_(ac);
}

void redisAsyncFree(redisAsyncContext *ac)
{
    REAL(H, redisAsyncFree);
    real_(ac);
}

int redisvAsyncCommand(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata, const char *format, va_list ap)
{
    REAL(H, redisvAsyncCommand);
    return real_(ac, fn, privdata, format, ap);
}

int redisAsyncCommand(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int r = redisvAsyncCommand(ac, fn, privdata, format, ap);
    va_end(ap);
    return r;
}

int redisAsyncCommandArgv(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata, int argc, const char **argv,
                          const size_t *argvlen)
{
    REAL(H, redisAsyncCommandArgv);
    return real_(ac, fn, privdata, argc, argv, argvlen);
}

#undef H
