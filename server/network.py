"""How the server meets the network: what it believes of a request's address, and how long and how
large a request may be before it is refused.

- A client's address is the one it connects from. X-Forwarded-For is believed only from the
  proxies named in TOUCHPOINT_TRUSTED_PROXIES (uvicorn's own default believes it from 127.0.0.1,
  so anyone on the same machine, or a proxy passing the header on, chose their own address and
  escaped the per-address sign-in and join limits).
- A request's head (request line and headers) is at most HEAD_BYTES: beyond it, a 400 before the
  app sees it (h11 counts it; httptools, uvicorn's other parser, does not bound it).
- A request's body must arrive within TOUCHPOINT_BODY_SECONDS of its head: one byte every few
  seconds would otherwise hold a connection and its memory for as long as the sender likes.
- An idle kept-alive connection is closed after KEEP_ALIVE_SECONDS.
"""

import asyncio

from server.errors import ApiError, ErrorCode
from server.settings import Settings

HEAD_BYTES = 64 * 1024  # the largest cookie and header set a browser sends is well under 16 KiB
KEEP_ALIVE_SECONDS = 5


def uvicorn_options(settings: Settings) -> dict:
    """The keyword arguments `touchpoint serve` gives uvicorn.run."""
    proxies = settings.trusted_proxies.strip()
    return {
        "http": "h11", "h11_max_incomplete_event_size": HEAD_BYTES, "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None,
    }


def body_deadline(seconds: int):
    """ASGI middleware (the app's outermost): a body not received within `seconds` of the request's
    start is a 408. Only the body is timed: once its last part is in, `receive` is the server's own
    again (a streamed export listens on it for the client going away, for as long as it streams)."""

    def middleware(app):
        async def timed_app(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            done = False

            async def timed_receive():
                nonlocal done
                if done:
                    return await receive()
                try:  # timeout_at, not wait_for: wait_for made a task for each part of each body
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise ApiError(408, ErrorCode.REQUEST_TIMEOUT, f"the request's body did not arrive within {seconds} s: send it again") from None
                done = message["type"] != "http.request" or not message.get("more_body", False)
                return message

            await app(scope, timed_receive, send)

        return timed_app

    return middleware
