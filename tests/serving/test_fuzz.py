"""Property-based fuzzing of the real `lamina serve` app over loopback (plain hypothesis).

The request schema comes from the server's own OpenAPI document (`GET /openapi.json`:
the required and allowed keys of `POST /v1/predict` and `POST /v1/feedback`) and
the row shape from `GET /v1/model`. Hypothesis then sends valid bodies (which must
get a 200 with one prediction per row) and broken ones: JSON junk of every kind,
wrong types in cells, NaN / Infinity (as JSON tokens and as strings), huge numbers,
deep nesting, wrong row lengths, missing and extra keys, bytes that are not JSON,
odd content types and unknown paths. Never a 5xx; every refusal is a 4xx JSON body
``{"error": {"message": ...}}``; the server still answers `/healthz` afterwards.

Bounded: a derandomized run (the same examples on every run) of at most ~300
requests, without a deadline per example.
"""

import json
import math

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina
from lamina import layers
from lamina.serving.app import create_app
from tests.serving.live import live_server

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def server():
    """The real app (a digits-sized softmax MLP, torch backend) under uvicorn in a thread."""
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(64,)), layers.Dense(16, activation="relu"),
                               layers.Dense(10, activation="softmax")], name="fuzzed")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    app = create_app(model, max_batch=16, max_wait_ms=2.0, max_body_bytes=256 * 1024)
    with live_server(app) as client:
        yield client


@pytest.fixture(scope="module")
def schema(server):
    """What the fuzzer knows, read from the server: the body schemas and the row shape."""
    spec = server.get("/openapi.json").json()

    def body_schema(path: str) -> dict:
        return spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]

    predict, feedback = body_schema("/v1/predict"), body_schema("/v1/feedback")
    (model_input,) = server.get("/v1/model").json()["inputs"]
    return {"predict": predict, "feedback": feedback, "row_shape": model_input["shape"][1:],
            "paths": sorted(spec["paths"])}


