"""`lamina serve MODEL`: serve a saved model over HTTP (FastAPI + uvicorn).

Imports only the standard library at module level: `lamina --help` must not
pay for FastAPI, uvicorn or torch.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares `lamina serve`'s arguments."""
    parser.add_argument("model", help="a .lamina file saved with model.save(...)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch",
                        help="torch: the Lamina model; onnx: exported at start-up, checked, run in ONNX Runtime "
                        "(default: torch)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    parser.add_argument("--max-batch", type=int, default=64, help="most rows per merged forward pass (default: 64)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0,
                        help="longest wait for concurrent requests to merge, in ms (default: 5)")
    parser.add_argument("--window", type=int, default=500, help="rows in the drift monitor's window (default: 500)")
    parser.add_argument("--max-body-bytes", type=int, default=10 * 1024 * 1024,
                        help="largest request body accepted, in bytes (default: 10 MB)")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                        help="server log level (default: info)")


def run(args: argparse.Namespace) -> int:
    """Loads the model (failing fast on a bad file), then serves it until SIGTERM / Ctrl-C."""
    for flag, value, low in (("--max-batch", args.max_batch, 1), ("--window", args.window, 1),
                             ("--max-body-bytes", args.max_body_bytes, 1), ("--port", args.port, 0)):
        if value < low:
            print(f"lamina serve: {flag} must be >= {low}. Received: {flag} {value}.", file=sys.stderr)
            return 2
    if args.max_wait_ms < 0:
        print(f"lamina serve: --max-wait-ms must be >= 0. Received: --max-wait-ms {args.max_wait_ms}.", file=sys.stderr)
        return 2
    if not os.path.isfile(args.model):
        print(f"lamina serve: no such model file. Received: {args.model!r}. Save one with model.save('m.lamina').",
              file=sys.stderr)
        return 2
    from lamina.extras import require

    try:
        require("serve", "`lamina serve`")
    except ImportError as e:
        print(f"lamina serve: {e}", file=sys.stderr)
        return 2
    import lamina
    from lamina.serving.app import create_app
    from lamina.serving.server import serve

    try:
        model = lamina.load_model(args.model)
    except (ValueError, TypeError, OSError) as e:
        print(f"lamina serve: could not load {args.model!r}: {e}", file=sys.stderr)
        return 2
    app = create_app(model, backend=args.backend, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                     window=args.window, max_body_bytes=args.max_body_bytes)
    print(f"Serving {args.model} ({args.backend}) on http://{args.host}:{args.port} "
          f"(monitoring page at /, metrics at /metrics). Stop with Ctrl-C.", flush=True)
    return serve(app, host=args.host, port=args.port, log_level=args.log_level)
