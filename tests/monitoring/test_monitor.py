"""DriftMonitor behaviour: the report's shape, the window, minimum rows, threads, inputs."""

import json
import threading

import numpy as np
import pytest

from lamina.monitoring import DriftMonitor, ReferenceProfile
from lamina.monitoring import statistics as st


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def classifier_profile(rng):
    x = {"num": rng.normal(size=(2000, 2)), "tag": rng.choice(["a", "b", "c"], p=[0.5, 0.3, 0.2], size=2000)}
    probs = rng.dirichlet([4.0, 2.0, 1.0], size=2000)
    return ReferenceProfile.from_data(x, probs, class_names=["cat", "dog", "emu"])


def _live(rng, n, tag_p=(0.5, 0.3, 0.2), alpha=(4.0, 2.0, 1.0)):
    x = {"num": rng.normal(size=(n, 2)), "tag": rng.choice(["a", "b", "c"], p=list(tag_p), size=n)}
    return x, rng.dirichlet(list(alpha), size=n)


def test_report_fields_and_values_match_direct_computation(rng, classifier_profile):
    monitor = DriftMonitor(classifier_profile, window=500, alpha=0.01)
    x, probs = _live(rng, 500)
    monitor.update(x, probs)
    report = monitor.report()
    json.dumps(report, allow_nan=False)  # JSON-able, no NaN
    assert {k: report[k] for k in ("window_rows", "window", "alpha")} == {"window_rows": 500, "window": 500, "alpha": 0.01}
    assert [f["name"] for f in report["features"]] == ["num[0]", "num[1]", "tag"]
    num0, tag = report["features"][0], report["features"][2]
    assert (num0["kind"], num0["test"], tag["kind"], tag["test"]) == ("numeric", "ks", "categorical", "chi2")
    f0 = classifier_profile.features[0]
    live_fractions = st.bin_fractions(x["num"][:, 0], np.array(f0.edges))
    assert num0["psi"] == pytest.approx(st.psi(f0.reference_fractions(), live_fractions))
    expected = st.ks_against_quantiles(x["num"][:, 0], np.array(f0.quantiles), 2000)
    assert (num0["statistic"], num0["p_value"]) == pytest.approx(expected)
    pred = report["predictions"]
    assert (pred["name"], pred["kind"], pred["test"]) == ("predictions", "categorical", "chi2")
    entries = report["features"] + [pred]
    np.testing.assert_allclose([e["p_adjusted"] for e in entries],
                               st.benjamini_hochberg(np.array([e["p_value"] for e in entries])))
    assert report["alarm"] == any(e["p_adjusted"] < 0.01 for e in entries)
    dist = report["prediction_distribution"]
    assert dist["kind"] == "classes" and dist["labels"] == ["cat", "dog", "emu"]
    np.testing.assert_allclose(dist["live"], np.bincount(probs.argmax(1), minlength=3) / 500)
    np.testing.assert_allclose(dist["reference"], np.array(classifier_profile.prediction.counts) / 2000)


def test_categorical_and_prediction_drift_are_flagged(rng, classifier_profile):
    monitor = DriftMonitor(classifier_profile)
    x, probs = _live(rng, 500, tag_p=(0.3, 0.3, 0.4), alpha=(1.0, 2.0, 4.0))
    monitor.update(x, probs)
    report = monitor.report()
    drifted = {e["name"] for e in report["features"] if e["drift"]}
    assert drifted == {"tag"} and report["predictions"]["drift"] and report["alarm"]
    assert report["features"][2]["psi"] > 0.1


def test_unseen_category_goes_to_other(rng, classifier_profile):
    monitor = DriftMonitor(classifier_profile)
    x, probs = _live(rng, 200)
    x["tag"][:100] = "never seen"
    monitor.update(x, probs)
    assert monitor.report()["features"][2]["drift"]


