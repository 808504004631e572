"""The verdict of `BaselineTable.verdict`: from paired comparisons when the
network's predictions are known, from point estimates (said so) otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.workflow.baselines.scoring import fmt as _fmt

if TYPE_CHECKING:
    from lamina.workflow.baselines.table import BaselineRow, BaselineTable

_USELESS = (
    "Check the labels, the loss, the learning rate and the input scaling, and try to overfit a "
    "small batch first."
)


def _baseline_rows(table: BaselineTable, name: str, kinds: tuple[str, ...]) -> list[BaselineRow]:
    return [r for r in table._ran(kinds) if r.name != name]


def paired_verdict(table: BaselineTable, name: str) -> str:
    """The verdict from McNemar's test / the paired bootstrap against the best and
    the common-sense baselines."""
    best_cmp = table.compare(name)
    head = best_cmp.text
    best = table._row(best_cmp.baseline)
    cs = table._best(_baseline_rows(table, name, ("common-sense",)))
    if best.kind == "common-sense" or cs is None:
        if best.kind == "common-sense" and best_cmp.outcome != "better":
            return f"{head} It does not beat the common-sense baseline: it has not shown that it learned anything. {_USELESS}"
        return head
    if cs.predictions is None:
        return head
    cs_cmp = table.compare(name, against=cs.name)
    if cs_cmp.outcome != "better":
        return f"{head} {cs_cmp.text} It does not beat the common-sense baseline either. {_USELESS}"
    tail = f" {cs_cmp.text}"
    if best_cmp.outcome == "worse":
        tail += " A classical model does better on this data: tune or regularise the network, or prefer the simpler model."
    elif best_cmp.outcome == "not distinguishable":
        tail += (
            f" On these {best_cmp.n} examples the network is no better than {best.name}: prefer the "
            "simpler model, or measure on more examples to tell them apart."
        )
    return head + tail


def point_verdict(table: BaselineTable, name: str) -> str:
    """The verdict from the point scores alone, with a note that chance is not ruled out."""
    net = table._row(name)
    best = table._best(_baseline_rows(table, name, ("common-sense", "classical")))
    if best is None:
        raise ValueError("`verdict` needs at least one baseline that ran. Received: none.")
    m = table.metric
    score, ref = table._score(net), table._score(best)
    gain = (score - ref) if table.higher_is_better else (ref - score)
    fmt = _fmt(m)
    if abs(gain) <= 1e-12:
        head = f"{name} matches the best baseline, {best.name} ({m} {fmt(score)})."
    else:
        verb, side = ("beats", "better") if gain > 0 else ("does not beat", "worse")
        detail = f"{side} by {fmt(abs(gain))} absolute"
        if ref != 0:
            detail += f", {abs(gain) / abs(ref):.1%} relative"
        if table.task == "classification" and gain > 0 and ref < 1.0:
            detail += f"; error rate {1 - score:.1%} vs {1 - ref:.1%}, {gain / (1.0 - ref):.0%} fewer errors"
        head = f"{name} {verb} the best baseline, {best.name}: {m} {fmt(score)} vs {fmt(ref)} ({detail})."
    note = (
        f" These are point estimates, so chance is not ruled out: pass the model or its predictions "
        f"on the {table.eval_set} set to `add_model` for a paired test."
    )
    cs = table._best(_baseline_rows(table, name, ("common-sense",)))
    if cs is None:
        return head + note
    cs_score = table._score(cs)
    cs_gain = (score - cs_score) if table.higher_is_better else (cs_score - score)
    if cs_gain > 0:
        if best.kind == "common-sense":
            return head + note
        tail = f" It beats the common-sense baseline ({cs.name}, {m} {fmt(cs_score)})."
        if gain <= 0:
            tail += (
                " A classical model does better on this data: tune or regularise the network, "
                "or prefer the simpler model."
            )
        return head + tail + note
    return (
        head
        + (
            f" It does not even beat the common-sense baseline ({cs.name}, {m} {fmt(cs_score)}): "
            f"the network has not learned anything useful. {_USELESS}"
        )
        + note
    )
