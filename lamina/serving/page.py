"""The monitoring page that `lamina serve` returns at ``GET /``.

One self-contained HTML document: inline CSS and vanilla JavaScript drawing
SVG, no external request of any kind (the page must work on a machine cut off
from the internet). Every 2 seconds it polls ``GET /v1/monitoring`` (relative
to the page) and redraws five charts:

* ``#latency-chart``: p50 and p95 latency per 5-second bucket;
* ``#throughput-chart``: requests and rows per bucket, errors as red bars;
* ``#drift-chart``: one PSI bar per feature (and one for the predictions),
  flagged features in red with their Benjamini-Hochberg adjusted p-value, and
  the alarm state in ``#drift-alarm``;
* ``#prediction-chart``: the reference and live prediction distributions;
* ``#feedback-chart``: the live feedback metric with its interval against the
  score recorded at save time.

After each draw a chart carries ``data-rendered="true"``, ``data-state``
(``"ok"`` or ``"empty"``) and ``data-marks`` (the number of points or bars
drawn), so a headless browser test can check the drawing from the DOM.
"""

from __future__ import annotations

import html

__all__ = ["render_page", "POLL_INTERVAL_MS"]

POLL_INTERVAL_MS = 2000

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;
 background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 18px;display:flex;gap:18px;align-items:baseline;
 flex-wrap:wrap}
