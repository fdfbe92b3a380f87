/* dynlib: libcurl, libpq and hiredis are not loaded until tend needs them,
 * and the functions tend calls reach the real ones once they are. The test
 * binary links none of the three, like tend. */
#include "test.h"

#include "lib/dynlib.h"

#include <curl/curl.h>
#include <hiredis/async.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Whether a shared object whose name holds `part` is mapped in this process. */
static bool mapped(const char *part)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, part) != NULL;
    fclose(f);
    return found;
}

TEST(nothing_is_loaded_at_start)
{
    CHECK(!mapped("libcurl"));
    CHECK(!mapped("libpq"));
    CHECK(!mapped("libhiredis"));
    CHECK(!dynlib_loaded(DYNLIB_CURL));
}

TEST(first_call_loads_libcurl_and_forwards)
{
    /* A call with a known answer, made before anything loaded libcurl. */
    CHECK_STR(curl_easy_strerror(CURLE_OK), "No error");
    CHECK(dynlib_loaded(DYNLIB_CURL));
    CHECK(mapped("libcurl"));
    /* setopt with each kind of argument: long, pointer, function, off_t. */
    CURL *c = curl_easy_init();
    REQUIRE(c != NULL);
    CHECK_INT(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L), CURLE_OK);
    CHECK_INT(curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:9/"), CURLE_OK);
    CHECK_INT(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, (curl_write_callback)NULL), CURLE_OK);
    CHECK_INT(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40), CURLE_OK);
    /* An unknown option is refused by the real library, not by a wrapper. */
    CHECK_INT(curl_easy_setopt(c, (CURLoption)9999, 1L), CURLE_UNKNOWN_OPTION);
    curl_easy_cleanup(c);
}

TEST(preload_loads_in_the_background)
{
    CHECK(!dynlib_loaded(DYNLIB_PQ));
    dynlib_preload(DYNLIB_MASK(DYNLIB_PQ) | DYNLIB_MASK(DYNLIB_HIREDIS));
    for (int i = 0; i < 500 && !(dynlib_loaded(DYNLIB_PQ) && dynlib_loaded(DYNLIB_HIREDIS)); i++)
        usleep(10000);
    CHECK(dynlib_loaded(DYNLIB_PQ));
    CHECK(dynlib_loaded(DYNLIB_HIREDIS));
    CHECK(mapped("libpq"));
}

TEST(libpq_and_hiredis_calls_reach_the_libraries)
{
    /* A connection to a closed port: libpq gives a connection object whose
     * polling fails; hiredis reports the refusal on its context. */
    const char *keys[] = {"host", "port", "connect_timeout", NULL};
    const char *vals[] = {"127.0.0.1", "9", "1", NULL};
    PGconn *pg = PQconnectStartParams(keys, vals, 0);
    REQUIRE(pg != NULL);
    CHECK(PQstatus(pg) != CONNECTION_OK);
    PQfinish(pg);
    redisAsyncContext *r = redisAsyncConnect("127.0.0.1", 9);
    REQUIRE(r != NULL);
    redisAsyncFree(r);
}
