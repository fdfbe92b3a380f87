"""The jobs the example's RQ worker runs (rq worker --path /app default).

process(payload): counts the seeded rows, writes a row in job_results and
publishes a status message on the Redis channel example:status, which the
status service relays to WebSocket clients.
"""
import json
import os

import psycopg2
import redis
from rq import get_current_job

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://app:app@postgres:5432/app")
# A cluster environment (env/staging) gives the password as a file.
_password_file = os.environ.get("DATABASE_PASSWORD_FILE")
DATABASE_ARGS = {"password": open(_password_file).read().strip()} if _password_file else {}
REDIS_URL = os.environ.get("REDIS_URL", "redis://redis:6379/0")
CHANNEL = "example:status"


def process(payload):
    job = get_current_job()
    conn = psycopg2.connect(DATABASE_URL, connect_timeout=5, **DATABASE_ARGS)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM items")
            (n,) = cur.fetchone()
            result = "processed %r against %d seeded rows" % (payload, n)
            cur.execute(
                "INSERT INTO job_results (job_id, payload, result) VALUES (%s, %s, %s)",
                (job.id, payload, result),
            )
    finally:
        conn.close()
    message = json.dumps({"job": job.id, "state": "finished", "result": result})
    redis.Redis.from_url(REDIS_URL).publish(CHANNEL, message)
    return result
