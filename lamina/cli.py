"""The `lamina` command."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lamina", description="Lamina: Keras-style deep learning on PyTorch.")
    sub = parser.add_subparsers(dest="command")
    tour = sub.add_parser("tour", help="run the main job end to end on bundled real data (digits)")
    tour.add_argument("--output", default="tour_output", help="folder for the plots (default: tour_output)")
    tour.add_argument("--epochs", type=int, default=40, help="training epochs (default: 40)")
    tour.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tour.add_argument("--quick", action="store_true", help="fewer epochs, same steps (a fast check)")
    sub.add_parser("version", help="print the Lamina and PyTorch versions")
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
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
