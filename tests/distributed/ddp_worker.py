"""Run by `torchrun` from tests/distributed/test_ddp_parity.py (not a test module itself).

`python -m torch.distributed.run --nproc_per_node=2 --standalone ddp_worker.py OUT CASES`
runs the comma-separated CASES on every process and writes `OUT/<case>_rank<r>.json`.
The single-process references use the same `build_model` / `data` from the test.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import torch

import lamina

PER_DEVICE_BATCH = 8
EPOCHS = 3


def data(n: int = 69, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary labels with sample weights; 69 samples: the last global batch of 16 holds 5 (3 + 2)."""
    rng = np.random.RandomState(seed)
    x = rng.randn(n, 5).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 1.5], "float32") + 0.3 * rng.randn(n) > 0).astype(
        "float32"
    )
    w = rng.uniform(0.5, 2.0, size=n).astype("float32")
    return x, y.reshape(-1, 1), w


def build_model(seed: int = 0, jit_compile: bool = False) -> lamina.Model:
    lamina.set_seed(seed)
    model = lamina.Sequential(
        [
            lamina.Input(shape=(5,)),
            lamina.layers.Dense(8, activation="tanh"),
            lamina.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.SGD(learning_rate=0.3, momentum=0.5),
        loss="binary_crossentropy",
        metrics=["accuracy", lamina.metrics.AUC(num_thresholds=50)],
        weighted_metrics=["mae"],
        jit_compile=jit_compile,
    )
    return model


def fit_weighted(model: lamina.Model, batch_size: int) -> dict:
    """`fit` on the weighted data with the validation set; returns the history."""
    x, y, w = data()
    xv, yv, _ = data(23, seed=1)
    hist = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=batch_size,
        epochs=EPOCHS,
        validation_data=(xv, yv),
        verbose=0,
    )
    return hist.history


def fit_reference(global_batch: int) -> tuple[lamina.Model, dict]:
    model = build_model()
    return model, fit_weighted(model, global_batch)


def weights(model: lamina.Model) -> list[list]:
    full = [
        v.full_tensor() if hasattr(v, "full_tensor") else v for v in model.state_dict().values()
    ]
    return [v.detach().cpu().double().numpy().tolist() for v in full]


class _Recorder(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.x, self.y, _ = data(n)
        self.seen: list[int] = []

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        self.seen.append(int(i))
        return self.x[i], self.y[i]


class _BatchRecorder(lamina.utils.PyDataset):
    def __init__(self) -> None:
        super().__init__()
        self.x, self.y, _ = data(40)
        self.seen: list[int] = []

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int):
        self.seen.append(int(i))
        return self.x[i * 8 : (i + 1) * 8], self.y[i * 8 : (i + 1) * 8]


class _StopOnRank1(lamina.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1 and lamina.distributed.get_context().rank == 1:
            self.model.stop_training = True


def case_fit(out: str, rank: int) -> dict:
    x, y, w = data()
    xv, yv, _ = data(23, seed=1)
    model = build_model()
    cbs = [lamina.callbacks.CSVLogger(os.path.join(out, f"log_rank{rank}.csv"))]
    hist = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=PER_DEVICE_BATCH,
        epochs=EPOCHS,
        validation_data=(xv, yv),
        verbose=0,
        callbacks=cbs,
    )
    model.save(os.path.join(out, f"model_rank{rank}.lamina"))
    result = {"history": hist.history, "weights": weights(model)}
    result["evaluate"] = model.evaluate(xv, yv, batch_size=4, verbose=0, return_dict=True)
    result["predict"] = model.predict(xv, batch_size=4, verbose=0).tolist()
    if rank == 0:  # rank 0 alone: no collective, the same numbers
        with lamina.distributed.local():
            result["local_evaluate"] = model.evaluate(
                xv, yv, batch_size=4, verbose=0, return_dict=True
            )
    return result


class _RankLogging(lamina.Sequential):
    def train_step(self, data):
        logs = dict(super().train_step(data))
        logs["rank_value"] = torch.tensor(float(lamina.distributed.get_context().rank))
        return logs


def case_stop(out: str, rank: int) -> dict:
    x, y, w = data()
    model = build_model()
    # One process sets stop_training: both stop after that epoch. (Progress lines: rank 0's only.)
    stopped = model.fit(x, y, batch_size=8, epochs=5, verbose=2, callbacks=[_StopOnRank1()])
    # EarlyStopping on the reduced val_loss: the same epoch everywhere.
    model = build_model()
    xv, yv, _ = data(23, seed=1)
    early = lamina.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=0.05)
    plateau = lamina.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=0.5, patience=0, min_delta=0.1
    )
    hist = model.fit(
        x,
        y,
        batch_size=8,
        epochs=30,
        validation_data=(xv, yv),
        verbose=0,
        callbacks=[early, plateau],
    )
    # A custom train_step's own numbers are averaged over the processes: the same logs everywhere.
    custom = _RankLogging([lamina.Input(shape=(5,)), lamina.layers.Dense(1, activation="sigmoid")])
    custom.compile(optimizer="sgd", loss="binary_crossentropy")
    custom_hist = custom.fit(x, y, batch_size=8, epochs=1, verbose=0)
    return {
        "custom_rank_value": custom_hist.history["rank_value"],
        "custom_loss": custom_hist.history["loss"],
        "stopped_epochs": len(stopped.history["loss"]),
        "early_epochs": len(hist.history["loss"]),
        "early_val_loss": hist.history["val_loss"],
        "learning_rate": hist.history["learning_rate"],
    }


