/* The service decision table, every cell, and the restart arithmetic. */
#include "test.h"

#include "run/service.h"

#define C(st, ac) {SS_##st, SA_##ac}
#define NONE_IN(st) C(st, NONE)

/* Columns: UP, DEPS_MET, DEP_FAILED, SPAWNED, SPAWN_FAILED, PROBE_READY,
 * PROBE_UNHEALTHY, PROBE_GAVE_UP, EXITED, STOP, BACKOFF_DONE, RESTART,
 * ENDED, ADOPT, REPLACED. With a context that has every flag false: an
 * exit is a failure and the policy does not restart. */
static const Transition table[_SS_MAX][_SE_MAX] = {
    [SS_IDLE] = {C(WAITING, CHECK_DEPS), NONE_IN(IDLE), NONE_IN(IDLE), NONE_IN(IDLE), NONE_IN(IDLE),
                 NONE_IN(IDLE), NONE_IN(IDLE), NONE_IN(IDLE), NONE_IN(IDLE), NONE_IN(IDLE),
                 NONE_IN(IDLE), C(WAITING, CHECK_DEPS), NONE_IN(IDLE), NONE_IN(IDLE), NONE_IN(IDLE)},
    [SS_WAITING] = {NONE_IN(WAITING), C(STARTING, SPAWN), C(FAILED, REPORT_FAILURE), NONE_IN(WAITING),
                    NONE_IN(WAITING), NONE_IN(WAITING), NONE_IN(WAITING), NONE_IN(WAITING),
                    NONE_IN(WAITING), C(EXITED, REPORT_EXIT), NONE_IN(WAITING), NONE_IN(WAITING),
                    NONE_IN(WAITING), C(STARTING, ADOPT), C(EXITED, REPORT_REPLACED)},
    [SS_STARTING] = {NONE_IN(STARTING), NONE_IN(STARTING), NONE_IN(STARTING), C(RUNNING, START_PROBE),
                     C(FAILED, REPORT_FAILURE), NONE_IN(STARTING), NONE_IN(STARTING), NONE_IN(STARTING),
                     C(FAILED, REPORT_FAILURE), C(STOPPING, NONE), NONE_IN(STARTING), NONE_IN(STARTING),
                     C(EXITED, REPORT_OTHER), NONE_IN(STARTING), NONE_IN(STARTING)},
    [SS_RUNNING] = {NONE_IN(RUNNING), NONE_IN(RUNNING), NONE_IN(RUNNING), NONE_IN(RUNNING),
                    NONE_IN(RUNNING), C(READY, NONE), NONE_IN(RUNNING), C(FAILED, REPORT_FAILURE),
                    C(FAILED, REPORT_FAILURE), C(STOPPING, SIGNAL_STOP), NONE_IN(RUNNING),
                    C(STOPPING, RESTART_NOW), C(EXITED, REPORT_OTHER), NONE_IN(RUNNING), NONE_IN(RUNNING)},
    [SS_READY] = {NONE_IN(READY), NONE_IN(READY), NONE_IN(READY), NONE_IN(READY), NONE_IN(READY),
                  NONE_IN(READY), C(UNHEALTHY, REPORT_UNHEALTHY), NONE_IN(READY),
                  C(FAILED, REPORT_FAILURE), C(STOPPING, SIGNAL_STOP), NONE_IN(READY),
                  C(STOPPING, RESTART_NOW), C(EXITED, REPORT_OTHER), NONE_IN(READY), NONE_IN(READY)},
    [SS_UNHEALTHY] = {NONE_IN(UNHEALTHY), NONE_IN(UNHEALTHY), NONE_IN(UNHEALTHY), NONE_IN(UNHEALTHY),
                      NONE_IN(UNHEALTHY), C(READY, NONE), C(UNHEALTHY, REPORT_UNHEALTHY),
                      NONE_IN(UNHEALTHY), C(FAILED, REPORT_FAILURE), C(STOPPING, SIGNAL_STOP),
                      NONE_IN(UNHEALTHY), C(STOPPING, RESTART_NOW), C(EXITED, REPORT_OTHER),
                      NONE_IN(UNHEALTHY), NONE_IN(UNHEALTHY)},
    [SS_BACKOFF] = {NONE_IN(BACKOFF), NONE_IN(BACKOFF), NONE_IN(BACKOFF), NONE_IN(BACKOFF),
                    NONE_IN(BACKOFF), NONE_IN(BACKOFF), NONE_IN(BACKOFF), NONE_IN(BACKOFF),
                    NONE_IN(BACKOFF), C(EXITED, CANCEL_RESTART), C(WAITING, CHECK_DEPS),
                    C(WAITING, CANCEL_RESTART), NONE_IN(BACKOFF), C(STARTING, ADOPT),
                    C(EXITED, REPORT_REPLACED)},
    [SS_STOPPING] = {NONE_IN(STOPPING), NONE_IN(STOPPING), NONE_IN(STOPPING), C(STOPPING, SIGNAL_STOP),
                     C(EXITED, REPORT_EXIT), NONE_IN(STOPPING), NONE_IN(STOPPING), NONE_IN(STOPPING),
                     C(EXITED, REPORT_EXIT), NONE_IN(STOPPING), NONE_IN(STOPPING), NONE_IN(STOPPING),
                     C(EXITED, REPORT_EXIT), NONE_IN(STOPPING), NONE_IN(STOPPING)},
    [SS_EXITED] = {C(WAITING, CHECK_DEPS), NONE_IN(EXITED), NONE_IN(EXITED), NONE_IN(EXITED),
                   NONE_IN(EXITED), NONE_IN(EXITED), NONE_IN(EXITED), NONE_IN(EXITED), NONE_IN(EXITED),
                   NONE_IN(EXITED), NONE_IN(EXITED), C(WAITING, CHECK_DEPS), NONE_IN(EXITED),
                   C(STARTING, ADOPT), C(EXITED, REPORT_REPLACED)},
    [SS_FAILED] = {C(WAITING, CHECK_DEPS), NONE_IN(FAILED), NONE_IN(FAILED), NONE_IN(FAILED),
                   NONE_IN(FAILED), NONE_IN(FAILED), NONE_IN(FAILED), NONE_IN(FAILED), NONE_IN(FAILED),
                   NONE_IN(FAILED), NONE_IN(FAILED), C(WAITING, CHECK_DEPS), NONE_IN(FAILED),
                   C(STARTING, ADOPT), C(EXITED, REPORT_REPLACED)},
};

