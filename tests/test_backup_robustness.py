"""BackupAndRestore against hostile files and careless inputs: a broken, foreign or
mangled backup is refused with an `InvalidFileError` naming it, and nothing (the
file, the weights, the optimizer, the RNG) is changed; an unusable backup folder
is refused before the first epoch; a run killed while saving leaves only a
recognisable temporary file, which the next run removes."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

import lamina
from lamina.saving import InvalidFileError
from lamina.training.callbacks import backup_and_restore as bar

FIX = "to start training from scratch, or pass another `backup_dir`"


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4)).astype("float32")
    return x, (x @ np.ones((4, 1), "float32")).astype("float32")


def _model(seed=0):
    lamina.set_seed(seed)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3), lamina.layers.Dense(1)])
    model.compile(lamina.optimizers.Adam(0.01), "mse")
    return model


class _CountBatches(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


@pytest.fixture(scope="module")
def good_backup(tmp_path_factory):
    """The bytes of a real backup: 1 epoch of 4 batches done."""
    folder = tmp_path_factory.mktemp("good")
    x, y = _data()
    _model().fit(x, y, epochs=1, batch_size=8, verbose=0,
                 callbacks=[lamina.callbacks.BackupAndRestore(folder, delete_checkpoint=False)])
    return (folder / bar.BACKUP_FILE).read_bytes()


def _split(data):
    """(tensors, metadata JSON) of a backup's bytes."""
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(json.loads(data[8:8 + n])["__metadata__"]["lamina_backup"])
    return st_load(data), meta


def _join(tensors, meta):
    return st_save(tensors, metadata={"lamina_backup": json.dumps(meta)})


def _entry(encoded, key):
    """The value of ``key`` in an encoded ``{"__dict__": [[k, v], ...]}``."""
    for k, v in encoded["__dict__"]:
        if k == key:
            return v
    raise KeyError(key)


def _set_entry(encoded, key, value):
    for pair in encoded["__dict__"]:
        if pair[0] == key:
            pair[1] = value
            return
    raise KeyError(key)


def _exp_avg_key(meta, param=0):
    optimizer = _entry(_entry(meta["optimizers"]["optimizer"], "optimizer"), "state")
    return _entry(_entry(optimizer, param), "exp_avg")["__tensor__"]


def _assert_refused(folder, data, problem):
    """Writes ``data`` as the backup in ``folder``; a fresh model's `fit` must raise
    InvalidFileError naming the file, ``problem`` (a regex) and the fix, and leave
    the file, the folder, the weights, the optimizer and the RNG untouched."""
    folder.mkdir(exist_ok=True)
    path = folder / bar.BACKUP_FILE
    path.write_bytes(data)
    x, y = _data()
    model = _model(seed=7)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer_state = model.optimizer.state_dict()
    counter = _CountBatches()
    torch_rng, np_rng = torch.get_rng_state(), np.random.get_state()
    with pytest.raises(InvalidFileError) as info:
        model.fit(x, y, epochs=2, batch_size=8, verbose=0,
                  callbacks=[lamina.callbacks.BackupAndRestore(folder), counter])
    message = str(info.value)
    assert re.search(problem, message), message
    if not problem.startswith("^"):  # all but the guard's wording for unforeseen errors
        assert message.startswith(f"`BackupAndRestore` cannot resume from the backup {path}: "), message
    assert f"Delete {path} {FIX}" in message, message
    assert info.value.path == str(path)
    assert path.read_bytes() == data  # nothing overwritten or deleted
    assert sorted(os.listdir(folder)) == [bar.BACKUP_FILE]
    assert counter.batches == 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k]), k
    assert model.optimizer.iterations == optimizer_state["iterations"] == 0
    assert torch.equal(torch.get_rng_state(), torch_rng)
    assert np.array_equal(np.random.get_state()[1], np_rng[1])
    return info.value


# ---------------------------------------------------------------- broken files
def test_backup_restores_the_good_backup(tmp_path, good_backup):
    # The reference the broken variants are made from is itself restorable.
    (tmp_path / bar.BACKUP_FILE).write_bytes(good_backup)
    x, y = _data()
    model = _model(seed=3)
    cb = lamina.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    assert cb.restored_epoch == 1 and model.optimizer.iterations == 4
    tensors, meta = _split(good_backup)
    own = list(model.state_dict().values())  # by position: automatic layer names differ
    assert len(own) == len(meta["model_keys"]) == 4
    for mine, name in zip(own, meta["model_keys"]):
        assert torch.equal(mine, tensors[f"model/{name}"]), name


