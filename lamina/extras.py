"""Optional dependencies: a clear error naming the extra that installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

# extra -> the packages it installs (import names)
EXTRAS = {
    "export": ("onnx", "onnxscript", "onnxruntime"),
    "serve": ("fastapi", "uvicorn", "prometheus_client"),
    "tune": ("optuna",),
}


def require(extra: str, purpose: str, modules: tuple[str, ...] | None = None) -> list[ModuleType]:
    """Imports the packages of ``extra`` (or ``modules``) or raises an ImportError
    that names the missing package and the extra to install.

    Args:
        extra: The name of the extra in Lamina's package metadata (``"export"``, ``"serve"``).
        purpose: What needs the packages, for the message (e.g. ``"ONNX export"``).
        modules: The import names to check. Defaults to all of the extra's packages.

    Example:
        >>> from lamina.extras import require
        >>> _ = require("export", "ONNX export", ("onnx",))
    """
    loaded = []
    for name in modules or EXTRAS[extra]:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as e:
            raise ImportError(
                f"{purpose} needs the `{name}` package, which is not installed ({e}). Install "
                f"Lamina's `{extra}` extra: pip install 'lamina[{extra}]'."
            ) from e
    return loaded
