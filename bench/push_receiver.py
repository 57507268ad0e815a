"""A fake push gateway for the delivery benchmark, run in its own process.

    python -m bench.push_receiver --port P --secret S

A raw ASGI app under uvicorn on 127.0.0.1: ``POST /webhook`` verifies the signature as
a real receiver must (``api.delivery.webhook.verify_signature``: HMAC over the raw body,
constant-time compare, freshness) and answers 202; ``GET /stats`` returns how many
pushes arrived, how many distinct message ids, and how many were refused. It exits by
itself after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from typing import Any

import uvicorn

from api.delivery.webhook import SIGNATURE_HEADER, verify_signature


class Receiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.ids: Counter[str] = Counter()
        self.refused = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "GET" and scope["path"] == "/stats":
            stats = {"received": sum(self.ids.values()), "distinct": len(self.ids), "refused": self.refused}
            await _reply(send, 200, stats)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not verify_signature(self.secret, headers.get(SIGNATURE_HEADER.lower()), body, int(time.time())):
            self.refused += 1
            await _reply(send, 401, {"error": "bad signature"})
            return
        self.ids[json.loads(body)["id"]] += 1
        await _reply(send, 202, {"accepted": True})


async def _reply(send: Any, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--lifetime", type=float, default=300)
    args = parser.parse_args()
    server = uvicorn.Server(
        uvicorn.Config(Receiver(args.secret), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    )
    timer = threading.Timer(args.lifetime, lambda: setattr(server, "should_exit", True))
    timer.daemon = True
    timer.start()
    server.run()


if __name__ == "__main__":
    main()
