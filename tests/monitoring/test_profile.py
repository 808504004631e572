"""ReferenceProfile: which features, what each keeps, JSON round trips and hostile JSON."""

import json

import numpy as np
import pandas as pd
import pytest

from lamina.monitoring import ReferenceProfile


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_tabular_profile_numbers_match_numpy(rng):
    x = rng.normal(loc=2.0, scale=3.0, size=(2000, 3))
    x[:, 2] = rng.integers(0, 4, size=2000)
    profile = ReferenceProfile.from_data(x, x[:, 0] * 2)
    f0, f2 = profile.features[0], profile.features[2]
    assert profile.feature_names() == ["x[0]", "x[1]", "x[2]"]
    assert profile.task == "regression" and profile.n_rows == 2000
    assert f0.kind == "numeric" and f2.kind == "categorical"
    assert f0.mean == pytest.approx(x[:, 0].mean(), rel=1e-6)
    assert f0.std == pytest.approx(x[:, 0].std(), rel=1e-6)
    assert (f0.min, f0.max) == (pytest.approx(x[:, 0].min()), pytest.approx(x[:, 0].max()))
    np.testing.assert_allclose(f0.edges, np.quantile(x[:, 0], np.linspace(0.1, 0.9, 9)), rtol=1e-6)
    assert sum(f0.bin_counts) == 2000 and all(180 <= c <= 220 for c in f0.bin_counts)
    np.testing.assert_allclose(f0.quantiles, np.quantile(x[:, 0], np.linspace(0, 1, len(f0.quantiles))), rtol=1e-6)
    labels, counts = np.unique(x[:, 2], return_counts=True)
    assert dict(zip(f2.labels, f2.counts)) == {int(v): int(c) for v, c in zip(labels, counts)}
    assert f2.other == 0
    assert profile.prediction.kind == "numeric"
    assert profile.prediction.mean == pytest.approx((x[:, 0] * 2).mean(), rel=1e-6)


def test_classifier_predictions_profile_classes_and_confidence(rng):
    x = rng.normal(size=(1000, 2))
    probs = rng.dirichlet([1.0, 2.0, 3.0], size=1000)
    profile = ReferenceProfile.from_data(x, probs, class_names=["a", "b", "c"])
    assert profile.task == "classification"
    assert profile.prediction.labels == [0, 1, 2]
    assert profile.prediction.counts == np.bincount(probs.argmax(1), minlength=3).tolist()
    assert profile.confidence.max == pytest.approx(probs.max(1).max(), rel=1e-6)
    binary = ReferenceProfile.from_data(x, rng.uniform(size=(1000, 1)))
    assert binary.task == "binary" and binary.prediction.labels == [0, 1]
    logits = rng.normal(size=(1000, 3))
    from_logits = ReferenceProfile.from_data(x, logits, task="classification", prediction_transform="softmax")
    assert from_logits.prediction.counts == np.bincount(logits.argmax(1), minlength=3).tolist()


def test_feature_rules_for_frames_dicts_images_and_text(rng):
    frame = pd.DataFrame({"age": rng.normal(40, 10, 500), "city": rng.choice(["x", "y"], 500)})
    assert ReferenceProfile.from_data(frame.assign(city=(frame.city == "x").astype(int))).feature_names() == ["age", "city"]
    multi = {"num": rng.normal(size=(500, 2)), "image": rng.normal(size=(500, 8, 8, 3)),
             "text": np.array([f"free text {i}" for i in range(500)]), "tag": rng.choice(["p", "q"], 500)}
    profile = ReferenceProfile.from_data(multi)
    assert profile.inputs == {"structure": "dict", "names": ["num", "image", "text", "tag"]}
    assert profile.feature_names() == ["num[0]", "num[1]", "image:mean", "image:std", "text:length", "tag"]
    image = profile.features[2]
    assert image.mean == pytest.approx(multi["image"].reshape(500, -1).mean(1).mean(), rel=1e-5)
    assert profile.features[5].kind == "categorical" and sorted(profile.features[5].labels) == ["p", "q"]
    wide = ReferenceProfile.from_data(rng.normal(size=(100, 300)))
    assert wide.feature_names() == ["x:mean", "x:std"]
    many = ReferenceProfile.from_data([rng.normal(size=(100, 200)), rng.normal(size=(100, 200))])
    assert len(many.features) == 256 and many.feature_names()[200] == "input_1[0]"


