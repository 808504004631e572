"""The TensorBoard callback writes real event files; read them back with TensorBoard's reader."""

from __future__ import annotations

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lamina


def _data(n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return x, y


def _model() -> lamina.Model:
    lamina.set_seed(0)
    model = lamina.Sequential([
        lamina.Input(shape=(4,)),
        lamina.layers.Dense(8, activation="relu"),
        lamina.layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _read(path) -> EventAccumulator:
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def _scalars(acc: EventAccumulator, tag: str) -> tuple[list[int], list[float]]:
    events = acc.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


def test_tensorboard_epoch_scalars_equal_history(tmp_path):
    x, y = _data()
    model = _model()
    tb = lamina.callbacks.TensorBoard(log_dir=tmp_path, histogram_freq=2)
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0, callbacks=[tb])

    train = _read(tmp_path / "train")
    val = _read(tmp_path / "validation")
    tags = train.Tags()["scalars"]
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(tags)
    assert not any(t.startswith("batch_") for t in tags)  # update_freq="epoch"
    for name in ("loss", "accuracy"):
        steps, values = _scalars(train, f"epoch_{name}")
        assert steps == [0, 1, 2]
        assert values == pytest.approx(history.history[name], rel=1e-6)
        steps, values = _scalars(val, f"epoch_{name}")
        assert steps == [0, 1, 2]
        assert values == pytest.approx(history.history[f"val_{name}"], rel=1e-6)
    assert _scalars(train, "epoch_learning_rate")[1] == pytest.approx([0.01] * 3)
    # The learning rate is written, not added to the user's logs.
    assert "learning_rate" not in history.history

    # Weight histograms every 2 epochs: epochs 0 and 2.
    hist_tags = train.Tags()["histograms"]
    names = [name for name, _ in model.named_parameters()]
    assert sorted(hist_tags) == sorted(f"{n}/histogram" for n in names)
    kernel = names[0]
    events = train.Histograms(f"{kernel}/histogram")
    assert [e.step for e in events] == [0, 2]
    weights = dict(model.named_parameters())[kernel].detach().cpu().numpy()
    last = events[-1].histogram_value
    assert last.num == weights.size
    assert last.min == pytest.approx(weights.min()) and last.max == pytest.approx(weights.max())
    assert last.sum == pytest.approx(weights.sum(), abs=1e-4)


def test_tensorboard_batch_scalars_every_n_steps_and_logged_learning_rate(tmp_path):
    x, y = _data()  # 96 samples, batch 16 -> 6 steps per epoch
    model = _model()
    seen = []

    def record(batch, logs):
        seen.append(logs["loss"])

    reduce = lamina.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))
    tb = lamina.callbacks.TensorBoard(log_dir=str(tmp_path), update_freq=4)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[lamina.callbacks.LambdaCallback(on_train_batch_end=record), reduce, tb])
    train = _read(tmp_path / "train")
    steps, values = _scalars(train, "batch_loss")
    assert steps == [4, 8, 12]
    # The running mean of the epoch so far, as the batch logs give it.
    assert values == pytest.approx([seen[3], seen[7], seen[11]], rel=1e-6)
    assert _scalars(train, "batch_accuracy")[0] == [4, 8, 12]
    assert _scalars(train, "epoch_learning_rate")[1] == pytest.approx([0.01, 0.005])
    assert not (tmp_path / "validation").exists()  # no validation data, no validation run


def test_tensorboard_evaluate_writes_evaluation_scalars(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)  # 3 steps
    tb = lamina.callbacks.TensorBoard(log_dir=tmp_path)
    logs = model.evaluate(x, y, verbose=0, callbacks=[tb], return_dict=True)
    tb.on_train_end()  # closes the writers
    steps, values = _scalars(_read(tmp_path / "validation"), "evaluation_loss_vs_iterations")
    assert steps == [3] and values == pytest.approx([logs["loss"]], rel=1e-6)


def test_tensorboard_write_graph(tmp_path):
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[lamina.callbacks.TensorBoard(tmp_path, write_graph=True)])
    acc = _read(tmp_path / "train")
    assert acc.Tags()["graph"] is True
    graph = acc.Graph()
    assert any("Dense" in node.name or "linear" in node.op.lower() for node in graph.node)


def test_tensorboard_rejects_unsupported_and_bad_arguments(tmp_path):
    # Keras's "off" values port unchanged.
    lamina.callbacks.TensorBoard(tmp_path, write_images=False, profile_batch=0, embeddings_freq=0)
    with pytest.raises(ValueError, match=r"`TensorBoard` does not implement `profile_batch` .* Received: profile_batch=\(10, 20\)\. Remove it or pass profile_batch=0"):
        lamina.callbacks.TensorBoard(tmp_path, profile_batch=(10, 20))
    with pytest.raises(TypeError, match=r"`TensorBoard` got unexpected keyword argument\(s\): histogram"):
        lamina.callbacks.TensorBoard(tmp_path, histogram=1)
    with pytest.raises(ValueError, match=r"`update_freq` to be 'epoch', 'batch' or a positive integer .* Received: update_freq='step'"):
        lamina.callbacks.TensorBoard(tmp_path, update_freq="step")
    with pytest.raises(ValueError, match=r"`TensorBoard` expects `histogram_freq` to be an integer >= 0\. Received: histogram_freq=-1"):
        lamina.callbacks.TensorBoard(tmp_path, histogram_freq=-1)
