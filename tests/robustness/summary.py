"""Runs every hostile case (the slow ones too) and prints the totals as Markdown.

    python -m tests.robustness.summary [--quick] [--workers N] [--json results.json] [--only SUBSTRING]

Per kind: cases, held (refused correctly or loaded correctly), failed; then
each failing case with what happened.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict

from tests.robustness import hostile
from tests.robustness.runner import Runner, bases_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the slow cases")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--json", help="also write every result to this file")
    parser.add_argument("--only", help="run only the cases whose id contains this")
    parser.add_argument("--bases", help="folder for the original files (kept between runs)")
    args = parser.parse_args(argv)

    bases = args.bases or bases_dir()
    t0 = time.monotonic()
    import torch

    torch.set_num_threads(1)
    hostile.ensure_bases(bases)
    cases = [c for c in hostile.CASES.values() if not (args.quick and c.slow) and (not args.only or args.only in c.name)]
    runner = Runner(bases, workers=args.workers, timeout=args.timeout)
    results = runner.run(c.name for c in cases)
    elapsed = time.monotonic() - t0

    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    failures: list[tuple[str, str]] = []
    for case in cases:
        status, why = hostile.judge(case, results[case.name])
        row = per_kind[case.kind]
        row[0] += 1
        row[{"held": 1, "generic": 2, "failed": 3}[status]] += 1
        if status != "held":
            failures.append((case.name, why))
    info = runner.worker_info or {}
    print(
        f"Hostile files: {len(cases)} cases in {elapsed:.0f} s ({args.workers} workers; each worker "
        f"{info.get('baseline', 0) / 2**30:.2f} GiB of address space after importing Lamina, capped at "
        f"{info.get('cap', 0) / 2**30:.2f} GiB; {runner.restarts} worker restarts)\n"
    )
    print("| kind | cases | held | refused, generic message | failed |")
    print("|---|---:|---:|---:|---:|")
    for kind in hostile.KINDS:
        if kind in per_kind:
            n, held, generic, failed = per_kind[kind]
            print(f"| {kind} | {n} | {held} | {generic} | {failed} |")
    total = [sum(r[i] for r in per_kind.values()) for i in range(4)]
    print(f"| **all** | {total[0]} | {total[1]} | {total[2]} | {total[3]} |")
    print("\nheld: refused with an error naming the file and the problem, or loaded with the "
          "original's predictions; generic: refused naming the file, but the message only carries a "
          "wrapped Python error (KeyError, AttributeError, ...) from the catch-all guard.")
    if failures:
        print("\nFailing cases:\n")
        for name, why in failures:
            print(f"- `{name}`: {why.replace(chr(10), ' ')[:400]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({c.name: {**results[c.name], "status": hostile.judge(c, results[c.name])[0], "why": hostile.judge(c, results[c.name])[1]} for c in cases}, f, indent=1, default=str)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
