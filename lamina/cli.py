"""The `lamina` command: tour, export, serve, predict, version.

Each subcommand other than `tour` and `version` lives in its own module that
exposes ``add_arguments(parser)`` and ``run(args) -> int``; the module is
imported only to build its parser, so it must not import heavy optional
packages (onnx, fastapi, ...) at import time.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help)
_COMMANDS = {
    "export": ("lamina.saving.export.command", "export a saved model to ONNX or a torch.export program, with a parity check"),
    "serve": ("lamina.serving.command", "serve a saved model over HTTP with micro-batching and live monitoring"),
    "predict": ("lamina.serving.batch_predict", "predict from a CSV file into another CSV file, streaming"),
    "tune": ("lamina.tuning.command", "search hyper-parameters for a script's build_model(hp) on Optuna, resumable"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lamina", description="Lamina: Keras-style deep learning on PyTorch.")
    sub = parser.add_subparsers(dest="command")
    tour = sub.add_parser("tour", help="run the main job end to end on bundled real data (digits)")
    tour.add_argument("--output", default="tour_output", help="folder for the plots (default: tour_output)")
    tour.add_argument("--epochs", type=int, default=40, help="training epochs (default: 40)")
    tour.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tour.add_argument("--quick", action="store_true", help="fewer epochs, same steps (a fast check)")
    sub.add_parser("version", help="print the Lamina and PyTorch versions")
    modules = {}
    for name, (module_name, help_text) in _COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
        modules[name] = module
    args = parser.parse_args(argv)
    if args.command == "tour":
        from lamina.tour import run_tour

        run_tour(output_dir=args.output, epochs=args.epochs, seed=args.seed, quick=args.quick)
        return 0
    if args.command == "version":
        import torch

        import lamina

        print(f"lamina {lamina.__version__} (torch {torch.__version__})")
        return 0
    if args.command in modules:
        return int(modules[args.command].run(args) or 0)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
