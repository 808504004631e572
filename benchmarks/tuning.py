"""Hyper-parameter search on Optuna (issue #16): what pruning buys, what the machinery costs.

Task: scikit-learn's 1,797 handwritten digits bundled with Lamina
(`lamina.data.load_digits(images=True)`, 8x8x1, pixels / 16), one fixed
stratified split (`lamina.data.split(dev=0.2, test=0.2, seed=0)`: 1,079 train,
359 dev; the test set is never touched). Search space (`build_model` below): a
small convnet, 1-3 blocks of Conv2D (8-64 filters, log, doubling per block;
kernel 3 or 5) + max or average pooling, dropout 0-0.5, a softmax head, and the
optimizer: Adam, SGD (momentum 0.9) or RMSprop with a learning rate log-uniform in
1e-4..1. As in real searches a good share of the space is clearly bad (Adam or
RMSprop at lr > 0.05 diverges; SGD at lr < 1e-3 barely moves in a few epochs).
Batch size 32, objective `val_accuracy` (the best epoch's dev accuracy).

1. Search at an equal epoch budget. For each study seed, four searches through
   `lamina.tuning.Tuner` (SQLite storage in a temporary folder), run one after the
   other with their order rotating from seed to seed: random search
   (``sampler="random"``, no pruning), TPE (``sampler="tpe"``, no pruning),
   TPE + Hyperband (``pruner="hyperband"``: min 1 epoch, max ``--max-epochs``,
   reduction factor 3), and TPE + ASHA (``pruner="asha"``: successive halving,
   rungs at 1, 3, 9 epochs, the best third goes on; ``--methods`` picks a subset,
   random search always runs). Every trial may train for ``--max-epochs`` epochs; a
   search stops once ``--budget`` epochs have been run in total (by default 270, 30
   full trials: with fewer, TPE's 10 random start-up trials leave it little room to
   differ from random search, and random search often finds its best in its first
   few trials, which all the searches share), counted from what ran (each
   trial's ``epochs`` record, pruned trials included). A trial's
   score counts from the moment it finishes and only for complete trials (what
   `Tuner.best_trial` would return then). Printed: the best dev accuracy reached
   after 1/9, 2/9, 1/3, 2/3 and all of the budget (median and min-max over
   seeds), the epochs of each trial of the pruned searches (which were pruned, and
   when), and the epochs each search needed to reach the final best score of
   the random search of the same seed (the issue's target: the pruned search
   gets there within a third of the budget). Two properties of the Tuner shape
   this comparison: its samplers are seeded from the study seed *and the process*
   (so two processes on one study draw differently), so a rerun draws other
   configurations; and Optuna's TPE samples its first 10 trials at random with
   the same generator as the random sampler, so random search and TPE share
   those trials (and the pruned search starts from them too): TPE can only
   differ from the 11th finished trial on.

2. Overhead of the machinery. The same ``--configs`` fixed configurations (the
   same per-trial seeds, `derive_seed(study seed, trial number)`) run as a plain
   loop (set the seed, build, `fit` with the dev set as validation data, take the
   best epoch's `val_accuracy`) and through `Tuner.search` (enqueued trials, the hp
   wrapper, SQLite storage with its heartbeat, the pruning callback with
   ``pruner=None``, best-epoch weights kept, the study's bookkeeping): ``tuner``
   with ``keep_models=False``; ``tuner+save`` with the default ``keep_models=True``
   (each complete trial's model saved, and best vs runner-up compared on the dev
   set at the end of `search`). The storage is the Tuner's default SQLite file, in
   WAL mode with ``PRAGMA synchronous=NORMAL`` (`lamina.tuning.storage`: no fsync per
   commit). The three arms alternate (order rotating) for ``--reps``
   repetitions after one warm-up round; printed are each arm's median time, the
   median of the per-repetition ratios arm / plain with quartiles, in wall time and
   in process CPU time (all threads: less sensitive to the machine's other load)
   (`benchmarks/timing.py`), the overhead per trial in milliseconds, the ratio of
   the fastest repetitions (this machine's load only ever adds time), the
   once-per-search costs (opening the study; the results summary), and a check
   that every arm produced the same scores as the plain loop.

Usage::

    .venv/bin/python benchmarks/tuning.py [--seeds 8] [--first-seed 0] [--budget 270]
        [--max-epochs 9] [--methods random tpe tpe+hyperband tpe+asha] [--configs 3]
        [--epochs 30] [--reps 9] [--threads 1] [--skip-search] [--skip-overhead]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402

import lamina  # noqa: E402
from lamina import layers  # noqa: E402

METHODS = (
    ("random", {"sampler": "random", "pruner": None}),
    ("tpe", {"sampler": "tpe", "pruner": None}),
    ("tpe+hyperband", {"sampler": "tpe", "pruner": "hyperband"}),
    ("tpe+asha", {"sampler": "tpe", "pruner": "asha"}),
)
CHECKPOINTS = (1 / 9, 2 / 9, 1 / 3, 2 / 3, 1.0)
OPTIMIZERS = {
    "adam": lambda lr: lamina.optimizers.Adam(learning_rate=lr),
    "sgd": lambda lr: lamina.optimizers.SGD(learning_rate=lr, momentum=0.9),
    "rmsprop": lambda lr: lamina.optimizers.RMSprop(learning_rate=lr),
}
# Part 2's fixed configurations: a large, a small and a deep model (a few seconds each).
FIXED = (
    {"blocks": 2, "filters": 32, "kernel": 3, "pooling": "max", "dropout": 0.2,
     "optimizer": "adam", "learning_rate": 2e-3},
    {"blocks": 1, "filters": 16, "kernel": 5, "pooling": "avg", "dropout": 0.1,
     "optimizer": "sgd", "learning_rate": 3e-2},
    {"blocks": 3, "filters": 16, "kernel": 3, "pooling": "max", "dropout": 0.3,
     "optimizer": "rmsprop", "learning_rate": 1e-3},
)  # fmt: skip


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The fixed train and dev sets (the test set of the split is left alone)."""
    x, y = lamina.data.load_digits(images=True)
    splits = lamina.data.split(x / 16.0, y, dev=0.2, test=0.2, seed=0)
    return splits.train, splits.dev


