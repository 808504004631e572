"""`fit`'s progress display in Jupyter: one output, updated in place while training.

A small notebook runs in a real kernel started from this interpreter (a kernelspec
written into a temporary JUPYTER_PATH, so nothing global is used or changed).
"""

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]

SETUP = """
import time
import numpy as np
import torch
import lamina
torch.set_num_threads(1)
rng = np.random.default_rng(0)
x = rng.normal(size=(96, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])

class Slow(lamina.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.03)  # about 0.7 s per epoch: several refreshes inside each epoch
"""

FIT = "history = model.fit(x, y, batch_size=4, epochs=3, callbacks=[Slow()])"


class RecordingClient(nbclient.NotebookClient):
    """Notes the type of every output message of every cell."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages = {}
        self.live_bars = []

    def process_message(self, msg, cell, cell_index):
        self.messages.setdefault(cell_index, []).append(msg["msg_type"])
        if msg["msg_type"] == "update_display_data" and "<progress" in msg["content"]["data"]["text/html"]:
            self.live_bars.append(msg["content"]["data"]["text/plain"].splitlines()[-1])
        return super().process_message(msg, cell, cell_index)


@pytest.fixture()
def kernel_name(tmp_path, monkeypatch):
    spec = tmp_path / "jupyter" / "kernels" / "lamina-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lamina test", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return "lamina-test"


def test_fit_progress_is_one_display_updated_in_place_in_a_notebook(kernel_name):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(FIT)]
    client = RecordingClient(nb, kernel_name=kernel_name, timeout=90, startup_timeout=60,
                             resources={"metadata": {"path": str(ROOT)}})
    try:
        client.execute()
    except RuntimeError as e:  # the kernel did not start
        pytest.skip(f"no Jupyter kernel could be started from {sys.executable}: {e}")
    outputs = nb.cells[1].outputs
    kinds = client.messages[1]
    # One display in the cell, no stream of epoch lines.
    assert [o.output_type for o in outputs] == ["display_data"]
    assert kinds.count("display_data") == 1
    # Updated in place: several refreshes inside each epoch (5 updates would be epoch boundaries only).
    assert kinds.count("update_display_data") >= 12
    # A bar with values is drawn mid-epoch (the one drawn at the epoch's start has none yet).
    assert any(bar.startswith("Epoch 2/3 [") and "/24 - " in bar and "loss:" in bar for bar in client.live_bars)
    final = outputs[0].data["text/plain"].splitlines()
    assert [line[:9] for line in final] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert "24/24" in final[-1] and "accuracy:" in final[-1]
    assert "<progress" not in outputs[0].data["text/html"]  # the finished display has no live bar
