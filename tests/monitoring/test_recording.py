"""What fit / evaluate record, and the profile in `.lamina` files."""

import json
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina.monitoring import ReferenceProfile, recording


def _classifier():
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(8, activation="relu"),
                               lamina.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2500, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1).astype(np.int64)
    return x, y


def test_fit_records_a_bounded_sample_and_predictions(data):
    x, y = data
    model = _classifier()
    assert model.reference_profile is None
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.2)
    profile = model.reference_profile
    assert profile.n_rows == 2000 and profile.task == "classification"
    assert profile.feature_names() == ["x[0]", "x[1]", "x[2]", "x[3]"]
    # The sample rows come from the training part (validation_split keeps the last 500 out)
    sample = model.__dict__[recording._ATTR].sample
    train_rows = {row.tobytes() for row in x[:2000]}
    assert all(row.tobytes() in train_rows for row in sample)
    expected = model.predict(sample, verbose=0).argmax(1)  # predictions with the final weights
    assert profile.prediction.counts == np.bincount(expected, minlength=3).tolist()
    assert set(profile.scores["fit"]) == {"val_loss", "val_accuracy"}
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert model.reference_profile.scores["evaluate"] == pytest.approx(logs)
    assert model.reference_profile is profile  # computed once


def test_fitting_again_replaces_the_sample(data):
    x, y = data
    model = _classifier()
    model.fit(x[:300], y[:300], epochs=1, verbose=0)
    first = model.reference_profile
    assert first.n_rows == 300
    model.evaluate(x[:300], y[:300], verbose=0)
    model.fit(x[300:] + 5.0, y[300:], epochs=1, verbose=0)
    second = model.reference_profile
    assert second is not first and second.n_rows == 2000
    assert second.features[0].mean == pytest.approx(first.features[0].mean + 5.0, abs=0.2)
    assert second.scores["evaluate"] == {}  # scores of the earlier model are forgotten


def test_recording_leaves_the_random_streams_alone(data):
    x, y = data
    adapter = lamina.training.data_adapter.ArrayAdapter(x, y, device=torch.device("cpu"))
    model = _classifier()
    torch.manual_seed(0)
    np.random.seed(0)
    expected = (torch.rand(1).item(), np.random.rand())
    torch.manual_seed(0)
    np.random.seed(0)
    recording.remember_training_data(model, adapter)
    assert (torch.rand(1).item(), np.random.rand()) == expected


def test_dataset_sample_is_read_lazily_and_generators_give_none(data):
    x, y = data
    reads = []

    class Rows(torch.utils.data.Dataset):
        def __len__(self):
            return 600

        def __getitem__(self, i):
            reads.append(i)
            return torch.from_numpy(x[i]), torch.tensor(y[i])

    model = _classifier()
    model.fit(Rows(), epochs=1, verbose=0, batch_size=100)
    n_fit_reads = len(reads)  # the sample is not read during fit
    profile = model.reference_profile
    assert profile.n_rows == 600 and sorted(reads[n_fit_reads:]) == list(range(600))

    def batches():
        for i in range(0, 600, 100):
            yield x[i:i + 100], y[i:i + 100]

    model.fit(batches(), epochs=1, verbose=0)
    assert model.reference_profile is None


def test_save_load_round_trip_gives_an_equal_profile(tmp_path, data):
    x, y = data
    model = _classifier()
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.2)
    model.evaluate(x, y, verbose=0)
    path = tmp_path / "m.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert "profile.json" in zf.namelist()
        assert len(zf.read("profile.json")) < 1_000_000
    loaded = lamina.load_model(path)
    assert loaded.reference_profile == model.reference_profile
    assert loaded.reference_profile.scores["evaluate"]["accuracy"] == pytest.approx(
        model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"])
    loaded.save(tmp_path / "again.lamina")  # a loaded profile is saved again as it is
    assert lamina.load_model(tmp_path / "again.lamina").reference_profile == model.reference_profile


def test_file_without_profile_loads_with_none(tmp_path):
    model = _classifier()
    model.build((None, 4))
    model.save(tmp_path / "m.lamina")
    with zipfile.ZipFile(tmp_path / "m.lamina") as zf:
        assert "profile.json" not in zf.namelist()
    assert lamina.load_model(tmp_path / "m.lamina").reference_profile is None


def _rewrite(path, out, member, data):
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, data if name == member else src.read(name))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["features"][0].update(mean="big"), r"features\[0\].mean` must be a finite number"),
        (lambda d: d["features"][0].update(quantiles=[1.0] * 100_000), r"features\[0\].quantiles` must be a list of at most"),
        (lambda d: d.update(n_rows=-1), r"`n_rows` must be an integer >= 1"),
        (lambda d: d.update(features=None), r"`features` must be a list"),
    ],
)
def test_hostile_profile_member_names_file_and_member(tmp_path, data, edit, message):
    x, y = data
    model = _classifier()
    model.fit(x[:200], y[:200], epochs=1, verbose=0)
    model.save(tmp_path / "m.lamina")
    with zipfile.ZipFile(tmp_path / "m.lamina") as zf:
        d = json.loads(zf.read("profile.json"))
    edit(d)
    _rewrite(tmp_path / "m.lamina", tmp_path / "bad.lamina", "profile.json", json.dumps(d))
    with pytest.raises(ValueError, match=r"'profile.json' in 'bad.lamina' is not valid: .*" + message):
        lamina.load_model(tmp_path / "bad.lamina")


