"""`lamina tune SCRIPT`: run in-process on a tiny script; prints the storage, the
progress, the results table and the best params; a second run continues the same
study; scripts without build_model or data are clear errors."""

import textwrap

import optuna
import pytest
import torch

from lamina.cli import main
from lamina.tuning.command import ScriptError, load_script

BUILD = """
import lamina
from lamina.data import load_digits

def build_model(hp):
    model = lamina.Sequential([
        lamina.Input(shape=(64,)),
        lamina.layers.Dense(hp.Int("units", 8, 32, log=True), activation="relu"),
        lamina.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=lamina.optimizers.Adam(hp.Float("lr", 1e-3, 3e-2, log=True)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""

GLOBALS = """
_x, _y = load_digits()
x, y = (_x[:200] / 16.0).astype("float32"), _y[:200]
validation_data = ((_x[200:300] / 16.0).astype("float32"), _y[200:300])
"""

DATA_FUNCTION = """
def data():
    x, y = load_digits()
    return {"x": (x[:200] / 16.0).astype("float32"), "y": y[:200], "validation_split": 0.25}
"""


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _script(tmp_path, name, *parts):
    path = tmp_path / name
    path.write_text(textwrap.dedent("\n".join(parts)))
    return str(path)


def _tune(script, tmp_path, *extra):
    return main(
        ["tune", script, "--epochs", "2", "--objective", "val_accuracy", "--directory",
         str(tmp_path / "studies"), *extra]
    )  # fmt: skip


def _finished(tmp_path, study_name):
    url = f"sqlite:///{tmp_path / 'studies' / study_name}.db"
    study = optuna.load_study(study_name=study_name, storage=url)
    return [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]


def test_tune_runs_prints_and_continues_the_study(tmp_path, capsys):
    script = _script(tmp_path, "digits_search.py", BUILD, GLOBALS)
    assert _tune(script, tmp_path, "--max-trials", "2") == 0
    out = capsys.readouterr().out
    db = tmp_path / "studies" / "build_model.db"
    assert f"study 'build_model' in sqlite:///{db}" in out
    assert "trials done 0/2" in out  # before the run
    assert "2 trial(s) run now; trials done 2/2, best so far 0." in out
    assert "trial  units" in out and "val_accuracy" in out  # the results table
    assert "Best params: {'units': " in out
    assert len(_finished(tmp_path, "build_model")) == 2

    # the same command with a larger cap continues the study: 2 stored + 1 new
    assert _tune(script, tmp_path, "--max-trials", "3") == 0
    out = capsys.readouterr().out
    assert "before this run: trials done 2/3" in out
    assert "1 trial(s) run now; trials done 3/3" in out
    finished = _finished(tmp_path, "build_model")
    assert sorted(t.number for t in finished) == [0, 1, 2]

    # with the cap reached, nothing more runs
    assert _tune(script, tmp_path, "--max-trials", "3") == 0
    assert "0 trial(s) run now" in capsys.readouterr().out
    assert len(_finished(tmp_path, "build_model")) == 3


def test_tune_reads_a_data_function_and_the_study_name(tmp_path, capsys):
    script = _script(tmp_path, "with_data.py", BUILD, DATA_FUNCTION)
    code = _tune(script, tmp_path, "--max-trials", "1", "--study-name", "mine", "--pruner", "none")
    assert code == 0
    out = capsys.readouterr().out
    assert "study 'mine' in sqlite:///" in out and "trials done 1/1" in out
    assert len(_finished(tmp_path, "mine")) == 1


@pytest.mark.parametrize(
    "parts, match",
    [
        ((GLOBALS.replace("load_digits()", "__import__('lamina').data.load_digits()"),),
         r"define a function `build_model\(hp\)`.*Received: a script defining validation_data, x, y"),
        ((BUILD,), r"define the data: module globals `x` and `y`.*lacks 'x' and 'y'"),
        ((BUILD, "x = [1, 2]"), r"lacks 'y'"),
        ((BUILD, "def data():\n    return (1, 2)"), r"return a dict.*Received: a tuple"),
        ((BUILD, "def data():\n    return {'x': [1], 'y': [0], 'val': 1}"), r"unknown key\(s\) 'val'"),
    ],
)  # fmt: skip
def test_scripts_without_build_model_or_data_are_errors(tmp_path, capsys, parts, match):
    script = _script(tmp_path, "bad.py", *parts)
    with pytest.raises(ScriptError, match=match):
        load_script(script)
    assert _tune(script, tmp_path, "--max-trials", "1") == 2
    err = capsys.readouterr().err
    assert err.startswith("lamina tune: ") and "Traceback" not in err
    assert not (tmp_path / "studies").exists()  # no study opened


def test_missing_script_and_bad_counts_are_errors(tmp_path, capsys):
    assert _tune(str(tmp_path / "nope.py"), tmp_path) == 2
    assert "nope.py', which does not exist" in capsys.readouterr().err
    script = _script(tmp_path, "ok.py", BUILD, GLOBALS)
    assert _tune(script, tmp_path, "--max-trials", "0") == 2
    assert "--max-trials must be at least 1. Received: 0." in capsys.readouterr().err


def test_tune_is_listed_in_the_cli_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "tune" in capsys.readouterr().out


def test_storage_and_objective_errors_end_the_command(tmp_path, capsys):
    script = _script(tmp_path, "ok.py", BUILD, GLOBALS)
    code = _tune(script, tmp_path, "--storage", "nosuch://user:secret@host/db")
    assert code == 1
    err = capsys.readouterr().err
    assert "'nosuch://user:***@host/db'" in err and "secret" not in err
    # a direction given with the name; the metric is not logged: the logged ones are listed
    code = main(["tune", script, "--objective", "val_f1:max", "--max-trials", "1", "--epochs",
                 "1", "--directory", str(tmp_path / "studies")])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "val_f1" in err and "val_accuracy" in err
    assert main(["tune", script, "--objective", "val_nope", "--directory", str(tmp_path)]) == 1
    assert "objective=('val_nope', 'max')" in capsys.readouterr().err
