"""Bad input gets a clear error naming what was wrong and how to fix it."""

import numpy as np
import pytest

import lamina
from lamina import layers


def _model(out=3, activation="softmax"):
    return lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(out, activation=activation, name="head")])


def _data(n=20):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n)


def test_unknown_optimizer_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown optimizer name: 'adamm'. Valid names are: .*adam"):
        _model().compile(optimizer="adamm", loss="mse")


def test_unknown_loss_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown loss name: 'cross_entropy'. Valid names are: .*sparse_categorical_crossentropy"):
        _model().compile(optimizer="adam", loss="cross_entropy")


def test_unknown_metric_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown metric name: 'accuracyy'. Valid names are: .*accuracy"):
        _model().compile(optimizer="adam", loss="mse", metrics=["accuracyy"])


def test_metrics_given_as_string_is_explained():
    with pytest.raises(TypeError, match=r"Did you mean metrics=\['accuracy'\]"):
        _model().compile(optimizer="adam", loss="mse", metrics="accuracy")


def test_x_and_y_of_different_lengths():
    x, y = _data()
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Data cardinality is ambiguous: x has 20 samples, y has 19 samples"):
        model.fit(x, y[:19], verbose=0)


def test_wrong_input_width_names_layer_and_both_shapes():
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"layer 'head' \(Dense\).*built for input shape \(None, 4\).*\(None, 5\)"):
        model.fit(np.zeros((8, 5), dtype=np.float32), np.zeros(8, dtype=np.int64), verbose=0)
    with pytest.raises(ValueError, match=r"layer 'head'"):
        model.predict(np.zeros((8, 5), dtype=np.float32), verbose=0)


def test_fit_before_compile():
    x, y = _data()
    with pytest.raises(RuntimeError, match=r"You must call `compile\(\)` before `fit\(\)`"):
        _model().fit(x, y)
    with pytest.raises(RuntimeError, match=r"before `evaluate\(\)`"):
        _model().evaluate(x, y)


def test_nan_in_input_is_caught_before_training_with_count_and_position():
    x, y = _data()
    x[3, 2] = np.nan
    x[7, 0] = np.inf
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"`x` contains 2 NaN or infinite value\(s\); the first is at index \(3, 2\)"):
        model.fit(x, y, verbose=0)
    for a, b in zip(before, model.parameters()):
        assert np.array_equal(a.numpy(), b.detach().numpy())


def test_nan_in_targets_is_caught():
    x = np.ones((5, 4), dtype=np.float32)
    y = np.array([1.0, np.nan, 0.0, 1.0, 0.0], dtype=np.float32)
    model = _model(out=1, activation=None)
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match=r"`y` contains 1 NaN or infinite value\(s\); the first is at index 1"):
        model.fit(x, y, verbose=0)


def test_sparse_labels_out_of_range():
    x, y = _data()
    y[5] = 3
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"must be integers in \[0, 2\].*max=3.*1 value\(s\) out of range, first at index 5"):
        model.fit(x, y, verbose=0)


def test_unknown_fit_argument_and_bad_values():
    x, y = _data()
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="epoch"):
        model.fit(x, y, epoch=3)
    with pytest.raises(ValueError, match=r"`fit` expects `epochs` to be a positive integer. Received: epochs=0"):
        model.fit(x, y, epochs=0)
    with pytest.raises(ValueError, match=r"`fit` expects `batch_size` to be a positive integer. Received: batch_size=-1"):
        model.fit(x, y, batch_size=-1)
    with pytest.raises(ValueError, match=r"`validation_split` to be a number in \[0.0, 1.0\)"):
        model.fit(x, y, validation_split=1.5)


def test_unknown_layer_keyword_argument():
    with pytest.raises(TypeError, match=r"`Dropout` got unexpected keyword argument\(s\): rat\b"):
        layers.Dropout(rate=0.1, rat=0.2)


def test_compile_rejects_unknown_keyword():
    with pytest.raises(TypeError, match=r"`compile` got unexpected keyword argument\(s\): los\b"):
        _model().compile(optimizer="adam", los="mse")


def test_string_data_gets_encoding_hint():
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match=r"must hold numbers; received an array of dtype <U1.*TextVectorization"):
        model.fit(np.array([["a"] * 4] * 3), np.zeros(3), verbose=0)
