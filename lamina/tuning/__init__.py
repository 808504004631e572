"""Hyper-parameter tuning and small architecture search on Optuna (`lamina[tune]`).

A search is one call, survives a crash (the study lives in a storage file or an
RDB server), runs in parallel and ends in the workflow's honest evaluation::

    import lamina
    from lamina.tuning import Tuner

    def build_model(hp):
        model = lamina.Sequential([
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(hp.Int("units", 16, 128, log=True), activation="relu"),
            lamina.layers.Dropout(hp.Float("dropout", 0.0, 0.5)),
            lamina.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer=lamina.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, log=True)),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    tuner = Tuner(build_model, objective="val_accuracy", max_trials=20)
    tuner.search(x_train, y_train, validation_data=(x_dev, y_dev), epochs=10)
    print(tuner.results())
    model = tuner.best_model()

Importing `lamina.tuning` does not import Optuna; the first use of a name that
needs it does, and names the extra to install when it is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS = {
    "HyperParameters": "lamina.tuning.hp",
    "Tuner": "lamina.tuning.tuner",
    "TuningResults": "lamina.tuning.results",
    "TrialRecord": "lamina.tuning.results",
    "TrialPruning": "lamina.tuning.pruning",
    "lr_range": "lamina.tuning.learning_rate",
    "spaces": "lamina.tuning.spaces",
    "automl": "lamina.tuning.auto",
    "AutoMLResult": "lamina.tuning.auto",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lamina.tuning' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    return module if module_name.endswith("." + name) else getattr(module, name)


def __dir__() -> list[str]:
    return __all__
