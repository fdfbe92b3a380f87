"""The example's status service: Tornado, relaying the messages published on
the Redis channel example:status to every WebSocket client of /ws.

GET /ws       a WebSocket; each Redis message is sent as one text message
GET /healthz  "ok"
"""
import asyncio
import json
import os
import signal

import redis.asyncio as aioredis
import tornado.web
import tornado.websocket

REDIS_URL = os.environ.get("REDIS_URL", "redis://redis:6379/0")
CHANNEL = os.environ.get("STATUS_CHANNEL", "example:status")
PORT = int(os.environ.get("STATUS_PORT", "8888"))

clients = set()


class StatusSocket(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True  # behind the proxy, on any local port

    def open(self):
        clients.add(self)
        self.write_message(json.dumps({"state": "connected", "channel": CHANNEL}))

    def on_close(self):
        clients.discard(self)


class Health(tornado.web.RequestHandler):
    def get(self):
        self.write("ok\n")


async def relay():
    while True:
        try:
            conn = aioredis.from_url(REDIS_URL, decode_responses=True)
            pubsub = conn.pubsub()
            await pubsub.subscribe(CHANNEL)
            # This line is the service's readiness (a log probe).
            print("status: relaying %s to ws://:%d/ws" % (CHANNEL, PORT), flush=True)
            async for msg in pubsub.listen():
                if msg.get("type") != "message":
                    continue
                for c in list(clients):
                    try:
                        c.write_message(msg["data"])
                    except tornado.websocket.WebSocketClosedError:
                        clients.discard(c)
        except Exception as e:  # redis restarted: subscribe again
            print("status: redis: %s; retrying" % e, flush=True)
            await asyncio.sleep(0.5)


async def main():
    app = tornado.web.Application([(r"/ws", StatusSocket), (r"/healthz", Health)])
    app.listen(PORT)
    task = asyncio.create_task(relay())
    # As PID 1 of its container the process has no default SIGTERM action.
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
