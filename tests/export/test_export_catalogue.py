"""Export coverage: every layer family, multi-input / multi-output and nested
models, `lamina.applications` and the models of `examples/` export to ONNX (and,
for a representative subset, to a `.pt2` program) and agree with the model.

`export_model` runs its own parity gate (batch sizes 1, 2, 7 and 64, two
lengths of a free time axis); each case then checks the written file
independently of that gate: ONNX Runtime (or `torch.export.load`) runs it on a
fresh batch of 7 drawn here (ids right-padded with 0 to a different length per
row for masked models; both lengths of a free time axis), and the outputs must
equal `model.predict` within 1e-5 (1e-4 for recurrent models).
The catalogue itself is in `catalogue_models.py`.

Quick mode (the default): every application is checked through the `.pt2`
path, and the ONNX exports of the large applications (VGG16, VGG19, ResNet50,
ResNet50V2, Xception, EfficientNetB0; 6-15 s each) are marked `slow` and skipped
with a reason naming the switch; the small applications (MobileNetV2 at 32x32,
ResNetSmall, the inception module, the text transformer) keep their ONNX check.
Set ``LAMINA_SLOW_TESTS=1`` to run the full ONNX set.
"""

from __future__ import annotations

import os

import pytest
import torch
from catalogue_harness import STEPS, Entry, In, compare
from catalogue_models import catalogue

import lamina
from lamina.saving.export import export_model

ENTRIES = catalogue()
SLOW = os.environ.get("LAMINA_SLOW_TESTS") == "1"
LARGE_APPLICATIONS = {f"applications/{n}" for n in ("VGG16", "VGG19", "ResNet50", "ResNet50V2", "Xception", "EfficientNetB0", "EfficientNetLite0")}
_SLOW_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SLOW, reason="slow: the ONNX export of a large application runs with LAMINA_SLOW_TESTS=1 (its .pt2 export runs always)"
    ),
]
CASES = [
    pytest.param(e, "onnx", id=f"{e.name}-onnx", marks=_SLOW_MARKS if e.name in LARGE_APPLICATIONS else ())
    for e in ENTRIES
] + [pytest.param(e, "torch", id=f"{e.name}-pt2") for e in ENTRIES if e.pt2]


@pytest.fixture(autouse=True)
def _fresh():
    lamina.clear_session()
    yield
    lamina.clear_session()


def test_catalogue_covers_every_public_layer():
    """Each public layer class of `lamina.layers` is exported by some entry (or is
    string preprocessing, which export splits off, or a base class)."""
    built = set()
    for entry in ENTRIES:
        lamina.set_seed(0)
        model = entry.build()
        built |= {type(m).__name__ for m in model.modules()}
    not_exported_alone = {
        "Layer", "InputLayer", "Input", "Wrapper",  # base classes and the graph's input
        "StringLookup", "TextVectorization",  # strings: split off by export (tests/export of helper A)
        "WordPieceTokenizer",  # strings: split off by export (tests/export/test_export_wordpiece.py)
    }
    public = {
        name
        for name in lamina.layers.__all__
        if isinstance(getattr(lamina.layers, name), type) and issubclass(getattr(lamina.layers, name), torch.nn.Module)
    }
    missing = sorted(public - built - not_exported_alone)
    assert missing == []


@pytest.mark.parametrize(("entry", "fmt"), CASES)
def test_export_matches_predict(entry: Entry, fmt: str, tmp_path):
    lamina.set_seed(0)
    model = entry.build()
    path = tmp_path / ("model.onnx" if fmt == "onnx" else "model.pt2")
    result = export_model(model, path, format=fmt, verbose=False, lengths=STEPS if entry.free_time else None)
    assert result.max_difference <= entry.atol
    if entry.name == "Conv1D valid":  # the capture needs length >= 5: accepted as a range, not fixed
        assert result.axis_ranges == {"axis1": {"min": 5, "max": None}}
    problems = compare(entry, model, path, fmt, batches=(7,))
    assert problems == []


def test_masked_lstm_with_return_state_names_the_layer_and_the_fix(tmp_path):
    """The one recurrent case the exported graph cannot express: the cell state of a
    masked LSTM (the traceable masked path reads the final state from the outputs)."""
    from lamina.saving.export.errors import UnsupportedLayerError

    ids = lamina.Input(shape=(None,), dtype="int64")
    x = lamina.layers.Embedding(30, 4, mask_zero=True)(ids)
    out, h, c = lamina.layers.LSTM(5, return_state=True, name="encoder")(x)
    model = lamina.Model(ids, [out, h, c])
    with pytest.raises(UnsupportedLayerError, match=r"'encoder' \(LSTM\).*return_state=True.*Export the model without"):
        export_model(model, tmp_path / "m.onnx", verbose=False)
    assert not (tmp_path / "m.onnx").exists()
    # Without return_state the same masked layer exports (catalogue entries above).


def test_pooling_over_a_free_time_axis_fails_clearly_and_exports_at_a_fixed_length(tmp_path):
    """PyTorch's pooling ops fix a dynamic length when traced: the export says so and
    how to fix it, and with a fixed length (`input_signature`) it exports and agrees."""
    from lamina.saving.export.errors import ExportError

    model = lamina.Sequential([lamina.Input(shape=(None, 4)), lamina.layers.MaxPooling1D(2, name="pool")])
    with pytest.raises(ExportError, match=r"fixed its size in layer 'pool' \(MaxPooling1D\).*input_signature") as caught:
        export_model(model, tmp_path / "m.onnx", verbose=False)
    assert caught.value.layer_name == "pool"
    result = export_model(model, tmp_path / "m.onnx", verbose=False, input_signature=(None, 8, 4))
    assert result.max_difference <= 1e-5
    entry = Entry("MaxPooling1D", "pooling", lambda: model, (In((8, 4)),))
    assert compare(entry, model, tmp_path / "m.onnx", "onnx", batches=(7,)) == []