@pytest.mark.parametrize("cut", ["empty", 1, 7, 8, 40, "header-1", "header", "header+10", "last-1"])
def test_backup_truncated_is_refused(tmp_path, good_backup, cut):
    n = 8 + int.from_bytes(good_backup[:8], "little")
    at = {"empty": 0, "header-1": n - 1, "header": n, "header+10": n + 10, "last-1": len(good_backup) - 1}.get(cut, cut)
    if at < 8:
        problem = rf"it is {at} bytes long, shorter than the 8-byte header length"
    elif at < n:
        problem = rf"its header declares {n - 8} bytes but only {at - 8} follow; the data is truncated"
    else:  # the header is whole; a tensor's data reaches past the end
        problem = rf"tensor '[a-z/0-9]+' has data_offsets \[\d+, \d+\]; expected \[begin, end\] with 0 <= begin <= end <= {at - n} "
    _assert_refused(tmp_path / "b", good_backup[:at], "it is not valid safetensors data: " + problem)


def test_backup_random_bytes_zip_and_text_are_refused(tmp_path):
    noise = np.random.default_rng(5).bytes(3000)
    _assert_refused(tmp_path / "noise", noise, r"it is not valid safetensors data: its header declares \d+ bytes")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("config.json", "{}")
    _assert_refused(tmp_path / "zip", buffer.getvalue(), r"it is not valid safetensors data")
    _assert_refused(tmp_path / "text", b"epoch=3\n" * 10, r"it is not valid safetensors data")


def test_backup_foreign_safetensors_is_refused(tmp_path):
    data = st_save({"encoder.weight": torch.zeros(2, 2), "encoder.bias": torch.zeros(2)})
    _assert_refused(
        tmp_path / "a", data,
        r"it is not a Lamina backup \(a safetensors file without the 'lamina_backup' metadata; it holds 2 "
        r"tensors: encoder\.bias, encoder\.weight\)",
    )
    other = st_save({"w": torch.zeros(1)}, metadata={"lamina_backup": json.dumps({"format": "other.thing"})})
    _assert_refused(tmp_path / "b", other, r"it is not a Lamina backup \(format 'other\.thing', expected 'lamina\.backup'\)")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", r"its metadata is not valid JSON"),
        ("[]", r"its metadata must be a JSON object; received \[\]"),
        ('{"format": "lamina.backup", "format": "x"}', r"its metadata is not valid JSON: the key 'format' appears twice"),
        ("[" * 100 + "]" * 100, r"its metadata is not valid JSON: it nests 100 levels deep"),
        ("[" * 200_000, r"its metadata is not valid JSON: it nests 200000 levels deep"),
    ],
    ids=["broken", "list", "repeated-key", "deep", "very-deep"],
)
def test_backup_mangled_metadata_json_is_refused(tmp_path, good_backup, text, problem):
    tensors, _ = _split(good_backup)
    _assert_refused(tmp_path / "b", st_save(tensors, metadata={"lamina_backup": text}), problem)


def _mangled(good_backup, change):
    tensors, meta = _split(good_backup)
    change(tensors, meta)
    return _join(tensors, meta)


@pytest.mark.parametrize(
    ("epoch", "shown"),
    [(-1, "-1"), ("x", "'x'"), (1e300, "1e+300"), (True, "True"), (2**40, str(2**40)), (None, "None")],
)
def test_backup_bad_epoch_is_refused(tmp_path, good_backup, epoch, shown):
    data = _mangled(good_backup, lambda t, m: m.update(epoch=epoch))
    _assert_refused(tmp_path / "b", data, rf"its 'epoch' must be an integer from 0 to 2147483647; received {re.escape(shown)}")


