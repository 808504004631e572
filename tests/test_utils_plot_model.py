"""`plot_model` writes a real image of the layer graph; `Progbar` and `set_random_seed`."""

import numpy as np
import pytest
import torch
from PIL import Image

import lamina
from lamina import utils


def _read(path):
    img = Image.open(path).convert("L")
    return np.asarray(img)


def test_plot_model_sequential_png(tmp_path):
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(8, activation="relu"),
                               lamina.layers.Dense(2)])
    out = tmp_path / "seq.png"
    utils.plot_model(model, to_file=out, show_shapes=True, dpi=50)
    pixels = _read(out)
    assert pixels.shape[0] > pixels.shape[1]  # top to bottom: taller than wide
    assert (pixels < 128).mean() > 0.005 and (pixels > 200).mean() > 0.5  # drawn, not blank


def test_plot_model_functional_branches_and_rankdir(tmp_path):
    inputs = lamina.Input(shape=(4,))
    a = lamina.layers.Dense(3, name="left")(inputs)
    b = lamina.layers.Dense(3, name="right")(inputs)
    outputs = lamina.layers.Add()([a, b])
    model = lamina.Model(inputs, outputs)
    dot = utils.model_to_dot(model, show_shapes=True)
    assert dot.count("->") == 4 and "left (Dense)" in dot and "(None, 3)" in dot
    tall, wide = tmp_path / "tb.png", tmp_path / "lr.png"
    utils.plot_model(model, to_file=tall, dpi=40)
    utils.plot_model(model, to_file=wide, rankdir="LR", dpi=40)
    assert _read(tall).shape[0] > _read(wide).shape[0]


def test_plot_model_errors(tmp_path):
    model = lamina.Sequential([lamina.layers.Dense(2)])
    with pytest.raises(ValueError, match="needs a built model"):
        utils.plot_model(model, to_file=tmp_path / "m.png")
    built = lamina.Sequential([lamina.Input(shape=(2,)), lamina.layers.Dense(2)])
    with pytest.raises(ValueError, match="Received: rankdir='BT'"):
        utils.plot_model(built, to_file=tmp_path / "m.png", rankdir="BT")


def test_set_random_seed_repeats_torch_and_numpy():
    utils.set_random_seed(5)
    a = (torch.rand(3), np.random.rand(3))
    utils.set_random_seed(5)
    b = (torch.rand(3), np.random.rand(3))
    torch.testing.assert_close(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_progbar_averages_values_and_prints_final_line(capsys):
    bar = utils.Progbar(4, verbose=2, stateful_metrics=["acc"])
    for i, (loss, acc) in enumerate([(4.0, 0.1), (2.0, 0.2), (2.0, 0.3), (0.0, 0.9)]):
        bar.update(i + 1, values=[("loss", loss), ("acc", acc)])
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("4/4 [")
    assert "loss: 2.0000" in out and "acc: 0.9000" in out
