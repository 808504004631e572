"""`BackupAndRestore`: resume an interrupted `fit` where it stopped.

The backup is one safetensors file: the model's state, the tensors of every
optimizer the model holds, and the random number generator states, with the
rest (epoch, optimizer hyperparameters and step counts, Python and NumPy RNG
states) as JSON in the file's metadata. Nothing is pickled. It is written with
`lamina.saving.file_io.atomic_write`: a recognisable temporary file that then
replaces the old backup, so a crash while saving leaves the previous backup
intact, and the temporary file a killed run leaves behind is removed by the
next run.

Restoring trusts nothing in the file: its size is bounded, the safetensors
header and the metadata are checked before any tensor is created, and the
weights, optimizer states and RNG states are all checked before any of them is
applied. A broken or foreign backup raises `InvalidFileError` naming the file,
and the model, the optimizers and the file are left as they were.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import re
import secrets
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import torch
from safetensors.torch import save as _st_save

from lamina.optimizers import Optimizer
from lamina.saving import file_io, limits, optimizer_checks, tensors
from lamina.saving.errors import InvalidFileError, guard_file_errors
from lamina.training.callbacks.base import Callback
from lamina.training.callbacks.model_checkpoint import _check_save_freq
from lamina.utils import validation

BACKUP_FILE = "backup.safetensors"
_FORMAT = "lamina.backup"
_VERSION = 1
_META_KEY = "lamina_backup"
_OWNER = "BackupAndRestore"

# Bounds on what a backup may hold. The file: the model's state, up to a few
# copies of it for the optimizers' moments, and a generous allowance for the
# rest. The metadata JSON: its length and its nesting (a real backup nests about
# a dozen levels deep).
_SIZE_SLACK = 1 << 30
_SIZE_FACTOR = 8
_MAX_META_CHARS = 64 << 20
_MAX_META_DEPTH = 48
_MAX_EPOCH = 2**31 - 1
# The NumPy dtypes a backup stores arrays as (the NumPy RNG key is uint32).
_ARRAY_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# The temporary files of earlier Lamina versions (`.backup.safetensors.<pid>.tmp`);
# today's are `file_io.atomic_write`'s, removed by `file_io.remove_stale_temporaries`.
_LEGACY_TEMP = re.compile(re.escape(f".{BACKUP_FILE}.") + r"([0-9]{1,10})\.tmp")
_PROBE_PREFIX = ".lamina-write-check."


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


# --------------------------------------------------------------------------- files
def _write_payload(f: IO[bytes], payload: bytes) -> None:
    f.write(payload)


def _create_probe(folder: str) -> None:
    """Creates and removes a small file in ``folder``: raises the OSError a backup
    written there would meet."""
    probe = os.path.join(folder, f"{_PROBE_PREFIX}{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, b"lamina")
    finally:
        os.close(fd)
        os.remove(probe)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows, os.kill would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # another user's process, or no way to tell: keep its file
    return True


def _remove_stale_temps(backup_path: str) -> None:
    """Removes the temporary backups that runs killed while saving left next to
    ``backup_path`` (those of live processes are kept), in today's naming and in
    that of earlier Lamina versions."""
    file_io.remove_stale_temporaries(backup_path)
    folder = os.path.dirname(backup_path)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        m = _LEGACY_TEMP.fullmatch(entry.name)
        if m is None or _process_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.remove(entry.path)


# --------------------------------------------------------------------------- reading
def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class _Restored:
    epoch: int
    model_state: dict[str, torch.Tensor]
    optimizer_states: dict[str, Any]
    rng: dict[str, Any]


class _BackupReader:
    """Reads and checks one backup file; applies nothing."""

    def __init__(self, callback: BackupAndRestore) -> None:
        self.model = callback.model
        self.path = callback.backup_path
        self.fix = (
            f"Delete {self.path} to start training from scratch, or pass another `backup_dir` "
            "(the file was left as it is)"
        )

    def refuse(self, problem: str, member: str | None = None) -> Exception:
        return InvalidFileError(
            f"`{_OWNER}` cannot resume from the backup {self.path}: {problem}. {self.fix}.",
            path=self.path,
            member=member,
        )

    def read(self) -> _Restored:
        own = self.model.state_dict()
        cap = _SIZE_FACTOR * sum(v.numel() * v.element_size() for v in own.values()) + _SIZE_SLACK
        size = file_io.check_regular_file(self.path, "a Lamina backup").st_size
        if size > cap:
            raise self.refuse(
                f"it is {size} bytes, more than the {cap} bytes a backup of this model can hold "
                f"({_SIZE_FACTOR} times its weights and {_SIZE_SLACK} bytes more), so it is not this model's backup"
            )
        data = file_io.read_regular_file(self.path, "a Lamina backup", cap)
        # The header is checked before any tensor is created; the messages read
        # "... cannot resume from the backup <path>: it is not valid safetensors data: <problem>. <fix>."
        opening = f"`{_OWNER}` cannot resume from the backup {self.path}: it"
        infos, header_meta = tensors.read_safetensors_header(data, opening, path=self.path, fix=self.fix)
        meta = self.metadata(header_meta, infos)
        model_keys = meta["model_keys"]
        pairs = self.match_model({k: infos[f"model/{k}"] for k in model_keys}, model_keys, own)
        stored = tensors.bytes_to_tensors(data, opening, path=self.path, fix=self.fix)
        del data
        self.check_finite({k: stored[f"model/{k}"] for k in model_keys})
        state = {o: stored[f"model/{s}"] for s, o in pairs}
        held = _optimizers(self.model)
        optimizer_states = {}
        for name, encoded in meta["optimizers"].items():
            if name not in held:
                raise self.refuse(
                    f"it holds the state of `model.{name}`, but this model has no such optimizer (it has: "
                    f"{', '.join(held) or 'none'}); compile the model as in the run that made the backup"
                )
            value = self.decode(encoded, stored, f"optimizers.{name}", f"optimizer/{name}/")
            optimizer_states[name] = self.check_optimizer(name, held[name], value)
        rng = self.check_rng(self.decode(meta["rng"], stored, "rng", "rng/"))
        return _Restored(meta["epoch"], state, optimizer_states, rng)

    # ---------------------------------------------------------------- metadata
    def metadata(self, header_meta: dict[str, str], infos: dict[str, Any]) -> dict[str, Any]:
        raw = header_meta.get(_META_KEY)
        if raw is None:
            names = sorted(infos)
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise self.refuse(
                f"it is not a Lamina backup (a safetensors file without the {_META_KEY!r} metadata; "
                f"it holds {len(names)} tensors: {shown or 'none'})"
            )
        if not isinstance(raw, str) or len(raw) > _MAX_META_CHARS:
            size = len(raw) if isinstance(raw, str) else type(raw).__name__
            raise self.refuse(f"its metadata is not a JSON text of at most {_MAX_META_CHARS} characters (received {size})")
        try:
            meta = limits.parse_json(raw, max_depth=_MAX_META_DEPTH)
        except limits.JSONRefused as e:
            raise self.refuse(f"its metadata is not valid JSON: {e}") from e
        if not isinstance(meta, dict):
            raise self.refuse(f"its metadata must be a JSON object; received {_short(meta)}")
        if meta.get("format") != _FORMAT:
            raise self.refuse(f"it is not a Lamina backup (format {_short(meta.get('format'))}, expected {_FORMAT!r})")
        version = meta.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise self.refuse(f"its format version must be a positive integer; received {_short(version)}")
        if version > _VERSION:
            raise self.refuse(
                f"it was written by a newer Lamina (backup format version {version}; this Lamina reads "
                f"version {_VERSION}); upgrade Lamina to resume from it"
            )
        missing = [k for k in ("epoch", "model_keys", "optimizers", "rng") if k not in meta]
        if missing:
            raise self.refuse(f"its metadata lacks {', '.join(repr(k) for k in missing)}")
        epoch = meta["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= _MAX_EPOCH:
            raise self.refuse(f"its 'epoch' must be an integer from 0 to {_MAX_EPOCH}; received {_short(epoch)}")
        keys = meta["model_keys"]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise self.refuse(f"its 'model_keys' must be a list of weight names; received {_short(keys)}")
        if len(set(keys)) != len(keys):
            raise self.refuse("its 'model_keys' name a weight more than once")
        in_file = {name[len("model/"):] for name in infos if name.startswith("model/")}
        if in_file != set(keys):
            listed = sorted(set(keys) - in_file)
            extra = sorted(in_file - set(keys))
            raise self.refuse(
                "its 'model_keys' do not match its tensors (listed but missing: "
                f"{_short(listed)}; stored but not listed: {_short(extra)})"
            )
        optimizers = meta["optimizers"]
        if not isinstance(optimizers, dict) or not all(isinstance(k, str) and _NAME.match(k) for k in optimizers):
            raise self.refuse(
                f"its 'optimizers' must map attribute names to optimizer states; received {_short(optimizers)}"
            )
        self.check_references(meta["optimizers"], infos, "optimizers")
        self.check_references(meta["rng"], infos, "rng")
        return meta

    def check_references(self, value: Any, infos: dict[str, Any], where: str) -> None:
        """Every ``__tensor__`` / ``__ndarray__`` key must name a tensor in the
        header: checked before any tensor is created."""
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                for tag in ("__tensor__", "__ndarray__"):
                    if tag in node and node[tag] not in infos:
                        raise self.refuse(
                            f"its {where!r} metadata refers to a tensor {_short(node[tag])} that the file does not hold"
                        )
                stack.extend(node.values())

    # ---------------------------------------------------------------- decoding
    def decode(self, obj: Any, stored: dict[str, torch.Tensor], where: str, prefix: str) -> Any:
        """The inverse of `_TensorStore.encode`, accepting only what it writes."""
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, list):
            return [self.decode(v, stored, f"{where}[{i}]", prefix) for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            keys = set(obj)
            if keys == {"__tensor__"}:
                return self.tensor(obj["__tensor__"], stored, where, prefix)
            if keys == {"__ndarray__", "dtype"}:
                t = self.tensor(obj["__ndarray__"], stored, where, prefix)
                dtype = obj["dtype"]
                if dtype not in _ARRAY_DTYPES or t.dtype != torch.int64:
                    raise self.refuse(
                        f"the array at {where} must be stored as int64 with an integer dtype; received "
                        f"{t.dtype} with dtype {_short(dtype)}"
                    )
                return t.numpy().astype(dtype)
            if keys == {"__tuple__"} and isinstance(obj["__tuple__"], list):
                return tuple(self.decode(v, stored, f"{where}[{i}]", prefix) for i, v in enumerate(obj["__tuple__"]))
            if keys == {"__dict__"} and isinstance(obj["__dict__"], list):
                out = {}
                for i, pair in enumerate(obj["__dict__"]):
                    if not isinstance(pair, list) or len(pair) != 2:
                        raise self.refuse(f"the entry {where}[{i}] must be a [key, value] pair; received {_short(pair)}")
                    key = self.decode(pair[0], stored, f"{where}[{i}].key", prefix)
                    if not isinstance(key, (str, int, float, bool, type(None))):
                        raise self.refuse(f"the key of {where}[{i}] must be a string or a number; received {_short(pair[0])}")
                    out[key] = self.decode(pair[1], stored, f"{where}[{key!r}]", prefix)
                return out
        raise self.refuse(f"the entry {where} is not one a Lamina backup holds: {_short(obj)}")

    def tensor(self, key: Any, stored: dict[str, torch.Tensor], where: str, prefix: str) -> torch.Tensor:
        if not isinstance(key, str) or not key.startswith(prefix) or key not in stored:
            raise self.refuse(f"the entry {where} refers to {_short(key)}, not to one of its {prefix}* tensors")
        return stored[key]

    # ---------------------------------------------------------------- checks
    def match_model(
        self, declared: dict[str, Any], saved_order: list[str], own: dict[str, torch.Tensor]
    ) -> list[tuple[str, str]]:
        """Pairs the backed-up weights (``declared``: name -> its header entry, with
        ``shape`` and ``dtype``; no tensor needed) with the model's: by name, or,
        when only the automatic layer names differ (the same architecture built
        again in one session: ``dense_1`` became ``dense_3``), by position.
        Returns ``(name in the backup, name in the model)`` pairs."""
        if set(declared) == set(own):
            pairs = [(k, k) for k in own]
        elif len(saved_order) == len(own):
            pairs = list(zip(saved_order, own))
        else:
            missing = sorted(set(own) - set(declared))
            unexpected = sorted(set(declared) - set(own))
            raise self.refuse(
                f"it does not match this model: it holds {len(declared)} weights and the model has {len(own)}. "
                f"Missing from the backup: {', '.join(missing) or 'none'}. Not in the model: "
                f"{', '.join(unexpected) or 'none'}. The backup comes from another model or run"
            )
        mismatched = [(s, o) for s, o in pairs if tuple(own[o].shape) != tuple(declared[s].shape)]
        if mismatched:
            details = ", ".join(
                f"{o} {tuple(own[o].shape)} vs {tuple(declared[s].shape)} in the backup" for s, o in mismatched
            )
            raise self.refuse(
                f"it does not match this model: weight shapes differ: {details}. The backup comes from "
                "another model or run"
            )
        # A backup is written from the model it restores: another dtype means another
        # model (or a changed dtype policy), and a cast could lose values silently.
        differ = [(s, o) for s, o in pairs if own[o].dtype != declared[s].dtype]
        if differ:
            details = ", ".join(f"{o} {own[o].dtype} vs {declared[s].dtype} in the backup" for s, o in differ)
            raise self.refuse(
                f"it does not match this model: weight dtypes differ: {details}. The backup comes from "
                "another model or run"
            )
        return pairs

    def check_finite(self, state: dict[str, torch.Tensor]) -> None:
        for name, t in state.items():
            if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all()):
                bad = int((~torch.isfinite(t)).sum())
                raise self.refuse(
                    f"the weight {name!r} holds {bad} NaN or infinite value(s); training had diverged "
                    "when it was backed up", member=f"model/{name}"
                )

    def check_optimizer(self, name: str, optimizer: Optimizer, value: Any) -> Any:
        source = f"`model.{name}`"
        try:
            optimizer_checks.check_optimizer_state(optimizer, value, source)
        except InvalidFileError as e:
            # Keep the problem; the fix for a backup is ours, not the model file's.
            problem = getattr(e, "problem", str(e))
            raise self.refuse(f"the state of {source} cannot be loaded: {problem}", member=e.member) from e
        return value

    def check_rng(self, rng: Any) -> dict[str, Any]:
        """Checks each RNG state by loading it into a throwaway generator."""
        if not isinstance(rng, dict) or not {"python", "numpy", "torch"} <= set(rng) <= {"python", "numpy", "torch", "cuda"}:
            raise self.refuse(
                "its 'rng' entry must hold the 'python', 'numpy' and 'torch' generator states (and "
                f"optionally 'cuda'); received {_short(rng if not isinstance(rng, dict) else sorted(map(str, rng)))}"
            )
        try:
            random.Random().setstate(rng["python"])
        except (TypeError, ValueError, OverflowError, IndexError) as e:
            raise self.refuse(f"its Python random state is not valid ({type(e).__name__}: {e})") from e
        state = rng["numpy"]
        if not (
            isinstance(state, tuple) and len(state) == 5 and state[0] == "MT19937"
            and isinstance(state[1], np.ndarray) and state[1].shape == (624,) and state[1].dtype == np.uint32
        ):
            raise self.refuse(
                "its NumPy random state is not an ('MT19937', 624 uint32 words, position, has_gauss, "
                f"cached_gaussian) tuple; received {_short(state)}"
            )
        # NumPy does not check these itself: a position past the key reads past its end.
        pos, has_gauss, gauss = state[2], state[3], state[4]
        if isinstance(pos, bool) or not isinstance(pos, int) or not 0 <= pos <= 624:
            raise self.refuse(f"its NumPy random state's position must be an integer from 0 to 624; received {_short(pos)}")
        if has_gauss not in (0, 1) or isinstance(has_gauss, float) or not isinstance(gauss, (int, float)) or not np.isfinite(gauss):
            raise self.refuse(
                "its NumPy random state's cached Gaussian must be a flag 0 or 1 and a finite number; received "
                f"{_short(has_gauss)}, {_short(gauss)}"
            )
        try:
            np.random.RandomState().set_state(state)
        except (TypeError, ValueError, OverflowError, IndexError) as e:
            raise self.refuse(f"its NumPy random state is not valid ({type(e).__name__}: {e})") from e
        self.check_generator_state(rng["torch"], "PyTorch CPU", torch.get_rng_state())
        cuda = rng.get("cuda")
        if cuda is not None:
            if not isinstance(cuda, list):
                raise self.refuse(f"its CUDA random states must be a list; received {_short(cuda)}")
            restorable = torch.cuda.is_available() and len(cuda) == torch.cuda.device_count()
            for i, t in enumerate(cuda):
                self.check_generator_state(t, f"CUDA device {i}", torch.cuda.get_rng_state(i) if restorable else None)
        return rng

    def check_generator_state(self, t: Any, which: str, reference: torch.Tensor | None) -> None:
        if not isinstance(t, torch.Tensor) or t.dtype != torch.uint8 or t.ndim != 1:
            got = f"a {t.dtype} tensor of shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else _short(t)
            raise self.refuse(f"its {which} random state must be a 1-D uint8 tensor; received {got}")
        if reference is not None and t.numel() != reference.numel():
            raise self.refuse(
                f"its {which} random state holds {t.numel()} bytes; this PyTorch's holds {reference.numel()}"
            )
        if reference is not None and which == "PyTorch CPU":
            try:
                torch.Generator().set_state(t)
            except RuntimeError as e:
                raise self.refuse(f"its {which} random state is not valid ({e})") from e


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

    `backup_dir` is checked when `fit` starts, before any training: it is
    created if missing, and must be a writable folder. A backup that cannot be
    restored (truncated, from another model, not a Lamina backup, holding NaN
    weights, ...) raises `lamina.saving.InvalidFileError` naming it, and nothing
    is changed: delete it to start from scratch, or pass another folder.

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
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(
                f"`{_OWNER}` expects `backup_dir` to be a folder path. Received: backup_dir={backup_dir!r}."
            )
        self.backup_dir = backup_dir
        self.save_freq = _check_save_freq(_OWNER, save_freq)
        self.delete_checkpoint = validation.boolean(_OWNER, "delete_checkpoint", delete_checkpoint)
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
        self._check_backup_dir()
        _remove_stale_temps(self.backup_path)
        if os.path.lexists(self.backup_path):
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

    # ------------------------------------------------------------------ checks
    def _check_backup_dir(self) -> None:
        """Makes sure a backup can be written, before the first epoch trains."""
        folder = os.fspath(self.backup_dir)
        fix = "Pass a `backup_dir` in a folder you can write to"
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise NotADirectoryError(
                f"`{_OWNER}` expects `backup_dir` to be a folder. Received: backup_dir={folder!r}, which is "
                f"a file. Move that file away, or pass another `backup_dir`."
            )
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise type(e)(
                e.errno, f"`{_OWNER}` cannot create the backup folder {folder!r} ({e.strerror or e}). {fix}."
            ) from e
        try:
            _create_probe(folder)
        except OSError as e:
            if isinstance(e, PermissionError) or e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise PermissionError(
                    e.errno or errno.EACCES,
                    f"`{_OWNER}` cannot write to the backup folder {folder!r} ({e.strerror or e}). "
                    f"Give yourself write permission on it, or pass another `backup_dir`.",
                ) from e
            raise OSError(
                e.errno, f"`{_OWNER}` cannot write to the backup folder {folder!r} ({e.strerror or e}). {fix}."
            ) from e
        path = self.backup_path
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
            what = "a symbolic link" if os.path.islink(path) else "a folder" if os.path.isdir(path) else "not a regular file"
            raise InvalidFileError(
                f"`{_OWNER}` expects {path} to be a backup file, but it is {what}. Remove it to start "
                "training from scratch, or pass another `backup_dir`.",
                path=path,
            )

    # ------------------------------------------------------------------ save / restore
    def _save(self, next_epoch: int) -> None:
        entries: dict[str, torch.Tensor] = {}
        for name, value in self.model.state_dict().items():
            entries[f"model/{name}"] = value.detach().to("cpu", copy=True).contiguous()
        optimizers = {
            name: _TensorStore(f"optimizer/{name}", entries).encode(opt.state_dict())
            for name, opt in _optimizers(self.model).items()
        }
        rng = _TensorStore("rng", entries).encode(_rng_state())
        meta = {
            "format": _FORMAT,
            "version": _VERSION,
            "epoch": next_epoch,
            "model_keys": list(self.model.state_dict()),
            "optimizers": optimizers,
            "rng": rng,
        }
        payload = _st_save(entries, metadata={_META_KEY: json.dumps(meta)})
        folder = os.fspath(self.backup_dir)
        os.makedirs(folder, exist_ok=True)
        file_io.atomic_write(self.backup_path, lambda f: _write_payload(f, payload))

    def _restore(self) -> int:
        reader = _BackupReader(self)
        with guard_file_errors(reader.path, "a Lamina backup", reader.fix + "."):
            restored = reader.read()
            # Everything was checked: apply it.
            held = _optimizers(self.model)
            for name, state in restored.optimizer_states.items():
                held[name].load_state_dict(state)
            self.model.load_state_dict(restored.model_state)
            _set_rng_state(restored.rng)
        return restored.epoch
