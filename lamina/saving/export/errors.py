"""The exceptions an export raises: all are `ValueError`s, so a caller that only
knows "bad model or bad argument" catches them with one `except ValueError`."""

from __future__ import annotations


class ExportError(ValueError):
    """The model could not be exported (input spec unknown, a layer the exporter
    cannot handle, a file that cannot be written)."""


class UnsupportedLayerError(ExportError):
    """The exporter cannot handle one layer of the model; the message names it.

    Attributes:
        layer_name: The layer's name (its path inside nested models).
        layer_class: The layer's class name.
    """

    def __init__(self, message: str, layer_name: str | None = None, layer_class: str | None = None) -> None:
        super().__init__(message)
        self.layer_name = layer_name
        self.layer_class = layer_class


class ExportParityError(ExportError):
    """The exported file does not compute what the model computes.

    Attributes:
        output: The name of the first output beyond tolerance.
        batch_size: The batch size of the failing check.
        length: The length of the free axes in the failing check (None if none).
        max_difference: The largest absolute difference on that output.
        layer: The path of the layer where the divergence starts (None when it
            could not be traced to one layer).
    """

    def __init__(
        self,
        message: str,
        output: str,
        batch_size: int,
        length: int | None,
        max_difference: float,
        layer: str | None,
    ) -> None:
        super().__init__(message)
        self.output = output
        self.batch_size = batch_size
        self.length = length
        self.max_difference = max_difference
        self.layer = layer