def test_no_p_values_before_min_rows(rng, classifier_profile):
    monitor = DriftMonitor(classifier_profile, window=500, min_rows=50)
    x, probs = _live(rng, 49, tag_p=(0.0, 0.0, 1.0))  # drifted, but too few rows
    monitor.update(x, probs)
    report = monitor.report()
    assert report["window_rows"] == 49 and report["alarm"] is False
    assert all(e["p_value"] is None and e["p_adjusted"] is None and e["drift"] is False
               for e in report["features"] + [report["predictions"]])
    assert report["features"][2]["psi"] > 0
    empty = DriftMonitor(classifier_profile).report()
    assert empty["window_rows"] == 0 and empty["features"][0]["psi"] is None


def test_window_keeps_the_most_recent_rows(rng):
    profile = ReferenceProfile.from_data(rng.normal(size=(2000, 3)))
    monitor = DriftMonitor(profile, window=300)
    monitor.update(rng.normal(size=(300, 3)) + 3.0)
    assert monitor.report()["alarm"]
    for _ in range(3):  # 300 in-distribution rows in pieces push the shifted ones out
        monitor.update(rng.normal(size=(100, 3)))
    report = monitor.report()
    assert report["window_rows"] == 300 and report["rows_seen"] == 600 and not report["alarm"]
    monitor.update(rng.normal(size=(1000, 3)) + 3.0)  # more rows than the window: the last 300
    assert monitor.report()["alarm"] and monitor.report()["window_rows"] == 300


def test_regression_prediction_distribution(rng):
    x = rng.normal(size=(2000, 2))
    monitor = DriftMonitor(ReferenceProfile.from_data(x, x.sum(1)))
    live = rng.normal(size=(400, 2))
    monitor.update(live, live.sum(1)[:, None])
    report = monitor.report()
    dist = report["prediction_distribution"]
    assert dist["kind"] == "values" and len(dist["labels"]) == len(dist["live"]) == 10
    assert sum(dist["live"]) == pytest.approx(1.0) and report["predictions"]["test"] == "ks"


def test_concurrent_updates_are_all_counted(rng):
    profile = ReferenceProfile.from_data(rng.normal(size=(500, 4)), rng.normal(size=500))
    monitor = DriftMonitor(profile, window=500)
    batches = [np.random.default_rng(i).normal(size=(7, 4)) for i in range(8)]

    def work(batch):
        for _ in range(50):
            monitor.update(batch, batch[:, 0])
            monitor.report()

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    report = monitor.report()
    assert report["rows_seen"] == 8 * 50 * 7 and report["window_rows"] == 500


def test_input_errors_are_clear(rng, classifier_profile):
    monitor = DriftMonitor(classifier_profile)
    with pytest.raises(ValueError, match=r"lack the field 'tag'.*Received fields: \['num'\]"):
        monitor.update({"num": rng.normal(size=(3, 2))}, rng.dirichlet([1, 1, 1], size=3))
    x, probs = _live(rng, 5)
    with pytest.raises(ValueError, match="one prediction per input row"):
        monitor.update(x, probs[:4])
    with pytest.raises(TypeError, match="expects a `lamina.monitoring.ReferenceProfile`"):
        DriftMonitor(None)
    with pytest.raises(ValueError, match=r"`alpha` must be a number in \(0, 1\). Received: alpha=2"):
        DriftMonitor(classifier_profile, alpha=2)
    tabular = DriftMonitor(ReferenceProfile.from_data(rng.normal(size=(100, 3))))
    with pytest.raises(ValueError, match=r"column 2 of a 2-D input.*shape \(4, 2\)"):
        tabular.update(rng.normal(size=(4, 2)))


def test_single_named_input_accepts_a_bare_array(rng):
    profile = ReferenceProfile.from_data({"pixels": rng.normal(size=(300, 3))}, rng.normal(size=300))
    monitor = DriftMonitor(profile)
    monitor.update(rng.normal(size=(60, 3)), rng.normal(size=60))
    monitor.update({"pixels": rng.normal(size=(60, 3))}, {"out": rng.normal(size=60), "aux": rng.normal(size=60)})
    report = monitor.report()
    assert report["window_rows"] == 120 and [f["name"] for f in report["features"]] == ["pixels[0]", "pixels[1]", "pixels[2]"]
