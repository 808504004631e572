"""`lamina serve`'s app (`lamina.serving.app.create_app`), driven over real loopback HTTP:
predictions equal `model.predict`, concurrent requests merged by the micro-batcher get
the same answers as alone, every class of bad input is a 4xx JSON error naming the
field, `/healthz` answers during a long batch, `/readyz` waits for the warm-up, and the
metrics / monitoring / model documents count what was sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import torch
from prometheus_client.parser import text_string_to_metric_families
from sklearn.datasets import load_digits

import lamina
from lamina.serving.app import create_app
from tests.serving.live import live_server

CLASS_NAMES = [f"digit-{i}" for i in range(10)]


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y


@pytest.fixture(scope="module")
def classifier(digits):
    x, y = digits
    torch.manual_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(64,)), lamina.layers.Dense(32, activation="relu"),
                               lamina.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    model.class_names = CLASS_NAMES
    return model


@pytest.fixture(scope="module")
def classifier_client(classifier) -> Iterator[httpx.Client]:
    with live_server(create_app(classifier, max_batch=16, max_wait_ms=20, max_body_bytes=200_000)) as client:
        yield client


@pytest.fixture(scope="module")
def regressor():
    torch.manual_seed(1)
    a = lamina.Input(shape=(3,), name="a")
    b = lamina.Input(shape=(2,), name="b")
    h = lamina.layers.Dense(8, activation="relu")(lamina.layers.Concatenate()([a, b]))
    model = lamina.Model([a, b], lamina.layers.Dense(1)(h))
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(256, 3)).astype("float32"), rng.normal(size=(256, 2)).astype("float32")
    model.fit({"a": xa, "b": xb}, xa.sum(1, keepdims=True) - xb[:, :1], epochs=2, verbose=0)
    return model


def metric_samples(client: httpx.Client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


# ---------------------------------------------------------------------------- predictions
def test_predict_classifier_matches_model_predict(classifier, classifier_client, digits):
    x, _ = digits
    rows = x[:5]
    r = classifier_client.post("/v1/predict", json={"inputs": rows.tolist(), "id": "req-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = classifier.predict(rows, verbose=0)
    assert body["id"] == "req-1"
    np.testing.assert_allclose(body["predictions"], expected, atol=1e-6, rtol=0)
    np.testing.assert_allclose(body["probabilities"], expected, atol=1e-6, rtol=0)
    assert body["classes"] == [CLASS_NAMES[i] for i in expected.argmax(1)]
    single = classifier_client.post("/v1/predict", json={"inputs": [x[7].tolist()]}).json()
    assert len(single["id"]) == 32  # generated when absent
    np.testing.assert_allclose(single["predictions"], classifier.predict(x[7:8], verbose=0), atol=1e-6, rtol=0)


def test_concurrent_requests_are_merged_and_equal_unbatched(classifier, classifier_client, digits):
    x, _ = digits
    before = metric_samples(classifier_client).get(("lamina_batch_size_rows_count", ()), 0.0)
    sizes = [1 + i % 3 for i in range(48)]
    starts = np.cumsum([0, *sizes[:-1]])

    def post(i: int) -> tuple[int, dict]:
        rows = x[starts[i]:starts[i] + sizes[i]]
        r = classifier_client.post("/v1/predict", json={"inputs": rows.tolist(), "id": f"c{i}"})
        return i, r.json()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, range(len(sizes))))
    expected = np.concatenate([classifier.predict(x[s:s + 1], verbose=0) for s in range(sum(sizes))])
    for i, body in answers:
        assert body["id"] == f"c{i}"
        np.testing.assert_allclose(body["predictions"], expected[starts[i]:starts[i] + sizes[i]], atol=1e-6, rtol=0)
    samples = metric_samples(classifier_client)
    batches = samples[("lamina_batch_size_rows_count", ())] - before
    assert batches < len(sizes), "no two requests were merged"
    assert samples[("lamina_in_flight_requests", ())] == 0


def test_request_larger_than_max_batch_runs_alone(classifier, classifier_client, digits):
    x, _ = digits
    rows = x[:40]  # max_batch is 16
    r = classifier_client.post("/v1/predict", json={"inputs": rows.tolist()})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["predictions"], classifier.predict(rows, verbose=0), atol=1e-6, rtol=0)


def test_multi_input_regression_by_name(regressor):
    rng = np.random.default_rng(5)
    xa, xb = rng.normal(size=(6, 3)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")
    with live_server(create_app(regressor)) as client:
        r = client.post("/v1/predict", json={"inputs": {"a": xa.tolist(), "b": xb.tolist()}})
        assert r.status_code == 200, r.text
        body = r.json()
        np.testing.assert_allclose(body["predictions"], regressor.predict({"a": xa, "b": xb}, verbose=0),
                                   atol=1e-6, rtol=0)
        assert "classes" not in body and "probabilities" not in body
        info = client.get("/v1/model").json()
        assert info["task"] == "regression"
        assert info["inputs"] == [{"name": "a", "shape": [None, 3], "dtype": "float32"},
                                  {"name": "b", "shape": [None, 2], "dtype": "float32"}]
        bad = {
            "missing": ({"inputs": {"a": xa.tolist()}}, "inputs.b"),
            "extra": ({"inputs": {"a": xa.tolist(), "b": xb.tolist(), "c": [[1]]}}, "inputs.c"),
            "rows, not names": ({"inputs": xa.tolist()}, "inputs"),
            "row counts differ": ({"inputs": {"a": xa.tolist(), "b": xb[:2].tolist()}}, "inputs.b"),
            "wrong width": ({"inputs": {"a": xa.tolist(), "b": xa.tolist()}}, "inputs.b[0]"),
        }
        for name, (payload, field) in bad.items():
            r = client.post("/v1/predict", json=payload)
            assert r.status_code == 422, name
            assert r.json()["error"]["field"] == field, (name, r.json())


def test_free_axis_requests_of_different_lengths_batched_apart():
    torch.manual_seed(4)
    seq = lamina.Input(shape=(None, 2), name="seq")
    model = lamina.Model(seq, lamina.layers.Dense(1)(lamina.layers.GlobalAveragePooling1D()(seq)))
    rng = np.random.default_rng(0)
    xs = [rng.random((2, length, 2)).astype("float32") for length in [1, 2, 3, 5, 7, 2, 3, 1] * 3]
    expected = [model.predict(x, verbose=0) for x in xs]
    with live_server(create_app(model, max_wait_ms=20)) as client:
        def post(i):
            return client.post("/v1/predict", json={"inputs": xs[i].tolist()}).json()

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(len(xs))))
        for body, want in zip(answers, expected):
            np.testing.assert_allclose(body["predictions"], want, atol=1e-6, rtol=0)
        r = client.post("/v1/predict", json={"inputs": [[[1, 2], [3, 4]], [[1, 2]]]})
        assert r.status_code == 422 and r.json()["error"]["field"] == "inputs[1]"
        assert client.get("/v1/model").json()["inputs"] == [{"name": "seq", "shape": [None, None, 2],
                                                             "dtype": "float32"}]


# ---------------------------------------------------------------------------- validation
ROW = ",".join(["0.5"] * 64)
BAD_BODIES = {
    "not JSON": (b"{inputs: [[1, 2]]", 400, "body"),
    "empty body": (b"", 400, "body"),
    "JSON array": (b"[[" + ROW.encode() + b"]]", 422, "body"),
    "missing inputs": (b'{"rows": []}', 422, "inputs"),
    "extra field": (b'{"inputs": [[' + ROW.encode() + b']], "x": 1}', 422, "x"),
    "empty rows": (b'{"inputs": []}', 422, "inputs"),
    "inputs not a list": (b'{"inputs": 3}', 422, "inputs"),
    "row too short": (b'{"inputs": [[' + ROW.encode() + b"], [1, 2]]}", 422, "inputs[1]"),
    "row not a list": (b'{"inputs": [[' + ROW.encode() + b'], "abc"]}', 422, "inputs[1]"),
    "string value": (b'{"inputs": [[' + ROW.replace("0.5", '"0.5"', 1).encode() + b"]]}", 422, "inputs[0][0]"),
    "boolean value": (b'{"inputs": [[' + ROW.encode()[:-3] + b"true]]}", 422, "inputs[0][63]"),
    "null value": (b'{"inputs": [[' + ROW.encode()[:-3] + b"null]]}", 422, "inputs[0][63]"),
    "nested too deep": (b'{"inputs": [[' + ROW.encode()[:-3] + b"[1]]]}", 422, "inputs[0][63]"),
    "NaN": (b'{"inputs": [[' + ROW.encode()[:-3] + b"NaN]]}", 422, "inputs[0][63]"),
    "Infinity": (b'{"inputs": [[' + ROW.encode()[:-3] + b"-Infinity]]}", 422, "inputs[0][63]"),
    "overflow to inf": (b'{"inputs": [[' + ROW.encode()[:-3] + b"1e400]]}", 422, "inputs[0][63]"),
    "beyond float32": (b'{"inputs": [[' + ROW.encode()[:-3] + b"1e39]]}", 422, "inputs[0][63]"),
    "huge integer": (b'{"inputs": [[' + ROW.encode()[:-3] + b"1" + b"0" * 400 + b"]]}", 422, "inputs[0][63]"),
    "id a list": (b'{"inputs": [[' + ROW.encode() + b']], "id": [1]}', 422, "id"),
    "id an object": (b'{"inputs": [[' + ROW.encode() + b']], "id": {"a": 1}}', 422, "id"),
    "deep nesting": (b'{"inputs": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", 400, "body"),
    "oversize body": (b'{"inputs": [' + b",".join([b"[" + ROW.encode() + b"]"] * 1000) + b"]}", 413, "body"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_each_bad_input_class_is_a_4xx_json_error(classifier_client, case):
    body, status, field = BAD_BODIES[case]
    r = classifier_client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["field"] == field
    assert error["expected"] and error["received"] and error["message"]


def test_errors_on_unknown_routes_are_json_and_server_stays_up(classifier_client, digits):
    r = classifier_client.get("/v2/predict")
    assert r.status_code == 404 and r.json()["error"]["received"] == "GET /v2/predict"
    r = classifier_client.get("/v1/predict")
    assert r.status_code == 405 and "error" in r.json()
    assert classifier_client.get("/healthz").json() == {"status": "ok"}
    r = classifier_client.post("/v1/predict", json={"inputs": digits[0][:1].tolist()})
    assert r.status_code == 200


# ---------------------------------------------------------------------------- documents
def test_metrics_monitoring_and_model_documents(classifier, digits):
    x, _ = digits
    with live_server(create_app(classifier, max_wait_ms=0)) as client:
        for i in range(3):
            assert client.post("/v1/predict", json={"inputs": x[i:i + 2].tolist()}).status_code == 200
        assert client.post("/v1/predict", json={"inputs": [[1, 2]]}).status_code == 422
        samples = metric_samples(client)
        assert samples[("lamina_requests_total", (("endpoint", "/v1/predict"), ("status", "200")))] == 3
        assert samples[("lamina_requests_total", (("endpoint", "/v1/predict"), ("status", "422")))] == 1
        assert samples[("lamina_request_latency_seconds_count", (("endpoint", "/v1/predict"),))] == 4
        assert samples[("lamina_batch_size_rows_sum", ())] == 6
        assert samples[("lamina_in_flight_requests", ())] == 0
        doc = client.get("/v1/monitoring").json()
        assert set(doc) == {"model", "uptime_s", "series", "drift", "feedback"}
        assert doc["model"] == {"name": classifier.name, "task": "classification", "backend": "torch"}
        series = doc["series"]
        assert all(len(series[k]) == 120 for k in ("t", "requests", "errors", "rows", "p50_ms", "p95_ms"))
        assert np.all(np.diff(series["t"]) == 5)
        assert (sum(series["requests"]), sum(series["errors"]), sum(series["rows"])) == (4, 1, 6)
        assert any(p is not None and p > 0 for p in series["p95_ms"])
        info = client.get("/v1/model").json()
        assert info["inputs"] == [{"name": classifier.inputs[0].name, "shape": [None, 64], "dtype": "float32"}]
        assert info["outputs"][0]["shape"] == [None, 10]
        assert info["class_names"] == CLASS_NAMES and info["task"] == "classification"
        assert info["versions"] == {"lamina": lamina.__version__, "torch": torch.__version__}
        assert info["export"] is None and info["backend"] == "torch"
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "v1/monitoring" in page.text
        openapi = client.get("/openapi.json").json()
        assert openapi["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "required"] == ["inputs"]


# ---------------------------------------------------------------------------- the model thread
class Gate:
    """Lets a test hold the model's forward pass (``block``) or make it fail (``fail``)."""

    def __init__(self) -> None:
        self.mode = "pass"
        self.entered = threading.Event()
        self.release = threading.Event()


