"""Counts the Keras API calls in the ported scripts, for the README's table.

A call counts when its callee is an attribute chain rooted at a name the script
bound to Lamina in place of Keras (`keras.layers.Dense(...)`, `layers.Dense(...)`,
`ops.matmul(...)`, `keras.Input(...)`) or a name imported from such a module
(`from lamina.layers import Dense`). Run `python -m tests.keras_compat.keras_calls`
to print the Markdown table; the test suite checks that every script runs.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _roots(tree: ast.Module) -> set[str]:
    """Names bound to Lamina modules or objects by the script's imports."""
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lamina":
                    roots.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lamina":
            for alias in node.names:
                roots.add(alias.asname or alias.name)
    return roots


def _root_name(func: ast.expr) -> str | None:
    while isinstance(func, ast.Attribute):
        func = func.value
    return func.id if isinstance(func, ast.Name) else None


def count_calls(path: Path) -> int:
    """The number of call sites in ``path`` whose callee is reached from a Lamina name."""
    tree = ast.parse(path.read_text())
    roots = _roots(tree)
    return sum(
        1 for node in ast.walk(tree) if isinstance(node, ast.Call) and _root_name(node.func) in roots
    )


def scripts() -> list[Path]:
    return sorted(SCRIPTS.glob("*.py"))


def table(passed: dict[str, bool] | None = None) -> str:
    """The Markdown table: script, Keras calls, calls working unchanged."""
    lines = ["| script | Keras calls | working unchanged |", "|---|---:|---:|"]
    for path in scripts():
        n = count_calls(path)
        ok = True if passed is None else passed.get(path.stem, False)
        lines.append(f"| `{path.stem}` | {n} | {n if ok else 'fails'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
