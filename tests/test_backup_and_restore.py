"""BackupAndRestore: a run killed mid-epoch and started again ends with the same
weights as a run that was never interrupted."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import lamina
from lamina.training.callbacks import backup_and_restore as bar

# A training script run in a subprocess. With "crash" it kills itself (SIGKILL, no
# clean-up of any kind) in the middle of epoch 3; run again, it resumes from the
# backup. Shuffling and dropout make the result depend on the restored RNG state.
SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys

    import numpy as np
    from safetensors.torch import save_file

    import lamina


    class Crash(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 2:
                os.kill(os.getpid(), signal.SIGKILL)


    def train(out, backup_dir=None, crash=False):
        lamina.set_seed(0)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(120, 8)).astype("float32")
        y = (x[:, :3].argmax(axis=1)).astype("int64")
        model = lamina.Sequential([
            lamina.Input(shape=(8,)),
            lamina.layers.Dense(16, activation="relu"),
            lamina.layers.Dropout(0.3),
            lamina.layers.Dense(3, activation="softmax"),
        ])
        model.compile(lamina.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
        callbacks = []
        if backup_dir is not None:
            callbacks.append(lamina.callbacks.BackupAndRestore(backup_dir))
        if crash:
            callbacks.append(Crash())
        history = model.fit(x, y, epochs=5, batch_size=16, validation_split=0.2, verbose=0,
                            callbacks=callbacks)
        # Keyed by position: automatic layer names depend on what ran before in the process.
        save_file({str(i): v.detach().cpu().contiguous() for i, v in enumerate(model.state_dict().values())}, out)
        return history


    if __name__ == "__main__":
        history = train(sys.argv[1], sys.argv[2], sys.argv[3] == "crash")
        print(json.dumps({"epochs": history.epoch, "loss": history.history["loss"]}))
    """
)


def _write_script(tmp_path):
    path = tmp_path / "train_script.py"
    path.write_text(SCRIPT)
    return path


def _run(script, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_backup_and_restore_resumes_killed_run_with_identical_weights(tmp_path):
    script = _write_script(tmp_path)
    backup = tmp_path / "backup"

    crashed = _run(script, tmp_path / "crashed.safetensors", backup, "crash")
    assert crashed.returncode == -9, crashed.stderr
    assert not (tmp_path / "crashed.safetensors").exists()
    with safe_open(str(backup / bar.BACKUP_FILE), framework="pt") as f:
        assert json.loads(f.metadata()["lamina_backup"])["epoch"] == 2  # epochs 1 and 2 done

    resumed = _run(script, tmp_path / "resumed.safetensors", backup, "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["epochs"] == [2, 3, 4]
    assert not backup.exists()  # deleted once training finished

    # The uninterrupted reference, without any backup, in this process.
    spec = importlib.util.spec_from_file_location("train_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reference = module.train(str(tmp_path / "reference.safetensors"))
    assert reference.epoch == [0, 1, 2, 3, 4]

    got = load_file(str(tmp_path / "resumed.safetensors"))
    want = load_file(str(tmp_path / "reference.safetensors"))
    assert got.keys() == want.keys() and len(want) == 4
    for k in want:
        torch.testing.assert_close(got[k], want[k], atol=1e-6, rtol=0)
    assert json.loads(resumed.stdout)["loss"] == pytest.approx(reference.history["loss"][2:], abs=1e-6)


# ---------------------------------------------------------------- in-process tests
def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 4)).astype("float32")
    return x, (x @ np.ones((4, 1), "float32")).astype("float32")


def _model(seed=0, units=1):
    lamina.set_seed(seed)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(units)])
    model.compile(lamina.optimizers.Adam(0.01), "mse")
    return model


def test_backup_resume_in_process_equals_continued_training(tmp_path):
    x, y = _data()
    a = _model(seed=0)
    a.fit(x, y, epochs=2, batch_size=8, verbose=0,
          callbacks=[lamina.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)])
    path = tmp_path / bar.BACKUP_FILE
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["lamina_backup"])
        keys = set(f.keys())
    assert meta["epoch"] == 2 and meta["format"] == "lamina.backup"
    assert set(meta["optimizers"]) == {"optimizer"}
    assert {k for k in keys if k.startswith("model/")} == {f"model/{k}" for k in a.state_dict()}
    assert any(k.startswith("optimizer/optimizer/") for k in keys)
    assert any(k.startswith("rng/") for k in keys)

    # `a` goes on (the RNG continues from the backed-up state); a model with another
    # initialisation and RNG state, restored from the backup, continues exactly the same.
    ha = a.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0)
    b = _model(seed=123)
    cb = lamina.callbacks.BackupAndRestore(tmp_path)
    hb = b.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[cb])
    assert cb.restored_epoch == 2 and hb.epoch == [2, 3] == ha.epoch
    assert hb.history["loss"] == ha.history["loss"]
    for (ka, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), ka
    assert b.optimizer.iterations == a.optimizer.iterations == 4 * 6
    assert not path.exists()  # deleted at the end of the successful run


