"""TF-IDF text classification: Lamina's string pipeline against scikit-learn (issue #15).

The corpus is real text that ships with the installed packages: the summary
(first paragraph) of every docstring of numpy, scipy, scikit-learn, torch,
pandas, sympy and matplotlib, read from their source files with `ast` (nothing
is imported or downloaded), 3 to 60 words, distinct, at most ``--per-package``
per package (a seeded sample). The task: which package does a docstring
summary come from (7 classes). 80 % train, 20 % test, seeded.

Both sides fit the same model class on the same features: bag of unigrams and
bigrams, the ``--max-tokens`` most frequent terms, sublinear tf, smooth idf,
L2-normalised rows (scikit-learn's `TfidfVectorizer(ngram_range=(1, 2),
sublinear_tf=True, max_features=max_tokens - 1)`; Lamina's
`TextVectorization(ngrams=2, output_mode="tf_idf", sublinear_tf=True,
norm="l2", idf_formula="smooth", max_tokens=max_tokens)`, whose extra column
is the OOV token), then a linear softmax classifier:
`LogisticRegression(max_iter=1000)` (lbfgs, L2 penalty C=1) against
`Dense(classes, activation="softmax")` trained by `fit` (Adam, learning rate
``--lr``, ``--epochs`` epochs, batch size ``--batch-size``, raw strings in).

Timed: vectoriser fit + classifier fit (`adapt` + `fit` for Lamina), as a user
runs them. The two sides alternate (starting side alternating) for ``--reps``
repetitions; printed are each side's median and range, the median of the
per-repetition time ratios with quartiles (`benchmarks/timing.py`), and the
test accuracies with Wilson 95 % intervals.

Options: ``--uncached`` also times one Lamina run with the per-string cache
off (`layer.cache_size = 0`: every batch tokenised again, as before issue #15);
``--sparse-check`` times one Dense training step (forward, backward) on a batch
of the real TF-IDF rows with a dense input against a `torch.sparse` input.

    .venv/bin/python benchmarks/text_pipeline.py [--reps 3] [--batch-size 256] [--lr 0.03] [--dense]
        [--threads 1] [--uncached] [--sparse-check]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402

import lamina  # noqa: E402
from lamina.workflow.uncertainty import wilson_interval  # noqa: E402

PACKAGES = ("numpy", "scipy", "sklearn", "torch", "pandas", "sympy", "matplotlib")


def _docstring_summaries(package: str) -> list[str]:
    """First paragraphs of the docstrings in ``package``'s source (tests left out)."""
    root = importlib.util.find_spec(package).submodule_search_locations[0]
    out: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        if "tests" in folder.split(os.sep):
            continue
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    tree = ast.parse(f.read())
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(
                    node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)
                ):
                    doc = ast.get_docstring(node)
                    if doc:
                        text = " ".join(doc.strip().split("\n\n")[0].split())
                        if 3 <= len(text.split()) <= 60:
                            out.append(text)
    return out


