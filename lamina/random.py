"""Random tensors, as `keras.random`: `normal`, `uniform`, `randint`, `dropout`, `SeedGenerator`, ...

Every function takes `seed=`:

- `None`: draws from PyTorch's global generator, so `lamina.set_seed(0)` makes a
  script repeatable;
- an int: a fixed seed, so the same call gives the same values every time;
- a `SeedGenerator`: a stateful source; each call advances it, and two
  generators built with the same seed give the same sequence.

Example:
    >>> from lamina import random
    >>> gen = random.SeedGenerator(42)
    >>> a = random.normal((2, 3), seed=gen)
    >>> b = random.normal((2, 3), seed=gen)  # different from a, same on every run
"""

from __future__ import annotations

import numbers
import random as _py_random
from typing import Any

import numpy as np
import torch

from lamina.ops.core import FLOATX, convert_to_tensor, to_torch_dtype
from lamina.runtime import get_device

__all__ = [
    "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint",
    "shuffle", "truncated_normal", "uniform",
]


class SeedGenerator:
    """A stateful source of seeds for the random functions.

    Args:
        seed: The initial seed (a non-negative int). Defaults to `None`: a seed
            drawn from Python's `random`, which `lamina.set_seed` seeds.

    Example:
        >>> gen = SeedGenerator(1337)
        >>> x = normal((2,), seed=gen)
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        from lamina.utils.validation import no_unknown_kwargs
        from lamina.variables import Variable

        no_unknown_kwargs("SeedGenerator", kwargs, ("name", "backend"))
        if seed is None:
            seed = _py_random.randint(0, 2**31 - 1)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(
                "`SeedGenerator` expects `seed` to be a non-negative integer or None. "
                f"Received: seed={seed!r}."
            )
        self.seed = int(seed)
        self.name = kwargs.get("name") or "seed_generator"
        # Keras keeps the state `[seed, counter]` in a non-trainable variable, which a
        # layer lists in `variables` / `non_trainable_variables` (not in `weights`).
        self._state = Variable(
            torch.tensor([self.seed, 0], dtype=torch.int64), trainable=False,
            name="seed_generator_state", path=f"{self.name}/seed_generator_state",
        )

    @property
    def state(self) -> Any:
        """The generator's state `[seed, counter]`: a non-trainable int64
        `lamina.Variable`, as Keras keeps it (`assign` it to rewind the generator)."""
        return self._state

    @property
    def counter(self) -> int:
        """How many seeds the generator has given."""
        return int(self._state[1])

    def next(self, ordered: bool = True) -> int:
        """Returns the next seed of the sequence and advances the state.

        Args:
            ordered: Accepted for Keras compatibility (draws are always ordered).
                Defaults to `True`.
        """
        state = self._state.detach()
        if state.device.type == "cpu":  # through NumPy: about 1 us instead of 5
            values = state.numpy()
            seed, counter = int(values[0]), int(values[1])
            values[1] = counter + 1
        else:
            seed, counter = state.tolist()
            state[1] += 1
        return _mix(seed, counter)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"SeedGenerator(seed={self.seed}, counter={self.counter})"

    @staticmethod
    def _found_in(module: Any) -> list[SeedGenerator]:
        """The generators a layer holds as attributes (directly or in a list / tuple)."""
        found: list[SeedGenerator] = []
        for value in module.__dict__.values():
            if isinstance(value, SeedGenerator):
                found.append(value)
            elif isinstance(value, (list, tuple)):
                found.extend(v for v in value if isinstance(v, SeedGenerator))
        return found


def _mix(seed: int, counter: int) -> int:
    state = np.random.SeedSequence([seed, counter]).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def _generator(seed: Any, device: torch.device) -> torch.Generator | None:
    """A torch generator for one draw, or None for the global one."""
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        value = seed.next()
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        value = _mix(int(seed), 0)
    else:
        raise ValueError(
            "`seed` must be None, a non-negative integer or a `lamina.random.SeedGenerator`. "
            f"Received: seed={seed!r}."
        )
    gen = torch.Generator(device=device)
    gen.manual_seed(value)
    return gen


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _float_dtype(fn: str, dtype: Any) -> torch.dtype:
    dt = to_torch_dtype(dtype) or FLOATX
    if not dt.is_floating_point:
        raise ValueError(
            f"`random.{fn}` expects a floating-point `dtype`. Received: dtype={dtype!r}. "
            "Use `random.randint` for integers."
        )
    return dt


def normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
           seed: Any = None) -> torch.Tensor:
    """Draws from a normal distribution.

    Args:
        shape: The output shape.
        mean: Mean of the distribution. Defaults to `0.0`.
        stddev: Standard deviation. Defaults to `1.0`.
        dtype: A float dtype. Defaults to `None` (float32).
        seed: None, an int or a `SeedGenerator`. Defaults to `None`.

    Example:
        >>> normal((2, 3), seed=0).shape
        torch.Size([2, 3])
    """
    device = get_device()
    out = torch.randn(_shape(shape), dtype=_float_dtype("normal", dtype), device=device,
                      generator=_generator(seed, device))
    return out * stddev + mean


def uniform(shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None,
            seed: Any = None) -> torch.Tensor:
    """Draws uniformly from `[minval, maxval)`.

    Args:
        shape: The output shape.
        minval: Lower bound. Defaults to `0.0`.
        maxval: Upper bound (excluded). Defaults to `1.0`.
        dtype: A float dtype. Defaults to `None` (float32).
        seed: None, an int or a `SeedGenerator`. Defaults to `None`.

    Example:
        >>> uniform((3,), minval=-1.0, maxval=1.0, seed=0).shape
        torch.Size([3])
    """
    device = get_device()
    out = torch.rand(_shape(shape), dtype=_float_dtype("uniform", dtype), device=device,
                     generator=_generator(seed, device))
    return out * (maxval - minval) + minval


def randint(shape: Any, minval: int, maxval: int, dtype: Any = "int32",
            seed: Any = None) -> torch.Tensor:
    """Draws integers uniformly from `[minval, maxval)`.

    Args:
        shape: The output shape.
        minval: Lowest value.
        maxval: One above the highest value.
        dtype: An integer dtype. Defaults to `"int32"`.
        seed: None, an int or a `SeedGenerator`. Defaults to `None`.

    Example:
        >>> randint((4,), 0, 10, seed=0).dtype
        torch.int32
    """
    if maxval <= minval:
        raise ValueError(
            "`random.randint` expects `maxval` > `minval`. "
            f"Received: minval={minval}, maxval={maxval}."
        )
    device = get_device()
    out = torch.randint(int(minval), int(maxval), _shape(shape), device=device,
                        generator=_generator(seed, device))
    return out.to(to_torch_dtype(dtype))


def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Any = None) -> torch.Tensor:
    """Draws from a normal distribution truncated to `mean ± 2 * stddev`.

    Arguments as `normal`.

    Example:
        >>> bool((truncated_normal((1000,), seed=0).abs() <= 2).all())
        True
    """
    device = get_device()
    dt = _float_dtype("truncated_normal", dtype)
    out = torch.empty(_shape(shape), dtype=dt, device=device)
    torch.nn.init.trunc_normal_(out, 0.0, 1.0, -2.0, 2.0, generator=_generator(seed, device))
    return out * stddev + mean


def dropout(inputs: Any, rate: float, noise_shape: Any = None, seed: Any = None) -> torch.Tensor:
    """Zeroes each value with probability `rate` and scales the rest by `1 / (1 - rate)`.

    Args:
        inputs: Input tensor (gradients flow through the kept values).
        rate: Fraction of values to drop, in `[0, 1)`.
        noise_shape: Shape of the mask, broadcast against `inputs` (None: the
            input's shape). Defaults to `None`.
        seed: None, an int or a `SeedGenerator`. Defaults to `None`.

    Example:
        >>> dropout(torch.ones(4), 0.5, seed=0).unique().tolist() in ([0.0, 2.0], [0.0], [2.0])
        True
    """
    if not 0 <= rate < 1:
        raise ValueError(f"`random.dropout` expects `rate` in [0, 1). Received: rate={rate}.")
    x = convert_to_tensor(inputs)
    if rate == 0:
        return x
    shape = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape)
    )
    keep = torch.rand(shape, device=x.device, generator=_generator(seed, x.device)) >= rate
    return x * keep.to(x.dtype) / (1 - rate)


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> torch.Tensor:
    """Shuffles the slices of `x` along `axis`.

    Example:
        >>> sorted(shuffle(torch.arange(5), seed=0).tolist())
        [0, 1, 2, 3, 4]
    """
    x = convert_to_tensor(x)
    from lamina.ops._utils import check_axis

    axis = check_axis("shuffle", axis, x.ndim)
    perm = torch.randperm(x.shape[axis], device=x.device, generator=_generator(seed, x.device))
    return x.index_select(axis, perm)


def categorical(logits: Any, num_samples: int, dtype: Any = "int32",
                seed: Any = None) -> torch.Tensor:
    """Draws class indices from the categorical distributions given by `logits`.

    Args:
        logits: Tensor of shape `(batch, num_classes)` of unnormalised log-probabilities.
        num_samples: Samples per row.
        dtype: Integer dtype of the result. Defaults to `"int32"`.
        seed: None, an int or a `SeedGenerator`. Defaults to `None`.

    Returns:
        Tensor of shape `(batch, num_samples)`.

    Example:
        >>> categorical(torch.tensor([[0.0, 100.0]]), 3, seed=0)
        tensor([[1, 1, 1]], dtype=torch.int32)
    """
    lg = convert_to_tensor(logits)
    if lg.ndim != 2:
        raise ValueError(
            "`random.categorical` expects 2-D `logits` of shape (batch, num_classes). "
            f"Received: logits.shape={tuple(lg.shape)}."
        )
    probs = torch.softmax(lg.float(), dim=-1)
    out = torch.multinomial(probs, num_samples, replacement=True,
                            generator=_generator(seed, lg.device))
    return out.to(to_torch_dtype(dtype))


def gamma(shape: Any, alpha: float, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Draws from a gamma distribution of shape `alpha` (scale 1).

    Example:
        >>> gamma((3,), alpha=2.0, seed=0).shape
        torch.Size([3])
    """
    dt = _float_dtype("gamma", dtype)
    device = get_device()
    conc = torch.full(_shape(shape), float(alpha), dtype=torch.float32, device=device)
    gen = _generator(seed, device)
    if gen is None:
        return torch._standard_gamma(conc).to(dt)
    # torch's gamma sampler takes no generator: run it under a forked, seeded RNG.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(gen.initial_seed()))
        return torch._standard_gamma(conc).to(dt)


def beta(shape: Any, alpha: float, beta: float, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Draws from a beta distribution, as `X / (X + Y)` of two gamma draws.

    Example:
        >>> beta((3,), alpha=2.0, beta=3.0, seed=0).shape
        torch.Size([3])
    """
    gen = seed if isinstance(seed, SeedGenerator) or seed is None else SeedGenerator(seed)
    x = gamma(shape, alpha, dtype=dtype, seed=gen)
    y = gamma(shape, beta, dtype=dtype, seed=gen)
    return x / (x + y)


def binomial(shape: Any, counts: Any, probabilities: Any, dtype: Any = None,
             seed: Any = None) -> torch.Tensor:
    """Draws the number of successes of `counts` trials with success probability `probabilities`.

    Example:
        >>> binomial((2,), counts=10, probabilities=0.0, seed=0)
        tensor([0., 0.])
    """
    device = get_device()
    n = torch.broadcast_to(torch.as_tensor(counts, dtype=torch.float32, device=device), _shape(shape))
    p = torch.broadcast_to(torch.as_tensor(probabilities, dtype=torch.float32, device=device),
                           _shape(shape))
    gen = _generator(seed, device)
    if gen is None:
        out = torch.binomial(n.contiguous(), p.contiguous())
    else:
        out = torch.binomial(n.contiguous(), p.contiguous(), generator=gen)
    return out.to(_float_dtype("binomial", dtype))
