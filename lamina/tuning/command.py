"""`lamina tune SCRIPT [--max-trials N] [--epochs E] [--time-budget S] [--storage URL] ...`.

Runs a search for a Python file that defines ``build_model(hp)`` and the data:
either module globals ``x`` and ``y`` (and optionally ``validation_data`` or
``validation_split``), or a function ``data()`` returning a dict with those
keys. The study lives in the storage (by default a SQLite file in
``--directory``), so running the same command again continues it: after a crash,
it finishes the interrupted search; with a larger ``--max-trials``, it adds trials.
``--n-jobs K`` runs trials in ``K`` processes on the study (`Tuner.search`'s
``n_jobs``): each worker process runs the script again to get ``build_model``.

Light at import: Optuna, torch and the script are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_NAME = "lamina tune"
_DATA_KEYS = ("x", "y", "validation_data", "validation_split")


class ScriptError(ValueError):
    """The script cannot be run or lacks `build_model` or the data."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this subcommand's arguments."""
    parser.add_argument("script", help="a Python file defining build_model(hp) and the data")
    parser.add_argument(
        "--max-trials",
        type=int,
        default=20,
        help="finished trials the study should hold (default: 20)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=10,
        help="most epochs per trial, the pruner's budget (default: 10)",
    )
    parser.add_argument(
        "--time-budget", type=float, default=None, help="seconds for this run (default: no limit)"
    )
    parser.add_argument(
        "--storage",
        default=None,
        help="sqlite:///file.db or an RDB URL (default: a SQLite file in --directory)",
    )
    parser.add_argument(
        "--study-name", default=None, help="the study's name (default: the name of build_model)"
    )
    parser.add_argument(
        "--objective",
        default="val_loss",
        help="the logged metric to optimise, e.g. val_accuracy; NAME:max or NAME:min gives the "
        "direction of a metric whose name does not tell it (default: val_loss)",
    )
    parser.add_argument(
        "--sampler",
        choices=("tpe", "random", "grid"),
        default="tpe",
        help="how trials are drawn (default: tpe)",
    )
    parser.add_argument(
        "--pruner",
        choices=("asha", "hyperband", "median", "none"),
        default="asha",
        help="how poor trials are stopped early (default: asha, successive halving)",
    )
    parser.add_argument(
        "--directory",
        default="lamina_tuning",
        help="folder of the default storage and the trials' models (default: lamina_tuning)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        help="trials run at once, each in its own process (default: 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the study's seed (default: 0)")


def load_script(path: str | os.PathLike) -> dict[str, Any]:
    """Runs the script and returns what the search needs from it.

    Args:
        path: The Python file.

    Returns:
        `{"build_model": ..., "x": ..., "y": ..., "validation_data": ..., "validation_split": ...}`
        (the last two None when the script does not give them).

    Raises:
        ScriptError: The file is missing, or defines no `build_model` or no data.
    """
    import runpy

    script = Path(path)
    if not script.is_file():
        raise ScriptError(
            f"`{_NAME}` expects the path of a Python file. Received: {str(path)!r}, which "
            + ("is a folder." if script.is_dir() else "does not exist.")
        )
    folder = str(script.resolve().parent)
    sys.path.insert(0, folder)  # the script's own imports
    try:
        namespace = runpy.run_path(str(script), run_name="__lamina_tune__")
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    defined = sorted(
        k for k, v in namespace.items() if not k.startswith("_") and not isinstance(v, ModuleType)
    )
    build_model = namespace.get("build_model")
    if not callable(build_model):
        raise ScriptError(
            f"`{_NAME}` expects {script} to define a function `build_model(hp)` returning a "
            f"compiled model. Received: a script defining {_listed(defined)}"
            + ("" if build_model is None else f", with build_model a {type(build_model).__name__}")
            + ". Add `def build_model(hp): ...`."
        )
    return {"build_model": build_model, **_data_of(namespace, script, defined)}


class ScriptFunction:
    """A function of a script run by `load_script`, picklable by the script's path: the
    worker processes of ``--n-jobs`` run the script again and take the function there.

    Args:
        path: The script.
        name: The function's name in the script.
        function: The function, as loaded in this process.
    """

    def __init__(self, path: str | os.PathLike, name: str, function: Any) -> None:
        self.path, self.name, self.function = str(Path(path).resolve()), name, function
        self.__name__ = getattr(function, "__name__", name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __getstate__(self) -> dict:
        return {"path": self.path, "name": self.name}

    def __setstate__(self, state: dict) -> None:
        loaded = load_script(state["path"])
        self.__init__(state["path"], state["name"], loaded[state["name"]])


def _listed(names: list[str]) -> str:
    return ", ".join(names) if names else "nothing"


def _data_of(namespace: dict[str, Any], script: Path, defined: list[str]) -> dict[str, Any]:
    how = (
        "module globals `x` and `y` (and optionally `validation_data` or `validation_split`), "
        "or a function `data()` returning a dict with those keys"
    )
    data_fn = namespace.get("data")
    if callable(data_fn):
        data = data_fn()
        if not isinstance(data, dict):
            raise ScriptError(
                f"`{_NAME}` expects `data()` in {script} to return a dict with the keys "
                f"{', '.join(_DATA_KEYS)}. Received: a {type(data).__name__}. Return "
                '{"x": x, "y": y, "validation_data": (x_dev, y_dev)}.'
            )
        source, where = data, "the dict returned by `data()`"
    else:
        source, where = namespace, "the script"
    missing = [k for k in ("x", "y") if source.get(k) is None]
    if missing:
        raise ScriptError(
            f"`{_NAME}` expects {script} to define the data: {how}. Received: {where} lacks "
            f"{' and '.join(map(repr, missing))} (it defines "
            f"{_listed(sorted(source) if source is not namespace else defined)})."
        )
    unknown = sorted(set(source) - set(_DATA_KEYS)) if source is not namespace else []
    if unknown:
        raise ScriptError(
            f"`{_NAME}` reads the keys {', '.join(_DATA_KEYS)} from `data()`. Received: "
            f"unknown key(s) {', '.join(map(repr, unknown))}. Remove them or rename them."
        )
    return {k: source.get(k) for k in _DATA_KEYS}


def _objective(text: str) -> Any:
    """``"val_f1:max"`` -> ``("val_f1", "max")``; a plain name is left to `Tuner`."""
    name, sep, direction = text.rpartition(":")
    if sep and direction in ("max", "min") and name:
        return (name, direction)
    return text


def _tuner(args: argparse.Namespace, build_model: Any) -> Any:
    from lamina.tuning.tuner import Tuner

    return Tuner(
        build_model,
        objective=_objective(args.objective),
        max_trials=args.max_trials,
        time_budget=args.time_budget,
        sampler=args.sampler,
        pruner=None if args.pruner == "none" else args.pruner,
        storage=args.storage,
        study_name=args.study_name,
        seed=args.seed,
        directory=args.directory,
    )


def _counts(study: Any) -> dict[str, Any]:
    """Trials per state and the best value so far, read from the storage."""
    counts = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0, "RUNNING": 0, "WAITING": 0}
    best = None
    maximize = study.direction.name == "MAXIMIZE"
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
        if t.state.name == "COMPLETE" and t.value is not None:
            if best is None or (t.value > best if maximize else t.value < best):
                best = t.value
    return {**counts, "best": best}


def _describe(counts: dict[str, Any], max_trials: int) -> str:
    done = counts["COMPLETE"] + counts["PRUNED"]
    best = "-" if counts["best"] is None else f"{counts['best']:.4g}"
    return (
        f"trials done {done}/{max_trials}, best so far {best}, pruned {counts['PRUNED']}, "
        f"failed {counts['FAIL']}, running {counts['RUNNING']}"
    )


class _Progress:
    """A live line (rich) refreshed from the storage while the search runs in this process."""

    def __init__(self, study: Any, max_trials: int, objective: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.study, self.max_trials = study, max_trials
        self.progress = Progress(
            TextColumn("[bold]tuning[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn(f"best {objective} {{task.fields[best]}}  pruned {{task.fields[pruned]}}  "
                       "failed {task.fields[failed]}"),
            transient=False,
        )  # fmt: skip
        self.task = self.progress.add_task("trials", total=max_trials, best="-", pruned=0, failed=0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _update(self) -> None:
        c = _counts(self.study)
        best = "-" if c["best"] is None else f"{c['best']:.4g}"
        self.progress.update(
            self.task, completed=min(c["COMPLETE"] + c["PRUNED"], self.max_trials),
            best=best, pruned=c["PRUNED"], failed=c["FAIL"],
        )  # fmt: skip

    def _poll(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self._update()
            except Exception:  # noqa: BLE001 - a busy storage must not end the search
                continue

    def __enter__(self) -> _Progress:
        self.progress.start()
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join()
        try:
            self._update()
        finally:
            self.progress.stop()


def run(args: argparse.Namespace) -> int:
    """Runs the search; returns 0, 2 when the script or the arguments are unusable, 1 when
    the search stops on an error (storage, objective). Errors are printed as one message."""
    for name in ("max_trials", "epochs", "n_jobs"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            print(f"{_NAME}: {flag} must be at least 1. Received: {getattr(args, name)}.",
                  file=sys.stderr)  # fmt: skip
            return 2
    try:
        loaded = load_script(args.script)
        build_model = loaded["build_model"]
        if args.n_jobs > 1:  # worker processes run the script again to get `build_model`
            build_model = ScriptFunction(args.script, "build_model", build_model)
        tuner = _tuner(args, build_model)
    except ScriptError as e:
        print(f"{_NAME}: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, ConnectionError, ImportError) as e:
        print(f"{_NAME}: {e}", file=sys.stderr)
        return 1
    study = tuner.study
    print(f"{_NAME}: study {study.study_name!r} in {tuner.storage_url}")
    before = _counts(study)
    print(f"{_NAME}: before this run: {_describe(before, args.max_trials)}")
    fit = {k: loaded[k] for k in ("validation_data", "validation_split") if loaded[k] is not None}
    try:
        with _Progress(study, args.max_trials, tuner.objective.name):
            results = tuner.search(
                loaded["x"], loaded["y"], epochs=args.epochs, n_jobs=args.n_jobs, verbose=1, **fit
            )
    except (ValueError, TypeError, ConnectionError, OSError) as e:
        print(f"{_NAME}: {e}", file=sys.stderr)
        return 1
    after = _counts(study)
    ran = sum(after[s] for s in ("COMPLETE", "PRUNED", "FAIL")) - sum(
        before[s] for s in ("COMPLETE", "PRUNED", "FAIL")
    )
    print(f"{_NAME}: {ran} trial(s) run now; {_describe(after, args.max_trials)}")
    print(results)
    if results.best is not None:
        print(f"Best params: {results.best.params}")
    print(f"{_NAME}: the study is stored in {tuner.storage_url}; run the same command again to "
          "continue it (raise --max-trials for more trials).")  # fmt: skip
    return 0
