"""Control flow on eager torch tensors: `cond`, `switch`, `while_loop`, `fori_loop`, `scan`, `map`.

PyTorch runs eagerly, so these are Python loops and branches; they exist so a
Keras script that uses them ports unchanged. Gradients flow through every step.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lamina.ops.core import convert_to_tensor


def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """Calls `true_fn()` if `pred` is true, else `false_fn()`.

    Args:
        pred: A boolean scalar (Python bool or one-element tensor).
        true_fn: Callable with no arguments.
        false_fn: Callable with no arguments.

    Example:
        >>> cond(torch.tensor(True), lambda: 1, lambda: 2)
        1
    """
    if isinstance(pred, torch.Tensor):
        if pred.numel() != 1:
            raise ValueError(
                "`cond` expects `pred` to be a scalar boolean. "
                f"Received: pred with shape {tuple(pred.shape)}. Reduce it, e.g. with `ops.all`."
            )
        pred = bool(pred.item())
    return true_fn() if pred else false_fn()


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """Calls `branches[index](*operands)`, clamping `index` into range as Keras does.

    Example:
        >>> switch(1, [lambda x: x + 1, lambda x: x - 1], 10)
        9
    """
    i = int(index.item()) if isinstance(index, torch.Tensor) else int(index)
    i = builtins.min(builtins.max(i, 0), len(branches) - 1)
    return branches[i](*operands)


def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    """Runs `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` is true.

    Args:
        cond: Callable returning a boolean (scalar tensor or bool).
        body: Callable returning the new loop variables (same structure).
        loop_vars: A tuple/list of values, or a single value.
        maximum_iterations: Optional bound on the number of iterations.
            Defaults to `None`.

    Example:
        >>> while_loop(lambda i: i < 5, lambda i: i + 1, 0)
        5
    """
    single = not isinstance(loop_vars, (tuple, list))
    state = (loop_vars,) if single else tuple(loop_vars)
    step = 0
    while maximum_iterations is None or step < maximum_iterations:
        keep = cond(*state)
        if isinstance(keep, torch.Tensor):
            keep = bool(keep.item())
        if not keep:
            break
        new = body(*state)
        state = (new,) if single else tuple(new) if isinstance(new, (tuple, list)) else (new,)
        step += 1
    return state[0] if single else type(loop_vars)(state)


def fori_loop(lower: int, upper: int, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """Runs `val = body_fun(i, val)` for `i` in `range(lower, upper)`.

    Example:
        >>> fori_loop(0, 4, lambda i, v: v + i, 0)
        6
    """
    lo = int(lower.item()) if isinstance(lower, torch.Tensor) else int(lower)
    hi = int(upper.item()) if isinstance(upper, torch.Tensor) else int(upper)
    val = init_val
    for i in range(lo, hi):
        val = body_fun(i, val)
    return val


def _tree_index(tree: Any, i: int) -> Any:
    if isinstance(tree, (list, tuple)):
        return type(tree)(_tree_index(t, i) for t in tree)
    if isinstance(tree, dict):
        return {k: _tree_index(v, i) for k, v in tree.items()}
    return tree[i]


def _tree_stack(items: list[Any]) -> Any:
    first = items[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_tree_stack([it[j] for it in items]) for j in range(len(first)))
    if isinstance(first, dict):
        return {k: _tree_stack([it[k] for it in items]) for k in first}
    return torch.stack([convert_to_tensor(it) for it in items])


def _tree_len(tree: Any) -> int:
    if isinstance(tree, (list, tuple)):
        return _tree_len(tree[0])
    if isinstance(tree, dict):
        return _tree_len(next(iter(tree.values())))
    return int(tree.shape[0])


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False, unroll: int = 1) -> tuple[Any, Any]:
    """Scans `f(carry, x) -> (carry, y)` over the leading axis of `xs`.

    Args:
        f: The step function.
        init: The initial carry.
        xs: Values to scan over (a tensor or a nested structure), or None.
        length: Number of steps when `xs` is None. Defaults to `None`.
        reverse: Scan from the end. Defaults to `False`.
        unroll: Accepted for Keras compatibility (eager loops). Defaults to `1`.

    Returns:
        `(final_carry, stacked_ys)`.

    Example:
        >>> carry, ys = scan(lambda c, x: (c + x, c + x), 0.0, torch.arange(4.0))
        >>> ys
        tensor([0., 1., 3., 6.])
    """
    if xs is None and length is None:
        raise ValueError("`scan` needs `xs` or `length`. Received: xs=None, length=None.")
    n = length if xs is None else _tree_len(xs)
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        carry, y = f(carry, None if xs is None else _tree_index(xs, i))
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or ys[0] is None:
        return carry, None
    return carry, _tree_stack(ys)


def map(f: Callable[[Any], Any], xs: Any) -> Any:  # noqa: A001 - Keras name
    """Applies `f` to each slice of `xs` along the first axis and stacks the results.

    Example:
        >>> map(lambda x: x * 2, torch.arange(3))
        tensor([0, 2, 4])
    """
    return _tree_stack([f(_tree_index(xs, i)) for i in range(_tree_len(xs))])


def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Any:
    """Maps `function` over the first axis of `elements`, vectorized with `torch.vmap`.

    Falls back to a loop when the function cannot be vmapped (e.g. it calls `.item()`).

    Example:
        >>> vectorized_map(lambda x: x.sum(), torch.ones(3, 2))
        tensor([2., 2., 2.])
    """
    try:
        return torch.vmap(function)(elements)
    except (RuntimeError, ValueError):
        return map(function, elements)


def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False,
                     axis: int = 0) -> torch.Tensor:
    """Inclusive scan of an associative binary function along `axis` (e.g. a cumulative sum).

    Example:
        >>> associative_scan(lambda a, b: a + b, torch.arange(4))
        tensor([0, 1, 3, 6])
    """
    x = convert_to_tensor(elems)
    x = torch.movedim(x, axis, 0)
    if reverse:
        x = x.flip(0)
    out = [x[0]]
    for i in range(1, x.shape[0]):
        out.append(f(out[-1], x[i]))
    res = torch.stack(out)
    if reverse:
        res = res.flip(0)
    return torch.movedim(res, 0, axis)


def vectorize(pyfunc: Callable[..., Any], *, excluded: Any = None, signature: str | None = None
              ) -> Callable[..., Any]:
    """Turns a function of scalars into one applied element-wise (via `torch.vmap`).

    Example:
        >>> vectorize(lambda a, b: a + b)(torch.tensor([1, 2]), torch.tensor([10, 20]))
        tensor([11, 22])
    """
    if signature is not None:
        raise ValueError(
            "`ops.vectorize` supports element-wise functions only. "
            f"Received: signature={signature!r}. Use `ops.vectorized_map` for core dimensions."
        )

    def wrapped(*args: Any) -> Any:
        ts = [convert_to_tensor(a) for a in args]
        ts = list(torch.broadcast_tensors(*ts))
        shape = ts[0].shape
        flat = [t.reshape(-1) for t in ts]
        out = torch.vmap(pyfunc)(*flat)
        return out.reshape(shape)

    return wrapped


def custom_gradient(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorates `f(*args) -> (output, grad_fn)` so autograd uses `grad_fn(upstream)`.

    `grad_fn` receives the upstream gradient and returns one gradient per argument
    (a single tensor for a one-argument function), as in Keras.

    Example:
        >>> @custom_gradient
        ... def clip_grad(x):
        ...     return x * 1.0, lambda up: up.clamp(-1, 1)
    """

    class _Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *args: Any) -> Any:
            with torch.enable_grad():
                out, grad_fn = f(*args)
            ctx.grad_fn = grad_fn
            return out.detach() if isinstance(out, torch.Tensor) else out

        @staticmethod
        def backward(ctx: Any, *upstream: Any) -> Any:
            grads = ctx.grad_fn(*upstream)
            return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)

    def wrapped(*args: Any) -> Any:
        return _Fn.apply(*[convert_to_tensor(a) for a in args])

    return wrapped