def test_profile_size_is_bounded(rng):
    profile = ReferenceProfile.from_data([rng.normal(size=(2000, 200)), rng.normal(size=(2000, 200))],
                                         rng.dirichlet(np.ones(10), size=2000))
    assert len(profile.to_json()) < 1_000_000
    small = ReferenceProfile.from_data(rng.normal(size=(2000, 5)))
    assert len(small.features[0].quantiles) == 501


def test_json_round_trip_is_equal(rng):
    x = {"a": rng.normal(size=(800, 3)), "b": rng.integers(0, 7, size=800)}
    profile = ReferenceProfile.from_data(x, rng.dirichlet(np.ones(4), size=800), class_names=list("wxyz"),
                                         scores={"fit": {"val_accuracy": 0.8}, "evaluate": {"accuracy": 0.75}})
    text = profile.to_json()
    again = ReferenceProfile.from_json(text)
    assert again == profile
    assert again.to_json() == text
    assert ReferenceProfile.from_json(json.loads(text)) == profile


def _valid(rng) -> dict:
    return json.loads(ReferenceProfile.from_data(rng.normal(size=(300, 2)), rng.normal(size=300)).to_json())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("features"), r"`features` must be present"),
        (lambda d: d.update(format="pickle"), r"`format` must be 'lamina.reference_profile'"),
        (lambda d: d.update(n_rows="many"), r"`n_rows` must be an integer >= 1"),
        (lambda d: d["features"][0].update(quantiles=[0.0, float("nan")]), r"features\[0\].quantiles\[1\]` must be a finite"),
        (lambda d: d["features"][1].update(quantiles=list(range(10_000))), r"features\[1\].quantiles` must be a list of at most 501"),
        (lambda d: d["features"][0].update(quantiles=[3.0, 1.0]), r"non-decreasing"),
        (lambda d: d["features"][0].update(kind="image"), r"features\[0\].kind` must be one of"),
        (lambda d: d["features"][0].update(bin_counts=[1, 2]), r"bin_counts` must be 10 counts"),
        (lambda d: d.update(features=[{"name": "x"}] * 300), r"`features` must be a list of at most 256"),
        (lambda d: d.update(features="x[0]"), r"`features` must be a list"),
        (lambda d: d.update(scores={"fit": {"val_loss": "low"}}), r"scores.fit.val_loss` must be a finite number"),
        (lambda d: d.update(prediction=[1, 2]), r"`prediction` must be an object"),
        (lambda d: d.update(version=99), r"`version` must be at most 1"),
        (lambda d: d.update(task="classification"), r"`prediction.kind` must be 'categorical' for task 'classification'"),
        (lambda d: d["features"][0].update(input=3), r"features\[0\].input` must be an input of `inputs.names`"),
        (lambda d: d["features"][0].update(summary="class"), r"features\[0\].summary` must be null or one of"),
    ],
)
def test_hostile_json_gives_clear_value_error(rng, mutate, message):
    d = _valid(rng)
    mutate(d)
    with pytest.raises(ValueError, match=message):
        ReferenceProfile.from_json(d, source="'profile.json' in 'm.lamina'")
    with pytest.raises(ValueError, match=r"'profile.json' in 'm.lamina' is not valid"):
        ReferenceProfile.from_json(json.dumps(d), source="'profile.json' in 'm.lamina'")


def test_hostile_json_text(rng):
    text = json.dumps(_valid(rng))
    with pytest.raises(ValueError, match="NaN is not allowed"):
        ReferenceProfile.from_json(text.replace('"count":300', '"count":NaN', 1).replace('"count": 300', '"count": NaN', 1))
    with pytest.raises(ValueError, match="not valid JSON"):
        ReferenceProfile.from_json(text[:50])
    with pytest.raises(ValueError, match="at most 5242880 bytes"):
        ReferenceProfile.from_json(" " * (5 * 1024 * 1024 + 1))
    with pytest.raises(ValueError, match="must be an object"):
        ReferenceProfile.from_json("[1, 2, 3]")


def test_from_data_rejects_bad_arguments(rng):
    with pytest.raises(ValueError, match="`task` must be one of"):
        ReferenceProfile.from_data(rng.normal(size=(10, 2)), task="ranking")
    with pytest.raises(ValueError, match="one row per input row"):
        ReferenceProfile.from_data(rng.normal(size=(10, 2)), rng.normal(size=9))
