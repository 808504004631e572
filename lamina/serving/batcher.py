"""Dynamic micro-batching: concurrent requests merged into one forward pass.

Requests are queued on the event loop. A collector task takes the oldest one,
then adds the requests that are queued or being received until the merged
batch holds ``max_batch`` rows or ``max_wait_ms`` have passed since the oldest
was queued, runs one forward in a single worker thread (so the event loop keeps
answering `/healthz` during a long batch) and hands each request its own rows
of the outputs. A request of ``max_batch`` rows or more runs alone; requests
whose rows differ in a free axis (sequence length) go in separate batches.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(eq=False)  # compared by identity (`carry.remove`), never by their arrays
class _Item:
    arrays: dict[str, np.ndarray]
    n_rows: int
    future: asyncio.Future
    queued_at: float
    key: tuple = field(default=())


class MicroBatcher:
    """Merges concurrent predictions into batches for one model-runner thread.

    Args:
        run_batch: Called in the worker thread with ``{input_name: array}``;
            returns the outputs as a list of arrays whose first axis is the batch.
        max_batch: Most rows per merged batch. Defaults to `64`.
        max_wait_ms: Longest wait, from the oldest queued request, for more
            requests to merge; the collector waits only while other requests
            are still being received. Defaults to `5.0`.
        on_batch: Optional ``on_batch(inputs, outputs, items)``, called on the
            event loop after the requests got their answers (for metrics and monitoring).

    Example:
        >>> import asyncio, numpy as np
        >>> async def main():
        ...     batcher = MicroBatcher(lambda x: [x["x"] * 2], max_batch=8)
        ...     await batcher.start()
        ...     outs = await asyncio.gather(*(batcher.submit({"x": np.full((1, 2), i)}, 1) for i in range(3)))
        ...     await batcher.stop()
        ...     return [o[0].tolist() for o in outs]
        >>> asyncio.run(main())
        [[[0, 0]], [[2, 2]], [[4, 4]]]
    """

    def __init__(
        self,
        run_batch: Callable[[dict[str, np.ndarray]], list[np.ndarray]],
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        on_batch: Callable[[dict[str, np.ndarray], list[np.ndarray], list[Any]], None] | None = None,
    ) -> None:
        if not isinstance(max_batch, int) or isinstance(max_batch, bool) or max_batch < 1:
            raise ValueError(f"`max_batch` must be a positive integer. Received: max_batch={max_batch!r}.")
        if not isinstance(max_wait_ms, (int, float)) or max_wait_ms < 0:
            raise ValueError(f"`max_wait_ms` must be a number >= 0. Received: max_wait_ms={max_wait_ms!r}.")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait_ms = float(max_wait_ms)
        self.on_batch = on_batch
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lamina-model")
        self.receiving = 0  # requests being received or validated: worth waiting for
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._waiter: asyncio.Future | None = None

    async def start(self) -> None:
        """Starts the collector task on the running event loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def stop(self) -> None:
        """Finishes the queued requests, then stops the collector and the worker thread."""
        if self._queue is not None and self._task is not None:
            self._queue.put_nowait(None)
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)
            await self._task
        self.executor.shutdown(wait=True)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs ``fn(*args)`` in the model's worker thread (e.g. the warm-up)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def submit(self, arrays: dict[str, np.ndarray], n_rows: int) -> list[np.ndarray]:
        """Queues one request's arrays; returns its outputs (its own rows only)."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.submit called before start().")
        loop = asyncio.get_running_loop()
        key = tuple((name, a.shape[1:]) for name, a in arrays.items())
        item = _Item(arrays, n_rows, loop.create_future(), loop.time(), key)
        self._queue.put_nowait(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return await item.future

    async def _arrival(self, timeout: float) -> None:
        """Waits until a request is queued or ``timeout`` seconds pass."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, lambda: waiter.done() or waiter.set_result(None))
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def _collect(self) -> None:
        assert self._queue is not None
        queue, loop = self._queue, asyncio.get_running_loop()
        carry: collections.deque[_Item] = collections.deque()
        stopping = False
        while True:
            if carry:
                first = carry.popleft()
            elif stopping:
                return
            else:
                got = await queue.get()
                if got is None:
                    return
                first = got
            batch, rows = [first], first.n_rows
            deadline = first.queued_at + self.max_wait_ms / 1000.0
            for item in list(carry):  # same-shaped requests left over from the last round
                if rows >= self.max_batch:
                    break
                if item.key == first.key and rows + item.n_rows <= self.max_batch:
                    carry.remove(item)
                    batch.append(item)
                    rows += item.n_rows
            while rows < self.max_batch and not stopping:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    timeout = deadline - loop.time()
                    if timeout <= 0 or self.receiving <= 0:
                        break
                    await self._arrival(timeout)  # not wait_for(queue.get()): before 3.12 it can lose the item
                    continue
                if item is None:
                    stopping = True
                    break
                if item.key == first.key and rows + item.n_rows <= self.max_batch:
                    batch.append(item)
                    rows += item.n_rows
                else:
                    carry.append(item)
                    if item.key == first.key:
                        break  # full
            try:
                await self._run(batch)
            except Exception as e:  # noqa: BLE001 - the collector must outlive any one batch
                for it in batch:
                    if not it.future.done():
                        it.future.set_exception(e)

    async def _run(self, batch: list[_Item]) -> None:
        loop = asyncio.get_running_loop()
        try:
            if len(batch) == 1:
                merged = batch[0].arrays
            else:
                merged = {n: np.concatenate([it.arrays[n] for it in batch]) for n in batch[0].arrays}
            outputs = await loop.run_in_executor(self.executor, self.run_batch, merged)
            total = sum(it.n_rows for it in batch)
            bad = [o.shape for o in outputs if o.ndim == 0 or o.shape[0] != total]
            if bad:
                raise RuntimeError(f"The model returned outputs of shapes {bad} for a batch of {total} rows.")
        except Exception as e:  # the requests get the error; the collector carries on
            if len(batch) > 1:  # one bad request must not fail the others: run each alone
                for it in batch:
                    await self._run([it])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(e)
            return
        start = 0
        for it in batch:
            if not it.future.done():  # a cancelled request (client gone) is skipped
                it.future.set_result([o[start:start + it.n_rows] for o in outputs])
            start += it.n_rows
        if self.on_batch is not None:
            try:
                self.on_batch(merged, outputs, batch)
            except Exception:  # noqa: BLE001 - monitoring must never break serving
                pass
