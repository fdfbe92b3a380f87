/* Who ended a container, from the engine's events as each client leaves
 * them (sequences taken from Docker 20.10 and docker compose v5), and the
 * difference between tend's container and another client's. */
#include "test.h"

#include "engine/outside.h"

#include <signal.h>

/* Feeds "action[:signal]" words, in order. */
static void feed(CtrTrack *t, const char *const *evs)
{
    for (; *evs; evs++) {
        char a[32];
        snprintf(a, sizeof a, "%s", *evs);
        char *colon = strchr(a, ':');
        if (colon)
            *colon++ = 0;
        ctrtrack_event(t, a, colon);
    }
}

static CtrEnd end_of(const char *const *evs, int64_t status, bool gone)
{
    CtrTrack t = {0};
    feed(&t, evs);
    return ctrtrack_end(&t, status, gone, false);
}

TEST(an_exit_of_its_own_is_not_another_clients_doing)
{
    CtrTrack t = {0};
    feed(&t, (const char *const[]){"die", NULL});
    CHECK(ctrtrack_unexpected(&t)); /* tend did not stop it: the engine is asked how */
    CHECK(ctrtrack_settled(&t, false));
    CtrEnd e = ctrtrack_end(&t, 3, false, false);
    CHECK_INT(e.how, CTR_END_EXIT);
    CHECK_INT(e.status, 3);
    CHECK(!ctr_end_by_other(&e));
    char buf[128];
    CHECK_STR(ctr_end_describe(&e, buf, sizeof buf), "");
}

TEST(tends_own_stop_is_tends)
{
    CtrTrack t = {0};
    ctrtrack_sent(&t, SIGTERM, true);
    ctrtrack_sent(&t, SIGKILL, true);
    feed(&t, (const char *const[]){"kill:15", "kill:9", "die", NULL});
    CHECK(!ctrtrack_unexpected(&t));
    CHECK_INT(ctrtrack_end(&t, 137, false, false).how, CTR_END_EXIT);
}

TEST(a_signal_another_client_sent_before_tends_stop_did_not_end_it)
{
    CtrTrack t = {0};
    feed(&t, (const char *const[]){"kill:2", NULL}); /* ignored by the process */
    ctrtrack_sent(&t, SIGTERM, true);
    feed(&t, (const char *const[]){"kill:15", "die", NULL});
    CHECK(!ctrtrack_unexpected(&t));
    CHECK_INT(ctrtrack_end(&t, 0, false, false).how, CTR_END_EXIT);
}

TEST(a_reload_signal_from_tend_does_not_make_an_exit_expected)
{
    CtrTrack t = {0};
    ctrtrack_sent(&t, SIGHUP, false);
    feed(&t, (const char *const[]){"kill:1", "die", NULL});
    CHECK(ctrtrack_unexpected(&t));
    CHECK_INT(ctrtrack_end(&t, 1, false, false).how, CTR_END_EXIT);
}

TEST(docker_kill)
{
    CtrEnd e = end_of((const char *const[]){"kill:9", "die", NULL}, 137, false);
    CHECK_INT(e.how, CTR_END_KILLED);
    CHECK_INT(e.signal, SIGKILL);
    char buf[128];
    CHECK_STR(ctr_end_describe(&e, buf, sizeof buf), "killed by another client with SIGKILL (docker kill)");
    CHECK(ctr_end_by_other(&e));
}

TEST(docker_stop_waits_for_its_stop_event)
{
    CtrTrack t = {0};
    feed(&t, (const char *const[]){"kill:15", "die", NULL});
    CHECK(!ctrtrack_settled(&t, false)); /* docker stop or docker kill -s TERM: the "stop" tells */
    feed(&t, (const char *const[]){"stop", NULL});
    CHECK(ctrtrack_settled(&t, false));
    CtrEnd e = ctrtrack_end(&t, 0, false, false);
    CHECK_INT(e.how, CTR_END_STOPPED);
    CHECK(!e.removed);
    char buf[128];
    CHECK_STR(ctr_end_describe(&e, buf, sizeof buf), "stopped by another client (docker stop)");
}

TEST(docker_stop_of_a_process_that_ignores_sigterm_is_a_stop)
{
    CtrEnd e = end_of((const char *const[]){"kill:15", "kill:9", "die", "stop", NULL}, 137, false);
    CHECK_INT(e.how, CTR_END_STOPPED);
}

TEST(docker_kill_with_another_signal_is_told_after_the_wait)
{
    CtrTrack t = {0};
    feed(&t, (const char *const[]){"kill:2", "die", NULL});
    CHECK(!ctrtrack_settled(&t, false));
    CtrEnd e = ctrtrack_end(&t, 130, false, false);
    CHECK_INT(e.how, CTR_END_KILLED);
    CHECK_INT(e.signal, SIGINT);
}

TEST(docker_rm_f)
{
    CtrEnd e = end_of((const char *const[]){"kill:9", "die", "destroy", NULL}, 137, false);
    CHECK_INT(e.how, CTR_END_REMOVED);
    /* The destroy event may come after the end is told: "removing" or gone then says it. */
    e = end_of((const char *const[]){"kill:9", "die", NULL}, 137, true);
    CHECK_INT(e.how, CTR_END_REMOVED);
    char buf[128];
    CHECK_STR(ctr_end_describe(&e, buf, sizeof buf), "removed by another client (docker rm)");
}

