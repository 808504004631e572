"""The micro-batcher (`lamina.serving.batcher.MicroBatcher`) on its own: which requests
it merges, that each gets its own rows back, and that one failing request does not fail
the others merged with it."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from lamina.serving.batcher import MicroBatcher


def run_batches(items, max_batch, run=None):
    """Submits ``items`` (arrays) at once; returns the answers and the merged batch sizes."""
    sizes = []

    def default_run(arrays):
        sizes.append(len(arrays["x"]))
        return [arrays["x"] * 2.0, arrays["x"].sum(axis=tuple(range(1, arrays["x"].ndim)))]

    async def main():
        batcher = MicroBatcher(run or default_run, max_batch=max_batch, max_wait_ms=50)
        await batcher.start()
        answers = await asyncio.gather(*(batcher.submit({"x": a}, len(a)) for a in items),
                                       return_exceptions=True)
        await batcher.stop()
        return answers

    return asyncio.run(main()), sizes


def test_batcher_merges_queued_requests_up_to_max_batch_and_splits_answers():
    rng = np.random.default_rng(0)
    items = [rng.normal(size=(n, 3)) for n in (1, 2, 1, 3, 1, 1, 2)]
    answers, sizes = run_batches(items, max_batch=4)
    assert sizes == [4, 4, 3]  # in arrival order, never above max_batch
    for a, (doubled, sums) in zip(items, answers):
        np.testing.assert_array_equal(doubled, a * 2.0)
        np.testing.assert_array_equal(sums, a.sum(axis=1))


def test_batcher_runs_an_oversize_request_alone_and_separates_shapes():
    items = [np.ones((1, 3)), np.ones((9, 3)), np.ones((1, 3)), np.ones((2, 5)), np.ones((1, 3))]
    answers, sizes = run_batches(items, max_batch=4)
    assert sorted(sizes) == [1, 2, 2, 9]  # the 9-row request alone, the (.., 5) rows apart
    assert [len(a[0]) for a in answers] == [1, 9, 1, 2, 1]
    assert answers[3][0].shape == (2, 5)


def test_batcher_isolates_a_failing_request():
    def run(arrays):
        if (arrays["x"] < 0).any():
            raise ValueError("negative values")
        return [arrays["x"] + 1]

    items = [np.zeros((1, 2)), -np.ones((1, 2)), np.ones((1, 2))]
    answers, _ = run_batches(items, max_batch=8, run=run)
    assert isinstance(answers[1], ValueError)
    np.testing.assert_array_equal(answers[0][0], [[1, 1]])
    np.testing.assert_array_equal(answers[2][0], [[2, 2]])


@pytest.mark.parametrize("kwargs", [{"max_batch": 0}, {"max_batch": 2.5}, {"max_wait_ms": -1}])
def test_batcher_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError, match="Received"):
        MicroBatcher(lambda a: [a], **kwargs)


def test_batcher_answers_every_request_of_mixed_shapes_arriving_while_it_waits():
    """Requests of several sequence lengths arrive while the collector waits for more
    (regression: equal-looking leftovers were compared by their arrays, which stopped
    the collector, and every later request hung)."""
    rng = np.random.default_rng(1)

    def run(arrays):
        return [arrays["x"].sum(axis=(1, 2))]

    async def main():
        batcher = MicroBatcher(run, max_batch=64, max_wait_ms=20)
        await batcher.start()

        async def client(i):
            for j in range(15):
                x = np.full((2, int(rng.choice([1, 2, 3, 5])), 2), float(i * 100 + j))
                batcher.receiving += 1  # as the app does while a body is being read
                await asyncio.sleep(float(rng.random()) * 0.003)
                batcher.receiving -= 1
                out = await asyncio.wait_for(batcher.submit({"x": x}, 2), 10)
                np.testing.assert_array_equal(out[0], x.sum(axis=(1, 2)))

        await asyncio.gather(*(client(i) for i in range(6)))
        await batcher.stop()

    asyncio.run(main())


def test_serving_docstring_examples_run():
    import doctest

    from lamina.serving import app, batcher

    for module in (app, batcher):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
