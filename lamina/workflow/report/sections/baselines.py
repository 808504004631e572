"""The Baselines section: the ranked table with each score's interval, a chart of
the scores with error bars, and the network's paired comparison with the best
baseline (McNemar / paired bootstrap) where the table can pair them."""

from __future__ import annotations

from typing import Any

from lamina.workflow.report.intervals import as_interval, interval_bar_figure, interval_cell
from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import INTERVAL_NOTE, _e, _Page, _table


def _cells(row: Any, metric: str, extra: str) -> tuple[Any, Any]:
    """The metric and second-metric cells of a row; its interval goes to the column
    of the metric it is on (`interval_metric`, else the one whose score it matches)."""
    scores = getattr(row, "scores", {}) or {}
    values = {metric: scores.get(metric), extra: scores.get(extra)}
    interval = as_interval(getattr(row, "interval", None))
    if interval is not None:
        on = getattr(row, "interval_metric", None)
        if on not in values:
            matches = [
                k for k, v in values.items() if v is not None and abs(v - interval.estimate) < 1e-6
            ]
            on = matches[0] if matches else None
        if on is not None:
            values[on] = interval
    n = interval.n if interval is not None else None
    return tuple(
        interval_cell(v, percent=k == "error_rate", n=n) if v is not None else None
        for k, v in values.items()
    )  # type: ignore[return-value]


def _comparisons(table: Any, networks: list[str]) -> dict[str, Any]:
    """`table.compare(name)` of every network the table can pair with a baseline."""
    compare, paired = getattr(table, "compare", None), getattr(table, "paired", None)
    if not callable(compare):
        return {}
    out = {}
    for name in networks:
        if callable(paired) and not paired(name):
            continue
        try:
            out[name] = compare(name)
        except (ValueError, TypeError):
            continue
    return out


def _comparison_table(page: _Page, comparisons: dict[str, Any]) -> None:
    rows = []
    for name, c in comparisons.items():
        percent = getattr(c, "metric", "") in ("accuracy", "error_rate")
        outcome = getattr(
            c, "outcome", "distinguishable" if c.distinguishable else "not distinguishable"
        )
        p = c.p_value
        rows.append(
            (
                name,
                c.baseline,
                interval_cell(c.difference, percent=percent),
                "-" if p is None else f"{p:.3g}",
                outcome,
            )
        )
    page.add("<h3>Paired comparison with the best baseline (same examples)</h3>")
    page.add(
        _table(
            ["model", "baseline", "difference (model better > 0)", "p-value", "outcome"],
            rows,
            left=2,
        )
    )


def _ranked_rows(table: Any, data: dict[str, Any], metric: str, extra: str) -> list[tuple]:
    by_obj = {r.name: r for r in table.rows}
    by_name = {r["name"]: r for r in data["rows"]}
    rows = []
    for rank, (name, _) in enumerate(data["ranking"], 1):
        r = by_name[name]
        first, second = _cells(by_obj[name], metric, extra)
        rows.append((str(rank), name, r["kind"], first, second, r["fit_seconds"]))
    for r in data["rows"]:
        if r["skipped"]:
            rows.append(
                ("-", r["name"], f"{r['kind']} (skipped: {r['skipped']})", None, None, None)
            )
    return rows


def baselines_section(page: _Page, table: Any) -> None:
    """The `BaselineTable` ranked, charted and, for each network, its verdict."""
    page.section("baselines", "Baselines")
    data = to_jsonable(table.to_dict())
    data["ranking"] = [[name, score] for name, score in table.ranking()]
    metric = data["metric"]
    extra = "error_rate" if data["task"] == "classification" else "rmse"
    page.add(
        f"<p>Scored on the {_e(data['eval_set'])} set ({data['n_train']:,} training / "
        f"{data['n_eval']:,} evaluation samples); ranked by {_e(metric)}.</p>"
    )
    rows = _ranked_rows(table, data, metric, extra)
    kinds = {r["name"]: r["kind"] for r in data["rows"]}
    page.add(
        _table(
            ["rank", "model", "kind", metric, extra, "time (s)"],
            rows,
            left=3,
            row_classes=["primary" if kinds.get(r[1]) == "network" else "" for r in rows],
        )
    )
    by_obj = {r.name: r for r in table.rows}
    ranked = [name for name, _ in data["ranking"]]
    values = [getattr(by_obj[n], "interval", None) or score for n, score in table.ranking()]
    if any(as_interval(v) is not None for v in values):
        page.add(INTERVAL_NOTE)
    if ranked:
        fig = interval_bar_figure(
            ranked,
            values,
            title=f"{metric} on the {data['eval_set']} set",
            ylabel=metric,
            horizontal=True,
        )
        page.figure(fig, f"{metric} of every model with its 95% interval")
    networks = [r["name"] for r in data["rows"] if r["kind"] == "network" and not r["skipped"]]
    comparisons = _comparisons(table, networks)
    if comparisons:
        _comparison_table(page, comparisons)
        data["comparisons"] = to_jsonable(comparisons)
    verdicts = {}
    for name in networks:
        try:
            verdicts[name] = table.verdict(name)
        except ValueError:
            continue
        page.verdict(verdicts[name])
    if verdicts:
        data["verdicts"] = verdicts
    page.data["baselines"] = data
    page.end()
