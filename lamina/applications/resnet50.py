"""`lamina.applications.resnet50`, as Keras's `keras.applications.resnet50`: `ResNet50` and its
`preprocess_input`."""

from lamina.applications.resnet_v1 import ResNet50, preprocess_input

__all__ = ["ResNet50", "preprocess_input"]
