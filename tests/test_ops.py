"""`lamina.ops` against NumPy / SciPy on one shared table of cases, plus dtypes,
gradients, control flow and error messages."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import torch

from lamina import ops

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4)).astype("float32")
B = RNG.normal(size=(3, 4)).astype("float32")
P = RNG.uniform(0.1, 0.9, size=(3, 4)).astype("float32")  # in (0, 1)
POS = RNG.uniform(0.5, 3.0, size=(3, 4)).astype("float32")
M = RNG.normal(size=(4, 5)).astype("float32")
SQ = RNG.normal(size=(3, 3)).astype("float32")
SPD = (SQ @ SQ.T + 3 * np.eye(3)).astype("float32")
V = np.array([3.0, -1.0, 2.0, 0.0, 5.0], dtype="float32")
I = np.array([[1, 5, 3], [4, 0, 2]], dtype="int32")  # noqa: E741
T3 = RNG.normal(size=(2, 3, 4)).astype("float32")
BOOL = np.array([True, False, True])
IMG = RNG.normal(size=(2, 6, 7, 3)).astype("float32")
K = RNG.normal(size=(3, 3, 3, 4)).astype("float32")
DK = RNG.normal(size=(3, 3, 3, 2)).astype("float32")
NANA = A.copy()
NANA[0, 1] = NANA[2, 3] = np.nan
Q = RNG.normal(size=(2, 5, 4, 3)).astype("float32")
KV = RNG.normal(size=(2, 5, 4, 3)).astype("float32")
ATT_MASK = RNG.uniform(size=(2, 1, 5, 5)) > 0.3
ATT_MASK[..., 0] = True  # every query sees at least one key
DS = RNG.normal(size=(2, 2, 3, 8)).astype("float32")
# best classes per step: sample 0 -> 1 1 2 0 1, sample 1 -> 2 2 0 (then padding)
CTC_PROBS = np.array([
    [[0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2], [0.3, 0.5, 0.2]],
    [[0.1, 0.2, 0.7], [0.3, 0.1, 0.6], [0.5, 0.4, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]],
], dtype="float32")
SIGNAL = RNG.normal(size=(2, 40)).astype("float32")
LABELS = np.array([2, 0, 1], dtype="int32")
ONEHOT = np.eye(4, dtype="float32")[[2, 0, 1]]


def _softmax(x, axis=-1):
    return scipy.special.softmax(x, axis=axis)


def _torch_conv_ref(x, k, stride, padding):
    """Reference NHWC conv through NumPy: explicit sliding windows."""
    kh, kw = k.shape[:2]
    if padding == "same":
        ph, pw = kh - 1, kw - 1
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    oh = (x.shape[1] - kh) // stride + 1
    ow = (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, k.shape[-1]), dtype="float64")
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return out


def _pool_ref(x, size, fn):
    n, h, w, c = x.shape
    x = x[:, : h // size * size, : w // size * size]
    return fn(x.reshape(n, h // size, size, w // size, size, c), axis=(2, 4))


def _depthwise_ref(x, k):
    outs = [
        _torch_conv_ref(x[..., c:c + 1], k[:, :, c:c + 1, :], 1, "valid") for c in range(x.shape[-1])
    ]
    return np.concatenate(outs, axis=-1)


def _attention_ref(q, k, v, mask=None, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if mask is not None:
        logits = np.where(mask, logits, -np.inf)
    return np.einsum("bnts,bsnh->btnh", _softmax(logits, axis=-1), v)


def _depth_to_space_ref(x, bs):
    b, h, w, c = x.shape
    out = np.zeros((b, h * bs, w * bs, c // bs**2), x.dtype)
    for i in range(h * bs):
        for j in range(w * bs):
            block = (i % bs) * bs + (j % bs)
            out[:, i, j, :] = x[:, i // bs, j // bs, block * (c // bs**2):(block + 1) * (c // bs**2)]
    return out


def _stft_ref(x, length, stride, fft_length, window="hann", center=True):
    """Frames of the reflect-padded signal times the periodic window centred in fft_length."""
    if window == "hann":
        w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
    else:
        w = np.ones(length)
    padded_w = np.zeros(fft_length)
    padded_w[(fft_length - length) // 2:(fft_length - length) // 2 + length] = w
    if center:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)], mode="reflect")
    n = 1 + (x.shape[-1] - fft_length) // stride
    frames = np.stack([x[..., k * stride:k * stride + fft_length] * padded_w for k in range(n)], -2)
    out = np.fft.rfft(frames, axis=-1)
    return out.real, out.imag


def _bce(t, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


# (op name, positional args, keyword args, reference computing the expected value)
CASES = [
    # elementwise, unary
    ("abs", (A,), {}, np.abs),
    ("absolute", (A,), {}, np.absolute),
    ("negative", (A,), {}, np.negative),
    ("square", (A,), {}, np.square),
    ("sqrt", (POS,), {}, np.sqrt),
    ("exp", (A,), {}, np.exp),
    ("exp2", (A,), {}, np.exp2),
    ("expm1", (A,), {}, np.expm1),
    ("log", (POS,), {}, np.log),
    ("log1p", (POS,), {}, np.log1p),
    ("log2", (POS,), {}, np.log2),
    ("log10", (POS,), {}, np.log10),
    ("sin", (A,), {}, np.sin),
    ("cos", (A,), {}, np.cos),
    ("tan", (P,), {}, np.tan),
    ("arcsin", (P,), {}, np.arcsin),
    ("arccos", (P,), {}, np.arccos),
    ("arctan", (A,), {}, np.arctan),
    ("sinh", (A,), {}, np.sinh),
    ("cosh", (A,), {}, np.cosh),
    ("tanh", (A,), {}, np.tanh),
    ("arcsinh", (A,), {}, np.arcsinh),
    ("arccosh", (POS + 1,), {}, np.arccosh),
    ("arctanh", (P,), {}, np.arctanh),
    ("floor", (A,), {}, np.floor),
    ("ceil", (A,), {}, np.ceil),
    ("trunc", (A,), {}, np.trunc),
    ("round", (A * 10,), {}, np.round),
    ("round", (A,), {"decimals": 2}, lambda x, decimals: np.round(x, decimals)),
    ("sign", (I - 2,), {}, np.sign),
    ("reciprocal", (POS,), {}, np.reciprocal),
    ("isnan", (np.array([1.0, np.nan]),), {}, np.isnan),
    ("isinf", (np.array([1.0, np.inf]),), {}, np.isinf),
    ("isfinite", (np.array([1.0, np.inf, np.nan]),), {}, np.isfinite),
    ("logical_not", (BOOL,), {}, np.logical_not),
    ("conjugate", (A,), {}, np.conjugate),
    ("conj", (A,), {}, np.conj),
    ("real", (A,), {}, np.real),
    ("imag", (np.array([1 + 2j, 3 - 1j], dtype="complex64"),), {}, np.imag),
    ("angle", (A,), {}, np.angle),
    ("signbit", (A,), {}, np.signbit),
    ("cbrt", (A,), {}, np.cbrt),
    ("deg2rad", (A * 90,), {}, np.deg2rad),
    ("isneginf", (np.array([1.0, -np.inf, np.inf]),), {}, np.isneginf),
    ("isposinf", (np.array([1.0, -np.inf, np.inf]),), {}, np.isposinf),
    ("isreal", (np.array([1 + 0j, 1 + 2j], dtype="complex64"),), {}, np.isreal),
    ("bitwise_not", (I,), {}, np.invert),
    ("bitwise_invert", (I,), {}, np.invert),
    ("copy", (A,), {}, np.copy),
    # elementwise, binary
    ("add", (A, B), {}, np.add),
    ("subtract", (A, B), {}, np.subtract),
    ("multiply", (A, B), {}, np.multiply),
    ("divide", (A, POS), {}, np.divide),
    ("true_divide", (I, 2), {}, np.true_divide),
    ("floor_divide", (I, 2), {}, np.floor_divide),
    ("mod", (I - 3, 4), {}, np.mod),
    ("power", (POS, 1.5), {}, np.power),
    ("maximum", (A, B), {}, np.maximum),
    ("minimum", (A, B), {}, np.minimum),
    ("equal", (I, 0), {}, np.equal),
    ("not_equal", (I, 0), {}, np.not_equal),
    ("less", (A, B), {}, np.less),
    ("less_equal", (I, 3), {}, np.less_equal),
    ("greater", (A, B), {}, np.greater),
    ("greater_equal", (I, 3), {}, np.greater_equal),
    ("logical_and", (BOOL, np.array([True, True, False])), {}, np.logical_and),
    ("logical_or", (BOOL, np.array([False, False, False])), {}, np.logical_or),
    ("logical_xor", (BOOL, np.array([True, True, False])), {}, np.logical_xor),
    ("arctan2", (A, B), {}, np.arctan2),
    ("logaddexp", (A, B), {}, np.logaddexp),
    ("hypot", (A, B), {}, np.hypot),
    ("logaddexp2", (A, B), {}, np.logaddexp2),
    ("heaviside", (np.array([-1.0, 0.0, 2.0]), 0.5), {}, np.heaviside),
    ("nextafter", (A, B), {}, np.nextafter),
    ("ldexp", (A, np.arange(4)), {}, np.ldexp),
    ("gcd", (I, 6), {}, np.gcd),
    ("lcm", (I + 1, 6), {}, np.lcm),
    ("divide_no_nan", (A, np.where(B > 0, B, 0)), {},
     lambda a, b: np.where(b == 0, 0, a / np.where(b == 0, 1, b))),
    ("left_shift", (I, 2), {}, np.left_shift),
    ("bitwise_left_shift", (I, 1), {}, np.left_shift),
    ("right_shift", (I, 1), {}, np.right_shift),
    ("bitwise_right_shift", (I, 2), {}, np.right_shift),
    ("bitwise_and", (I, 6), {}, np.bitwise_and),
    ("bitwise_or", (I, 6), {}, np.bitwise_or),
    ("bitwise_xor", (I, 6), {}, np.bitwise_xor),
    ("clip", (A, -0.5, 0.5), {}, np.clip),
    ("where", (A > 0, A, B), {}, np.where),
    ("nan_to_num", (np.array([np.nan, np.inf, -np.inf, 1.0], dtype="float32"),), {"nan": 7.0},
     lambda x, nan: np.nan_to_num(x, nan=nan, posinf=np.finfo("float32").max,
                                  neginf=np.finfo("float32").min)),
    ("isclose", (A, A + 1e-7), {}, np.isclose),
    # reductions
    ("sum", (A,), {}, np.sum),
    ("sum", (A,), {"axis": 1, "keepdims": True}, np.sum),
    ("sum", (T3,), {"axis": (0, 2)}, np.sum),
    ("mean", (A,), {"axis": 0}, np.mean),
    ("mean", (T3,), {"axis": -1, "keepdims": True}, np.mean),
    ("max", (A,), {"axis": 1}, np.max),
    ("max", (A,), {}, np.max),
    ("max", (A,), {"axis": 0, "initial": 0.5}, lambda x, axis, initial: np.max(x, axis, initial=initial)),
    ("min", (A,), {"axis": -1, "keepdims": True}, np.min),
    ("amax", (T3,), {"axis": (1, 2)}, np.amax),
    ("amin", (T3,), {"axis": 0}, np.amin),
    ("prod", (POS,), {"axis": 1}, np.prod),
    ("prod", (T3,), {"axis": (0, 2)}, np.prod),
    ("var", (A,), {"axis": 0}, np.var),
    ("std", (T3,), {"axis": (0, 1)}, np.std),
    ("all", (A > -1,), {"axis": 1}, np.all),
    ("any", (A > 1,), {}, np.any),
    ("argmax", (A,), {"axis": 1}, np.argmax),
    ("argmax", (A,), {}, np.argmax),
    ("argmin", (A,), {"axis": 0, "keepdims": True}, np.argmin),
    ("cumsum", (A,), {"axis": 1}, np.cumsum),
    ("cumsum", (I,), {}, np.cumsum),
    ("cumprod", (POS,), {"axis": 0}, np.cumprod),
    ("median", (A,), {"axis": 1}, np.median),
    ("median", (V,), {}, np.median),
    ("quantile", (A, 0.3), {"axis": 0}, np.quantile),
    ("quantile", (T3, [0.2, 0.9]), {"axis": (0, 2), "keepdims": True}, np.quantile),
    ("count_nonzero", (I,), {"axis": 0}, np.count_nonzero),
    ("average", (A,), {"axis": 1, "weights": POS[0]}, np.average),
    ("logsumexp", (A,), {"axis": 1}, scipy.special.logsumexp),
    ("sort", (A,), {}, np.sort),
    ("sort", (A,), {"axis": 0}, np.sort),
    ("argsort", (V,), {}, lambda x: np.argsort(x, kind="stable")),
    ("ptp", (A,), {"axis": 1}, np.ptp),
    ("nansum", (NANA,), {"axis": 1}, np.nansum),
    ("nanprod", (NANA,), {}, np.nanprod),
    ("nanmean", (NANA,), {"axis": 0}, np.nanmean),
    ("nanmax", (NANA,), {"axis": 1, "keepdims": True}, np.nanmax),
    ("nanmin", (NANA,), {}, np.nanmin),
    ("histogram", (A,), {"bins": 5}, np.histogram),
    ("correlate", (V, V[:3]), {}, np.correlate),
    ("correlate", (V, V[:3]), {"mode": "same"}, np.correlate),
    ("correlate", (V, V[:2]), {"mode": "same"}, np.correlate),
    ("correlate", (V, V[:4]), {"mode": "full"}, np.correlate),
    ("corrcoef", (A,), {}, np.corrcoef),
    ("trapezoid", (A,), {}, np.trapezoid),
    ("trapezoid", (A,), {"x": V[:4], "axis": 1}, np.trapezoid),
    ("trapezoid", (A,), {"dx": 0.5, "axis": 0}, np.trapezoid),
    # shapes
    ("rearrange", (T3, "b (h w) c -> b h w c"), {"h": 3}, lambda x, p, h: x.reshape(2, 3, 1, 4)),
    ("rearrange", (T3, "b n c -> c (b n)"), {}, lambda x, p: x.transpose(2, 0, 1).reshape(4, 6)),
    ("rearrange", (T3, "... c -> c ..."), {}, lambda x, p: np.moveaxis(x, -1, 0)),
    ("rearrange", (IMG[:, :6, :6], "b (h p1) (w p2) c -> b (h w) (p1 p2 c)"), {"p1": 2, "p2": 3},
     lambda x, p, p1, p2: x.reshape(2, 3, 2, 2, 3, 3).transpose(0, 1, 3, 2, 4, 5).reshape(2, 6, 18)),
    ("array_split", (V, 3), {}, np.array_split),
    ("vsplit", (M, 2), {}, np.vsplit),
    ("dstack", ([A, B],), {}, np.dstack),
    ("rot90", (M,), {}, np.rot90),
    ("rot90", (T3,), {"k": 3, "axes": (1, 2)}, np.rot90),
    ("reshape", (A, (4, 3)), {}, np.reshape),
    ("reshape", (T3, (-1, 4)), {}, np.reshape),
    ("expand_dims", (A, 1), {}, np.expand_dims),
    ("expand_dims", (A, (0, -1)), {}, np.expand_dims),
    ("squeeze", (A[None, :, None],), {}, np.squeeze),
    ("squeeze", (A[None, :, None],), {"axis": 0}, np.squeeze),
    ("transpose", (T3,), {}, np.transpose),
    ("transpose", (T3, (1, 0, 2)), {}, np.transpose),
    ("moveaxis", (T3, 0, -1), {}, np.moveaxis),
    ("swapaxes", (T3, 0, 2), {}, np.swapaxes),
    ("ravel", (T3,), {}, np.ravel),
    ("broadcast_to", (V, (2, 5)), {}, np.broadcast_to),
    ("concatenate", ([A, B],), {"axis": 1}, np.concatenate),
    ("concatenate", ([A, B],), {"axis": None}, np.concatenate),
    ("append", (A, B), {"axis": 0}, np.append),
    ("stack", ([A, B],), {"axis": -1}, np.stack),
    ("hstack", ([A, B],), {}, np.hstack),
    ("vstack", ([A, B],), {}, np.vstack),
    ("split", (T3, 2), {"axis": -1}, np.split),
    ("split", (M, [1, 3]), {}, np.split),
    ("tile", (A, (2, 1)), {}, np.tile),
    ("repeat", (A, 2), {}, np.repeat),
    ("repeat", (A, 2), {"axis": 1}, np.repeat),
    ("repeat", (A, [1, 0, 2]), {"axis": 0}, np.repeat),
    ("flip", (A,), {}, np.flip),
    ("flip", (T3,), {"axis": (0, 2)}, np.flip),
    ("roll", (V, 2), {}, np.roll),
    ("roll", (A, -1), {"axis": 1}, np.roll),
    ("pad", (A, ((1, 2), (0, 1))), {}, np.pad),
    ("pad", (A, 1), {"constant_values": 5.0}, np.pad),
    ("pad", (A, ((2, 1), (3, 2))), {"mode": "reflect"}, np.pad),
    ("pad", (A, ((2, 1), (3, 2))), {"mode": "symmetric"}, np.pad),
    ("pad", (A, ((2, 1), (3, 2))), {"mode": "edge"}, np.pad),
    ("pad", (A, ((2, 1), (3, 6))), {"mode": "wrap"}, np.pad),
    # indexing
    ("take", (V, [4, 0, -1]), {}, np.take),
    ("take", (A, np.array([[0, 2], [1, 1]])), {"axis": 1}, np.take),
    ("take_along_axis", (A, np.argsort(A, axis=1)), {"axis": 1}, np.take_along_axis),
    ("take_along_axis", (A, np.array([[0, 1, 2, 0]])), {"axis": 0}, np.take_along_axis),
    ("nonzero", (I - 1,), {}, np.nonzero),
    ("tril", (M,), {}, np.tril),
    ("triu", (M,), {"k": 1}, np.triu),
    ("diagonal", (M,), {"offset": 1}, np.diagonal),
    ("diag", (V,), {}, np.diag),
    ("diag", (M,), {"k": -1}, np.diag),
    ("trace", (M,), {}, np.trace),
    ("diff", (A,), {"n": 2}, np.diff),
    ("diff", (A,), {"axis": 0}, np.diff),
    ("digitize", (A, np.array([-1.0, 0.0, 1.0], dtype="float32")), {}, np.digitize),
    ("bincount", (np.array([0, 1, 1, 4]),), {"minlength": 6}, np.bincount),
    ("bincount", (np.array([0, 1, 1]),), {"weights": np.array([0.5, 1.0, 2.0], "float32")},
     np.bincount),
    ("isin", (I, [0, 5, 7]), {}, np.isin),
    ("searchsorted", (np.sort(V), A[0]), {}, np.searchsorted),
    ("searchsorted", (np.array([1, 2, 2, 3]), np.array([2, 3])), {"side": "right"}, np.searchsorted),
    ("select", ([A > 0.5, A < -0.5], [A, -A]), {"default": 9.0}, np.select),
    ("unravel_index", (np.array([5, 7]), (3, 4)), {}, np.unravel_index),
    ("get_item", (A, (slice(None), 1)), {}, lambda x, k: x[k]),
    ("get_item", (A, [2, 0]), {}, lambda x, k: x[k]),
    ("diagflat", (I,), {"k": 1}, np.diagflat),
    # creation
    ("vander", (V[:3], 4), {}, np.vander),
    ("vander", (V[:3],), {"increasing": True}, np.vander),
    ("bartlett", (7,), {}, np.bartlett),
    ("blackman", (7,), {}, np.blackman),
    ("hamming", (7,), {}, np.hamming),
    ("hanning", (7,), {}, np.hanning),
    ("kaiser", (7, 2.5), {}, np.kaiser),
    ("zeros", ((2, 3),), {}, np.zeros),
    ("ones", ((2, 3),), {"dtype": "int32"}, np.ones),
    ("full", ((2, 3), 7.5), {}, np.full),
    ("zeros_like", (A,), {}, np.zeros_like),
    ("ones_like", (I,), {}, np.ones_like),
    ("full_like", (A, 3.0), {}, np.full_like),
    ("eye", (3,), {}, np.eye),
    ("eye", (3, 5), {"k": 1}, np.eye),
    ("eye", (4, 3), {"k": -2}, np.eye),
    ("identity", (3,), {}, np.identity),
    ("tri", (3, 4), {"k": 1}, np.tri),
    ("arange", (5,), {}, np.arange),
    ("arange", (1, 10, 3), {}, np.arange),
    ("arange", (0.0, 1.0, 0.25), {}, np.arange),
    ("linspace", (0.0, 1.0, 5), {}, np.linspace),
    ("linspace", (0.0, 1.0, 4), {"endpoint": False}, np.linspace),
    ("logspace", (0.0, 2.0, 5), {}, np.logspace),
    ("meshgrid", (V[:3], V[:2]), {}, np.meshgrid),
    ("meshgrid", (V[:3], V[:2]), {"indexing": "ij"}, np.meshgrid),
    ("array", ([[1.0, 2.0]],), {}, np.array),
    ("size", (T3,), {}, np.size),
    ("ndim", (T3,), {}, np.ndim),
    ("shape", (T3,), {}, np.shape),
    # linear algebra
    ("matmul", (A, M), {}, np.matmul),
    ("matmul", (T3, M), {}, np.matmul),
    ("dot", (A, M), {}, np.dot),
    ("dot", (T3, M), {}, np.dot),
    ("dot", (V, V), {}, np.dot),
    ("tensordot", (T3, M), {"axes": 1}, np.tensordot),
    ("tensordot", (T3, A), {"axes": ([1, 2], [0, 1])}, np.tensordot),
    ("einsum", ("ij,jk->ik", A, M), {}, np.einsum),
    ("einsum", ("bij->bji", T3), {}, np.einsum),
    ("outer", (V, V[:3]), {}, np.outer),
    ("inner", (A, B), {}, np.inner),
    ("vdot", (A, B), {}, np.vdot),
    ("cross", (A[:, :3], B[:, :3]), {}, np.cross),
    ("norm", (A,), {}, np.linalg.norm),
    ("norm", (A,), {"axis": 1}, np.linalg.norm),
    ("norm", (A,), {"ord": 1, "axis": 0, "keepdims": True}, np.linalg.norm),
    ("norm", (A,), {"ord": "fro", "axis": (0, 1)}, np.linalg.norm),
    ("norm", (SQ,), {"ord": "nuc"}, np.linalg.norm),
    ("cholesky", (SPD,), {}, np.linalg.cholesky),
    ("det", (SQ,), {}, np.linalg.det),
    ("inv", (SPD,), {}, np.linalg.inv),
    ("solve", (SPD, A[:, 0]), {}, np.linalg.solve),
    ("solve", (SPD, A), {}, np.linalg.solve),
    ("solve_triangular", (np.tril(SPD), A), {"lower": True},
     lambda a, b, lower: scipy.linalg.solve_triangular(a, b, lower=lower)),
    ("svd", (M,), {"compute_uv": False}, lambda x, compute_uv: np.linalg.svd(x, compute_uv=False)),
    ("lstsq", (M.T, A[0, :].repeat(2)[:5]), {}, lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0]),
    ("logdet", (SPD,), {}, lambda x: np.linalg.slogdet(x)[1]),
    ("kron", (I, A[:2, :2]), {}, np.kron),
    ("slogdet", (SQ,), {}, lambda x: tuple(np.linalg.slogdet(x))),
    ("cholesky_inverse", (np.linalg.cholesky(SPD),), {}, lambda low: np.linalg.inv(low @ low.T)),
    ("lu_factor", (SQ,), {}, scipy.linalg.lu_factor),
    # nn
    ("hard_tanh", (A * 2,), {}, lambda x: np.clip(x, -1, 1)),
    ("hard_shrink", (A,), {}, lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    ("soft_shrink", (A,), {"threshold": 0.3},
     lambda x, threshold: np.sign(x) * np.maximum(np.abs(x) - threshold, 0)),
    ("tanh_shrink", (A,), {}, lambda x: x - np.tanh(x)),
    ("threshold", (A, 0.1, -5.0), {}, lambda x, t, v: np.where(x > t, x, v)),
    ("squareplus", (A,), {}, lambda x: (x + np.sqrt(x**2 + 4)) / 2),
    ("squareplus", (A,), {"b": 1.0}, lambda x, b: (x + np.sqrt(x**2 + b)) / 2),
    ("sparse_plus", (A * 2,), {},
     lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4))),
    ("sparse_sigmoid", (A * 2,), {}, lambda x: np.clip((x + 1) / 2, 0, 1)),
    ("sparsemax", (np.array([[1.0, 0.0, -2.0], [0.5, 0.4, 0.1], [1.0, 0.8, 0.0]]),), {},
     lambda x: np.array([[1.0, 0, 0], [0.5, 0.4, 0.1], [0.6, 0.4, 0.0]])),
    ("sparsemax", (np.array([[2.0, 1.0], [1.0, 0.0], [0.0, 0.0]]),), {"axis": 0},
     lambda x, axis: np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])),
    ("layer_normalization", (A,), {"gamma": POS[0], "beta": B[0]},
     lambda x, gamma, beta: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-7) * gamma + beta),
    ("layer_normalization", (A,), {"axis": 0, "epsilon": 0.1},
     lambda x, axis, epsilon: (x - x.mean(0)) / np.sqrt(x.var(0) + 0.1)),
    ("rms_normalization", (A,), {"scale": POS[0]},
     lambda x, scale: x / np.sqrt((x**2).mean(-1, keepdims=True) + 1e-7) * scale),
    ("psnr", (P, P + 0.05), {"max_val": 1.0}, lambda a, b, max_val: 20 * np.log10(1.0) - 10 * np.log10(0.05**2)),
    ("polar", (POS, A), {}, lambda r, t: r * np.exp(1j * t)),
    ("dot_product_attention", (Q, KV, KV), {}, _attention_ref),
    ("dot_product_attention", (Q, KV, KV), {"is_causal": True},
     lambda q, k, v, is_causal: _attention_ref(q, k, v, mask=np.tril(np.ones((5, 5), bool)))),
    ("dot_product_attention", (Q, KV, KV), {"mask": ATT_MASK, "scale": 0.3},
     lambda q, k, v, mask, scale: _attention_ref(q, k, v, mask=mask, scale=scale)),
    ("dot_product_attention", (Q, KV[:, :, :2], KV[:, :, :2]), {},
     lambda q, k, v: _attention_ref(q, np.repeat(k, 2, axis=2), np.repeat(v, 2, axis=2))),
    ("ctc_loss", (np.array([[1]]), np.zeros((1, 2, 2), "float32"), np.array([1]), np.array([2])), {},
     lambda t, o, tl, ol: -np.log([0.75])),  # paths "11", "01", "10" of four, each 1/4
    ("ctc_decode", (np.log(CTC_PROBS), np.array([5, 3])), {},
     lambda x, n: (np.array([[[1, 2, 1, -1, -1], [2, -1, -1, -1, -1]]]),
                   -np.log(CTC_PROBS.max(-1) * [[1] * 5, [1, 1, 1, 0, 0]] + [[0] * 5, [0, 0, 0, 1, 1]]).sum(1, keepdims=True))),
    ("ctc_decode", (np.log(CTC_PROBS), np.array([5, 3])), {"merge_repeated": False},
     lambda x, n, merge_repeated: (np.array([[[1, 1, 2, 1, -1], [2, 2, -1, -1, -1]]]),
                                   -np.log(CTC_PROBS.max(-1) * [[1] * 5, [1, 1, 1, 0, 0]] + [[0] * 5, [0, 0, 0, 1, 1]]).sum(1, keepdims=True))),
    ("adaptive_average_pool", (IMG[:, :6, :6], 3), {}, lambda x, s: _pool_ref(x, 2, np.mean)),
    ("adaptive_max_pool", (IMG[:, :6, :6], (2, 3)), {},
     lambda x, s: np.max(x.reshape(2, 2, 3, 3, 2, 3), axis=(2, 4))),
    ("depth_to_space", (DS, 2), {}, _depth_to_space_ref),
    ("unfold", (IMG.transpose(0, 3, 1, 2), 2), {"stride": 2},
     lambda x, k, stride: x[:, :, :6, :6].reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 3, 5, 2, 4).reshape(2, 12, 9)),
    ("space_to_depth", (_depth_to_space_ref(DS, 2), 2), {}, lambda x, b: DS),
    ("relu", (A,), {}, lambda x: np.maximum(x, 0)),
    ("relu6", (A * 5,), {}, lambda x: np.clip(x, 0, 6)),
    ("sigmoid", (A,), {}, scipy.special.expit),
    ("log_sigmoid", (A,), {}, scipy.special.log_expit),
    ("softplus", (A,), {}, lambda x: np.log1p(np.exp(x))),
    ("softsign", (A,), {}, lambda x: x / (1 + np.abs(x))),
    ("silu", (A,), {}, lambda x: x * scipy.special.expit(x)),
    ("swish", (A,), {}, lambda x: x * scipy.special.expit(x)),
    ("hard_sigmoid", (A * 4,), {}, lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    ("hard_silu", (A * 4,), {}, lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    ("hard_swish", (A * 4,), {}, lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    ("leaky_relu", (A,), {}, lambda x: np.where(x > 0, x, 0.2 * x)),
    ("leaky_relu", (A,), {"negative_slope": 0.5}, lambda x, negative_slope: np.where(x > 0, x, 0.5 * x)),
    ("elu", (A,), {"alpha": 2.0}, lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(x))),
    ("selu", (A,), {}, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))),
    ("celu", (A,), {}, lambda x: np.where(x > 0, x, np.expm1(x))),
    ("gelu", (A,), {}, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    ("gelu", (A,), {"approximate": False},
     lambda x, approximate: 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2)))),
    ("glu", (A,), {}, lambda x: x[:, :2] * scipy.special.expit(x[:, 2:])),
    ("softmax", (A,), {}, _softmax),
    ("softmax", (A,), {"axis": 0}, _softmax),
    ("log_softmax", (A,), {}, lambda x: scipy.special.log_softmax(x, axis=-1)),
    ("one_hot", (LABELS, 4), {}, lambda x, n: np.eye(n)[x]),
    ("one_hot", (np.array([1, -1]), 3), {"axis": 0}, lambda x, n, axis: np.array([[0, 0], [1, 0], [0, 0]])),
    ("multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}, lambda x, n: np.array([[1, 0, 1, 0], [0, 1, 0, 0]])),
    ("moments", (T3, [0, 1]), {}, lambda x, axes: (x.mean(axis=(0, 1)), x.var(axis=(0, 1)))),
    ("batch_normalization", (A, P[0], POS[0], -1), {"offset": B[0], "scale": POS[1]},
     lambda x, m, v, axis, offset, scale: (x - m) / np.sqrt(v + 1e-3) * scale + offset),
    ("normalize", (A,), {}, lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)),
    ("normalize", (np.array([[1e-5, 0.0], [3.0, 4.0]]),), {},
     lambda x: x / np.sqrt(np.maximum((x**2).sum(-1, keepdims=True), 1e-7))),
    ("normalize", (A,), {"axis": 0, "order": 1},
     lambda x, axis, order: x / np.maximum(np.abs(x).sum(0, keepdims=True), 1e-7)),
    ("binary_crossentropy", (P > 0.5, P), {}, lambda t, p: _bce(t, p)),
    ("binary_crossentropy", (P > 0.5, A), {"from_logits": True},
     lambda t, x, from_logits: _bce(t, scipy.special.expit(x))),
    ("categorical_crossentropy", (ONEHOT, _softmax(A)), {},
     lambda t, p: -(t * np.log(p)).sum(-1)),
    ("categorical_crossentropy", (ONEHOT, A), {"from_logits": True},
     lambda t, x, from_logits: -(t * scipy.special.log_softmax(x, -1)).sum(-1)),
    ("sparse_categorical_crossentropy", (LABELS, A), {"from_logits": True},
     lambda t, x, from_logits: -scipy.special.log_softmax(x, -1)[np.arange(3), t]),
    ("sparse_categorical_crossentropy", (LABELS[:, None], _softmax(A)), {},
     lambda t, p: -np.log(p[np.arange(3), t[:, 0]])),
    ("conv", (IMG, K), {}, lambda x, k: _torch_conv_ref(x, k, 1, "valid")),
    ("conv", (IMG, K), {"padding": "same"}, lambda x, k, padding: _torch_conv_ref(x, k, 1, "same")),
    ("conv", (IMG, K), {"strides": 2}, lambda x, k, strides: _torch_conv_ref(x, k, 2, "valid")),
    ("depthwise_conv", (IMG, DK), {}, _depthwise_ref),
    ("separable_conv", (IMG, DK, K[:1, :1, :, :].repeat(2, axis=2)), {},
     lambda x, d, p: np.einsum("bhwc,co->bhwo", _depthwise_ref(x, d), p[0, 0])),
    ("max_pool", (IMG, 2), {}, lambda x, s: _pool_ref(x, s, np.max)),
    ("average_pool", (IMG, 3), {}, lambda x, s: _pool_ref(x, s, np.mean)),
    ("max_pool", (IMG, 2), {"padding": "same"},
     lambda x, s, padding: _pool_ref(np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 0)), constant_values=-np.inf), s, np.max)),
    # math
    ("erf", (A,), {}, scipy.special.erf),
    ("erfinv", (P,), {}, scipy.special.erfinv),
    ("rsqrt", (POS,), {}, lambda x: 1 / np.sqrt(x)),
    ("top_k", (V, 2), {}, lambda x, k: (np.sort(x)[::-1][:k], np.argsort(-x)[:k])),
    ("in_top_k", (LABELS, A, 2), {},
     lambda t, p, k: np.array([(p[i] > p[i, t[i]]).sum() < k for i in range(3)])),
    ("segment_sum", (A, np.array([0, 0, 2])), {}, lambda d, s: np.stack([A[:2].sum(0), 0 * A[0], A[2]])),
    ("segment_max", (A, np.array([1, 1, 0])), {"num_segments": 2},
     lambda d, s, num_segments: np.stack([A[2], A[:2].max(0)])),
    ("segment_max", (V, np.array([0, 0, 2, 2, 2])), {},
     lambda d, s: np.array([3.0, -np.inf, 5.0])),
    ("fft", ((A, B),), {}, lambda x: (np.fft.fft(x[0] + 1j * x[1]).real, np.fft.fft(x[0] + 1j * x[1]).imag)),
    ("fft2", ((A, B),), {}, lambda x: (np.fft.fft2(x[0] + 1j * x[1]).real, np.fft.fft2(x[0] + 1j * x[1]).imag)),
    ("rfft", (A,), {}, lambda x: (np.fft.rfft(x).real, np.fft.rfft(x).imag)),
    ("irfft", ((np.fft.rfft(A).real.astype("float32"), np.fft.rfft(A).imag.astype("float32")),), {},
     lambda x: np.fft.irfft(x[0] + 1j * x[1])),
    ("stft", (SIGNAL, 10, 4, 16), {}, _stft_ref),
    ("stft", (SIGNAL, 8, 8, 8), {"window": None, "center": False}, _stft_ref),
    ("istft", (_stft_ref(SIGNAL, 10, 4, 16), 10, 4, 16), {"length": 40}, lambda *a, **k: SIGNAL),
    ("extract_sequences", (V, 2, 1), {}, lambda x, n, s: np.lib.stride_tricks.sliding_window_view(x, n)),
    ("ifft2", ((A, B),), {}, lambda x: (np.fft.ifft2(x[0] + 1j * x[1]).real, np.fft.ifft2(x[0] + 1j * x[1]).imag)),
    ("view_as_complex", (T3[..., :2],), {}, lambda x: x[..., 0] + 1j * x[..., 1]),
    ("view_as_real", (np.array([1 + 2j, 3 - 1j], dtype="complex64"),), {},
     lambda x: np.stack([x.real, x.imag], -1)),
    # core
    ("associative_scan", (lambda a, b: a + b, T3), {}, lambda f, x: np.cumsum(x, axis=0)),
    ("associative_scan", (lambda a, b: a * b, POS), {"reverse": True, "axis": 1},
     lambda f, x, reverse, axis: np.cumprod(x[:, ::-1], axis=1)[:, ::-1]),
    ("convert_to_tensor", (A,), {}, lambda x: x),
    ("convert_to_numpy", (torch.tensor(A),), {}, lambda x: A),
    ("cast", (A, "int32"), {}, lambda x, d: x.astype(d)),
    ("saturate_cast", (np.array([-5.0, 100.0, 300.0]), "uint8"), {}, lambda x, d: np.array([0, 100, 255])),
    ("stop_gradient", (A,), {}, lambda x: x),
    ("view", (A, "int32"), {}, lambda x, d: x.view(d)),
    ("view", (A, "int16"), {}, lambda x, d: x.view(d)),
    ("view", (np.arange(4, dtype="int16"), "int32"), {}, lambda x, d: x.view(d)),
    ("slice", (T3, (1, 0, 1), (1, 2, 3)), {}, lambda x, s, n: x[1:2, 0:2, 1:4]),
    ("slice_update", (A, (1, 2), np.ones((2, 2), "float32")), {},
     lambda x, s, u: np.concatenate([x[:1], np.concatenate([x[1:, :2], u], 1)], 0)),
    ("scatter", (np.array([[0, 1], [2, 3], [0, 1]]), np.array([1.0, 2.0, 3.0]), (3, 4)), {},
     lambda i, v, s: np.array([[0, 4, 0, 0], [0, 0, 0, 0], [0, 0, 0, 2.0]])),
    ("scatter_update", (A, np.array([[0, 1], [2, 3]]), np.array([9.0, 8.0])), {},
     lambda x, i, u: np.where(np.isin(np.arange(12).reshape(3, 4), [1, 11]), np.array([[0, 9, 0, 0]] * 2 + [[0, 0, 0, 8]]), x)),
    ("unstack", (A,), {"axis": 1}, lambda x, axis: list(np.moveaxis(x, axis, 0))),
]

_IDS = [f"{i}-{case[0]}" for i, case in enumerate(CASES)]

# Ops whose values depend on more than NumPy can check in one call; each has its own test below.
TESTED_ELSEWHERE = {
    "cond", "switch", "while_loop", "fori_loop", "scan", "map", "vectorized_map", "is_tensor",
    "dtype", "empty", "svd", "qr", "eig", "eigh", "empty_like", "argpartition", "conv_transpose",
    "custom_gradient", "jvp", "vectorize",
}


def _assert_close(actual, expected):
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)), f"expected a sequence, got {type(actual)}"
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            _assert_close(a, e)
        return
    if isinstance(expected, (int, float, np.integer)) and not isinstance(actual, torch.Tensor):
        assert actual == expected
        return
    assert isinstance(actual, torch.Tensor), f"expected a torch tensor, got {type(actual)}"
    got = ops.convert_to_numpy(actual)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    if np.iscomplexobj(expected):
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)
    elif expected.dtype == bool:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got.astype("float64"), expected.astype("float64"), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize(("name", "args", "kwargs", "reference"), CASES, ids=_IDS)
def test_ops_match_numpy_reference(name, args, kwargs, reference):
    expected = reference(*args, **kwargs)
    actual = getattr(ops, name)(*args, **kwargs)
    if name == "convert_to_numpy":
        assert isinstance(actual, np.ndarray)
        actual = torch.from_numpy(actual)
    _assert_close(actual, expected)


def test_ops_every_public_op_is_checked():
    tabled = {case[0] for case in CASES}
    missing = sorted(set(ops.__all__) - tabled - TESTED_ELSEWHERE)
    assert not missing, f"ops without a reference case: {missing}"


# ----------------------------------------------------------------------------- dtypes

DTYPE_CASES = [
    (lambda: ops.convert_to_tensor(np.array([1.0])), torch.float32),
    (lambda: ops.convert_to_tensor(np.array([1.0]), dtype="float64"), torch.float64),
    (lambda: ops.convert_to_tensor(np.array([1], dtype="int64")), torch.int64),
    (lambda: ops.convert_to_tensor(1), torch.int32),
    (lambda: ops.convert_to_tensor(1.0), torch.float32),
    (lambda: ops.convert_to_tensor([[1, 2]]), torch.int32),
    (lambda: ops.convert_to_tensor([True]), torch.bool),
    (lambda: ops.mean([1, 2]), torch.float32),
    (lambda: ops.sqrt(np.array([4], dtype="int32")), torch.float32),
    (lambda: ops.add(torch.tensor([1], dtype=torch.int32), 1.5), torch.float32),
    (lambda: ops.add(torch.tensor([1], dtype=torch.int8), 1), torch.int8),
    (lambda: ops.multiply(torch.tensor([1.0], dtype=torch.float16), 2.0), torch.float16),
    (lambda: ops.divide([1], [2]), torch.float32),
    (lambda: ops.arange(3), torch.int32),
    (lambda: ops.arange(3.0), torch.float32),
    (lambda: ops.argmax([1.0, 3.0]), torch.int32),
    (lambda: ops.sum([True, True]), torch.int32),
    (lambda: ops.zeros((2,)), torch.float32),
    (lambda: ops.full((2,), 3), torch.float32),
    (lambda: ops.full_like(np.zeros(2, "int32"), 3), torch.int32),
    (lambda: ops.one_hot([1], 3), torch.float32),
    (lambda: ops.cast([1.7], "bfloat16"), torch.bfloat16),
    (lambda: ops.top_k([1.0, 2.0], 1)[1], torch.int32),
]


@pytest.mark.parametrize(("make", "expected"), DTYPE_CASES, ids=[str(i) for i in range(len(DTYPE_CASES))])
def test_ops_dtype_follows_keras_floatx_rules(make, expected):
    assert make().dtype == expected


def test_ops_dtype_returns_keras_names():
    assert ops.dtype(torch.zeros(2, dtype=torch.int64)) == "int64"
    assert ops.dtype(np.zeros(2)) == "float64"  # the array's own dtype, as Keras reports it
    assert ops.dtype([1.0]) == "float32"
    assert ops.is_tensor(torch.zeros(1)) and not ops.is_tensor(np.zeros(1))
    assert ops.empty((2, 3), dtype="int32").shape == (2, 3)
    like = ops.empty_like(torch.zeros(2, 3, dtype=torch.int64))
    assert like.shape == (2, 3) and like.dtype == torch.int64


# ----------------------------------------------------------------------------- gradients

GRAD_CASES = [
    ("sum", lambda x: ops.sum(ops.square(x), axis=1), lambda x: 2 * x),
    ("mean", lambda x: ops.mean(x), lambda x: torch.full_like(x, 1 / x.numel())),
    ("matmul", lambda x: ops.matmul(x, ops.transpose(x)), lambda x: 2 * x.sum(0, keepdim=True).expand_as(x)),
    ("clip", lambda x: ops.clip(x, -0.5, 0.5), lambda x: ((x > -0.5) & (x < 0.5)).float()),
    ("where", lambda x: ops.where(x > 0, x, 2 * x), lambda x: torch.where(x > 0, 1.0, 2.0)),
    ("take", lambda x: ops.take(x, [0, 0], axis=0), lambda x: torch.tensor([[2.0] * 4, [0.0] * 4, [0.0] * 4])),
    ("pad", lambda x: ops.pad(x, 1, mode="edge"), None),
    ("softmax", lambda x: ops.softmax(x)[:, 0], None),
    ("logsumexp", lambda x: ops.logsumexp(x, axis=1), lambda x: torch.softmax(x, dim=1)),
    ("norm", lambda x: ops.norm(x), lambda x: x / x.norm()),
    ("conv", lambda x: ops.conv(x.reshape(1, 3, 4, 1), ops.ones((2, 2, 1, 1)), padding="same"), None),
    ("max_pool", lambda x: ops.max_pool(x.reshape(1, 3, 4, 1), 2, padding="same"), None),
    ("segment_sum", lambda x: ops.segment_sum(x, [0, 1, 1]), lambda x: torch.ones_like(x)),
    ("slice_update", lambda x: ops.slice_update(x, (0, 0), ops.zeros((1, 4))), None),
    ("take_along_axis", lambda x: ops.take_along_axis(x, [[1], [1], [1]], axis=1), None),
]


@pytest.mark.parametrize(("name", "fn", "expected"), GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_ops_gradients_flow_to_inputs(name, fn, expected):
    x = torch.tensor(A, requires_grad=True)
    fn(x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    assert torch.isfinite(x.grad).all()
    if expected is not None:
        torch.testing.assert_close(x.grad, expected(x.detach()), rtol=1e-5, atol=1e-5)
    else:
        assert x.grad.abs().sum() > 0


def test_ops_stop_gradient_blocks_gradients():
    x = torch.ones(3, requires_grad=True)
    y = ops.sum(x * ops.stop_gradient(x * 3))
    y.backward()
    torch.testing.assert_close(x.grad, torch.full((3,), 3.0))


def test_ops_mixed_devices_meet_on_the_accelerator():
    # "meta" stands in for an accelerator here: CPU operands move to it, never the reverse.
    out = ops.add(torch.ones(2), torch.ones(2, device="meta"))
    assert out.device.type == "meta"
    out = ops.concatenate([np.ones(2, "float32"), torch.ones(2, device="meta"), torch.ones(2)])
    assert out.device.type == "meta" and out.shape == (6,)


def test_ops_divide_no_nan_gradient_is_finite_at_zero_divisor():
    x = torch.ones(2, requires_grad=True)
    ops.divide_no_nan(x, torch.tensor([2.0, 0.0])).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.5, 0.0]))


@pytest.mark.parametrize("strides", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel_size", [2, 3])
def test_ops_conv_transpose_is_adjoint_of_conv(strides, padding, kernel_size):
    # conv_transpose(y, k) is the gradient of <conv(x, k), y> with respect to x, with
    # x of the size Keras infers for the transposed output.
    y = torch.tensor(RNG.normal(size=(2, 4, 5, 3)).astype("float32"))
    k = torch.tensor(RNG.normal(size=(kernel_size, kernel_size, 2, 3)).astype("float32"))
    out = ops.conv_transpose(y, k, strides=strides, padding=padding)
    x = torch.zeros(out.shape, requires_grad=True)
    fwd = ops.conv(x, k, strides=strides, padding=padding)
    assert fwd.shape == y.shape
    (fwd * y).sum().backward()
    torch.testing.assert_close(out, x.grad, rtol=1e-4, atol=1e-4)
    expected_hw = [n * strides + (0 if padding == "same" else max(kernel_size - strides, 0)) for n in (4, 5)]
    assert list(out.shape[1:3]) == expected_hw


def test_ops_conv_transpose_output_padding_sets_size():
    out = ops.conv_transpose(ops.ones((1, 4, 3)), ops.ones((3, 2, 3)), strides=2, output_padding=1)
    assert out.shape == (1, (4 - 1) * 2 + 3 + 1, 2)


def test_ops_argpartition_places_kth_element():
    idx = ops.argpartition(A, 2, axis=1).numpy()
    part = np.take_along_axis(A, idx, axis=1)
    np.testing.assert_allclose(part[:, 2], np.sort(A, axis=1)[:, 2])
    assert (part[:, :2] <= part[:, 2:3]).all() and (part[:, 3:] >= part[:, 2:3]).all()


def test_ops_custom_gradient_replaces_backward():
    @ops.custom_gradient
    def scaled_identity(x):
        return x * 1.0, lambda upstream: upstream * 10

    x = torch.ones(3, requires_grad=True)
    y = scaled_identity(x)
    torch.testing.assert_close(y, torch.ones(3))
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3,), 10.0))


def test_ops_jvp_matches_analytic_derivative():
    x, t = torch.tensor(A), torch.tensor(B)
    out, tangent = ops.jvp(lambda v: ops.sin(v), (x,), (t,))
    torch.testing.assert_close(out, torch.sin(x))
    torch.testing.assert_close(tangent, torch.cos(x) * t)


def test_ops_vectorize_applies_elementwise_with_broadcasting():
    f = ops.vectorize(lambda a, b: ops.where(a > b, a - b, b - a))
    np.testing.assert_allclose(f(A, B[0]).numpy(), np.abs(A - B[0]), rtol=1e-6)


# ----------------------------------------------------------------------------- control flow


def test_ops_cond_picks_branch_from_tensor():
    assert ops.cond(torch.tensor(True), lambda: "a", lambda: "b") == "a"
    assert ops.cond(False, lambda: "a", lambda: "b") == "b"


def test_ops_switch_clamps_index():
    branches = [lambda x: x + 1, lambda x: x * 10]
    assert ops.switch(0, branches, 2) == 3
    assert ops.switch(torch.tensor(5), branches, 2) == 20


def test_ops_while_loop_runs_until_condition_false():
    i, total = ops.while_loop(lambda i, t: i < 4, lambda i, t: (i + 1, t + i), (0, 0))
    assert (i, total) == (4, 6)
    assert ops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=7) == 7


def test_ops_fori_loop_matches_python_loop():
    assert ops.fori_loop(2, 6, lambda i, v: v * i, 1) == 2 * 3 * 4 * 5


def test_ops_scan_matches_cumsum_forward_and_reverse():
    xs = torch.tensor(V)
    carry, ys = ops.scan(lambda c, x: (c + x, c + x), torch.tensor(0.0), xs)
    np.testing.assert_allclose(ys.numpy(), np.cumsum(V), rtol=1e-6)
    assert float(carry) == pytest.approx(V.sum())
    _, ys = ops.scan(lambda c, x: (c + x, c + x), torch.tensor(0.0), xs, reverse=True)
    np.testing.assert_allclose(ys.numpy(), np.cumsum(V[::-1])[::-1], rtol=1e-6)
    carry, none = ops.scan(lambda c, _: (c * 2, None), 1, length=3)
    assert carry == 8 and none is None


def test_ops_map_and_vectorized_map_match_loop():
    x = torch.tensor(A)
    expected = np.stack([np.outer(row, row).sum() for row in A])
    np.testing.assert_allclose(ops.map(lambda r: ops.sum(ops.outer(r, r)), x).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(
        ops.vectorized_map(lambda r: ops.sum(ops.outer(r, r)), x).numpy(), expected, rtol=1e-5
    )


def test_ops_decompositions_reconstruct_input():
    u, s, vh = ops.svd(M, full_matrices=False)
    torch.testing.assert_close(u @ torch.diag(s) @ vh, torch.tensor(M), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(M, compute_uv=False), rtol=1e-5)
    q, r = ops.qr(M)
    torch.testing.assert_close(q @ r, torch.tensor(M), rtol=1e-4, atol=1e-4)
    w, v = ops.eigh(SPD)
    np.testing.assert_allclose(w.numpy(), np.linalg.eigvalsh(SPD), rtol=1e-5)
    torch.testing.assert_close(v @ torch.diag(w) @ v.T, torch.tensor(SPD), rtol=1e-4, atol=1e-4)
    w, v = ops.eig(SPD)
    np.testing.assert_allclose(np.sort(w.real.numpy()), np.linalg.eigvalsh(SPD), rtol=1e-5)


# ----------------------------------------------------------------------------- errors

ERROR_CASES = [
    (lambda: ops.sum(A, axis=2), ValueError, r"`ops.sum` expects `axis` in \[-2, 1\].*Received: axis=2"),
    (lambda: ops.mean(A, axis=(0, 0)), ValueError, r"distinct axes.*Received: axis=\(0, 0\)"),
    (lambda: ops.argmax(A, axis=-3), ValueError, r"Received: axis=-3"),
    (lambda: ops.softmax(A, axis=1.5), TypeError, r"`axis` to be an integer. Received: axis=1.5"),
    (lambda: ops.reshape(A, (5, 3)), ValueError, r"cannot reshape a tensor of shape \(3, 4\).*Received: newshape=\(5, 3\)"),
    (lambda: ops.concatenate([A, M]), ValueError, r"shapes to match except along `axis`"),
    (lambda: ops.matmul(A, A), ValueError, r"Received: x1.shape=\(3, 4\), x2.shape=\(3, 4\)"),
    (lambda: ops.split(A, 3, axis=1), ValueError, r"equal sections.*Received: indices_or_sections=3"),
    (lambda: ops.squeeze(A, axis=0), ValueError, r"axes of size 1"),
    (lambda: ops.pad(A, 1, mode="mirror"), ValueError, r"Received: mode='mirror'"),
    (lambda: ops.where(A > 0, A), ValueError, r"both `x1` and `x2`, or neither"),
    (lambda: ops.top_k(V, 9), ValueError, r"`k` in \[1, 5\].*Received: k=9"),
    (lambda: ops.cond(torch.tensor([True, False]), lambda: 1, lambda: 2), ValueError, r"scalar boolean"),
    (lambda: ops.convert_to_tensor([[1, 2], [3]]), ValueError, r"rectangular nested list"),
    (lambda: ops.convert_to_tensor(np.array(["a"])), TypeError, r"numeric or boolean array"),
    (lambda: ops.cast(A, "float128"), ValueError, r"Received: dtype='float128'"),
    (lambda: ops.qr(SQ, mode="r"), ValueError, r"Received: mode='r'"),
    (lambda: ops.conv(IMG, K, padding="full"), ValueError, r"'valid' or 'same'. Received: padding='full'"),
    (lambda: ops.conv(IMG[0], K), ValueError, r"kernel of the same rank"),
    (lambda: ops.max_pool(IMG, (2, 2, 2)), ValueError, r"Received: pool_size=\(2, 2, 2\)"),
    (lambda: ops.categorical_crossentropy(LABELS, A), ValueError, r"sparse_categorical_crossentropy"),
    (lambda: ops.max(np.zeros((0,))), ValueError, r"Pass `initial=`"),
    (lambda: ops.segment_sum(A, [0, 1]), ValueError, r"one id per row"),
    (lambda: ops.fft(A), ValueError, r"tuple `\(real, imag\)`"),
    (lambda: ops.searchsorted(V, V, side="middle"), ValueError, r"Received: side='middle'"),
    (lambda: ops.select([A > 0], [A, B]), ValueError, r"as many conditions as choices"),
    (lambda: ops.correlate(V, V, mode="wide"), ValueError, r"Received: mode='wide'"),
    (lambda: ops.depth_to_space(DS, 3), ValueError, r"divisible by block_size\*\*2"),
    (lambda: ops.space_to_depth(DS, 2), ValueError, r"Received: spatial shape \(2, 3\)"),
    (lambda: ops.dot_product_attention(A, A, A), ValueError, r"4-D query, key and value"),
    (lambda: ops.psnr(A, V, 1.0), ValueError, r"same shape"),
    (lambda: ops.view_as_complex(A), ValueError, r"last axis of size 2"),
    (lambda: ops.vectorize(abs, signature="(n)->()"), ValueError, r"Received: signature='\(n\)->\(\)'"),
    (lambda: ops.ctc_decode(CTC_PROBS, [5, 3], strategy="beam_search"), ValueError, r"Received: strategy='beam_search'"),
    (lambda: ops.stft(SIGNAL, 8, 4, 8, window="kaiser"), ValueError, r"Received: window='kaiser'"),
    (lambda: ops.unfold(IMG[0], 2), ValueError, r"4-D input"),
    (lambda: ops.rearrange(T3, "b (h w) c -> b h w c"), ValueError, r"Give all but one of the group's sizes"),
    (lambda: ops.rearrange(T3, "b c -> c b"), ValueError, r"does not match an input of rank 3"),
    (lambda: ops.rearrange(T3, "a b c -> a b"), ValueError, r"same axes on both sides"),
    (lambda: ops.rearrange(T3, "a b c"), ValueError, r"'<input> -> <output>'"),
    (lambda: ops.conv_transpose(IMG, K, padding="full"), ValueError, r"Received: padding='full'"),
]


@pytest.mark.parametrize(("call", "error", "match"), ERROR_CASES, ids=[str(i) for i in range(len(ERROR_CASES))])
def test_ops_user_mistakes_raise_house_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----------------------------------------------------------------------------- functional graphs


def test_ops_on_symbolic_inputs_build_functional_model():
    import lamina

    inp = lamina.Input(shape=(4,))
    x = ops.concatenate([ops.relu(inp), ops.square(inp)], axis=-1)
    out = ops.sum(x, axis=-1, keepdims=True)
    assert ops.shape(x) == (None, 8) and ops.dtype(x) == "float32" and ops.ndim(x) == 2
    model = lamina.Model(inp, out)
    got = model(torch.tensor(A)).detach().numpy()
    np.testing.assert_allclose(got, (np.maximum(A, 0) + A**2).sum(-1, keepdims=True), rtol=1e-5)


def test_ops_in_functional_model_train_with_fit():
    import lamina

    inp = lamina.Input(shape=(4,))
    hidden = lamina.layers.Dense(3)(inp)
    out = ops.mean(ops.tanh(hidden), axis=-1, keepdims=True)
    model = lamina.Model(inp, out)
    model.compile(optimizer="sgd", loss="mse")
    before = [w.detach().clone() for w in model.parameters()]
    model.fit(A, np.ones((3, 1), "float32"), epochs=1, verbose=0)
    assert any(not torch.equal(b, w.detach()) for b, w in zip(before, model.parameters()))


# ----------------------------------------------------------------------------- docs


@pytest.mark.parametrize(
    "module",
    ["core", "control_flow", "numpy", "reductions", "statistics", "shapes", "creation", "indexing", "linalg", "image",
     "activations", "nn", "convolution", "math", "einops"],
)
def test_ops_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"lamina.ops.{module}")
    globs = {**vars(mod), "ops": ops, "np": np, "torch": torch}
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    tests = doctest.DocTestFinder().find(mod, globs=globs)
    assert tests
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of lamina.ops.{module} failed"


# ----------------------------------------------------------------------------- ops.image

PIX = RNG.uniform(size=(2, 5, 6, 3)).astype("float32")


def _resize_ref(x, th, tw, mode="bilinear"):
    """Half-pixel-centre resizing (TensorFlow 2's convention), one axis at a time."""

    def axis(n, t):
        src = (np.arange(t) + 0.5) * n / t
        if mode == "nearest":
            i0 = np.minimum(np.floor(src).astype(int), n - 1)
            return i0, i0, np.zeros(t)
        src = np.clip(src - 0.5, 0, n - 1)
        i0 = np.floor(src).astype(int)
        return i0, np.minimum(i0 + 1, n - 1), src - i0

    r0, r1, fr = axis(x.shape[-3], th)
    c0, c1, fc = axis(x.shape[-2], tw)
    rows = x[..., r0, :, :] * (1 - fr)[:, None, None] + x[..., r1, :, :] * fr[:, None, None]
    return rows[..., c0, :] * (1 - fc)[:, None] + rows[..., c1, :] * fc[:, None]


def _patches_ref(x, p):
    b, h, w, c = x.shape
    return np.stack([np.stack([x[:, i:i + p, j:j + p, :].reshape(b, -1)
                               for j in range(0, w - p + 1, p)], 1)
                     for i in range(0, h - p + 1, p)], 1)


IMAGE_CASES = [
    ("resize", (PIX, (9, 11)), {}, lambda x, s: _resize_ref(x, *s)),
    ("resize", (PIX, (3, 4)), {}, lambda x, s: _resize_ref(x, *s)),
    ("resize", (PIX[0], (7, 4)), {"interpolation": "nearest"},
     lambda x, s, interpolation: _resize_ref(x, *s, mode="nearest")),
    ("resize", (PIX[:, :4], (2, 3)), {"interpolation": "area"},
     lambda x, s, interpolation: x.reshape(2, 2, 2, 3, 2, 3).mean(axis=(2, 4))),
    ("resize", (PIX, (4, 4)), {"crop_to_aspect_ratio": True},
     lambda x, s, crop_to_aspect_ratio: _resize_ref(x[:, :, :5], 4, 4)),
    ("resize", (PIX, (3, 2)), {"pad_to_aspect_ratio": True, "fill_value": 0.5},
     lambda x, s, **k: _resize_ref(np.pad(x, ((0, 0), (2, 2), (0, 0), (0, 0)), constant_values=0.5), 3, 2)),
    ("resize", (PIX.transpose(0, 3, 1, 2), (9, 11)), {"data_format": "channels_first"},
     lambda x, s, data_format: _resize_ref(PIX, *s).transpose(0, 3, 1, 2)),
    ("rgb_to_grayscale", (PIX,), {}, lambda x: (x * [0.2989, 0.5870, 0.1140]).sum(-1, keepdims=True)),
    ("rgb_to_hsv", (PIX,), {},
     lambda x: np.apply_along_axis(lambda p: colorsys.rgb_to_hsv(*p), -1, x)),
    ("hsv_to_rgb", (PIX,), {},
     lambda x: np.apply_along_axis(lambda p: colorsys.hsv_to_rgb(*p), -1, x)),
    ("pad_images", (PIX, 1, 2), {"bottom_padding": 3, "right_padding": 0},
     lambda x, t, lft, bottom_padding, right_padding: np.pad(x, ((0, 0), (1, 3), (2, 0), (0, 0)))),
    ("pad_images", (PIX[0],), {"top_padding": 1, "target_height": 8, "left_padding": 0, "target_width": 7},
     lambda x, **k: np.pad(x, ((1, 2), (0, 1), (0, 0)))),
    ("crop_images", (PIX, 1, 2), {"target_height": 3, "target_width": 2},
     lambda x, t, lft, target_height, target_width: x[:, 1:4, 2:4]),
    ("crop_images", (PIX,), {"bottom_cropping": 1, "top_cropping": 2, "left_cropping": 1, "right_cropping": 1},
     lambda x, **k: x[:, 2:4, 1:5]),
    ("extract_patches", (PIX, 2), {}, lambda x, p: _patches_ref(x, p)),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "reference"), IMAGE_CASES,
                         ids=[f"{i}-{c[0]}" for i, c in enumerate(IMAGE_CASES)])
