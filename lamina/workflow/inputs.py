"""How the workflow entry points take data: ``(x, y)`` pairs or a `Splits` object.

`run_baselines`, `diagnose`, `analyze_errors`, `learning_curve`, `doctor`,
`lr_find` and `report` accept either a `Splits` (the result of
`lamina.data.split`, or a dict with the same keys) or the sets as keyword
``(x, y)`` pairs; `split_pairs` is the one place that reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SPLIT_NAMES", "split_pairs", "check_pair"]

#: The sets a workflow function may be given, in reading order.
SPLIT_NAMES = ("train", "train_dev", "dev", "test")


def check_pair(owner: str, name: str, pair: Any) -> tuple[Any, Any] | None:
    """``pair`` as an ``(x, y)`` tuple (None stays None), or a clear error."""
    if pair is None:
        return None
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        size = f" with {len(pair)} entries" if isinstance(pair, (tuple, list)) else ""
        raise ValueError(
            f"`{owner}` expects `{name}` to be an `(x, y)` pair or None. "
            f"Received: {name} of type {type(pair).__name__}{size}. Pass `(x, y)`."
        )
    return pair[0], pair[1]


def _get(splits: Any, name: str) -> Any:
    if isinstance(splits, Mapping):
        return splits.get(name)
    return getattr(splits, name, None)


def split_pairs(owner: str, splits: Any = None, **pairs: Any) -> dict[str, tuple[Any, Any] | None]:
    """The ``(x, y)`` pair of each set from either ``splits`` or the keyword pairs.

    Args:
        owner: The function named in error messages.
        splits: A `lamina.data.Splits` or a dict with ``train`` / ``train_dev`` /
            ``dev`` / ``test`` entries, or None.
        **pairs: The same sets as keyword ``(x, y)`` pairs (None when absent).

    Returns:
        ``{name: (x, y) or None}`` for every name in `SPLIT_NAMES` and in ``pairs``.
    """
    unknown = sorted(set(pairs) - set(SPLIT_NAMES))
    if unknown:
        raise TypeError(f"`{owner}` got unknown sets {unknown}. The sets are {list(SPLIT_NAMES)}.")
    given = [k for k, v in pairs.items() if v is not None]
    if splits is not None:
        if given:
            raise ValueError(
                f"`{owner}` expects either `splits` or the keyword pairs, not both. "
                f"Received: splits={type(splits).__name__} and {', '.join(given)}=... "
                "Pass only `splits`, or only the pairs."
            )
        if isinstance(splits, (tuple, list)):
            raise TypeError(
                f"`{owner}` expects `splits` to be the result of `lamina.data.split` or a dict of "
                f"(x, y) pairs. Received a {type(splits).__name__}. Pass `train=(x, y)` for one pair."
            )
        pairs = {k: _get(splits, k) for k in SPLIT_NAMES}
    return {k: check_pair(owner, k, pairs.get(k)) for k in SPLIT_NAMES}
