/* manager-ctl: the control socket of a running `tend up` (not yet built:
 * these hooks do nothing). */
#include "manager-int.h"

void mgr_ctl_start(Manager *m) { (void)m; }
void mgr_ctl_state(Manager *m, Svc *v, ServiceState from, ServiceState to, const char *reason)
{
    (void)m, (void)v, (void)from, (void)to, (void)reason;
}
void mgr_ctl_log(Manager *m, const char *service, int stream, const char *line, size_t len, int64_t t)
{
    (void)m, (void)service, (void)stream, (void)line, (void)len, (void)t;
}
void mgr_ctl_ready(Manager *m) { (void)m; }
void mgr_ctl_stop(Manager *m) { (void)m; }
void mgr_ctl_free(Manager *m) { (void)m; }
