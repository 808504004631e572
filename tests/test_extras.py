"""A missing optional package gives an error naming the extra that installs it."""

import builtins
import importlib

import pytest

from lamina.extras import require


def _hide(monkeypatch, hidden: str) -> None:
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def check(name):
        if name == hidden or name.startswith(hidden + "."):
            raise ImportError(f"No module named {hidden!r}")

    def fake_import(name, *args, **kwargs):
        check(name)
        return real_import(name, *args, **kwargs)

    def fake_import_module(name, package=None):
        check(name)
        return real_import_module(name, package)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(importlib, "import_module", fake_import_module)


def test_require_returns_installed_modules():
    (onnx,) = require("export", "ONNX export", ("onnx",))
    assert onnx.__name__ == "onnx"


def test_require_names_the_missing_package_and_extra(monkeypatch):
    _hide(monkeypatch, "fastapi")
    with pytest.raises(ImportError, match=r"needs the `fastapi` package.*pip install 'lamina\[serve\]'"):
        require("serve", "`lamina serve`")


def test_serve_command_without_serve_extra_exits_2(monkeypatch, tmp_path, capsys):
    import lamina
    from lamina import cli

    model = lamina.Sequential([lamina.Input(shape=(2,)), lamina.layers.Dense(1)])
    path = tmp_path / "m.lamina"
    model.save(path)
    _hide(monkeypatch, "uvicorn")
    assert cli.main(["serve", str(path)]) == 2
    assert "lamina[serve]" in capsys.readouterr().err


def test_export_without_export_extra_names_it(monkeypatch, tmp_path):
    import lamina

    model = lamina.Sequential([lamina.Input(shape=(2,)), lamina.layers.Dense(1)])
    _hide(monkeypatch, "onnxscript")
    with pytest.raises(ImportError, match=r"lamina\[export\]"):
        model.export(tmp_path / "m.onnx", verbose=False)
    assert not (tmp_path / "m.onnx").exists()