TEST(compose_down_and_recreation_are_a_stop_then_a_removal)
{
    CtrEnd e = end_of((const char *const[]){"kill:15", "die", "stop", "destroy", NULL}, 0, false);
    CHECK_INT(e.how, CTR_END_STOPPED);
    CHECK(e.removed);
    /* The stop event not in yet, the container already gone: still a stop. */
    CtrTrack t = {0};
    feed(&t, (const char *const[]){"kill:15", "die", NULL});
    CHECK(ctrtrack_settled(&t, true));
    e = ctrtrack_end(&t, 0, true, false);
    CHECK_INT(e.how, CTR_END_STOPPED);
    CHECK(e.removed);
}

TEST(an_oom_kill_is_the_kernels)
{
    CtrEnd e = end_of((const char *const[]){"oom", "die", NULL}, 137, false);
    CHECK_INT(e.how, CTR_END_OOM);
    CHECK(!ctr_end_by_other(&e));
    CtrTrack t = {0};
    CHECK_INT(ctrtrack_end(&t, 137, false, true).how, CTR_END_OOM);
}

TEST(docker_restart_is_seen_as_started_again)
{
    CtrTrack t = {0};
    feed(&t, (const char *const[]){"kill:15", "die", "stop", "start", "restart", NULL});
    CHECK(t.started_again);
    CHECK_INT(ctrtrack_end(&t, 0, false, false).how, CTR_END_STOPPED);
}

TEST(many_signals_from_tend_keep_the_newest)
{
    CtrTrack t = {0};
    for (int i = 0; i < 20; i++)
        ctrtrack_sent(&t, SIGHUP, false);
    CHECK_INT(t.n_sent, CTR_TRACK_SENT_MAX);
    feed(&t, (const char *const[]){"kill:1", NULL});
    CHECK_INT(t.other_signal, 0);
}

/* ---- the difference ---- */

static json_t *parse(const char *s)
{
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    if (!j)
        printf("#   bad JSON in the test: %s\n", err.text);
    return j;
}

TEST(the_same_configuration_has_no_difference)
{
    json_t *want = parse("{\"Image\":\"tend/busybox\",\"Cmd\":[\"sleep\",\"9\"],\"Env\":[\"A=1\"],"
                         "\"Labels\":{\"com.docker.compose.project\":\"p\",\"x\":\"1\"},"
                         "\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"p_data\",\"Target\":\"/d\"}],"
                         "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]}}}");
    json_t *have = parse("{\"Config\":{\"Image\":\"tend/busybox\",\"Cmd\":[\"sleep\",\"9\"],"
                         "\"Env\":[\"A=1\",\"PATH=/bin\"],\"Labels\":{\"com.docker.compose.project\":\"p\","
                         "\"com.docker.compose.version\":\"5.6.0\",\"x\":\"1\",\"from.image\":\"y\"}},"
                         "\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"p_data\",\"Source\":\"/var/lib/x\","
                         "\"Destination\":\"/d\"}],"
                         "\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]}}}");
    json_t *image = parse("{\"Config\":{\"Env\":[\"PATH=/bin\"],\"Labels\":{\"from.image\":\"y\"}}}");
    REQUIRE(want && have && image);
    char *d = ctr_config_diff(want, have, image);
    CHECK(d == NULL);
    if (d)
        printf("#   got: %s\n", d);
    free(d);
    json_decref(want);
    json_decref(have);
    json_decref(image);
}

TEST(differences_are_named)
{
    json_t *want = parse("{\"Image\":\"tend/busybox\",\"Cmd\":[\"sleep\",\"9\"],\"Env\":[\"A=1\",\"B=2\"],"
                         "\"User\":\"nobody\",\"Labels\":{\"x\":\"1\"},"
                         "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"]},"
                         "\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/src\",\"Target\":\"/app\"}],"
                         "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]}}}");
    json_t *have = parse("{\"Config\":{\"Image\":\"other:1\",\"Cmd\":[\"sleep\",\"10\"],"
                         "\"Env\":[\"A=1\",\"B=3\",\"EXTRA=1\"],\"User\":\"root\",\"Labels\":{\"y\":\"2\"},"
                         "\"Healthcheck\":{\"Test\":[\"NONE\"]}},"
                         "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/elsewhere\",\"Destination\":\"/app\"},"
                         "{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Destination\":\"/tmp\"}],"
                         "\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}}}");
    REQUIRE(want && have);
    char *d = ctr_config_diff(want, have, NULL);
    CHECK_STR(d, "image (tend: tend/busybox, the container: other:1), command, environment (B, EXTRA), user, "
                 "volumes (/app, /tmp), ports (tend: 127.0.0.1:8080->80/tcp, the container: "
                 "0.0.0.0:8080->80/tcp), labels (x, y), healthcheck");
    free(d);
    json_decref(want);
    json_decref(have);
}

TEST(what_the_file_leaves_to_the_image_is_not_compared)
{
    /* No command, entrypoint, user or working_dir in the file: the image's. */
    json_t *want = parse("{\"Image\":\"img\",\"Env\":[]}");
    json_t *have = parse("{\"Config\":{\"Image\":\"img\",\"Cmd\":[\"x\"],\"Entrypoint\":[\"/init\"],"
                         "\"User\":\"1000\",\"WorkingDir\":\"/w\",\"Env\":[]}}");
    REQUIRE(want && have);
    char *d = ctr_config_diff(want, have, NULL);
    CHECK(d == NULL);
    free(d);
    json_decref(want);
    json_decref(have);
}

TEST(signal_names)
{
    char buf[16];
    CHECK_STR(ctr_signal_name(SIGKILL, buf, sizeof buf), "KILL");
    CHECK_STR(ctr_signal_name(SIGTERM, buf, sizeof buf), "TERM");
    CHECK_STR(ctr_signal_name(0, buf, sizeof buf), "0");
}
