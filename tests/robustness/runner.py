"""Runs hostile cases in worker subprocesses, each under a memory cap and a timeout.

Importing torch takes seconds, so a case is not one process: a worker
(``python -m tests.robustness.runner --worker BASES``) imports Lamina once,
then reads case ids from stdin, one JSON object a line, and answers each with
one JSON line on its own result channel (the original stdout; anything Lamina
prints goes to stderr). For each case it writes the hostile file into a fresh
folder, records the folder's listing and the canary's absence, calls the
loader and reports the outcome, the exception's type and message, the time
taken, whether the folder changed and whether the canary appeared
(`hostile.run_case`).

The parent (`Runner`) keeps ``workers`` of them busy. A case whose load does
not answer within ``timeout`` seconds (writing the file has its own, longer
limit) is recorded as ``"timeout"`` and its worker is
killed and replaced; a worker that dies (the memory cap's SIGKILL, a crash in
native code) is recorded as ``"crashed"`` with its exit status, and replaced.

The memory cap is ``RLIMIT_AS`` (all virtual memory), set by the worker after
importing Lamina and loading one model: the cap is what the worker maps then
plus ``MEMORY_CAP_BYTES``. With the CPU build of torch the worker maps only
~0.8 GiB at that point (measured with torch 2.13 CPU), so the address-space limit leaves the intended head room;
unlike ``RLIMIT_DATA`` it also covers file mappings (h5py, mmap-based readers)
and thread stacks, so an allocation of any kind beyond the cap fails with
``MemoryError`` (or a native abort) instead of swapping the CI machine.
``MALLOC_ARENA_MAX=2`` keeps glibc from reserving 64 MB of address space per
thread, which would otherwise eat the head room.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from typing import Any

# LAMINA_HOSTILE_CAP_GIB raises it for diagnosis (what fails once memory is not the problem).
MEMORY_CAP_BYTES = int(float(os.environ.get("LAMINA_HOSTILE_CAP_GIB", "1.5")) * 2**30)
DEFAULT_TIMEOUT = 20.0  # seconds a load may take
WRITE_TIMEOUT = 120.0  # seconds writing a case may take (a 4 GiB bomb, the first time)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULT_MARK = "@@lamina-robustness@@ "


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def bases_dir() -> str:
    """A folder for the original files and the cached bombs, kept between runs and
    keyed by the code that shapes them (`hostile.BASES_VERSION`, Lamina's saving
    code), so a change to either starts afresh. ``LAMINA_HOSTILE_BASES`` overrides it."""
    import hashlib

    if os.environ.get("LAMINA_HOSTILE_BASES"):
        return os.environ["LAMINA_HOSTILE_BASES"]
    from tests.robustness import hostile

    digest = hashlib.sha256(str(hostile.BASES_VERSION).encode())
    sources = []
    for folder in ("saving", os.path.join("training", "callbacks")):
        base = os.path.join(ROOT, "lamina", folder)
        sources += sorted(os.path.join(base, n) for n in os.listdir(base) if n.endswith(".py"))
    for path in sources:
        with open(path, "rb") as f:
            digest.update(f.read())
    return os.path.join(tempfile.gettempdir(), f"lamina-hostile-{os.getuid()}", digest.hexdigest()[:16])


# ================================================================== worker
def worker_main(bases: str) -> None:
    result_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # prints of the loaders go to stderr
    import torch

    torch.set_num_threads(1)
    # Warm up: import everything a load touches, so the cap is measured after it.
    import h5py  # noqa: F401

    import lamina
    from tests.robustness import hostile

    for name in ("dense.lamina", "adam.lamina"):
        lamina.load_model(os.path.join(bases, name))
    lamina.load_model(os.path.join(bases, "dense.keras"))
    baseline = _vm_size()
    cap = baseline + MEMORY_CAP_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    result_out.write(RESULT_MARK + json.dumps({"ready": True, "baseline": baseline, "cap": cap}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = hostile.run_case(
                request["id"],
                request["folder"],
                bases,
                written=lambda rid=request["id"]: result_out.write(RESULT_MARK + json.dumps({"written": rid}) + "\n"),
            )
        except MemoryError as e:
            result = {"id": request["id"], "outcome": "memory_cap", "detail": f"MemoryError outside the loader: {e}"}
        except BaseException as e:  # noqa: BLE001 - a broken case writer is reported, not fatal
            result = {"id": request["id"], "outcome": "case_error", "detail": f"{type(e).__name__}: {e}"}
        if result.get("outcome") == "raised" and result.get("type") == "MemoryError":
            result["outcome"] = "memory_cap"
            result["detail"] = f"raw MemoryError: {result.get('message', '')}"
        result_out.write(RESULT_MARK + json.dumps(result, default=str) + "\n")


# ================================================================== parent
class _Worker:
    def __init__(self, bases: str, log_dir: str, index: int) -> None:
        env = dict(os.environ)
        env["MALLOC_ARENA_MAX"] = "2"
        env["OMP_NUM_THREADS"] = "1"
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        self.log_path = os.path.join(log_dir, f"worker-{index}-{time.monotonic_ns()}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.robustness.runner", "--worker", bases],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""
        try:
            self.info = self.read(120.0)
        except EOFError:
            self.proc.wait()
            raise RuntimeError(
                f"the robustness worker exited with status {self.proc.returncode} while starting; "
                f"its log ends with:\n{self.tail(3000)}"
            ) from None
        if self.info is None or not self.info.get("ready"):
            raise RuntimeError(f"the robustness worker did not start: {self.info}; log: {self.tail()}")

    def tail(self, n: int = 1500) -> str:
        self.log.flush()
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def read(self, timeout: float) -> dict[str, Any] | None:
        """The next result line, or None on timeout; raises EOFError when the worker died."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                if text.startswith(RESULT_MARK):
                    return json.loads(text[len(RESULT_MARK):])
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not self.sel.select(left):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                raise EOFError
            self.buffer += chunk

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.close()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.sel.close()
        self.proc.stdout.close()
        self.log.close()


