"""Losses checked against plain PyTorch on the same data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import losses


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.fixture
def no_host_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if code reads a tensor value on the host."""

    def refuse(*args, **kwargs):
        raise AssertionError("host sync: a tensor value was read on the host")

    for name in ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, refuse)


def _binary_data(gen, shape=(16, 3)):
    y = torch.randint(0, 2, shape, generator=gen).float()
    logits = torch.randn(shape, generator=gen) * 3
    return y, logits


# --------------------------------------------------------------------------- functions


def test_binary_crossentropy_matches_torch_on_probabilities(gen):
    y, logits = _binary_data(gen)
    p = torch.sigmoid(logits)
    expected = F.binary_cross_entropy(p, y, reduction="none").mean(-1)
    torch.testing.assert_close(losses.binary_crossentropy(y, p), expected, rtol=1e-4, atol=1e-5)


def test_binary_crossentropy_matches_torch_on_logits(gen):
    y, logits = _binary_data(gen)
    expected = F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(-1)
    torch.testing.assert_close(losses.binary_crossentropy(y, logits, from_logits=True), expected)


def test_binary_crossentropy_label_smoothing(gen):
    y, logits = _binary_data(gen)
    smoothed = y * 0.8 + 0.1
    expected = F.binary_cross_entropy_with_logits(logits, smoothed, reduction="none").mean(-1)
    got = losses.binary_crossentropy(y, logits, from_logits=True, label_smoothing=0.2)
    torch.testing.assert_close(got, expected)


def test_binary_crossentropy_stays_finite_at_extremes():
    y = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
    p = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    loss = losses.binary_crossentropy(y, p)
    assert torch.isfinite(loss).all()
    # log(1e-7) is the cap, as in Keras.
    assert loss[0] == pytest.approx(-np.log(1e-7), rel=1e-3)
    logits = torch.tensor([[1000.0], [-1000.0]])
    assert torch.isfinite(
        losses.binary_crossentropy(torch.tensor([[0.0], [1.0]]), logits, True)
    ).all()


def test_binary_crossentropy_trailing_axis_of_one_is_aligned(gen):
    y, logits = _binary_data(gen, (16, 1))
    a = losses.binary_crossentropy(y, logits, from_logits=True)
    b = losses.binary_crossentropy(y.squeeze(-1), logits, from_logits=True)
    c = losses.binary_crossentropy(y, logits.squeeze(-1), from_logits=True)
    assert a.shape == (16,)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


def test_categorical_crossentropy_matches_torch_on_logits(gen):
    logits = torch.randn(16, 5, generator=gen)
    labels = torch.randint(0, 5, (16,), generator=gen)
    onehot = F.one_hot(labels, 5).float()
    expected = F.cross_entropy(logits, labels, reduction="none")
    torch.testing.assert_close(
        losses.categorical_crossentropy(onehot, logits, from_logits=True), expected
    )


def test_categorical_crossentropy_matches_torch_on_probabilities(gen):
    logits = torch.randn(16, 5, generator=gen)
    labels = torch.randint(0, 5, (16,), generator=gen)
    onehot = F.one_hot(labels, 5).float()
    expected = F.cross_entropy(logits, labels, reduction="none")
    got = losses.categorical_crossentropy(onehot, torch.softmax(logits, -1))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_categorical_crossentropy_normalises_unnormalised_probabilities(gen):
    p = torch.rand(8, 4, generator=gen) + 0.1
    y = F.one_hot(torch.randint(0, 4, (8,), generator=gen), 4).float()
    torch.testing.assert_close(
        losses.categorical_crossentropy(y, p * 3.0), losses.categorical_crossentropy(y, p)
    )


def test_categorical_crossentropy_label_smoothing_matches_torch(gen):
    logits = torch.randn(16, 5, generator=gen)
    labels = torch.randint(0, 5, (16,), generator=gen)
    onehot = F.one_hot(labels, 5).float()
    expected = F.cross_entropy(logits, labels, reduction="none", label_smoothing=0.1)
    got = losses.categorical_crossentropy(onehot, logits, from_logits=True, label_smoothing=0.1)
    torch.testing.assert_close(got, expected)


def test_categorical_crossentropy_sequence_is_averaged_per_sample(gen):
    logits = torch.randn(4, 7, 3, generator=gen)
    labels = torch.randint(0, 3, (4, 7), generator=gen)
    onehot = F.one_hot(labels, 3).float()
    per_step = F.cross_entropy(logits.movedim(-1, 1), labels, reduction="none")
    # The function keeps Keras's shape (batch, steps); the Loss class averages per sample.
    torch.testing.assert_close(losses.categorical_crossentropy(onehot, logits, True), per_step)
    loss = losses.CategoricalCrossentropy(from_logits=True, reduction=None)
    torch.testing.assert_close(loss(onehot, logits), per_step.mean(1))


