"""The monitoring page (`lamina.serving.page`): self-contained, and every chart draws in
headless Chromium from a `/v1/monitoring` document served over loopback (a stub server
with a realistic document, one with empty / null sections, and the real app after some
predict traffic)."""

from __future__ import annotations

import json
import re
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lamina.serving.page import render_page
from tests.browser import dump_dom
from tests.serving.live import live_server


def browser_dom(url: str, tmp_path: Path, budget_ms: int = 5000) -> str:
    """The DOM of the page at `url` after headless Chromium ran its scripts for
    `budget_ms` of virtual time."""
    return dump_dom(url, tmp_path / f"chromium-profile-{abs(hash(url))}",
                    "that the monitoring page draws", budget_ms)


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element] = []
        self.text = ""

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def descendants(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        found = []
        for c in self.children:
            if (tag is None or c.tag == tag) and (cls is None or cls in c.classes()):
                found.append(c)
            found.extend(c.descendants(tag, cls))
        return found

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


class _Parser(HTMLParser):
    VOID = {"meta", "link", "br", "img", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.root = Element("#root", {}, None)
        self.current = self.root
        self.by_id: dict[str, Element] = {}

    def handle_starttag(self, tag, attrs):
        node = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if "id" in node.attrs:
            self.by_id[node.attrs["id"]] = node
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.current = self.current.parent

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text += data


def parse_dom(dom: str) -> dict[str, Element]:
    """Elements of a dumped DOM by id."""
    parser = _Parser()
    parser.feed(dom)
    return parser.by_id


# ----------------------------------------------------------------------------- stub server
def _monitoring_document() -> dict:
    """A realistic /v1/monitoring document: 12 buckets, one gap without traffic, 5 features
    of which 2 drift, a 10-class prediction distribution and live feedback."""
    t0 = 1_764_000_000.0
    n = 12
    p50 = [1.2 + 0.1 * i for i in range(n)]
    p95 = [3.0 + 0.2 * i for i in range(n)]
    p50[4] = p95[4] = None  # a bucket without traffic
    requests = [40 + i for i in range(n)]
    requests[4] = 0
    features = [
        {"name": f"x{i}", "kind": "numeric", "psi": psi, "test": "ks", "statistic": 0.05 + psi,
         "p_value": p, "p_adjusted": min(1.0, 5 * p), "drift": drift}
        for i, (psi, p, drift) in enumerate(
            [(0.02, 0.6, False), (0.41, 1e-9, True), (0.07, 0.2, False), (0.18, 1e-4, True),
             (0.0, 0.99, False)]
        )
    ]
    return {
        "model": {"name": "digits_mlp", "task": "multiclass", "backend": "torch"},
        "uptime_s": 61.5,
        "series": {
            "t": [t0 + 5 * i for i in range(n)],
            "requests": requests,
            "errors": [0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0],
            "rows": [3 * r for r in requests],
            "p50_ms": p50,
            "p95_ms": p95,
        },
        "drift": {
            "window_rows": 480, "window": 500, "alarm": True, "alpha": 0.05,
            "features": features,
            "predictions": {"name": "predictions", "kind": "categorical", "psi": 0.03,
                            "test": "chi2", "statistic": 9.1, "p_value": 0.4,
                            "p_adjusted": 0.4, "drift": False},
            "prediction_distribution": {
                "kind": "classes", "labels": [str(d) for d in range(10)],
                "reference": [0.1] * 10,
                "live": [0.08, 0.12, 0.1, 0.1, 0.09, 0.11, 0.1, 0.1, 0.1, 0.1],
            },
        },
        "feedback": {"labelled": 120, "metric": "accuracy", "live": 0.93,
                     "live_ci": [0.87, 0.97], "reference": 0.96,
                     "reference_name": "val_accuracy"},
    }


class _StubServer:
    """`GET /` -> the page, `GET /v1/monitoring` -> `document`; records every path asked."""

    def __init__(self, document: dict | None):
        page = render_page().encode()
        body = json.dumps(document).encode()
        paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                paths.append(self.path)
                if self.path == "/":
                    self._send(200, "text/html; charset=utf-8", page)
                elif self.path == "/v1/monitoring" and document is None:
                    self._send(503, "application/json", b'{"detail": "not ready"}')
                elif self.path == "/v1/monitoring":
                    self._send(200, "application/json", body)
                else:
                    self._send(404, "application/json", b'{"detail": "not found"}')

            def _send(self, status, ctype, data):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.paths = paths
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _chart(by_id: dict, chart_id: str) -> Element:
    svg = by_id[chart_id]
    assert svg.attrs.get("data-rendered") == "true", f"{chart_id} was not drawn: {svg.attrs}"
    return svg


# ----------------------------------------------------------------------------- tests
def test_page_is_self_contained():
    page = render_page(title="a <b> model")
    assert page.startswith("<!DOCTYPE html>")
    assert "a &lt;b&gt; model" in page and "<b>" not in page
    # No external resource: no script / style / image from anywhere, no web font, no URL
    # other than the SVG namespace and the relative monitoring endpoint.
    assert not re.search(r"<script[^>]+src=|<img|@import|url\(|<iframe", page)
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert re.findall(r'<link[^>]*href="([^"]*)"', page) == ["data:,"]
    assert 'fetch("v1/monitoring"' in page
    for chart in ("latency-chart", "throughput-chart", "drift-chart", "prediction-chart",
                  "feedback-chart", "drift-alarm"):
        assert page.count(f'id="{chart}"') == 1


def test_page_draws_every_chart_from_a_monitoring_document(tmp_path):
    doc = _monitoring_document()
    with _StubServer(doc) as server:
        dom = browser_dom(server.url, tmp_path)
    # The page asked only for itself and the monitoring document, and polled it (2-s timer,
    # 5 s of virtual time).
    assert set(server.paths) == {"/", "/v1/monitoring"}, server.paths
    assert server.paths.count("/v1/monitoring") >= 2
    by_id = parse_dom(dom)
    assert int(by_id["status"].parent.parent.attrs.get("data-updates", "0")) >= 2
    assert by_id["status"].attrs["data-state"] == "ok"
    assert by_id["model-name"].all_text() == "digits_mlp"
    assert "multiclass" in by_id["model-meta"].all_text()
    assert "torch backend" in by_id["model-meta"].all_text()

    series = doc["series"]
    n = len(series["t"])
    latency = _chart(by_id, "latency-chart")
    assert latency.attrs["data-state"] == "ok"
    # p50 and p95 are each broken in two lines by the bucket without traffic.
    for name in ("p50", "p95"):
        drawn = [e for e in latency.descendants("polyline") if e.attrs["data-series"] == name]
        assert [len(e.attrs["points"].split()) for e in drawn] == [4, n - 5]
    assert int(latency.attrs["data-marks"]) == 2 * (n - 1)
    # Higher latency is drawn higher (smaller y): p95 lies above p50 at every point.
    p50 = [float(p.split(",")[1]) for e in latency.descendants("polyline")
           if e.attrs["data-series"] == "p50" for p in e.attrs["points"].split()]
    p95 = [float(p.split(",")[1]) for e in latency.descendants("polyline")
           if e.attrs["data-series"] == "p95" for p in e.attrs["points"].split()]
    assert all(b < a for a, b in zip(p50, p95))

    throughput = _chart(by_id, "throughput-chart")
    lines = {e.attrs["data-series"]: e for e in throughput.descendants("polyline")}
    assert set(lines) == {"requests", "rows"}
    assert all(len(e.attrs["points"].split()) == n for e in lines.values())
    assert len(throughput.descendants("rect", "error-bar")) == 2  # two buckets had errors
    assert int(throughput.attrs["data-marks"]) == 2 * n + 2
    assert "3 errors" in by_id["throughput-note"].all_text()

    drift = _chart(by_id, "drift-chart")
    bars = drift.descendants("rect", "psi-bar")
    features = doc["drift"]["features"]
    assert len([b for b in bars if "feature" in b.classes()]) == len(features)
    assert len([b for b in bars if "predictions" in b.classes()]) == 1
    assert int(drift.attrs["data-marks"]) == len(features) + 1
    flagged = {b.attrs["data-feature"] for b in bars if "drift" in b.classes()}
    assert flagged == {f["name"] for f in features if f["drift"]}
    # Larger PSI, longer bar.
    width = {b.attrs["data-feature"]: float(b.attrs["width"]) for b in bars}
    assert width["x1"] > width["x3"] > width["x2"] > width["x0"]
    text = drift.all_text()
    assert "drift, p_adj 5.00e-9" in text and "drift, p_adj 5.00e-4" in text
    assert by_id["drift-alarm"].attrs["data-alarm"] == "true"
    assert "ALARM: 2 flagged" in by_id["drift-alarm"].all_text()

    prediction = _chart(by_id, "prediction-chart")
    assert len(prediction.descendants("rect", "ref-bar")) == 10
    assert len(prediction.descendants("rect", "live-bar")) == 10
    heights = {b.attrs["data-label"]: float(b.attrs["height"])
               for b in prediction.descendants("rect", "live-bar")}
    assert heights["1"] > heights["2"] > heights["0"]

    feedback = _chart(by_id, "feedback-chart")
    assert len(feedback.descendants("circle", "live-mark")) == 1
    assert len(feedback.descendants("line", "ci")) == 1
    assert len(feedback.descendants("line", "reference-mark")) == 1
    note = by_id["feedback-note"].all_text()
    assert "live accuracy 0.930 [0.870, 0.970] on 120 labelled" in note
    assert "val_accuracy" in note


def test_page_says_what_is_missing_without_traffic_or_reference(tmp_path):
    doc = {
        "model": {"name": "fresh", "task": None, "backend": "onnx"},
        "uptime_s": 0.4,
        "series": {"t": [], "requests": [], "errors": [], "rows": [], "p50_ms": [], "p95_ms": []},
        "drift": None,
        "feedback": None,
    }
    with _StubServer(doc) as server:
        by_id = parse_dom(browser_dom(server.url, tmp_path))
    assert by_id["status"].attrs["data-state"] == "ok"
    assert "onnx backend" in by_id["model-meta"].all_text()
    for chart in ("latency", "throughput", "drift", "prediction", "feedback"):
        svg = _chart(by_id, f"{chart}-chart")
        assert svg.attrs["data-state"] == "empty" and svg.attrs["data-marks"] == "0"
    assert by_id["latency-note"].all_text() == "no traffic yet"
    assert by_id["throughput-note"].all_text() == "no traffic yet"
    assert by_id["drift-note"].all_text().startswith("no reference profile")
    assert by_id["drift-alarm"].attrs["data-alarm"] == "none"
    assert by_id["feedback-note"].all_text().startswith("no feedback yet")


def test_page_reports_an_unreachable_endpoint(tmp_path):
    """A failing /v1/monitoring leaves the charts undrawn and says so in the header."""
    with _StubServer(None) as server:
        by_id = parse_dom(browser_dom(server.url, tmp_path, budget_ms=2500))
    assert by_id["status"].attrs["data-state"] == "error"
    assert "cannot reach /v1/monitoring (HTTP 503)" in by_id["status"].all_text()
    assert "data-rendered" not in by_id["latency-chart"].attrs


# ----------------------------------------------------------------------------- the real app
def test_page_draws_the_real_app_after_traffic(tmp_path):
    """`lamina serve`'s own page and monitoring document, after predict traffic and feedback."""


    import lamina
    from lamina import layers
    from lamina.data import load_digits
    from lamina.serving.app import create_app

    x, y = load_digits()
    x = (x / 16.0).astype("float32")
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(64,)), layers.Dense(16, activation="relu"),
                               layers.Dense(10, activation="softmax")], name="digits_page")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1200], y[:1200], validation_data=(x[1200:], y[1200:]), epochs=2, batch_size=64, verbose=0)
    model.save(tmp_path / "m.lamina")
    with live_server(create_app(str(tmp_path / "m.lamina"))) as client:
        page = client.get("/")
        assert page.headers["content-type"].startswith("text/html")
        assert 'id="latency-chart"' in page.text and "digits_page" in page.text
        for i in range(0, 300, 10):
            r = client.post("/v1/predict", json={"inputs": x[i : i + 10].tolist(), "id": f"r{i}"})
            assert r.status_code == 200, r.text
        assert client.post("/v1/predict", json={"inputs": [[1.0]]}).status_code == 422
        r = client.post("/v1/feedback", json={"id": "r0", "labels": y[:10].tolist()})
        assert r.status_code == 200, r.text
        doc = client.get("/v1/monitoring").json()
        by_id = parse_dom(browser_dom(f"{client.base_url}/", tmp_path))
    assert by_id["status"].attrs["data-state"] == "ok"
    assert by_id["model-name"].all_text() == "digits_page"
    for chart in ("latency", "throughput", "drift", "prediction", "feedback"):
        svg = _chart(by_id, f"{chart}-chart")
        assert svg.attrs["data-state"] == "ok" and int(svg.attrs["data-marks"]) > 0, (chart, svg.attrs)
    assert len(by_id["latency-chart"].descendants("polyline")) + len(
        by_id["latency-chart"].descendants("circle")) >= 2
    assert len(by_id["throughput-chart"].descendants("rect", "error-bar")) >= 1  # the 422
    bars = by_id["drift-chart"].descendants("rect", "psi-bar")
    assert len([b for b in bars if "feature" in b.classes()]) == len(doc["drift"]["features"]) == 64
    assert {b.attrs["data-feature"] for b in bars if "drift" in b.classes()} == {
        f["name"] for f in doc["drift"]["features"] if f["drift"]}
    labels = doc["drift"]["prediction_distribution"]["labels"]
    assert len(by_id["prediction-chart"].descendants("rect", "ref-bar")) == len(labels)
    assert len(by_id["prediction-chart"].descendants("rect", "live-bar")) == len(labels)
    assert len(by_id["feedback-chart"].descendants("circle", "live-mark")) == 1
    assert "on 10 labelled rows" in by_id["feedback-note"].all_text()
    assert "300 requests" not in by_id["throughput-note"].all_text()  # 30 predict + 1 refused
    assert "31 requests, 300 rows, 1 error over" in by_id["throughput-note"].all_text()
