"""`Wrapper`: the base of layers that wrap another layer (`TimeDistributed`,
`Bidirectional`), with the config of the wrapped layer nested in their own."""

from __future__ import annotations

from typing import Any

from lamina.layers.layer import Layer


def serialize_layer(layer: Layer) -> dict[str, Any]:
    """`{"class_name": ..., "config": ...}` of a Lamina layer."""
    try:
        from lamina.saving import registry

        name = registry.get_registered_name(type(layer)) or type(layer).__name__
    except ImportError:  # pragma: no cover - saving is part of every full install
        name = type(layer).__name__
    return {"class_name": name, "config": layer.get_config()}


def deserialize_layer(entry: dict[str, Any]) -> Layer:
    """Rebuilds a layer from `serialize_layer`'s output (built-in or registered classes only)."""
    if not isinstance(entry, dict) or "class_name" not in entry or "config" not in entry:
        raise ValueError(
            "A wrapped layer's config must be a dict with keys 'class_name' and 'config'. "
            f"Received: {entry!r}."
        )
    name = entry["class_name"]
    try:
        from lamina.saving import registry

        cls = registry.get_class(name, "layer")
    except ImportError:  # pragma: no cover - saving is part of every full install
        from lamina import layers

        cls = getattr(layers, name, None)
        if cls is None:
            raise ValueError(f"Unknown layer class {name!r}. Received: class_name={name!r}.") from None
    return cls.from_config(entry["config"])


class Wrapper(Layer):
    """Base class of layers that wrap one other layer.

    Args:
        layer: The wrapped Lamina layer; it becomes the sub-module `layer`.
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise TypeError(
                f"`{type(self).__name__}` expects `layer` to be a Lamina layer. "
                f"Received: layer={layer!r} of type {type(layer).__name__}. Wrap plain torch "
                "modules in a `lamina.layers.Layer` subclass first."
            )
        self.layer = layer

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["layer"] = serialize_layer(self.layer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        from lamina.layers.layer import check_config_arguments

        config = check_config_arguments(cls, config)
        if "layer" not in config:
            raise ValueError(
                f"The `{cls.__name__}` config lacks the required argument 'layer' (the wrapped "
                f"layer's {{'class_name', 'config'}}). Received: config keys {sorted(config)!r:.300}."
            )
        config["layer"] = deserialize_layer(config["layer"])
        return super().from_config(config)
