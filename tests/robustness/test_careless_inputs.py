"""Careless inputs: one table of the mistakes people make with `fit`, `evaluate`,
`predict`, `compile` and the optimizers, each with the exception it must raise
and a pattern its message must match (what was wrong, what was received, how
to fix it).

For every case the model must be untouched: the same weights and no optimizer
step after the failed call, so the error comes before any training step.

A case is ``Case(name, entry, model, make, error, match)``: ``entry`` is how the
bad input is given (`ENTRIES`), ``model`` which small compiled model receives it
(`MODELS`), ``make`` builds the call's arguments (fresh arrays every time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

import lamina
from lamina import callbacks, layers, optimizers

N = 32
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, 4)).astype("float32")
Y_SPARSE = RNG.integers(0, 3, size=N).astype("int64")
Y_ONEHOT = np.eye(3, dtype="float32")[Y_SPARSE]
Y_BINARY = (X[:, :1] > 0).astype("float32")
Y_REG = RNG.normal(size=(N, 1)).astype("float32")
X_IDS = RNG.integers(0, 10, size=(N, 5)).astype("int64")


# ------------------------------------------------------------------ models
def _dense(units: int, activation: str | None, loss: str) -> lamina.Model:
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(units, activation=activation)])
    model.compile(optimizer=optimizers.SGD(0.1), loss=loss)
    return model


def _embedding() -> lamina.Model:
    model = lamina.Sequential(
        [lamina.Input(shape=(5,), dtype="int64"), layers.Embedding(10, 2), layers.Flatten(), layers.Dense(1)]
    )
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    return model


MODELS: dict[str, Callable[[], lamina.Model]] = {
    "sparse": lambda: _dense(3, "softmax", "sparse_categorical_crossentropy"),
    "categorical": lambda: _dense(3, "softmax", "categorical_crossentropy"),
    "binary": lambda: _dense(1, "sigmoid", "binary_crossentropy"),
    "regression": lambda: _dense(1, None, "mse"),
    "embedding": _embedding,
    # Weights of 1: four inputs of 1e38 sum to 4e38, beyond float32 (overflow in the first forward pass).
    "ones": lambda: _ones(),
}


def _ones() -> lamina.Model:
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    return model


# ------------------------------------------------------------------ entry points
class _MapDataset(Dataset):
    """A map-style dataset returning whatever tuples it was given (any length)."""

    def __init__(self, items: list[tuple[Any, ...]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        return self.items[i]


def _fit(model: Any, x: Any = None, y: Any = None, **kw: Any) -> Any:
    return model.fit(x, y, **{"epochs": 1, "batch_size": 8, "verbose": 0, **kw})


def _evaluate(model: Any, x: Any = None, y: Any = None, **kw: Any) -> Any:
    return model.evaluate(x, y, **{"batch_size": 8, "verbose": 0, **kw})


def _predict(model: Any, x: Any = None, **kw: Any) -> Any:
    return model.predict(x, **{"verbose": 0, **kw})


def _fit_loader(model: Any, arrays: tuple[Any, ...] = (), rows: list[tuple[Any, ...]] | None = None, **kw: Any) -> Any:
    """`fit` on a torch DataLoader over ``arrays`` (a TensorDataset) or over ``rows``."""
    ds = _MapDataset(rows) if rows is not None else TensorDataset(*(torch.as_tensor(a) for a in arrays))
    return model.fit(DataLoader(ds, batch_size=8), **{"epochs": 1, "verbose": 0, **kw})


def _fit_generator(model: Any, batches: list[Any], **kw: Any) -> Any:
    """`fit` on a Python generator yielding ``batches``."""
    def gen() -> Any:
        yield from batches

    return model.fit(gen(), **{"epochs": 1, "steps_per_epoch": len(batches), "verbose": 0, **kw})


class _Batches(lamina.utils.PyDataset):
    """A `PyDataset` over a list of batches."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__()
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Any:
        return self.items[i]


def _fit_pydataset(model: Any, batches: list[Any], **kw: Any) -> Any:
    """`fit` on a `lamina.utils.PyDataset` yielding ``batches``."""
    return model.fit(_Batches(batches), **{"epochs": 1, "verbose": 0, **kw})


def _evaluate_loader(model: Any, arrays: tuple[Any, ...], **kw: Any) -> Any:
    """`evaluate` on a torch DataLoader over ``arrays``."""
    ds = TensorDataset(*(torch.as_tensor(a) for a in arrays))
    return model.evaluate(DataLoader(ds, batch_size=8), **{"verbose": 0, **kw})


def _compile(model: Any, **kw: Any) -> Any:
    return model.compile(**kw)


def _call(model: Any, call: Callable[[], Any]) -> Any:
    """An optimizer constructor (or another call that needs no model)."""
    return call()


ENTRIES = {
    "fit": _fit,
    "evaluate": _evaluate,
    "predict": _predict,
    "fit_loader": _fit_loader,
    "fit_generator": _fit_generator,
    "fit_pydataset": _fit_pydataset,
    "evaluate_loader": _evaluate_loader,
    "compile": _compile,
    "optimizer": _call,
}


