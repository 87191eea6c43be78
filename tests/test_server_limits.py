"""The server's limits against slow clients (genre_models/server_limits.py): real uvicorn servers on loopback,
real sockets sending as slowly as an attacker does, with a half-second header deadline so each test takes
about a second; gradio's own launch with the limits applied; and the app itself (``python app.py``)."""
from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import gradio as gr
import pytest
import uvicorn
from gradio import http_server

from genre_models.ports import free_port
from genre_models.server_limits import (FLOOD_LOGGERS, RESERVED_FILES, RepeatLimit, ServerLimits,
                                        apply_server_limits, guarded_protocol)
from tests.support.app_launcher import ROOT, AppProcess

DEADLINE = 0.5
SLACK = 1.0  # a loop tick on two busy cores
STREAM_S = 1.5  # a response (or a body) lasting three deadlines
STREAM_END = b"piece 4\n\r\n4\r\nend\n\r\n0\r\n\r\n"  # /stream's last pieces, chunked


async def _asgi(scope, receive, send):
    """``/stream``: a response sent in pieces over STREAM_S, as the queue's event stream is; else "got N"
    for a body of N bytes."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = b"got %d" % len(body)
    headers = [(b"content-type", b"text/plain")]
    if scope["path"] != "/stream":
        headers.append((b"content-length", b"%d" % len(answer)))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["path"] == "/stream":
        for piece in range(5):
            await asyncio.sleep(STREAM_S / 5)
            await send({"type": "http.response.body", "body": b"piece %d\n" % piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"end\n"})
    else:
        await send({"type": "http.response.body", "body": answer})


@contextmanager
def serving(limits: ServerLimits):
    port = free_port()
    config = uvicorn.Config(_asgi, host="127.0.0.1", port=port, http=guarded_protocol(limits), lifespan="off",
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(DEADLINE / 5)
    return sock


def _closed_after(sock: socket.socket, send_next, limit: float = DEADLINE * 6) -> tuple[float, bytes]:
    """Seconds until the server closed ``sock`` (inf if it never did within ``limit``), and what it sent
    before; ``send_next()`` is called between reads, as a slow client keeps sending."""
    started, received = time.monotonic(), b""
    while time.monotonic() - started < limit:
        try:
            data = sock.recv(4096)
        except socket.timeout:
            try:
                send_next()
            except OSError:
                pass
            continue
        except ConnectionResetError:
            return time.monotonic() - started, received
        if not data:
            return time.monotonic() - started, received
        received += data
    return float("inf"), received


def _trickle(sock: socket.socket, pieces: list[bytes]):
    def send_next():
        if pieces:
            sock.sendall(pieces.pop(0))
    return send_next


def _answer(sock: socket.socket, request: bytes) -> bytes:
    sock.settimeout(10)
    sock.sendall(request)
    received = b""
    while not received.endswith((STREAM_END, b"got 0", b"got 10")):
        data = sock.recv(4096)
        if not data:
            break
        received += data
    return received


SLOW_KINDS = {
    # the example: a complete-looking request line, then a header line now and then, never the blank line
    "a header line at a time": lambda: [b"GET / HTTP/1.1\r\nHost: x\r\n",
                                        *(b"X-Line-%d: slow\r\n" % i for i in range(60))],
    "nothing at all": lambda: [],
    "the request line a byte at a time": lambda: [bytes([b]) for b in b"GET / HTTP/1.1\r\nHost: x\r\n"],
}


@pytest.mark.parametrize("kind", SLOW_KINDS)
def test_a_connection_that_sends_its_headers_too_slowly_is_closed_at_the_deadline(kind):
    with serving(ServerLimits(header_timeout_s=DEADLINE)) as port, _connect(port) as sock:
        pieces = SLOW_KINDS[kind]()
        if pieces:
            sock.sendall(pieces.pop(0))
        seconds, received = _closed_after(sock, _trickle(sock, pieces))
    assert DEADLINE - 0.1 <= seconds <= DEADLINE + SLACK
    assert received == b""  # no response to a request that never began


def test_a_prompt_request_keeps_its_long_response_and_its_slow_body():
    with serving(ServerLimits(header_timeout_s=DEADLINE)) as port:
        with _connect(port) as sock:  # an event stream lasting three deadlines
            streamed = _answer(sock, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        with _connect(port) as sock:  # an upload on a slow link: prompt headers, then a byte every 0.15 s
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
            for byte in b"0123456789":
                time.sleep(STREAM_S / 10)
                sock.sendall(bytes([byte]))
            uploaded = _answer(sock, b"")
    assert streamed.startswith(b"HTTP/1.1 200") and streamed.endswith(STREAM_END)
    assert uploaded.startswith(b"HTTP/1.1 200") and uploaded.endswith(b"got 10")


def test_the_deadline_starts_again_for_each_request_on_a_kept_alive_connection():
    with serving(ServerLimits(header_timeout_s=DEADLINE)) as port, _connect(port) as sock:
        first = _answer(sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(DEADLINE * 1.5)  # idle between requests longer than the deadline: uvicorn's keep-alive is 5 s
        second = _answer(sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(DEADLINE / 5)
        pieces = [b"X-Line: slow\r\n"] * 60
        sock.sendall(b"GET / HTTP/1.1\r\n")
        seconds, received = _closed_after(sock, _trickle(sock, pieces))
    assert first.endswith(b"got 0") and second.endswith(b"got 0")
    assert seconds <= DEADLINE + SLACK and received == b""


def test_at_the_cap_a_new_connection_replaces_the_oldest_waiting_one_and_never_a_request_under_way():
    with serving(ServerLimits(header_timeout_s=30, max_connections=3)) as port:
        streams = [_connect(port) for _ in range(2)]
        for sock in streams:
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        older = _connect(port)
        under_cap_seconds, _ = _closed_after(older, lambda: None, limit=0.3)  # the 3rd: kept, under the cap
        newer = _connect(port)  # the 4th: the oldest waiting one (``older``) makes room
        older_seconds, older_received = _closed_after(older, lambda: None, limit=2)
        visitor = _connect(port)  # the 5th: ``newer`` makes room, and the visitor's request is answered
        answered = _answer(visitor, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        streamed = [_answer(sock, b"") for sock in streams]
        for sock in [*streams, older, newer, visitor]:
            sock.close()
    assert under_cap_seconds == float("inf")
    assert older_seconds < 1 and older_received == b""
    assert answered.endswith(b"got 0")
    assert all(body.endswith(STREAM_END) for body in streamed)


def test_at_the_cap_with_every_connection_answering_a_new_one_is_refused():
    with serving(ServerLimits(header_timeout_s=30, max_connections=2)) as port:
        streams = [_connect(port) for _ in range(2)]
        for sock in streams:
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        with _connect(port) as refused:
            try:
                refused.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError:
                pass
            seconds, received = _closed_after(refused, lambda: None, limit=1)
        streamed = [_answer(sock, b"") for sock in streams]
        for sock in streams:
            sock.close()
    assert seconds < 1 and received == b""
    assert all(body.endswith(STREAM_END) for body in streamed)


def _record(msg: str, name: str = "asyncio") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)


def test_repeat_limit_passes_a_burst_per_window_then_says_how_many_it_dropped():
    now = [0.0]
    limit = RepeatLimit(burst=5, window_s=60, clock=lambda: now[0])
    # asyncio's lines go on with a socket's repr, different each time: one message all the same
    passed = [limit.filter(_record(f"socket.accept() out of system resource\nsocket: fd={i}")) for i in range(20)]
    other = limit.filter(_record("socket.accept() out of system resource", name="uvicorn.error"))
    now[0] = 61.0
    after = _record("socket.accept() out of system resource\nsocket: fd=99")
    assert passed == [True] * 5 + [False] * 15
    assert other  # another logger's message has its own count
    assert limit.filter(after) and after.getMessage().endswith("(15 more like it in the 60 s before were not logged)")


def test_repeat_limit_tracks_a_bounded_number_of_messages():
    limit = RepeatLimit(burst=1, max_messages=10)
    for i in range(1000):
        limit.filter(_record(f"message {i}"))
    assert len(limit._windows) <= 10


@pytest.fixture
def restored_gradio(monkeypatch):
    """Put back gradio's server class and the loggers' filters that ``apply_server_limits`` changes."""
    monkeypatch.setattr(http_server, "Server", http_server.Server)
    for name in FLOOD_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "filters", list(logging.getLogger(name).filters))


def test_gradio_launch_keeps_the_limits_once_applied(restored_gradio):
    repeats = RepeatLimit()
    apply_server_limits(ServerLimits(header_timeout_s=DEADLINE, max_connections=50), repeats)
    with gr.Blocks() as demo:
        gr.Markdown("hello")
    demo.launch(server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        with _connect(demo.server_port) as sock:
            seconds, _ = _closed_after(sock, lambda: None)
        with _connect(demo.server_port) as sock:
            page = _answer(sock, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    finally:
        demo.close()
    assert seconds <= DEADLINE + SLACK
    assert page.startswith(b"HTTP/1.1 200")
    assert all(repeats in logging.getLogger(name).filters for name in FLOOD_LOGGERS)


def test_the_open_file_limit_is_raised_for_the_cap_or_the_cap_lowered_to_it():
    # in a child: a lowered hard limit cannot be raised again
    code = ("import resource\n"
            "from genre_models.server_limits import ServerLimits, open_files_for\n"
            "for hard in ({roomy}, {tight}):\n"
            "    resource.setrlimit(resource.RLIMIT_NOFILE, (200, hard))\n"
            "    print(open_files_for(ServerLimits(max_connections=100)).max_connections,"
            " resource.getrlimit(resource.RLIMIT_NOFILE)[0], flush=True)\n")
    roomy, tight = RESERVED_FILES + 100, RESERVED_FILES + 40
    done = subprocess.run([sys.executable, "-c", code.format(roomy=roomy, tight=tight)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.stdout.splitlines() == [f"100 {roomy}", f"40 {tight}"]
    assert done.stderr.strip() == f"--max-connections 100 lowered to 40: this process may open {tight} files " \
                                  "(RLIMIT_NOFILE)."


def test_the_app_closes_slow_connections_and_keeps_its_page_streams_and_uploads(tmp_path):
    from gradio_client import Client, handle_file
    from PIL import Image
    poster = tmp_path / "poster.png"
    Image.new("RGB", (64, 96), "red").save(poster)
    # a 3 s deadline: under a second, a loop stalled on two busy cores (CI beside other work) could close the
    # visitor's own connection before reading the request already in its buffer
    with AppProcess(["--models", "tfidf", "--no-preload", "--header-timeout", "3", "--max-connections", "4"]) as app:
        silent = [_connect(app.port) for _ in range(4)]  # the cap, all waiting
        time.sleep(0.2)
        with _connect(app.port) as sock:  # the visitor replaces the oldest
            page = _answer(sock, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        closed = [_closed_after(sock, lambda: None, limit=6)[0] for sock in silent]
        with _connect(app.port) as sock:  # a page's heartbeat: an event stream for as long as the page is open
            sock.sendall(b"GET /gradio_api/heartbeat/s1 HTTP/1.1\r\nHost: x\r\n\r\n")
            heartbeat_open, heartbeat = _closed_after(sock, lambda: None, limit=5)  # past the deadline
        answer = Client(app.url, verbose=False).predict(poster=handle_file(str(poster)), plot="A ghost haunts a house.",
                                                        models=["tfidf"], api_name="/compare")
        for sock in silent:
            sock.close()
    assert page.startswith(b"HTTP/1.1 200")
    assert max(closed) <= 3 + SLACK
    assert heartbeat_open == float("inf") and b"data: ALIVE" in heartbeat
    assert answer["models"]["tfidf"]["status"] == "ok"


@pytest.mark.parametrize("option", [["--header-timeout", "0"], ["--header-timeout", "nan"], ["--max-connections", "0"]])
def test_the_apps_limits_refuse_a_value_they_cannot_keep(option, capsys):
    import app
    with pytest.raises(SystemExit) as exit_:
        app.build_parser().parse_args(option)
    assert exit_.value.code == 2
    assert f"error: argument {option[0]}" in capsys.readouterr().err.strip().splitlines()[-1]