static bool same(Transition a, Transition b)
{
    return a.next == b.next && a.action == b.action;
}

static void expect(ServiceState s, ServiceEvent e, const DecideCtx *c, Transition want)
{
    Transition got = service_decide(s, e, c);
    if (!same(got, want)) {
        printf("#   %s x %s: got (%s, %s), expected (%s, %s)\n", service_state_to_string(s),
               service_event_to_string(e), service_state_to_string(got.next),
               service_action_to_string(got.action), service_state_to_string(want.next),
               service_action_to_string(want.action));
        test_failed_ = true;
    }
}

TEST(every_cell_with_a_plain_context)
{
    DecideCtx c = {0};
    for (int s = 0; s < _SS_MAX; s++)
        for (int e = 0; e < _SE_MAX; e++)
            expect((ServiceState)s, (ServiceEvent)e, &c, table[s][e]);
}

TEST(exits_follow_the_restart_policy_and_the_status)
{
    const ServiceState live[] = {SS_STARTING, SS_RUNNING, SS_READY, SS_UNHEALTHY};
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        expect(live[i], SE_EXITED, &(DecideCtx){.exit_ok = true}, (Transition){SS_EXITED, SA_REPORT_EXIT});
        expect(live[i], SE_EXITED, &(DecideCtx){.exit_ok = false}, (Transition){SS_FAILED, SA_REPORT_FAILURE});
        expect(live[i], SE_EXITED, &(DecideCtx){.exit_ok = true, .restart_wanted = true},
               (Transition){SS_BACKOFF, SA_SCHEDULE_RESTART});
        expect(live[i], SE_EXITED, &(DecideCtx){.restart_wanted = true},
               (Transition){SS_BACKOFF, SA_SCHEDULE_RESTART});
    }
}

