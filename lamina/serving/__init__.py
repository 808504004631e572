"""`lamina serve`: HTTP serving with micro-batching and live monitoring.

`create_app(model_or_path, backend="torch", ...)` builds the FastAPI app that
`lamina serve` runs with uvicorn; `serve(app, host, port)` runs it and drains
in-flight requests on SIGTERM. Both need the `serve` extra
(``pip install 'lamina[serve]'``); importing this package does not.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lamina.extras import require

        require("serve", f"`lamina.serving.{name}`")
        if name == "create_app":
            from lamina.serving.app import create_app

            return create_app
        from lamina.serving.server import serve

        return serve
    raise AttributeError(f"module 'lamina.serving' has no attribute {name!r}")
