"""`lamina.applications.vgg16`, as Keras's `keras.applications.vgg16`: `VGG16` and its `preprocess_input`."""

from lamina.applications.vgg import VGG16, preprocess_input

__all__ = ["VGG16", "preprocess_input"]
