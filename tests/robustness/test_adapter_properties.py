"""Property tests of the data path (issue #13): whatever arrays a careless caller passes
(NaN, inf, huge values, odd dtypes and shapes) from whatever source, `fit`, `evaluate`
and `predict` on a tiny model either work or raise a ValueError / TypeError that says
what is wrong, never anything else; and valid data always works."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.utils.data import DataLoader, TensorDataset

import lamina

SETTINGS = settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 1e38, -3e38, 1e30, 0.0, -1.0])
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), SPECIAL)
DTYPES = st.sampled_from(["float32", "float64", "float16", "int64", "int32", "uint8", "bool", "complex64"])
SHAPES = st.sampled_from([(6,), (6, 3), (6, 0), (6, 3, 2), (6, 1)])
SOURCES = st.sampled_from(["numpy", "torch", "dataloader", "generator"])


def _cast(values: np.ndarray, dtype: str) -> np.ndarray:
    if dtype in ("float32", "float64", "float16", "complex64"):
        with np.errstate(over="ignore", invalid="ignore"):
            return values.astype(dtype)
    finite = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(finite, 0, 5).astype(dtype)


@st.composite
def arrays(draw, shape=None, dtype=None):
    shape = shape or draw(SHAPES)
    dtype = dtype or draw(DTYPES)
    values = draw(hnp.arrays(np.float32, shape, elements=FLOATS))
    return _cast(values, dtype)


def _source(kind: str, x: np.ndarray, y: np.ndarray | None):
    if kind == "numpy":
        return dict(x=x) if y is None else dict(x=x, y=y)
    if kind == "torch":
        tx = torch.as_tensor(x)
        return dict(x=tx) if y is None else dict(x=tx, y=torch.as_tensor(y))
    parts = [torch.as_tensor(x)] + ([] if y is None else [torch.as_tensor(y)])
    if kind == "dataloader":
        return dict(x=DataLoader(TensorDataset(*parts), batch_size=4))

    def gen():
        for start in range(0, len(x), 4):
            yield tuple(p[start : start + 4] for p in parts)

    return dict(x=gen())


def _model(loss: str = "mse") -> lamina.Model:
    model = lamina.Sequential([lamina.layers.Dense(2 if loss != "mse" else 1)])
    model.compile("sgd", loss)
    return model


def _careful(call) -> None:
    """Runs ``call``; the only errors allowed are ValueError / TypeError with a real message."""
    try:
        call()
    except (ValueError, TypeError) as error:
        message = str(error)
        assert len(message) > 30, f"uninformative message: {message!r}"
        assert "Traceback" not in message


@SETTINGS
@given(x=arrays(), y=arrays(shape=(6, 1)), source=SOURCES, method=st.sampled_from(["fit", "evaluate", "predict"]))
def test_any_arrays_through_fit_evaluate_predict_fail_only_with_clear_errors(x, y, source, method):
    model = _model()
    if method == "predict":
        _careful(lambda: model.predict(_source(source, x, None)["x"], verbose=0))
        return
    fn = getattr(model, method)
    _careful(lambda: fn(**_source(source, x, y), verbose=0))


@SETTINGS
@given(
    y=arrays(shape=(6,)),
    loss=st.sampled_from(["sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy"]),
    source=SOURCES,
)
def test_any_targets_for_classification_losses_fail_only_with_clear_errors(y, loss, source):
    x = np.linspace(-1, 1, 18, dtype="float32").reshape(6, 3)
    _careful(lambda: _model(loss).fit(**_source(source, x, y), verbose=0))


@SETTINGS
@given(
    x=hnp.arrays(np.float32, st.tuples(st.integers(1, 12), st.integers(1, 4)), elements=st.floats(-1e3, 1e3, width=32)),
    source=SOURCES,
)
def test_valid_data_always_trains_evaluates_and_predicts(x, source):
    y = x.sum(axis=1, keepdims=True) / 10
    model = _model()
    history = model.fit(**_source(source, x, y), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert np.isfinite(model.evaluate(**_source(source, x, y), verbose=0))
    out = model.predict(_source(source, x, None)["x"], verbose=0)
    assert out.shape == (len(x), 1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_single_non_finite_value_anywhere_is_always_reported(bad):
    rng = np.random.default_rng(1)
    for _ in range(10):
        x = rng.normal(size=(9, 3)).astype("float32")
        row, col = int(rng.integers(9)), int(rng.integers(3))
        x[row, col] = bad
        for source in ("numpy", "dataloader"):
            with pytest.raises(ValueError, match=r"NaN or infinite.*index \(" + str(row % (4 if source != "numpy" else 9))):
                _model().fit(**_source(source, x, np.zeros((9, 1), "float32")), verbose=0)
