"""`lamina tour` runs the whole workflow: split with train-dev, leakage check, baselines,
doctor, an overfitting network diagnosed as variance, a regularised one that improves
it, a learning curve, error analysis, the test set used exactly once, and the report.

The tour runs once here, in quick mode (fewer epochs, the same steps); `make tour` and
tests/test_readme_and_tour.py run the full one."""

import json

import numpy as np
import pytest

import lamina
from lamina.tour import FINAL_NAME, augment, run_tour, shift_images


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """Runs the quick tour once, recording every array a Lamina model evaluates or predicts on."""
    out = tmp_path_factory.mktemp("tour")
    seen: list[np.ndarray] = []
    originals = {name: getattr(lamina.Model, name) for name in ("evaluate", "predict")}

    def recorder(name):
        def wrapped(self, x=None, *args, **kwargs):
            seen.append(np.asarray(x).copy())
            return originals[name](self, x, *args, **kwargs)

        return wrapped

    with pytest.MonkeyPatch.context() as mp:
        for name in originals:
            mp.setattr(lamina.Model, name, recorder(name))
        result = run_tour(output_dir=out, verbose=0, quick=True)
    return result, seen


def test_tour_splits_with_train_dev_and_checks_leakage(tour):
    result, _ = tour
    sizes = result.splits.sizes
    assert set(sizes) == {"train", "train_dev", "dev", "test"} and sum(sizes.values()) == 1797
    assert result.splits.stratified
    assert result.leakage.ok and set(result.leakage.pairs) >= {
        ("train", "test"),
        ("train", "train_dev"),
    }


def test_tour_runs_baselines_and_doctor_before_training(tour):
    result, _ = tour
    names = [r.name for r in result.baselines.rows]
    assert {"majority_class", "logistic_regression", "MLP, first attempt", FINAL_NAME} <= set(names)
    # The final network beats every baseline on dev.
    assert result.baselines.ranking()[0][0] == FINAL_NAME
    assert result.doctor.ok and len(result.doctor.checks) >= 8
    assert result.doctor["init_loss"].status == "pass"


def test_tour_first_network_overfits_and_the_regularised_one_improves(tour):
    result, _ = tour
    first, final = result.diagnoses["first attempt"], result.diagnoses["regularised"]
    assert first.primary == "variance"
    # The verdict holds with its interval: the variance gap is established, not noise.
    assert first.established["variance"] and first.gap_intervals["variance"].low > first.tolerance
    assert first.sizes["train_dev"] == result.splits.sizes["train_dev"]
    assert first.train_error == 0.0 and first.train_dev_error > 0.04
    assert "Add regularisation (dropout, L2 weight decay)." in first.recommendations
    assert final.variance < first.variance / 2
    assert final.dev_error < first.dev_error
    assert final.test_error is None  # the diagnosis never sees the test set


def test_tour_learning_curve_and_error_analysis_use_the_dev_set(tour):
    result, _ = tour
    curve = result.learning_curve
    assert curve.sizes == sorted(curve.sizes) and curve.sizes[-1] == result.splits.sizes["train"]
    assert curve.n_dev == result.splits.sizes["dev"]
    assert curve.dev_errors[0] > curve.dev_errors[-1]
    assert curve.reading().verdict in (
        "more_data",
        "variance_plateau",
        "bias",
        "converged",
        "inconclusive",
    )
    assert curve.n_seeds == 3  # each size trained with three seeds: bands, not lines
    assert all(i.low <= e <= i.high for i, e in zip(curve.dev_intervals, curve.dev_errors))
    analysis = result.error_analysis
    assert analysis.confusion_matrix.counts.sum() == result.splits.sizes["dev"]
    dev_accuracy = result.accuracies[FINAL_NAME]["validation"]
    assert analysis.confusion_matrix.accuracy == pytest.approx(dev_accuracy)
    worst = analysis.worst_mistakes
    assert worst.image_shape == (8, 8) and worst.inputs.shape == (len(worst), 64)
    for name in ("training_curves", "learning_curve", "confusion_matrix", "worst_mistakes"):
        assert result.plots[name].read_bytes()[:4] == b"\x89PNG"


def test_tour_touches_the_test_set_exactly_once_at_the_end(tour):
    result, seen = tour
    x_test = np.asarray(result.splits.test[0])
    uses = [i for i, x in enumerate(seen) if x.shape == x_test.shape and np.array_equal(x, x_test)]
    assert len(uses) == 1 and result.test_evaluations == 1
    assert uses[0] == len(seen) - 1  # the very last evaluation of the tour
    assert result.accuracies[FINAL_NAME]["test"] >= 0.97
    assert "test" not in result.accuracies["MLP, first attempt"]


def test_tour_writes_the_report(tour):
    result, _ = tour
    assert (
        result.report_path.name == "report.html" and result.report_json_path.name == "report.json"
    )
    data = json.loads(result.report_json_path.read_text())
    assert {
        "data",
        "model",
        "scores",
        "baselines",
        "doctor",
        "training",
        "diagnosis",
        "learning_curve",
        "error_analysis",
    } <= set(data["sections"])
    test_score = data["scores"][FINAL_NAME]["test"]
    assert test_score["estimate"] == pytest.approx(result.accuracies[FINAL_NAME]["test"])
    assert test_score["n"] == result.splits.sizes["test"]
    assert test_score["low"] < test_score["estimate"] < test_score["high"]
    assert [d["primary"] for d in data["diagnosis"].values()][0] == "variance"
    assert data["data"]["splits"]["sizes"] == result.splits.sizes
    assert data["data"]["summary"]["leakage check"]["ok"] is True
    assert len(data["training"]) == 2
    page = result.report_path.read_text()
    # Baseline scores, two training runs, errors per split of the two diagnoses, the
    # learning curve, the confusion matrix, the worst mistakes.
    assert page.count('<img src="data:image/png;base64,') == 8
    assert result.curves_path == result.report_path.parent / "training_curves.png"


def test_shift_images_and_augment():
    x = np.arange(64, dtype=np.float32).reshape(1, 64)
    down = shift_images(x, 1, 0).reshape(8, 8)
    np.testing.assert_array_equal(down[1:], x.reshape(8, 8)[:-1])
    assert not down[0].any()
    left = shift_images(x, 0, -1).reshape(8, 8)
    np.testing.assert_array_equal(left[:, :-1], x.reshape(8, 8)[:, 1:])
    xa, ya = augment(np.ones((3, 64), np.float32), np.array([0, 1, 2]))
    assert xa.shape == (15, 64) and ya.tolist() == [0, 1, 2] * 5


def test_tour_ships_the_model_as_lamina_and_checked_onnx(tour):
    import onnx
    import onnxruntime as ort

    result, _ = tour
    assert (
        result.model_path.name == "digits_mlp.lamina" and result.onnx_path.name == "digits_mlp.onnx"
    )
    assert result.export.max_difference <= 1e-5
    assert sorted(p.name for p in result.onnx_path.parent.glob("digits_mlp*")) == [
        "digits_mlp.lamina",
        "digits_mlp.onnx",
    ]  # one self-contained ONNX file, no .onnx.data beside it
    loaded = lamina.load_model(result.model_path)
    x_dev = np.asarray(result.splits.dev[0], dtype=np.float32)
    expected = loaded.predict(x_dev, verbose=0)
    session = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x_dev})
    np.testing.assert_allclose(got, expected, atol=1e-5)
    metadata = {p.key: p.value for p in onnx.load(str(result.onnx_path)).metadata_props}
    assert json.loads(metadata["class_names"]) == [str(d) for d in range(10)]
    assert loaded.reference_profile is not None
