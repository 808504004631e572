"""lamina.distributed in one process: nothing to do, settings checked."""

from __future__ import annotations

import pytest

import lamina
from lamina.distributed import context


@pytest.fixture(autouse=True)
def _no_torchrun_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "RANK",
        "WORLD_SIZE",
        "LOCAL_RANK",
        "MASTER_ADDR",
        "MASTER_PORT",
        context.TIMEOUT_ENV,
    ):
        monkeypatch.delenv(key, raising=False)


def test_context_is_none_in_a_plain_process() -> None:
    assert lamina.distributed.get_context() is None
    assert lamina.distributed.is_chief()


def test_context_is_none_for_a_world_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    assert lamina.distributed.get_context() is None


def test_context_names_the_missing_torchrun_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(RuntimeError, match=r"MASTER_ADDR, MASTER_PORT are not set.*torchrun"):
        lamina.distributed.get_context()
    assert not lamina.distributed.is_chief()  # rank 1 writes no file
    with lamina.distributed.local():
        assert lamina.distributed.get_context() is None and lamina.distributed.is_chief()


def test_timeout_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lamina.distributed.timeout_seconds() == lamina.distributed.DEFAULT_TIMEOUT_S == 300.0
    monkeypatch.setenv(context.TIMEOUT_ENV, "12.5")
    assert lamina.distributed.timeout_seconds() == 12.5
    for bad in ("0", "-3", "soon", "nan"):
        monkeypatch.setenv(context.TIMEOUT_ENV, bad)
        with pytest.raises(
            ValueError, match=rf"LAMINA_DIST_TIMEOUT` must be a positive number.*{bad!r}"
        ):
            lamina.distributed.timeout_seconds()


def test_set_distribution_checks_its_argument() -> None:
    assert isinstance(lamina.distributed.get_distribution(), lamina.distributed.DataParallel)
    with pytest.raises(TypeError, match=r"expects `lamina.distributed.DataParallel.*Received: str"):
        lamina.distributed.set_distribution("fsdp")
    lamina.distributed.set_distribution(
        lamina.distributed.FullyShardedDataParallel(split_batch=True)
    )
    try:
        dist = lamina.distributed.get_distribution()
        assert isinstance(dist, lamina.distributed.FullyShardedDataParallel)
        assert dist.global_batch(32, 4) == 32
    finally:
        lamina.distributed.set_distribution(None)
    assert lamina.distributed.DataParallel().global_batch(32, 4) == 128
    with pytest.raises(TypeError, match="split_batch"):
        lamina.distributed.DataParallel(split_batch="yes")
