"""One validation path for every kind of data (issue #13): NumPy arrays, torch tensors,
a DataLoader, a Python generator and a PyDataset all get the same checks and errors
that name the source, the index and the fix; good data is never refused."""

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import lamina
from lamina.training import data_checks
from lamina.utils import PyDataset

N, BS = 32, 8
BAD_ROW = 20  # batch 2 (counting from 0), row 4 of that batch


class ArrayData(PyDataset):
    def __init__(self, *parts):
        super().__init__()
        self.parts = parts

    def __len__(self):
        return math.ceil(len(self.parts[0]) / BS)

    def __getitem__(self, i):
        sl = slice(i * BS, (i + 1) * BS)
        return tuple(p[sl] for p in self.parts)


def _generator(*parts):
    def gen():
        for start in range(0, len(parts[0]), BS):
            yield tuple(p[start : start + BS] for p in parts)

    return gen()


def _numpy(x, y, w=None):
    return dict(x=x, y=y, sample_weight=w)


def _torch(x, y, w=None):
    return dict(x=torch.as_tensor(x), y=torch.as_tensor(y), sample_weight=None if w is None else torch.as_tensor(w))


def _loader(x, y, w=None):
    parts = [torch.as_tensor(p) for p in (x, y, w) if p is not None]
    return dict(x=DataLoader(TensorDataset(*parts), batch_size=BS))


def _gen(x, y, w=None):
    return dict(x=_generator(*[p for p in (x, y, w) if p is not None]))


def _pydataset(x, y, w=None):
    return dict(x=ArrayData(*[p for p in (x, y, w) if p is not None]))


SOURCES = {"numpy": _numpy, "torch": _torch, "dataloader": _loader, "generator": _gen, "pydataset": _pydataset}
STREAMS = ("dataloader", "generator", "pydataset")
ORIGIN = {
    "dataloader": r"from batch 2 of the DataLoader \(counting from 0\)",
    "generator": r"from batch 2 of the generator \(counting from 0\)",
    "pydataset": r"from batch 2 of the ArrayData \(PyDataset\) \(counting from 0\)",
}


def _dense(units, activation=None, features=4):
    lamina.utils.set_random_seed(0)
    return lamina.Sequential([lamina.Input(shape=(features,)), lamina.layers.Dense(units, activation=activation)])


def _embedding():
    lamina.utils.set_random_seed(0)
    return lamina.Sequential(
        [
            lamina.Input(shape=(5,)),
            lamina.layers.Embedding(10, 3),
            lamina.layers.Flatten(),
            lamina.layers.Dense(1),
        ]
    )


def _x(features=4):
    return np.random.default_rng(0).normal(size=(N, features)).astype("float32")


def _labels(k=3):
    return (np.arange(N) % k).astype("int64")


def _one_hot(k=3):
    return np.eye(k, dtype="float32")[_labels(k)]


def _problem_nan_x():
    x = _x()
    x[BAD_ROW, 1] = np.nan
    return _dense(1), "mse", x, np.zeros((N, 1), "float32"), None, ValueError, r"`x`{o} contains 1 NaN or infinite value\(s\); the first is at index \({i}, 1\)"


def _problem_inf_y():
    y = np.zeros((N, 1), "float32")
    y[BAD_ROW, 0] = np.inf
    return _dense(1), "mse", _x(), y, None, ValueError, r"`y`{o} contains 1 NaN or infinite value\(s\)"


def _problem_nan_weight():
    w = np.ones(N, "float32")
    w[BAD_ROW] = np.nan
    return _dense(1), "mse", _x(), np.zeros((N, 1), "float32"), w, ValueError, r"`sample_weight`{o} contains 1 NaN"


def _problem_complex_x():
    return _dense(1), "mse", _x().astype("complex64"), np.zeros((N, 1), "float32"), None, TypeError, r"must hold real numbers.*complex64"


def _problem_bce_out_of_range():
    y = (np.arange(N) % 2).astype("float32").reshape(-1, 1)
    y[BAD_ROW, 0] = 2.0
    return _dense(1, "sigmoid"), "binary_crossentropy", _x(), y, None, ValueError, r"`y`{o} holds targets outside \[0, 1\].*2\.0.*soft labels"


