"""What runs the model inside the server: the Lamina module itself, or ONNX Runtime.

A backend takes one merged batch, ``{input_name: array}``, and returns the
outputs as a list of NumPy arrays in output order (one per model output); the
batcher calls it from a single worker thread, never from the event loop.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
import torch

from lamina.serving.schema import InputSpec

BACKENDS = ("torch", "onnx")


class TorchBackend:
    """Runs the Lamina model in `torch.inference_mode()`, in evaluation mode.

    Args:
        model: A built `lamina.Model`.
        specs: Its input specs (from `lamina.serving.schema.input_specs`).
    """

    name = "torch"

    def __init__(self, model: Any, specs: list[InputSpec]) -> None:
        from lamina.training.trainer import Trainer

        self.model = model.eval()
        self.specs = specs
        custom_step = getattr(type(model), "predict_step", None)
        self._custom_step = custom_step is not None and custom_step is not getattr(Trainer, "predict_step", None)
        self.output_names: list[str] | None = None

    def run(self, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        values = {name: _to_torch(a) for name, a in arrays.items()}
        x: Any = values[self.specs[0].name] if len(self.specs) == 1 else values
        with torch.inference_mode():
            out = self.model.predict_step((x,)) if self._custom_step else self.model(x, training=False)
        names, tensors = _flatten_outputs(out, self.model)
        if self.output_names is None:
            self.output_names = names
        return [t.detach().float().cpu().numpy() if t.dtype in (torch.float16, torch.bfloat16)
                else t.detach().cpu().numpy() for t in tensors]


class OnnxBackend:
    """Exports the model to ONNX once (with the export's parity check) and runs it in ONNX Runtime.

    Args:
        model: A built `lamina.Model`.
        specs: Its input specs.
        workdir: Folder for the exported file. Defaults to a new temporary folder.
    """

    name = "onnx"

    def __init__(self, model: Any, specs: list[InputSpec], workdir: str | None = None) -> None:
        import onnxruntime as ort

        from lamina.saving.export import export_model

        self._tmp = None if workdir is not None else tempfile.TemporaryDirectory(prefix="lamina-serve-")
        folder = workdir if workdir is not None else self._tmp.name  # type: ignore[union-attr]
        self.path = os.path.join(folder, f"{getattr(model, 'name', 'model')}.onnx")
        self.export_result = export_model(model, self.path, format="onnx", verbose=False)
        self.preprocess = _load_preprocessing(self.export_result, self.path)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # As many threads as torch uses here, and no busy-waiting between runs: ORT's
        # spinning threads would take the CPU that the event loop needs between batches.
        options.intra_op_num_threads = max(1, torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        self.specs = specs
        self._inputs = [(i.name, _ORT_TYPES.get(i.type, np.float32)) for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        model_names = [s.name for s in specs]
        # ORT input names follow the model's input names; fall back to their order.
        self._feed_from = [n if n in model_names else model_names[min(i, len(model_names) - 1)]
                           for i, (n, _) in enumerate(self._inputs)]

    def run(self, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self.preprocess is not None:  # strings to numbers, keyed by the exported inputs' names
            ready = self.preprocess(arrays)
            feed = {name: np.ascontiguousarray(ready[name], dtype=dtype) for name, dtype in self._inputs}
        else:
            feed = {name: np.ascontiguousarray(arrays[src], dtype=dtype)
                    for (name, dtype), src in zip(self._inputs, self._feed_from)}
        return list(self.session.run(None, feed))


_ORT_TYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
    "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(uint8)": np.uint8,
    "tensor(float16)": np.float16,
}


def make_backend(model: Any, specs: list[InputSpec], backend: str) -> Any:
    """The backend called ``backend`` ("torch" or "onnx") for ``model``."""
    if backend == "torch":
        return TorchBackend(model, specs)
    if backend == "onnx":
        return OnnxBackend(model, specs)
    raise ValueError(f"`backend` must be one of {BACKENDS}. Received: backend={backend!r}. Use 'torch' or 'onnx'.")


def _load_preprocessing(result: Any, onnx_path: str) -> Any:
    """The string preprocessing that the export split off (a callable on the input dict), or None."""
    json_path = getattr(result, "preprocessing_path", None)
    if json_path is None:
        guess = os.path.splitext(onnx_path)[0] + ".preprocessing.json"
        json_path = guess if os.path.exists(guess) else None
    if json_path is None:
        return None
    from lamina.saving.export import load_preprocessing

    return load_preprocessing(json_path)


def _to_torch(a: np.ndarray) -> Any:
    if a.dtype.kind == "U":
        return a  # string layers take NumPy arrays of str
    return torch.from_numpy(np.ascontiguousarray(a))


def _flatten_outputs(out: Any, model: Any) -> tuple[list[str], list[torch.Tensor]]:
    if isinstance(out, torch.Tensor):
        names = list(getattr(model, "output_names", None) or [])
        return (names if len(names) == 1 else ["output"]), [out]
    if isinstance(out, dict):
        return [str(k) for k in out], [torch.as_tensor(v) for v in out.values()]
    if isinstance(out, (list, tuple)):
        names = list(getattr(model, "output_names", None) or [])
        if len(names) != len(out):
            names = [f"output_{i}" for i in range(len(out))]
        return names, [torch.as_tensor(v) for v in out]
    return ["output"], [torch.as_tensor(out)]
