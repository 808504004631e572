"""Forecasting a (synthetic) daily temperature series: a GRU against common-sense baselines.

**The series is synthetic**, generated like a city's daily mean temperature
(see `make_temperature_series`): a yearly cycle (cold winters, warm summers),
a slow warming trend, and weather: day-to-day anomalies that persist for a
few days (an autoregressive AR(1) process). Because we wrote the generator,
we also know the best forecast any model could make, and print it for
reference.

The task: from the last 28 days, forecast the temperature 3 days ahead.
The split is **chronological** (the first four years train, the fifth is the
dev set, the sixth the test set): shuffling days across the split would let
a model peek at the weather it must forecast. Inputs are standardised with
the training years' mean and standard deviation only.

Baselines to beat, both "common sense":

* **last value**: the temperature in 3 days equals today's;
* **seasonal naive**: it equals the temperature on the same day one year earlier.

Networks:

* a dense network on the flattened 28-day window;
* a `GRU(32)` reading the window day by day; besides the temperature, each
  day carries the sine and cosine of its day of year, so the network knows
  where in the yearly cycle the window sits.

Both networks predict the change from the window's last day to the target
day, stop training when the dev year's error stops improving
(`EarlyStopping` with `restore_best_weights=True`), and are judged by the
mean absolute error (MAE) in degrees on the test year. A full run::

    last value (baseline)          2.20 °C
    seasonal naive (baseline)      3.01 °C
    dense on the window            2.02 °C
    GRU(32)                        1.96 °C
    best possible (known process)  1.88 °C

Run it::

    python examples/timeseries_forecast.py            # under a minute on a laptop CPU
    python examples/timeseries_forecast.py --quick    # a few seconds, fewer epochs
"""

from __future__ import annotations

import argparse

import numpy as np

import lamina
from lamina import layers

DAYS_PER_YEAR = 365
YEARS = 6
WINDOW = 28
HORIZON = 3
AR_COEFFICIENT = 0.7
NOISE_STD = 1.8


def _seasonal_mean(day: np.ndarray) -> np.ndarray:
    """The deterministic part: 11 °C on average, ±9 °C over the year (coldest mid-January),
    warming by 0.3 °C per year."""
    return 11.0 - 9.0 * np.cos(2 * np.pi * (day - 15) / DAYS_PER_YEAR) + 0.3 * day / DAYS_PER_YEAR


