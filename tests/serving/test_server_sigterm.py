"""`lamina serve` as a real process: SIGTERM while a slow prediction is in flight lets
that request finish with 200 and the process exit 0; the CLI refuses bad arguments."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lamina.cli import main

ROOT = Path(__file__).resolve().parents[2]

LAUNCHER = '''
"""Registers a layer that sleeps on marked rows, then runs the `lamina` command."""
import sys
import time

import lamina


@lamina.saving.register_keras_serializable(package="ServeSigtermTest")
class SlowOnMarked(lamina.layers.Layer):
    def call(self, inputs):
        try:
            marked = inputs.numel() > 0 and float(inputs.flatten()[0]) > 100.0
        except (RuntimeError, TypeError, ValueError, NotImplementedError):
            marked = False
        if marked:
            time.sleep(1.5)
        return inputs


if __name__ == "__main__":
    from lamina.cli import main

    sys.exit(main(sys.argv[1:]))
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_flight(client: httpx.Client) -> float:
    for fam in text_string_to_metric_families(client.get("/metrics").text):
        for s in fam.samples:
            if s.name == "lamina_in_flight_requests":
                return s.value
    return 0.0


def test_sigterm_drains_the_request_in_flight_and_exits_0(tmp_path):
    launcher = tmp_path / "slow_serve.py"
    launcher.write_text(LAUNCHER)
    spec = importlib.util.spec_from_file_location("slow_serve", launcher)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import lamina

    model = lamina.Sequential([lamina.Input(shape=(4,)), module.SlowOnMarked(), lamina.layers.Dense(2)])
    path = tmp_path / "slow.lamina"
    model.save(path)
    row = [[1000.0, 1.0, 2.0, 3.0]]
    expected = model.predict(np.asarray(row, dtype="float32"), verbose=0)

    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, str(launcher), "serve", str(path), "--port", str(port), "--log-level", "warning",
         "--max-wait-ms", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the server never became ready"
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        result: dict = {}
        worker = threading.Thread(target=lambda: result.update(r=client.post("/v1/predict", json={"inputs": row})))
        worker.start()
        deadline = time.monotonic() + 10
        while in_flight(client) < 1:
            assert time.monotonic() < deadline, "the request never reached the server"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        worker.join(30)
        assert result["r"].status_code == 200, result["r"].text
        np.testing.assert_allclose(result["r"].json()["predictions"], expected, atol=1e-6, rtol=0)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def test_cli_refuses_bad_arguments(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing.lamina")]) == 2
    assert "no such model file" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "m.lamina"), "--max-batch", "0"]) == 2
    assert "--max-batch must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "m.lamina", "--backend", "tensorflow"])


def test_serve_returns_1_when_the_model_cannot_be_loaded(tmp_path):
    from lamina.serving.app import create_app
    from lamina.serving.server import serve

    broken = tmp_path / "broken.lamina"
    broken.write_bytes(b"not a zip file")
    app = create_app(str(broken))
    assert serve(app, host="127.0.0.1", port=0, log_level="critical") == 1
    assert "broken.lamina" in app.state.served.load_error or "zip" in app.state.served.load_error
