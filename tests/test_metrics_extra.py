"""The Keras metrics beyond accuracy / precision / recall / AUC, checked against
scikit-learn and NumPy, and Keras-style custom metrics (`add_variable`)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import sklearn.metrics as skm
import torch

import lamina
from lamina import metrics
from lamina.variables import Variable


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _feed(metric, *batches):
    for batch in batches:
        metric.update_state(*batch)
    return metric.result()


def _close(got, expected, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- IoU


def test_mean_iou_matches_sklearn_jaccard_over_batches(rng):
    y = rng.integers(0, 4, (2, 50))
    p = rng.integers(0, 4, (2, 50))
    got = _feed(
        metrics.MeanIoU(num_classes=4), *[(torch.tensor(a), torch.tensor(b)) for a, b in zip(y, p)]
    )
    _close(got, skm.jaccard_score(y.ravel(), p.ravel(), average="macro"), rtol=1e-5)


def test_iou_target_classes_weights_and_ignore_class(rng):
    y = rng.integers(0, 3, 60)
    p = rng.integers(0, 3, 60)
    w = rng.uniform(size=60)
    per_class = skm.jaccard_score(y, p, average=None, sample_weight=w)
    m = metrics.IoU(num_classes=3, target_class_ids=[0, 2])
    got = _feed(m, (torch.tensor(y), torch.tensor(p), torch.tensor(w)))
    _close(got, per_class[[0, 2]].mean(), rtol=1e-5)
    # ignore_class drops those entries entirely.
    y_void = np.where(rng.uniform(size=60) < 0.3, 255, y)
    keep = y_void != 255
    m = metrics.MeanIoU(num_classes=3, ignore_class=255)
    got = _feed(m, (torch.tensor(y_void), torch.tensor(p)))
    _close(got, skm.jaccard_score(y[keep], p[keep], average="macro"), rtol=1e-5)


def test_one_hot_and_dense_inputs_use_argmax(rng):
    y = rng.integers(0, 3, (4, 5, 5))
    scores = rng.normal(size=(4, 5, 5, 3))
    expected = skm.jaccard_score(y.ravel(), scores.argmax(-1).ravel(), average="macro")
    onehot = np.eye(3)[y]
    _close(_feed(metrics.OneHotMeanIoU(3), (torch.tensor(onehot), torch.tensor(scores))), expected)
    dense = metrics.MeanIoU(3, sparse_y_pred=False)
    _close(_feed(dense, (torch.tensor(y), torch.tensor(scores))), expected)
    one_class = skm.jaccard_score(y.ravel(), scores.argmax(-1).ravel(), average=None)[1]
    _close(
        _feed(metrics.OneHotIoU(3, [1]), (torch.tensor(onehot), torch.tensor(scores))), one_class
    )


def test_binary_iou_keras_documented_values():
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    y, p = torch.tensor([0, 1, 0, 1]), torch.tensor([0.1, 0.2, 0.4, 0.7])
    _close(_feed(m, (y, p)), 0.33333334)
    m.reset_state()
    _close(_feed(m, (y, p, torch.tensor([0.2, 0.3, 0.4, 0.1]))), 0.17361112)
    # threshold is inclusive: 0.3 >= 0.3 is class 1.
    m = metrics.BinaryIoU(target_class_ids=[1], threshold=0.3)
    _close(_feed(m, (torch.tensor([1]), torch.tensor([0.3]))), 1.0, atol=1e-6)


def test_iou_validates_arguments():
    with pytest.raises(
        ValueError, match=r"target class id in \[0, 3\).*Received: target_class_ids=\[3\]"
    ):
        metrics.IoU(num_classes=3, target_class_ids=[3])
    with pytest.raises(ValueError, match=r"`num_classes`.*Received: num_classes=0"):
        metrics.MeanIoU(num_classes=0)


# --------------------------------------------------------------------------- regression


@pytest.mark.parametrize(
    "aggregation, multioutput",
    [
        ("uniform_average", "uniform_average"),
        ("variance_weighted_average", "variance_weighted"),
        (None, "raw_values"),
    ],
)
def test_r2_score_matches_sklearn(rng, aggregation, multioutput):
    y = rng.normal(size=(40, 3))
    p = y + rng.normal(scale=0.5, size=(40, 3))
    w = rng.uniform(size=40)
    m = metrics.R2Score(class_aggregation=aggregation, dtype="float64")
    got = _feed(
        m,
        (torch.tensor(y[:25]), torch.tensor(p[:25]), torch.tensor(w[:25])),
        (torch.tensor(y[25:]), torch.tensor(p[25:]), torch.tensor(w[25:])),
    )
    _close(got, skm.r2_score(y, p, sample_weight=w, multioutput=multioutput), rtol=1e-10)


def test_r2_score_adjusted_and_one_dimensional(rng):
    y = rng.normal(size=30)
    p = y + rng.normal(scale=0.3, size=30)
    r2 = skm.r2_score(y, p)
    got = _feed(
        metrics.R2Score(num_regressors=4, dtype="float64"), (torch.tensor(y), torch.tensor(p))
    )
    _close(got, 1 - (1 - r2) * (30 - 1) / (30 - 4 - 1), rtol=1e-10)
    # Too many regressors for the sample count: the plain score, as Keras returns.
    got = _feed(
        metrics.R2Score(num_regressors=40, dtype="float64"), (torch.tensor(y), torch.tensor(p))
    )
    _close(got, r2, rtol=1e-10)


def test_mean_metric_wrappers_match_numpy(rng):
    y = rng.uniform(0.5, 2.0, (12, 4)).astype(np.float32)
    p = rng.uniform(0.5, 2.0, (12, 4)).astype(np.float32)
    w = rng.uniform(size=12).astype(np.float32)
    norm = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)  # noqa: E731
    cases = [
        (metrics.MeanAbsolutePercentageError(), 100 * np.abs((y - p) / y).mean(-1)),
        (metrics.MeanSquaredLogarithmicError(), ((np.log1p(p) - np.log1p(y)) ** 2).mean(-1)),
        (metrics.CosineSimilarity(), (norm(y) * norm(p)).sum(-1)),
        (metrics.LogCoshError(), np.log(np.cosh(p - y)).mean(-1)),
        (metrics.Poisson(), (p - y * np.log(p + 1e-7)).mean(-1)),
        (metrics.Hinge(), np.maximum(1 - y * p, 0).mean(-1)),
        (metrics.SquaredHinge(), (np.maximum(1 - y * p, 0) ** 2).mean(-1)),
    ]
    for metric, per_sample in cases:
        got = _feed(metric, (torch.tensor(y), torch.tensor(p), torch.tensor(w)))
        _close(got, (per_sample * w).sum() / w.sum(), rtol=1e-5)


def test_crossentropy_and_kl_metrics_match_sklearn(rng):
    labels = rng.integers(0, 3, 20)
    logits = rng.normal(size=(20, 3)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    onehot = np.eye(3, dtype=np.float32)[labels]
    expected = skm.log_loss(labels, probs, labels=[0, 1, 2])
    got = _feed(metrics.CategoricalCrossentropy(), (torch.tensor(onehot), torch.tensor(probs)))
    _close(got, expected, rtol=1e-5)
    sparse = metrics.SparseCategoricalCrossentropy(from_logits=True)
    _close(_feed(sparse, (torch.tensor(labels), torch.tensor(logits))), expected, rtol=1e-5)
    binary = (labels > 0).astype(np.float32)
    expected = skm.log_loss(binary, probs[:, 0], labels=[0, 1])
    got = _feed(
        metrics.BinaryCrossentropy(), (torch.tensor(binary[:, None]), torch.tensor(probs[:, :1]))
    )
    _close(got, expected, rtol=1e-5)
    q = np.clip(probs, 1e-7, 1)
    pt = np.clip(probs[::-1].copy(), 1e-7, 1)
    got = _feed(metrics.KLDivergence(), (torch.tensor(pt), torch.tensor(q)))
    _close(got, (pt * np.log(pt / q)).sum(-1).mean(), rtol=1e-5)


def test_sum_metric_weighted():
    m = metrics.Sum()
    m.update_state(
        torch.tensor([1.0, 3.0, 5.0, 7.0]), sample_weight=torch.tensor([1.0, 1.0, 0.0, 0.5])
    )
    m.update_state(torch.tensor(2.0))
    _close(m.result(), 9.5)


# --------------------------------------------------------------------------- confusion counts


def test_condition_counts_match_sklearn_confusion_matrix(rng):
    y = rng.integers(0, 2, 40)
    s = rng.uniform(size=40)
    w = rng.uniform(size=40)
    for threshold in (0.3, 0.7):
        tn, fp, fn, tp = skm.confusion_matrix(y, s > threshold, sample_weight=w).ravel()
        got = [
            _feed(cls(thresholds=threshold), (torch.tensor(y), torch.tensor(s), torch.tensor(w)))
            for cls in (
                metrics.TrueNegatives,
                metrics.FalsePositives,
                metrics.FalseNegatives,
                metrics.TruePositives,
            )
        ]
        _close(got, [tn, fp, fn, tp], rtol=1e-5)
    counts = _feed(metrics.TruePositives(thresholds=[0.3, 0.7]), (torch.tensor(y), torch.tensor(s)))
    assert counts.tolist() == [((s > t) & (y == 1)).sum() for t in (0.3, 0.7)]


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_fbeta_score_matches_sklearn(rng, average):
    y = rng.integers(0, 4, 50)
    scores = rng.normal(size=(50, 4))
    m = metrics.FBetaScore(average=average, beta=2.0)
    got = _feed(m, (torch.nn.functional.one_hot(torch.tensor(y), 4), torch.tensor(scores)))
    expected = skm.fbeta_score(y, scores.argmax(-1), beta=2.0, average=average, labels=range(4))
    _close(got, expected, rtol=1e-5)


def _rates_at_thresholds(y, s, n=200):
    thresholds = [-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7]
    out = []
    for t in thresholds:
        pred = s > t
        tp, fp = (pred & (y == 1)).sum(), (pred & (y == 0)).sum()
        fn, tn = (~pred & (y == 1)).sum(), (~pred & (y == 0)).sum()
        div = lambda a, b: a / b if b else 0.0  # noqa: E731
        out.append({"sens": div(tp, tp + fn), "spec": div(tn, tn + fp), "prec": div(tp, tp + fp)})
    return out


@pytest.mark.parametrize(
    "cls, value, constrained, dependent",
    [
        (metrics.SensitivityAtSpecificity, 0.6, "spec", "sens"),
        (metrics.SpecificityAtSensitivity, 0.7, "sens", "spec"),
        (metrics.PrecisionAtRecall, 0.5, "sens", "prec"),
        (metrics.RecallAtPrecision, 0.6, "prec", "sens"),
    ],
)
def test_operating_point_metrics_match_brute_force(rng, cls, value, constrained, dependent):
    y = rng.integers(0, 2, 80)
    s = np.clip(y * 0.3 + rng.uniform(size=80) * 0.7, 0, 1)
    rates = _rates_at_thresholds(y, s)
    expected = max([r[dependent] for r in rates if r[constrained] >= value], default=0.0)
    got = _feed(cls(value), (torch.tensor(y), torch.tensor(s, dtype=torch.float32)))
    _close(got, expected, rtol=1e-5)


def test_operating_point_metric_class_id(rng):
    labels = rng.integers(0, 3, 60)
    scores = torch.softmax(torch.tensor(rng.normal(size=(60, 3)), dtype=torch.float32), -1)
    whole = _feed(metrics.PrecisionAtRecall(0.5, class_id=2), (torch.tensor(labels), scores))
    column = _feed(
        metrics.PrecisionAtRecall(0.5), (torch.tensor(labels == 2), scores[:, 2].contiguous())
    )
    _close(whole, column)


# --------------------------------------------------------------------------- Keras-style custom metrics


class BinaryTruePositives(metrics.Metric):
    """The custom metric of Keras' guide, written exactly as a Keras user would."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = torch.as_tensor(y_true).bool()
        y_pred = torch.as_tensor(y_pred) > 0.5
        values = (y_true & y_pred).float()
        if sample_weight is not None:
            values = values * torch.as_tensor(sample_weight).float()
        self.true_positives.assign_add(values.sum())

    def result(self):
        return self.true_positives.value