def test_loss_functions_reduce_the_last_axis_only_as_keras(gen):
    # Keras's loss functions take the mean (or the class sum) over the last axis:
    # images of shape (batch, h, w, 1) give (batch, h, w).
    y = torch.rand(2, 5, 4, 1, generator=gen)
    p = torch.rand(2, 5, 4, 1, generator=gen).clamp(0.05, 0.95)
    bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean(-1)
    torch.testing.assert_close(losses.binary_crossentropy(y, p), bce)
    torch.testing.assert_close(losses.mean_squared_error(y, p), ((y - p) ** 2).mean(-1))
    torch.testing.assert_close(losses.mean_absolute_error(y, p), (y - p).abs().mean(-1))
    assert losses.huber(y, p).shape == (2, 5, 4)
    assert losses.sparse_categorical_crossentropy(torch.zeros(2, 5, dtype=torch.long),
                                                  torch.rand(2, 5, 3, generator=gen)).shape == (2, 5)
    # A (batch,) input keeps one value per sample; classes and metrics still average per sample.
    assert losses.mean_squared_error(torch.zeros(3), torch.ones(3)).shape == (3,)
    torch.testing.assert_close(losses.BinaryCrossentropy(reduction=None)(y, p), bce.flatten(1).mean(1))
    metric = lamina.metrics.MeanSquaredError()
    metric.update_state(y, p, sample_weight=torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(metric.result(), ((y[0] - p[0]) ** 2).mean())


def test_sparse_categorical_crossentropy_matches_torch(gen):
    logits = torch.randn(16, 10, generator=gen) * 5
    labels = torch.randint(0, 10, (16,), generator=gen)
    expected = F.cross_entropy(logits, labels, reduction="none")
    torch.testing.assert_close(
        losses.sparse_categorical_crossentropy(labels, logits, from_logits=True), expected
    )
    torch.testing.assert_close(
        losses.sparse_categorical_crossentropy(labels.view(-1, 1), logits, from_logits=True),
        expected,
    )
    # Probabilities are clamped at 1e-7 (as Keras does), so compare on moderate logits.
    logits = logits / 5
    expected = F.cross_entropy(logits, labels, reduction="none")
    got = losses.sparse_categorical_crossentropy(labels.float(), torch.softmax(logits, -1))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_sparse_categorical_crossentropy_ignore_class_averages_valid_positions(gen):
    logits = torch.randn(3, 6, 4, generator=gen)
    labels = torch.randint(0, 4, (3, 6), generator=gen)
    labels[0, :3] = -1
    labels[2, :] = -1
    got = losses.sparse_categorical_crossentropy(labels, logits, from_logits=True, ignore_class=-1)
    elementwise = F.cross_entropy(logits.movedim(-1, 1), labels, reduction="none", ignore_index=-1)
    valid = (labels != -1).float()
    expected = elementwise.sum(1) / valid.sum(1).clamp_min(1)
    torch.testing.assert_close(got, expected)
    assert got[2] == 0
    # The class averages over the valid positions of the whole batch, as Keras does.
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    torch.testing.assert_close(loss(labels, logits), elementwise.sum() / valid.sum())


def test_regression_losses_match_torch(gen):
    y = torch.randn(16, 3, generator=gen)
    p = torch.randn(16, 3, generator=gen) * 2
    torch.testing.assert_close(
        losses.mean_squared_error(y, p), F.mse_loss(p, y, reduction="none").mean(-1)
    )
    torch.testing.assert_close(
        losses.mean_absolute_error(y, p), F.l1_loss(p, y, reduction="none").mean(-1)
    )
    torch.testing.assert_close(
        losses.huber(y, p, delta=0.7), F.huber_loss(p, y, reduction="none", delta=0.7).mean(-1)
    )


def test_huber_matches_keras_formula():
    err = torch.tensor([[0.5], [3.0]])
    got = losses.huber(torch.zeros(2, 1), err, delta=1.0)
    torch.testing.assert_close(got, torch.tensor([0.125, 2.5]))


def test_kl_divergence_matches_torch(gen):
    p = torch.softmax(torch.randn(8, 5, generator=gen), -1)
    q = torch.softmax(torch.randn(8, 5, generator=gen), -1)
    expected = F.kl_div(q.log(), p, reduction="none").sum(-1)
    torch.testing.assert_close(losses.kl_divergence(p, q), expected, rtol=1e-4, atol=1e-6)


def test_losses_accept_numpy_and_half_precision(gen):
    y = np.array([[1.0], [0.0]], dtype=np.float32)
    p = torch.tensor([[0.9], [0.2]], dtype=torch.float16)
    out = losses.binary_crossentropy(y, p)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_losses_give_gradients(gen):
    logits = torch.randn(8, 3, generator=gen, requires_grad=True)
    labels = torch.randint(0, 3, (8,), generator=gen)
    losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


# --------------------------------------------------------------------------- shape errors


def test_regression_shape_mismatch_error_names_loss_and_shapes():
    with pytest.raises(
        ValueError, match=r"`mean_squared_error`.*y_true.shape=\(32, 2\), y_pred.shape=\(32, 3\)"
    ):
        losses.mean_squared_error(torch.zeros(32, 2), torch.zeros(32, 3))
    with pytest.raises(ValueError, match=r"`binary_crossentropy`.*\(32,\).*\(16, 1\)"):
        losses.binary_crossentropy(torch.zeros(32), torch.zeros(16, 1))


def test_regression_losses_broadcast_same_rank_shapes_as_keras_with_a_warning():
    # Keras computes mean((y_pred - y_true) ** 2, axis=-1) on the broadcast shapes.
    y_true = np.arange(12, dtype="float32").reshape(4, 3) / 10
    y_pred = np.array([[0.5], [1.0], [0.0], [2.0]], dtype="float32")
    with pytest.warns(UserWarning, match=r"`mean_squared_error`.*\(4, 3\).*\(4, 1\).*broadcast"):
        got = losses.mean_squared_error(torch.tensor(y_true), torch.tensor(y_pred))
    np.testing.assert_allclose(got.numpy(), ((y_pred - y_true) ** 2).mean(axis=-1), rtol=1e-6)
    with pytest.warns(UserWarning, match="mean_absolute_error"):
        got = losses.MeanAbsoluteError()(torch.tensor(y_true), torch.tensor(y_pred))
    np.testing.assert_allclose(float(got), np.abs(y_pred - y_true).mean(), rtol=1e-6)


def test_categorical_crossentropy_integer_labels_error_suggests_sparse():
    with pytest.raises(ValueError, match=r"y_true.shape=\(32,\).*sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(torch.zeros(32), torch.rand(32, 10))


def test_sparse_categorical_crossentropy_one_hot_labels_error_suggests_categorical():
    with pytest.raises(ValueError, match=r"looks one-hot.*categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(torch.zeros(8, 10), torch.rand(8, 10))


# --------------------------------------------------------------------------- label checks


def test_check_sparse_labels_reports_count_and_first_index():
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 10, 9, 8])
    with pytest.raises(ValueError) as info:
        losses.check_sparse_labels(labels, 10)
    msg = str(info.value)
    assert "must be integers in [0, 9] (the model outputs 10 classes)" in msg
    assert "min=0, max=10 (1 value(s) out of range, first at index 7)" in msg
    assert "give the last layer more units" in msg


def test_check_sparse_labels_negative_labels():
    with pytest.raises(
        ValueError, match=r"min=-1, max=2 \(2 value\(s\) out of range, first at index 1\)"
    ):
        losses.check_sparse_labels(torch.tensor([[0], [-1], [2], [-1]]), 3)


def test_check_sparse_labels_rejects_non_integer_floats():
    with pytest.raises(
        ValueError, match=r"must be integers.*1 non-integer value\(s\), first at index 2"
    ):
        losses.check_sparse_labels(np.array([0.0, 1.0, 0.5]), 3)
    losses.check_sparse_labels(np.array([0.0, 1.0, 2.0]), 3)  # whole floats are fine


def test_check_sparse_labels_rejects_one_hot():
    with pytest.raises(ValueError, match="look one-hot encoded"):
        losses.check_sparse_labels(np.eye(4)[[0, 1, 2]], 4)


def test_check_sparse_labels_allows_ignore_class():
    losses.check_sparse_labels(torch.tensor([0, 1, 255, 2]), 3, ignore_class=255)


# --------------------------------------------------------------------------- classes


def test_loss_reductions_with_sample_weight(gen):
    y = torch.randn(8, 2, generator=gen)
    p = torch.randn(8, 2, generator=gen)
    w = torch.rand(8, generator=gen)
    per_sample = F.mse_loss(p, y, reduction="none").mean(-1)
    torch.testing.assert_close(losses.MeanSquaredError()(y, p), per_sample.mean())
    torch.testing.assert_close(
        losses.MeanSquaredError()(y, p, sample_weight=w), (per_sample * w).sum() / 8
    )
    torch.testing.assert_close(
        losses.MeanSquaredError()(y, p, sample_weight=w.view(-1, 1)), (per_sample * w).sum() / 8
    )
    torch.testing.assert_close(
        losses.MeanSquaredError(reduction="sum")(y, p, w), (per_sample * w).sum()
    )
    torch.testing.assert_close(losses.MeanSquaredError(reduction="none")(y, p, w), per_sample * w)
    torch.testing.assert_close(
        losses.MeanSquaredError(reduction="mean_with_sample_weight")(y, p, w),
        (per_sample * w).sum() / w.sum(),
    )


def test_loss_class_matches_torch_weighted_crossentropy(gen):
    logits = torch.randn(16, 4, generator=gen)
    labels = torch.randint(0, 4, (16,), generator=gen)
    w = torch.rand(16, generator=gen)
    expected = (F.cross_entropy(logits, labels, reduction="none") * w).sum() / 16
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    torch.testing.assert_close(loss(labels, logits, sample_weight=w), expected)


def test_loss_bad_sample_weight_shape_error():
    with pytest.raises(
        ValueError, match=r"`sample_weight`.*batch=4.*Received: sample_weight.shape=\(3,\)"
    ):
        losses.MeanAbsoluteError()(torch.zeros(4), torch.zeros(4), sample_weight=torch.ones(3))


def test_loss_per_step_path_does_not_sync(gen, no_host_sync):
    logits = torch.randn(8, 3, generator=gen)
    probs = torch.softmax(logits, -1)
    labels = torch.randint(0, 3, (8,), generator=gen)
    onehot = F.one_hot(labels, 3).float()
    w = torch.rand(8, generator=gen)
    cases = [
        (losses.SparseCategoricalCrossentropy(from_logits=True), labels, logits),
        (losses.SparseCategoricalCrossentropy(ignore_class=0), labels.view(-1, 1), probs),
        (losses.CategoricalCrossentropy(label_smoothing=0.1), onehot, probs),
        (losses.CategoricalCrossentropy(from_logits=True), onehot, logits),
        (losses.BinaryCrossentropy(), onehot[:, :1], probs[:, 0]),
        (losses.BinaryCrossentropy(from_logits=True), onehot, logits),
        (losses.Huber(), onehot, logits),
        (losses.MeanAbsoluteError(reduction="mean_with_sample_weight"), onehot, logits),
        (losses.KLDivergence(), onehot, probs),
    ]
    for loss, y, pred in cases:
        assert loss(y, pred, sample_weight=w).shape == ()


def test_loss_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"`reduction`.*Received: reduction='avg'"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"`label_smoothing`.*Received: label_smoothing=1.5"):
        losses.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(TypeError, match="from_logits"):
        losses.CategoricalCrossentropy(from_logits="yes")
    with pytest.raises(ValueError, match="delta"):
        losses.Huber(delta=0)