def _problem_cce_rows_not_summing_to_one():
    y = _one_hot()
    y[BAD_ROW] = [0.5, 0.2, 0.1]
    return _dense(3, "softmax"), "categorical_crossentropy", _x(), y, None, ValueError, r"`y`{o} must hold one-hot.*do not sum to 1.*row {i}"


def _problem_cce_zero_row():
    y = _one_hot()
    y[BAD_ROW] = 0.0
    return _dense(3, "softmax"), "categorical_crossentropy", _x(), y, None, ValueError, r"`y`{o} must hold one-hot.*only zeros"


def _problem_cce_negative_row():
    y = _one_hot()
    y[BAD_ROW] = [1.5, -0.5, 0.0]
    return _dense(3, "softmax"), "categorical_crossentropy", _x(), y, None, ValueError, r"`y`{o} must hold one-hot.*negative values"


def _problem_cce_integer_labels():
    return _dense(3, "softmax"), "categorical_crossentropy", _x(), _labels(), None, ValueError, r"`y`{o} holds integer class labels.*sparse_categorical_crossentropy.*to_categorical"


def _problem_sparse_given_one_hot():
    return _dense(3, "softmax"), "sparse_categorical_crossentropy", _x(), _one_hot(), None, ValueError, r"`y`{o} for `sparse_categorical_crossentropy` must be integer class indices, but they look one-hot.*categorical_crossentropy"


def _problem_sparse_out_of_range():
    y = _labels()
    y[BAD_ROW] = 7
    return _dense(3, "softmax"), "sparse_categorical_crossentropy", _x(), y, None, ValueError, r"`y`{o} for `sparse_categorical_crossentropy` must be integers in \[0, 2\].*max=7"


def _problem_sparse_negative():
    y = _labels()
    y[BAD_ROW] = -1
    return _dense(3, "softmax"), "sparse_categorical_crossentropy", _x(), y, None, ValueError, r"must be integers in \[0, 2\].*min=-1.*class indices start at 0"


def _problem_embedding_fraction():
    x = (np.arange(N * 5) % 10).reshape(N, 5).astype("float32")
    x[BAD_ROW, 2] = 2.5
    return _embedding(), "mse", x, np.zeros((N, 1), "float32"), None, ValueError, r"`x`{o} feeds the `Embedding` layer .*fractional part; the first is 2\.5 at index \({i}, 2\)"


def _problem_embedding_out_of_range():
    x = (np.arange(N * 5) % 10).reshape(N, 5).astype("int64")
    x[BAD_ROW, 0] = 12
    return _embedding(), "mse", x, np.zeros((N, 1), "float32"), None, ValueError, r"`x`{o} feeds the `Embedding` layer .*indices must be in \[0, 9\].*first is 12.*`input_dim` of at least 13"


def _problem_embedding_negative():
    x = (np.arange(N * 5) % 10).reshape(N, 5).astype("int64")
    x[BAD_ROW, 0] = -3
    return _embedding(), "mse", x, np.zeros((N, 1), "float32"), None, ValueError, r"`x`{o} feeds the `Embedding` layer .*first is -3.*Indices start at 0"


PROBLEMS = {name[len("_problem_"):]: fn for name, fn in dict(globals()).items() if name.startswith("_problem_")}


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


