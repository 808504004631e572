"""`timeseries_dataset_from_array` and `split_dataset` against hand-computed windows
(the cases of Keras's own tests) and their use in `fit`."""

import numpy as np
import pytest
import torch

import lamina
from lamina.utils import split_dataset, timeseries_dataset_from_array


def test_timeseries_windows_and_targets_match_keras_basics():
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data, data * 2, sequence_length=9, batch_size=5)
    assert len(ds) == 19  # 92 windows
    for i, (inputs, targets) in enumerate(ds):
        assert inputs.shape == ((5, 9) if i < 18 else (2, 9))
        np.testing.assert_array_equal(targets.numpy(), inputs[:, 0].numpy() * 2)
        for j in range(len(inputs)):
            np.testing.assert_array_equal(inputs[j].numpy(), np.arange(i * 5 + j, i * 5 + j + 9))


def test_timeseries_sampling_rate_stride_and_indices():
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data, None, sequence_length=9, sequence_stride=3, sampling_rate=2,
                                       batch_size=None, start_index=10, end_index=60)
    windows = [w.numpy() for w in ds]
    # starts 10, 13, ... while start + 16 < 60
    assert len(windows) == len(range(0, 50 - 16, 3))
    np.testing.assert_array_equal(windows[1], np.arange(13, 13 + 18, 2))
    assert windows[-1][-1] < 60


def test_timeseries_shuffle_is_a_seeded_permutation_of_the_windows():
    data = np.arange(50, dtype=np.float32).reshape(25, 2)
    plain = timeseries_dataset_from_array(data, None, sequence_length=3, batch_size=4)
    shuffled = timeseries_dataset_from_array(data, None, sequence_length=3, batch_size=4, shuffle=True, seed=1)
    again = timeseries_dataset_from_array(data, None, sequence_length=3, batch_size=4, shuffle=True, seed=1)
    a = torch.cat(list(plain)).numpy()
    b = torch.cat([shuffled[i] for i in range(len(shuffled))]).numpy()
    c = torch.cat([again[i] for i in range(len(again))]).numpy()
    np.testing.assert_array_equal(b, c)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(np.sort(a[:, 0, 0]), np.sort(b[:, 0, 0]))


def test_timeseries_dataset_trains_a_model():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(200, 1)).astype(np.float32)
    targets = np.roll(series[:, 0], -3)  # the value 3 steps after the window start
    ds = timeseries_dataset_from_array(series, targets, sequence_length=4, batch_size=32)
    model = lamina.Sequential([lamina.Input(shape=(4, 1)), lamina.layers.Flatten(), lamina.layers.Dense(1)])
    model.compile(lamina.optimizers.Adam(learning_rate=0.05), "mse")
    history = model.fit(ds, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]


def test_timeseries_errors():
    with pytest.raises(ValueError, match="Received: sequence_length=0"):
        timeseries_dataset_from_array(np.arange(10), None, sequence_length=0)
    with pytest.raises(ValueError, match="Received: start_index=10"):
        timeseries_dataset_from_array(np.arange(10), None, sequence_length=2, start_index=10)
    with pytest.raises(ValueError, match="cannot fit one window"):
        timeseries_dataset_from_array(np.arange(10), None, sequence_length=20)


def test_split_dataset_sizes_and_order():
    x, y = np.arange(10).reshape(10, 1), np.arange(10) * 10
    left, right = split_dataset((x, y), left_size=0.8)
    assert (len(left), len(right)) == (8, 2)
    xs, ys = right[0]
    assert int(xs[0]) == 8 and int(ys) == 80
    left, right = split_dataset(x, right_size=3)
    assert (len(left), len(right)) == (7, 3)
    assert [int(right[i][0]) for i in range(3)] == [7, 8, 9]


def test_split_dataset_shuffle_partitions_all_samples():
    x = np.arange(20)
    left, right = split_dataset(x, left_size=0.5, shuffle=True, seed=3)
    seen = sorted(int(left[i]) for i in range(len(left))) + sorted(int(right[i]) for i in range(len(right)))
    assert sorted(seen) == list(range(20))
    assert [int(left[i]) for i in range(len(left))] != list(range(10))


def test_split_dataset_torch_dataset_and_fit():
    ds = torch.utils.data.TensorDataset(torch.randn(40, 3), torch.randn(40, 1))
    left, right = split_dataset(ds, left_size=30)
    assert isinstance(left, torch.utils.data.Subset) and len(right) == 10
    model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(left, batch_size=8, epochs=1, verbose=0)


def test_split_dataset_errors():
    with pytest.raises(ValueError, match="Received: left_size=None and right_size=None"):
        split_dataset(np.arange(5))
    with pytest.raises(ValueError, match="Received: left_size=1.5"):
        split_dataset(np.arange(5), left_size=1.5)
    with pytest.raises(ValueError, match="at most the number of samples"):
        split_dataset(np.arange(5), left_size=3, right_size=3)
