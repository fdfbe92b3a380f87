# gunicorn settings for the example's web app (read with -c).
import os

bind = "0.0.0.0:8000"
workers = int(os.environ.get("WEB_WORKERS", "2"))
# Keep-alive connections from Caddy must not hold a reload back for long.
keepalive = 2
graceful_timeout = 3
accesslog = "-"
# Not preloaded: on SIGHUP (sent by tend when a file changes) gunicorn starts
# new workers, which import the edited code, and stops the old ones.
preload_app = False


def post_worker_init(worker):
    # The app is imported: this line is the service's readiness (a log probe).
    print("web: worker %d ready" % worker.pid, flush=True)
