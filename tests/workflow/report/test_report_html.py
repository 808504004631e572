"""report(): the HTML page is self-contained and every plot loads in a real browser
(headless Chromium); the JSON beside it holds the same numbers; missing sections are
left out."""

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.data import check_leakage, load_digits, split
from lamina.workflow import (
    Diagnosis,
    LearningCurve,
    analyze_errors,
    diagnose,
    doctor,
    report,
    run_baselines,
)
from lamina.workflow.uncertainty import Interval
from tests.browser import dump_dom


def _browser_dom(html_path: Path, tmp_path: Path) -> str:
    """The page's DOM after headless Chromium loaded it and ran its scripts."""
    return dump_dom(
        html_path.resolve().as_uri(),
        tmp_path / f"chromium-profile-{html_path.stem}",
        "that the report's images load",
    )


def _images_loaded(dom: str) -> str:
    match = re.search(r'<body[^>]*data-images-loaded="([^"]*)"', dom)
    assert match, "the page's script did not run (no data-images-loaded on <body>)"
    return match.group(1)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks train fastest on one CPU thread (no cross-thread synchronisation)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def results():
    """Every workflow result on digits, made quickly (a small MLP, a few epochs)."""
    x, y = load_digits()
    s = split((x / 16.0).astype("float32"), y, dev=0.2, test=0.2, train_dev=0.1, seed=0)
    lamina.set_seed(0)
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            layers.Dense(32, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="small_mlp",
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    checks = doctor(model, *s.train, steps=20, verbose=0)
    history = model.fit(*s.train, epochs=4, batch_size=64, validation_data=s.dev, verbose=0)
    table = run_baselines(s, include=["majority_class", "logistic_regression"])
    table.add_model("small_mlp", model.evaluate(*s.dev, verbose=0, return_dict=True))
    return {
        "splits": s,
        "model": model,
        "history": history,
        "baselines": table,
        "doctor": checks,
        "diagnosis": {
            "small_mlp": diagnose(
                model, train=s.train, train_dev=s.train_dev, dev=s.dev, human_error=0.01
            ),
            "planted": Diagnosis.from_errors(train=0.0, dev=0.1, human=0.01),
        },
        "learning_curve": LearningCurve(
            [100, 200, 400],
            [0.25, 0.5, 1.0],
            [0.0, 0.01, 0.02],
            [0.3, 0.2, 0.1],
            "classification",
            "error",
            [0.1, 0.2, 0.4],
            300,
        ),
        "error_analysis": analyze_errors(
            model, *s.dev, groups=s.dev[1] % 2, k=5, image_shape=(8, 8)
        ),
        "data_summary": {
            "dataset": "digits",
            "samples": len(y),
            "features": 64,
            "leakage": check_leakage(s),
        },
        "scores": {"small_mlp": {"train": 0.95, "dev": 0.93}},
    }


def test_report_writes_self_contained_html_and_json_with_every_number(results, tmp_path):
    files = report(tmp_path / "out" / "report.html", title="Digits <report>", **results)
    assert (
        files.html == tmp_path / "out" / "report.html"
        and files.json == tmp_path / "out" / "report.json"
    )
    assert files.sections == [
        "data",
        "model",
        "scores",
        "baselines",
        "doctor",
        "training",
        "diagnosis",
        "learning_curve",
        "error_analysis",
    ]

    data = json.loads(files.json.read_text())
    assert data["title"] == "Digits <report>" and data["sections"] == files.sections
    assert data["lamina_version"] == lamina.__version__
    s = results["splits"]
    assert data["data"]["splits"]["sizes"] == s.sizes
    assert sum(data["data"]["splits"]["class_counts"]["test"].values()) == s.sizes["test"]
    assert data["data"]["summary"]["dataset"] == "digits"
    assert data["data"]["summary"]["leakage"]["ok"] == results["data_summary"]["leakage"].ok
    params = sum(p.numel() for p in results["model"].parameters())
    assert data["model"]["parameters"] == params == 64 * 32 + 32 + 32 * 10 + 10
    assert data["model"]["name"] == "small_mlp" and "dense" in data["model"]["summary"].lower()
    assert data["scores"] == results["scores"]
    table = results["baselines"]
    assert data["baselines"]["rows"] == json.loads(json.dumps(table.to_dict()))["rows"]
    assert data["baselines"]["ranking"][0][0] == table.ranking()[0][0]
    assert data["baselines"]["verdicts"]["small_mlp"] == table.verdict("small_mlp")
    assert data["doctor"]["ok"] == results["doctor"].ok
    assert [c["status"] for c in data["doctor"]["checks"]] == [
        c.status for c in results["doctor"].checks
    ]
    hist = results["history"].history
    assert data["training"]["model"]["history"]["loss"] == pytest.approx(hist["loss"])
    assert data["training"]["model"]["epochs"] == 4
    assert data["training"]["model"]["final"]["val_accuracy"] == pytest.approx(
        hist["val_accuracy"][-1]
    )
    d = results["diagnosis"]["small_mlp"]
    assert data["diagnosis"]["small_mlp"]["train_error"] == pytest.approx(d.train_error)
    assert data["diagnosis"]["small_mlp"]["recommendations"] == d.recommendations
    assert data["diagnosis"]["planted"]["primary"] == "variance"
    dev_interval = data["diagnosis"]["small_mlp"]["error_intervals"]["dev"]
    assert Interval.from_dict(dev_interval) == d.error_intervals["dev"]
    assert dev_interval["n"] == s.sizes["dev"]
    assert data["learning_curve"]["dev_errors"] == [0.3, 0.2, 0.1]
    assert data["learning_curve"]["reading"]["verdict"] == "more_data"
    analysis = results["error_analysis"]
    assert (
        data["error_analysis"]["confusion_matrix"]["counts"]
        == analysis.confusion_matrix.counts.tolist()
    )
    assert [m["index"] for m in data["error_analysis"]["worst_mistakes"]["mistakes"]] == [
        m.index for m in analysis.worst_mistakes.mistakes
    ]
    assert data["error_analysis"]["classification_report"]["accuracy"] == pytest.approx(
        analysis.classification_report.accuracy
    )
    assert data["error_analysis"]["group_metrics"]["largest_gap"] == pytest.approx(
        analysis.group_metrics.largest_gap
    )

    page = files.html.read_text()
    assert "Digits &lt;report&gt;" in page and "<report>" not in page  # text is escaped
    # Self-contained: no external scripts, styles, fonts or images.
    assert not re.search(r'(src|href)\s*=\s*"(?!data:|#)', page)
    assert "<link" not in page and "url(" not in page and "@import" not in page
    sources = re.findall(r'<img src="([^"]+)"', page)
    # Baseline scores, training curves, errors per split of each of the two diagnoses,
    # learning curve, confusion matrix, worst mistakes, group metrics.
    assert len(sources) == files.images == 8
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for key in ("baselines", "diagnosis", "error_analysis"):  # intervals in every table
        start = page.index(f'<section id="{key}">')
        assert "95% CI" in page[start : page.index("</section>", start)], key
    for text in (d.verdict, table.verdict("small_mlp"), "Primary problem: variance"):
        assert text.replace("'", "&#x27;") in page or text in page

    dom = _browser_dom(files.html, tmp_path)
    assert _images_loaded(dom) == "8/8"


def test_browser_check_detects_a_broken_image(results, tmp_path):
    files = report(
        tmp_path / "r.html", history=results["history"], learning_curve=results["learning_curve"]
    )
    page = files.html.read_text()
    start = page.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken = tmp_path / "broken.html"
    broken.write_text(page[:start] + "AAAA" + page[start + 200 :])
    assert _images_loaded(_browser_dom(files.html, tmp_path)) == "2/2"
    assert _images_loaded(_browser_dom(broken, tmp_path)) == "1/2"


def test_report_omits_missing_sections(results, tmp_path):
    files = report(tmp_path / "baselines_only", baselines=results["baselines"])
    assert files.html.name == "baselines_only.html" and files.json.name == "baselines_only.json"
    data = json.loads(files.json.read_text())
    assert files.sections == ["baselines"] and data["sections"] == ["baselines"]
    assert set(data) == {
        "title",
        "generated_at",
        "lamina_version",
        "torch_version",
        "sections",
        "baselines",
    }
    page = files.html.read_text()
    assert 'id="baselines"' in page and 'id="diagnosis"' not in page
    assert files.images == page.count("<img") == 1  # the baselines' scores chart

    assert files.html.stat().st_mode & 0o044 == 0o044  # readable by others, like any written file

    empty = report(tmp_path, title="Nothing yet")
    assert empty.html == tmp_path / "report.html" and empty.sections == [] and empty.images == 0
    assert "No results were given." in empty.html.read_text()
    assert json.loads(empty.json.read_text())["sections"] == []


def test_report_accepts_error_analysis_parts_and_single_diagnosis(results, tmp_path):
    analysis = results["error_analysis"]
    files = report(
        tmp_path / "parts.html",
        diagnosis=results["diagnosis"]["planted"],
        error_analysis=[analysis.confusion_matrix, analysis.worst_mistakes],
        history={"first": results["history"], "second": results["history"].history},
    )
    data = json.loads(files.json.read_text())
    assert (
        list(data["diagnosis"]) == ["model"] and data["diagnosis"]["model"]["primary"] == "variance"
    )
    assert set(data["error_analysis"]) == {"task", "confusion_matrix", "worst_mistakes"}
    assert list(data["training"]) == ["first", "second"]
    # Two training-curve plots, errors per split, confusion matrix, worst mistakes.
    assert files.images == 5
    with pytest.raises(TypeError, match="ErrorAnalysis"):
        report(tmp_path / "bad.html", error_analysis=["not a part"])


def test_report_json_has_no_nan(tmp_path):
    d = Diagnosis.from_errors(train=0.05, dev=0.06)
    files = report(
        tmp_path / "nan.html",
        history={"loss": [1.0, float("nan")]},
        diagnosis=d,
        data_summary={"weird": np.float32("inf"), "count": np.int64(3)},
    )
    text = files.json.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["training"]["model"]["history"]["loss"] == [1.0, None]
    assert data["data"]["summary"] == {"weird": None, "count": 3}


def test_report_and_plots_docstring_examples_run():
    import doctest
    import importlib

    # `lamina.workflow.report` is the function; import the modules by name.
    names = ["lamina.workflow.plots", "lamina.workflow.report"]
    names += [f"lamina.workflow.report.{m}" for m in ("api", "intervals", "jsonable", "page")]
    for name in names:
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name


def test_report_lr_find_section(tmp_path):
    from lamina.workflow import LRFinderResult

    lrs = np.geomspace(1e-5, 1.0, 30).tolist()
    losses = [2.0 - 1.5 / (1 + np.exp(-(np.log10(lr) + 3))) for lr in lrs]
    found = LRFinderResult(lrs, losses, losses, suggestion=1e-3, steepest_lr=1e-3, min_loss_lr=0.5)
    files = report(tmp_path / "lr.html", lr_find=found)
    assert files.sections == ["lr_find"] and files.images == 1
    data = json.loads(files.json.read_text())["lr_find"]
    assert data["suggestion"] == 1e-3 and data["lrs"] == pytest.approx(lrs)