def test_hostile_profile_member_nan_and_oversize(tmp_path, data):
    x, y = data
    model = _classifier()
    model.fit(x[:200], y[:200], epochs=1, verbose=0)
    model.save(tmp_path / "m.lamina")
    with zipfile.ZipFile(tmp_path / "m.lamina") as zf:
        text = zf.read("profile.json").decode()
    _rewrite(tmp_path / "m.lamina", tmp_path / "nan.lamina", "profile.json", text.replace('"mean":', '"mean":NaN,"x":', 1))
    with pytest.raises(ValueError, match=r"'profile.json' in 'nan.lamina' is not valid JSON: .*NaN"):
        lamina.load_model(tmp_path / "nan.lamina")
    _rewrite(tmp_path / "m.lamina", tmp_path / "big.lamina", "profile.json", " " * (6 * 1024 * 1024))
    with pytest.raises(ValueError, match=r"'big.lamina' is not a Lamina model file \(its 'profile.json' holds 6291456 bytes"):
        lamina.load_model(tmp_path / "big.lamina")


def test_profile_from_data_matches_the_fit_profile(data):
    x, y = data
    model = _classifier()
    model.fit(x[:1000], y[:1000], epochs=1, verbose=0)
    sample = model.__dict__[recording._ATTR].sample
    direct = ReferenceProfile.from_data(sample, model.predict(sample, verbose=0), task="classification",
                                        input_names=None)
    fitted = model.reference_profile
    assert [f.to_dict() for f in direct.features] == [f.to_dict() for f in fitted.features]
    assert direct.prediction == fitted.prediction


def test_class_names_set_after_fit_reach_the_profile(tmp_path, data):
    x, y = data
    model = _classifier()
    model.fit(x[:300], y[:300], epochs=1, verbose=0)
    assert model.reference_profile.class_names is None
    model.class_names = ["low", "mid", "high"]
    model.save(tmp_path / "m.lamina")
    assert lamina.load_model(tmp_path / "m.lamina").reference_profile.class_names == ["low", "mid", "high"]


def test_sample_of_images_is_bounded_in_bytes(monkeypatch):
    monkeypatch.setattr(recording, "MAX_BYTES", 1_000_000)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 16, 16, 3)).astype(np.float32)  # 3 kB a row: 325 rows fit in 1 MB
    model = lamina.Sequential([lamina.Input(shape=(16, 16, 3)), lamina.layers.Flatten(), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, rng.normal(size=600), epochs=1, verbose=0)
    profile = model.reference_profile
    assert profile.n_rows == 1_000_000 // (16 * 16 * 3 * 4)
    assert profile.feature_names() == ["x:mean", "x:std"]
    assert profile.task == "regression" and profile.prediction.kind == "numeric"


def test_profile_taken_during_fit_is_recomputed_with_the_final_weights(tmp_path, data):
    x, y = data
    model = _classifier()
    seen = []

    class Peek(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.reference_profile)  # e.g. ModelCheckpoint saving the whole model

    model.fit(x[:600], y[:600], epochs=2, verbose=0, callbacks=[Peek(), lamina.callbacks.ModelCheckpoint(
        str(tmp_path / "ckpt.lamina"))])
    assert len(seen) == 2 and seen[0] is not None
    final = model.reference_profile
    sample = model.__dict__[recording._ATTR].sample
    assert final.prediction.counts == np.bincount(model.predict(sample, verbose=0).argmax(1), minlength=3).tolist()
    assert final.confidence.mean == pytest.approx(model.predict(sample, verbose=0).max(1).mean(), rel=1e-5)


def test_column_names_kept_by_the_adapter_name_the_features(data):
    x, y = data
    adapter = lamina.training.data_adapter.ArrayAdapter(x[:100], y[:100], device=torch.device("cpu"))
    adapter.column_names = ["age", "income", "height", "weight"]  # what an adapter of a DataFrame may keep
    model = _classifier()
    model.build((None, 4))
    recording.remember_training_data(model, adapter)
    assert model.reference_profile.feature_names() == ["age", "income", "height", "weight"]


def test_iterable_dataset_gives_no_profile(data):
    x, y = data

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            for i in range(200):
                yield torch.from_numpy(x[i]), torch.tensor(y[i])

    model = _classifier()
    model.fit(Stream(), epochs=1, verbose=0, batch_size=50)
    assert model.reference_profile is None
