"""The HTML page: its style, the table and cell helpers and `_Page`, which collects
the body, the JSON data and the embedded images section by section."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina.workflow import plots
from lamina.workflow.report.intervals import as_interval, interval_cell

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em 2em 4em; color: #1f2328; line-height: 1.45; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.4em; }
.meta { color: #59636e; font-size: .9em; }
nav ul { columns: 3; list-style: none; padding-left: 0; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .3em .7em; text-align: right; }
th { background: #f6f8fa; }
td.l, th.l { text-align: left; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: .85em; }
img { max-width: 100%; height: auto; border: 1px solid #eaeef2; margin: .4em 0; }
.verdict { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .5em .8em; }
tr.pass td:nth-child(2) { color: #1a7f37; font-weight: 600; }
tr.warn td:nth-child(2) { color: #9a6700; font-weight: 600; }
tr.fail td:nth-child(2) { color: #cf222e; font-weight: 600; }
tr.skip td:nth-child(2) { color: #59636e; }
.primary { background: #fff8c5; font-weight: 600; }
.note { color: #59636e; font-size: .9em; }
"""

# Sets data-images-loaded="<loaded>/<total>" on <body> once the page has loaded,
# so a headless browser (and the tests) can check that every plot decoded.
_IMAGE_CHECK = """
(function () {
  function check() {
    var imgs = Array.prototype.slice.call(document.images);
    var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
    document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
  }
  if (document.readyState === "complete") { check(); } else { window.addEventListener("load", check); }
})();
"""

#: Under every table that shows intervals.
INTERVAL_NOTE = (
    '<p class="note">CI: confidence interval at the level shown (Wilson score for error rates and '
    "accuracies, a seeded bootstrap for other metrics, Newcombe's interval for a difference of "
    "two error rates); n is the number of examples behind the number.</p>"
)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int = 4) -> str:
    """A number cell: integers with thousands separators, floats with ``digits``
    decimals, an `Interval` (or its dict) through `interval_cell`."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        return f"{v:.{digits}f}" if abs(v) < 1e4 else f"{v:,.{max(0, digits - 2)}f}"
    if as_interval(value) is not None:
        return _e(interval_cell(value))
    return _e(value)


def _short(value: Any) -> str:
    """A label or value for a table cell: floats with 4 significant digits."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    left: int = 1,
    row_classes: Sequence[str] | None = None,
) -> str:
    """An HTML table; the first ``left`` columns are left-aligned text, the rest numbers."""
    head = "".join(
        f'<th class="l">{_e(h)}</th>' if i < left else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(
            f'<td class="l">{_e(v)}</td>' if i < left else f"<td>{_num(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Page:
    """Collects the HTML body, the JSON data and the embedded images."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.data: dict[str, Any] = {}
        self.images = 0

    def section(self, key: str, title: str) -> None:
        self.toc.append((key, title))
        self.parts.append(f'<section id="{key}"><h2>{_e(title)}</h2>')

    def end(self) -> None:
        self.parts.append("</section>")

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)

    def figure(self, fig: Any, alt: str) -> None:
        png = plots.figure_to_png(fig)
        self.images += 1
        self.parts.append(f'<img src="{plots.png_data_uri(png)}" alt="{_e(alt)}">')

    def pre(self, text: str) -> None:
        self.parts.append(f"<pre>{_e(text)}</pre>")

    def verdict(self, text: str, head: str | None = None) -> None:
        bold = f"<b>{_e(head)}</b> " if head else ""
        self.parts.append(f'<p class="verdict">{bold}{_e(text)}</p>')