LOSS_CASES = [
    (losses.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.1}, "binary"),
    (losses.CategoricalCrossentropy, {"label_smoothing": 0.2}, "onehot"),
    (losses.SparseCategoricalCrossentropy, {"from_logits": True, "ignore_class": 2}, "sparse"),
    (losses.MeanSquaredError, {}, "regression"),
    (losses.MeanAbsoluteError, {"reduction": "sum"}, "regression"),
    (losses.Huber, {"delta": 2.0}, "regression"),
    (losses.KLDivergence, {"name": "kl"}, "onehot"),
    (losses.LossFunctionWrapper, {"fn": losses.huber, "delta": 0.5}, "regression"),
    (losses.Hinge, {}, "binary"),
    (losses.SquaredHinge, {"reduction": "sum"}, "binary"),
    (losses.CategoricalHinge, {}, "onehot"),
    (losses.LogCosh, {}, "regression"),
    (losses.Poisson, {}, "onehot"),
    (losses.CosineSimilarity, {"axis": -1}, "regression"),
    (losses.MeanAbsolutePercentageError, {}, "regression"),
    (losses.MeanSquaredLogarithmicError, {}, "onehot"),
    (
        losses.BinaryFocalCrossentropy,
        {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "from_logits": True},
        "binary",
    ),
    (losses.CategoricalFocalCrossentropy, {"alpha": [0.2, 0.3, 0.1, 0.4]}, "onehot"),
    (losses.Dice, {"axis": [1]}, "onehot"),
    (losses.Tversky, {"alpha": 0.7, "beta": 0.3, "axis": -1}, "onehot"),
    (losses.CTC, {"reduction": "sum"}, "ctc"),
]


