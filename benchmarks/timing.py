"""Paired timing summary shared by the benchmark scripts.

This project's machines are shared: the same loop runs up to twice as fast or
slow from one minute to the next. The scripts therefore time the two sides
back to back in each repetition (starting side alternating) and summarise the
*paired* ratios, whose median drift cannot move much, next to the ratio of
the two sides' median times.
"""

from __future__ import annotations

import statistics


def paired(lamina_times: list[float], torch_times: list[float]) -> dict[str, float]:
    """Medians of each side, their ratio, and the median and quartiles of the per-repetition ratios."""
    ratios = sorted(a / b for a, b in zip(lamina_times, torch_times))
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    ml, mt = statistics.median(lamina_times), statistics.median(torch_times)
    return {"lamina": ml, "torch": mt, "ratio_of_medians": ml / mt, "ratio": statistics.median(ratios),
            "q1": q[0], "q3": q[2]}


def describe(s: dict[str, float]) -> str:
    """One line: the two medians, the median paired ratio with its quartiles, the ratio of medians."""
    return (f"lamina {s['lamina']:7.3f}s  torch {s['torch']:7.3f}s  ratio {s['ratio']:.3f} "
            f"(quartiles {s['q1']:.3f}-{s['q3']:.3f}; ratio of medians {s['ratio_of_medians']:.3f})")