def _drop(key):
    return lambda t, m: m.pop(key)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t, m: m.update(version=2), r"written by a newer Lamina \(backup format version 2"),
        (lambda t, m: m.update(version="1"), r"its format version must be a positive integer; received '1'"),
        (_drop("rng"), r"its metadata lacks 'rng'"),
        (lambda t, m: m.update(model_keys="dense.kernel"), r"its 'model_keys' must be a list of weight names"),
        (lambda t, m: m.update(model_keys=[*m["model_keys"], 3]), r"its 'model_keys' must be a list of weight names"),
        (lambda t, m: m.update(model_keys=m["model_keys"][:-1]), r"its 'model_keys' do not match its tensors"),
        (lambda t, m: m.update(model_keys=m["model_keys"] + m["model_keys"][:1]), r"name a weight more than once"),
        (lambda t, m: m.update(optimizers=[]), r"its 'optimizers' must map attribute names to optimizer states"),
        (lambda t, m: m.update(optimizers={"a.b": {}}), r"its 'optimizers' must map attribute names"),
        (lambda t, m: m["optimizers"].update(g_optimizer=m["optimizers"]["optimizer"]),
         r"it holds the state of `model\.g_optimizer`, but this model has no such optimizer \(it has: optimizer\)"),
        # `_decode` used to raise a raw KeyError / ValueError on these.
        (lambda t, m: m["optimizers"].update(optimizer={"__weird__": 1}),
         r"the entry optimizers\.optimizer is not one a Lamina backup holds: \{'__weird__': 1\}"),
        (lambda t, m: m["optimizers"].update(optimizer={"__dict__": [[1, 2, 3]]}),
         r"the entry optimizers\.optimizer\[0\] must be a \[key, value\] pair"),
        (lambda t, m: m["optimizers"].update(optimizer={"__dict__": [[[1], 2]]}),
         r"the key of optimizers\.optimizer\[0\] must be a string or a number"),
        (lambda t, m: m["optimizers"].update(optimizer={"__tensor__": "optimizer/optimizer/999"}),
         r"its 'optimizers' metadata refers to a tensor 'optimizer/optimizer/999' that the file does not hold"),
        (lambda t, m: m["optimizers"].update(optimizer={"__tensor__": m["model_keys"][0] and "model/" + m["model_keys"][0]}),
         r"the entry optimizers\.optimizer refers to 'model/.*', not to one of its optimizer/optimizer/\* tensors"),
        (lambda t, m: m.update(rng={"__tuple__": "abc"}), r"the entry rng is not one a Lamina backup holds"),
        (lambda t, m: m.update(rng=[]), r"its 'rng' entry must hold the 'python', 'numpy' and 'torch' generator states"),
    ],
    ids=[
        "newer-version", "version-str", "no-rng", "keys-str", "keys-int", "keys-short", "keys-repeat",
        "optimizers-list", "optimizers-dunder", "unknown-optimizer", "foreign-entry", "bad-pair",
        "list-key", "missing-tensor", "model-tensor-in-optimizer", "bad-tuple", "rng-list",
    ],
)
def test_backup_mangled_metadata_is_refused(tmp_path, good_backup, change, problem):
    _assert_refused(tmp_path / "b", _mangled(good_backup, change), problem)


# ---------------------------------------------------------------- weights and optimizer
def test_backup_nan_and_wrong_weights_are_refused(tmp_path, good_backup):
    tensors, meta = _split(good_backup)
    name = meta["model_keys"][0]
    bad = dict(tensors)
    bad[f"model/{name}"] = tensors[f"model/{name}"].clone()
    bad[f"model/{name}"].view(-1)[1] = float("nan")
    _assert_refused(tmp_path / "nan", _join(bad, meta),
                    rf"the weight '{re.escape(name)}' holds 1 NaN or infinite value\(s\)")
    bad[f"model/{name}"] = torch.full_like(tensors[f"model/{name}"], float("inf"))
    n = tensors[f"model/{name}"].numel()
    _assert_refused(tmp_path / "inf", _join(bad, meta), rf"holds {n} NaN or infinite value\(s\)")
    bad[f"model/{name}"] = torch.zeros(7)
    _assert_refused(tmp_path / "shape", _join(bad, meta),
                    r"it does not match this model: weight shapes differ: dense_\d+\.kernel \(3, 4\) vs \(7,\) in the backup")
    for dtype in (torch.int32, torch.float64, torch.float16):
        bad[f"model/{name}"] = tensors[f"model/{name}"].to(dtype)
        _assert_refused(tmp_path / str(dtype), _join(bad, meta),
                        rf"weight dtypes differ: dense_\d+\.kernel torch\.float32 vs {re.escape(str(dtype))} in the backup")
    bad[f"model/{name}"] = torch.full(tensors[f"model/{name}"].shape, 1e300, dtype=torch.float64)
    _assert_refused(tmp_path / "1e300", _join(bad, meta), r"weight dtypes differ: .* vs torch\.float64 in the backup")


