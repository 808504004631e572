"""The Keras losses beyond crossentropy / MSE: NumPy or PyTorch as the oracle,
plus the values printed in Keras' own documentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lamina import losses

EPS = 1e-7


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _close(got: torch.Tensor, expected, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    np.testing.assert_allclose(got.detach().numpy(), np.asarray(expected), rtol=rtol, atol=atol)


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


# --------------------------------------------------------------------------- NumPy oracles


def test_hinge_family_match_numpy(rng):
    y01 = rng.integers(0, 2, (8, 3)).astype(np.float32)
    pred = rng.normal(size=(8, 3)).astype(np.float32)
    ypm = 2 * y01 - 1
    _close(losses.hinge(_t(y01), _t(pred)), np.maximum(1 - ypm * pred, 0).mean(-1))
    _close(losses.hinge(_t(ypm), _t(pred)), np.maximum(1 - ypm * pred, 0).mean(-1))
    _close(losses.squared_hinge(_t(y01), _t(pred)), (np.maximum(1 - ypm * pred, 0) ** 2).mean(-1))
    onehot = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    pos = (onehot * pred).sum(-1)
    neg = ((1 - onehot) * pred).max(-1)
    _close(losses.categorical_hinge(_t(onehot), _t(pred)), np.maximum(neg - pos + 1, 0))


def test_hinge_keeps_non_binary_targets(rng):
    y = np.array([[0.5, -1.0]], dtype=np.float32)  # not all 0/1: used as given
    pred = np.array([[0.2, 0.3]], dtype=np.float32)
    _close(losses.hinge(_t(y), _t(pred)), np.maximum(1 - y * pred, 0).mean(-1))


def test_regression_losses_match_numpy(rng):
    y = rng.uniform(0.0, 3.0, (6, 4)).astype(np.float32)
    p = rng.uniform(0.0, 3.0, (6, 4)).astype(np.float32)
    _close(losses.log_cosh(_t(y), _t(p)), np.log(np.cosh(p - y)).mean(-1))
    _close(losses.poisson(_t(y), _t(p)), (p - y * np.log(p + EPS)).mean(-1))
    _close(
        losses.mean_absolute_percentage_error(_t(y), _t(p)),
        100 * (np.abs(y - p) / np.maximum(np.abs(y), EPS)).mean(-1),
        rtol=1e-4,
    )
    _close(
        losses.mean_squared_logarithmic_error(_t(y), _t(p)),
        ((np.log1p(np.maximum(p, EPS)) - np.log1p(np.maximum(y, EPS))) ** 2).mean(-1),
    )
    norm = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)  # noqa: E731
    _close(losses.cosine_similarity(_t(y), _t(p)), -(norm(y) * norm(p)).sum(-1))


def test_log_cosh_is_stable_for_large_errors():
    value = losses.log_cosh(torch.zeros(1, 1), torch.tensor([[1000.0]]))
    _close(value, [1000.0 - np.log(2.0)])


def test_cosine_similarity_axis_and_zero_vectors():
    y = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    p = torch.tensor([[[2.0, 0.0], [1.0, 1.0]]])
    # Along the last axis: -1 for the aligned pair, 0 for the zero vector; mean -0.5.
    _close(losses.cosine_similarity(y, p), [[-1.0, 0.0]])  # Keras's shape: (batch, steps)
    _close(losses.CosineSimilarity().call(y, p), [-0.5])
    # Along axis 1: columns [1, 0] vs [2, 1], and [0, 0] vs [0, 1].
    _close(losses.CosineSimilarity(axis=1).call(y, p), [-(2 / np.sqrt(5)) / 2])


def test_focal_losses_match_numpy(rng):
    y = rng.integers(0, 2, (6, 3)).astype(np.float32)
    logits = rng.normal(size=(6, 3)).astype(np.float32) * 2
    p = 1 / (1 + np.exp(-logits))
    pc = np.clip(p, EPS, 1 - EPS)
    bce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    p_t = y * p + (1 - y) * (1 - p)
    focal = (1 - p_t) ** 3.0 * bce
    loss = losses.binary_focal_crossentropy(_t(y), _t(logits), gamma=3.0, from_logits=True)
    _close(loss, focal.mean(-1))
    balanced = (y * 0.4 + (1 - y) * 0.6) * focal
    loss = losses.BinaryFocalCrossentropy(
        apply_class_balancing=True, alpha=0.4, gamma=3.0, reduction=None
    ).call(_t(y), _t(p))
    _close(loss, balanced.mean(-1))

    onehot = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 6)]
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    pc = np.clip(probs, EPS, 1 - EPS)
    alpha = np.array([0.2, 0.3, 0.5], dtype=np.float32)
    expected = (alpha * (1 - pc) ** 2.0 * -onehot * np.log(pc)).sum(-1)
    got = losses.categorical_focal_crossentropy(
        _t(onehot), _t(logits), alpha=[0.2, 0.3, 0.5], from_logits=True
    )
    _close(got, expected)


def test_focal_with_gamma_zero_is_crossentropy(rng):
    y = torch.tensor(rng.integers(0, 2, (5, 2)), dtype=torch.float32)
    p = torch.tensor(rng.uniform(0.05, 0.95, (5, 2)), dtype=torch.float32)
    _close(losses.binary_focal_crossentropy(y, p, gamma=0.0), losses.binary_crossentropy(y, p))
    onehot = F.one_hot(torch.tensor([0, 1, 1, 0, 1]), 2).float()
    _close(
        losses.categorical_focal_crossentropy(onehot, p, alpha=1.0, gamma=0.0),
        losses.categorical_crossentropy(onehot, p),
    )


def test_dice_and_tversky_match_numpy(rng):
    y = rng.integers(0, 2, (3, 4, 4, 1)).astype(np.float32)
    p = rng.uniform(size=(3, 4, 4, 1)).astype(np.float32)
    axes = (1, 2, 3)
    inter = (y * p).sum(axes)
    _close(losses.dice(_t(y), _t(p), axis=axes), 1 - 2 * inter / (y.sum(axes) + p.sum(axes) + EPS))
    whole = 1 - 2 * (y * p).sum() / (y.sum() + p.sum() + EPS)
    _close(losses.dice(_t(y), _t(p)), whole)
    a = (y * (1 - p)).sum(axes)
    b = ((1 - y) * p).sum(axes)
    _close(
        losses.tversky(_t(y), _t(p), alpha=0.7, beta=0.3, axis=axes),
        1 - inter / (inter + 0.7 * a + 0.3 * b + EPS),
    )
    # alpha = beta = 0.5 is the Dice loss.
    _close(losses.tversky(_t(y), _t(p), axis=axes), losses.dice(_t(y), _t(p), axis=axes))


def test_dice_whole_batch_refuses_sample_weight():
    y = torch.ones(2, 3)
    with pytest.raises(ValueError, match="returned a scalar"):
        losses.Dice()(y, y, sample_weight=torch.ones(2))
    # With the non-batch axes it is per sample, and weights apply.
    value = losses.Dice(axis=-1)(y, torch.zeros(2, 3), sample_weight=torch.tensor([1.0, 0.0]))
    _close(value, 0.5)


def test_ctc_matches_torch_ctc_loss(rng):
    logits = torch.tensor(rng.normal(size=(3, 7, 5)), dtype=torch.float32)
    labels = torch.tensor([[1, 2, 3, 0], [4, 4, 0, 0], [2, 1, 3, 4]])
    lengths = torch.tensor([3, 2, 4])
    expected = F.ctc_loss(
        F.log_softmax(logits, -1).transpose(0, 1),
        labels,
        torch.full((3,), 7),
        lengths,
        blank=0,
        reduction="none",
    )
    _close(losses.ctc(labels, logits), expected.numpy())
    _close(losses.CTC()(labels, logits), expected.mean().numpy())
    clone = losses.deserialize(losses.serialize(losses.CTC(reduction="sum")))
    assert type(clone) is losses.CTC and clone.reduction == "sum"


def test_ctc_rejects_wrong_ranks():
    with pytest.raises(ValueError, match=r"`y_true`.*\(batch_size, max_length\).*Received"):
        losses.ctc(torch.ones(2, 3, 1), torch.zeros(2, 4, 3))
    with pytest.raises(ValueError, match=r"logits of shape.*Received: y_pred.shape=\(2, 4\)"):
        losses.ctc(torch.ones(2, 3), torch.zeros(2, 4))


# --------------------------------------------------------------------------- Keras' documented values


def test_losses_reproduce_keras_documentation_values():
    bfc = losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
    y, logits = torch.tensor([[0.0, 1.0, 0.0, 0.0]]), torch.tensor([[-18.6, 0.51, 2.94, -12.8]])
    _close(bfc(y, logits), 0.691, rtol=1e-3)
    bfc = losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=2.0, from_logits=True)
    _close(bfc(y, logits), 0.51, rtol=1e-2)
    cfc = losses.CategoricalFocalCrossentropy()
    y = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    p = torch.tensor([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    _close(cfc(y, p), 0.23315276, rtol=1e-4)
    _close(cfc(y, p, sample_weight=torch.tensor([0.3, 0.7])), 0.1632, rtol=1e-3)
    y = torch.tensor([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]])
    p = torch.tensor([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]])
    _close(losses.dice(y, p, axis=(1, 2, 3)), [0.5, 0.75757575])
    _close(losses.dice(y, p), 0.6164384)
    y = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    _close(losses.log_cosh(y, torch.tensor([[1.0, 1.0], [0.0, 0.0]])).mean(), 0.108, rtol=1e-2)


# --------------------------------------------------------------------------- names and arguments


@pytest.mark.parametrize(
    "name, cls",
    [
        ("hinge", losses.Hinge),
        ("squared_hinge", losses.SquaredHinge),
        ("categorical_hinge", losses.CategoricalHinge),
        ("log_cosh", losses.LogCosh),
        ("logcosh", losses.LogCosh),
        ("poisson", losses.Poisson),
        ("cosine_similarity", losses.CosineSimilarity),
        ("mape", losses.MeanAbsolutePercentageError),
        ("mean_absolute_percentage_error", losses.MeanAbsolutePercentageError),
        ("msle", losses.MeanSquaredLogarithmicError),
        ("mean_squared_logarithmic_error", losses.MeanSquaredLogarithmicError),
        ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy),
        ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy),
        ("ctc", losses.CTC),
        ("dice", losses.Dice),
        ("tversky", losses.Tversky),
        ("Tversky", losses.Tversky),
    ],
)
def test_get_resolves_new_loss_names(name, cls):
    assert type(losses.get(name)) is cls


def test_new_losses_keras_defaults():
    bfc = losses.BinaryFocalCrossentropy()
    assert (bfc.apply_class_balancing, bfc.alpha, bfc.gamma, bfc.from_logits) == (
        False,
        0.25,
        2.0,
        False,
    )
    assert bfc.label_smoothing == 0.0 and bfc.name == "binary_focal_crossentropy"
    assert (losses.Tversky().alpha, losses.Tversky().beta, losses.Tversky().axis) == (
        0.5,
        0.5,
        None,
    )
    assert losses.CosineSimilarity().axis == -1
    assert losses.LogCosh().name == "log_cosh"
    assert losses.MeanAbsolutePercentageError().name == "mean_absolute_percentage_error"
    assert losses.get("binary_focal_crossentropy").kind == "binary_crossentropy"


def test_new_losses_validate_arguments():
    with pytest.raises(ValueError, match=r"`alpha`.*Received: alpha=1.5"):
        losses.BinaryFocalCrossentropy(alpha=1.5)
    with pytest.raises(ValueError, match=r"`gamma`.*Received: gamma=-1"):
        losses.CategoricalFocalCrossentropy(gamma=-1)
    with pytest.raises(ValueError, match=r"`axis`.*Received: axis='rows'"):
        losses.Dice(axis="rows")
    with pytest.raises(ValueError, match=r"`axis`.*Received: axis=1.5"):
        losses.CosineSimilarity(axis=1.5)
    with pytest.raises(ValueError, match=r"`beta`.*Received: beta=-0.1"):
        losses.Tversky(beta=-0.1)


def test_new_losses_do_not_sync_host(monkeypatch):
    y01 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[0.7, 0.2], [0.4, 0.9]])
    cases = [
        (losses.Hinge(), y01, p),
        (losses.SquaredHinge(), y01, p),
        (losses.BinaryFocalCrossentropy(from_logits=True), y01, p),
        (losses.Dice(axis=-1), y01, p),
        (losses.CTC(), torch.tensor([[1, 0], [1, 1]]), torch.randn(2, 4, 3)),
    ]

    def refuse(*args, **kwargs):
        raise AssertionError("host sync")

    for name in ("item", "tolist", "numpy", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    for loss, y, pred in cases:
        assert loss(y, pred).shape == ()


def test_docstring_examples_run():
    import doctest
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(losses.__path__):
        module = importlib.import_module(f"lamina.losses.{info.name}")
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
        if info.name not in ("utils", "base", "lookup"):  # helpers, without examples
            assert result.attempted > 0, module.__name__
    result = doctest.testmod(losses)
    assert result.failed == 0 and result.attempted > 0
