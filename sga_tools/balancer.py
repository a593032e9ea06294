"""A small HTTP load balancer for running several servers on one machine (`make soak`, `make bench`,
`sga run` with RASA_SERVERS or ACTION_SERVERS above 1).

It spreads requests over its upstreams in turn; a REST chat message goes to the server after the one
that took the same conversation's previous message, so consecutive turns of one conversation are
served by different Rasa servers (what the shared tracker store and lock store must make safe). When
an upstream refuses the connection the next one is tried; an answer that never comes is a 502.
Each response says which upstream served it (`X-SGA-Upstream`), and the client's address goes on in
`X-Forwarded-For` (Sanic reads it when SANIC_PROXIES_COUNT=1).

Plain HTTP only: the socket.io channel's long polling needs sticky sessions, so in front of several
Rasa servers in production use a real proxy with sticky sessions (docs/deploy.md); this one serves
REST, Rasa's HTTP API and the action servers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import signal
import sys
from collections import OrderedDict
from typing import List, Optional

from aiohttp import ClientConnectionError, ClientSession, ClientTimeout, TCPConnector, web

REST_WEBHOOK = "/webhooks/rest/webhook"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
MAX_TRACKED_CONVERSATIONS = 100_000
logger = logging.getLogger("sga.balancer")


class Balancer:
    def __init__(self, upstreams: List[str], timeout: float = 120.0):
        if not upstreams:
            raise ValueError("a balancer needs at least one upstream")
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self.timeout = timeout
        self._next = itertools.cycle(range(len(self.upstreams)))
        self._last_for: "OrderedDict[str, int]" = OrderedDict()
        self.session: Optional[ClientSession] = None

    def first_choice(self, path: str, body: bytes) -> int:
        """The upstream to try first: the next one in turn, or for a REST chat message the one after
        the upstream that served this conversation's previous message."""
        sender = _rest_sender(path, body)
        if sender is None:
            return next(self._next)
        previous = self._last_for.pop(sender, None)
        choice = next(self._next) if previous is None else (previous + 1) % len(self.upstreams)
        self._last_for[sender] = choice
        while len(self._last_for) > MAX_TRACKED_CONVERSATIONS:
            self._last_for.popitem(last=False)
        return choice

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        peer = request.remote or ""
        forwarded = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
        first = self.first_choice(request.path, body)
        for attempt in range(len(self.upstreams)):
            index = (first + attempt) % len(self.upstreams)
            url = self.upstreams[index] + request.rel_url.path_qs
            try:
                async with self.session.request(
                    request.method, url, data=body, headers=headers, allow_redirects=False
                ) as upstream:
                    payload = await upstream.read()
                    out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                    out["X-SGA-Upstream"] = str(index)
                    return web.Response(status=upstream.status, body=payload, headers=out)
            except ClientConnectionError as error:
                # Refused or reset: the request may not have been taken, so try the next upstream.
                logger.warning("upstream %s unavailable (%s)", index, type(error).__name__)
            except asyncio.TimeoutError:
                logger.warning("upstream %s did not answer within %.0f s", index, self.timeout)
                break
        return web.json_response({"error": "no server could take this request; try again shortly"}, status=502)

    async def start(self, app: web.Application) -> None:
        self.session = ClientSession(
            timeout=ClientTimeout(total=self.timeout),
            connector=TCPConnector(limit=0, limit_per_host=200),
            auto_decompress=False,
        )

    async def close(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self.start)
        app.on_cleanup.append(self.close)
        return app


def _rest_sender(path: str, body: bytes) -> Optional[str]:
    if path.rstrip("/") != REST_WEBHOOK or len(body) > 64 * 1024:
        return None
    try:
        sender = json.loads(body).get("sender")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return sender if isinstance(sender, str) else None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Spread HTTP requests over several local servers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", action="append", required=True, help="http://host:port (repeat)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    balancer = Balancer(args.upstream)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    web.run_app(balancer.app(), host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