def case_datasets(out: str, rank: int) -> dict:
    model = build_model()
    ds = _Recorder(40)
    model.fit(ds, batch_size=5, epochs=2, verbose=0)
    loader_ds = _Recorder(30)
    model.fit(
        torch.utils.data.DataLoader(loader_ds, batch_size=5, shuffle=True), epochs=1, verbose=0
    )
    py = _BatchRecorder()
    model.fit(py, epochs=1, verbose=0)
    # evaluate: a block of the samples (batches) per process, nothing repeated: exact metrics.
    eval_loader = torch.utils.data.DataLoader(_Recorder(23), batch_size=4)
    eval_py = _BatchRecorder()
    return {
        "dataset_seen": ds.seen,
        "loader_seen": loader_ds.seen,
        "pydataset_seen": py.seen,
        "weights": weights(model),
        "evaluate_loader": model.evaluate(eval_loader, verbose=0, return_dict=True),
        "evaluate_pydataset": model.evaluate(eval_py, verbose=0, return_dict=True),
        "pydataset_eval_seen": eval_py.seen,
    }


def case_split(out: str, rank: int) -> dict:
    """`DataParallel(split_batch=True)`: `batch_size` is the global batch."""
    x, y, w = data()
    lamina.distributed.set_distribution(lamina.distributed.DataParallel(split_batch=True))
    try:
        model = build_model()
        model.fit(x, y, sample_weight=w, batch_size=2 * PER_DEVICE_BATCH, epochs=EPOCHS, verbose=0)
        return {"weights": weights(model)}
    finally:
        lamina.distributed.set_distribution(None)


def case_jit(out: str, rank: int) -> dict:
    """`jit_compile=True`: `torch.compile` of the DDP-wrapped model (DDP's graph breaks)."""
    model = build_model(jit_compile=True)
    history = fit_weighted(model, PER_DEVICE_BATCH)
    return {"history": history, "weights": weights(model)}


def case_fsdp(out: str, rank: int) -> dict:
    xv, yv, _ = data(23, seed=1)
    lamina.distributed.set_distribution(lamina.distributed.FullyShardedDataParallel())
    try:
        model = build_model()
        history = fit_weighted(model, PER_DEVICE_BATCH)
        model.save(os.path.join(out, "fsdp_model.lamina"))  # every process calls it; rank 0 writes
        return {
            "history": history,
            "weights": weights(model),
            "evaluate": model.evaluate(xv, yv, batch_size=4, verbose=0, return_dict=True),
            "predict": model.predict(xv, batch_size=4, verbose=0).tolist(),
        }
    finally:
        lamina.distributed.set_distribution(None)


class _DieOnRank1(lamina.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0 and lamina.distributed.get_context().rank == 1:
            sys.stdout.flush()
            os._exit(0)  # vanish without a word: the other process must not wait forever


def case_kill(out: str, rank: int) -> dict:
    x, y, _ = data()
    model = build_model()
    try:
        model.fit(x, y, batch_size=8, epochs=50, verbose=0, callbacks=[_DieOnRank1()])
    except lamina.distributed.DistributedTrainingError as error:
        return {"error": str(error), "type": type(error).__name__}
    return {"error": None}


class _Interrupted(Exception):
    pass


class _InterruptAfter(lamina.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise _Interrupted  # on every process, after BackupAndRestore wrote epoch 1


def case_backup(out: str, rank: int) -> dict:
    x, y, w = data()
    backup_dir = os.path.join(out, "backup")
    model = build_model()
    try:
        model.fit(
            x,
            y,
            sample_weight=w,
            batch_size=PER_DEVICE_BATCH,
            epochs=EPOCHS,
            verbose=0,
            callbacks=[lamina.callbacks.BackupAndRestore(backup_dir), _InterruptAfter()],
        )
    except _Interrupted:
        pass
    torch.distributed.barrier()  # (rank 1 may get here while rank 0 still writes)
    files_after_interrupt = sorted(os.listdir(backup_dir))
    model = build_model(seed=5)  # other initial weights: the backup decides
    hist = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=PER_DEVICE_BATCH,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[lamina.callbacks.BackupAndRestore(backup_dir)],
    )
    return {
        "epochs_run": len(hist.history["loss"]),
        "weights": weights(model),
        "files_after_interrupt": files_after_interrupt,
    }


class _HangOnRank1(lamina.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0 and lamina.distributed.get_context().rank == 1:
            time.sleep(float(os.environ["HANG_S"]))  # alive but silent: rank 0 must time out


def case_hang(out: str, rank: int) -> dict:
    x, y, _ = data()
    model = build_model()
    try:
        model.fit(x, y, batch_size=8, epochs=50, verbose=0, callbacks=[_HangOnRank1()])
    except lamina.distributed.DistributedTrainingError as error:
        return {"error": str(error), "type": type(error).__name__}
    return {"error": None}


CASES = {
    "fit": case_fit,
    "stop": case_stop,
    "datasets": case_datasets,
    "fsdp": case_fsdp,
    "jit": case_jit,
    "split": case_split,
    "kill": case_kill,
    "backup": case_backup,
    "hang": case_hang,
}


def main() -> None:
    out, cases = sys.argv[1], sys.argv[2].split(",")
    torch.set_num_threads(1)
    for name in cases:
        ctx = lamina.distributed.get_context()
        start = time.monotonic()
        result = CASES[name](out, ctx.rank)
        result["seconds"] = time.monotonic() - start
        with open(os.path.join(out, f"{name}_rank{ctx.rank}.json"), "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
