"""The progress display: a live bar on a terminal, plain epoch lines elsewhere."""

import io

import numpy as np
from rich.console import Console

import lamina
from lamina.training.callbacks import ProgbarLogger


def _fit(callback, epochs=2, verbose=0):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=verbose, validation_split=0.25, callbacks=[callback])


def test_progress_live_bar_on_a_terminal():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    bar = ProgbarLogger(verbose=1, console=console)
    assert bar.live
    _fit(bar)
    text = buf.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2 - 9/9" in text
    assert "val_accuracy:" in text


def test_progress_plain_lines_and_no_batch_hooks_off_terminal():
    buf = io.StringIO()
    bar = ProgbarLogger(verbose=1, console=Console(file=buf, force_terminal=False, width=200))
    assert not bar.live and bar.skip_batch_hooks
    _fit(bar)
    lines = [line for line in buf.getvalue().splitlines() if line]
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2 - 9/9 - ")
    assert "\x1b[" not in buf.getvalue()  # no terminal control codes in CI logs


def test_verbose_two_prints_one_line_per_epoch():
    buf = io.StringIO()
    bar = ProgbarLogger(verbose=2, console=Console(file=buf, force_terminal=True, width=200))
    assert not bar.live
    _fit(bar, epochs=3)
    assert [line[:9] for line in buf.getvalue().splitlines() if line.startswith("Epoch")] == [
        "Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
