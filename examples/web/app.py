"""The example's web app: Flask, served by gunicorn.

GET  /          an HTML page: the rows seeded into Postgres, a visit counter
                kept in Redis, a button that enqueues a job and the status
                messages the worker publishes (over the WebSocket at /ws)
GET  /api       the same as JSON
POST /jobs      enqueues a job for the RQ worker; {"id": ...}
GET  /jobs/ID   the job's state and the row the worker wrote
GET  /healthz   "ok"

Edit MESSAGE and save: tend sends gunicorn SIGHUP and the new text is served
within a second.
"""
import html
import os

import psycopg2
import redis
from flask import Flask, jsonify, request
from rq import Queue
from rq.job import Job

MESSAGE = "Hello from the tend example stack"

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://app:app@postgres:5432/app")
# A cluster environment (env/staging) gives the password as a file.
_password_file = os.environ.get("DATABASE_PASSWORD_FILE")
DATABASE_ARGS = {"password": open(_password_file).read().strip()} if _password_file else {}
REDIS_URL = os.environ.get("REDIS_URL", "redis://redis:6379/0")

app = Flask(__name__)
# RQ stores pickled jobs: its connection must not decode replies.
rq_redis = redis.Redis.from_url(REDIS_URL)
queue = Queue("default", connection=rq_redis)
r = redis.Redis.from_url(REDIS_URL, decode_responses=True)


_conn = None


def query(sql, args=()):
    """Rows of one query, on this worker's connection (opened again when the
    server went away)."""
    global _conn
    for attempt in (1, 2):
        if _conn is None or _conn.closed:
            _conn = psycopg2.connect(DATABASE_URL, connect_timeout=5, **DATABASE_ARGS)
            _conn.autocommit = True
        try:
            with _conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        except psycopg2.OperationalError:
            _conn.close()
            _conn = None
            if attempt == 2:
                raise


def warm():
    """Opens the connections before the first request (gunicorn.conf.py)."""
    try:
        query("SELECT 1")
        r.ping()
        rq_redis.ping()
    except Exception as e:  # the first request will tell
        print("web: warming up: %s" % e, flush=True)


def state():
    items = query("SELECT id, name, note FROM items ORDER BY id")
    return {
        "message": MESSAGE,
        "visits": r.incr("example:visits"),
        "greeting": r.get("example:greeting"),
        "items": [{"id": i, "name": n, "note": t} for i, n, t in items],
    }


@app.get("/healthz")
def healthz():
    return "ok\n"


@app.get("/api")
def api():
    return jsonify(state())


@app.post("/jobs")
def enqueue():
    payload = request.get_data(as_text=True) or "hello"
    job = queue.enqueue("tasks.process", payload, result_ttl=3600)
    return jsonify({"id": job.id}), 202


@app.get("/jobs/<job_id>")
def job_status(job_id):
    try:
        job = Job.fetch(job_id, connection=rq_redis)
        status, result = job.get_status(), job.result
    except Exception:  # unknown or expired
        status, result = "unknown", None
    rows = query("SELECT result, finished_at FROM job_results WHERE job_id = %s", (job_id,))
    row = {"result": rows[0][0], "finished_at": rows[0][1].isoformat()} if rows else None
    return jsonify({"id": job_id, "status": status, "result": result, "row": row})


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>tend example</title>
<style>body{font-family:sans-serif;max-width:46em;margin:2em auto}td{padding:.2em .6em}
#log{background:#f4f4f4;padding:.5em;min-height:4em;white-space:pre-wrap}</style></head>
<body><h1 id="message">%(message)s</h1>
<p>%(greeting)s: this page was seen <b id="visits">%(visits)d</b> times (a Redis counter).</p>
<h2>Rows seeded into Postgres</h2><table>%(rows)s</table>
<h2>Jobs</h2><button onclick="fetch('/jobs',{method:'POST',body:'from the page'})">Run a job</button>
<p>Status messages from the worker, through the WebSocket at /ws:</p><div id="log"></div>
<script>
const log = document.getElementById("log");
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onmessage = (e) => { log.textContent += e.data + "\\n"; };
</script></body></html>
"""


@app.get("/")
def index():
    s = state()
    rows = "".join(
        "<tr><td>%d</td><td>%s</td><td>%s</td></tr>" % (i["id"], html.escape(i["name"]), html.escape(i["note"]))
        for i in s["items"]
    )
    return PAGE % {
        "message": html.escape(s["message"]),
        "greeting": html.escape(s["greeting"] or "Hello"),
        "visits": s["visits"],
        "rows": rows,
    }
