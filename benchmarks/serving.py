"""HTTP serving on loopback: a plain FastAPI endpoint against `lamina serve`.

Three servers, each in its own process (uvicorn, one worker, access log off,
the same settings for all), serving the same saved model, the MLP of
`lamina tour` / `benchmarks/fit_overhead.py` (64-256-256-10, softmax) briefly
trained on the bundled digits:

* ``plain``: what one writes by hand, a FastAPI ``def`` endpoint that calls
  ``model.predict(x, verbose=0)`` once per request (FastAPI runs it in its
  thread pool);
* ``lamina``: `lamina.serving.app.create_app(path)`, the torch backend with
  dynamic micro-batching (``--max-batch 64 --max-wait-ms 5``, the defaults);
* ``onnx``: the same app with ``backend="onnx"`` (ONNX Runtime, CPU).

The load generator runs in this process: ``c`` keep-alive connections
(asyncio, a minimal HTTP/1.1 client so that the client costs little of the
CPU it shares with the server), each sending single-row ``POST /v1/predict``
requests back to back for ``--seconds`` after a short warm-up. Throughput is
answered requests per second; latency is per request, from writing the
request to reading the whole answer. Every answer must be a 200 (checked),
and the first answer on each connection must hold one prediction.

Beside the wall-clock numbers, the script reads each server process's CPU
time (user + system, all threads, from /proc) over every measured window and
reports the server's CPU milliseconds per answered request (and the
client's): on a shared machine the load moves throughput a lot and this much
less. ``--profile DIR`` runs the servers under cProfile and prints where their
event loop spends its time; ``--hidden N`` widens the MLP (a model whose
forward dominates the HTTP cost); ``--configs ...,onnx_nospin`` adds the ONNX
app with ONNX Runtime on ``--server-threads`` threads without spinning.

The cells (configuration x concurrency 1, 8, 32) run interleaved, in a
rotated order each round, for ``--rounds`` rounds; the script prints the
median over rounds and the spread (min-max) of each number, and the targets of
issue #12: at concurrency 32 ``lamina`` >= 2.5x the throughput of ``plain``
with p95 <= 1.2x plain's; at concurrency 1, ``onnx`` p50 <= ``lamina`` p50.

    .venv/bin/python benchmarks/serving.py [--rounds 3] [--seconds 3] [--server-threads 1] [--hidden 256]

On a 2-core machine the client and the server compete for the CPU: the
numbers are lower bounds for a server with its own cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("plain", "lamina", "onnx")
# Not run by default: the onnx app with ONNX Runtime on `--server-threads` intra-op threads and
# without spinning threads (a proposed change to lamina/serving/backends.py, checked here by
# patching `onnxruntime.SessionOptions` in the server process).
EXTRA_CONFIGS = ("onnx_nospin",)
CONCURRENCY = (1, 8, 32)


# ----------------------------------------------------------------------------- the model
def build_model(path: Path, hidden: int = 256) -> np.ndarray:
    """Trains the tour's MLP (64-hidden-hidden-10) for 3 epochs on digits, saves it to `path`;
    returns the inputs."""
    import lamina
    from lamina import layers
    from lamina.data import load_digits

    x, y = load_digits()
    x = (x / 16.0).astype("float32")
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(64,)), layers.Dense(hidden, activation="relu"),
                               layers.Dense(hidden, activation="relu"), layers.Dense(10, activation="softmax")],
                              name="digits_mlp")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], validation_data=(x[1400:], y[1400:]), epochs=3, batch_size=64, verbose=0)
    model.save(path)
    return x


# ----------------------------------------------------------------------------- the servers
def plain_app(path: str):  # noqa: ANN201 (FastAPI is imported lazily)
    """The hand-written baseline: one `model.predict` per request."""
    from fastapi import Body, FastAPI

    import lamina

    model = lamina.load_model(path)
    model.predict(np.zeros((1, 64), dtype="float32"), verbose=0)
    app = FastAPI()

    @app.get("/readyz")
    def readyz() -> dict:
        return {"ready": True}

    @app.post("/v1/predict")
    def predict(body: dict = Body(...)) -> dict:  # noqa: B008 (FastAPI's idiom)
        x = np.asarray(body["inputs"], dtype="float32")
        return {"predictions": model.predict(x, verbose=0).tolist()}

    return app


def serve(kind: str, path: str, port: int, threads: int, profile: str | None = None) -> None:
    """Runs one server in this process (the child side of `start_server`); with `profile`,
    under cProfile (the event-loop thread), the statistics written there at exit."""
    import torch
    import uvicorn

    torch.set_num_threads(threads)
    if kind == "plain":
        app = plain_app(path)
    elif kind == "onnx_nospin":
        import onnxruntime as ort

        from lamina.serving.app import create_app

        class Options(ort.SessionOptions):
            def __init__(self) -> None:
                super().__init__()
                self.intra_op_num_threads = threads
                self.add_session_config_entry("session.intra_op.allow_spinning", "0")

        ort.SessionOptions = Options
        app = create_app(path, backend="onnx")
    else:
        from lamina.serving.app import create_app

        app = create_app(path, backend="torch" if kind == "lamina" else "onnx")
    if profile is None:
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
    except KeyboardInterrupt:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind: str, path: Path, threads: int, profile: str | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    extra = [] if profile is None else ["--profile", profile]
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--model", str(path), "--port", str(port),
                             "--server-threads", str(threads), *extra], cwd=ROOT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the {kind} server exited with status {proc.returncode}")
        try:
            status, _ = asyncio.run(_get(port, "/readyz"))
            if status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"the {kind} server was not ready after 180 s")


# ----------------------------------------------------------------------------- the client
async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return status, await reader.readexactly(length)


async def _get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    try:
        return await _read_answer(reader)
    finally:
        writer.close()


def _request(row: list[float]) -> bytes:
    body = json.dumps({"inputs": [row]}).encode()
    return (b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


async def _connection(port: int, requests: list[bytes], start: float, stop: float, out: list[float],
                      done: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i, first = 0, True
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop:
                return
            writer.write(requests[i % len(requests)])
            status, body = await _read_answer(reader)
            t1 = time.perf_counter()
            done[0] += 1
            if status != 200:
                raise RuntimeError(f"answer {status}: {body[:300]!r}")
            if first:
                answer = json.loads(body)
                assert len(answer["predictions"]) == 1, answer
                first = False
            if t0 >= start:
                out.append(t1 - t0)
            i += 1
    finally:
        writer.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(port: int, pid: int, concurrency: int, requests: list[bytes], warmup: float,
                seconds: float) -> tuple[list[float], float, float]:
    """Latencies of the requests sent in the measured window, and the server's and this
    client's CPU milliseconds per answered request over that window."""
    now = time.perf_counter()
    start, stop = now + warmup, now + warmup + seconds
    per_connection: list[list[float]] = [[] for _ in range(concurrency)]
    done = [0]

    async def sample() -> tuple[float, float]:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        server0, client0, n0 = cpu_seconds(pid), time.process_time(), done[0]
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        n = max(done[0] - n0, 1)
        return 1e3 * (cpu_seconds(pid) - server0) / n, 1e3 * (time.process_time() - client0) / n

    sampler = asyncio.ensure_future(sample())
    await asyncio.gather(*(_connection(port, requests[k::concurrency] or requests, start, stop, per_connection[k],
                                       done) for k in range(concurrency)))
    server_ms, client_ms = await sampler
    return [t for lat in per_connection for t in lat], server_ms, client_ms


