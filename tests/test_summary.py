"""`model.summary()`: rows, output shapes, parameter counts and totals."""

from __future__ import annotations

import re

import pytest
import torch

import lamina
from lamina import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    lamina.clear_session()


def _text(model, **kwargs) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append, **kwargs)
    assert len(lines) == 1
    return lines[0]


def _row(text: str, label: str) -> list[str]:
    """The cells of the table row that starts with ``label``."""
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in:\n{text}")


def _totals(text: str) -> dict[str, int]:
    found = dict(re.findall(r"(Total|Trainable|Non-trainable) params: ([\d,]+)", text))
    return {k: int(v.replace(",", "")) for k, v in found.items()}


def test_sequential_summary_rows_and_totals():
    model = lamina.Sequential(
        [lamina.Input(shape=(64,)), layers.Dense(32, activation="relu", name="hidden"), layers.Dense(10, name="logits")],
        name="mlp",
    )
    text = _text(model)
    assert 'Model: "mlp"' in text
    assert _row(text, "hidden (Dense)") == ["hidden (Dense)", "(None, 32)", "2,080"]
    assert _row(text, "logits (Dense)") == ["logits (Dense)", "(None, 10)", "330"]
    assert "Connected to" not in text
    total = sum(p.numel() for p in model.parameters())
    assert _totals(text) == {"Total": total, "Trainable": total, "Non-trainable": 0} == {
        "Total": 2410, "Trainable": 2410, "Non-trainable": 0}
    assert "Total params: 2,410 (9.41 KB)" in text


def test_summary_counts_batchnorm_moving_stats_as_non_trainable():
    model = lamina.Sequential([lamina.Input(shape=(5, 4)), layers.Dense(6), layers.BatchNormalization(name="bn")])
    text = _text(model)
    assert _row(text, "bn (BatchNormalization)") == ["bn (BatchNormalization)", "(None, 5, 6)", "24"]
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    assert buffers == 12
    assert _totals(text) == {"Total": params + buffers, "Trainable": params, "Non-trainable": buffers}


def test_summary_shows_free_axes_as_none():
    model = lamina.Sequential([lamina.Input(shape=(None, 3)), layers.Dense(2, name="proj")])
    assert _row(_text(model), "proj (Dense)")[1] == "(None, None, 2)"


def test_functional_summary_has_connected_to_and_counts_shared_layers_once():
    left, right = lamina.Input(shape=(5,), name="left"), lamina.Input(shape=(5,), name="right")
    shared = layers.Dense(3, name="shared")
    merged = layers.Add(name="plus")([shared(left), shared(right)])
    model = lamina.Model([left, right], layers.Dense(1, name="out")(merged))
    text = _text(model)
    assert _row(text, "left (InputLayer)") == ["left (InputLayer)", "(None, 5)", "0", "-"]
    assert _row(text, "shared (Dense)") == ["shared (Dense)", "(None, 3), (None, 3)", "18", "left[0][0], right[0][0]"]
    assert _row(text, "plus (Add)") == ["plus (Add)", "(None, 3)", "0", "shared[0][0], shared[1][0]"]
    assert _row(text, "out (Dense)")[1:] == ["(None, 1)", "4", "plus[0][0]"]
    assert _totals(text)["Total"] == sum(p.numel() for p in model.parameters()) == 22


def test_summary_expand_nested_and_show_trainable():
    inner = lamina.Sequential([layers.Dense(4, name="inner_dense")], name="inner")
    inputs = lamina.Input(shape=(3,), name="x")
    model = lamina.Model(inputs, layers.Dense(1, name="head")(inner(inputs)))
    inner.trainable = False
    flat = _text(model, show_trainable=True)
    assert "inner_dense" not in flat
    assert _row(flat, "inner (Sequential)") == ["inner (Sequential)", "(None, 4)", "16", "x[0][0]", "N"]
    assert _row(flat, "head (Dense)")[-1] == "Y"
    assert _row(flat, "x (InputLayer)")[-1] == "-"
    nested = _text(model, expand_nested=True)
    assert _row(nested, "└ inner_dense (Dense)")[:3] == ["└ inner_dense (Dense)", "(None, 4)", "16"]
    assert _totals(nested) == {"Total": 21, "Trainable": 5, "Non-trainable": 16}


def test_summary_of_subclassed_model_after_it_has_run():
    class Net(lamina.Model):
        def __init__(self) -> None:
            super().__init__(name="net")
            self.body = layers.Dense(8, name="body")
            self.proj = torch.nn.Linear(8, 2)

        def call(self, inputs, training=None):
            return self.proj(self.body(inputs))

    net = Net()
    with pytest.raises(ValueError, match=r"Model 'net' is not built yet.*`lamina.Input\(shape=...\)`.*build"):
        net.summary()
    net(torch.randn(4, 3))
    text = _text(net)
    assert _row(text, "body (Dense)") == ["body (Dense)", "(None, 8)", "32"]
    assert _row(text, "proj (Linear)") == ["proj (Linear)", "(None, 2)", "18"]


def test_summary_of_unbuilt_sequential_raises_and_works_after_build():
    model = lamina.Sequential([layers.Dense(4, name="d")])
    with pytest.raises(ValueError, match=r"is not built yet.*Received: a model that has not seen any data.*"
                       r"`lamina.Input\(shape=...\)`, or call `model.build\(input_shape\)` or `fit`"):
        model.summary()
    model.build((None, 6))
    assert _row(_text(model), "d (Dense)") == ["d (Dense)", "(None, 4)", "28"]


def test_summary_prints_to_the_console(capsys):
    model = lamina.Sequential([lamina.Input(shape=(2,)), layers.Dense(1, name="only")])
    assert model.summary(line_length=80) is None
    out = capsys.readouterr().out
    assert "only (Dense)" in out and "Total params: 3" in out


def test_summary_argument_errors():
    model = lamina.Sequential([lamina.Input(shape=(2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"`summary` expects `line_length` to be a positive integer. Received: line_length=0"):
        model.summary(line_length=0)
    with pytest.raises(TypeError, match=r"`print_fn` to be a function.*Received: print_fn='stdout'"):
        model.summary(print_fn="stdout")