@dataclass(frozen=True)
class Case:
    name: str
    entry: str
    model: str
    make: Callable[[], dict[str, Any]]
    error: type[Exception] | tuple[type[Exception], ...]
    match: str
    # For a stream whose bad value is in a later batch: the clean batches before it.
    # They may train (a stream is checked batch by batch); the bad batch may not.
    clean_batches: int = 0
    marks: tuple[Any, ...] = field(default=())


# ------------------------------------------------------------------ helpers to break data
def put(a: np.ndarray, index: Any, value: Any) -> np.ndarray:
    """A copy of ``a`` with ``value`` at ``index`` (the dtype widened to hold it)."""
    b = np.array(a, dtype=np.result_type(a, np.asarray(value)))
    b[index] = value
    return b


def batches(x: np.ndarray, y: np.ndarray, size: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def rows(*arrays: np.ndarray) -> list[tuple[Any, ...]]:
    return [tuple(torch.as_tensor(a[i]) for a in arrays) for i in range(len(arrays[0]))]


NAN, INF = float("nan"), float("inf")
SW = np.ones(N, dtype="float32")
OVERFLOW = (
    r"The model's output is NaN or infinite on the first batch although `x` is finite \(largest \|x\| = 1e\+38\)\. "
    r"The first layer whose output is not finite is 'dense.*' \(Dense\)\. .*scale or normalise them first"
)
NON_FINITE = r"contains 1 NaN or infinite value\(s\); the first is at index"

CASES: list[Case] = [
    # ---------------------------------------------------- NaN / inf, in-memory arrays
    Case("nan_in_x", "fit", "regression", lambda: {"x": put(X, (5, 2), NAN), "y": Y_REG},
         ValueError, rf"`x` {NON_FINITE} \(5, 2\)\. Clean or impute"),
    Case("inf_in_x", "fit", "regression", lambda: {"x": put(X, (0, 0), INF), "y": Y_REG},
         ValueError, rf"`x` {NON_FINITE} \(0, 0\)"),
    Case("minus_inf_in_x", "fit", "regression", lambda: {"x": put(X, (31, 3), -INF), "y": Y_REG},
         ValueError, rf"`x` {NON_FINITE} \(31, 3\)"),
    Case("nan_in_x_torch_tensor", "fit", "regression", lambda: {"x": torch.as_tensor(put(X, (7, 1), NAN)), "y": Y_REG},
         ValueError, rf"`x` {NON_FINITE} \(7, 1\)"),
    Case("nan_in_x_dataframe", "fit", "regression",
         lambda: {"x": __import__("pandas").DataFrame(put(X, (3, 0), NAN), columns=list("abcd")), "y": Y_REG},
         ValueError, r"`x`.* contains 1 NaN or infinite value"),
    Case("nan_in_x_float64", "fit", "regression", lambda: {"x": put(X.astype("float64"), (2, 2), NAN), "y": Y_REG},
         ValueError, rf"`x` {NON_FINITE}"),
    Case("nan_in_y", "fit", "regression", lambda: {"x": X, "y": put(Y_REG, (4, 0), NAN)},
         ValueError, rf"`y` {NON_FINITE} \(4, 0\)"),
    Case("inf_in_y", "fit", "regression", lambda: {"x": X, "y": put(Y_REG, (9, 0), INF)},
         ValueError, rf"`y` {NON_FINITE}"),
    Case("nan_in_sample_weight", "fit", "regression", lambda: {"x": X, "y": Y_REG, "sample_weight": put(SW, 3, NAN)},
         ValueError, rf"`sample_weight` {NON_FINITE} 3"),
    Case("inf_in_sample_weight", "fit", "regression", lambda: {"x": X, "y": Y_REG, "sample_weight": put(SW, 0, INF)},
         ValueError, rf"`sample_weight` {NON_FINITE} 0"),
    Case("nan_in_class_weight", "fit", "sparse", lambda: {"x": X, "y": Y_SPARSE, "class_weight": {0: 1.0, 1: NAN, 2: 1.0}},
         ValueError, r"`fit` expects every weight in `class_weight` to be a finite number >= 0\. Received: class_weight\[1\]=nan"),
    Case("inf_in_class_weight", "fit", "sparse", lambda: {"x": X, "y": Y_SPARSE, "class_weight": {0: INF}},
         ValueError, r"Received: class_weight\[0\]=inf"),
    Case("nan_in_x_evaluate", "evaluate", "regression", lambda: {"x": put(X, (1, 1), NAN), "y": Y_REG},
         ValueError, rf"`x` {NON_FINITE} \(1, 1\)"),
    Case("nan_in_y_evaluate", "evaluate", "regression", lambda: {"x": X, "y": put(Y_REG, (0, 0), NAN)},
         ValueError, rf"`y` {NON_FINITE}"),
    Case("nan_in_sample_weight_evaluate", "evaluate", "regression",
         lambda: {"x": X, "y": Y_REG, "sample_weight": put(SW, 30, NAN)},
         ValueError, rf"`sample_weight` {NON_FINITE} 30"),
    Case("nan_in_validation_x", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_data": (put(X, (6, 0), NAN), Y_REG)},
         ValueError, r"`x`.*contains 1 NaN or infinite value\(s\); the first is at index \(6, 0\)"),
    Case("inf_in_validation_y", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_data": (X, put(Y_REG, (2, 0), INF))},
         ValueError, r"`y`.*contains 1 NaN or infinite value"),
    # ---------------------------------------------------- NaN / inf, streams
    Case("nan_in_x_dataloader", "fit_loader", "regression", lambda: {"arrays": (put(X, (12, 1), NAN), Y_REG)},
         ValueError, r"`x` from batch 1 of the DataLoader \(counting from 0\) contains 1 NaN or infinite value\(s\); the first is at index \(4, 1\)", clean_batches=1),
    Case("inf_in_x_dataloader", "fit_loader", "regression", lambda: {"arrays": (put(X, (0, 0), INF), Y_REG)},
         ValueError, r"`x` from batch 0 of the DataLoader \(counting from 0\) contains 1 NaN or infinite"),
    Case("nan_in_y_dataloader", "fit_loader", "regression", lambda: {"arrays": (X, put(Y_REG, (20, 0), NAN))},
         ValueError, r"`y` from batch 2 of the DataLoader \(counting from 0\) contains 1 NaN", clean_batches=2),
    Case("nan_in_sample_weight_dataloader", "fit_loader", "regression", lambda: {"arrays": (X, Y_REG, put(SW, 9, NAN))},
         ValueError, r"`sample_weight` from batch 1 of the DataLoader \(counting from 0\) contains 1 NaN", clean_batches=1),
    Case("nan_in_x_dataloader_later_batch", "fit_loader", "regression", lambda: {"arrays": (put(X, (31, 3), NAN), Y_REG)},
         ValueError, r"`x` from batch 3 of the DataLoader \(counting from 0\) contains 1 NaN", clean_batches=3),
    Case("nan_in_x_generator", "fit_generator", "regression", lambda: {"batches": batches(put(X, (0, 0), NAN), Y_REG)},
         ValueError, r"`x` from batch 0 of the generator \(counting from 0\) contains 1 NaN"),
    Case("inf_in_y_generator", "fit_generator", "regression", lambda: {"batches": batches(X, put(Y_REG, (1, 0), -INF))},
         ValueError, r"`y` from batch 0 of the generator \(counting from 0\) contains 1 NaN or infinite"),
    Case("nan_in_validation_dataloader", "fit", "regression",
         lambda: {"x": X, "y": Y_REG,
                  "validation_data": DataLoader(TensorDataset(torch.as_tensor(put(X, (0, 0), NAN)), torch.as_tensor(Y_REG)), batch_size=8)},
         ValueError, r"`x` from batch 0 of the DataLoader \(counting from 0\) contains 1 NaN"),
    Case("nan_in_x_pydataset", "fit_pydataset", "regression", lambda: {"batches": batches(put(X, (3, 1), NAN), Y_REG)},
         ValueError, r"`x` from batch 0 of the _Batches \(PyDataset\) \(counting from 0\) contains 1 NaN or infinite value\(s\); "
         r"the first is at index \(3, 1\) of that batch"),
    Case("nan_in_x_evaluate_dataloader", "evaluate_loader", "regression", lambda: {"arrays": (put(X, (2, 2), NAN), Y_REG)},
         ValueError, r"`x` from batch 0 of the DataLoader \(counting from 0\) contains 1 NaN"),
    Case("nan_in_x_predict", "predict", "regression", lambda: {"x": put(X, (3, 1), NAN)},
         ValueError, rf"`x` {NON_FINITE} \(3, 1\)"),
    Case("inf_in_x_predict_with_progress_bar", "predict", "regression", lambda: {"x": put(X, (0, 3), INF), "verbose": 2},
         ValueError, rf"`x` {NON_FINITE} \(0, 3\)"),
    Case("nan_in_sample_weight_with_validation_split", "fit", "regression",
         lambda: {"x": X, "y": Y_REG, "sample_weight": put(SW, 30, NAN), "validation_split": 0.25},
         ValueError, rf"`sample_weight` {NON_FINITE} 30"),
    Case("nan_in_validation_sample_weight", "fit", "regression",
         lambda: {"x": X, "y": Y_REG, "validation_data": (X, Y_REG, put(SW, 3, NAN))},
         ValueError, rf"`sample_weight` {NON_FINITE} 3"),
    # ---------------------------------------------------- labels and the loss
    Case("sparse_label_equal_to_num_classes", "fit", "sparse", lambda: {"x": X, "y": put(Y_SPARSE, 4, 3)},
         ValueError, r"`y` for `sparse_categorical_crossentropy` must be integers in \[0, 2\] \(the model outputs 3 classes\)\. Received labels with min=0, max=3 .*first at index 4\)\. Fix the labels"),
    Case("sparse_label_negative", "fit", "sparse", lambda: {"x": X, "y": put(Y_SPARSE, 0, -1)},
         ValueError, r"Received labels with min=-1, max=2 .*first at index 0\)\. Fix the labels \(class indices start at 0\)"),
    Case("sparse_label_float_fraction", "fit", "sparse", lambda: {"x": X, "y": put(Y_SPARSE.astype("float32"), 2, 0.5)},
         ValueError, r"`y` for `sparse_categorical_crossentropy` must be integers\. Received float labels .*\(value 0\.5\)"),
    Case("sparse_given_one_hot_labels", "fit", "sparse", lambda: {"x": X, "y": Y_ONEHOT},
         ValueError, r"look one-hot encoded .*Use `categorical_crossentropy`, or pass `y\.argmax\(-1\)`"),
    Case("sparse_label_out_of_range_evaluate", "evaluate", "sparse", lambda: {"x": X, "y": put(Y_SPARSE, 8, 7)},
         ValueError, r"must be integers in \[0, 2\] .*max=7 .*first at index 8"),
    Case("sparse_label_out_of_range_validation", "fit", "sparse",
         lambda: {"x": X, "y": Y_SPARSE, "validation_data": (X, put(Y_SPARSE, 1, 5))},
         ValueError, r"must be integers in \[0, 2\] .*max=5 .*first at index 1"),
    Case("sparse_label_out_of_range_dataloader", "fit_loader", "sparse", lambda: {"arrays": (X, put(Y_SPARSE, 10, 3))},
         ValueError, r"`y` from batch 1 of the DataLoader \(counting from 0\) for `sparse_categorical_crossentropy` must be integers in \[0, 2\]", clean_batches=1),
    Case("sparse_label_negative_generator", "fit_generator", "sparse", lambda: {"batches": batches(X, put(Y_SPARSE, 0, -2))},
         ValueError, r"`y` from batch 0 of the generator \(counting from 0\) .*min=-2"),
    Case("binary_label_two", "fit", "binary", lambda: {"x": X, "y": put(Y_BINARY, (3, 0), 2.0)},
         ValueError, r"`y` holds targets outside \[0, 1\] for the loss `binary_crossentropy`: 1 value\(s\), the first is 2\.0 at index \(3, 0\)"),
    Case("binary_labels_minus_one_plus_one", "fit", "binary", lambda: {"x": X, "y": Y_BINARY * 2 - 1},
         ValueError, r"outside \[0, 1\] .*the first is -1\.0 .*Map -1/1 labels to 0/1"),
    Case("binary_label_out_of_range_dataloader", "fit_loader", "binary", lambda: {"arrays": (X, put(Y_BINARY, (17, 0), 3.0))},
         ValueError, r"`y` from batch 2 of the DataLoader \(counting from 0\) holds targets outside \[0, 1\].* 3\.0 at index \(1, 0\) of that batch", clean_batches=2),
    Case("binary_label_out_of_range_evaluate", "evaluate", "binary", lambda: {"x": X, "y": put(Y_BINARY, (0, 0), -1.0)},
         ValueError, r"outside \[0, 1\] .*-1\.0 at index \(0, 0\)"),
    Case("categorical_given_integer_labels", "fit", "categorical", lambda: {"x": X, "y": Y_SPARSE},
         ValueError, r"`y` holds integer class labels \(shape \(32,\)\) but the loss `categorical_crossentropy` takes one-hot rows .*sparse_categorical_crossentropy.*to_categorical"),
    Case("categorical_all_zero_row", "fit", "categorical", lambda: {"x": X, "y": put(Y_ONEHOT, 6, 0.0)},
         ValueError, r"`categorical_crossentropy`: each row of 3 values non-negative and summing to 1 .*Received 1 row\(s\) with only zeros; the first is row 6"),
    Case("categorical_row_sums_to_two", "fit", "categorical", lambda: {"x": X, "y": put(Y_ONEHOT, (6, 0), 1.0) + put(np.zeros_like(Y_ONEHOT), (6, 1), 1.0)},
         ValueError, r"do not sum to 1; the first is row 6"),
    Case("categorical_negative_entry", "fit", "categorical", lambda: {"x": X, "y": put(Y_ONEHOT, (0, 2), -1.0)},
         ValueError, r"with negative values; the first is row 0"),
    Case("categorical_bad_row_dataloader", "fit_loader", "categorical", lambda: {"arrays": (X, put(Y_ONEHOT, 25, 0.0))},
         ValueError, r"`y` from batch 3 of the DataLoader \(counting from 0\) must hold one-hot .*row 1 of that batch", clean_batches=3),
    Case("categorical_bad_row_validation", "fit", "categorical",
         lambda: {"x": X, "y": Y_ONEHOT, "validation_data": (X, put(Y_ONEHOT, 0, 0.5))},
         ValueError, r"do not sum to 1; the first is row 0: \[0\.5, 0\.5, 0\.5\]"),
    Case("categorical_wrong_number_of_classes", "fit", "categorical", lambda: {"x": X, "y": np.eye(4, dtype="float32")[Y_SPARSE]},
         ValueError, r"Received: y_true\.shape=\(8, 4\), y_pred\.shape=\(8, 3\)"),
    # ---------------------------------------------------- Embedding indices
    Case("embedding_float_indices", "fit", "embedding", lambda: {"x": X_IDS.astype("float32") + 0.5, "y": Y_REG},
         ValueError, r"`x` feeds the `Embedding` layer '.*', which takes integer indices, .*fractional part; the first is 9\.5"),
    Case("embedding_index_equal_to_input_dim", "fit", "embedding", lambda: {"x": put(X_IDS, (3, 2), 10), "y": Y_REG},
         ValueError, r"whose indices must be in \[0, 9\] \(input_dim=10\)\. Received 1 index value\(s\) out of range; the first is 10 at index \(3, 2\)"),
    Case("embedding_negative_index", "fit", "embedding", lambda: {"x": put(X_IDS, (0, 0), -1), "y": Y_REG},
         ValueError, r"input_dim=10\)\. .*the first is -1 at index \(0, 0\)\. Indices start at 0"),
    Case("embedding_index_out_of_range_predict", "predict", "embedding", lambda: {"x": put(X_IDS, (1, 1), 99)},
         ValueError, r"`x` feeds the `Embedding` layer .*input_dim=10.*the first is 99 at index \(1, 1\)"),
    Case("embedding_index_out_of_range_evaluate", "evaluate", "embedding", lambda: {"x": put(X_IDS, (1, 4), 12), "y": Y_REG},
         ValueError, r"input_dim=10\)\. .*the first is 12 at index \(1, 4\)"),
    Case("embedding_index_out_of_range_dataloader", "fit_loader", "embedding", lambda: {"arrays": (put(X_IDS, (30, 0), 50), Y_REG)},
         ValueError, r"`x` from batch 3 of the DataLoader \(counting from 0\) feeds the `Embedding` layer .*the first is 50 at index \(6, 0\) of that batch", clean_batches=3),
    # ---------------------------------------------------- dtypes, shapes, structures
    Case("complex_x", "fit", "regression", lambda: {"x": X.astype("complex64"), "y": Y_REG},
         TypeError, r"`x` must hold real numbers\. Received: dtype=complex64\. Pass the real part"),
    Case("complex_y", "fit", "regression", lambda: {"x": X, "y": Y_REG.astype("complex64")},
         TypeError, r"`y` must hold real numbers"),
    Case("complex_x_dataloader", "fit_loader", "regression", lambda: {"arrays": (X.astype("complex64"), Y_REG)},
         TypeError, r"`x`( from batch 0 of the DataLoader)?.* must hold real numbers\. Received: dtype=torch\.complex64\. Pass the real part"),
    Case("zero_feature_x", "fit", "regression", lambda: {"x": np.zeros((N, 0), "float32"), "y": Y_REG},
         ValueError, r"`x` has no features: its shape is \(32, 0\)"),
    Case("zero_feature_x_predict", "predict", "regression", lambda: {"x": np.zeros((N, 0), "float32")},
         ValueError, r"`x` has no features|received input with shape \(None, 0\)\. Pass data with 4 features"),
    Case("ragged_list_x", "fit", "regression", lambda: {"x": [[1.0, 2.0, 3.0, 4.0]] * 3 + [[1.0, 2.0]], "y": Y_REG[:4]},
         ValueError, r"`x` is a ragged nested list: x\[0\] has 4 values but x\[3\] has 2 values\. .*pad_sequences"),
    Case("ragged_list_y", "fit", "regression", lambda: {"x": X[:3], "y": [[1.0], [2.0, 3.0], [4.0]]},
         ValueError, r"`y` is a ragged nested list: y\[0\] has 1 values but y\[1\] has 2 values"),
    Case("ragged_list_predict", "predict", "regression", lambda: {"x": [[1.0, 2.0, 3.0, 4.0], [1.0]]},
         ValueError, r"`x` is a ragged nested list"),
    Case("x_y_lengths_differ", "fit", "regression", lambda: {"x": X, "y": Y_REG[:30]},
         ValueError, r"x has 32 samples, y has 30 samples"),
    Case("wrong_feature_count", "fit", "regression", lambda: {"x": np.zeros((N, 5), "float32"), "y": Y_REG},
         ValueError, r"built for input shape \(None, 4\).*received input with shape \(None, 5\)\. Pass data with 4 features"),
    Case("string_x", "fit", "regression", lambda: {"x": np.array([["a"] * 4] * N), "y": Y_REG},
         TypeError, r"`x` must hold numbers; received an array of dtype <U1\. Encode text"),
    Case("dict_to_sequential", "fit", "regression", lambda: {"x": {"features": X}, "y": Y_REG},
         ValueError, r"`Sequential` model, which takes exactly one input .*Received: a dict with keys 'features'\. .*functional API"),
    Case("dict_to_sequential_predict", "predict", "regression", lambda: {"x": {"a": X, "b": X}},
         ValueError, r"Received: a dict with keys 'a', 'b'"),
    Case("two_arrays_to_sequential", "fit", "regression", lambda: {"x": [X, X], "y": Y_REG},
         ValueError, r"Received: a list of 2 inputs\. Pass one array"),
    Case("dataloader_yields_4_tuples", "fit_loader", "regression", lambda: {"rows": rows(X, Y_REG, SW, SW)},
         ValueError, r"`fit` expects each batch to be .*\(x, y, sample_weight\)`\. Received: batch 0 of the DataLoader \(counting from 0\) is a list of 4 elements"),
    Case("generator_yields_4_tuples", "fit_generator", "regression",
         lambda: {"batches": [(X[:8], Y_REG[:8], SW[:8], SW[:8])]},
         ValueError, r"Received: batch 0 of the generator \(counting from 0\) is a tuple of 4 elements\. Group several inputs"),
    Case("validation_data_list_of_four", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_data": [X, Y_REG, SW, SW]},
         ValueError, r"`validation_data` must be a tuple `\(x_val, y_val\)` .*Received a list of 4\."),
    Case("validation_data_single_array", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_data": (X,)},
         ValueError, r"`validation_data` must be a tuple `\(x_val, y_val\)` .*Received a tuple of 1"),
    Case("huge_x_overflows_first_forward", "fit", "ones", lambda: {"x": np.full((N, 4), 1e38, "float32"), "y": Y_REG},
         ValueError, OVERFLOW),
    Case("huge_x_overflows_only_the_loss", "fit", "regression", lambda: {"x": np.full((N, 4), 3e38, "float32"), "y": Y_REG},
         ValueError, r"The loss \(`mean_squared_error`\) is NaN or infinite on the first batch although `x`, `y` and the "
         r"model's outputs are finite .*Scale or normalise the inputs"),
    Case("huge_x_overflows_evaluate", "evaluate", "ones", lambda: {"x": np.full((N, 4), -1e38, "float32"), "y": Y_REG},
         ValueError, OVERFLOW),
    # ---------------------------------------------------- arguments of fit / evaluate / predict
    Case("epochs_zero", "fit", "regression", lambda: {"x": X, "y": Y_REG, "epochs": 0},
         ValueError, r"`fit` expects `epochs` to be a positive integer\. Received: epochs=0\."),
    Case("epochs_float", "fit", "regression", lambda: {"x": X, "y": Y_REG, "epochs": 10.0},
         ValueError, r"Received: epochs=10\.0\. Pass an integer, e\.g\. `epochs=int\(10\.0\)`"),
    Case("epochs_string", "fit", "regression", lambda: {"x": X, "y": Y_REG, "epochs": "10"},
         ValueError, r"Received: epochs='10'"),
    Case("batch_size_zero", "fit", "regression", lambda: {"x": X, "y": Y_REG, "batch_size": 0},
         ValueError, r"`fit` expects `batch_size` to be a positive integer\. Received: batch_size=0"),
    Case("batch_size_float", "fit", "regression", lambda: {"x": X, "y": Y_REG, "batch_size": 16.0},
         ValueError, r"Received: batch_size=16\.0\. .*int\(16\.0\)"),
    Case("initial_epoch_not_below_epochs", "fit", "regression", lambda: {"x": X, "y": Y_REG, "epochs": 2, "initial_epoch": 5},
         ValueError, r"`initial_epoch` to be smaller than `epochs` .*Received: initial_epoch=5, epochs=2"),
    Case("steps_per_epoch_zero", "fit", "regression", lambda: {"x": X, "y": Y_REG, "steps_per_epoch": 0},
         ValueError, r"Received: steps_per_epoch=0"),
    Case("validation_freq_zero", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_freq": 0},
         ValueError, r"Received: validation_freq=0"),
    Case("validation_steps_negative", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_steps": -1},
         ValueError, r"Received: validation_steps=-1"),
    Case("validation_batch_size_zero", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_batch_size": 0},
         ValueError, r"Received: validation_batch_size=0"),
    Case("shuffle_batch_string", "fit", "regression", lambda: {"x": X, "y": Y_REG, "shuffle": "batch"},
         TypeError, r"`fit` expects `shuffle` to be True or False\. Received: shuffle='batch'"),
    Case("shuffle_int", "fit", "regression", lambda: {"x": X, "y": Y_REG, "shuffle": 0},
         TypeError, r"Received: shuffle=0\. Pass `shuffle=True` or `shuffle=False`"),
    Case("verbose_three", "fit", "regression", lambda: {"x": X, "y": Y_REG, "verbose": 3},
         ValueError, r"`fit` expects `verbose` to be 0, 1, 2 or 'auto'\. Received: verbose=3"),
    Case("verbose_true", "fit", "regression", lambda: {"x": X, "y": Y_REG, "verbose": True},
         ValueError, r"Received: verbose=True\. Pass `verbose=0`"),
    Case("validation_split_one", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_split": 1.0},
         ValueError, r"`validation_split` to be a number in \[0\.0, 1\.0\)\. Received: validation_split=1\.0"),
    Case("validation_split_nan", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_split": NAN},
         ValueError, r"`validation_split` to be a number \(not NaN\)\. Received: validation_split=nan"),
    Case("validation_split_percent", "fit", "regression", lambda: {"x": X, "y": Y_REG, "validation_split": 20},
         ValueError, r"Received: validation_split=20"),
    Case("class_weight_list", "fit", "sparse", lambda: {"x": X, "y": Y_SPARSE, "class_weight": [1.0, 2.0, 3.0]},
         TypeError, r"`class_weight` to be a dict .*dict\(enumerate\(weights\)\)"),
    Case("class_weight_negative", "fit", "sparse", lambda: {"x": X, "y": Y_SPARSE, "class_weight": {0: -1.0}},
         ValueError, r"Received: class_weight\[0\]=-1\.0"),
    Case("class_weight_all_zero", "fit", "sparse", lambda: {"x": X, "y": Y_SPARSE, "class_weight": {0: 0, 1: 0, 2: 0}},
         ValueError, r"at least one weight in `class_weight` to be > 0"),
    Case("class_weight_string_keys", "fit", "sparse", lambda: {"x": X, "y": Y_SPARSE, "class_weight": {"a": 1.0}},
         ValueError, r"keys of `class_weight` to be class indices .*Received: key 'a'"),
    Case("sample_weight_wrong_length", "fit", "regression", lambda: {"x": X, "y": Y_REG, "sample_weight": SW[:10]},
         ValueError, r"`sample_weight` to have one weight per sample: shape \(32,\) .*Received: sample_weight with shape \(10,\)"),
    Case("sample_weight_2d", "fit", "regression", lambda: {"x": X, "y": Y_REG, "sample_weight": np.ones((N, 4))},
         ValueError, r"`sample_weight` to be 1-D: shape \(32,\)"),
    Case("callbacks_single_instance", "fit", "regression", lambda: {"x": X, "y": Y_REG, "callbacks": callbacks.EarlyStopping()},
         TypeError, r"Received: callbacks=.*Wrap the single callback in a list: `callbacks=\[EarlyStopping\(\.\.\.\)\]`"),
    Case("callbacks_class_not_instance", "fit", "regression", lambda: {"x": X, "y": Y_REG, "callbacks": [callbacks.EarlyStopping]},
         TypeError, r"Received: callbacks\[0\]=EarlyStopping \(the class\)\. Create an instance"),
    Case("callbacks_a_function", "fit", "regression", lambda: {"x": X, "y": Y_REG, "callbacks": [print]},
         TypeError, r"Received: callbacks\[0\]=<built-in function print>"),
    Case("evaluate_return_dict_string", "evaluate", "regression", lambda: {"x": X, "y": Y_REG, "return_dict": "true"},
         TypeError, r"`evaluate` expects `return_dict` to be True or False\. Received: return_dict='true'"),
    Case("evaluate_steps_zero", "evaluate", "regression", lambda: {"x": X, "y": Y_REG, "steps": 0},
         ValueError, r"`evaluate` expects `steps` to be a positive integer\. Received: steps=0"),
    Case("predict_batch_size_negative", "predict", "regression", lambda: {"x": X, "batch_size": -1},
         ValueError, r"`predict` expects `batch_size` to be a positive integer\. Received: batch_size=-1"),
    Case("predict_verbose_string", "predict", "regression", lambda: {"x": X, "verbose": "quiet"},
         ValueError, r"`predict` expects `verbose` to be 0, 1, 2 or 'auto'\. Received: verbose='quiet'"),
    # ---------------------------------------------------- compile
    Case("compile_unknown_optimizer", "compile", "regression", lambda: {"optimizer": "adamm", "loss": "mse"},
         ValueError, r"Unknown optimizer name: 'adamm'\. Valid names are: .*adam,.*Received: optimizer='adamm'"),
    Case("compile_unknown_loss", "compile", "regression", lambda: {"optimizer": "sgd", "loss": "mean_sq_error"},
         ValueError, r"Unknown loss name: 'mean_sq_error'\. Valid names are: .*mean_squared_error"),
    Case("compile_unknown_keyword", "compile", "regression", lambda: {"optimizer": "sgd", "loss": "mse", "lr": 0.1},
         TypeError, r"`compile` got unexpected keyword argument\(s\): lr"),
    Case("compile_steps_per_execution_zero", "compile", "regression",
         lambda: {"optimizer": "sgd", "loss": "mse", "steps_per_execution": 0},
         ValueError, r"Received: steps_per_execution=0"),
    Case("compile_jit_compile_string", "compile", "regression",
         lambda: {"optimizer": "sgd", "loss": "mse", "jit_compile": "yes"},
         TypeError, r"`compile` expects `jit_compile` to be True or False\. Received: jit_compile='yes'"),
    # ---------------------------------------------------- optimizer constructors
    Case("optimizer_lr_nan", "optimizer", "regression", lambda: {"call": lambda: optimizers.Adam(learning_rate=NAN)},
         ValueError, r"`Adam` expects `learning_rate` to be a finite number >= 0 or a `LearningRateSchedule`\. Received: learning_rate=nan"),
    Case("optimizer_lr_inf", "optimizer", "regression", lambda: {"call": lambda: optimizers.SGD(learning_rate=INF)},
         ValueError, r"`SGD` expects `learning_rate` .*Received: learning_rate=inf"),
    Case("optimizer_lr_minus_inf", "optimizer", "regression", lambda: {"call": lambda: optimizers.RMSprop(learning_rate=-INF)},
         ValueError, r"`RMSprop` expects `learning_rate` .*Received: learning_rate=-inf"),
    Case("optimizer_lr_negative", "optimizer", "regression", lambda: {"call": lambda: optimizers.AdamW(learning_rate=-1e-3)},
         ValueError, r"`AdamW` expects `learning_rate` .*Received: learning_rate=-0\.001\. A negative rate"),
    Case("optimizer_lr_string", "optimizer", "regression", lambda: {"call": lambda: optimizers.Adam(learning_rate="1e-3")},
         TypeError, r"Received: learning_rate='1e-3'\. Pass a number: `learning_rate=float\('1e-3'\)`"),
    Case("optimizer_lr_bool", "optimizer", "regression", lambda: {"call": lambda: optimizers.Lion(learning_rate=True)},
         TypeError, r"`Lion` expects `learning_rate` .*Received: learning_rate=True"),
    Case("optimizer_lr_set_to_nan", "optimizer", "regression",
         lambda: {"call": lambda: setattr(optimizers.Adam(1e-3), "learning_rate", NAN)},
         ValueError, r"`Adam` expects `learning_rate` .*Received: learning_rate=nan"),
    Case("optimizer_momentum_above_one", "optimizer", "regression", lambda: {"call": lambda: optimizers.SGD(momentum=1.2)},
         ValueError, r"`SGD` expects `momentum` to be a number in \[0\.0, 1\.0\]\. Received: momentum=1\.2"),
    Case("optimizer_beta_1_one", "optimizer", "regression", lambda: {"call": lambda: optimizers.Adam(beta_1=1.0)},
         ValueError, r"`Adam` expects `beta_1` to be a number in \[0\.0, 1\.0\)\. Received: beta_1=1\.0"),
    Case("optimizer_beta_2_nan", "optimizer", "regression", lambda: {"call": lambda: optimizers.Nadam(beta_2=NAN)},
         ValueError, r"`Nadam` expects `beta_2` to be a number \(not NaN\)\. Received: beta_2=nan"),
    Case("optimizer_epsilon_zero", "optimizer", "regression", lambda: {"call": lambda: optimizers.Adam(epsilon=0.0)},
         ValueError, r"`Adam` expects `epsilon` to be a number > 0\.0\. Received: epsilon=0\.0"),
    Case("optimizer_weight_decay_inf", "optimizer", "regression", lambda: {"call": lambda: optimizers.AdamW(weight_decay=INF)},
         ValueError, r"`AdamW` expects `weight_decay` to be a finite number\. Received: weight_decay=inf"),
    Case("optimizer_clipnorm_negative", "optimizer", "regression", lambda: {"call": lambda: optimizers.SGD(clipnorm=-1.0)},
         ValueError, r"`SGD` expects `clipnorm` to be a number > 0\.0\. Received: clipnorm=-1\.0"),
    Case("optimizer_clipvalue_zero", "optimizer", "regression", lambda: {"call": lambda: optimizers.Adagrad(clipvalue=0)},
         ValueError, r"`Adagrad` expects `clipvalue` to be a number > 0\.0\. Received: clipvalue=0"),
]

# Cases whose check has not landed yet: name -> reason (each runs as xfail(strict=True)).
PENDING: dict[str, str] = {}


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = list(case.marks)
        if case.name in PENDING:
            marks.append(pytest.mark.xfail(strict=True, reason=PENDING[case.name]))
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def test_case_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 80


def _run_clean_prefix(case: Case, kwargs: dict[str, Any]) -> lamina.Model:
    """The same model trained on only the clean batches before the bad one."""
    lamina.utils.set_random_seed(0)
    model = MODELS[case.model]()
    k = case.clean_batches
    if case.entry == "fit_loader":
        ENTRIES["fit_loader"](model, arrays=tuple(a[: 8 * k] for a in kwargs["arrays"]))
    elif case.entry == "fit_generator":
        ENTRIES["fit_generator"](model, batches=kwargs["batches"][:k])
    else:
        raise AssertionError(f"{case.name}: `clean_batches` is for streams")
    return model


@pytest.mark.parametrize("case", _params())
def test_careless_input_is_refused_before_any_step(case: Case):
    lamina.utils.set_random_seed(0)
    model = MODELS[case.model]()
    assert list(model.parameters()), "every model of the table is built at construction"
    kwargs = case.make()
    if case.clean_batches:
        reference = _run_clean_prefix(case, kwargs)
        expected, steps = [p.detach().clone() for p in reference.parameters()], reference.optimizer.iterations
    else:
        expected, steps = [p.detach().clone() for p in model.parameters()], 0
    with pytest.raises(case.error, match=case.match):
        ENTRIES[case.entry](model, **kwargs)
    after = list(model.parameters())
    assert len(after) == len(expected)
    for a, b in zip(expected, after):
        assert torch.equal(a, b.detach()), f"{case.name}: a step ran on the bad data before the error"
    assert model.optimizer is None or model.optimizer.iterations == steps
