"""Preprocessing layers: they live inside the model, so a saved model takes raw input.

* `Normalization`, `Rescaling`: numeric features.
* `TextVectorization`: raw strings to token ids or bag-of-words vectors.
* `WordPieceTokenizer`: raw strings to BERT token ids and attention masks.
* `StringLookup`, `IntegerLookup`, `CategoryEncoding`, `Hashing`,
  `Discretization`: categorical features.
* `Resizing`, `CenterCrop`: images.

Layers with learned state have `adapt(data)`. Outputs made from text (which a
torch tensor cannot hold) are placed on the layer's device (it follows
`model.to(device)`).
"""

from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.hashing import Hashing
from lamina.layers.preprocessing.image_preprocessing import CenterCrop, Resizing
from lamina.layers.preprocessing.index_lookup import IntegerLookup, StringLookup
from lamina.layers.preprocessing.normalization import Normalization, Rescaling
from lamina.layers.preprocessing.text_vectorization import TextVectorization
from lamina.layers.preprocessing.wordpiece import WordPieceTokenizer

__all__ = [
    "CategoryEncoding",
    "CenterCrop",
    "Discretization",
    "Hashing",
    "IntegerLookup",
    "Normalization",
    "Rescaling",
    "Resizing",
    "StringLookup",
    "TextVectorization",
    "WordPieceTokenizer",
]