def build(params: dict) -> lamina.Model:
    """The compiled convnet for one configuration (no `hp` involved)."""
    inputs = lamina.Input(shape=(8, 8, 1))
    h = inputs
    pool = layers.MaxPooling2D if params["pooling"] == "max" else layers.AveragePooling2D
    for block in range(params["blocks"]):
        h = layers.Conv2D(params["filters"] * 2**block, params["kernel"], padding="same",
                          activation="relu")(h)  # fmt: skip
        h = pool(2, padding="same")(h)
    h = layers.Dropout(params["dropout"])(layers.Flatten()(h))
    model = lamina.Model(inputs, layers.Dense(10, activation="softmax")(h))
    model.compile(
        optimizer=OPTIMIZERS[params["optimizer"]](params["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_model(hp) -> lamina.Model:
    """The search space, through the `hp` wrapper."""
    return build(
        {
            "blocks": hp.Int("blocks", 1, 3),
            "filters": hp.Int("filters", 8, 64, log=True),
            "kernel": hp.Choice("kernel", [3, 5]),
            "pooling": hp.Choice("pooling", ["max", "avg"]),
            "dropout": hp.Float("dropout", 0.0, 0.5),
            "optimizer": hp.Choice("optimizer", list(OPTIMIZERS)),
            "learning_rate": hp.Float("learning_rate", 1e-4, 1.0, log=True),
        }
    )


# ----------------------------------------------------------------- 1. search
class EpochBudget(lamina.callbacks.Callback):
    """Counts the epochs run by every trial of a search (`Tuner.search` passes the same
    callback to each trial's `fit`); at the budget it stops the running trial's `fit`
    and ends the search after that trial (`study.stop()` ends Optuna's `optimize`; the
    Tuner would start another one until it holds ``max_trials`` trials, so that is
    lowered to 0)."""

    def __init__(self, budget: int, tuner) -> None:
        super().__init__()
        self.budget, self.tuner, self.spent = budget, tuner, 0
        self.ends: list[float] = []  # perf_counter() at the end of each trial's `fit`

    def on_train_end(self, logs=None) -> None:
        self.ends.append(time.perf_counter())

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.spent += 1
        if self.spent >= self.budget:
            self.model.stop_training = True
            self.tuner.max_trials = 0
            self.tuner.study.stop()


def run_search(method: str, seed: int, args, data, folder: str) -> dict:
    """One search to the epoch budget; returns its trials in order and its wall time."""
    from lamina.tuning import Tuner

    (x, y), dev = data
    tuner = Tuner(build_model, objective="val_accuracy", max_trials=args.budget, seed=seed,
                  study_name=f"{method}_{seed}", directory=folder, keep_models=False,
                  **dict(METHODS)[method])  # fmt: skip
    budget = EpochBudget(args.budget, tuner)
    start = time.perf_counter()
    tuner.search(x, y, validation_data=dev, epochs=args.max_epochs, batch_size=32,
                 callbacks=[budget], verbose=0)  # fmt: skip
    seconds = time.perf_counter() - start
    trials = sorted(tuner.results().trials, key=lambda t: t.number)
    recorded = sum(t.epochs for t in trials)
    assert recorded == budget.spent, f"trials record {recorded} epochs, {budget.spent} ran"
    assert len(budget.ends) == len(trials), "a trial ended without `fit`"
    return {
        "trials": [(t.epochs, t.state, t.value) for t in trials],
        "seconds": seconds,
        "ends": [end - start for end in budget.ends],  # wall time at each trial's end
    }


def best_curve(trials: list[tuple[int, str, float | None]]) -> list[tuple[int, float]]:
    """(epochs spent when a complete trial ended, best complete score so far), in trial order."""
    spent, best, curve = 0, float("-inf"), []
    for epochs, state, value in trials:
        spent += epochs
        if state == "COMPLETE" and value is not None:
            best = max(best, value)
        curve.append((spent, best))
    return curve


def best_at(curve: list[tuple[int, float]], epochs: float) -> float:
    """The best score of the trials that had finished within ``epochs`` epochs."""
    return max([b for spent, b in curve if spent <= epochs], default=float("nan"))


def epochs_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((spent for spent, b in curve if b >= target), None)


def seconds_to_reach(run: dict, target: float) -> float | None:
    """Wall time of the search when the first trial reaching ``target`` ended."""
    index = next((i for i, (_, b) in enumerate(run["curve"]) if b >= target), None)
    return None if index is None else run["ends"][index]


def _band(values: list[float], fmt: str = "{:.3f}") -> str:
    finite = [v for v in values if v == v]
    if not finite:
        return "-"
    med = statistics.median(finite)
    return f"{fmt.format(med)} ({fmt.format(min(finite))}-{fmt.format(max(finite))})"


def _trial_line(run: dict) -> str:
    """Epochs per trial in order, ``p`` after a pruned one, ``*`` after the complete trial
    first reaching the final best of the random search of its seed."""
    target, marked, cells = run["target"], False, []
    for epochs, state, value in run["trials"]:
        cell = f"{epochs}{'p' if state == 'PRUNED' else ''}"
        if not marked and state == "COMPLETE" and value is not None and value >= target:
            cell, marked = cell + "*", True
        cells.append(cell)
    return " ".join(cells)


def search_benchmark(args, data) -> None:
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    names = [name for name, _ in METHODS if name in args.methods]
    runs: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as folder:
        for i, seed in enumerate(seeds):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                run = run_search(name, seed, args, data, folder)
                run["curve"] = best_curve(run["trials"])
                runs[name].append(run)
                done = sum(e for e, _, _ in run["trials"])
                pruned = sum(s == "PRUNED" for _, s, _ in run["trials"])
                print(f"  seed {seed} {name:<14} {len(run['trials']):3d} trials ({pruned} pruned), "
                      f"{done} epochs, best {run['curve'][-1][1]:.3f}, {run['seconds']:.1f} s",
                      flush=True)  # fmt: skip
    print("\nEpochs of each trial in order (p: pruned; *: the first complete trial reaching the "
          "final best of the random search of the same seed):")  # fmt: skip
    for name in names[1:]:
        for run, rnd, seed in zip(runs[name], runs["random"], seeds):
            run["target"] = rnd["curve"][-1][1]
            print(f"  seed {seed} {name:<14} {_trial_line(run)}")
    print(f"\nBest dev accuracy reached after a share of the {args.budget}-epoch budget "
          f"(median (min-max) over {len(seeds)} seeds):")  # fmt: skip
    marks = [round(c * args.budget) for c in CHECKPOINTS]
    header = "".join(f"{m:>21}" for m in marks)
    print(f"{'epochs spent':<16}{header}")
    for name in names:
        cells = "".join(f"{_band([best_at(r['curve'], m) for r in runs[name]]):>21}" for m in marks)
        print(f"{name:<16}{cells}")
    print("\nEpochs to reach the final best of the random search of the same seed "
          "(fraction of the budget; - = not reached):")  # fmt: skip
    for name in names:
        reached = []
        for run, rnd in zip(runs[name], runs["random"]):
            e = epochs_to_reach(run["curve"], rnd["curve"][-1][1])
            reached.append("-" if e is None else f"{e} ({e / args.budget:.2f})")
        n_ok = sum(
            1 for run, rnd in zip(runs[name], runs["random"])
            if (e := epochs_to_reach(run["curve"], rnd["curve"][-1][1])) is not None
            and e <= args.budget / 3
        )  # fmt: skip
        print(f"{name:<16}{', '.join(reached)}   within a third: {n_ok}/{len(seeds)} seeds")
    for name in names[1:]:
        ratios = []
        for run, rnd in zip(runs[name], runs["random"]):
            target = rnd["curve"][-1][1]
            mine, theirs = (
                epochs_to_reach(run["curve"], target),
                epochs_to_reach(rnd["curve"], target),
            )
            ratios.append(float("nan") if mine is None else mine / theirs)
        of_budget = [
            float("nan") if (e := epochs_to_reach(run["curve"], rnd["curve"][-1][1])) is None
            else e / args.budget for run, rnd in zip(runs[name], runs["random"])
        ]  # fmt: skip
        print(f"{name} / random, epochs to that score: {_band(ratios, '{:.2f}')}; "
              f"share of the budget: {_band(of_budget, '{:.2f}')}")  # fmt: skip
    print("\nSeconds to reach it (the same targets; wall time of the search, all overhead in):")
    for name in names:
        secs = [
            seconds_to_reach(run, rnd["curve"][-1][1])
            for run, rnd in zip(runs[name], runs["random"])
        ]
        print(f"{name:<16}" + ", ".join("-" if t is None else f"{t:.1f}" for t in secs))
    print("\nTrials and wall time per search (median (min-max)):")
    for name in names:
        n = [len(r["trials"]) for r in runs[name]]
        pruned = [sum(s == "PRUNED" for _, s, _ in r["trials"]) for r in runs[name]]
        secs = [r["seconds"] for r in runs[name]]
        print(f"{name:<16}trials {_band(n, '{:.0f}')}, pruned {_band(pruned, '{:.0f}')}, "
              f"seconds {_band(secs, '{:.1f}')}")  # fmt: skip


# --------------------------------------------------------------- 2. overhead
def plain_arm(configs: list[dict], seed: int, args, data) -> list[float]:
    """The trials without the machinery: seed, build, fit, best epoch's score."""
    from lamina.tuning.tuner import derive_seed

    (x, y), dev = data
    scores = []
    for number, params in enumerate(configs):
        lamina.set_seed(derive_seed(seed, number))
        model = build(params)
        history = model.fit(x, y, validation_data=dev, epochs=args.epochs, batch_size=32,
                            verbose=0)  # fmt: skip
        scores.append(max(history.history["val_accuracy"]))
    return scores


def tuner_arm(configs: list[dict], seed: int, args, data, folder: str, arm: str):
    """The same trials through a `Tuner`. Returns the seconds of `search`, of opening
    the study (`Tuner(...)` + enqueueing the configurations), of one more `results()`
    (what `search` does at its end: with saved models, best vs runner-up on the dev
    set), and the trials' scores."""
    from lamina.tuning import Tuner

    (x, y), dev = data
    start = time.perf_counter()
    tuner = Tuner(build_model, objective="val_accuracy", max_trials=len(configs), seed=seed,
                  sampler="random", pruner=None, directory=folder, study_name="overhead",
                  keep_models=arm == "tuner+save")  # fmt: skip
    for params in configs:
        tuner.study.enqueue_trial(params)
    opened = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    results = tuner.search(x, y, validation_data=dev, epochs=args.epochs, batch_size=32,
                           verbose=0)  # fmt: skip
    searched, cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    tuner.results()
    summary = time.perf_counter() - start
    trials = sorted(results.trials, key=lambda t: t.number)
    assert [t.params for t in trials] == configs, "the Tuner ran other configurations"
    return (searched, cpu), opened, summary, [t.value for t in trials]


def overhead_benchmark(args, data) -> None:
    configs = [FIXED[i % len(FIXED)] for i in range(args.configs)]
    seed = 0
    arms = ("plain", "tuner", "tuner+save")
    times: dict[str, list[float]] = {a: [] for a in arms}
    cpus: dict[str, list[float]] = {a: [] for a in arms}  # process CPU time (all threads)
    opened: dict[str, list[float]] = {a: [] for a in arms[1:]}
    summary: dict[str, list[float]] = {a: [] for a in arms[1:]}
    diffs: list[float] = []
    for rep in range(args.reps + 1):  # repetition 0 warms up and is not counted
        order = arms[rep % len(arms) :] + arms[: rep % len(arms)]
        scores = {}
        for arm in order:
            with tempfile.TemporaryDirectory() as folder:
                if arm == "plain":
                    start, cpu = time.perf_counter(), time.process_time()
                    scores[arm] = plain_arm(configs, seed, args, data)
                    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
                else:
                    (seconds, cpu), t_open, t_sum, scores[arm] = tuner_arm(
                        configs, seed, args, data, folder, arm
                    )
                    if rep:
                        opened[arm].append(t_open)
                        summary[arm].append(t_sum)
            if rep:
                times[arm].append(seconds)
                cpus[arm].append(cpu)
        diffs += [abs(a - b) for arm in arms[1:] for a, b in zip(scores[arm], scores["plain"])]
        if rep:
            line = ", ".join(f"{a} {times[a][-1]:.2f} s (CPU {cpus[a][-1]:.2f} s)" for a in arms)
            print(f"  repetition {rep}: {line}", flush=True)
    n = len(configs)
    print(f"\n{n} trials of {args.epochs} epochs each, {args.reps} repetitions; `search` "
          f"against the plain loop:")  # fmt: skip
    for arm in arms[1:]:
        s = timing.paired(times[arm], times["plain"])
        per_trial = [(a - b) / n * 1000 for a, b in zip(times[arm], times["plain"])]
        print(f"{arm:<12} {s['lamina']:.2f} s  plain {s['torch']:.2f} s  ratio {s['ratio']:.3f} "
              f"(quartiles {s['q1']:.3f}-{s['q3']:.3f}; ratio of medians "
              f"{s['ratio_of_medians']:.3f}); per trial {statistics.median(per_trial):+.0f} ms "
              f"(range {min(per_trial):+.0f} to {max(per_trial):+.0f})")  # fmt: skip
    print("the same in process CPU time (all threads; less sensitive to other processes "
          "than wall time):")  # fmt: skip
    for arm in arms[1:]:
        s = timing.paired(cpus[arm], cpus["plain"])
        per_trial = [(a - b) / n * 1000 for a, b in zip(cpus[arm], cpus["plain"])]
        print(f"{arm:<12} CPU {s['lamina']:.2f} s  plain {s['torch']:.2f} s  ratio "
              f"{s['ratio']:.3f} (quartiles {s['q1']:.3f}-{s['q3']:.3f}); per trial "
              f"{statistics.median(per_trial):+.0f} ms (range {min(per_trial):+.0f} to "
              f"{max(per_trial):+.0f})")  # fmt: skip
    fastest = min(times["plain"])
    print("fastest repetition of each arm (load only adds time): plain "
          f"{fastest:.2f} s; " + ", ".join(f"{a} {min(times[a]):.2f} s (ratio "
          f"{min(times[a]) / fastest:.3f}, per trial {(min(times[a]) - fastest) / n * 1000:+.0f} ms)"
          for a in arms[1:]))  # fmt: skip
    print(f"plain trial: {statistics.median(times['plain']) / n:.2f} s median")
    for arm in arms[1:]:
        print(f"{arm:<12} once per search, not per trial: opening the study "
              f"{_band(opened[arm], '{:.3f}')} s; the results summary at the end of `search` "
              f"{_band(summary[arm], '{:.3f}')} s")  # fmt: skip
    print(f"largest score difference Tuner vs plain over all trials: {max(diffs):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=8, help="study seeds (part 1)")
    parser.add_argument("--first-seed", type=int, default=0, help="first study seed (part 1)")
    parser.add_argument("--methods", nargs="+", default=[name for name, _ in METHODS],
                        choices=[name for name, _ in METHODS],
                        help="searches to compare (part 1; random is always run)")  # fmt: skip
    parser.add_argument(
        "--budget",
        type=int,
        default=270,
        help="epochs per search (part 1): 30 full trials by default",
    )
    parser.add_argument("--max-epochs", type=int, default=9, help="epochs per trial (part 1)")
    parser.add_argument("--configs", type=int, default=3, help="fixed trials per run (part 2)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per trial (part 2)")
    parser.add_argument("--reps", type=int, default=9, help="repetitions (part 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    args.methods = ["random", *[m for m in args.methods if m != "random"]]
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning, module="optuna")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = load_data()
    print(f"digits: {len(data[0][1])} train, {len(data[1][1])} dev; torch {torch.__version__}, "
          f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    if not args.skip_search:
        print(f"\n1. Search: {args.seeds} seeds, {args.budget} epochs per search, at most "
              f"{args.max_epochs} per trial", flush=True)  # fmt: skip
        search_benchmark(args, data)
    if not args.skip_overhead:
        print("\n2. Overhead of the tuning machinery per trial", flush=True)
        overhead_benchmark(args, data)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; "
          f"{(time.perf_counter() - started) / 60:.1f} minutes in all")  # fmt: skip


if __name__ == "__main__":
    main()
