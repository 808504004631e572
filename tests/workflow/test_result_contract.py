"""One contract over every workflow result class (issue #14): `to_dict()` is
strict JSON (no NaN) and reads back with the same numbers, `__str__` is not
empty, and `plot()`, where the class has one, writes a PNG.

Each class is built here from a small real run (iris, a tiny MLP, few epochs);
a class that `lamina.workflow` exports with a `to_dict` but that no builder
covers fails `test_every_result_class_is_covered`.
"""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pytest

import lamina
from lamina import data, workflow
from lamina.data.cross_validation import CVResult
from lamina.workflow import uncertainty

PNG = b"\x89PNG\r\n\x1a\n"


def _build() -> lamina.Model:
    model = lamina.Sequential(
        [
            lamina.Input(shape=(4,)),
            lamina.layers.Dense(16, activation="relu"),
            lamina.layers.Dense(3),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    lamina.set_seed(0)
    x, y = data.load_iris()
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")
    splits = data.split(x, y, dev=0.2, test=0.2, train_dev=0.1, seed=0)
    model = _build()
    model.fit(*splits.train, epochs=15, batch_size=16, verbose=0)
    x_dev, y_dev = splits.dev
    preds = workflow.Predictions.from_model(model, x_dev, y_dev, name="dev")
    other = workflow.Predictions(y_dev, np.eye(3)[(y_dev + (np.arange(len(y_dev)) % 7 == 0)) % 3])
    table = workflow.run_baselines(splits, include=["majority_class", "logistic_regression"])
    table.add_model("mlp", model)
    groups = (x_dev[:, 0] > 0).astype(int)
    analysis = workflow.analyze_errors(model, x_dev, y_dev, groups=groups, k=3)
    cv = data.cross_validate(_build, *splits.train, folds=3, fit_kwargs={"epochs": 2}, verbose=0)
    curve = workflow.learning_curve(
        _build, splits=splits, fractions=(0.5, 1.0), fit_kwargs={"epochs": 3}, seeds=2
    )
    out: dict[str, object] = {
        "Interval": preds.error_interval(),
        "McNemarResult": preds.compare(other),
        "PairedTTestResult": uncertainty.corrected_paired_t_test(
            [0.8, 0.9, 0.85], [0.7, 0.8, 0.8], 80, 40
        ),
        "Predictions": preds,
        "Diagnosis": workflow.diagnose(model, splits, human_error=0.02),
        "BaselineTable": table,
        "BaselineComparison": table.compare("mlp"),
        "BaselineRow": table.rows[-1],
        "DoctorReport": workflow.doctor(_build(), splits, steps=5, verbose=0),
        "LRFinderResult": workflow.lr_find(_build(), splits, num_steps=20),
        "LearningCurve": curve,
        "LearningCurveReading": curve.reading(),
        "ErrorAnalysis": analysis,
        "ConfusionMatrix": analysis.confusion_matrix,
        "ClassificationReport": analysis.classification_report,
        "WorstMistakes": analysis.worst_mistakes,
        "GroupMetrics": analysis.group_metrics,
        "CVResult": cv,
    }
    return out


def _result_classes() -> set[str]:
    names = {
        name
        for name in workflow.__all__
        if inspect.isclass(getattr(workflow, name)) and hasattr(getattr(workflow, name), "to_dict")
    }
    return names | {"CVResult", "McNemarResult", "PairedTTestResult"}


def _same_numbers(a: object, b: object, where: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(map(str, a)) == set(b), where
        for k, v in a.items():
            _same_numbers(v, b[str(k)], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            _same_numbers(u, v, f"{where}[{i}]")
    elif isinstance(a, float):
        assert math.isfinite(a) and b == a, where
    else:
        assert a == b, where


def test_every_result_class_is_covered(results):
    assert _result_classes() - set(results) == set()
    for name, obj in results.items():
        assert type(obj).__name__ == name or (name == "CVResult" and isinstance(obj, CVResult))


@pytest.mark.parametrize("name", sorted(_result_classes() | {"CVResult"}))
def test_to_dict_is_strict_json_with_the_same_numbers(results, name):
    d = results[name].to_dict()
    text = json.dumps(d, allow_nan=False)
    _same_numbers(d, json.loads(text), name)


@pytest.mark.parametrize("name", sorted(_result_classes() | {"CVResult"}))
def test_str_is_not_empty(results, name):
    assert str(results[name]).strip()


@pytest.mark.parametrize("name", sorted(_result_classes() | {"CVResult"}))
def test_plot_writes_a_png(results, name, tmp_path):
    obj = results[name]
    if not callable(getattr(obj, "plot", None)):
        pytest.skip(f"{name} has no plot()")
    path = tmp_path / f"{name}.png"
    obj.plot(path=path)
    assert path.read_bytes()[:8] == PNG


def test_intervals_are_shown_with_their_sizes(results):
    # Every number the issue names carries its interval and its n in the text.
    for name in ("Diagnosis", "BaselineTable", "ErrorAnalysis", "LearningCurve", "CVResult"):
        text = str(results[name])
        assert "CI" in text and "n=" in text.replace("n_dev=", "n="), name


@pytest.mark.parametrize("name", ["Interval", "Diagnosis", "LearningCurve"])
def test_from_dict_reads_back_the_same_result(results, name):
    obj = results[name]
    again = type(obj).from_dict(json.loads(json.dumps(obj.to_dict())))
    _same_numbers(obj.to_dict(), json.loads(json.dumps(again.to_dict())), name)
