"""Image utilities and `image_dataset_from_directory` / `text_dataset_from_directory`,
round-tripped through Pillow on small generated files."""

import numpy as np
import pytest
import torch
from PIL import Image

import lamina
from lamina import utils


def _png(path, color, size=(6, 4)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def test_load_img_and_img_to_array_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    img = utils.load_img(tmp_path / "a.png")
    arr = utils.img_to_array(img)
    assert arr.dtype == np.float32 and arr.shape == (5, 7, 3)
    np.testing.assert_array_equal(arr, pixels)
    gray = utils.img_to_array(utils.load_img(tmp_path / "a.png", color_mode="grayscale"))
    assert gray.shape == (5, 7, 1)
    np.testing.assert_array_equal(gray[..., 0], np.asarray(Image.fromarray(pixels).convert("L")))
    assert utils.img_to_array(img, data_format="channels_first").shape == (3, 5, 7)


def test_load_img_resizes_like_pillow_and_keeps_aspect_ratio(tmp_path):
    pixels = np.arange(8 * 4 * 3, dtype=np.uint8).reshape(8, 4, 3)  # 8 high, 4 wide
    Image.fromarray(pixels).save(tmp_path / "b.png")
    out = utils.img_to_array(utils.load_img(tmp_path / "b.png", target_size=(4, 2), interpolation="bilinear"))
    expected = np.asarray(Image.fromarray(pixels).resize((2, 4), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(out, expected)
    square = utils.img_to_array(utils.load_img(tmp_path / "b.png", target_size=(4, 4), keep_aspect_ratio=True))
    np.testing.assert_array_equal(square, pixels[2:6])  # the centre 4x4, no resize needed


def test_array_to_img_scales_and_save_img_round_trips(tmp_path):
    x = np.linspace(-1, 1, 2 * 3 * 3).reshape(2, 3, 3)
    img = utils.array_to_img(x)
    assert img.mode == "RGB" and img.size == (3, 2)
    arr = np.asarray(img)
    assert arr.min() == 0 and arr.max() == 255
    x32 = x.astype(np.float32)  # Keras scales in float32
    np.testing.assert_array_equal(arr, ((x32 - x32.min()) / (x32.max() - x32.min()) * 255).astype(np.uint8))
    utils.save_img(tmp_path / "c.png", np.full((4, 4, 1), 200.0), scale=False)
    back = utils.img_to_array(utils.load_img(tmp_path / "c.png", color_mode="grayscale"))
    np.testing.assert_array_equal(back, 200.0)


def test_image_utils_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Received: path="):
        utils.load_img(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="Received: color_mode='cmyk'"):
        utils.load_img(tmp_path / "missing.png", color_mode="cmyk")
    with pytest.raises(ValueError, match=r"1, 3 or 4 channels.*\(4, 4, 2\)"):
        utils.array_to_img(np.zeros((4, 4, 2)))


def _folder(tmp_path):
    for i in range(3):
        _png(tmp_path / "cats" / f"{i}.png", (255, 0, 0))
    for i in range(2):
        _png(tmp_path / "dogs" / f"{i}.jpg", (0, 0, 255))
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_dataset_from_directory_labels_and_shapes(tmp_path, capsys):
    root = _folder(tmp_path)
    ds = utils.image_dataset_from_directory(root, image_size=(4, 6), batch_size=2, shuffle=False)
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 3
    images, labels = zip(*ds)
    images, labels = torch.cat(images), torch.cat(labels)
    assert images.shape == (5, 4, 6, 3) and images.dtype == torch.float32
    assert labels.dtype == torch.int32 and labels.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_allclose(images[0, 0, 0].numpy(), [255, 0, 0])
    assert abs(float(images[4, 0, 0, 2]) - 255) <= 2  # JPEG
    cat = utils.image_dataset_from_directory(root, label_mode="categorical", image_size=(4, 6), shuffle=False,
                                             verbose=False)
    np.testing.assert_array_equal(cat[0][1].numpy(), np.eye(2)[[0, 0, 0, 1, 1]])
    binary = utils.image_dataset_from_directory(root, label_mode="binary", image_size=(2, 2), verbose=False)
    assert binary[0][1].shape == (5, 1)
    first = utils.image_dataset_from_directory(root, image_size=(4, 6), data_format="channels_first",
                                               label_mode=None, shuffle=False, verbose=False)
    assert first[0].shape == (5, 3, 4, 6)


def test_image_dataset_pads_or_crops_to_aspect_ratio(tmp_path):
    _png(tmp_path / "a" / "wide.png", (255, 255, 255), size=(8, 4))  # 8 wide, 4 high
    padded = utils.image_dataset_from_directory(tmp_path, image_size=(8, 8), pad_to_aspect_ratio=True,
                                                interpolation="nearest", verbose=False)[0][0][0]
    # 4 rows of zeros split above and below the white image
    np.testing.assert_array_equal(padded[:2].numpy(), 0)
    np.testing.assert_array_equal(padded[2:6].numpy(), 255)
    np.testing.assert_array_equal(padded[6:].numpy(), 0)
    cropped = utils.image_dataset_from_directory(tmp_path, image_size=(8, 8), crop_to_aspect_ratio=True,
                                                 verbose=False)[0][0][0]
    np.testing.assert_array_equal(cropped.numpy(), 255)
    with pytest.raises(ValueError, match="at most one of"):
        utils.image_dataset_from_directory(tmp_path, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)


def test_image_dataset_from_directory_split_and_fit(tmp_path):
    root = _folder(tmp_path)
    train, val = utils.image_dataset_from_directory(root, image_size=(4, 6), batch_size=2, seed=7,
                                                    validation_split=0.4, subset="both", verbose=False)
    assert len(train.file_paths) == 3 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    model = lamina.Sequential([lamina.Input(shape=(4, 6, 3)), lamina.layers.Rescaling(1 / 255),
                               lamina.layers.Flatten(), lamina.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert set(history.history) >= {"loss", "val_loss", "val_accuracy"}


def test_image_dataset_from_directory_errors(tmp_path):
    root = _folder(tmp_path)
    with pytest.raises(ValueError, match="Received: seed=None"):
        utils.image_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="Received: subset='train'"):
        utils.image_dataset_from_directory(root, validation_split=0.2, subset="train", seed=1)
    with pytest.raises(ValueError, match=r"not found: \['birds'\]"):
        utils.image_dataset_from_directory(root, class_names=["cats", "birds"])
    with pytest.raises(FileNotFoundError, match="Received: directory="):
        utils.image_dataset_from_directory(tmp_path / "nowhere")


def test_text_dataset_from_directory(tmp_path):
    for label, texts in (("neg", ["bad film", "awful"]), ("pos", ["great", "loved it", "fine"])):
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(text)
    ds = utils.text_dataset_from_directory(tmp_path, batch_size=2, shuffle=False, max_length=4, verbose=False)
    texts, labels = zip(*ds)
    assert list(np.concatenate(texts)) == ["bad ", "awfu", "grea", "love", "fine"]
    assert torch.cat(labels).tolist() == [0, 0, 1, 1, 1]
    full = utils.text_dataset_from_directory(tmp_path, verbose=False, seed=0)
    vectorize = lamina.layers.TextVectorization(max_tokens=20, output_mode="count")
    vectorize.adapt(np.concatenate([t for t, _ in full]))
    model = lamina.Sequential([lamina.Input(shape=(), dtype="string"), vectorize, lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(full, epochs=1, verbose=0)