def test_custom_metric_add_variable_keras_style():
    m = BinaryTruePositives()
    m.update_state(torch.tensor([1, 1, 0]), torch.tensor([0.9, 0.2, 0.8]))
    m.update_state(torch.tensor([1]), torch.tensor([0.7]), sample_weight=torch.tensor([0.5]))
    assert m.result().item() == 1.5
    var = m.true_positives
    assert isinstance(var, Variable) and isinstance(var, torch.nn.Parameter)
    assert not var.requires_grad and var.name == "tp" and var.path == "binary_true_positives/tp"
    assert var.numpy() == np.float32(1.5)
    assert m.variables == [var]
    m.reset_state()
    assert m.result().item() == 0.0 and m.true_positives is var
    clone = copy.deepcopy(m)
    clone.update_state(torch.tensor([1]), torch.tensor([0.9]))
    assert clone.result().item() == 1.0 and m.result().item() == 0.0


def test_add_weight_and_initializer_reset():
    class Counter(metrics.Metric):
        def __init__(self):
            super().__init__(name="counter")
            self.n = self.add_weight(shape=(2,), initializer="ones", name="n")

        def update_state(self, values):
            self.n.assign_add(torch.as_tensor(values, dtype=torch.float32))

        def result(self):
            return self.n.value.sum()

    m = Counter()
    m.update_state([1.0, 2.0])
    assert m.result().item() == 5.0
    m.reset_state()
    assert m.n.numpy().tolist() == [1.0, 1.0]  # back to the initializer's value
    with pytest.raises(ValueError, match=r"`aggregation`.*Received: aggregation='max'"):
        m.add_variable((), "zeros", aggregation="max")