GATE = Gate()


class GatedLayer(lamina.layers.Layer):
    def call(self, inputs):
        if GATE.mode == "block":
            GATE.entered.set()
            assert GATE.release.wait(20)
        elif GATE.mode == "fail":
            raise RuntimeError("the model broke")
        return inputs


def test_readyz_waits_for_warmup_and_healthz_answers_during_a_long_batch(digits):
    x, _ = digits
    torch.manual_seed(2)
    model = lamina.Sequential([lamina.Input(shape=(64,)), GatedLayer(), lamina.layers.Dense(3)])
    expected = model.predict(x[:2], verbose=0)  # also runs the symbolic pass before the gate is armed
    assert model.inputs
    GATE.mode, GATE.entered, GATE.release = "block", threading.Event(), threading.Event()
    try:
        with live_server(create_app(model), wait_ready=False) as client:
            assert GATE.entered.wait(20)  # the warm-up is running
            r = client.get("/readyz")
            assert r.status_code == 503 and r.json()["status"] == "starting"
            assert client.post("/v1/predict", json={"inputs": x[:1].tolist()}).status_code == 503
            GATE.release.set()
            deadline = time.monotonic() + 20
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            # A batch that holds the model thread: /healthz and /readyz still answer meanwhile.
            GATE.entered.clear()
            GATE.release.clear()
            result = {}
            worker = threading.Thread(target=lambda: result.update(
                r=client.post("/v1/predict", json={"inputs": x[:2].tolist()})))
            worker.start()
            assert GATE.entered.wait(20)
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
            assert worker.is_alive()  # the prediction is still held
            GATE.release.set()
            worker.join(20)
            assert result["r"].status_code == 200
            np.testing.assert_allclose(result["r"].json()["predictions"], expected, atol=1e-6, rtol=0)
            # An unexpected failure of the model is a JSON 500; the server carries on.
            GATE.mode = "fail"
            r = client.post("/v1/predict", json={"inputs": x[:1].tolist()})
            assert r.status_code == 500
            assert "the model broke" in r.json()["error"]["message"]
            GATE.mode = "pass"
            assert client.post("/v1/predict", json={"inputs": x[:1].tolist()}).status_code == 200
            # This model was never fitted: no profile, so no drift report and no feedback.
            assert client.get("/v1/monitoring").json()["drift"] is None
            r = client.post("/v1/feedback", json={"id": "x", "label": 1})
            assert r.status_code == 409 and r.json()["error"]["message"]
    finally:
        GATE.mode = "pass"
        GATE.release.set()