def measure(port: int, pid: int, concurrency: int, requests: list[bytes], warmup: float, seconds: float) -> dict:
    latencies, server_ms, client_ms = asyncio.run(_load(port, pid, concurrency, requests, warmup, seconds))
    p50, p95, p99 = np.percentile(np.array(latencies) * 1e3, [50, 95, 99])
    return {"rps": len(latencies) / seconds, "p50": p50, "p95": p95, "p99": p99, "n": len(latencies),
            "server_cpu_ms": server_ms, "client_cpu_ms": client_ms}


# ----------------------------------------------------------------------------- the report
def summarise(results: dict) -> dict:
    out = {}
    for key, runs in results.items():
        out[key] = {m: (statistics.median(r[m] for r in runs), min(r[m] for r in runs), max(r[m] for r in runs))
                    for m in ("rps", "p50", "p95", "p99", "server_cpu_ms", "client_cpu_ms")}
    return out


def report(summary: dict, configs: list[str]) -> str:
    lines = ["| server | concurrency | requests/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | client CPU ms/req |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in configs:
        for c in CONCURRENCY:
            s = summary.get((kind, c))
            if s is None:
                continue
            cells = [f"{s[m][0]:.0f} ({s[m][1]:.0f}-{s[m][2]:.0f})" if m == "rps" else
                     f"{s[m][0]:.2f} ({s[m][1]:.2f}-{s[m][2]:.2f})" for m in ("rps", "p50", "p95", "p99")]
            cells += [f"{s[m][0]:.3f}" for m in ("server_cpu_ms", "client_cpu_ms")]
            lines.append(f"| {kind} | {c} | " + " | ".join(cells) + " |")
    lines.append("")
    if ("plain", 32) in summary and ("lamina", 32) in summary:
        a, b = summary[("plain", 32)], summary[("lamina", 32)]
        lines.append(f"- concurrency 32: lamina / plain throughput = {b['rps'][0] / a['rps'][0]:.2f}x "
                     f"(target >= 2.5x); p95 ratio = {b['p95'][0] / a['p95'][0]:.2f}x (target <= 1.2x); "
                     f"server CPU per request plain / lamina = "
                     f"{a['server_cpu_ms'][0] / b['server_cpu_ms'][0]:.2f}x")
    if ("lamina", 1) in summary and ("onnx", 1) in summary:
        b, c = summary[("lamina", 1)], summary[("onnx", 1)]
        lines.append(f"- concurrency 1: onnx p50 {c['p50'][0]:.2f} ms vs lamina p50 {b['p50'][0]:.2f} ms "
                     f"(target: onnx <= lamina), ratio {c['p50'][0] / b['p50'][0]:.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds before each cell")
    parser.add_argument("--server-threads", type=int, default=1, help="torch threads in each server")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="comma-separated subset of plain,lamina,onnx,onnx_nospin")
    parser.add_argument("--json", default=None, help="also write the raw results to this JSON file")
    parser.add_argument("--profile", default=None, help="folder: run the servers under cProfile and print where "
                        "their event loop spends its time")
    parser.add_argument("--hidden", type=int, default=256, help="units of the MLP's two hidden layers (default 256)")
    parser.add_argument("--serve", choices=CONFIGS + EXTRA_CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.model, args.port, args.server_threads, args.profile)
        return
    configs = [c for c in args.configs.split(",") if c]
    workdir = Path(tempfile.mkdtemp(prefix="lamina-bench-serving-"))
    path = workdir / "digits_mlp.lamina"
    x = build_model(path, args.hidden)
    requests = [_request([round(float(v), 4) for v in row]) for row in x[:512]]
    servers = {}
    try:
        profiles = {}
        for kind in configs:
            if args.profile:
                os.makedirs(args.profile, exist_ok=True)
                profiles[kind] = os.path.join(args.profile, f"{kind}.prof")
            servers[kind] = start_server(kind, path, args.server_threads, profiles.get(kind))
        results: dict = {}
        cells = [(k, c) for c in CONCURRENCY for k in configs]
        for r in range(args.rounds):
            shift = r % len(configs)
            order = [(k, c) for c in CONCURRENCY for k in configs[shift:] + configs[:shift]]
            assert sorted(order) == sorted(cells)
            for kind, c in order:
                proc, port = servers[kind]
                res = measure(port, proc.pid, c, requests, args.warmup, args.seconds)
                results.setdefault((kind, c), []).append(res)
                print(f"round {r + 1} {kind:6s} c={c:2d}: {res['rps']:7.0f} req/s  p50 {res['p50']:6.2f}  "
                      f"p95 {res['p95']:6.2f}  p99 {res['p99']:6.2f} ms  server CPU {res['server_cpu_ms']:.3f} ms/req  "
                      f"client CPU {res['client_cpu_ms']:.3f} ms/req", flush=True)
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGINT)  # uvicorn shuts down, then re-raises it: KeyboardInterrupt
        for proc, _ in servers.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    for kind, prof in (profiles.items() if args.profile else []):
        import pstats

        print(f"\n--- {kind}: the event loop's time, by own time (cProfile) ---")
        pstats.Stats(prof).sort_stats("tottime").print_stats(18)
    summary = summarise(results)
    print(f"\nmedian (min-max) over {args.rounds} rounds of {args.seconds:g} s per cell, "
          f"{os.cpu_count()} CPUs shared by client and servers, {args.server_threads} torch thread(s) per server:\n")
    print(report(summary, configs))
    if args.json:
        Path(args.json).write_text(json.dumps({f"{k}@{c}": v for (k, c), v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
