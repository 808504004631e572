"""Scalers fitted on training data only: parity with scikit-learn, fitted state, errors."""

import numpy as np
import pytest
import torch
from sklearn import preprocessing

from lamina.data import MinMaxScaler, StandardScaler, fit_scaler_on_train, load_wine, split
from lamina.data.scaling import fit_scaler_on_train as direct


@pytest.fixture(scope="module")
def wine():
    x, y = load_wine()
    x = x.astype(np.float64)
    x[:, 3] = 2.5  # a constant feature
    return x, y


def test_standard_scaler_matches_sklearn(wine):
    x, _ = wine
    ours, ref = StandardScaler().fit(x[:120]), preprocessing.StandardScaler().fit(x[:120])
    np.testing.assert_allclose(ours.mean_[0], ref.mean_)
    np.testing.assert_allclose(ours.scale_[0], ref.scale_)
    np.testing.assert_allclose(ours.transform(x[120:]), ref.transform(x[120:]), rtol=1e-12, atol=1e-12)
    z = ours.transform(x[120:])
    np.testing.assert_allclose(ours.inverse_transform(z), x[120:])
    assert ours.n_samples_seen_ == 120


def test_minmax_scaler_matches_sklearn(wine):
    x, _ = wine
    ours = MinMaxScaler(feature_range=(-1, 1)).fit(x[:120])
    ref = preprocessing.MinMaxScaler(feature_range=(-1, 1)).fit(x[:120])
    np.testing.assert_allclose(ours.data_min_[0], ref.data_min_)
    np.testing.assert_allclose(ours.data_max_[0], ref.data_max_)
    np.testing.assert_allclose(ours.transform(x[120:]), ref.transform(x[120:]), atol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(x[120:])), x[120:])


def test_scaler_keeps_float32_and_torch_tensors():
    x = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    out = StandardScaler().fit_transform(x)
    assert out.dtype == np.float32
    t = StandardScaler().fit(x).transform(torch.from_numpy(x))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), out, atol=1e-6)
    ints = MinMaxScaler().fit_transform(np.array([[0], [5], [10]]))
    np.testing.assert_array_equal(ints, np.array([[0.0], [0.5], [1.0]], dtype=np.float32))


def test_scaler_axis_minus_one_is_per_channel_for_images():
    x = np.random.default_rng(0).normal(size=(6, 4, 4, 3)) * np.array([1.0, 5.0, 10.0]) + 3.0
    scaler = StandardScaler().fit(x)
    np.testing.assert_allclose(scaler.mean_.ravel(), x.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(scaler.scale_.ravel(), x.std(axis=(0, 1, 2)))
    z = scaler.transform(x)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
    whole = StandardScaler(axis=None).fit(x)
    np.testing.assert_allclose(whole.mean_.ravel(), [x.mean()])


def test_scaler_transform_before_fit_raises():
    with pytest.raises(RuntimeError, match=r"This `StandardScaler` is not fitted yet.*Call `fit\(x_train\)`"):
        StandardScaler().transform(np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match=r"`MinMaxScaler` is not fitted yet, so `inverse_transform`"):
        MinMaxScaler().inverse_transform(np.zeros((2, 2)))


def test_scaler_errors_name_the_problem():
    scaler = StandardScaler().fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(3,\); `transform` received samples of shape \(2,\)"):
        scaler.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"found 1 NaN or infinite value\(s\) \(first at index \(1, 0\)\)"):
        StandardScaler().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match=r"shape \(samples, features...\).*Received: shape \(3,\)"):
        StandardScaler().fit(np.zeros(3))
    with pytest.raises(ValueError, match=r"`feature_range` to be a pair \(low, high\) with low < high.*\(1, 0\)"):
        MinMaxScaler(feature_range=(1, 0))


def test_fit_scaler_on_train_uses_training_statistics_only(wine):
    x, y = wine
    splits = split(x, y, dev=0.2, test=0.2, train_dev=0.1)
    scaled, scaler = fit_scaler_on_train(splits)
    assert fit_scaler_on_train is direct
    np.testing.assert_allclose(scaler.mean_[0], splits.train[0].mean(axis=0))
    assert not np.allclose(scaler.mean_[0], x.mean(axis=0))  # not the whole data
    ref = preprocessing.StandardScaler().fit(splits.train[0])
    for name in ("train", "train_dev", "dev", "test"):
        np.testing.assert_allclose(getattr(scaled, name)[0], ref.transform(getattr(splits, name)[0]), atol=1e-12)
        np.testing.assert_array_equal(getattr(scaled, name)[1], getattr(splits, name)[1])
    np.testing.assert_array_equal(scaled.indices["test"], splits.indices["test"])
    assert splits.train[0][:, 0].mean() > 5  # the original splits are untouched

    scaled, scaler = fit_scaler_on_train(splits, kind="minmax")
    assert scaled.train[0].min() == 0.0 and scaled.train[0].max() == 1.0


def test_fit_scaler_on_train_rejects_bad_arguments(wine):
    splits = split(*wine)
    with pytest.raises(ValueError, match=r"Unknown scaler name: 'robust'. Valid names are: minmax, standard"):
        fit_scaler_on_train(splits, kind="robust")
    with pytest.raises(TypeError, match=r"expects the `Splits` returned by `lamina.data.split`.*tuple"):
        fit_scaler_on_train((wine[0], wine[1]))