def test_backup_bad_optimizer_state_is_refused(tmp_path, good_backup):
    tensors, meta = _split(good_backup)
    key = _exp_avg_key(meta)
    wrong = dict(tensors)
    wrong[key] = torch.zeros(5, 5)
    _assert_refused(tmp_path / "shape", _join(wrong, meta),
                    r"the state of `model\.optimizer` cannot be loaded: the state 'exp_avg' of parameter 0 has "
                    r"shape \[5, 5\] but the parameter has shape \[3, 4\]")
    wrong[key] = torch.full_like(tensors[key], float("nan"))
    _assert_refused(tmp_path / "nan", _join(wrong, meta),
                    r"the state of `model\.optimizer` cannot be loaded: the state 'exp_avg' of parameter 0 holds 12 NaN")

    def steps(t, m):
        _set_entry(m["optimizers"]["optimizer"], "iterations", -3)

    _assert_refused(tmp_path / "iterations", _mangled(_join(tensors, meta), steps),
                    r"`model\.optimizer` cannot be loaded: 'iterations' is -3\.0; expected a whole number of steps")

    def lr(t, m):
        groups = _entry(_entry(m["optimizers"]["optimizer"], "optimizer"), "param_groups")
        _set_entry(groups[0], "lr", float("inf"))

    _assert_refused(tmp_path / "lr", _mangled(_join(tensors, meta), lr),
                    r"`model\.optimizer` cannot be loaded: parameter group 0 sets lr=inf")


# ---------------------------------------------------------------- RNG states
def _rng(meta, which):
    return _entry(meta["rng"], which)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t, m: _rng(m, "python")["__tuple__"].__setitem__(0, 99), r"its Python random state is not valid"),
        (lambda t, m: _rng(m, "python")["__tuple__"][1]["__tuple__"].__setitem__(-1, 10**6),
         r"its Python random state is not valid"),
        (lambda t, m: _rng(m, "python").update(__tuple__=[3]), r"its Python random state is not valid"),
        (lambda t, m: _rng(m, "numpy")["__tuple__"].__setitem__(0, "PCG64"),
         r"its NumPy random state is not an \('MT19937', 624 uint32 words"),
        # NumPy itself accepts this position, then reads past the end of its key.
        (lambda t, m: _rng(m, "numpy")["__tuple__"].__setitem__(2, 10**6),
         r"its NumPy random state's position must be an integer from 0 to 624; received 1000000"),
        (lambda t, m: _rng(m, "numpy")["__tuple__"].__setitem__(4, float("nan")),
         r"cached Gaussian must be a flag 0 or 1 and a finite number"),
        (lambda t, m: _rng(m, "numpy")["__tuple__"][1].update(dtype="object"),
         r"the array at rng\['numpy'\]\[1\] must be stored as int64 with an integer dtype; received torch\.int64 with dtype 'object'"),
        (lambda t, m: t.__setitem__(_rng(m, "numpy")["__tuple__"][1]["__ndarray__"], torch.zeros(10, dtype=torch.int64)),
         r"its NumPy random state is not an \('MT19937', 624 uint32 words"),
        (lambda t, m: t.__setitem__(_rng(m, "torch")["__tensor__"], torch.zeros(10, dtype=torch.uint8)),
         r"its PyTorch CPU random state holds 10 bytes; this PyTorch's holds \d+"),
        (lambda t, m: t.__setitem__(_rng(m, "torch")["__tensor__"], torch.zeros(5056, dtype=torch.float32)),
         r"its PyTorch CPU random state must be a 1-D uint8 tensor; received a torch\.float32 tensor"),
        (lambda t, m: _set_entry(m["rng"], "torch", 5), r"its PyTorch CPU random state must be a 1-D uint8 tensor; received 5"),
        (lambda t, m: m["rng"]["__dict__"].append(["cuda", 5]), r"its CUDA random states must be a list; received 5"),
        (lambda t, m: m["rng"]["__dict__"].append(["cuda", ["x"]]), r"its CUDA device 0 random state must be a 1-D uint8"),
        (lambda t, m: m["rng"]["__dict__"].append(["mersenne", 5]), r"its 'rng' entry must hold"),
    ],
    ids=[
        "python-version", "python-index", "python-short", "numpy-kind", "numpy-pos", "numpy-gauss", "numpy-dtype",
        "numpy-key-size", "torch-size", "torch-dtype", "torch-int", "cuda-int", "cuda-str", "extra-generator",
    ],
)
def test_backup_mangled_rng_state_is_refused(tmp_path, good_backup, change, problem):
    _assert_refused(tmp_path / "b", _mangled(good_backup, change), problem)