def test_drift_and_feedback_over_http(classifier, digits):
    x, y = digits
    with live_server(create_app(classifier, window=200)) as client:
        many = client.post("/v1/predict", json={"inputs": x[:100].tolist(), "id": "many"}).json()
        one = client.post("/v1/predict", json={"inputs": x[100:101].tolist(), "id": "one"}).json()
        predicted = np.array([CLASS_NAMES.index(c) for c in many["classes"] + one["classes"]])
        # Feedback: a class name or index per row; live accuracy over the labelled rows.
        r = client.post("/v1/feedback", json={"id": "one", "label": CLASS_NAMES[y[100]]})
        assert r.status_code == 200 and r.json()["feedback"]["labelled"] == 1
        r = client.post("/v1/feedback", json={"id": "many", "labels": y[:100].tolist()})
        summary = r.json()["feedback"]
        assert summary["labelled"] == 101 and summary["metric"] == "accuracy"
        assert summary["live"] == pytest.approx(np.mean(predicted == y[:101]))
        refused = {
            "unknown id": ({"id": "nope", "label": 1}, 404, "id"),
            "label and labels": ({"id": "one", "label": 1, "labels": [1]}, 422, "label"),
            "label not a number": ({"id": "one", "label": "seven"}, 422, "label"),
            "missing id": ({"label": 1}, 422, "id"),
        }
        for name, (payload, status, field) in refused.items():
            r = client.post("/v1/feedback", json=payload)
            assert (r.status_code, r.json()["error"]["field"]) == (status, field), name
        # Drift: the window holds the 101 rows; the live class distribution is ours.
        doc = client.get("/v1/monitoring").json()
        drift = doc["drift"]
        assert drift["window_rows"] == 101
        assert [f["name"] for f in drift["features"]] == [f.name for f in classifier.reference_profile.features]
        np.testing.assert_allclose(drift["prediction_distribution"]["live"],
                                   np.bincount(predicted, minlength=10) / 101, atol=1e-12)
        assert doc["feedback"]["labelled"] == 101
        samples = metric_samples(client)
        psi = {f["name"]: f["psi"] for f in drift["features"] if f["psi"] is not None}
        assert samples[("lamina_drift_psi", (("feature", "x[1]"),))] == pytest.approx(psi["x[1]"])
        assert samples[("lamina_feedback", (("metric", "live"),))] == pytest.approx(summary["live"])
        assert ("lamina_drift_alarm", ()) in samples
        # A strong shift (every pixel at its maximum) fills the window and raises the alarm.
        for _ in range(2):
            assert client.post("/v1/predict", json={"inputs": np.ones((100, 64)).tolist()}).status_code == 200
        drift = client.get("/v1/monitoring").json()["drift"]
        assert drift["window_rows"] == 200 and drift["alarm"] is True
        assert sum(f["drift"] for f in drift["features"]) > 32
