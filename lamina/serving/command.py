"""Command-line entry point (being built for issue #12)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this subcommand's arguments."""


def run(args: argparse.Namespace) -> int:
    raise SystemExit("not implemented yet")