TEST(an_end_by_another_client_restarts_only_when_the_policy_says_so)
{
    const ServiceState live[] = {SS_STARTING, SS_RUNNING, SS_READY, SS_UNHEALTHY};
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        expect(live[i], SE_ENDED, &(DecideCtx){.restart_wanted = true},
               (Transition){SS_BACKOFF, SA_SCHEDULE_RESTART});
        /* Not a failure of the service: exited, and told as another client's doing. */
        expect(live[i], SE_ENDED, &(DecideCtx){.exit_ok = false}, (Transition){SS_EXITED, SA_REPORT_OTHER});
    }
    /* tend was stopping it anyway. */
    expect(SS_STOPPING, SE_ENDED, &(DecideCtx){.restart_pending = true}, (Transition){SS_WAITING, SA_CHECK_DEPS});
    expect(SS_STOPPING, SE_ENDED, &(DecideCtx){.restart_wanted = true}, (Transition){SS_EXITED, SA_REPORT_EXIT});
    /* Not running: nothing of it to end. */
    expect(SS_BACKOFF, SE_ENDED, &(DecideCtx){.restart_wanted = true}, (Transition){SS_BACKOFF, SA_NONE});
}

TEST(another_clients_container_is_adopted_only_where_tend_runs_none)
{
    const ServiceState down[] = {SS_WAITING, SS_BACKOFF, SS_EXITED, SS_FAILED};
    for (size_t i = 0; i < sizeof(down) / sizeof(down[0]); i++) {
        expect(down[i], SE_ADOPT, NULL, (Transition){SS_STARTING, SA_ADOPT});
        expect(down[i], SE_REPLACED, NULL, (Transition){SS_EXITED, SA_REPORT_REPLACED});
    }
    const ServiceState up[] = {SS_IDLE, SS_STARTING, SS_RUNNING, SS_READY, SS_UNHEALTHY, SS_STOPPING};
    for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
        expect(up[i], SE_ADOPT, NULL, (Transition){up[i], SA_NONE});
        expect(up[i], SE_REPLACED, NULL, (Transition){up[i], SA_NONE});
    }
}

TEST(unhealthy_restarts_only_when_the_policy_says_so)
{
    DecideCtx r = {.restart_wanted = true};
    expect(SS_READY, SE_PROBE_UNHEALTHY, &r, (Transition){SS_STOPPING, SA_RESTART_UNHEALTHY});
    expect(SS_UNHEALTHY, SE_PROBE_UNHEALTHY, &r, (Transition){SS_STOPPING, SA_RESTART_UNHEALTHY});
    expect(SS_RUNNING, SE_PROBE_UNHEALTHY, &r, (Transition){SS_RUNNING, SA_NONE});
}

TEST(a_stop_for_a_restart_starts_again)
{
    expect(SS_STOPPING, SE_EXITED, &(DecideCtx){.restart_pending = true},
           (Transition){SS_WAITING, SA_CHECK_DEPS});
    expect(SS_STOPPING, SE_EXITED, &(DecideCtx){.restart_pending = false},
           (Transition){SS_EXITED, SA_REPORT_EXIT});
}

TEST(no_context_is_a_plain_context)
{
    CHECK(same(service_decide(SS_READY, SE_EXITED, NULL), table[SS_READY][SE_EXITED]));
}