def test_ops_image_match_numpy_reference(name, args, kwargs, reference):
    _assert_close(getattr(ops.image, name)(*args, **kwargs), reference(*args, **kwargs))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ops.image.resize(PIX, (2, 2), interpolation="lanczos9"), r"Received: interpolation='lanczos9'"),
        (lambda: ops.image.resize(PIX[0, 0], (2, 2)), r"3-D image or a 4-D batch"),
        (lambda: ops.image.pad_images(PIX, 1), r"exactly two of `top_padding`"),
        (lambda: ops.image.crop_images(PIX, 4, 0, target_height=3, target_width=2), r"crops outside"),
    ],
)
def test_ops_image_bad_arguments_raise_house_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_ops_symbolic_tuple_outputs_and_keyword_inputs():
    import lamina

    inp = lamina.Input(shape=(4,))
    left, right = ops.split(inp, 2, axis=-1)
    values, indices = ops.top_k(inp, 2)
    kept = ops.where(condition=ops.greater(inp, 0.0), x1=inp, x2=ops.zeros_like(inp))
    model = lamina.Model(inp, [ops.concatenate([left, right, values], axis=-1), indices, kept])
    out, idx, pos = model(torch.tensor(A))
    np.testing.assert_allclose(out.detach().numpy(), np.concatenate([A, -np.sort(-A, axis=1)[:, :2]], 1), rtol=1e-6)
    assert idx.dtype == torch.int32
    np.testing.assert_allclose(pos.detach().numpy(), np.maximum(A, 0))


def test_ops_functional_model_with_ops_saves_and_loads(tmp_path):
    import lamina

    inp = lamina.Input(shape=(4,))
    x = ops.concatenate([lamina.layers.Dense(2)(inp), ops.square(inp)], axis=-1)
    out = ops.add(ops.sum(x, axis=[-1], keepdims=True), np.array([0.5], "float32"))
    model = lamina.Model(inp, out)
    path = tmp_path / "ops_model.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    torch.testing.assert_close(loaded(torch.tensor(A)), model(torch.tensor(A)))


def test_ops_functional_model_loads_in_fresh_process(tmp_path):
    import subprocess
    import sys

    import lamina

    inp = lamina.Input(shape=(4,))
    lamina.Model(inp, ops.sum(ops.relu(inp), axis=-1)).save(tmp_path / "m.lamina")
    code = (
        "import lamina, torch; m = lamina.load_model(r'%s'); "
        "print(float(m(torch.tensor([[1.0, -2.0, 3.0, 4.0]]))[0]))" % (tmp_path / "m.lamina")
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) == 8.0