def _same(before, model):
    return all(torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_every_source_refuses_every_problem_with_a_message(source, problem):
    model, loss, x, y, w, error, pattern = PROBLEMS[problem]()
    model.compile("sgd", loss)
    origin = "" if source not in STREAMS else " " + ORIGIN[source]
    index = BAD_ROW if source not in STREAMS else BAD_ROW % BS
    pattern = pattern.replace("{o}", origin).replace("{i}", str(index))
    if problem in ("cce_integer_labels", "sparse_given_one_hot", "complex_x") and source in STREAMS:
        pattern = pattern.replace(" from batch 2 ", " from batch 0 ")  # the first batch already shows it
    data = SOURCES[source](x, y, w)
    with pytest.raises(error, match=pattern):
        model.fit(**data, batch_size=BS, shuffle=False, verbose=0)


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("problem", ["nan_x", "bce_out_of_range", "sparse_out_of_range", "embedding_out_of_range"])
def test_problem_in_the_first_batch_stops_before_any_weight_changes(source, problem):
    model, loss, x, y, w, error, _ = PROBLEMS[problem]()
    # Move the bad row into the first batch: every source finds it before training.
    x, y = x.copy(), y.copy()
    x[[0, BAD_ROW]] = x[[BAD_ROW, 0]]
    y[[0, BAD_ROW]] = y[[BAD_ROW, 0]]
    model.compile("sgd", loss)
    model(torch.as_tensor(x[1:3]))  # built, so there are weights to compare
    before = _weights(model)
    with pytest.raises(error):
        model.fit(**SOURCES[source](x, y, w), batch_size=BS, shuffle=False, verbose=0)
    assert _same(before, model)


@pytest.mark.parametrize("source", list(STREAMS))
def test_evaluate_checks_streamed_labels_and_predict_checks_x_only(source):
    y = _labels()
    y[BAD_ROW] = 5
    model = _dense(3, "softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=ORIGIN[source] + r".*must be integers in \[0, 2\]"):
        model.evaluate(**SOURCES[source](_x(), y), batch_size=BS, verbose=0)
    # predict reads `x` only: bad labels in the batches are no business of its
    out = model.predict(SOURCES[source](_x(), y)["x"], batch_size=BS, verbose=0)
    assert out.shape == (N, 3)
    x = _x()
    x[BAD_ROW, 0] = np.inf
    with pytest.raises(ValueError, match=r"`x` " + ORIGIN[source] + r" contains 1 NaN or infinite"):
        model.predict(SOURCES[source](x, y)["x"], batch_size=BS, verbose=0)


def test_predict_on_arrays_checks_x():
    x = _x()
    x[3, 2] = np.nan
    model = _dense(1)
    with pytest.raises(ValueError, match=r"`x` contains 1 NaN or infinite value\(s\); the first is at index \(3, 2\)"):
        model.predict(x, verbose=1)


# --------------------------------------------------------------------------- no false positives


def _fit_weights(model_fn, loss, data, **kwargs):
    model = model_fn()
    model.compile("sgd", loss)
    model.fit(**data, batch_size=BS, shuffle=False, epochs=2, verbose=0, **kwargs)
    return [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize(
    "model_fn, loss, y",
    [
        (lambda: _dense(1, "sigmoid"), "binary_crossentropy", np.linspace(0.0, 1.0, N, dtype="float32").reshape(-1, 1)),
        (lambda: _dense(3, "softmax"), "categorical_crossentropy", _one_hot() * 0.9 + 0.1 / 3),  # label smoothing
        (lambda: _dense(3, "softmax"), "sparse_categorical_crossentropy", _labels().astype("float32")),
        (lambda: _dense(3, "softmax"), "categorical_crossentropy", np.eye(3, dtype="int64")[_labels()]),
    ],
    ids=["soft-binary", "smoothed-one-hot", "float-sparse-labels", "integer-one-hot"],
)
def test_good_data_trains_identically_from_every_source(model_fn, loss, y):
    x = _x()
    reference = _fit_weights(model_fn, loss, _numpy(x, y))
    for source in ("torch", "dataloader", "pydataset"):
        got = _fit_weights(model_fn, loss, SOURCES[source](x, y))
        for a, b in zip(reference, got):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_float_valued_indices_feed_an_embedding_like_integers():
    x = (np.arange(N * 5) % 10).reshape(N, 5)
    y = np.linspace(-1, 1, N, dtype="float32").reshape(-1, 1)
    as_int = _fit_weights(_embedding, "mse", _numpy(x.astype("int64"), y))
    as_float = _fit_weights(_embedding, "mse", _loader(x.astype("float32"), y))
    for a, b in zip(as_int, as_float):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_functional_model_embedding_input_is_named_by_key():
    lamina.utils.set_random_seed(0)
    tokens = lamina.Input(shape=(3,), name="tokens")
    dense = lamina.Input(shape=(2,), name="dense")
    merged = lamina.layers.Concatenate()([lamina.layers.Flatten()(lamina.layers.Embedding(4, 2)(tokens)), dense])
    model = lamina.Model([tokens, dense], lamina.layers.Dense(1)(merged))
    model.compile("sgd", "mse")
    t = np.zeros((N, 3), "int64")
    t[5, 1] = 4
    with pytest.raises(ValueError, match=r"`x\['tokens'\]` feeds the `Embedding` layer .*\[0, 3\].*first is 4 at index \(5, 1\)"):
        model.fit({"tokens": t, "dense": np.zeros((N, 2), "float32")}, np.zeros((N, 1), "float32"), verbose=0)
    t[5, 1] = 3
    model.fit([t, np.zeros((N, 2), "float32")], np.zeros((N, 1), "float32"), verbose=0)


# --------------------------------------------------------------------------- shapes and arguments


def test_zero_feature_inputs_are_refused():
    model = _dense(1)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"`x` has no features: its shape is \(32, 0\)"):
        model.fit(np.zeros((N, 0), "float32"), np.zeros((N, 1), "float32"), verbose=0)


def test_ragged_nested_list_names_the_row_that_changes_length():
    model = _dense(1, features=3)
    model.compile("sgd", "mse")
    x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0], [1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match=r"`x` is a ragged nested list: x\[0\] has 3 values but x\[2\] has 2.*pad_sequences"):
        model.fit(x, [0.0, 1.0, 0.0, 1.0], verbose=0)


def test_dataloader_yielding_four_tensors_is_refused_with_the_accepted_forms():
    t = torch.zeros(N, 4)
    loader = DataLoader(TensorDataset(t, t[:, :1], t[:, 0], t[:, 0]), batch_size=BS)
    model = _dense(1)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"expects each batch to be .*`\(x, y, sample_weight\)`.*batch 0 of the DataLoader .* is a list of 4 elements"):
        model.fit(loader, verbose=0)