header h1{font-size:18px;margin:0}
header .meta{opacity:.8}
#status{margin-left:auto;font-size:13px}
#status[data-state=error]{color:#ff8080}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px;padding:14px}
.card{background:#fff;border-radius:6px;padding:10px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card h2{font-size:15px;margin:0 0 6px}
.note{color:#667;font-size:12px;margin:4px 0 0;min-height:1em}
svg{width:100%;height:auto;display:block}
svg text{font-size:10px;fill:#445}
.axis{stroke:#99a;stroke-width:1}
.grid{stroke:#e3e5ea;stroke-width:1}
.threshold{stroke:#c90;stroke-dasharray:4 3}
.line{fill:none;stroke-width:1.8}
.s-p50{stroke:#2f6fdf}.s-p95{stroke:#e8772e}.s-requests{stroke:#2f6fdf}.s-rows{stroke:#36a16b}
.error-bar{fill:#d33}
.psi-bar{fill:#5b8def}.psi-bar.drift{fill:#d33}.psi-bar.predictions{fill:#8a63d2}
.psi-bar.predictions.drift{fill:#d33}
.ref-bar{fill:#b8bfcc}.live-bar{fill:#2f6fdf}
.live-mark{fill:#2f6fdf}.ci{stroke:#2f6fdf;stroke-width:2}.reference-mark{stroke:#d33;stroke-width:2;
 stroke-dasharray:4 3}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
#drift-alarm{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;margin-left:8px}
#drift-alarm[data-alarm=true]{background:#d33;color:#fff}
#drift-alarm[data-alarm=false]{background:#dcefe3;color:#1e6b3c}
#summary{display:flex;gap:20px;flex-wrap:wrap}
#summary div b{display:block;font-size:18px}
"""

_JS = r"""
"use strict";
const NS = "http://www.w3.org/2000/svg";
const W = 560, PAD = {l: 48, r: 12, t: 18, b: 24};
let updates = 0;

function el(tag, attrs, parent, text) {
  const node = document.createElementNS(NS, tag);
  for (const k in attrs) node.setAttribute(k, attrs[k]);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function num(x) { return typeof x === "number" && isFinite(x); }
function fmt(x, d) {
  if (!num(x)) return "\u2013";
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return x.toFixed(d === undefined ? 3 : d);
}
function note(id, text) { document.getElementById(id + "-note").textContent = text || ""; }
function done(svg, marks, state) {
  svg.setAttribute("data-rendered", "true");
  svg.setAttribute("data-marks", String(marks));
  svg.setAttribute("data-state", state);
}
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
function yAxis(svg, h, ymax, unit) {
  const bottom = h - PAD.b;
  for (const f of [0, 0.5, 1]) {
    const y = bottom - f * (bottom - PAD.t);
    el("line", {class: "grid", x1: PAD.l, x2: W - PAD.r, y1: y, y2: y}, svg);
    el("text", {x: PAD.l - 4, y: y + 3, "text-anchor": "end"}, svg, fmt(f * ymax, ymax >= 10 ? 0 : 2));
  }
  el("line", {class: "axis", x1: PAD.l, x2: PAD.l, y1: PAD.t, y2: bottom}, svg);
  el("line", {class: "axis", x1: PAD.l, x2: W - PAD.r, y1: bottom, y2: bottom}, svg);
  el("text", {x: 4, y: 10}, svg, unit);
}
function timeAxis(svg, h, t) {
  if (!t.length) return;
  const span = t[t.length - 1] - t[0];
  el("text", {x: PAD.l, y: h - 6}, svg, span > 0 ? "-" + Math.round(span / 60 * 10) / 10 + " min" : "");
  el("text", {x: W - PAD.r, y: h - 6, "text-anchor": "end"}, svg, "now");
}

// Lines over time, broken where a value is null; returns the number of points drawn.
function lines(svg, h, t, series, ymax) {
  const n = t.length, bottom = h - PAD.b;
  const x = i => PAD.l + (n > 1 ? i / (n - 1) : 0.5) * (W - PAD.l - PAD.r);
  const y = v => bottom - (v / ymax) * (bottom - PAD.t);
  let marks = 0;
  for (const s of series) {
    let seg = [];
    const flush = () => {
      if (seg.length === 1) {
        const [px, py] = seg[0].split(",");
        el("circle", {class: "line s-" + s.name, "data-series": s.name, cx: px, cy: py, r: 2}, svg);
      } else if (seg.length > 1) {
        el("polyline", {class: "line s-" + s.name, "data-series": s.name, points: seg.join(" ")}, svg);
      }
      marks += seg.length;
      seg = [];
    };
    s.values.forEach((v, i) => { if (num(v)) seg.push(x(i).toFixed(1) + "," + y(v).toFixed(1)); else flush(); });
    flush();
  }
  return marks;
}

function drawLatency(d) {
  const svg = document.getElementById("latency-chart"), h = 190, s = d.series || {};
  clear(svg); svg.setAttribute("viewBox", `0 0 ${W} ${h}`);
  const t = s.t || [], p50 = s.p50_ms || [], p95 = s.p95_ms || [];
  const vals = p50.concat(p95).filter(num);
  if (!t.length || !vals.length) { note("latency", "no traffic yet"); return done(svg, 0, "empty"); }
  const ymax = niceMax(Math.max(...vals));
  yAxis(svg, h, ymax, "ms"); timeAxis(svg, h, t);
  const marks = lines(svg, h, t, [{name: "p50", values: p50}, {name: "p95", values: p95}], ymax);
  const last = i => { for (let k = i.length - 1; k >= 0; k--) if (num(i[k])) return i[k]; return null; };
  note("latency", `latest bucket: p50 ${fmt(last(p50), 2)} ms, p95 ${fmt(last(p95), 2)} ms`);
  done(svg, marks, "ok");
}

function drawThroughput(d) {
  const svg = document.getElementById("throughput-chart"), h = 190, s = d.series || {};
  clear(svg); svg.setAttribute("viewBox", `0 0 ${W} ${h}`);
  const t = s.t || [], req = s.requests || [], rows = s.rows || [], err = s.errors || [];
  const total = req.reduce((a, b) => a + (num(b) ? b : 0), 0);
  if (!t.length || total === 0) { note("throughput", "no traffic yet"); return done(svg, 0, "empty"); }
  const ymax = niceMax(Math.max(...req.concat(rows).filter(num)));
  yAxis(svg, h, ymax, "per 5 s"); timeAxis(svg, h, t);
  const n = t.length, bottom = h - PAD.b, bw = Math.max(1, (W - PAD.l - PAD.r) / Math.max(n, 1) * 0.6);
  let marks = 0;
  err.forEach((e, i) => {
    if (!(num(e) && e > 0)) return;
    const x = PAD.l + (n > 1 ? i / (n - 1) : 0.5) * (W - PAD.l - PAD.r);
    const bh = Math.max(4, (e / ymax) * (bottom - PAD.t));
    el("rect", {class: "error-bar", x: x - bw / 2, y: bottom - bh, width: bw, height: bh}, svg);
    marks += 1;
  });
  marks += lines(svg, h, t, [{name: "requests", values: req}, {name: "rows", values: rows}], ymax);
  const errors = err.reduce((a, b) => a + (num(b) ? b : 0), 0);
  const secs = Math.max(5, n * 5);
  note("throughput", `${total} requests, ${rows.reduce((a, b) => a + (num(b) ? b : 0), 0)} rows, ` +
    `${errors} error${errors === 1 ? "" : "s"} over the last ${Math.round(secs / 60 * 10) / 10} min`);
  done(svg, marks, "ok");
}

function drawDrift(d) {
  const svg = document.getElementById("drift-chart"), alarm = document.getElementById("drift-alarm");
  clear(svg);
  const drift = d.drift;
  if (!drift) {
    svg.setAttribute("viewBox", `0 0 ${W} 30`);
    alarm.textContent = "no reference"; alarm.setAttribute("data-alarm", "none");
    note("drift", "no reference profile: the model file holds none (fit, then save the model to record one)");
    return done(svg, 0, "empty");
  }
  const rows = (drift.features || []).map(f => Object.assign({cls: "feature"}, f));
  rows.sort((a, b) => (b.drift - a.drift) || ((num(b.psi) ? b.psi : -1) - (num(a.psi) ? a.psi : -1)));
  if (drift.predictions) rows.unshift(Object.assign({cls: "predictions"}, drift.predictions, {name: "(predictions)"}));
  const rh = 16, h = PAD.t + rows.length * rh + PAD.b, left = 130, right = 170;
  svg.setAttribute("viewBox", `0 0 ${W} ${h}`);
  const psis = rows.map(r => r.psi).filter(num);
  const xmax = niceMax(Math.max(0.3, ...psis) * 1.05), span = W - left - right;
  const xs = v => left + Math.min(v, xmax) / xmax * span;
  for (const th of [0.1, 0.25]) {
    el("line", {class: "threshold", x1: xs(th), x2: xs(th), y1: PAD.t, y2: h - PAD.b}, svg);
    el("text", {x: xs(th), y: h - 8, "text-anchor": "middle"}, svg, "PSI " + th);
  }
  el("line", {class: "axis", x1: left, x2: left, y1: PAD.t, y2: h - PAD.b}, svg);
  rows.forEach((r, i) => {
    const y = PAD.t + i * rh;
    el("text", {x: left - 4, y: y + 11, "text-anchor": "end"}, svg, String(r.name).slice(0, 22));
    const bar = el("rect", {class: "psi-bar " + r.cls + (r.drift ? " drift" : ""), "data-feature": r.name,
      x: left, y: y + 2, width: num(r.psi) ? Math.max(1, xs(r.psi) - left) : 0, height: rh - 4}, svg);
    el("title", {}, bar, `${r.name}: PSI ${fmt(r.psi)}, ${r.test || "test"} statistic ${fmt(r.statistic)}, ` +
      `p ${fmt(r.p_value)}, adjusted p ${fmt(r.p_adjusted)}`);
    const label = r.drift ? `drift, p_adj ${fmt(r.p_adjusted)}` : `PSI ${fmt(r.psi)}`;
    el("text", {x: W - right + 6, y: y + 11, class: r.drift ? "flag" : "", fill: r.drift ? "#d33" : "#445"}, svg, label);
  });
  const flagged = rows.filter(r => r.drift).length;
  alarm.setAttribute("data-alarm", drift.alarm ? "true" : "false");
  alarm.textContent = drift.alarm ? `ALARM: ${flagged} flagged` : "no drift";
  note("drift", `window: ${drift.window_rows} of ${drift.window} rows; alpha ${drift.alpha} ` +
    `(Benjamini-Hochberg over ${(drift.features || []).length} features)` +
    (drift.window_rows === 0 ? " \u2013 no traffic yet" : ""));
  done(svg, rows.length, "ok");
}

function drawPredictions(d) {
  const svg = document.getElementById("prediction-chart"), h = 200;
  clear(svg); svg.setAttribute("viewBox", `0 0 ${W} ${h}`);
  const pd = d.drift && d.drift.prediction_distribution;
  if (!pd || !(pd.labels || []).length) {
    note("prediction", d.drift ? "no prediction distribution in the reference profile" : "no reference profile");
    return done(svg, 0, "empty");
  }
  const labels = pd.labels, ref = pd.reference || [], live = pd.live || [];
  const ymax = niceMax(Math.max(...ref.concat(live).filter(num), 0.01));
  yAxis(svg, h, ymax, "fraction");
  const bottom = h - PAD.b, gw = (W - PAD.l - PAD.r) / labels.length, bw = gw * 0.38;
  const yh = v => (v / ymax) * (bottom - PAD.t);
  let marks = 0;
  labels.forEach((lab, i) => {
    const x0 = PAD.l + i * gw + gw * 0.1;
    for (const [cls, arr, dx] of [["ref-bar", ref, 0], ["live-bar", live, bw]]) {
      if (!num(arr[i])) continue;
      const r = el("rect", {class: cls, "data-label": lab, x: x0 + dx, y: bottom - yh(arr[i]), width: bw,
        height: Math.max(0, yh(arr[i]))}, svg);
      el("title", {}, r, `${lab}: ${cls === "ref-bar" ? "reference" : "live"} ${fmt(arr[i])}`);
      marks += 1;
    }
    if (labels.length <= 24) el("text", {x: x0 + bw, y: h - 8, "text-anchor": "middle"}, svg, String(lab).slice(0, 8));
  });
  note("prediction", `${pd.kind === "classes" ? "class" : "value"} distribution: grey = reference, blue = live` +
    (live.filter(num).length ? "" : " (no live predictions yet)"));
  done(svg, marks, "ok");
}

function drawFeedback(d) {
  const svg = document.getElementById("feedback-chart"), h = 70, fb = d.feedback;
  clear(svg); svg.setAttribute("viewBox", `0 0 ${W} ${h}`);
  if (!fb || !(num(fb.live) || num(fb.reference))) {
    note("feedback", fb ? `no labels matched yet (${fb.labelled || 0} labelled)` :
      "no feedback yet: POST /v1/feedback with request ids and labels");
    return done(svg, 0, "empty");
  }
  const vals = [fb.live, fb.reference].concat(fb.live_ci || []).filter(num);
  const xmax = fb.metric === "accuracy" ? 1 : niceMax(Math.max(...vals) * 1.2);
  const xs = v => PAD.l + Math.min(Math.max(v, 0), xmax) / xmax * (W - PAD.l - PAD.r), y = 26;
  el("line", {class: "axis", x1: PAD.l, x2: W - PAD.r, y1: 48, y2: 48}, svg);
  for (const f of [0, 0.5, 1]) el("text", {x: xs(f * xmax), y: 62, "text-anchor": "middle"}, svg, fmt(f * xmax, 2));
  let marks = 0;
  if (num(fb.reference)) {
    el("line", {class: "reference-mark", x1: xs(fb.reference), x2: xs(fb.reference), y1: 6, y2: 46}, svg);
    marks += 1;
  }
  if (fb.live_ci && num(fb.live_ci[0]) && num(fb.live_ci[1])) {
    el("line", {class: "ci", x1: xs(fb.live_ci[0]), x2: xs(fb.live_ci[1]), y1: y, y2: y}, svg);
    marks += 1;
  }
  if (num(fb.live)) { el("circle", {class: "live-mark", cx: xs(fb.live), cy: y, r: 5}, svg); marks += 1; }
  const ci = fb.live_ci && num(fb.live_ci[0]) ? ` [${fmt(fb.live_ci[0])}, ${fmt(fb.live_ci[1])}]` : "";
  note("feedback", `live ${fb.metric} ${fmt(fb.live)}${ci} on ${fb.labelled} labelled rows; ` +
    `reference${fb.reference_name ? " (" + fb.reference_name + ")" : ""} ${fmt(fb.reference)} (red dashes)`);
  done(svg, marks, "ok");
}

function drawHeader(d) {
  const m = d.model || {}, s = d.series || {};
  document.getElementById("model-name").textContent = m.name || "model";
  document.getElementById("model-meta").textContent =
    `${m.task || "task unknown"} \u00b7 ${m.backend || "?"} backend \u00b7 up ${Math.round(d.uptime_s || 0)} s`;
  const sum = a => (a || []).reduce((x, y) => x + (num(y) ? y : 0), 0);
  const req = sum(s.requests), err = sum(s.errors);
  const set = (id, v) => { document.getElementById(id).textContent = v; };
  set("sum-requests", String(req)); set("sum-rows", String(sum(s.rows)));
  set("sum-errors", req ? (100 * err / req).toFixed(1) + " %" : "\u2013");
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const resp = await fetch("v1/monitoring", {cache: "no-store"});
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    const d = await resp.json();
    for (const f of [drawHeader, drawLatency, drawThroughput, drawDrift, drawPredictions, drawFeedback]) {
      try { f(d); } catch (e) { console.error(f.name, e); }
    }
    updates += 1;
    document.body.setAttribute("data-updates", String(updates));
    status.setAttribute("data-state", "ok");
    status.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    status.setAttribute("data-state", "error");
    status.textContent = "cannot reach /v1/monitoring (" + e.message + "); retrying";
  }
}
refresh();
setInterval(refresh, __POLL_MS__);
"""

_BODY = """<header>
<h1 id="model-name">__TITLE__</h1><span class="meta" id="model-meta"></span>
<span id="status" data-state="loading">loading\u2026</span>
</header>
<main>
<section class="card"><h2>Traffic (last 10 min)</h2><div id="summary">
<div>requests<b id="sum-requests">\u2013</b></div><div>rows<b id="sum-rows">\u2013</b></div>
<div>error rate<b id="sum-errors">\u2013</b></div></div>
<h2>Live feedback</h2>
<svg id="feedback-chart" role="img" aria-label="live feedback metric"></svg>
<p class="note" id="feedback-note"></p></section>
<section class="card"><h2>Latency</h2>
<div class="legend"><span><i style="background:#2f6fdf"></i>p50</span><span><i style="background:#e8772e"></i>p95</span></div>
<svg id="latency-chart" role="img" aria-label="latency over time"></svg><p class="note" id="latency-note"></p></section>
<section class="card"><h2>Throughput</h2>
<div class="legend"><span><i style="background:#2f6fdf"></i>requests</span><span><i style="background:#36a16b"></i>rows</span>
<span><i style="background:#d33"></i>errors</span></div>
<svg id="throughput-chart" role="img" aria-label="throughput over time"></svg><p class="note" id="throughput-note"></p></section>
<section class="card"><h2>Drift per feature <span id="drift-alarm" data-alarm="none">\u2013</span></h2>
<svg id="drift-chart" role="img" aria-label="PSI per feature"></svg><p class="note" id="drift-note"></p></section>
<section class="card"><h2>Prediction distribution</h2>
<div class="legend"><span><i style="background:#b8bfcc"></i>reference</span><span><i style="background:#2f6fdf"></i>live</span></div>
<svg id="prediction-chart" role="img" aria-label="prediction distribution"></svg><p class="note" id="prediction-note"></p></section>
</main>"""


def render_page(title: str = "Lamina model") -> str:
    """Returns the monitoring page as one self-contained HTML document.

    The page loads nothing from the network except ``v1/monitoring`` (relative
    to its own address, polled every `POLL_INTERVAL_MS` milliseconds), so it
    works behind a proxy prefix and on machines without internet access.

    Args:
        title: Shown in the tab and the header until the first poll replaces
            it with the model's name. Defaults to `"Lamina model"`.

    Returns:
        The HTML text (UTF-8).

    Example:
        >>> from lamina.serving.page import render_page
        >>> page = render_page()
        >>> page.startswith("<!DOCTYPE html>") and 'id="latency-chart"' in page
        True
    """
    safe = html.escape(str(title))
    body = _BODY.replace("__TITLE__", safe)
    script = _JS.replace("__POLL_MS__", str(POLL_INTERVAL_MS))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>{safe} \u2013 Lamina monitoring</title><style>{_CSS}</style></head>\n"
        f"<body data-updates=\"0\">\n{body}\n<script>{script}</script>\n</body></html>\n"
    )
