"""`BackupAndRestore`: resume an interrupted `fit` where it stopped.

The backup is one safetensors file: the model's state, the tensors of every
optimizer the model holds, and the random number generator states, with the
rest (epoch, optimizer hyperparameters and step counts, Python and NumPy RNG
states) as JSON in the file's metadata. Nothing is pickled. It is written to a
temporary file that then replaces the old backup (`os.replace`), so a crash
while saving leaves the previous backup intact.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from lamina.optimizers import Optimizer
from lamina.training.callbacks.base import Callback
from lamina.training.callbacks.model_checkpoint import _check_save_freq
from lamina.utils import validation

BACKUP_FILE = "backup.safetensors"
_FORMAT = "lamina.backup"
_VERSION = 1


class _TensorStore:
    """Turns nested Python state into JSON, moving tensors and arrays aside.

    Tensors become ``{"__tensor__": key}``, NumPy arrays ``{"__ndarray__": key,
    "dtype": ...}``, tuples ``{"__tuple__": [...]}`` and dicts (whose keys may
    be ints, as in a torch optimizer state) ``{"__dict__": [[key, value], ...]}``.
    """

    def __init__(self, prefix: str, tensors: dict[str, torch.Tensor]) -> None:
        self.prefix = prefix
        self.tensors = tensors

    def _put(self, t: torch.Tensor) -> str:
        key = f"{self.prefix}/{len(self.tensors)}"
        self.tensors[key] = t.detach().to("cpu", copy=True).contiguous()
        return key

    def encode(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            return {"__tensor__": self._put(obj)}
        if isinstance(obj, np.ndarray):
            return {"__ndarray__": self._put(torch.from_numpy(obj.astype(np.int64))), "dtype": str(obj.dtype)}
        if isinstance(obj, dict):
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v) for v in obj]}
        if isinstance(obj, list):
            return [self.encode(v) for v in obj]
        if isinstance(obj, np.generic):
            return obj.item()
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        raise TypeError(
            "`BackupAndRestore` can only back up tensors, arrays, numbers, strings and "
            f"containers of those. Received a value of type {type(obj).__name__}: {obj!r}."
        )


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__ndarray__" in obj:
        return tensors[obj["__ndarray__"]].numpy().astype(obj["dtype"])
    if "__tuple__" in obj:
        return tuple(_decode(v, tensors) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["__dict__"]}
    raise ValueError(f"Unexpected entry in a Lamina backup: {obj!r}.")


def _optimizers(model: Any) -> dict[str, Optimizer]:
    """The Lamina optimizers held by the model: `optimizer`, and e.g. a GAN's
    `d_optimizer` / `g_optimizer`."""
    return {name: value for name, value in sorted(vars(model).items()) if isinstance(value, Optimizer)}


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class BackupAndRestore(Callback):
    """Backs up the training state regularly so that an interrupted `fit` resumes.

    At the end of every epoch (or every ``save_freq`` batches) it writes the
    model weights, the optimizer state(s), the epoch reached and the random
    number generator states (Python, NumPy, PyTorch and CUDA) to
    ``backup_dir/backup.safetensors``. When `fit` starts and a backup exists,
    the state is restored and training continues with the next epoch: a run
    killed and started again ends with the same weights as a run that was never
    interrupted (with ``save_freq="epoch"``, the same seed and data).

    With an integer ``save_freq`` the backup is made mid-epoch; resuming, as in
    Keras, restarts that epoch from its first batch with the backed-up weights,
    so the result is close to but not identical with an uninterrupted run.

    The backup holds every Lamina optimizer the model keeps as an attribute
    (``model.optimizer``, and e.g. a GAN's ``d_optimizer`` and ``g_optimizer``).
    The state of other callbacks (EarlyStopping's counters, ...) is not kept.

    Args:
        backup_dir: Folder for the backup (created if needed). Use a different
            folder for each training run.
        save_freq: `"epoch"`, or an integer: back up every that many batches.
            Defaults to `"epoch"`.
        delete_checkpoint: Delete the backup when `fit` finishes normally.
            Defaults to `True`.

    Example:
        >>> import lamina
        >>> backup = lamina.callbacks.BackupAndRestore("/tmp/run1-backup")
        >>> # model.fit(x, y, epochs=50, callbacks=[backup])  # rerun the script after a crash
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str | int = "epoch",
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        owner = "BackupAndRestore"
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(
                f"`{owner}` expects `backup_dir` to be a folder path. Received: backup_dir={backup_dir!r}."
            )
        self.backup_dir = backup_dir
        self.save_freq = _check_save_freq(owner, save_freq)
        self.delete_checkpoint = validation.boolean(owner, "delete_checkpoint", delete_checkpoint)
        if self.save_freq == "epoch":
            self.skip_batch_hooks = True
        self._epoch = 0
        self._batches_since_save = 0
        self.restored_epoch: int | None = None

    @property
    def backup_path(self) -> str:
        """The path of the backup file."""
        return os.path.join(os.fspath(self.backup_dir), BACKUP_FILE)

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        self.restored_epoch = None
        self._batches_since_save = 0
        if os.path.exists(self.backup_path):
            epoch = self._restore()
            self.restored_epoch = epoch
            # The epoch loop of `fit` starts from here (see Trainer.fit).
            self.model._initial_epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(next_epoch=self._epoch)  # resuming restarts this epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(next_epoch=epoch + 1)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.delete_checkpoint and os.path.exists(self.backup_path):
            os.remove(self.backup_path)
            try:
                os.rmdir(os.fspath(self.backup_dir))  # only when empty
            except OSError:
                pass

    # ------------------------------------------------------------------ save / restore
    def _save(self, next_epoch: int) -> None:
        tensors: dict[str, torch.Tensor] = {}
        for name, value in self.model.state_dict().items():
            tensors[f"model/{name}"] = value.detach().to("cpu", copy=True).contiguous()
        optimizers = {
            name: _TensorStore(f"optimizer/{name}", tensors).encode(opt.state_dict())
            for name, opt in _optimizers(self.model).items()
        }
        rng = _TensorStore("rng", tensors).encode(_rng_state())
        meta = {
            "format": _FORMAT,
            "version": _VERSION,
            "epoch": next_epoch,
            "model_keys": list(self.model.state_dict()),
            "optimizers": optimizers,
            "rng": rng,
        }
        folder = os.fspath(self.backup_dir)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{BACKUP_FILE}.{os.getpid()}.tmp")
        try:
            save_file(tensors, tmp, metadata={"lamina_backup": json.dumps(meta)})
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.backup_path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def _match_state(self, state: dict[str, torch.Tensor], saved_order: list[str]) -> dict[str, torch.Tensor]:
        """Maps the backed-up state onto the model's: by name, or, when only the
        automatic layer names differ (the same architecture built again in one
        session: ``dense_1`` became ``dense_3``), by position and shape."""
        own = self.model.state_dict()
        if set(state) == set(own):
            mismatched = [k for k in own if tuple(own[k].shape) != tuple(state[k].shape)]
        elif len(saved_order) == len(own) and set(saved_order) == set(state):
            pairs = list(zip(saved_order, own))
            mismatched = [o for s, o in pairs if tuple(own[o].shape) != tuple(state[s].shape)]
            state = {o: state[s] for s, o in pairs}
        else:
            missing = sorted(set(own) - set(state))
            unexpected = sorted(set(state) - set(own))
            raise ValueError(
                f"The backup in {os.fspath(self.backup_dir)!r} does not match this model: it holds "
                f"{len(state)} weights and the model has {len(own)}. Missing from the backup: "
                f"{', '.join(missing) or 'none'}. Not in the model: {', '.join(unexpected) or 'none'}. "
                "The backup comes from another model or run; delete the folder to start afresh."
            )
        if mismatched:
            details = ", ".join(f"{k} {tuple(own[k].shape)} vs {tuple(state[k].shape)} in the backup" for k in mismatched)
            raise ValueError(
                f"The backup in {os.fspath(self.backup_dir)!r} does not match this model: weight "
                f"shapes differ: {details}. The backup comes from another model or run; delete "
                "the folder to start afresh."
            )
        return state

    def _restore(self) -> int:
        path = self.backup_path
        with safe_open(path, framework="pt", device="cpu") as f:
            raw = (f.metadata() or {}).get("lamina_backup")
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
        meta = json.loads(raw) if raw else {}
        if meta.get("format") != _FORMAT:
            raise ValueError(
                f"`BackupAndRestore` found a file at {path!r} that is not a Lamina backup. Delete it "
                "or choose another `backup_dir`."
            )
        state = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
        self.model.load_state_dict(self._match_state(state, meta.get("model_keys") or []))
        held = _optimizers(self.model)
        for name, encoded in meta["optimizers"].items():
            if name not in held:
                raise ValueError(
                    f"The backup in {os.fspath(self.backup_dir)!r} holds the state of `model.{name}`, "
                    f"but this model has no such optimizer (it has: {', '.join(held) or 'none'}). "
                    "Compile the model as in the run that made the backup, or delete the folder."
                )
            held[name].load_state_dict(_decode(encoded, tensors))
        _set_rng_state(_decode(meta["rng"], tensors))
        return int(meta["epoch"])
