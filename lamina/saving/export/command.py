"""`lamina export MODEL OUTPUT [--format onnx|torch] [--atol X]`.

Loads a saved model and exports it with the parity check. Light at import: the
exporters are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this subcommand's arguments."""
    parser.add_argument("model", help="the saved model (.lamina)")
    parser.add_argument("output", help="the exported file (.onnx or .pt2)")
    parser.add_argument(
        "--format", choices=("onnx", "torch"), default=None,
        help="onnx or torch (a torch.export .pt2 program); defaults from the output suffix",
    )
    parser.add_argument("--atol", type=float, default=None, help="absolute tolerance of the parity check")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    """Exports; returns 0, 1 when the export or its check fails, 2 when the model
    cannot be read. Errors are printed as one message, without a traceback."""
    import lamina
    from lamina.saving.export import export_model

    try:
        model = lamina.load_model(args.model)
    except (OSError, ValueError, TypeError, KeyError) as e:
        print(f"lamina export: cannot load {args.model!r}: {e}", file=sys.stderr)
        return 2
    try:
        export_model(model, args.output, format=args.format, verbose=not args.quiet, atol=args.atol)
    except (ValueError, OSError) as e:
        print(f"lamina export: {e}", file=sys.stderr)
        return 1
    return 0
