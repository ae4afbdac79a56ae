"""Bearer-token auth on the reward server, and ``closedloop serve`` refusing an exposed address
without a token. Real HTTP on loopback."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from closedloop.serve.app import make_app
from closedloop.serve.auth import is_loopback

from ._http import RIGHT, SORT, TOKEN, free_port, running, start_serve, wait_healthy

BODY = {"items": [{"task_id": "sort", "completion": RIGHT}]}


@pytest.fixture(scope="module")
def url(verifier) -> Iterator[str]:
    with running(make_app(verifier, [SORT], token=TOKEN)) as u:
        yield u


def test_a_request_without_the_token_is_401_with_a_bearer_challenge(url: str):
    r = httpx.post(url + "/reward", json=BODY)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_wrong_token_is_401(url: str):
    r = httpx.post(url + "/reward", json=BODY, headers={"Authorization": "Bearer " + "x" * 30})
    assert r.status_code == 401 and r.json()["detail"] == "wrong token"


def test_the_right_bearer_token_gets_its_reward(url: str):
    r = httpx.post(url + "/reward", json=BODY, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["rewards"] == [1.0]


def test_the_token_as_the_basic_auth_password_of_the_url_is_taken(url: str):
    # what a client makes of http://user:TOKEN@host/ (OpenRLHF's remote_url takes no headers)
    with_creds = url.replace("http://", f"http://rm:{TOKEN}@")
    assert httpx.post(with_creds + "/reward", json=BODY).json()["rewards"] == [1.0]
    basic = base64.b64encode(b"rm:wrong-token-wrong-token").decode()
    r = httpx.post(url + "/reward", json=BODY, headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401


def test_health_is_open_and_every_other_route_needs_the_token(url: str):
    assert httpx.get(url + "/health").status_code == 200
    for path in ("/limits", "/metrics"):
        assert httpx.get(url + path).status_code == 401, path
    for path in ("/verify", "/get_reward", "/no-such-route"):
        assert httpx.post(url + path, json={}).status_code == 401, path


def test_the_token_is_checked_before_the_body_is_read(url: str):
    # headers promising a body that never comes: the answer must not wait for it
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(
            b"POST /reward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )
        assert s.recv(4096).startswith(b"HTTP/1.1 401")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("my-host", False),
    ],
)
def test_is_loopback_names_only_addresses_of_this_machine(host: str, loopback: bool):
    assert is_loopback(host) is loopback


def _serve_fails(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "CLOSEDLOOP_SERVE_TOKEN"}
    full["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    return subprocess.run(
        [sys.executable, "-m", "closedloop.cli", "serve", *args],
        env=full | (env or {}),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_serve_refuses_an_address_other_than_loopback_without_a_token():
    r = _serve_fails("--host", "0.0.0.0", "--port", str(free_port()))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--host 0.0.0.0 is not a loopback address" in lines[0]


def test_serve_refuses_a_short_token(tmp_path: Path):
    (tmp_path / "token").write_text("short\n")
    r = _serve_fails("--token-file", str(tmp_path / "token"))
    assert r.returncode == 2 and "at least 16 printable ASCII characters" in r.stderr
    r = _serve_fails(env={"CLOSEDLOOP_SERVE_TOKEN": "short"})
    assert r.returncode == 2 and "CLOSEDLOOP_SERVE_TOKEN" in r.stderr


def test_serve_refuses_a_token_no_client_can_send(tmp_path: Path):
    # headers carry bytes: httpx sends ASCII and refused this token, curl sent UTF-8, which the
    # server read as Latin-1 and answered 401: a server no ordinary client could reach
    (tmp_path / "token").write_text("é" * 20 + "\n", encoding="utf-8")
    r = _serve_fails("--token-file", str(tmp_path / "token"))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "printable ASCII" in lines[0]


def test_serve_takes_the_token_from_a_file(tmp_path: Path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    port = free_port()
    proc = start_serve(["--port", str(port), "--token-file", str(tmp_path / "token")])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        assert httpx.get(url + "/limits").status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(url + "/limits", headers=auth).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:{port}", 200),
        ("localhost:{port}", 200),
        ("[::1]:{port}", 200),
        ("localhost", 200),
        ("localhost.:{port}", 200),
        ("[::ffff:127.0.0.1]:{port}", 200),
        ("rebound.example:{port}", 421),
        ("[::1]rebound.example", 421),
        ("[::1]:{port}.rebound.example", 421),
        ("127.0.0.1:x@rebound.example", 421),
        ("localhost.rebound.example", 421),
        ("", 421),
    ],
)
def test_a_server_without_a_token_answers_only_requests_to_this_machine(verifier, host, status):
    # DNS rebinding: a page whose name was re-pointed at 127.0.0.1 is the same origin as the
    # server, so its script ran code in the sandbox and read the verdicts; its Host header
    # still names the page
    body = {"items": [{"task_id": "sort", "completion": RIGHT}]}
    with running(make_app(verifier, [SORT])) as url:
        port = url.rsplit(":", 1)[1]
        r = httpx.post(url + "/reward", json=body, headers={"host": host.format(port=port)})
    assert r.status_code == status, r.text
    if status == 421:
        assert "is not this machine" in r.json()["detail"]


def test_with_a_token_any_host_may_ask(verifier):
    body = {"items": [{"task_id": "sort", "completion": RIGHT}]}
    with running(make_app(verifier, [SORT], token=TOKEN)) as url:
        r = httpx.post(
            url + "/reward",
            json=body,
            headers={"host": "rm.cluster.internal", "authorization": f"Bearer {TOKEN}"},
        )
    assert r.status_code == 200 and r.json()["rewards"] == [1.0]
