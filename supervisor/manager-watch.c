/* manager-watch: reload services when their files change (not yet built:
 * these hooks do nothing). */
#include "manager-int.h"

void mgr_watch_start(Manager *m) { (void)m; }
void mgr_watch_state(Manager *m, Svc *v, ServiceState from, ServiceState to, const char *reason)
{
    (void)m, (void)v, (void)from, (void)to, (void)reason;
}
void mgr_watch_stop(Manager *m) { (void)m; }
void mgr_watch_free(Manager *m) { (void)m; }
