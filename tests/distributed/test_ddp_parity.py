"""fit / evaluate / predict under `torchrun` (2 processes, gloo) against one process.

Each test launches `python -m torch.distributed.run --nproc_per_node=2 --standalone`
on tests/distributed/ddp_worker.py, which writes one JSON per case and rank.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from tests.distributed.torchrun import launch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
_spec = importlib.util.spec_from_file_location("ddp_worker", HERE / "ddp_worker.py")
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)

pytestmark = pytest.mark.skipif(
    not lamina.distributed.context.dist.is_available(), reason="torch.distributed is not available"
)


def _launch(out: Path, cases: str, timeout: float, **env: str) -> subprocess.CompletedProcess:
    return launch(HERE / "ddp_worker.py", str(out), cases, cwd=out, timeout=timeout, **env)


def _results(out: Path, case: str, proc: subprocess.CompletedProcess) -> list[dict]:
    found = []
    for rank in (0, 1):
        path = out / f"{case}_rank{rank}.json"
        assert path.exists(), (
            f"rank {rank} wrote no {path.name}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
        found.append(json.loads(path.read_text()))
    return found


def _assert_history_close(got: dict, want: dict, atol: float = 1e-6) -> None:
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=atol, err_msg=key)


def _assert_like_reference(result: dict, reference: tuple, atol: float = 1e-6) -> None:
    """A process's weights and history equal the single-process run's."""
    model, history = reference
    for got_w, want_w in zip(result["weights"], worker.weights(model)):
        np.testing.assert_allclose(got_w, want_w, rtol=0, atol=atol)
    _assert_history_close(result["history"], history, atol)  # loss, accuracy, AUC, mae, val_*


@pytest.fixture(scope="module")
def main_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("ddp")
    proc = _launch(out, "fit,stop,datasets,fsdp,backup,split,jit", timeout=240)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return out, proc


@pytest.fixture(scope="module")
def reference() -> tuple[lamina.Model, dict]:
    # One process, the global batch of the 2-process run (2 x 8), the same seed.
    return worker.fit_reference(2 * worker.PER_DEVICE_BATCH)


def test_ddp_fit_weights_and_history_match_single_process(main_run, reference) -> None:
    out, proc = main_run
    for result in _results(out, "fit", proc):
        _assert_like_reference(result, reference)


def test_ddp_jit_compile_matches_single_process(main_run, reference) -> None:
    # torch.compile over the DDP wrapper: the gradients still go through DDP's all-reduce.
    out, proc = main_run
    for result in _results(out, "jit", proc):
        _assert_like_reference(result, reference, atol=1e-5)


def test_ddp_evaluate_and_predict_match_single_process(main_run, reference) -> None:
    out, proc = main_run
    model, _ = reference
    xv, yv, _ = worker.data(23, seed=1)
    want_eval = model.evaluate(xv, yv, batch_size=4, verbose=0, return_dict=True)
    want_pred = model.predict(xv, batch_size=4, verbose=0)
    results = _results(out, "fit", proc)
    assert "local_evaluate" in results[0] and "local_evaluate" not in results[1]
    for result in results:
        assert set(result["evaluate"]) == set(want_eval)
        for key, value in want_eval.items():
            assert result["evaluate"][key] == pytest.approx(value, abs=1e-6), key
        if "local_evaluate" in result:  # rank 0 alone, inside `lamina.distributed.local()`
            for key, value in want_eval.items():
                assert result["local_evaluate"][key] == pytest.approx(value, abs=1e-6), key
        # The full prediction, in order, on every process.
        np.testing.assert_allclose(np.array(result["predict"]), want_pred, rtol=0, atol=1e-6)


def test_ddp_files_written_by_rank_0_only(main_run, reference) -> None:
    out, _ = main_run
    model, history = reference
    assert (out / "log_rank0.csv").exists() and not (out / "log_rank1.csv").exists()
    assert (out / "model_rank0.lamina").exists() and not (out / "model_rank1.lamina").exists()
    with open(out / "log_rank0.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["val_auc"]) for r in rows] == pytest.approx(history["val_auc"], abs=1e-6)
    loaded = lamina.load_model(out / "model_rank0.lamina")
    for got_w, want_w in zip(worker.weights(loaded), worker.weights(model)):
        np.testing.assert_allclose(got_w, want_w, rtol=0, atol=1e-6)


def test_ddp_stop_decisions_identical_on_all_ranks(main_run) -> None:
    out, proc = main_run
    r0, r1 = _results(out, "stop", proc)
    # stop_training set by a callback on rank 1 only, at the end of epoch 1: both stop.
    assert r0["stopped_epochs"] == r1["stopped_epochs"] == 2
    # EarlyStopping on the reduced val_loss: the same values and the same epoch everywhere.
    assert r0["early_val_loss"] == r1["early_val_loss"]
    assert r0["early_epochs"] == r1["early_epochs"] < 30
    # ReduceLROnPlateau on the same reduced val_loss: the same schedule, with reductions.
    assert r0["learning_rate"] == r1["learning_rate"] and min(r0["learning_rate"]) < max(
        r0["learning_rate"]
    )
    # A value a custom train_step logs (the rank: 0 and 1) is averaged: 0.5 everywhere.
    assert r0["custom_rank_value"] == r1["custom_rank_value"] == [0.5]
    assert r0["custom_loss"] == r1["custom_loss"]  # the step's own (per-process) losses, averaged
    # verbose=2: the progress lines of rank 0 only (2 epochs run).
    assert proc.stdout.count("Epoch 1/5") == 1 and proc.stdout.count("Epoch 2/5") == 1


def test_ddp_dataset_inputs_are_disjoint_per_rank(main_run) -> None:
    out, proc = main_run
    r0, r1 = _results(out, "datasets", proc)
    # Dataset (40 samples, batch 5, 2 epochs): the first batch is read once more to build.
    # Per epoch each rank reads 20 samples; the two ranks' samples are disjoint and cover all.
    for first, per_rank, n in (("dataset_seen", 20, 40), ("loader_seen", 15, 30)):
        a, b = r0[first][5 : 5 + per_rank], r1[first][5 : 5 + per_rank]
        assert r0[first][:5] == a[:5] and r1[first][:5] == b[:5]
        assert not set(a) & set(b)
        assert sorted(a + b) == list(range(n))
    # Dataset epochs 2: a new shuffle (DistributedSampler.set_epoch).
    assert r0["dataset_seen"][25:45] != r0["dataset_seen"][5:25]
    # PyDataset of 5 batches: after batch 0 (read to build), 3 batches each; one repeated.
    a, b = r0["pydataset_seen"][1:], r1["pydataset_seen"][1:]
    assert len(a) == len(b) == 3 and set(a) | set(b) == set(range(5))


def test_fsdp_fit_matches_single_process_and_saves_an_ordinary_file(main_run, reference) -> None:
    out, proc = main_run
    model, _ = reference
    xv, yv, _ = worker.data(23, seed=1)
    want_eval = model.evaluate(xv, yv, batch_size=4, verbose=0, return_dict=True)
    for result in _results(out, "fsdp", proc):
        _assert_like_reference(result, reference)
        for key, value in want_eval.items():  # the sharded model after fit: evaluate, predict
            assert result["evaluate"][key] == pytest.approx(value, abs=1e-6), key
        np.testing.assert_allclose(
            np.array(result["predict"]), model.predict(xv, verbose=0), atol=1e-6
        )
    loaded = lamina.load_model(out / "fsdp_model.lamina")  # one process, no torch.distributed
    assert type(loaded) is lamina.Sequential
    for got_w, want_w in zip(worker.weights(loaded), worker.weights(model)):
        np.testing.assert_allclose(got_w, want_w, rtol=0, atol=1e-6)
    assert loaded.optimizer.iterations == model.optimizer.iterations


def test_ddp_backup_and_restore_resumes_every_rank_consistently(main_run, reference) -> None:
    out, proc = main_run
    model, _ = reference
    for result in _results(out, "backup", proc):
        assert result["files_after_interrupt"] == ["backup.safetensors"]
        assert result["epochs_run"] == 1  # epochs 0-1 restored, epoch 2 run
        # The same weights as the uninterrupted single-process run (RNG states restored too).
        for got_w, want_w in zip(result["weights"], worker.weights(model)):
            np.testing.assert_allclose(got_w, want_w, rtol=0, atol=1e-6)
    assert not (out / "backup").exists()  # deleted by rank 0 when fit ended


def _model_with(weights: list) -> lamina.Model:
    model = worker.build_model()
    keys = list(model.state_dict())
    model.load_state_dict({k: torch.tensor(w, dtype=torch.float32) for k, w in zip(keys, weights)})
    return model


def test_ddp_evaluate_datasets_exact_metrics(main_run) -> None:
    out, proc = main_run
    r0, r1 = _results(out, "datasets", proc)
    assert r0["weights"] == r1["weights"]
    model = _model_with(r0["weights"])
    x, y, _ = worker.data(23)
    want_loader = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    x, y, _ = worker.data(40)
    want_py = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    for result in (r0, r1):
        for key, value in want_loader.items():  # no sample counted twice
            assert result["evaluate_loader"][key] == pytest.approx(value, abs=1e-6), key
        for key, value in want_py.items():
            assert result["evaluate_pydataset"][key] == pytest.approx(value, abs=1e-6), key
    # PyDataset evaluation: batches dealt round-robin, none repeated (batch 0 read once more to build).
    assert sorted(r0["pydataset_eval_seen"][1:] + r1["pydataset_eval_seen"][1:]) == [0, 1, 2, 3, 4]


def test_ddp_split_batch_makes_batch_size_global(main_run, reference) -> None:
    out, proc = main_run
    model, _ = reference
    for result in _results(out, "split", proc):
        for got_w, want_w in zip(result["weights"], worker.weights(model)):
            np.testing.assert_allclose(got_w, want_w, rtol=0, atol=1e-6)
