"""`lamina predict m.lamina in.csv out.csv`: the written file equals `model.predict` on the
same rows (classifier on digits, regressor on diabetes), across chunk boundaries; every
user mistake gets a message naming the row / column, and a failure leaves no file."""

import csv
import os

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

import lamina
from lamina import layers
from lamina.cli import main
from lamina.serving.batch_predict import predict_csv


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A saved softmax MLP on digits (briefly trained) and 1,050 rows of its inputs."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")[:1050]
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(64,)), layers.Dense(32, activation="relu"),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y[:1050], epochs=2, batch_size=128, verbose=0)
    d = tmp_path_factory.mktemp("digits")
    model.save(d / "digits.lamina")
    path = _write_csv(d / "in.csv", [f"pixel_{i}" for i in range(64)], x.tolist())
    return {"model": model, "x": x, "path": d / "digits.lamina", "csv": path, "dir": d}


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """An untrained saved regressor on diabetes (10 features, one output) and its CSV."""
    data = load_diabetes()
    x = data.data.astype("float32")
    lamina.set_seed(1)
    model = lamina.Sequential([lamina.Input(shape=(10,)), layers.Dense(16, activation="relu"),
                               layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    d = tmp_path_factory.mktemp("diabetes")
    model.save(d / "diabetes.lamina")
    path = _write_csv(d / "in.csv", list(data.feature_names) + ["target"],
                      np.column_stack([x, data.target]).tolist())
    return {"model": model, "x": x, "path": d / "diabetes.lamina", "csv": path, "dir": d,
            "features": list(data.feature_names)}


def test_predict_classifier_csv_equals_model_predict_across_chunks(digits, capsys):
    out = digits["dir"] / "out.csv"
    code = main(["predict", str(digits["path"]), str(digits["csv"]), str(out), "--batch-size", "100"])
    assert code == 0
    assert "wrote 1050 rows" in capsys.readouterr().err
    header, rows = _read_csv(out)
    assert header == ["class"] + [f"prob_{k}" for k in range(10)]
    assert len(rows) == 1050
    expected = lamina.load_model(digits["path"]).predict(digits["x"], verbose=0)
    probs = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float32)
    np.testing.assert_array_equal(probs, expected)  # float32 values written exactly
    assert [int(r[0]) for r in rows] == expected.argmax(axis=1).tolist()
    assert not [f for f in os.listdir(digits["dir"]) if f.startswith(".lamina-predict-")]


def test_predict_reads_in_chunks_of_batch_size(digits, tmp_path):
    model = digits["model"]
    sizes = []
    original = model.predict

    def counting_predict(x, **kwargs):
        sizes.append(len(x))
        return original(x, **kwargs)

    model.predict = counting_predict
    try:
        n = predict_csv(model, digits["csv"], tmp_path / "out.csv", batch_size=100)
    finally:
        del model.predict
    assert n == 1050 and sizes == [100] * 10 + [50]
    _, rows = _read_csv(tmp_path / "out.csv")
    expected = model.predict(digits["x"], verbose=0)
    np.testing.assert_array_equal(np.array([r[1:] for r in rows], dtype=np.float32), expected)


def test_predict_names_classes_and_writes_raw_outputs(digits, tmp_path):
    model = digits["model"]
    model.class_names = [f"digit{k}" for k in range(10)]
    try:
        predict_csv(model, digits["csv"], tmp_path / "named.csv", batch_size=512)
    finally:
        del model.class_names
    header, rows = _read_csv(tmp_path / "named.csv")
    assert header == ["class"] + [f"prob_digit{k}" for k in range(10)]
    expected = model.predict(digits["x"], verbose=0)
    assert [r[0] for r in rows] == [f"digit{k}" for k in expected.argmax(axis=1)]
    predict_csv(model, digits["csv"], tmp_path / "raw.csv", raw=True)
    header, rows = _read_csv(tmp_path / "raw.csv")
    assert header == [f"pred_{k}" for k in range(10)]
    np.testing.assert_array_equal(np.array(rows, dtype=np.float32), expected)


def test_predict_regressor_with_selected_columns(diabetes, capsys):
    out = diabetes["dir"] / "out.csv"
    # The file also holds the target: --columns picks the features (given here out of the
    # file's order is not allowed to matter: the names decide).
    code = main(["predict", str(diabetes["path"]), str(diabetes["csv"]), str(out),
                 "--columns", ",".join(diabetes["features"]), "--batch-size", "64", "--quiet"])
    assert code == 0 and capsys.readouterr().err == ""
    header, rows = _read_csv(out)
    assert header == ["prediction"]
    expected = lamina.load_model(diabetes["path"]).predict(diabetes["x"], verbose=0)
    np.testing.assert_array_equal(np.array(rows, dtype=np.float32), expected)


def test_predict_plain_progress_when_not_a_terminal(diabetes, tmp_path, capsys):
    code = main(["predict", str(diabetes["path"]), str(diabetes["csv"]), str(tmp_path / "o.csv"),
                 "--columns", ",".join(diabetes["features"]), "--batch-size", "50"])
    err = capsys.readouterr().err
    assert code == 0 and "\x1b[" not in err
    assert "lamina predict: 100% (442 rows" in err and "wrote 442 rows" in err


def _error(capsys, *argv):
    assert main(["predict", *map(str, argv)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err and err[-1].startswith("lamina predict: error: "), err
    return err[-1]


def test_predict_errors_name_the_problem(digits, diabetes, tmp_path, capsys):
    model, out = digits["path"], tmp_path / "out.csv"
    header = [f"pixel_{i}" for i in range(64)]
    row = ["0.5"] * 64

    err = _error(capsys, model, tmp_path / "nope.csv", out)
    assert "the input file" in err and "nope.csv" in err and "does not exist" in err
    err = _error(capsys, tmp_path / "nope.lamina", digits["csv"], out)
    assert "the model file" in err and "does not exist" in err

    bad = [row[:] for _ in range(250)]
    bad[236][17] = "abc"
    path = _write_csv(tmp_path / "text.csv", header, bad)
    err = _error(capsys, model, path, out, "--batch-size", "100")
    assert "row 237 (line 238), column 'pixel_17': expected a number. Received: 'abc'." in err

    bad = [row[:] for _ in range(5)]
    bad[3][2] = "nan"
    err = _error(capsys, model, _write_csv(tmp_path / "nan.csv", header, bad), out)
    assert "row 4 (line 5), column 'pixel_2': expected a finite number. Received: 'nan'" in err
    bad[3][2] = ""
    err = _error(capsys, model, _write_csv(tmp_path / "empty.csv", header, bad), out)
    assert "row 4 (line 5), column 'pixel_2' is empty" in err

    err = _error(capsys, model, _write_csv(tmp_path / "wide.csv", header + ["y"], [row + ["1"]]), out)
    assert "the model expects 64 input columns" in err and "Received: 65 columns" in err
    assert "--columns" in err
    short = [row[:] for _ in range(4)]
    short[2] = row[:60]
    err = _error(capsys, model, _write_csv(tmp_path / "short.csv", header, short), out)
    assert "line 4 has 60 fields; the header has 64" in err
    err = _error(capsys, diabetes["path"], diabetes["csv"], out, "--columns", "age,sex,height")
    assert "not in the header: ['height']" in err
    err = _error(capsys, model, _write_csv(tmp_path / "header_only.csv", header, []), out)
    assert "no data rows" in err
    (tmp_path / "empty.csv").write_bytes(b"")
    assert "is empty; it needs a header row" in _error(capsys, model, tmp_path / "empty.csv", out)
    (tmp_path / "latin1.csv").write_bytes(",".join(header).encode() + b"\n" + b"0.5," * 63 + b"caf\xe9\n")
    err = _error(capsys, model, tmp_path / "latin1.csv", out)
    assert "line 2 is not UTF-8 text" in err and "Save the CSV file as UTF-8" in err
    assert not out.exists()


def test_predict_failure_leaves_no_partial_file(digits, tmp_path, capsys):
    """An error in the fifth chunk: the old out.csv is untouched and no temporary file stays."""
    header = [f"pixel_{i}" for i in range(64)]
    rows = digits["x"][:500].tolist()
    rows[450][0] = "oops"
    path = _write_csv(tmp_path / "late.csv", header, rows)
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    err = _error(capsys, digits["path"], path, out, "--batch-size", "100")
    assert "row 451" in err
    assert out.read_text() == "previous results\n"
    assert sorted(os.listdir(tmp_path)) == ["late.csv", "out.csv"]


def test_predict_binary_classifier_writes_both_probabilities(tmp_path):
    """One sigmoid unit trained with binary cross-entropy from logits: `class`, `prob_0`, `prob_1`."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(230, 3)).astype("float32")
    lamina.set_seed(2)
    model = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss=lamina.losses.BinaryCrossentropy(from_logits=True))
    path = _write_csv(tmp_path / "in.csv", ["a", "b", "c"], x.tolist())
    assert predict_csv(model, path, tmp_path / "out.csv", batch_size=100) == 230
    header, rows = _read_csv(tmp_path / "out.csv")
    assert header == ["class", "prob_0", "prob_1"]
    logits = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    p1 = 1.0 / (1.0 + np.exp(-logits))
    got = np.array([r[1:] for r in rows], dtype=np.float64)
    np.testing.assert_allclose(got[:, 1], p1, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)
    assert [int(r[0]) for r in rows] == (p1 >= 0.5).astype(int).tolist()