def _check(response: httpx.Response, *, refused: bool | None = None) -> None:
    """No 5xx; a refusal is a 4xx JSON error with a message; `refused` pins the outcome."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if refused is True:
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if refused is False:
        assert response.status_code == 200, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"].strip()


def _post(client: httpx.Client, path: str, body: object, headers: dict | None = None) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body, allow_nan=True).encode()
    return client.post(path, content=data, headers=headers or {"Content-Type": "application/json"})


# ----------------------------------------------------------------------------- strategies
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False, width=32)
cell_junk = st.one_of(
    st.none(), st.booleans(), st.text(max_size=12),
    st.sampled_from(["NaN", "nan", "Infinity", "-inf", "1e999", "0x10", ""]),
    st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")),
    st.sampled_from([1e39, -3.5e38, 1e308, 10**40, -(10**400)]),
    st.lists(finite, max_size=3), st.dictionaries(st.text(max_size=4), finite, max_size=2),
)
json_junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=25,
)


def rows(width: int, min_rows: int = 1, max_rows: int = 8) -> st.SearchStrategy:
    return st.lists(st.lists(st.one_of(finite, st.integers(-1000, 1000)), min_size=width, max_size=width),
                    min_size=min_rows, max_size=max_rows)


def _width(schema: dict) -> int:
    return int(np.prod(schema["row_shape"]))


# ----------------------------------------------------------------------------- valid bodies
def test_fuzz_valid_bodies_get_one_prediction_per_row(server, schema):
    predict = schema["predict"]
    assert predict["required"] == ["inputs"] and predict["additionalProperties"] is False
    optional = [k for k in predict["properties"] if k not in predict["required"]]
    assert optional == ["id"]
    max_id = predict["properties"]["id"]["maxLength"]

    @settings(max_examples=60, **SETTINGS)
    @given(data=rows(_width(schema)), request_id=st.none() | st.text(min_size=1, max_size=max_id))
    def check(data, request_id):
        body = {"inputs": data} if request_id is None else {"inputs": data, "id": request_id}
        r = _post(server, "/v1/predict", body)
        _check(r, refused=False)
        answer = r.json()
        assert len(answer["predictions"]) == len(data) == len(answer["classes"])
        assert all(len(p) == 10 and math.isclose(sum(p), 1.0, abs_tol=1e-4) for p in answer["predictions"])
        if request_id is not None:
            assert answer["id"] == request_id

    check()


# ----------------------------------------------------------------------------- broken bodies
def test_fuzz_broken_cells_rows_and_keys_are_refused(server, schema):
    width = _width(schema)

    @st.composite
    def broken(draw):
        data = draw(rows(width, max_rows=4))
        kind = draw(st.sampled_from(["cell", "short", "long", "row_type", "missing", "extra", "empty", "id"]))
        if kind == "cell":
            r, c = draw(st.integers(0, len(data) - 1)), draw(st.integers(0, width - 1))
            data[r][c] = draw(cell_junk)
            return {"inputs": data}
        if kind in ("short", "long"):
            r = draw(st.integers(0, len(data) - 1))
            data[r] = data[r][: draw(st.integers(0, width - 1))] if kind == "short" else data[r] + [0.0] * draw(
                st.integers(1, 5))
            return {"inputs": data}
        if kind == "row_type":
            data[draw(st.integers(0, len(data) - 1))] = draw(json_junk.filter(lambda v: not isinstance(v, list)))
            return {"inputs": data}
        if kind == "missing":
            return draw(st.sampled_from([{}, {"id": "x"}, {"input": data}, {"Inputs": data}]))
        if kind == "extra":
            key = draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in ("inputs", "id")))
            return {"inputs": data, key: draw(json_junk)}
        if kind == "empty":
            return {"inputs": draw(st.sampled_from([[], {}, [[]], None, "rows", 3]))}
        return {"inputs": data, "id": draw(st.one_of(st.text(min_size=201, max_size=260), st.booleans(),
                                                       st.lists(st.integers(), max_size=2), st.floats()))}

    @settings(max_examples=100, **SETTINGS)
    @given(body=broken())
    def check(body):
        _check(_post(server, "/v1/predict", body), refused=True)

    check()


def test_fuzz_junk_bytes_content_types_and_paths(server, schema):
    width = _width(schema)
    deep = ("[" * 5000 + "]" * 5000).encode()
    valid = json.dumps({"inputs": [[0.5] * width]}).encode()

    @settings(max_examples=100, **SETTINGS)
    @given(
        body=st.one_of(
            st.binary(max_size=200),
            json_junk.map(lambda v: json.dumps(v).encode()),
            json_junk.map(lambda v: json.dumps({"inputs": v}).encode()),
            st.sampled_from([deep, b'{"inputs": ' + deep + b"}", b'{"inputs": [[NaN]]}', b"\xff\xfe{}",
                             b'{"inputs": [[1e999]]}', valid[:-1], valid + b"}", b"", b"null"]),
        ),
        content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                      "multipart/form-data; boundary=x", None]),
        path=st.sampled_from(["/v1/predict", "/v1/feedback"]),
    )
    def check(body, content_type, path):
        headers = {} if content_type is None else {"Content-Type": content_type}
        # Only the one valid predict body may succeed (whatever its content type).
        _check(server.post(path, content=body, headers=headers), refused=None if body == valid else True)

    check()
    # A body over the server's limit, unknown paths and methods: 4xx JSON too.
    _check(_post(server, "/v1/predict", {"inputs": [[0.5] * width] * 4000}), refused=True)
    assert _post(server, "/v1/predict", {"inputs": [[0.5] * width] * 4000}).status_code == 413
    for method, path in [("GET", "/v1/predict"), ("PUT", "/v1/model"), ("GET", "/v1/nope"), ("DELETE", "/")]:
        _check(server.request(method, path), refused=True)


def test_fuzz_feedback_bodies(server, schema):
    feedback = schema["feedback"]
    assert feedback["required"] == ["id"]
    keys = sorted(feedback["properties"])
    good = _post(server, "/v1/predict", {"inputs": [[0.25] * _width(schema)], "id": "known-id"})
    _check(good, refused=False)

    @settings(max_examples=40, **SETTINGS)
    @given(body=st.one_of(
        st.fixed_dictionaries({"id": st.one_of(st.just("known-id"), st.text(max_size=10), json_junk)},
                              optional={k: json_junk for k in keys if k != "id"}),
        st.dictionaries(st.text(max_size=8), json_junk, max_size=4),
        json_junk,
    ))
    def check(body):
        _check(_post(server, "/v1/feedback", body))

    check()


def test_fuzz_server_still_answers_afterwards(server, schema):
    """Runs last in this file: the app survived every example above and still predicts."""
    assert server.get("/healthz").json() == {"status": "ok"}
    assert server.get("/readyz").status_code == 200
    r = _post(server, "/v1/predict", {"inputs": [[0.5] * _width(schema)] * 3})
    _check(r, refused=False)
    assert len(r.json()["predictions"]) == 3
    metrics = server.get("/metrics").text
    assert "lamina" in metrics


@pytest.fixture(scope="module")
def two_input_server():
    """A functional regressor with two named inputs, served the same way."""
    lamina.set_seed(1)
    a, b = lamina.Input(shape=(3,), name="age"), lamina.Input(shape=(2,), name="dose")
    out = layers.Dense(1)(layers.Concatenate()([layers.Dense(4)(a), b]))
    model = lamina.Model(inputs=[a, b], outputs=out, name="two_inputs")
    app = create_app(model, max_batch=8, max_wait_ms=1.0)
    with live_server(app) as client:
        yield client, model


def test_fuzz_named_inputs(two_input_server):
    client, model = two_input_server
    specs = {s["name"]: s["shape"][1:] for s in client.get("/v1/model").json()["inputs"]}
    assert specs == {"age": [3], "dose": [2]}

    @st.composite
    def body(draw):
        n = draw(st.integers(1, 5))
        inputs = {k: draw(rows(w, n, n)) for k, (w,) in specs.items()}
        kind = draw(st.sampled_from(["valid", "valid", "missing", "extra", "rows", "list", "width"]))
        if kind == "missing":
            del inputs[draw(st.sampled_from(sorted(inputs)))]
        elif kind == "extra":
            inputs[draw(st.text(min_size=1, max_size=6).filter(lambda k: k not in specs))] = inputs["age"]
        elif kind == "rows":
            inputs["dose"] = inputs["dose"] + draw(rows(2, 1, 2))
        elif kind == "list":
            return {"inputs": list(inputs.values())}, False
        elif kind == "width":
            inputs["age"] = [r[:2] for r in inputs["age"]]
        return {"inputs": inputs}, kind == "valid"

    @settings(max_examples=40, **SETTINGS)
    @given(case=body())
    def check(case):
        payload, valid = case
        r = _post(client, "/v1/predict", payload)
        _check(r, refused=not valid)
        if valid:
            inputs = payload["inputs"]
            expected = model.predict([np.array(inputs["age"], "float32"), np.array(inputs["dose"], "float32")],
                                     verbose=0)
            np.testing.assert_allclose(np.array(r.json()["predictions"]), expected, rtol=1e-5, atol=1e-4)

    check()