def _targets_for(family, gen):
    probs = torch.softmax(torch.randn(6, 4, generator=gen), -1)
    labels = torch.randint(0, 4, (6,), generator=gen)
    if family == "binary":
        return (labels > 1).float().view(-1, 1), probs[:, :1]
    if family == "onehot":
        return F.one_hot(labels, 4).float(), probs
    if family == "sparse":
        return labels, probs
    if family == "ctc":  # labels 1..3 (0 is the blank), logits over 5 time steps
        return torch.randint(1, 4, (6, 3), generator=gen), torch.randn(6, 5, 4, generator=gen)
    return torch.randn(6, 4, generator=gen), probs


@pytest.mark.parametrize("cls, kwargs, family", LOSS_CASES, ids=[c[0].__name__ for c in LOSS_CASES])
def test_loss_contract(cls, kwargs, family, gen):
    loss = cls(**kwargs)
    assert isinstance(loss.name, str)
    assert loss.kind in {
        None,
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "regression",
    }
    y, p = _targets_for(family, gen)
    per_sample = loss.call(y, p)
    assert per_sample.shape == (6,)
    value = loss(y, p)
    assert value.shape == ()
    # The config is JSON-able and rebuilds an equal loss.
    config = json.loads(json.dumps(losses.serialize(loss)))
    clone = losses.deserialize(config)
    assert type(clone) is cls
    assert clone.get_config() == loss.get_config()
    torch.testing.assert_close(clone(y, p), value)
    if cls is not losses.LossFunctionWrapper:
        assert cls.from_config(loss.get_config()).get_config() == loss.get_config()