def test_backup_mid_epoch_with_integer_save_freq_restarts_that_epoch(tmp_path):
    x, y = _data()  # 6 batches of 8 per epoch

    class Stop(Exception):
        pass

    def boom(batch, logs):
        if model.optimizer.iterations == 6 + 4:  # epoch 2, after its 4th batch
            raise Stop

    model = _model()
    cb = lamina.callbacks.BackupAndRestore(tmp_path, save_freq=4)
    with pytest.raises(Stop):
        model.fit(x, y, epochs=3, batch_size=8, verbose=0,
                  callbacks=[cb, lamina.callbacks.LambdaCallback(on_train_batch_end=boom)])
    with safe_open(str(tmp_path / bar.BACKUP_FILE), framework="pt") as f:
        meta = json.loads(f.metadata()["lamina_backup"])
    assert meta["epoch"] == 1  # backed up after the 8th step, during epoch index 1
    saved_iterations = meta["optimizers"]["optimizer"]["__dict__"][0][1]
    assert saved_iterations == 8
    fresh = _model(seed=5)
    history = fresh.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path)])
    assert history.epoch == [1, 2]
    assert fresh.optimizer.iterations == 8 + 12


def test_backup_of_a_model_with_two_optimizers(tmp_path):
    class TwoOpt(lamina.Model):
        def __init__(self):
            super().__init__()
            self.a = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(1)])
            self.b = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(1)])

        def compile(self):
            super().compile(optimizer=None)
            self.a_optimizer = lamina.optimizers.SGD(0.1, momentum=0.9)
            self.b_optimizer = lamina.optimizers.Adam(0.01)
            self.a_optimizer.build(self.a.trainable_weights)
            self.b_optimizer.build(self.b.trainable_weights)

        def train_step(self, batch):
            x, y = batch
            out = {}
            for name, net, opt in (("a", self.a, self.a_optimizer), ("b", self.b, self.b_optimizer)):
                loss = torch.nn.functional.mse_loss(net(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                out[f"{name}_loss"] = loss.detach()
            return out

    x, y = _data()
    lamina.set_seed(0)
    first = TwoOpt()
    first.compile()
    first.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[lamina.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)])
    lamina.set_seed(1)
    second = TwoOpt()
    second.compile()
    second.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path)])
    # Nothing left to train: the restored state is the state after epoch 2.
    assert second.a_optimizer.iterations == second.b_optimizer.iterations == 6
    momentum_a = first.a_optimizer.torch_optimizer.state_dict()["state"][0]["momentum_buffer"]
    momentum_b = second.a_optimizer.torch_optimizer.state_dict()["state"][0]["momentum_buffer"]
    assert torch.equal(momentum_a, momentum_b)
    for (k, va), vb in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(va, vb), k


def test_backup_write_is_atomic(tmp_path, monkeypatch):
    x, y = _data()
    model = _model()
    cb = lamina.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    before = (tmp_path / bar.BACKUP_FILE).read_bytes()

    def broken_write(f, payload):  # the disk fills up half-way through the temporary file
        f.write(payload[: len(payload) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(bar, "_write_payload", broken_write)
    with pytest.raises(OSError, match="disk full"):
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path)])
    assert (tmp_path / bar.BACKUP_FILE).read_bytes() == before
    assert os.listdir(tmp_path) == [bar.BACKUP_FILE]  # no temporary file left


def test_backup_errors(tmp_path):
    x, y = _data()
    _model().fit(x, y, epochs=1, verbose=0,
                 callbacks=[lamina.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)])
    other = _model(units=2)
    with pytest.raises(ValueError, match=r"cannot resume from the backup .*backup\.safetensors: it does not match this model: weight shapes differ: dense_\d+\.kernel \(2, 4\) vs \(1, 4\) in the backup.*Delete .* to start training from scratch, or pass another `backup_dir`"):
        other.fit(x, np.repeat(y, 2, axis=1), epochs=1, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path)])
    (tmp_path / "bad").mkdir()
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "bad" / bar.BACKUP_FILE))
    with pytest.raises(ValueError, match=r"bad/backup\.safetensors: it is not a Lamina backup \(a safetensors file without the 'lamina_backup' metadata; it holds 1 tensors: w\)"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path / "bad")])
    with pytest.raises(ValueError, match=r"`BackupAndRestore` expects `save_freq` to be 'epoch' or a positive integer .* Received: save_freq=False"):
        lamina.callbacks.BackupAndRestore(tmp_path, save_freq=False)
    with pytest.raises(ValueError, match=r"`backup_dir` to be a folder path\. Received: backup_dir=None"):
        lamina.callbacks.BackupAndRestore(None)
