"""Runs an app with uvicorn; SIGTERM / SIGINT drain the requests in flight, then exit 0.

uvicorn already stops accepting connections on a signal and waits for the open
ones to finish; this runner only keeps it from re-raising the signal
afterwards (which would end the process with status -15 instead of 0) and
bounds the drain.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Generator
from typing import Any

import uvicorn

DRAIN_SECONDS = 30.0


class DrainingServer(uvicorn.Server):
    """A `uvicorn.Server` that exits normally after draining on SIGTERM / SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(app: Any, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
          drain_seconds: float = DRAIN_SECONDS) -> int:
    """Serves ``app`` until SIGTERM / SIGINT, drains the requests in flight, returns 0
    (1 when the server could not start, or the model could not be loaded or exported).

    Args:
        app: The ASGI app (from `lamina.serving.app.create_app`).
        host: Interface to bind. Defaults to `"127.0.0.1"` (this machine only).
        port: TCP port (0 picks a free one). Defaults to `8000`.
        log_level: uvicorn's log level. Defaults to `"info"`.
        drain_seconds: Longest wait for requests in flight after the signal. Defaults to `30.0`.
    """
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            timeout_graceful_shutdown=int(drain_seconds), access_log=False)
    server = DrainingServer(config)
    served = getattr(getattr(app, "state", None), "served", None)
    if served is not None:  # a model that cannot be loaded or exported stops the command
        served.on_load_failure = lambda: setattr(server, "should_exit", True)
    server.run()
    if not server.started or (served is not None and served.load_error is not None):
        return 1
    return 0