TEST(names)
{
    CHECK_STR(service_state_to_string(SS_UNHEALTHY), "unhealthy");
    CHECK_STR(service_event_to_string(SE_BACKOFF_DONE), "backoff-done");
    CHECK_STR(service_action_to_string(SA_RESTART_UNHEALTHY), "restart-unhealthy");
    CHECK_STR(service_event_to_string(SE_REPLACED), "replaced");
    CHECK_STR(service_action_to_string(SA_REPORT_REPLACED), "report-replaced");
    CHECK_STR(service_event_to_string(_SE_MAX), "?");
    CHECK_STR(service_state_to_string(_SS_MAX), "?");
}

TEST(restart_policies)
{
    CHECK(!restart_policy_wants(RESTART_NO, 0, 0, false, false));
    CHECK(restart_policy_wants(RESTART_ALWAYS, 0, 99, true, false));
    CHECK(!restart_policy_wants(RESTART_ALWAYS, 0, 0, false, true));
    CHECK(restart_policy_wants(RESTART_UNLESS_STOPPED, 0, 0, true, false));
    CHECK(!restart_policy_wants(RESTART_UNLESS_STOPPED, 0, 0, true, true));
    CHECK(restart_policy_wants(RESTART_ON_FAILURE, 0, 50, false, false));
    CHECK(!restart_policy_wants(RESTART_ON_FAILURE, 0, 0, true, false));
    CHECK(restart_policy_wants(RESTART_ON_FAILURE, 3, 2, false, false));
    CHECK(!restart_policy_wants(RESTART_ON_FAILURE, 3, 3, false, false));
    /* Another client: a stop is a stop for every policy; a kill or a removal is a failure. */
    CHECK(!restart_after_other(RESTART_ALWAYS, 0, 0, true));
    CHECK(!restart_after_other(RESTART_UNLESS_STOPPED, 0, 0, true));
    CHECK(!restart_after_other(RESTART_ON_FAILURE, 0, 0, true));
    CHECK(restart_after_other(RESTART_ALWAYS, 0, 0, false));
    CHECK(restart_after_other(RESTART_UNLESS_STOPPED, 0, 7, false));
    CHECK(restart_after_other(RESTART_ON_FAILURE, 0, 0, false));
    CHECK(!restart_after_other(RESTART_ON_FAILURE, 2, 2, false));
    CHECK(!restart_after_other(RESTART_NO, 0, 0, false));
    CHECK(!restart_on_unhealthy(RESTART_NO));
    CHECK(restart_on_unhealthy(RESTART_ON_FAILURE));
}

#define MS (1000000LL)
#define S (1000000000LL)

TEST(backoff_doubles_from_100ms_to_30s)
{
    Backoff b = {0};
    int64_t now = 1000 * S;
    int64_t want[] = {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1600 * MS, 3200 * MS, 6400 * MS,
                      12800 * MS, 25600 * MS, 30 * S, 30 * S};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_INT(backoff_next(&b, now), want[i]);
        now += 100 * MS;
    }
}

TEST(backoff_resets_after_ten_seconds_ready)
{
    Backoff b = {0};
    int64_t now = 1000 * S;
    backoff_next(&b, now);
    backoff_next(&b, now);
    CHECK_INT(backoff_next(&b, now), 400 * MS);
    backoff_ready(&b, now);
    CHECK_INT(backoff_next(&b, now + 9 * S), 800 * MS); /* not long enough */
    backoff_ready(&b, now + 10 * S);
    CHECK_INT(backoff_next(&b, now + 20 * S), 100 * MS);
}

TEST(crash_loop_is_five_exits_in_a_minute)
{
    Backoff b = {0};
    int64_t now = 1000 * S;
    for (int i = 0; i < 4; i++)
        backoff_next(&b, now + i * S);
    CHECK(!backoff_crash_looping(&b));
    backoff_next(&b, now + 5 * S);
    CHECK(backoff_crash_looping(&b));
    backoff_next(&b, now + 200 * S); /* a new window */
    CHECK(!backoff_crash_looping(&b));
}
