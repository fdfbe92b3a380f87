# gunicorn settings for the example's web app (read with -c).
import os

# The libraries are imported once, here in the master: workers forked after
# a reload inherit them and only import app.py again, in milliseconds.
import flask  # noqa: F401
import psycopg2  # noqa: F401
import redis  # noqa: F401
import rq  # noqa: F401

bind = "0.0.0.0:8000"
# One process with a few threads: a reload starts one new process. No
# keep-alive: after a reload Caddy reaches the new worker at once, not an
# old one still finishing on a kept-alive connection.
workers = int(os.environ.get("WEB_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 0
graceful_timeout = 3
accesslog = "-"
# Not preloaded: on SIGHUP (sent by tend when a file changes) gunicorn starts
# new workers, which import the edited code, and stops the old ones.
preload_app = False


class _NotHealthz:
    """Leaves the healthcheck's requests (every 10 s) out of the access log."""

    def filter(self, record):
        return "/healthz" not in record.getMessage()


def post_fork(server, worker):
    worker.log.access_log.addFilter(_NotHealthz())


def post_worker_init(worker):
    # The app is imported; its connections are opened before the first
    # request. This line is the service's readiness (a log probe).
    import sys

    app = sys.modules.get("app")
    if app is not None and hasattr(app, "warm"):
        app.warm()
    print("web: worker %d ready" % worker.pid, flush=True)
