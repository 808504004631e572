"""Lamina layers, one family per module (Keras names, channels-last at the API)."""

from lamina.layers.attention import Attention, MultiHeadAttention
from lamina.layers.bidirectional import Bidirectional
from lamina.layers.conv_transpose import Conv2DTranspose
from lamina.layers.convolutional import Conv1D, Conv2D
from lamina.layers.core import Activation, Dense, Embedding
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.layer import Layer
from lamina.layers.masking import Masking
from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from lamina.layers.normalization import BatchNormalization, LayerNormalization
from lamina.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from lamina.layers.recurrent import GRU, LSTM, SimpleRNN
from lamina.layers.regularization import (
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from lamina.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from lamina.layers.separable_conv import DepthwiseConv2D, SeparableConv2D
from lamina.layers.time_distributed import TimeDistributed
from lamina.layers.transformer import PositionalEmbedding, TransformerEncoder
from lamina.layers.wrapper import Wrapper

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
    "Activation",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "Reshape",
    "Attention",
    "Bidirectional",
    "GRU",
    "LSTM",
    "Masking",
    "MultiHeadAttention",
    "PositionalEmbedding",
    "SimpleRNN",
    "TimeDistributed",
    "TransformerEncoder",
    "Wrapper",
    "AveragePooling1D",
    "AveragePooling2D",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "DepthwiseConv2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "SeparableConv2D",
    "ActivityRegularization",
    "Cropping1D",
    "Cropping2D",
    "GaussianDropout",
    "GaussianNoise",
    "Permute",
    "RepeatVector",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
]
