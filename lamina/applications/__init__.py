"""Ready-made architectures built with the functional API.

Each builder returns a plain functional `lamina.Model` (or, for the blocks, a
symbolic tensor), so the result can be inspected with `summary()`, trained with
`fit`, frozen layer by layer and saved with `model.save`.

* `residual_block` and `ResNetSmall`: residual networks for small images
  (He et al., 2016).
* `inception_module`: a GoogLeNet-style block of parallel convolutions
  (Szegedy et al., 2015).
* `transformer_text_classifier`: token ids -> position-aware embeddings ->
  Transformer encoder blocks -> pooled class probabilities.
"""

from lamina.applications.inception import inception_module
from lamina.applications.resnet import ResNetSmall, residual_block
from lamina.applications.transformer import transformer_text_classifier

__all__ = ["ResNetSmall", "inception_module", "residual_block", "transformer_text_classifier"]