def test_loss_kind_identifies_family():
    assert losses.get("bce").kind == "binary_crossentropy"
    assert losses.get("categorical_crossentropy").kind == "categorical_crossentropy"
    assert losses.get("sparse_categorical_crossentropy").kind == "sparse_categorical_crossentropy"
    assert losses.get("mse").kind == "regression"
    assert losses.get(losses.binary_crossentropy).kind == "binary_crossentropy"
    assert losses.get(lambda y, p: (y - p).abs()).kind is None
    assert losses.BinaryCrossentropy(from_logits=True).from_logits is True


# --------------------------------------------------------------------------- get / serialize


@pytest.mark.parametrize(
    "name, cls",
    [
        ("mse", losses.MeanSquaredError),
        ("mean_squared_error", losses.MeanSquaredError),
        ("MAE", losses.MeanAbsoluteError),
        ("mean_absolute_error", losses.MeanAbsoluteError),
        ("bce", losses.BinaryCrossentropy),
        ("binary_crossentropy", losses.BinaryCrossentropy),
        ("categorical_crossentropy", losses.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
        ("huber", losses.Huber),
        ("kld", losses.KLDivergence),
        ("kl_divergence", losses.KLDivergence),
        ("MeanSquaredError", losses.MeanSquaredError),
    ],
)
def test_get_resolves_names(name, cls):
    assert type(losses.get(name)) is cls


def test_get_passes_instances_and_none_through():
    loss = losses.Huber(delta=3.0)
    assert losses.get(loss) is loss
    assert losses.get(None) is None
    assert type(losses.get(losses.Huber)) is losses.Huber


def test_get_wraps_plain_callable(gen):
    def my_loss(y_true, y_pred):
        return ((y_true - y_pred) ** 2).sum(-1)

    loss = losses.get(my_loss)
    assert isinstance(loss, losses.LossFunctionWrapper)
    assert loss.name == "my_loss"
    y, p = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)
    torch.testing.assert_close(loss(y, p), my_loss(y, p).mean())
    restored = losses.deserialize(losses.serialize(loss), custom_objects={"my_loss": my_loss})
    torch.testing.assert_close(restored(y, p), loss(y, p))


def test_get_wraps_torch_loss_module_in_torch_argument_order(gen):
    logits = torch.randn(8, 3, generator=gen)
    labels = torch.randint(0, 3, (8,), generator=gen)
    loss = losses.get(torch.nn.CrossEntropyLoss(reduction="none"))
    torch.testing.assert_close(loss(labels, logits), F.cross_entropy(logits, labels))


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown loss name: 'msee'.*Valid names are:.*mae.*mse"):
        losses.get("msee")
    with pytest.raises(TypeError, match="loss name"):
        losses.get(3)


def test_deserialize_unknown_class_is_refused():
    with pytest.raises(ValueError, match=r"Unknown loss class: 'os.system'.*custom_objects"):
        losses.deserialize({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match="Unknown loss function name"):
        losses.deserialize({"class_name": "LossFunctionWrapper", "config": {"fn": "evil"}})


def test_serialize_none_is_none():
    assert losses.serialize(None) is None
    assert losses.deserialize(None) is None
