"""A Lamina search on a real PostgreSQL server (started by the `postgres_url` fixture in
conftest.py), continued by a second Tuner on the same study: the storage URL works unchanged."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

import lamina  # noqa: E402
from lamina.tuning import Tuner  # noqa: E402
from lamina.tuning import storage as st  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype("float32")[:200]
    return x[:140], d.target[:140], x[140:200], d.target[140:200]


def build_model(hp):
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(hp.Int("units", 8, 32, log=True), activation="relu"),
            lamina.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(hp.Float("learning_rate", 3e-3, 3e-2, log=True)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _tuner(url, tmp_path, max_trials, seed):
    return Tuner(
        build_model,
        "val_accuracy",
        max_trials=max_trials,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=None,
        storage=url,
        study_name="digits_pg",
        directory=tmp_path,
    )


def test_search_on_postgres_then_a_second_tuner_continues_the_study(postgres_url, tmp_path, digits):
    x, y, xd, yd = digits
    url = postgres_url.replace("postgres@", "postgres:not-a-secret@")  # trust auth ignores it
    first = _tuner(url, tmp_path, 3, seed=0)
    assert first.storage_url == postgres_url.replace("postgres@", "postgres:***@")
    assert isinstance(first.study._storage._backend, optuna.storages.RDBStorage)
    assert first.study._storage._backend.engine.dialect.name == "postgresql"
    results = first.search(x, y, validation_data=(xd, yd), epochs=2, verbose=0)
    assert [t.state for t in results.trials] == ["COMPLETE"] * 3
    assert results.storage == first.storage_url and "not-a-secret" not in str(results.to_dict())
    before = [(t.number, t.params, t.value) for t in results.trials]

    # another Tuner (as on another machine) with the same study name and URL: same study
    second = _tuner(url, tmp_path, 5, seed=1)
    assert second.study._study_id == first.study._study_id
    more = second.search(x, y, validation_data=(xd, yd), epochs=2, verbose=0)
    assert [t.state for t in more.trials] == ["COMPLETE"] * 5
    assert [(t.number, t.params, t.value) for t in more.trials[:3]] == before
    assert [t.number for t in more.trials] == [0, 1, 2, 3, 4]
    assert more.best.value == max(t.value for t in more.trials)

    # read back straight from the server, without Lamina's storage helpers
    stored = optuna.load_study(study_name="digits_pg", storage=postgres_url)
    assert [(t.number, t.params, t.value) for t in stored.trials] == [
        (t.number, t.params, t.value) for t in more.trials
    ]
    assert {t.user_attrs[st.PID_ATTR] for t in stored.trials} == {__import__("os").getpid()}
    assert stored.direction == optuna.study.StudyDirection.MAXIMIZE


def test_postgres_wrong_database_is_a_clear_error(postgres_url):
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(ConnectionError, match=r"'.*/no_such_db' cannot be opened: .*no_such_db"):
        st.open_storage(url)