def test_validation_data_as_a_list_is_taken_like_a_tuple():
    x, y = _x(), _labels().astype("float32").reshape(-1, 1)
    logs = []
    for pack in (tuple, list):
        model = _dense(1)
        model.compile("sgd", "mse")
        history = model.fit(x, y, validation_data=pack([x[:8], y[:8]]), shuffle=False, verbose=0)
        logs.append(history.history["val_loss"][0])
    assert logs[0] == pytest.approx(logs[1])


def test_bad_validation_labels_in_a_list_are_checked_too():
    model = _dense(3, "softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    bad = _labels()[:8].copy()
    bad[2] = 9
    with pytest.raises(ValueError, match=r"must be integers in \[0, 2\].*max=9"):
        model.fit(_x(), _labels(), validation_data=[_x()[:8], bad], verbose=0)


def test_batch_size_accepts_numpy_integers_and_refuses_floats_and_bools():
    model = _dense(1)
    model.compile("sgd", "mse")
    x, y = _x(), np.zeros((N, 1), "float32")
    history = model.fit(x, y, batch_size=np.int64(8), verbose=0)
    assert len(history.history["loss"]) == 1
    for bad in (8.0, True, 0):
        with pytest.raises(ValueError, match=r"`fit` expects `batch_size` to be a positive integer. Received: batch_size="):
            model.fit(x, y, batch_size=bad, verbose=0)


def test_inputs_that_overflow_the_first_forward_pass_name_the_layer():
    model = lamina.Sequential(
        [lamina.Input(shape=(4,)), lamina.layers.Dense(8, name="hidden"), lamina.layers.Dense(1, name="out")]
    )
    model.compile("sgd", "mse")
    x = np.full((N, 4), 3e38, "float32")
    with pytest.raises(ValueError, match=r"output is NaN or infinite on the first batch although `x` is finite .*'hidden' \(Dense\).*scale or normalise"):
        model.fit(x, np.zeros((N, 1), "float32"), verbose=0)


def test_class_weight_must_be_finite():
    with pytest.raises(ValueError, match="finite"):
        data_checks.check_class_weight({0: 1.0, 1: float("nan")})
    model = _dense(3, "softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="finite"):
        model.fit(_x(), _labels(), class_weight={0: 1.0, 1: float("inf"), 2: 1.0}, verbose=0)


# --------------------------------------------------------------------------- the in-memory check in blocks


def test_blockwise_finite_check_finds_count_and_first_index_across_blocks(monkeypatch):
    monkeypatch.setattr(data_checks, "CHUNK_BYTES", 64)  # 4 rows of 4 float32 per block
    t = torch.zeros(50, 4)
    t[13, 3] = float("nan")
    t[41, 0] = float("-inf")
    with pytest.raises(ValueError, match=r"`x` contains 2 NaN or infinite value\(s\); the first is at index \(13, 3\)"):
        data_checks.check_finite(t, "x")
    v = torch.zeros(50)
    v[37] = float("inf")
    with pytest.raises(ValueError, match=r"contains 1 NaN .* index 37\."):
        data_checks.check_finite(v, "y")
    data_checks.check_finite(torch.zeros(50, 4), "x")  # no false positive


def test_categorical_rows_checked_in_blocks_report_the_row(monkeypatch):
    monkeypatch.setattr(data_checks, "CHUNK_BYTES", 24)  # 2 rows of 3 per block
    rule = data_checks.TargetRule(0, "out", "categorical_crossentropy", "categorical_crossentropy", 3)
    v = data_checks.DataValidator(targets=(rule,))
    y = torch.eye(3)[torch.arange(20) % 3]
    v.check_model(torch.zeros(20, 2), y)
    y[11] = torch.tensor([0.2, 0.2, 0.2])
    with pytest.raises(ValueError, match=r"1 row\(s\) with values that do not sum to 1; the first is row 11"):
        v.check_model(torch.zeros(20, 2), y)


def test_embedding_out_of_range_in_a_direct_call_and_in_predict_is_a_value_error():
    model = _embedding()
    x = np.zeros((4, 5), "int64")
    x[1, 1] = 10
    layer = model.layers[0]
    with pytest.raises(ValueError, match=r"`Embedding` layer '.*' expects indices in \[0, 9\].*max=10"):
        layer(torch.as_tensor(x))
    for verbose in (0, 1):  # the fast path (straight to the model) and the adapter
        with pytest.raises(ValueError, match=r"\[0, 9\].*10"):
            model.predict(x, verbose=verbose)


def test_multi_output_targets_are_checked_per_output():
    lamina.utils.set_random_seed(0)
    inputs = lamina.Input(shape=(4,))
    a = lamina.layers.Dense(3, activation="softmax", name="cls")(inputs)
    b = lamina.layers.Dense(1, activation="sigmoid", name="flag")(inputs)
    model = lamina.Model(inputs, {"cls": a, "flag": b})
    model.compile("sgd", {"cls": "sparse_categorical_crossentropy", "flag": "binary_crossentropy"})
    flags = (np.arange(N) % 2).astype("float32").reshape(-1, 1)
    model.fit(_x(), {"cls": _labels(), "flag": flags}, verbose=0)
    flags[7, 0] = -1.0
    with pytest.raises(ValueError, match=r"`y\['flag'\]` holds targets outside \[0, 1\]"):
        model.fit(_x(), {"cls": _labels(), "flag": flags}, verbose=0)
    flags[7, 0] = 1.0
    labels = _labels()
    labels[3] = 3
    with pytest.raises(ValueError, match=r"`y\['cls'\]` for `sparse_categorical_crossentropy` must be integers in \[0, 2\]"):
        model.fit(_x(), {"cls": labels, "flag": flags}, verbose=0)


def test_finite_outputs_whose_loss_overflows_are_refused_before_training():
    model = _dense(1)
    model.compile("sgd", "mse")
    model(torch.zeros(1, 4))
    before = _weights(model)
    x = np.full((N, 4), 3e38, "float32")
    with pytest.raises(ValueError, match=r"loss \(`mean_squared_error`\) is NaN or infinite on the first batch.*outputs are finite.*normalise"):
        model.fit(x, np.zeros((N, 1), "float32"), verbose=0)
    assert _same(before, model)


def test_a_validation_dataloader_is_checked_before_the_first_epoch():
    model = _dense(1)
    model.compile("sgd", "mse")
    model(torch.zeros(1, 4))
    before = _weights(model)
    bad = _x()
    bad[1, 2] = np.nan
    val = DataLoader(TensorDataset(torch.as_tensor(bad), torch.zeros(N, 1)), batch_size=BS)
    with pytest.raises(ValueError, match=r"`x` from batch 0 of the DataLoader \(counting from 0\) contains 1 NaN"):
        model.fit(_x(), np.zeros((N, 1), "float32"), validation_data=val, verbose=0)
    assert _same(before, model)


def test_validation_data_list_of_four_arrays_is_refused():
    model = _dense(1)
    model.compile("sgd", "mse")
    x, y = _x(), np.zeros((N, 1), "float32")
    with pytest.raises(ValueError, match=r"`validation_data` must be a tuple .*Received a list of 4"):
        model.fit(x, y, validation_data=[x, y, y[:, 0], y[:, 0]], verbose=0)
