"""`lamina serve --backend onnx`: the app exports the model at start-up (with the export's
parity check) and answers from ONNX Runtime; a model that starts with string
preprocessing gets it applied before the session. Answers equal `model.predict`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.serving.app import create_app
from tests.serving.live import live_server

pytest.importorskip("onnxruntime")

TEXTS = ["a good film", "a bad film", "great acting", "terrible plot", "good plot", "bad acting"]


@pytest.fixture(scope="module")
def text_classifier():
    torch.manual_seed(3)
    vectorize = lamina.layers.TextVectorization(max_tokens=20, output_mode="int", output_sequence_length=6)
    vectorize.adapt(np.array([[t] for t in TEXTS]))
    text = lamina.Input(shape=(1,), dtype="string", name="review")
    h = lamina.layers.Embedding(20, 4)(vectorize(text))
    h = lamina.layers.GlobalAveragePooling1D()(h)
    model = lamina.Model(text, lamina.layers.Dense(3, activation="softmax")(h))
    model.class_names = ["neg", "neutral", "pos"]
    return model


def test_onnx_backend_serves_string_model_equal_to_predict(text_classifier):
    rows = ["a good film", "unknown words only", "terrible acting plot"]
    expected = text_classifier.predict(np.array([[r] for r in rows]), verbose=0)
    with live_server(create_app(text_classifier, backend="onnx")) as client:
        info = client.get("/v1/model").json()
        assert info["backend"] == "onnx"
        assert info["export"]["max_difference"] <= info["export"]["atol"] and info["export"]["preprocessing"]
        assert set(info["versions"]) == {"lamina", "torch", "onnxruntime"}
        assert info["inputs"] == [{"name": "review", "shape": [None, 1], "dtype": "string"}]
        r = client.post("/v1/predict", json={"inputs": rows})  # one string per row
        assert r.status_code == 200, r.text
        body = r.json()
        np.testing.assert_allclose(body["predictions"], expected, atol=1e-5, rtol=0)
        assert body["classes"] == [["neg", "neutral", "pos"][i] for i in expected.argmax(1)]
        r = client.post("/v1/predict", json={"inputs": [["a good film"], [3]]})
        assert r.status_code == 422 and r.json()["error"]["field"] == "inputs[1][0]"
        assert r.json()["error"]["expected"] == "a string"
        assert client.get("/v1/monitoring").json()["model"]["backend"] == "onnx"
