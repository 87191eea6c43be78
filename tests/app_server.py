"""Start the real app (build_demo + launch) on a free loopback port, in this process, with tiny models."""
from __future__ import annotations

import socket
from contextlib import contextmanager

import app
from genre_models import ModelPool

TINY_LINEUP = ["tiny-clip-vit", "tiny-clip-rn", "tiny-bit", "tiny-bert", "tiny-fusion"]

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

@contextmanager
def running_app(keys=TINY_LINEUP):
    demo = app.build_demo(keys, ModelPool())
    demo.queue(default_concurrency_limit=2, max_size=8)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=app.CSS,
                max_file_size="5mb", allowed_paths=[str(app.ASSETS)])
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
