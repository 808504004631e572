"""Tests for `lamina.workflow.doctor`: each planted problem is flagged, a good model
passes, and the caller's model (weights, optimizer, random state) is untouched."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits

import lamina
from lamina import initializers, layers, losses, optimizers
from lamina.workflow.doctor import DoctorReport, doctor


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return (x[:300] / 16.0).astype("float32"), y[:300].astype("int64")


def _mlp(
    hidden: tuple[int, ...] | list[int] = (32,),
    *,
    units: int = 10,
    activation: str = "relu",
    out_activation: str | None = None,
    loss: object = None,
    optimizer: object = None,
    **dense_kwargs: object,
) -> lamina.Model:
    lamina.set_seed(0)
    model = lamina.Sequential(
        [lamina.Input(shape=(64,))]
        + [layers.Dense(h, activation=activation, **dense_kwargs) for h in hidden]
        + [layers.Dense(units, activation=out_activation, **dense_kwargs)]
    )
    model.compile(
        optimizer=optimizer or optimizers.Adam(learning_rate=1e-2),
        loss=loss or losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _statuses(report: DoctorReport) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_doctor_good_model_passes_and_leaves_model_untouched(digits) -> None:
    x, y = digits
    model = _mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng_state = torch.get_rng_state()
    report = doctor(model, x, y, verbose=0)
    assert report.ok, str(report)
    assert set(_statuses(report).values()) == {"pass"}, str(report)
    init = report["init_loss"]
    assert init.evidence["expected"] == pytest.approx(np.log(10))
    assert 0.7 < init.evidence["ratio"] < 1.3
    assert (
        report["overfit_batch"].evidence["loss"] <= report["overfit_batch"].evidence["target_loss"]
    )
    zero = report["zero_input_baseline"].evidence
    assert zero["loss_real_inputs"] < 0.9 * zero["loss_zero_inputs"]
    # The caller's model, optimizer and random state are unchanged.
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.optimizer.built and model.optimizer.iterations == 0
    assert torch.equal(rng_state, torch.get_rng_state())


def test_doctor_trained_model_weights_and_optimizer_unchanged(digits) -> None:
    x, y = digits
    model = _mlp()
    model.fit(x, y, epochs=1, verbose=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt_state = copy.deepcopy(model.optimizer.state_dict())
    iterations = model.optimizer.iterations
    doctor(model, x, y, steps=10, verbose=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.optimizer.iterations == iterations
    after = model.optimizer.state_dict()["optimizer"]["state"]
    assert all(
        torch.equal(opt_state["optimizer"]["state"][i]["exp_avg"], s["exp_avg"])
        for i, s in after.items()
    )


def test_doctor_flags_labels_off_by_one(digits) -> None:
    x, y = digits
    report = doctor(_mlp(), x, y + 1, verbose=0)
    check = report["label_encoding"]
    assert check.status == "fail"
    assert "off by one" in check.message and "y - 1" in check.fix
    assert check.evidence == {"min_label": 1, "max_label": 10, "output_units": 10}
    assert not report.ok
    assert report["overfit_batch"].status == "skip"


def test_doctor_flags_one_hot_labels_with_sparse_loss(digits) -> None:
    x, y = digits
    check = doctor(_mlp(), x, np.eye(10)[y], verbose=0)["label_encoding"]
    assert check.status == "fail"
    assert "one-hot" in check.message and "categorical_crossentropy" in check.fix


def test_doctor_flags_integer_labels_with_categorical_loss(digits) -> None:
    x, y = digits
    model = _mlp(loss=losses.CategoricalCrossentropy(from_logits=True))
    check = doctor(model, x, y, verbose=0)["label_encoding"]
    assert check.status == "fail"
    assert "sparse_categorical_crossentropy" in check.fix


def test_doctor_flags_binary_labels_outside_unit_interval(digits) -> None:
    x, y = digits
    model = _mlp(units=1, out_activation="sigmoid", loss="binary_crossentropy")
    check = doctor(model, x, (y % 2) + 1, verbose=0)["label_encoding"]
    assert check.status == "fail"
    assert "[1, 2]" in check.message and "off by one" in check.fix


def test_doctor_flags_softmax_with_from_logits(digits) -> None:
    x, y = digits
    report = doctor(_mlp(out_activation="softmax"), x, y, verbose=0)
    check = report["output_activation"]
    assert check.status == "fail"
    assert "from_logits=True" in check.message and "remove the softmax" in check.fix


def test_doctor_flags_missing_softmax_without_from_logits(digits) -> None:
    x, y = digits
    model = _mlp(loss=losses.SparseCategoricalCrossentropy(from_logits=False))
    check = doctor(model, x, y, verbose=0)["output_activation"]
    assert check.status == "fail"
    assert "activation='softmax'" in check.fix
    ok = doctor(
        _mlp(out_activation="softmax", loss="sparse_categorical_crossentropy"), x, y, verbose=0
    )
    assert ok["output_activation"].status == "pass"


def test_doctor_flags_exploding_gradients_from_huge_init(digits) -> None:
    x, y = digits
    model = _mlp([32, 32], kernel_initializer=initializers.RandomNormal(stddev=10.0))
    report = doctor(model, x, y, steps=10, verbose=0)
    grads = report["gradient_norms"]
    assert grads.status == "warn"
    assert "Exploding" in grads.message and grads.evidence["max"] > 1e3
    assert report["init_loss"].status == "fail"
    assert report["init_loss"].evidence["ratio"] > 4


def test_doctor_flags_vanishing_gradients_in_deep_sigmoid_net(digits) -> None:
    x, y = digits
    model = _mlp(
        [32] * 8, activation="sigmoid", kernel_initializer=initializers.RandomNormal(stddev=0.01)
    )
    report = doctor(model, x, y, steps=10, verbose=0)
    grads = report["gradient_norms"]
    assert grads.status == "warn"
    assert "Vanishing" in grads.message and grads.evidence["min"] < 1e-7
    assert "ReLU" in grads.fix


def test_doctor_flags_nan_in_inputs(digits) -> None:
    x, y = digits
    x = x.copy()
    x[3, 5] = np.nan
    report = doctor(_mlp(), x, y, verbose=0)
    check = report["finite_data"]
    assert check.status == "fail" and check.evidence["x_nan"] == 1
    assert {c.status for c in report.checks[1:]} == {"skip"}
    assert not report.ok


def test_doctor_warns_on_imbalanced_classes(digits) -> None:
    x, y = digits
    binary = (y != 0).astype("int64")
    keep = np.r_[np.flatnonzero(binary == 0)[:5], np.flatnonzero(binary == 1)]
    report = doctor(_mlp(units=2), x[keep], binary[keep], steps=10, verbose=0)
    check = report["class_balance"]
    assert check.status == "warn"
    assert check.evidence["smallest_class"] == 0 and check.evidence["smallest_count"] == 5
    assert "class_weight=" in check.fix and "precision" in check.fix


def test_doctor_warns_on_dead_relu_units(digits) -> None:
    x, y = digits
    model = _mlp([32], bias_initializer=initializers.Constant(-5.0))
    check = doctor(model, x, y, steps=5, verbose=0)["dead_relu"]
    assert check.status == "warn"
    assert check.evidence["dead_units"] > 16


def test_doctor_warns_when_optimizer_too_slow_to_overfit(digits) -> None:
    x, y = digits
    report = doctor(_mlp(optimizer=optimizers.SGD(learning_rate=1e-4)), x, y, verbose=0)
    check = report["overfit_batch"]
    assert check.status == "warn"
    assert check.evidence["probe_loss"] <= check.evidence["target_loss"] < check.evidence["loss"]
    assert "lr_find" in check.fix


def test_doctor_regression_init_loss_against_target_scale() -> None:
    x, y = load_diabetes(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")

    def model() -> lamina.Model:
        lamina.set_seed(0)
        m = lamina.Sequential(
            [lamina.Input(shape=(10,)), layers.Dense(16, activation="relu"), layers.Dense(1)]
        )
        m.compile(optimizer=optimizers.Adam(learning_rate=1e-2), loss="mse")
        return m

    raw = doctor(model(), x, y.astype("float32"), steps=10, verbose=0)["init_loss"]
    assert raw.status == "warn"
    assert raw.evidence["expected"] == pytest.approx(np.var(y), rel=0.2)
    assert "standardise y" in raw.fix
    scaled = doctor(model(), x, ((y - y.mean()) / y.std()).astype("float32"), steps=10, verbose=0)
    assert scaled["init_loss"].status == "pass"
    assert scaled["label_encoding"].status == "pass"


def test_doctor_report_serialises_and_prints(digits, capsys) -> None:
    x, y = digits
    report = doctor(_mlp(), x, y + 1, steps=5, verbose=1)
    printed = capsys.readouterr().out
    assert "label_encoding" in printed and "FAIL" in printed and "y - 1" in printed
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["ok"] is False
    assert [c["name"] for c in payload["checks"]][:2] == ["finite_data", "label_encoding"]
    assert "label_encoding" in report
    with pytest.raises(KeyError, match="No check named 'nope'"):
        report["nope"]


def test_doctor_rejects_bad_arguments(digits) -> None:
    x, y = digits
    uncompiled = lamina.Sequential([lamina.Input(shape=(64,)), layers.Dense(10)])
    with pytest.raises(
        ValueError,
        match=r"expects a model compiled with a loss. Received: a model that is not compiled",
    ):
        doctor(uncompiled, x, y)
    with pytest.raises(
        ValueError, match=r"as many labels as inputs.*Received: 300 inputs and 299 labels"
    ):
        doctor(_mlp(), x, y[:-1])
    with pytest.raises(TypeError, match=r"expects `x` to be one array.*Received: x of type dict"):
        doctor(_mlp(), {"a": x}, y)
    with pytest.raises(
        ValueError, match=r"expects `steps` to be a positive integer. Received: steps=0"
    ):
        doctor(_mlp(), x, y, steps=0)


def test_doctor_overfit_check_with_too_few_steps_warns_instead_of_failing(digits) -> None:
    x, y = digits
    check = doctor(_mlp(), x, y, steps=5, verbose=0)["overfit_batch"]
    assert check.status == "warn"
    assert "raise `steps`" in check.fix
    assert check.evidence["loss"] < check.evidence["loss_before"]


def test_doctor_overfit_check_fails_for_a_model_that_cannot_fit(digits) -> None:
    x, y = digits
    # Softmax outputs read as logits cap how low the loss can go: the batch cannot be fitted.
    model = _mlp(out_activation="softmax", optimizer=optimizers.RMSprop(learning_rate=1e-2))
    check = doctor(model, x, y, verbose=0)["overfit_batch"]
    assert check.status == "fail"
    assert check.evidence["probe_loss"] > check.evidence["target_loss"]
    assert "from_logits" in check.fix