def make_temperature_series(years: int = YEARS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Daily mean temperatures: yearly cycle + trend + AR(1) weather anomalies.

    `temperature[t] = seasonal_mean(t) + anomaly[t]`, with
    `anomaly[t] = AR_COEFFICIENT * anomaly[t - 1] + normal(0, NOISE_STD)`.

    Returns:
        ``(temperature, seasonal_mean)``: float64 arrays of ``years * 365`` days.
    """
    rng = np.random.default_rng(seed)
    days = np.arange(years * DAYS_PER_YEAR)
    shocks = rng.normal(0.0, NOISE_STD, size=len(days))
    anomaly = np.empty(len(days))
    anomaly[0] = shocks[0] / np.sqrt(1 - AR_COEFFICIENT**2)  # start in the stationary regime
    for t in range(1, len(days)):
        anomaly[t] = AR_COEFFICIENT * anomaly[t - 1] + shocks[t]
    seasonal = _seasonal_mean(days)
    return seasonal + anomaly, seasonal


def make_windows(
    temperature: np.ndarray, first_target: int, last_target: int, mean: float, std: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input windows and targets for the target days ``first_target .. last_target - 1``.

    The window of a target day `d` holds days `d - HORIZON - WINDOW + 1 .. d - HORIZON`.

    Returns:
        ``(x, y, last)``: ``x`` of shape ``(n, WINDOW, 3)`` (standardised temperature,
        sine and cosine of the day of year), ``y`` the standardised change from the
        window's last day to the target day ``(n, 1)``, and ``last`` the window's last
        temperature in °C ``(n,)``.
    """
    targets = np.arange(first_target, last_target)
    ends = targets - HORIZON  # last day of each window
    idx = ends[:, None] - np.arange(WINDOW)[::-1][None, :]
    angle = 2 * np.pi * (idx % DAYS_PER_YEAR) / DAYS_PER_YEAR
    x = np.stack([(temperature[idx] - mean) / std, np.sin(angle), np.cos(angle)], axis=-1)
    y = (temperature[targets] - temperature[ends]) / std
    return x.astype("float32"), y[:, None].astype("float32"), temperature[ends]


def make_gru() -> lamina.Sequential:
    """Windows ``(batch, 28, 3)`` -> GRU(32) -> the standardised 3-day change ``(batch, 1)``."""
    return lamina.Sequential([lamina.Input(shape=(WINDOW, 3)), layers.GRU(32), layers.Dense(1)], name="gru")


def make_dense() -> lamina.Sequential:
    """Windows ``(batch, 28, 3)`` flattened -> Dense(32, relu) -> ``(batch, 1)``."""
    return lamina.Sequential(
        [lamina.Input(shape=(WINDOW, 3)), layers.Flatten(), layers.Dense(32, activation="relu"), layers.Dense(1)],
        name="dense",
    )


def main(quick: bool = False) -> dict[str, float]:
    """Scores the baselines, the dense network and the GRU on the test year.

    Args:
        quick: Fewer epochs (for the tests). Defaults to `False`.

    Returns:
        Test MAE in °C: ``"last_value"``, ``"seasonal_naive"``, ``"dense"``, ``"gru"``
        and ``"best_possible"`` (the forecast of the known generating process).
    """
    temperature, seasonal = make_temperature_series()
    year = DAYS_PER_YEAR
    train_days = temperature[: 4 * year]
    mean, std = float(train_days.mean()), float(train_days.std())
    first = WINDOW + HORIZON - 1  # first day with a full window behind it
    x_train, y_train, _ = make_windows(temperature, first, 4 * year, mean, std)
    x_dev, y_dev, _ = make_windows(temperature, 4 * year, 5 * year, mean, std)
    x_test, y_test, last_test = make_windows(temperature, 5 * year, 6 * year, mean, std)
    truth = temperature[5 * year:]

    def mae(prediction: np.ndarray) -> float:
        return float(np.mean(np.abs(prediction - truth)))

    test_days = np.arange(5 * year, 6 * year)
    results = {
        "last_value": mae(last_test),
        "seasonal_naive": mae(temperature[test_days - year]),
        # The generating process's own forecast: seasonal mean + the anomaly decayed over HORIZON days.
        "best_possible": mae(seasonal[test_days] + AR_COEFFICIENT**HORIZON
                             * (last_test - seasonal[test_days - HORIZON])),
    }
    epochs = 8 if quick else 40
    for name, make in (("dense", make_dense), ("gru", make_gru)):
        lamina.set_seed(0)
        model = make()
        model.compile(optimizer=lamina.optimizers.Adam(3e-3), loss="mae")
        # The dev year picks the epoch: training stops when its MAE stops improving.
        stop = lamina.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
        model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_dev, y_dev),
                  callbacks=[stop], verbose=0)
        change = model.predict(x_test, verbose=0)[:, 0] * std
        results[name] = mae(last_test + change)

    print(f"SYNTHETIC daily temperatures, {YEARS} years; forecast {HORIZON} days ahead from {WINDOW} days; "
          f"train years 1-4, dev year 5, test year 6" + (" (quick mode)" if quick else ""))
    print(f"{'forecast':<31}test MAE")
    print(f"{'last value (baseline)':<31}{results['last_value']:.2f} °C")
    print(f"{'seasonal naive (baseline)':<31}{results['seasonal_naive']:.2f} °C")
    print(f"{'dense on the window':<31}{results['dense']:.2f} °C")
    print(f"{'GRU(32)':<31}{results['gru']:.2f} °C")
    print(f"{'best possible (known process)':<31}{results['best_possible']:.2f} °C")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs only")
    main(quick=parser.parse_args().quick)
