"""Metrics checked against scikit-learn and NumPy, accumulated over batches."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn import metrics as skm

from lamina import losses, metrics


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


def _feed(metric, y_true, y_pred, sample_weight=None, batch_size=37):
    """Updates ``metric`` batch by batch (uneven last batch) and returns the result."""
    for i in range(0, len(y_pred), batch_size):
        sw = None if sample_weight is None else sample_weight[i : i + batch_size]
        metric.update_state(
            y_true[i : i + batch_size], y_pred[i : i + batch_size], sample_weight=sw
        )
    return metric.result()


def _binary(gen, n=500):
    y = torch.randint(0, 2, (n,), generator=gen)
    scores = (0.35 * y + 0.65 * torch.rand(n, generator=gen)).clamp(0, 1)
    return y, scores.view(-1, 1)


def _multiclass(gen, n=500, c=5):
    y = torch.randint(0, c, (n,), generator=gen)
    logits = torch.randn(n, c, generator=gen) + 1.5 * F.one_hot(y, c)
    return y, logits


# --------------------------------------------------------------------------- accuracy


def test_binary_accuracy_accumulates_like_sklearn(gen):
    y, scores = _binary(gen)
    got = _feed(metrics.BinaryAccuracy(), y, scores)
    assert got.item() == pytest.approx(skm.accuracy_score(y, scores.view(-1) > 0.5))


def test_binary_accuracy_threshold_zero_matches_logits(gen):
    y, scores = _binary(gen)
    logits = torch.logit(scores.clamp(1e-4, 1 - 1e-4))
    a = _feed(metrics.BinaryAccuracy(), y, scores)
    b = _feed(metrics.BinaryAccuracy(threshold=0.0), y, logits)
    assert a.item() == pytest.approx(b.item())


def test_binary_accuracy_sample_weight(gen):
    y, scores = _binary(gen)
    w = torch.rand(len(y), generator=gen)
    got = _feed(metrics.BinaryAccuracy(), y, scores, sample_weight=w)
    expected = skm.accuracy_score(y, scores.view(-1) > 0.5, sample_weight=w)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_categorical_and_sparse_accuracy_accumulate_like_sklearn(gen):
    y, logits = _multiclass(gen)
    expected = skm.accuracy_score(y, logits.argmax(-1))
    sparse = _feed(metrics.SparseCategoricalAccuracy(), y.view(-1, 1), logits)
    onehot = _feed(metrics.CategoricalAccuracy(), F.one_hot(y, 5), logits)
    assert sparse.item() == pytest.approx(expected)
    assert onehot.item() == pytest.approx(expected)


def test_accuracy_is_total_correct_over_total_count_not_mean_of_batches():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(torch.tensor([0, 0, 0]), torch.tensor([[1.0, 0], [1.0, 0], [1.0, 0]]))  # 3/3
    m.update_state(torch.tensor([1]), torch.tensor([[1.0, 0.0]]))  # 0/1
    assert m.result().item() == pytest.approx(0.75)


def test_mean_count_reads_the_same_with_unweighted_weighted_and_mixed_batches():
    # Unweighted batches keep their size in a Python int until `count` is read.
    m = metrics.SparseCategoricalAccuracy()
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]], requires_grad=True)
    m.update_state(torch.tensor([0, 1, 1]), logits)  # fast path: 2 / 3, no weights
    assert m.count.item() == 3 and m.total.item() == 2
    m.update_state(torch.tensor([0, 1, 1]), logits, sample_weight=torch.tensor([1.0, 0.5, 0.5]))
    m.update_state(torch.tensor([[0]]), logits[:1])  # general path, unweighted
    assert m.count.item() == pytest.approx(3 + 2 + 1)
    assert m.result().item() == pytest.approx((2 + 1.5 + 1) / 6)
    assert not m.total.requires_grad and not m.count.requires_grad
    m.update_state(torch.tensor([1]), logits[:1])  # pending again, then reset
    m.reset_state()
    assert m.count.item() == 0 and m.result().item() == 0
    mean = metrics.Mean()
    mean.update_state(torch.tensor([1.0, 2.0, 3.0]))
    mean.count += 1  # a subclass may still update `count` in place
    assert mean.result().item() == pytest.approx(6 / 4)


def test_top_k_categorical_accuracy_matches_sklearn(gen):
    y, logits = _multiclass(gen, c=6)
    expected = skm.top_k_accuracy_score(y, logits, k=3, labels=range(6))
    assert _feed(
        metrics.TopKCategoricalAccuracy(k=3), F.one_hot(y, 6), logits
    ).item() == pytest.approx(expected)
    assert _feed(metrics.SparseTopKCategoricalAccuracy(k=3), y, logits).item() == pytest.approx(
        expected
    )


def test_accuracy_exact_match():
    m = metrics.Accuracy()
    m.update_state(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 4]))
    assert m.result().item() == pytest.approx(0.75)


def test_accuracy_shape_error_names_metric_and_shapes():
    with pytest.raises(
        ValueError, match=r"`categorical_accuracy`.*\(8,\).*\(8, 3\).*sparse_categorical"
    ):
        metrics.CategoricalAccuracy().update_state(torch.zeros(8), torch.rand(8, 3))


# --------------------------------------------------------------------------- precision / recall / F1


def test_precision_recall_accumulate_like_sklearn(gen):
    y, scores = _binary(gen)
    w = torch.rand(len(y), generator=gen)
    pred = scores.view(-1) > 0.5
    assert _feed(metrics.Precision(), y, scores).item() == pytest.approx(
        skm.precision_score(y, pred)
    )
    assert _feed(metrics.Recall(), y, scores).item() == pytest.approx(skm.recall_score(y, pred))
    got = _feed(metrics.Precision(), y, scores, sample_weight=w).item()
    assert got == pytest.approx(skm.precision_score(y, pred, sample_weight=w), rel=1e-5)


def test_precision_recall_class_id_and_sparse_labels(gen):
    y, logits = _multiclass(gen)
    probs = torch.softmax(logits, -1)
    pred = probs[:, 2] > 0.5
    truth = y == 2
    p = _feed(metrics.Precision(class_id=2), F.one_hot(y, 5), probs)
    r = _feed(metrics.Recall(class_id=2), y, probs)  # integer labels are one-hot encoded
    assert p.item() == pytest.approx(skm.precision_score(truth, pred))
    assert r.item() == pytest.approx(skm.recall_score(truth, pred))


def test_precision_multiple_thresholds_give_vector(gen):
    y, scores = _binary(gen)
    got = _feed(metrics.Precision(thresholds=[0.3, 0.7]), y, scores)
    assert got.shape == (2,)
    assert got[1].item() == pytest.approx(skm.precision_score(y, scores.view(-1) > 0.7))


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_score_accumulates_like_sklearn(gen, average):
    y, logits = _multiclass(gen)
    got = _feed(metrics.F1Score(average=average), F.one_hot(y, 5), logits)
    expected = skm.f1_score(y, logits.argmax(-1), average=average, labels=range(5))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


def test_f1_score_binary_one_column_uses_threshold(gen):
    y, scores = _binary(gen)
    w = torch.rand(len(y), generator=gen)
    pred = scores.view(-1) > 0.5
    got = _feed(metrics.F1Score(average="micro"), y, scores)
    assert got.item() == pytest.approx(skm.f1_score(y, pred))
    got = _feed(metrics.F1Score(), y, scores, sample_weight=w)
    assert got.shape == (1,)
    assert got.item() == pytest.approx(skm.f1_score(y, pred, sample_weight=w), rel=1e-5)


def test_f1_score_integer_labels_are_one_hot_encoded(gen):
    y, logits = _multiclass(gen)
    got = _feed(metrics.F1Score(average="macro"), y, logits)
    assert got.item() == pytest.approx(skm.f1_score(y, logits.argmax(-1), average="macro"))


# --------------------------------------------------------------------------- AUC


def test_auc_roc_accumulates_close_to_sklearn(gen):
    y, scores = _binary(gen, n=2000)
    w = torch.rand(len(y), generator=gen)
    assert _feed(metrics.AUC(), y, scores).item() == pytest.approx(
        skm.roc_auc_score(y, scores.view(-1)), abs=1e-2
    )
    weighted = _feed(metrics.AUC(), y, scores, sample_weight=w).item()
    assert weighted == pytest.approx(
        skm.roc_auc_score(y, scores.view(-1), sample_weight=w), abs=1e-2
    )


def test_auc_from_logits(gen):
    y, scores = _binary(gen, n=2000)
    logits = torch.logit(scores.clamp(1e-4, 1 - 1e-4))
    got = _feed(metrics.AUC(from_logits=True), y, logits).item()
    assert got == pytest.approx(skm.roc_auc_score(y, scores.view(-1)), abs=1e-2)


def test_auc_pr_close_to_sklearn(gen):
    y, scores = _binary(gen, n=2000)
    got = _feed(metrics.AUC(curve="PR"), y, scores).item()
    assert got == pytest.approx(skm.average_precision_score(y, scores.view(-1)), abs=2e-2)
    for method in ("minoring", "majoring"):
        riemann = _feed(metrics.AUC(curve="ROC", summation_method=method), y, scores).item()
        assert riemann == pytest.approx(skm.roc_auc_score(y, scores.view(-1)), abs=2e-2)


def test_auc_perfect_and_random_edge_cases():
    m = metrics.AUC()
    m.update_state(torch.tensor([0, 0, 1, 1]), torch.tensor([0.1, 0.2, 0.8, 0.9]))
    assert m.result().item() == pytest.approx(1.0)
    m.reset_state()
    m.update_state(torch.tensor([1, 1]), torch.tensor([0.3, 0.9]))  # no negatives: no NaN
    assert torch.isfinite(m.result())


# --------------------------------------------------------------------------- regression / mean


def test_regression_metrics_accumulate_like_numpy(gen):
    y = torch.randn(300, 2, generator=gen)
    p = y + torch.randn(300, 2, generator=gen) * 0.5
    err = (y - p).numpy()
    assert _feed(metrics.MeanSquaredError(), y, p).item() == pytest.approx(
        float((err**2).mean()), rel=1e-5
    )
    assert _feed(metrics.MeanAbsoluteError(), y, p).item() == pytest.approx(
        float(np.abs(err).mean()), rel=1e-5
    )
    rmse = _feed(metrics.RootMeanSquaredError(), y, p).item()
    assert rmse == pytest.approx(float(np.sqrt((err**2).mean())), rel=1e-5)


def test_rmse_sample_weight(gen):
    y = torch.randn(100, generator=gen)
    p = torch.randn(100, generator=gen)
    w = torch.rand(100, generator=gen)
    got = _feed(metrics.RootMeanSquaredError(), y, p, sample_weight=w).item()
    expected = np.sqrt(skm.mean_squared_error(y, p, sample_weight=w))
    assert got == pytest.approx(expected, rel=1e-5)


def test_mean_weighted_values():
    m = metrics.Mean()
    m.update_state(torch.tensor([1.0, 3.0]), sample_weight=torch.tensor([1.0, 3.0]))
    m.update_state(torch.tensor([5.0]))
    assert m.result().item() == pytest.approx((1 + 9 + 5) / 5)


def test_mean_metric_wrapper_with_plain_function(gen):
    def abs_error(y_true, y_pred):
        return (y_true - y_pred).abs()

    y, p = torch.randn(50, generator=gen), torch.randn(50, generator=gen)
    m = metrics.get(abs_error)
    assert isinstance(m, metrics.MeanMetricWrapper)
    assert m.name == "abs_error"
    assert _feed(m, y, p).item() == pytest.approx((y - p).abs().mean().item(), rel=1e-5)


# --------------------------------------------------------------------------- state


def test_metric_reset_state_starts_over(gen):
    y, scores = _binary(gen)
    for metric in (metrics.BinaryAccuracy(), metrics.Precision(), metrics.F1Score(), metrics.AUC()):
        first = _feed(metric, y, scores).clone()
        metric.update_state(1 - y, scores)  # pollute
        metric.reset_state()
        torch.testing.assert_close(_feed(metric, y, scores), first)


def test_metric_result_before_update_is_zero_tensor():
    for metric in (metrics.Mean(), metrics.Recall(), metrics.F1Score(), metrics.AutoAccuracy()):
        result = metric.result()
        assert isinstance(result, torch.Tensor)
        assert result.sum().item() == 0


def test_metric_update_runs_without_grad(gen):
    logits = torch.randn(8, 3, generator=gen, requires_grad=True)
    m = metrics.MeanSquaredError()
    m.update_state(torch.zeros(8, 3), logits * 2)
    assert not m.total.requires_grad
    assert not m.result().requires_grad


def test_metric_update_does_not_sync(gen, no_host_sync):
    y, logits = _multiclass(gen, n=64)
    probs = torch.softmax(logits, -1)
    yb = (y > 2).long()
    w = torch.rand(64, generator=gen)
    cases = [
        (metrics.SparseCategoricalAccuracy(), y, logits),
        (metrics.CategoricalAccuracy(), F.one_hot(y, 5), logits),
        (metrics.TopKCategoricalAccuracy(k=2), F.one_hot(y, 5), logits),
        (metrics.BinaryAccuracy(), yb, probs[:, :1]),
        (metrics.Precision(class_id=1), y, probs),
        (metrics.Recall(thresholds=[0.2, 0.5]), yb, probs[:, 0]),
        (metrics.F1Score(average="weighted"), y, logits),
        (metrics.AUC(from_logits=True), yb, logits[:, 0]),
        (metrics.AUC(curve="PR"), F.one_hot(y, 5), probs),
        (metrics.RootMeanSquaredError(), probs, probs * 0.5),
        (metrics.AutoAccuracy(), y, logits),
    ]
    for metric, yt, yp in cases:
        metric.update_state(yt, yp, sample_weight=w)
        metric.update_state(yt, yp)
        assert isinstance(metric.result(), torch.Tensor)


def test_metric_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"`average`.*Received: average='samples'"):
        metrics.F1Score(average="samples")
    with pytest.raises(ValueError, match=r"`curve`.*Received: curve='roc'"):
        metrics.AUC(curve="roc")
    with pytest.raises(ValueError, match=r"`num_thresholds`.*Received: num_thresholds=1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match=r"`k`.*Received: k=0"):
        metrics.TopKCategoricalAccuracy(k=0)
    with pytest.raises(ValueError, match=r"`dtype`.*Received: dtype='int32'"):
        metrics.Mean(dtype="int32")


METRIC_CASES = [
    (metrics.Mean, {"dtype": "float64"}),
    (metrics.MeanMetricWrapper, {"fn": metrics.binary_accuracy, "threshold": 0.3}),
    (metrics.Accuracy, {}),
    (metrics.BinaryAccuracy, {"threshold": 0.0}),
    (metrics.CategoricalAccuracy, {"name": "acc"}),
    (metrics.SparseCategoricalAccuracy, {}),
    (metrics.TopKCategoricalAccuracy, {"k": 2}),
    (metrics.SparseTopKCategoricalAccuracy, {"k": 3}),
    (metrics.AutoAccuracy, {"threshold": 0.0}),
    (metrics.Precision, {"thresholds": [0.3, 0.6], "class_id": 1}),
    (metrics.Recall, {"thresholds": 0.4}),
    (metrics.F1Score, {"average": "macro", "threshold": 0.4}),
    (metrics.AUC, {"num_thresholds": 50, "curve": "PR", "from_logits": True}),
    (metrics.MeanSquaredError, {}),
    (metrics.MeanAbsoluteError, {}),
    (metrics.RootMeanSquaredError, {"dtype": torch.float64}),
    (metrics.Sum, {}),
    (metrics.MeanAbsolutePercentageError, {}),
    (metrics.MeanSquaredLogarithmicError, {}),
    (metrics.CosineSimilarity, {"axis": -1}),
    (metrics.LogCoshError, {}),
    (metrics.R2Score, {"class_aggregation": "variance_weighted_average", "num_regressors": 1}),
    (metrics.Hinge, {}),
    (metrics.SquaredHinge, {}),
    (metrics.CategoricalHinge, {}),
    (metrics.Poisson, {}),
    (metrics.KLDivergence, {}),
    (metrics.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.1}),
    (metrics.CategoricalCrossentropy, {"label_smoothing": 0.1}),
    (metrics.SparseCategoricalCrossentropy, {"from_logits": True}),
    (metrics.IoU, {"num_classes": 3, "target_class_ids": [0, 2], "sparse_y_true": False, "sparse_y_pred": False}),
    (metrics.MeanIoU, {"num_classes": 3, "sparse_y_true": False, "sparse_y_pred": False, "ignore_class": 1}),
    (metrics.BinaryIoU, {"target_class_ids": [1], "threshold": 0.3}),
    (metrics.OneHotIoU, {"num_classes": 3, "target_class_ids": [1]}),
    (metrics.OneHotMeanIoU, {"num_classes": 3}),
    (metrics.TruePositives, {"thresholds": [0.2, 0.5]}),
    (metrics.FalsePositives, {}),
    (metrics.TrueNegatives, {"thresholds": 0.4}),
    (metrics.FalseNegatives, {}),
    (metrics.FBetaScore, {"average": "weighted", "beta": 0.5}),
    (metrics.SensitivityAtSpecificity, {"specificity": 0.5, "num_thresholds": 50}),
    (metrics.SpecificityAtSensitivity, {"sensitivity": 0.5, "class_id": 1}),
    (metrics.PrecisionAtRecall, {"recall": 0.3}),
    (metrics.RecallAtPrecision, {"precision": 0.2}),
    (metrics.PearsonCorrelation, {"axis": -1}),
    (metrics.ConcordanceCorrelation, {}),
]


def _data_for(metric, gen):
    labels = torch.randint(0, 3, (10,), generator=gen)
    probs = torch.softmax(torch.randn(10, 3, generator=gen), -1)
    if type(metric) in (metrics.Mean, metrics.Sum):
        return (probs[:, 0],)
    if isinstance(
        metric,
        (
            metrics.SparseCategoricalAccuracy,
            metrics.SparseTopKCategoricalAccuracy,
            metrics.SparseCategoricalCrossentropy,
        ),
    ):
        return labels, probs
    if isinstance(metric, (metrics.Accuracy,)):
        return labels, labels.flip(0)
    return F.one_hot(labels, 3).float(), probs


@pytest.mark.parametrize("cls, kwargs", METRIC_CASES, ids=[c[0].__name__ for c in METRIC_CASES])
def test_metric_contract(cls, kwargs, gen):
    metric = cls(**kwargs)
    assert isinstance(metric.name, str)
    data = _data_for(metric, gen)
    metric.update_state(*data)
    result = metric.result()
    assert isinstance(result, torch.Tensor)
    assert torch.isfinite(result).all()
    # The config is JSON-able and rebuilds an equal metric that computes the same result.
    config = json.loads(json.dumps(metrics.serialize(metric)))
    clone = metrics.deserialize(config)
    assert type(clone) is cls
    assert clone.get_config() == metric.get_config()
    clone.update_state(*data)
    torch.testing.assert_close(clone.result(), result)
    metric.reset_state()
    metric.update_state(*data)
    torch.testing.assert_close(metric.result(), result)


# --------------------------------------------------------------------------- get


def test_get_accuracy_follows_the_loss():
    acc = metrics.get("accuracy", loss="binary_crossentropy")
    assert type(acc) is metrics.BinaryAccuracy and acc.threshold == 0.5
    acc = metrics.get("accuracy", loss=losses.BinaryCrossentropy(from_logits=True))
    assert type(acc) is metrics.BinaryAccuracy and acc.threshold == 0.0
    assert type(metrics.get("acc", loss="sparse_categorical_crossentropy")) is (
        metrics.SparseCategoricalAccuracy
    )
    assert (
        type(metrics.get("accuracy", loss="categorical_crossentropy"))
        is metrics.CategoricalAccuracy
    )
    assert metrics.get("accuracy", loss="categorical_crossentropy").name == "accuracy"
    assert metrics.get("acc", loss="categorical_crossentropy").name == "acc"


def test_get_accuracy_follows_shapes_for_other_losses(gen):
    custom = lambda y, p: (y - p).abs()  # noqa: E731
    assert (
        type(metrics.get("accuracy", loss="mse", output_shape=(None, 1))) is metrics.BinaryAccuracy
    )
    got = metrics.get("accuracy", loss=custom, output_shape=(None, 4), target_shape=(None,))
    assert type(got) is metrics.SparseCategoricalAccuracy
    got = metrics.get("accuracy", loss=custom, output_shape=(None, 4), target_shape=(None, 4))
    assert type(got) is metrics.CategoricalAccuracy
    auto = metrics.get("accuracy", loss=custom)
    assert type(auto) is metrics.AutoAccuracy
    y, logits = _multiclass(gen)
    _feed(auto, F.one_hot(y, 5), logits)
    assert type(auto.metric) is metrics.CategoricalAccuracy
    assert auto.result().item() == pytest.approx(skm.accuracy_score(y, logits.argmax(-1)))


def test_get_binary_logits_adjusts_thresholds(gen):
    loss = losses.BinaryCrossentropy(from_logits=True)
    assert metrics.get("precision", loss=loss).thresholds == 0.0
    assert metrics.get("recall", loss="bce").thresholds == 0.5
    assert metrics.get("auc", loss=loss).from_logits is True
    f1 = metrics.get("f1", loss=loss)
    assert f1.average == "macro" and f1.threshold == 0.0 and f1.name == "f1"
    assert metrics.get("f1_score", loss="sparse_categorical_crossentropy").threshold is None


@pytest.mark.parametrize(
    "name, cls",
    [
        ("binary_accuracy", metrics.BinaryAccuracy),
        ("categorical_accuracy", metrics.CategoricalAccuracy),
        ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
        ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
        ("precision", metrics.Precision),
        ("recall", metrics.Recall),
        ("f1", metrics.F1Score),
        ("auc", metrics.AUC),
        ("mse", metrics.MeanSquaredError),
        ("MAE", metrics.MeanAbsoluteError),
        ("rmse", metrics.RootMeanSquaredError),
        ("RootMeanSquaredError", metrics.RootMeanSquaredError),
    ],
)
def test_get_resolves_names(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls
    if name.lower() == name:
        assert metric.name == name


def test_get_passes_instances_and_none_through():
    m = metrics.AUC()
    assert metrics.get(m) is m
    assert metrics.get(None) is None
    assert type(metrics.get(metrics.Recall)) is metrics.Recall


def test_get_wraps_a_loss_as_a_per_sample_mean(gen):
    m = metrics.get(losses.MeanAbsoluteError())
    assert m.name == "mean_absolute_error"
    y, p = torch.randn(50, generator=gen), torch.randn(50, generator=gen)
    assert _feed(m, y, p).item() == pytest.approx((y - p).abs().mean().item(), rel=1e-5)


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"Unknown metric name: 'acuracy'.*Valid names are:.*accuracy.*auc"
    ):
        metrics.get("acuracy")
    with pytest.raises(TypeError, match="metric name"):
        metrics.get(1.5)


def test_deserialize_custom_function_needs_custom_objects(gen):
    def half_error(y_true, y_pred):
        return (y_true - y_pred).abs() / 2

    config = metrics.serialize(metrics.MeanMetricWrapper(half_error))
    with pytest.raises(ValueError, match="Unknown metric function name: 'half_error'"):
        metrics.deserialize(config)
    restored = metrics.deserialize(config, custom_objects={"half_error": half_error})
    assert restored.fn is half_error
    with pytest.raises(ValueError, match=r"Unknown metric class: 'Evil'"):
        metrics.deserialize({"class_name": "Evil", "config": {}})


def test_serialize_none_is_none():
    assert metrics.serialize(None) is None
    assert metrics.deserialize(None) is None
