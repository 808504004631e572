"""Bundled datasets (parity with scikit-learn) and loaders for CSV files and image folders."""

import doctest
import gzip

import numpy as np
import pytest
import sklearn.datasets as skd
from PIL import Image

from lamina import data
from lamina.data import datasets, leakage, scaling, splits


@pytest.mark.parametrize(
    "name, shape",
    [("load_iris", (150, 4)), ("load_wine", (178, 13)), ("load_breast_cancer", (569, 30)), ("load_digits", (1797, 64))],
)
def test_bundled_classification_datasets_match_sklearn(name, shape):
    x, y = getattr(data, name)()
    ref_x, ref_y = getattr(skd, name)(return_X_y=True)
    assert x.shape == shape and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x, ref_x.astype(np.float32))
    np.testing.assert_array_equal(y, ref_y)


def test_load_digits_images_are_channels_last():
    flat, y = data.load_digits()
    images, y2 = data.load_digits(images=True)
    assert images.shape == (1797, 8, 8, 1)
    np.testing.assert_array_equal(images.reshape(1797, 64), flat)
    np.testing.assert_array_equal(images[0, :, :, 0], skd.load_digits().images[0])
    np.testing.assert_array_equal(y, y2)


def test_load_diabetes_is_a_float_regression_target():
    x, y = data.load_diabetes()
    ref_x, ref_y = skd.load_diabetes(return_X_y=True)
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_allclose(y, ref_y)
    raw, _ = data.load_diabetes(scaled=False)
    np.testing.assert_allclose(raw, skd.load_diabetes(return_X_y=True, scaled=False)[0], rtol=1e-6)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_reads_features_and_integer_target(tmp_path):
    path = _write(tmp_path / "t.csv", "a,b,label\n1.5,2,0\n3,,1\n-1e2,NA,1\n")
    x, y, info = data.load_csv(path, target="label", return_info=True)
    np.testing.assert_array_equal(x, np.array([[1.5, 2], [3, np.nan], [-100, np.nan]], dtype=np.float32))
    assert x.dtype == np.float32
    np.testing.assert_array_equal(y, [0, 1, 1])
    assert y.dtype == np.int64
    assert info == {"feature_names": ["a", "b"], "target": "label", "class_names": None}


def test_load_csv_encodes_text_labels_and_selects_features(tmp_path):
    path = _write(tmp_path / "t.csv", "name,size,kind,weight\nx,1,dog,10\ny,2,cat,4\nz,3,dog,12\n")
    x, y, info = data.load_csv(path, target="kind", features=["weight", "size"], return_info=True)
    np.testing.assert_array_equal(x, [[10, 1], [4, 2], [12, 3]])
    np.testing.assert_array_equal(y, [1, 0, 1])
    assert info["class_names"] == ["cat", "dog"] and info["feature_names"] == ["weight", "size"]


def test_load_csv_float_target_no_header_delimiter_and_gzip(tmp_path):
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("1;2;0.5\n3;4;1.0\n")
    x, y = data.load_csv(path, target=-1, delimiter=";", header=False)
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [0.5, 1.0])
    x, y = data.load_csv(path, delimiter=";", header=False)
    assert x.shape == (2, 3) and y is None


def test_load_csv_errors_name_column_line_and_value(tmp_path):
    path = _write(tmp_path / "t.csv", "a,city,y\n1,3,0\n2,Paris,1\n")
    with pytest.raises(ValueError, match=r"Column 'city' of t.csv holds 'Paris' on line 3"):
        data.load_csv(path, target="y")
    with pytest.raises(ValueError, match=r"cannot find the target column 'price' in t.csv.*The columns are: a, city, y"):
        data.load_csv(path, target="price")
    path = _write(tmp_path / "m.csv", "a,y\n1,0\n2,\n")
    with pytest.raises(ValueError, match=r"missing target in column 'y' of m.csv on line 3"):
        data.load_csv(path, target="y")
    path = _write(tmp_path / "r.csv", "a,y\n1,0\n2,1,5\n")
    with pytest.raises(ValueError, match=r"expects every line of r.csv to have 2 fields. Received: 3 fields on line 3"):
        data.load_csv(path, target="y")
    with pytest.raises(FileNotFoundError, match=r"found no file at"):
        data.load_csv(tmp_path / "absent.csv")


def _image_folder(tmp_path):
    rng = np.random.default_rng(0)
    pixels = {}
    for cls, n in (("dogs", 2), ("cats", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            arr = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / cls / f"{i}.png")
            pixels[f"{cls}/{i}.png"] = arr
    (tmp_path / "notes.txt").write_text("not an image")
    return pixels


def test_load_image_folder_reads_classes_pixels_and_paths(tmp_path):
    pixels = _image_folder(tmp_path)
    x, y, info = data.load_image_folder(tmp_path, return_info=True)
    assert x.shape == (5, 5, 4, 3) and x.dtype == np.float32
    assert info["class_names"] == ["cats", "dogs"]
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1])
    for arr, path in zip(x, info["paths"]):
        key = "/".join(path.replace("\\", "/").split("/")[-2:])
        np.testing.assert_array_equal(arr, pixels[key].astype(np.float32))  # PNG is lossless, 0-255 kept


def test_load_image_folder_color_mode_resize_and_dtype(tmp_path):
    pixels = _image_folder(tmp_path)
    gray, _ = data.load_image_folder(tmp_path, color_mode="grayscale", dtype="uint8")
    assert gray.shape == (5, 5, 4, 1) and gray.dtype == np.uint8
    expected = np.asarray(Image.fromarray(pixels["cats/0.png"]).convert("L"))
    np.testing.assert_array_equal(gray[0, :, :, 0], expected)
    resized, _ = data.load_image_folder(tmp_path, image_size=(8, 6))
    assert resized.shape == (5, 8, 6, 3)


def test_load_image_folder_flat_folder_and_jpeg(tmp_path):
    Image.fromarray(np.full((3, 3, 3), 200, dtype=np.uint8)).save(tmp_path / "a.jpg")
    x, y = data.load_image_folder(tmp_path)
    assert y is None and x.shape == (1, 3, 3, 3)
    assert np.abs(x - 200).max() <= 2  # JPEG is lossy, but a flat colour survives


def test_load_image_folder_errors(tmp_path):
    with pytest.raises(ValueError, match=r"found no images in"):
        data.load_image_folder(tmp_path)
    Image.fromarray(np.zeros((3, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((4, 3), dtype=np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(ValueError, match=r"different sizes: b.png is 4x3, the first one 3x3.*Pass `image_size"):
        data.load_image_folder(tmp_path)
    with pytest.raises(ValueError, match=r"Unknown color_mode name: 'cmyk'. Valid names are: grayscale, rgb, rgba"):
        data.load_image_folder(tmp_path, color_mode="cmyk")
    (tmp_path / "c.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"could not read .*c.png.* as an image"):
        data.load_image_folder(tmp_path, image_size=(3, 3))


@pytest.mark.parametrize("module", [data, datasets, splits, scaling, leakage])
def test_data_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
