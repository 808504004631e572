"""A `lamina serve` app under uvicorn on a free loopback port, in a thread, for the tests."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import uvicorn


@contextlib.contextmanager
def live_server(app, wait_ready: bool = True, ready_seconds: float = 90.0) -> Iterator[httpx.Client]:
    """Runs ``app`` with uvicorn on a free loopback port in a thread and yields an
    httpx client for it (after ``/readyz`` says ready, unless ``wait_ready=False``);
    stops the server on exit and checks that it stopped."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_seconds
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        if wait_ready:
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, client.get("/readyz").json()
                time.sleep(0.02)
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(15)
        assert not thread.is_alive(), "the server did not stop"
