"""Search spaces for the common model families, as functions of `hp`.

Each function declares its hyper-parameters on ``hp`` (a `HyperParameters`),
builds a Lamina model from their values and returns it compiled, so it can be
a `Tuner`'s ``build_model`` as it is::

    from lamina.tuning import Tuner, spaces

    tuner = Tuner(lambda hp: spaces.mlp(hp, input_shape=(64,), num_outputs=10),
                  objective="val_accuracy")

The parameters each family declares (their names are stable: they are the
columns of the results table and the keys of ``best_params``):

* `mlp`: ``num_layers`` (1..``max_layers``), ``units`` (16..256, log scale, the
  width of every hidden layer), ``activation`` (relu/gelu/tanh/elu),
  ``normalization`` (none/batch/layer), ``dropout`` (0..0.5, step 0.1).
* `convnet`: ``num_blocks`` (1..``max_blocks``), ``filters`` (8/16/32/64, doubled
  at each block), ``kernel_size`` (3/5), ``pooling`` (max/avg), ``residual``
  (a shortcut around each block's two convolutions), ``dropout`` (before the head).
* `recurrent`: ``cell`` (lstm/gru), ``units`` (16..128, log), ``bidirectional``,
  ``num_layers`` (1..``max_layers``), ``dropout``.
* `text`: ``output_mode`` (tf_idf/multi_hot), ``ngrams`` (1/2), ``max_tokens``
  (5000/20000), then an MLP head whose ``num_layers`` may be 0 (a linear model).
* `optimizer` (all of them): ``optimizer`` (adam/sgd/rmsprop) and
  ``learning_rate`` (log scale over ``lr_range``).

Heads: ``task="classification"`` ends in ``num_outputs`` softmax units (the
number of classes, >= 2; binary problems use 2 units, so integer labels 0/1
work unchanged) with ``"sparse_categorical_crossentropy"`` and ``["accuracy"]``;
``task="regression"`` ends in ``num_outputs`` linear units with ``"mse"`` and
``["mae"]``. ``loss=`` and ``metrics=`` replace those defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import lamina
from lamina import layers
from lamina.tuning.hp import HyperParameters
from lamina.utils import validation

__all__ = ["convnet", "mlp", "optimizer", "recurrent", "text"]

_TASKS = ("classification", "regression")
_OPTIMIZERS: dict[str, Callable[[float], Any]] = {
    "adam": lambda lr: lamina.optimizers.Adam(learning_rate=lr),
    "adamw": lambda lr: lamina.optimizers.AdamW(learning_rate=lr),
    "sgd": lambda lr: lamina.optimizers.SGD(learning_rate=lr, momentum=0.9),
    "rmsprop": lambda lr: lamina.optimizers.RMSprop(learning_rate=lr),
}


def optimizer(
    hp: HyperParameters | None,
    lr_range: tuple[float, float] = (1e-4, 1e-1),
    *,
    choices: Sequence[str] = ("adam", "sgd", "rmsprop"),
) -> Any:
    """Declares ``optimizer`` and ``learning_rate`` and returns the optimizer.

    SGD uses momentum 0.9. The learning rate is sampled on a log scale; its
    default (no trial) is the geometric middle of ``lr_range`` rather than its
    low end, so an untuned model trains reasonably.

    Args:
        hp: The `HyperParameters` (`None`: every parameter takes its default).
        lr_range: ``(low, high)`` of the learning rate, ``0 < low <= high``, e.g.
            from `lamina.tuning.lr_range` (a function). Defaults to `(1e-4, 1e-1)`.
        choices: The optimizers to choose from, among ``"adam"``, ``"adamw"``,
            ``"sgd"``, ``"rmsprop"``. Defaults to `("adam", "sgd", "rmsprop")`.

    Returns:
        A Lamina optimizer.

    Example:
        >>> opt = optimizer(HyperParameters(values={"optimizer": "sgd"}), lr_range=(1e-3, 1e-1))
        >>> type(opt).__name__, round(float(opt.learning_rate), 4)
        ('SGD', 0.01)
    """
    hp = _hp(hp)
    low, high = _check_lr_range(lr_range)
    if isinstance(choices, str) or not choices or any(c not in _OPTIMIZERS for c in choices):
        raise ValueError(
            f"`spaces.optimizer` expects `choices` to be a non-empty list of optimizer names among "
            f"{', '.join(map(repr, _OPTIMIZERS))}. Received: choices={choices!r}."
        )
    name = hp.Choice("optimizer", list(choices))
    lr = hp.Float("learning_rate", low, high, log=True, default=math.sqrt(low * high))
    return _OPTIMIZERS[name](lr)


def mlp(
    hp: HyperParameters | None,
    input_shape: Sequence[int],
    num_outputs: int,
    *,
    task: str = "classification",
    loss: Any = None,
    metrics: Any = None,
    max_layers: int = 4,
    lr_range: tuple[float, float] = (1e-4, 1e-1),
) -> lamina.Model:
    """A multi-layer perceptron: depth, width, activation, normalisation and dropout searched.

    Inputs of more than one axis are flattened first. Each hidden layer is
    ``Dense(units) -> normalisation -> activation -> Dropout``.

    Args:
        hp: The `HyperParameters` (`None`: every parameter takes its default).
        input_shape: The shape of one sample, e.g. ``(64,)``.
        num_outputs: Classes (classification, >= 2) or targets (regression).
        task: ``"classification"`` or ``"regression"``. Defaults to `"classification"`.
        loss: Replaces the task's loss. Defaults to `None`.
        metrics: Replaces the task's metrics. Defaults to `None`.
        max_layers: The most hidden layers. Defaults to `4`.
        lr_range: The learning-rate range of `optimizer`. Defaults to `(1e-4, 1e-1)`.

    Returns:
        A compiled `lamina.Model`.

    Example:
        >>> model = mlp(None, input_shape=(64,), num_outputs=10)
        >>> tuple(model.outputs[0].shape)
        (None, 10)
    """
    hp = _hp(hp)
    shape = _check_common("mlp", input_shape, num_outputs, task, None)
    validation.positive_int("spaces.mlp", "max_layers", max_layers)
    inputs = lamina.Input(shape=shape)
    x = layers.Flatten()(inputs) if len(shape) > 1 else inputs
    x = _dense_stack(hp, x, min_layers=1, max_layers=max_layers)
    return _finish(hp, inputs, x, num_outputs, task, loss, metrics, lr_range, "mlp")


def convnet(
    hp: HyperParameters | None,
    input_shape: Sequence[int],
    num_outputs: int,
    *,
    task: str = "classification",
    loss: Any = None,
    metrics: Any = None,
    max_blocks: int = 3,
    lr_range: tuple[float, float] = (1e-4, 1e-1),
) -> lamina.Model:
    """A convnet on ``(height, width, channels)`` images: blocks, filters, kernel, pooling, residual.

    Block ``i`` is two ``Conv2D(filters * 2**i, kernel_size, padding="same")``
    with a ReLU between them; with ``residual`` their output is added to the
    block's input (through a 1x1 convolution when the channels differ); a ReLU
    and a 2x2 pooling follow (skipped once the image is down to 1 pixel). The
    head is global average pooling, dropout and the output layer.

    Args:
        hp: The `HyperParameters` (`None`: every parameter takes its default).
        input_shape: ``(height, width, channels)``, e.g. ``(8, 8, 1)``.
        num_outputs: Classes (classification, >= 2) or targets (regression).
        task: ``"classification"`` or ``"regression"``. Defaults to `"classification"`.
        loss: Replaces the task's loss. Defaults to `None`.
        metrics: Replaces the task's metrics. Defaults to `None`.
        max_blocks: The most convolution blocks. Defaults to `3`.
        lr_range: The learning-rate range of `optimizer`. Defaults to `(1e-4, 1e-1)`.

    Returns:
        A compiled `lamina.Model` (functional).
    """
    hp = _hp(hp)
    shape = _check_common("convnet", input_shape, num_outputs, task, 3)
    validation.positive_int("spaces.convnet", "max_blocks", max_blocks)
    num_blocks = hp.Int("num_blocks", 1, max_blocks)
    filters = hp.Choice("filters", [8, 16, 32, 64])
    kernel = hp.Choice("kernel_size", [3, 5])
    pool = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D}[
        hp.Choice("pooling", ["max", "avg"])
    ]
    residual = hp.Boolean("residual")
    inputs = lamina.Input(shape=shape)
    x, size, channels = inputs, min(shape[0], shape[1]), shape[2]
    for i in range(num_blocks):
        f = filters * 2**i
        y = layers.Conv2D(f, kernel, padding="same", activation="relu")(x)
        y = layers.Conv2D(f, kernel, padding="same")(y)
        if residual:
            shortcut = x if channels == f else layers.Conv2D(f, 1)(x)
            y = layers.Add()([y, shortcut])
        x = layers.Activation("relu")(y)
        channels = f
        if size >= 2:
            x, size = pool(2)(x), size // 2
    x = layers.GlobalAveragePooling2D()(x)
    x = _dropout(x, hp.Float("dropout", 0.0, 0.5, step=0.1))
    return _finish(hp, inputs, x, num_outputs, task, loss, metrics, lr_range, "convnet")


def recurrent(
    hp: HyperParameters | None,
    input_shape: Sequence[int],
    num_outputs: int,
    *,
    task: str = "classification",
    loss: Any = None,
    metrics: Any = None,
    max_layers: int = 2,
    lr_range: tuple[float, float] = (1e-4, 1e-1),
) -> lamina.Model:
    """A recurrent network on ``(timesteps, features)`` sequences: cell, units, direction, depth.

    Every recurrent layer but the last returns its sequence; dropout follows
    each layer. (Token-id text needs an `Embedding` first: use `text` for raw
    strings, or write the model.)

    Args:
        hp: The `HyperParameters` (`None`: every parameter takes its default).
        input_shape: ``(timesteps, features)``; ``timesteps`` may be `None`.
        num_outputs: Classes (classification, >= 2) or targets (regression).
        task: ``"classification"`` or ``"regression"``. Defaults to `"classification"`.
        loss: Replaces the task's loss. Defaults to `None`.
        metrics: Replaces the task's metrics. Defaults to `None`.
        max_layers: The most recurrent layers. Defaults to `2`.
        lr_range: The learning-rate range of `optimizer`. Defaults to `(1e-4, 1e-1)`.

    Returns:
        A compiled `lamina.Model`.
    """
    hp = _hp(hp)
    shape = _check_common("recurrent", input_shape, num_outputs, task, 2, allow_none_first=True)
    validation.positive_int("spaces.recurrent", "max_layers", max_layers)
    cell = {"lstm": layers.LSTM, "gru": layers.GRU}[hp.Choice("cell", ["lstm", "gru"])]
    units = hp.Int("units", 16, 128, log=True)
    bidirectional = hp.Boolean("bidirectional")
    num_layers = hp.Int("num_layers", 1, max_layers)
    rate = hp.Float("dropout", 0.0, 0.5, step=0.1)
    inputs = lamina.Input(shape=shape)
    x = inputs
    for i in range(num_layers):
        layer = cell(units, return_sequences=i < num_layers - 1)
        x = (layers.Bidirectional(layer) if bidirectional else layer)(x)
        x = _dropout(x, rate)
    return _finish(hp, inputs, x, num_outputs, task, loss, metrics, lr_range, "recurrent")


def text(
    hp: HyperParameters | None,
    texts: Any,
    num_outputs: int,
    *,
    task: str = "classification",
    loss: Any = None,
    metrics: Any = None,
    max_layers: int = 2,
    lr_range: tuple[float, float] = (1e-4, 1e-1),
) -> lamina.Model:
    """A bag-of-n-grams model on raw strings: a `TextVectorization` adapted here, then an MLP head.

    The vectorizer (``output_mode``, ``ngrams``, ``max_tokens`` searched) learns
    its vocabulary from ``texts`` at every call: pass the training texts only,
    never the dev or test texts. The model takes a 1-D array of strings.

    Args:
        hp: The `HyperParameters` (`None`: every parameter takes its default).
        texts: The training texts, a non-empty 1-D list or array of `str`.
        num_outputs: Classes (classification, >= 2) or targets (regression).
        task: ``"classification"`` or ``"regression"``. Defaults to `"classification"`.
        loss: Replaces the task's loss. Defaults to `None`.
        metrics: Replaces the task's metrics. Defaults to `None`.
        max_layers: The most hidden layers of the head (0 is allowed: a linear
            model on the n-gram vector). Defaults to `2`.
        lr_range: The learning-rate range of `optimizer`. Defaults to `(1e-4, 1e-1)`.

    Returns:
        A compiled `lamina.Model` from strings to outputs.
    """
    hp = _hp(hp)
    corpus = texts
    if not isinstance(texts, (str, bytes, np.ndarray)) and hasattr(texts, "__len__"):
        corpus = np.asarray(list(texts), dtype=object)  # a list, tuple or pandas Series
    if (
        not isinstance(corpus, np.ndarray)
        or corpus.ndim != 1
        or len(corpus) == 0
        or not all(isinstance(t, str) for t in corpus)
    ):
        raise ValueError(
            "`spaces.text` expects `texts` to be a non-empty 1-D list or array of strings (the "
            f"training texts). Received: {type(texts).__name__}"
            + (f" of shape {corpus.shape}" if isinstance(corpus, np.ndarray) else "")
            + ". Pass x_train (strings) and give the model strings."
        )
    _check_common("text", (1,), num_outputs, task, None)
    validation.non_negative_int("spaces.text", "max_layers", max_layers)
    vectorizer = layers.TextVectorization(
        max_tokens=hp.Choice("max_tokens", [5000, 20000]),
        output_mode=hp.Choice("output_mode", ["tf_idf", "multi_hot"]),
        ngrams=hp.Choice("ngrams", [1, 2]),
    )
    vectorizer.adapt(corpus)
    inputs = lamina.Input(shape=(1,), dtype="string")
    x = _dense_stack(hp, vectorizer(inputs), min_layers=0, max_layers=max_layers)
    return _finish(hp, inputs, x, num_outputs, task, loss, metrics, lr_range, "text")


# ---------------------------------------------------------------------- helpers


def _hp(hp: Any) -> HyperParameters:
    if hp is None:
        return HyperParameters()
    if not callable(getattr(hp, "Int", None)) or not callable(getattr(hp, "Choice", None)):
        raise TypeError(
            "A search space expects `hp` to be a `lamina.tuning.HyperParameters` (or None for the "
            f"defaults). Received: hp of type {type(hp).__name__}. Call it as build_model(hp) "
            "inside a Tuner, or pass HyperParameters(values=...)."
        )
    return hp


def _check_lr_range(lr_range: Any) -> tuple[float, float]:
    ok = (
        isinstance(lr_range, (tuple, list))
        and len(lr_range) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in lr_range)
    )
    if not ok or not 0 < lr_range[0] <= lr_range[1] or not math.isfinite(lr_range[1]):
        raise ValueError(
            "`spaces.optimizer` expects `lr_range` to be (low, high) with 0 < low <= high. "
            f"Received: lr_range={lr_range!r}. Pass e.g. lr_range=(1e-4, 1e-1), or the result "
            "of lamina.tuning.lr_range(model, x, y)."
        )
    return float(lr_range[0]), float(lr_range[1])


def _check_common(
    family: str,
    input_shape: Any,
    num_outputs: Any,
    task: Any,
    rank: int | None,
    allow_none_first: bool = False,
) -> tuple[Any, ...]:
    owner = f"spaces.{family}"
    validation.one_of(owner, "task", task, _TASKS)
    validation.positive_int(owner, "num_outputs", num_outputs)
    if task == "classification" and num_outputs < 2:
        raise ValueError(
            f"`{owner}` expects `num_outputs` (the number of classes) to be at least 2 for "
            f"classification. Received: num_outputs={num_outputs!r}. Pass num_outputs=2 for a "
            "binary problem (labels 0/1), or task='regression'."
        )
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None

    def dim_ok(i: int, d: Any) -> bool:
        if d is None:
            return allow_none_first and i == 0
        return isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0

    if (
        shape is None
        or not shape
        or (rank is not None and len(shape) != rank)
        or not all(dim_ok(i, d) for i, d in enumerate(shape))
    ):
        expected = {
            "mlp": "a tuple of positive ints, e.g. (64,)",
            "convnet": "(height, width, channels), e.g. (8, 8, 1) (add a channel axis to grey images)",
            "recurrent": "(timesteps, features), e.g. (20, 3); timesteps may be None",
        }.get(family, "a tuple of positive ints")
        raise ValueError(
            f"`{owner}` expects `input_shape` to be {expected}. Received: "
            f"input_shape={input_shape!r}. Pass the shape of one sample, x.shape[1:]."
        )
    return tuple(None if d is None else int(d) for d in shape)


def _dropout(x: Any, rate: float) -> Any:
    return layers.Dropout(rate)(x) if rate > 0 else x


def _dense_stack(hp: HyperParameters, x: Any, *, min_layers: int, max_layers: int) -> Any:
    num_layers = hp.Int("num_layers", min_layers, max_layers)
    if num_layers > 0:
        units = hp.Int("units", 16, 256, log=True)
        activation = hp.Choice("activation", ["relu", "gelu", "tanh", "elu"])
        normalization = hp.Choice("normalization", ["none", "batch", "layer"])
    rate = hp.Float("dropout", 0.0, 0.5, step=0.1)
    if num_layers == 0:
        return _dropout(x, rate)
    for _ in range(num_layers):
        x = layers.Dense(units)(x)
        if normalization == "batch":
            x = layers.BatchNormalization()(x)
        elif normalization == "layer":
            x = layers.LayerNormalization()(x)
        x = layers.Activation(activation)(x)
        x = _dropout(x, rate)
    return x


def _finish(
    hp: HyperParameters,
    inputs: Any,
    x: Any,
    num_outputs: int,
    task: str,
    loss: Any,
    metrics: Any,
    lr_range: Any,
    name: str,
) -> lamina.Model:
    """Adds the task's output layer, declares the optimizer and compiles."""
    classification = task == "classification"
    outputs = layers.Dense(num_outputs, activation="softmax" if classification else None)(x)
    model = lamina.Model(inputs, outputs, name=name)
    default_loss = "sparse_categorical_crossentropy" if classification else "mse"
    default_metrics = ["accuracy"] if classification else ["mae"]
    model.compile(
        optimizer=optimizer(hp, lr_range),
        loss=default_loss if loss is None else loss,
        metrics=default_metrics if metrics is None else metrics,
    )
    return model