def test_backup_larger_than_the_model_allows_is_refused(tmp_path, good_backup, monkeypatch):
    monkeypatch.setattr(bar, "_SIZE_SLACK", 100)
    _assert_refused(tmp_path / "b", good_backup,
                    rf"it is {len(good_backup)} bytes, more than the \d+ bytes a backup of this model can hold")


# ---------------------------------------------------------------- the backup folder
def _fit(folder, **kwargs):
    x, y = _data()
    counter = _CountBatches()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0,
              callbacks=[lamina.callbacks.BackupAndRestore(folder, **kwargs), counter])
    return counter


def test_backup_dir_that_is_a_file_fails_before_training(tmp_path):
    path = tmp_path / "run1"
    path.write_text("notes")
    counter = _CountBatches()
    x, y = _data()
    with pytest.raises(NotADirectoryError, match=rf"`BackupAndRestore` expects `backup_dir` to be a folder\. Received: "
                       rf"backup_dir='{re.escape(str(path))}', which is a file\. Move that file away, or pass another"):
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(path), counter])
    assert counter.batches == 0 and path.read_text() == "notes"
    inside = tmp_path / "run1" / "sub"
    with pytest.raises(NotADirectoryError, match=rf"cannot create the backup folder '{re.escape(str(inside))}'"):
        _fit(inside)


def test_backup_dir_is_created_when_missing(tmp_path):
    folder = tmp_path / "a" / "b"
    _fit(folder, delete_checkpoint=False)
    assert sorted(os.listdir(folder)) == [bar.BACKUP_FILE]  # the write probe is gone


def test_backup_dir_not_writable_fails_before_training(tmp_path, monkeypatch):
    def denied(folder):
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(folder, ".probe"))

    monkeypatch.setattr(bar, "_create_probe", denied)
    counter = _CountBatches()
    x, y = _data()
    with pytest.raises(PermissionError, match=rf"cannot write to the backup folder '{re.escape(str(tmp_path))}' "
                       r"\(Permission denied\)\. Give yourself write permission on it, or pass another `backup_dir`") as info:
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path), counter])
    assert info.value.errno == errno.EACCES and counter.batches == 0

    def full(folder):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bar, "_create_probe", full)
    with pytest.raises(OSError, match=r"cannot write to the backup folder .*\(No space left on device\)\. Pass a "
                       r"`backup_dir` in a folder you can write to") as info:
        _fit(tmp_path)
    assert info.value.errno == errno.ENOSPC


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes through chmod 0o500")
def test_backup_dir_read_only_for_real(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"cannot write to the backup folder .*ro'"):
            _fit(folder)
    finally:
        folder.chmod(0o700)


def test_backup_file_that_is_not_a_regular_file_is_refused(tmp_path):
    (tmp_path / "dir" / bar.BACKUP_FILE).mkdir(parents=True)
    with pytest.raises(InvalidFileError, match=r"expects .*dir/backup\.safetensors to be a backup file, but it is a folder\. "
                       r"Remove it to start training from scratch"):
        _fit(tmp_path / "dir")
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / bar.BACKUP_FILE)  # reading it would block forever
    with pytest.raises(InvalidFileError, match=r"fifo/backup\.safetensors to be a backup file, but it is not a regular file"):
        _fit(tmp_path / "fifo")
    (tmp_path / "link").mkdir()
    (tmp_path / "target").write_bytes(b"")
    os.symlink(tmp_path / "target", tmp_path / "link" / bar.BACKUP_FILE)
    with pytest.raises(InvalidFileError, match=r"link/backup\.safetensors to be a backup file, but it is a symbolic link"):
        _fit(tmp_path / "link")
    assert (tmp_path / "dir" / bar.BACKUP_FILE).is_dir() and (tmp_path / "link" / bar.BACKUP_FILE).is_symlink()


# ---------------------------------------------------------------- killed while saving
KILLED = textwrap.dedent(
    """
    import os, signal, sys

    import numpy as np

    import lamina
    from lamina.training.callbacks import backup_and_restore as bar

    saves = []
    real_write = bar._write_payload


    def write_then_die(f, payload):
        saves.append(1)
        if len(saves) == 6:  # the 6th backup: half written, then SIGKILL
            f.write(payload[: len(payload) // 2])
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        real_write(f, payload)


    bar._write_payload = write_then_die
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x @ np.ones((4, 1), "float32")).astype("float32")
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3), lamina.layers.Dense(1)])
    model.compile(lamina.optimizers.Adam(0.01), "mse")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0,
              callbacks=[lamina.callbacks.BackupAndRestore(sys.argv[1], save_freq=1)])
    """
)
TEMP = re.compile(r"\.backup\.safetensors\.(\d+)\.[A-Za-z0-9_-]+\.lamina-tmp")


