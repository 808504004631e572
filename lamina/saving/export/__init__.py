"""Export to ONNX and torch.export programs, each verified against the model.

* `export_model(model, "m.onnx")` (or `model.export(...)`, or `lamina export
  m.lamina m.onnx`): one self-contained ONNX file through PyTorch's own exporter,
  or a `torch.export` program (``.pt2``), with the batch axis and free axes
  dynamic. The file is run against the model at batch sizes 1, 2, 7 and 64
  before it is written; a mismatch raises `ExportParityError` naming the output
  and the layer where the divergence starts. Returns an `ExportResult`.
* `load_preprocessing(path)`: the string preprocessing an export split off,
  rebuilt from its JSON.

The heavy packages (onnx, onnxscript, onnxruntime) are imported only when an
ONNX export runs.
"""

from lamina.saving.export.api import ExportResult, export_model
from lamina.saving.export.errors import ExportError, ExportParityError, UnsupportedLayerError
from lamina.saving.export.preprocessing import load_preprocessing

__all__ = [
    "ExportError",
    "ExportParityError",
    "ExportResult",
    "UnsupportedLayerError",
    "export_model",
    "load_preprocessing",
]
