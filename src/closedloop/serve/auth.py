"""Who may use the reward server: one shared bearer token, checked before a request body is read.

A client sends ``Authorization: Bearer TOKEN``. ``Authorization: Basic`` with the token as the
password (any user name) is taken too, because some trainers' HTTP clients cannot add a
header but do turn a URL's credentials into Basic auth (OpenRLHF's remote reward-model client:
``--reward.remote_url http://rm:TOKEN@host:8000/get_reward``). ``GET /health`` stays open, so
a load balancer can probe the server without the token.

What this does not protect against: anyone who can read the traffic (plain HTTP sends the
token in the clear: put TLS in front, e.g. a reverse proxy, when the network is not trusted),
anyone who holds the token (there is one token, with every right), and request floods from
such a holder (the queue in :mod:`closedloop.serve.limits` bounds the work, not the callers).

Must never: log or echo the token, compare it in time that depends on its contents, or read a
request body before the token is checked.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

TOKEN_ENV = "CLOSEDLOOP_SERVE_TOKEN"
"""The environment variable ``closedloop serve`` reads the token from (after ``--token-file``)."""

MIN_TOKEN_CHARS = 16
"""Shortest token accepted: a guessable token on an exposed port is no lock."""

OPEN_PATHS = frozenset({"/health"})
"""Paths answered without the token (liveness probes)."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TokenError(ValueError):
    """The token given cannot be used; the message says why and how to make one."""


def check_token(token: str, where: str) -> str:
    """``token`` stripped of surrounding whitespace, refused when too short to be a secret or
    when it holds a character outside printable ASCII: HTTP headers carry bytes, which clients
    encode as ASCII (httpx, closedloop's own client) or Latin-1, so a token of other characters
    started a server no ordinary client could authenticate to."""
    token = token.strip()
    if (
        len(token) < MIN_TOKEN_CHARS
        or any(c.isspace() for c in token)
        or not all(" " < c <= "~" for c in token)
    ):
        raise TokenError(
            f"{where}: the token must be at least {MIN_TOKEN_CHARS} printable ASCII characters "
            "with no spaces (make one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
    return token


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts connections from this machine.

    A name other than ``localhost`` counts as not loopback: what it resolves to can change.
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def presented_token(authorization: str) -> str | None:
    """The token in an ``Authorization`` header value (Bearer, or Basic's password), if any."""
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def _header(scope: Scope, name: bytes) -> str:
    """A request's first header ``name`` (lower case), as Latin-1 text; empty when absent."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


class BearerAuth:
    """ASGI middleware: every HTTP request outside :data:`OPEN_PATHS` must carry the token;
    others get 401 with ``WWW-Authenticate: Bearer`` before their body is read."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self._token = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        got = presented_token(header)
        if got is not None and hmac.compare_digest(got.encode("utf-8"), self._token):
            await self.app(scope, receive, send)
            return
        detail = "missing bearer token" if not header else "wrong token"
        await send_json(send, 401, {"detail": detail}, [(b"www-authenticate", b"Bearer")])


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, without its port and a final dot (``[::1]:8000`` ->
    ``::1``, ``localhost.:80`` -> ``localhost``); a header of another shape comes back as it is
    (``[::1]evil.example`` is no address)."""
    host = host_header.strip()
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1 :] if end > 0 else "x"
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return host
        return host[1:end]
    if host.count(":") == 1:
        host, port = host.split(":")
        if not port.isdigit():
            return host_header
    return host[:-1] if host.endswith(".") else host


def names_this_machine(name: str) -> bool:
    """Whether a ``Host`` header's name (:func:`host_name`) is this machine: ``localhost``, or
    a loopback address, IPv4-mapped ones (``::ffff:127.0.0.1``) included."""
    if is_loopback(name):
        return True
    try:
        mapped = ipaddress.IPv6Address(name).ipv4_mapped
    except ValueError:
        return False
    return mapped is not None and mapped.is_loopback


class LoopbackHostOnly:
    """ASGI middleware for a server without a token (loopback only): a request whose ``Host``
    names anything but this machine is refused (421) before its body is read.

    A web page the user opens cannot read answers from another origin, but through DNS
    rebinding (its own name re-pointed at 127.0.0.1) it is the same origin: its code ran in
    the sandbox and its verdicts came back. The browser still sends the page's name as the
    ``Host``, which no local client does."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"host")
        if names_this_machine(host_name(header)):
            await self.app(scope, receive, send)
            return
        detail = (
            f"Host {header[:100]!r} is not this machine: a server without a token answers "
            "requests to 127.0.0.1, [::1] or localhost only"
        )
        await send_json(send, 421, {"detail": detail})


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer a request from middleware, without the app (used for 401 and 413)."""
    data = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