def test_backup_killed_while_saving_leaves_a_temporary_the_next_run_removes(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    folder = tmp_path / "backup"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == -9, stderr
    names = sorted(os.listdir(folder))
    assert len(names) == 2 and bar.BACKUP_FILE in names, names
    temp = next(n for n in names if n != bar.BACKUP_FILE)
    match = TEMP.fullmatch(temp)
    assert match and int(match.group(1)) == proc.pid, temp  # recognisable: whose it was
    _, meta = _split((folder / bar.BACKUP_FILE).read_bytes())  # the 5th backup, intact
    assert meta["epoch"] == 1 and _entry(meta["optimizers"]["optimizer"], "iterations") == 5

    seen = []

    class Look(lamina.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(sorted(os.listdir(folder)))

    x, y = _data()
    model = _model(seed=4)
    cb = lamina.callbacks.BackupAndRestore(folder, save_freq=1, delete_checkpoint=False)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[cb, Look()])
    assert cb.restored_epoch == 1 and history.epoch == [1, 2]
    assert seen == [[bar.BACKUP_FILE]]  # removed when the run began, before any save
    assert model.optimizer.iterations == 5 + 8  # the backed-up 5 steps, then epochs 1 (again) and 2
    assert sorted(os.listdir(folder)) == [bar.BACKUP_FILE]


def _dead_pid():
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_backup_stale_temporaries_removed_only_when_their_process_is_gone(tmp_path, good_backup):
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / bar.BACKUP_FILE).write_bytes(good_backup)
    dead = _dead_pid()
    stale = [f".backup.safetensors.{dead}.tmp", f".backup.safetensors.{dead}.k3x9q.lamina-tmp"]
    alive = [f".backup.safetensors.{os.getppid()}.zz1.lamina-tmp"]  # our parent is running
    others = ["notes.txt", f".model.lamina.{dead}.tmp"]  # not this backup's: never touched
    for name in stale + alive + others:
        (folder / name).write_bytes(b"partial")
    x, y = _data()
    cb = lamina.callbacks.BackupAndRestore(folder)
    _model().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])  # nothing left to train, no save
    assert cb.restored_epoch == 1
    assert sorted(os.listdir(folder)) == sorted(alive + others)  # backup deleted at the end, stale ones gone


def test_backup_metadata_longer_than_the_bound_is_refused(tmp_path, good_backup, monkeypatch):
    monkeypatch.setattr(bar, "_MAX_META_CHARS", 1000)
    _assert_refused(tmp_path / "b", good_backup,
                    r"its metadata is not a JSON text of at most 1000 characters \(received \d{4,}\)")


def test_backup_unforeseen_error_while_reading_names_the_backup(tmp_path, good_backup, monkeypatch):
    # Whatever escapes the checks (here a raw KeyError) still names the file and the choice.
    def broken(self, rng):
        raise KeyError("mt19937")

    monkeypatch.setattr(bar._BackupReader, "check_rng", broken)
    error = _assert_refused(tmp_path / "b", good_backup,
                            r"^'backup\.safetensors' could not be read as a Lamina backup \(KeyError: 'mt19937'\)\. ")
    assert isinstance(error.__cause__, KeyError)


def test_backup_of_another_model_is_refused_before_any_tensor_is_made(tmp_path, good_backup, monkeypatch):
    def no_tensors(*args, **kwargs):
        raise AssertionError("tensors were created before the header was checked against the model")

    monkeypatch.setattr(bar.tensors, "bytes_to_tensors", no_tensors)
    tensors, meta = _split(good_backup)
    tensors[f"model/{meta['model_keys'][0]}"] = torch.zeros(30, 40)
    _assert_refused(tmp_path / "b", _join(tensors, meta),
                    r"weight shapes differ: dense_\d+\.kernel \(3, 4\) vs \(30, 40\) in the backup")
    del tensors[f"model/{meta['model_keys'][0]}"]
    meta["model_keys"] = meta["model_keys"][1:]
    _assert_refused(tmp_path / "c", _join(tensors, meta),
                    r"it holds 3 weights and the model has 4\. Missing from the backup: [\w., ]+\. Not in the model: "
                    r"[\w., ]+\. The backup comes from another model or run")