class Runner:
    """Runs cases by id in ``workers`` worker processes.

    Args:
        bases: The folder of the original files (`hostile.ensure_bases`).
        workers: Worker processes run side by side.
        timeout: Seconds a case may take (its writing included).
        work_dir: Where the case folders go (a temporary folder by default).
    """

    def __init__(self, bases: str, workers: int = 2, timeout: float = DEFAULT_TIMEOUT, work_dir: str | None = None) -> None:
        self.bases = bases
        self.workers = workers
        self.timeout = timeout
        self.work_dir = work_dir or tempfile.mkdtemp(prefix="lamina-hostile-")
        os.makedirs(self.work_dir, exist_ok=True)
        self.restarts = 0
        self.worker_info: dict[str, Any] | None = None  # baseline and cap of the first worker

    def run(self, case_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        from tests.robustness import hostile

        case_ids = list(case_ids)
        hostile.prebuild(self.bases, hostile.cached_keys(case_ids), threads=self.workers)
        todo: queue.Queue[str] = queue.Queue()
        for cid in case_ids:
            todo.put(cid)
        results: dict[str, dict[str, Any]] = {}
        lock = threading.Lock()
        errors: list[BaseException] = []

        def serve(index: int) -> None:
            worker: _Worker | None = None
            try:
                while True:
                    try:
                        cid = todo.get_nowait()
                    except queue.Empty:
                        break
                    if worker is None:
                        worker = _Worker(self.bases, self.work_dir, index)
                        with lock:
                            self.worker_info = self.worker_info or worker.info
                    result = self._one(worker, cid)
                    if result.get("outcome") in ("timeout", "crashed"):
                        worker = None
                        with lock:
                            self.restarts += 1
                    with lock:
                        results[cid] = result
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller
                errors.append(e)
            finally:
                if worker is not None:
                    worker.close()
                    worker.proc.wait(timeout=30)

        threads = [threading.Thread(target=serve, args=(i,), daemon=True) for i in range(self.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return results

    def _one(self, worker: _Worker, cid: str) -> dict[str, Any]:
        box = os.path.join(self.work_dir, "cases", cid.replace("/", "__"))
        shutil.rmtree(box, ignore_errors=True)
        folder = os.path.join(box, "case")  # ../evil lands in box, where it is seen
        os.makedirs(folder)
        t0 = time.monotonic()
        try:
            worker.proc.stdin.write((json.dumps({"id": cid, "folder": folder}) + "\n").encode())
            worker.proc.stdin.flush()
            result = worker.read(WRITE_TIMEOUT)
            if result is not None and result.get("written") == cid:
                t0 = time.monotonic()
                result = worker.read(self.timeout)
        except (EOFError, BrokenPipeError):
            rc = worker.proc.wait()
            tail = worker.tail()
            worker.close()
            killed = rc == -signal.SIGKILL
            return {
                "id": cid,
                "outcome": "crashed",
                "detail": f"the worker died ({'SIGKILL: memory cap or OOM' if killed else f'exit status {rc}'}); stderr: {tail[-600:]}",
                "elapsed": time.monotonic() - t0,
            }
        if result is None:
            worker.kill()
            return {"id": cid, "outcome": "timeout", "detail": f"no answer in {self.timeout:.0f} s", "elapsed": time.monotonic() - t0}
        shutil.rmtree(box, ignore_errors=True)
        return result


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "--worker":
        worker_main(argv[1])
        return
    raise SystemExit("usage: python -m tests.robustness.runner --worker BASES (use tests.robustness.summary)")


if __name__ == "__main__":
    main(sys.argv[1:])