def build_corpus(per_package: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Distinct docstring summaries labelled by package (a string seen in two packages
    stays with the first)."""
    texts: list[str] = []
    labels: list[int] = []
    seen: set[str] = set()
    for label, package in enumerate(PACKAGES):
        docs = [t for t in dict.fromkeys(_docstring_summaries(package)) if t not in seen]
        np.random.default_rng(seed).shuffle(docs)
        docs = docs[:per_package]
        seen.update(docs)
        texts += docs
        labels += [label] * len(docs)
    return np.array(texts, dtype=object), np.array(labels, dtype=np.int64)


def run_sklearn(x, y, x_test, y_test, max_tokens: int) -> tuple[float, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=max_tokens - 1)
    features = vec.fit_transform(x)
    clf = LogisticRegression(max_iter=1000).fit(features, y)
    seconds = time.perf_counter() - t0
    return seconds, float((clf.predict(vec.transform(x_test)) == y_test).mean())


def run_lamina(x, y, x_test, y_test, args, cache: bool = True) -> tuple[float, float]:
    classes = int(y.max()) + 1
    lamina.utils.set_random_seed(0)
    t0 = time.perf_counter()
    vec = lamina.layers.TextVectorization(
        max_tokens=args.max_tokens,
        ngrams=2,
        output_mode="tf_idf",
        sublinear_tf=True,
        norm="l2",
        idf_formula="smooth",
        sparse=args.sparse,
    )
    if not cache:
        vec.cache_size = 0
    vec.adapt(x)
    model = lamina.Sequential(
        [
            lamina.Input(shape=(1,), dtype="string"),
            vec,
            lamina.layers.Dense(classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=args.lr),
        loss="sparse_categorical_crossentropy",
    )
    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    seconds = time.perf_counter() - t0
    pred = model.predict(x_test, batch_size=1024, verbose=0).argmax(axis=1)
    return seconds, float((pred == y_test).mean())


def sparse_check(x, args) -> None:
    """One Dense training step on real TF-IDF rows: dense input against torch.sparse."""
    vec = lamina.layers.TextVectorization(
        max_tokens=args.max_tokens,
        ngrams=2,
        output_mode="tf_idf",
        sublinear_tf=True,
        norm="l2",
        idf_formula="smooth",
    )
    vec.adapt(x)
    for batch in (32, 256):
        dense = vec(x[:batch])
        sparse = dense.to_sparse_csr()
        weight = torch.zeros(dense.shape[1], 7, requires_grad=True)
        times = {}
        for name, inp in (("dense", dense), ("sparse", sparse)):

            def step(inp=inp, weight=weight):
                out = torch.sparse.mm(inp, weight) if inp.layout != torch.strided else inp @ weight
                out.sum().backward()
                weight.grad = None

            for _ in range(5):
                step()
            reps = []
            for _ in range(7):
                t0 = time.perf_counter()
                for _ in range(50):
                    step()
                reps.append((time.perf_counter() - t0) / 50 * 1e3)
            times[name] = statistics.median(reps)
        print(
            f"sparse check, batch {batch} x {dense.shape[1]} ({int((dense != 0).sum()) / batch:.1f} "
            f"non-zeros a row): dense {times['dense']:.3f} ms, sparse CSR {times['sparse']:.3f} ms "
            "per forward+backward"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--max-tokens", type=int, default=20000)
    parser.add_argument("--per-package", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dense", dest="sparse", action="store_false", help="dense TF-IDF rows")
    parser.add_argument("--uncached", action="store_true")
    parser.add_argument("--sparse-check", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)

    t0 = time.perf_counter()
    texts, labels = build_corpus(args.per_package)
    order = np.random.default_rng(0).permutation(len(texts))
    texts, labels = texts[order], labels[order]
    n_train = int(0.8 * len(texts))
    x, y, x_test, y_test = texts[:n_train], labels[:n_train], texts[n_train:], labels[n_train:]
    counts = np.bincount(labels)
    print(
        f"corpus: {len(texts)} docstring summaries of {len(PACKAGES)} packages "
        f"({', '.join(f'{p} {c}' for p, c in zip(PACKAGES, counts))}), median "
        f"{int(np.median([len(t.split()) for t in texts]))} words; {n_train} train / "
        f"{len(texts) - n_train} test; built in {time.perf_counter() - t0:.1f}s"
    )
    print(
        f"settings: {args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}, "
        f"max_tokens {args.max_tokens}, {'sparse' if args.sparse else 'dense'} TF-IDF rows, "
        f"{args.threads} thread(s), {args.reps} repetitions"
    )

    sk_times, la_times, sk_acc, la_acc = [], [], [], []
    for rep in range(args.reps):
        sides = [("sklearn", run_sklearn), ("lamina", run_lamina)]
        for name, _ in sides if rep % 2 == 0 else sides[::-1]:
            if name == "sklearn":
                s, a = run_sklearn(x, y, x_test, y_test, args.max_tokens)
                sk_times.append(s)
                sk_acc.append(a)
            else:
                s, a = run_lamina(x, y, x_test, y_test, args)
                la_times.append(s)
                la_acc.append(a)
            print(f"  rep {rep}: {name:8s} {s:7.2f}s  accuracy {a:.4f}", flush=True)

    summary = timing.paired(la_times, sk_times)
    n_test = len(y_test)
    print(
        f"scikit-learn: median {summary['torch']:.2f}s (range {min(sk_times):.2f}-{max(sk_times):.2f})"
    )
    print(
        f"Lamina:       median {summary['lamina']:.2f}s (range {min(la_times):.2f}-{max(la_times):.2f})"
    )
    print(
        f"time ratio Lamina / scikit-learn: {summary['ratio']:.3f} (quartiles {summary['q1']:.3f}-"
        f"{summary['q3']:.3f}; ratio of medians {summary['ratio_of_medians']:.3f})"
    )
    for name, accs in (("scikit-learn", sk_acc), ("Lamina", la_acc)):
        acc = statistics.median(accs)
        interval = wilson_interval(round(acc * n_test), n_test)
        low, high = interval.low, interval.high
        print(f"accuracy {name}: {acc:.4f} (Wilson 95% {low:.4f}-{high:.4f}, n={n_test})")
    if args.uncached:
        s, a = run_lamina(x, y, x_test, y_test, args, cache=False)
        print(f"Lamina without the per-string cache: {s:.2f}s, accuracy {a:.4f}")
    if args.sparse_check:
        sparse_check(x, args)


if __name__ == "__main__":
    main()