def test_builtin_metric_states_are_non_trainable_variables():
    m = metrics.MeanIoU(num_classes=2)
    assert isinstance(m.total_cm, Variable) and not m.total_cm.requires_grad
    state = m.total_cm
    m.update_state(torch.tensor([0, 1]), torch.tensor([0, 1]))
    m.reset_state()
    assert m.total_cm is state and float(state.sum()) == 0.0


def test_custom_and_new_metrics_in_fit_reset_each_epoch(rng):
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = lamina.Sequential(
        [lamina.Input(shape=(4,)), lamina.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(
        optimizer="sgd",
        loss="bce",
        metrics=[BinaryTruePositives(), metrics.BinaryIoU(), "mape", "r2_score"],
    )
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    tp = history.history["binary_true_positives"]
    assert len(tp) == 2 and all(0 <= v <= y.sum() for v in tp)  # reset between epochs
    assert {"binary_io_u", "mape", "r2_score"} <= set(history.history)
    preds = model.predict(x, verbose=0)
    expected = float(((preds > 0.5) & (y == 1)).sum())
    assert model.evaluate(x, y, verbose=0, return_dict=True)["binary_true_positives"] == expected


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name, cls",
    [
        ("mape", metrics.MeanAbsolutePercentageError),
        ("msle", metrics.MeanSquaredLogarithmicError),
        ("logcosh", metrics.LogCoshError),
        ("r2_score", metrics.R2Score),
        ("hinge", metrics.Hinge),
        ("poisson", metrics.Poisson),
        ("kld", metrics.KLDivergence),
        ("cosine_similarity", metrics.CosineSimilarity),
        ("BinaryCrossentropy", metrics.BinaryCrossentropy),
        ("FBetaScore", metrics.FBetaScore),
        ("TruePositives", metrics.TruePositives),
    ],
)
def test_get_resolves_new_metric_names(name, cls):
    assert type(metrics.get(name)) is cls


def test_new_metric_config_is_keras_shaped():
    config = metrics.MeanIoU(num_classes=3, ignore_class=0).get_config()
    assert config == {
        "num_classes": 3,
        "ignore_class": 0,
        "sparse_y_true": True,
        "sparse_y_pred": True,
        "axis": -1,
        "name": "mean_io_u",
        "dtype": None,
    }
    assert metrics.BinaryIoU().get_config()["target_class_ids"] == [0, 1]
    clone = metrics.deserialize(json.loads(json.dumps(metrics.serialize(metrics.R2Score(None, 2)))))
    assert clone.class_aggregation is None and clone.num_regressors == 2


def test_docstring_examples_run():
    import doctest
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(metrics.__path__):
        module = importlib.import_module(f"lamina.metrics.{info.name}")
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
        if info.name not in ("utils", "lookup"):  # helpers, without examples
            assert result.attempted > 0, module.__name__
    result = doctest.testmod(metrics)
    assert result.failed == 0 and result.attempted > 0


def test_metric_variables_follow_the_data_device_in_place():
    # The "meta" device stands in for a GPU: states move to the data's device and
    # stay the same objects, so `self.true_positives` references remain valid.
    m = BinaryTruePositives()
    var = m.true_positives
    m.update_state(torch.ones(2, device="meta"), torch.ones(2, device="meta"))
    assert m.true_positives is var and var.device.type == "meta"
    m.reset_state()
    assert var.device.type == "meta"
    iou = metrics.MeanIoU(num_classes=2)
    state = iou.total_cm
    iou.update_state(torch.zeros(3, device="meta"), torch.zeros(3, device="meta"))
    assert iou.total_cm is state and state.device.type == "meta"


def test_correlation_metrics_match_scipy_style_numpy(rng):
    y = rng.normal(size=(6, 20))
    p = 0.7 * y + rng.normal(scale=0.5, size=(6, 20)) + 0.3
    pearson = [np.corrcoef(a, b)[0, 1] for a, b in zip(y, p)]
    got = _feed(metrics.PearsonCorrelation(dtype="float64"), (torch.tensor(y), torch.tensor(p)))
    _close(got, np.mean(pearson), rtol=1e-6)
    ccc = [
        2
        * np.mean((a - a.mean()) * (b - b.mean()))
        / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)
        for a, b in zip(y, p)
    ]
    got = _feed(metrics.ConcordanceCorrelation(dtype="float64"), (torch.tensor(y), torch.tensor(p)))
    _close(got, np.mean(ccc), rtol=1e-6)
    assert type(metrics.get("pearson_correlation")) is metrics.PearsonCorrelation
