"""The bundled drug-review corpus (`lamina.data.load_drug_reviews`): counts, classes and
text against a pandas reading of the same files, and the loader on a small local folder."""

import doctest
import html

import numpy as np
import pandas as pd
import pytest

from lamina import data
from lamina.data import load_drug_reviews, reviews

BUNDLED = reviews._BUNDLED


def test_drug_reviews_bundled_counts_and_classes():
    x_train, y_train = load_drug_reviews("train")
    x_test, y_test = load_drug_reviews("test")
    assert x_train.shape == (600,) and x_test.shape == (379,)
    assert y_train.dtype == np.int64 and x_train.dtype.kind == "U"
    # The class counts written in the README that ships with the files.
    assert np.bincount(y_train).tolist() == [161, 54, 385]
    assert np.bincount(y_test).tolist() == [95, 36, 248]
    assert reviews.DRUG_REVIEW_CLASSES == ("negative", "neutral", "positive")
    for texts in (x_train, x_test):
        assert min(len(t.strip()) for t in texts) > 0
        assert not any("&#039;" in t or "&quot;" in t for t in texts)
        assert not any(t.startswith('"') and t.endswith('"') for t in texts)


def test_drug_reviews_match_a_pandas_reading_of_the_files():
    for split, name in (("train", "drugsComTrain.tsv"), ("test", "drugsComTest.tsv")):
        frame = pd.read_csv(BUNDLED / name, sep="\t")
        texts, labels = load_drug_reviews(split)
        expected = [
            html.unescape(r).strip().removeprefix('"').removesuffix('"').strip()
            for r in frame.review
        ]
        assert texts.tolist() == expected
        names = np.array(reviews.DRUG_REVIEW_CLASSES)[labels]
        assert names.tolist() == frame.rating.tolist()


def test_drug_reviews_split_none_is_train_then_test():
    x_all, y_all = load_drug_reviews(None)
    x_train, y_train = load_drug_reviews("train")
    x_test, y_test = load_drug_reviews("test")
    assert x_all.tolist() == x_train.tolist() + x_test.tolist()
    assert np.array_equal(y_all, np.concatenate([y_train, y_test]))


def test_drug_reviews_bundled_with_attribution():
    readme = (BUNDLED / "README.md").read_text(encoding="utf-8")
    licence = (BUNDLED / "LICENSE").read_text(encoding="utf-8")
    for text in (readme, licence):
        assert "CC BY 4.0" in text and "Gräßer" in text


HEADER = "\tdrugName\tcondition\treview\trating\tdate\tusefulCount\n"


def _write(folder, train_rows, test_rows=None, header=HEADER):
    folder.mkdir(exist_ok=True)
    (folder / "drugsComTrain.tsv").write_text(header + "".join(train_rows), encoding="utf-8")
    test_rows = test_rows if test_rows is not None else train_rows[:1]
    (folder / "drugsComTest.tsv").write_text(header + "".join(test_rows), encoding="utf-8")
    return folder


def _row(i, review, rating):
    return f'{i}\tAspirin\tPain\t"{review}"\t{rating}\tMay 1, 2011\t3\n'


def test_drug_reviews_reads_a_local_folder(tmp_path):
    rows = [
        _row(1, '""It didn&#039;t help.""', "negative"),
        _row(2, '""Two lines:\nand a\ttab, &amp; more.""', "positive"),
        "\n",
        _row(3, "plain", "neutral"),
    ]
    folder = _write(tmp_path / "mine", rows, [_row(9, "only one", "positive")])
    texts, labels = load_drug_reviews("train", path=folder)
    assert texts.tolist() == ["It didn't help.", "Two lines:\nand a\ttab, & more.", "plain"]
    assert labels.tolist() == [0, 2, 1]
    texts, labels = load_drug_reviews(None, path=str(folder))
    assert texts.tolist()[-1] == "only one" and labels.tolist() == [0, 2, 1, 2]


def test_drug_reviews_errors_name_the_problem(tmp_path):
    with pytest.raises(
        ValueError, match=r"`split` to be one of 'train', 'test', None.*split='dev'"
    ):
        load_drug_reviews("dev")
    with pytest.raises(TypeError, match="Received: path of type int"):
        load_drug_reviews(path=3)
    with pytest.raises(FileNotFoundError, match=r"cannot find drugsComTrain.tsv.*path=None"):
        load_drug_reviews(path=tmp_path)
    with pytest.raises(ValueError, match=r"a file. Pass its folder"):
        load_drug_reviews(path=BUNDLED / "drugsComTrain.tsv")
    bad = _write(tmp_path / "bad", [_row(1, "fine", "positive"), _row(2, "score", "10")])
    with pytest.raises(
        ValueError, match=r"Received: '10' in the row ending on line 3.*Bin numeric"
    ):
        load_drug_reviews(path=bad)
    empty = _write(tmp_path / "empty", [_row(1, '""  ""', "positive")])
    with pytest.raises(ValueError, match="empty review in the row ending on line 2"):
        load_drug_reviews(path=empty)
    columns = _write(tmp_path / "cols", ["1\tfine\tpositive\n"], header="\ttext\trating\n")
    with pytest.raises(ValueError, match=r"Missing: review"):
        load_drug_reviews(path=columns)
    short = _write(tmp_path / "short", ["1\tAspirin\tfine\tpositive\n"])
    with pytest.raises(ValueError, match=r"expects 7 tab-separated cells.*Received: 4 cells"):
        load_drug_reviews(path=short)


def test_drug_reviews_docstring_example_runs():
    result = doctest.testmod(reviews, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    assert data.load_drug_reviews is load_drug_reviews
