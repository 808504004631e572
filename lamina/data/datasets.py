"""Real datasets: the small ones bundled with scikit-learn, and loaders for your own
files (CSV tables and folders of images).

The bundled loaders are thin wrappers over `sklearn.datasets` that return
``(x, y)`` as NumPy arrays ready for `fit`: features as `float32`, class labels
as `int64`, regression targets as `float32`. Nothing is downloaded.

`load_csv` reads a table (optionally gzipped) into a feature matrix and a target
vector; `load_image_folder` reads a folder of PNG / JPEG images laid out one
sub-folder per class, as Keras' `image_dataset_from_directory` expects.
"""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np

from lamina.utils import validation

_MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}


# ---------------------------------------------------------------------- bundled
def _classification(bunch_loader: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = bunch_loader(return_X_y=True)
    return x.astype(np.float32), y.astype(np.int64)


def load_digits(images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 handwritten digits of scikit-learn (10 classes).

    Pixel values are integers 0-16 stored as `float32` (divide by 16 to get [0, 1]).

    Args:
        images: Whether to return images of shape `(n, 8, 8, 1)` (channels-last,
            for convolutional models) instead of flat rows `(n, 64)`. Defaults to `False`.

    Returns:
        ``(x, y)``: `float32` pixels and `int64` labels 0-9.

    Example:
        >>> from lamina.data import load_digits
        >>> x, y = load_digits(images=True)
        >>> x.shape, x.dtype, y[:3]
        ((1797, 8, 8, 1), dtype('float32'), array([0, 1, 2]))
    """
    from sklearn.datasets import load_digits as sk_load

    validation.boolean("load_digits", "images", images)
    x, y = _classification(sk_load)
    return (x.reshape(-1, 8, 8, 1) if images else x), y


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """The 150 iris flowers: 4 measurements, 3 species (scikit-learn's copy).

    Returns:
        ``(x, y)``: `float32` features of shape `(150, 4)`, `int64` labels 0-2.

    Example:
        >>> from lamina.data import load_iris
        >>> x, y = load_iris()
        >>> x.shape
        (150, 4)
    """
    from sklearn.datasets import load_iris as sk_load

    return _classification(sk_load)


def load_wine() -> tuple[np.ndarray, np.ndarray]:
    """The 178 wines: 13 chemical measurements, 3 cultivars (scikit-learn's copy).

    Returns:
        ``(x, y)``: `float32` features of shape `(178, 13)`, `int64` labels 0-2.

    Example:
        >>> from lamina.data import load_wine
        >>> x, y = load_wine()
        >>> x.shape
        (178, 13)
    """
    from sklearn.datasets import load_wine as sk_load

    return _classification(sk_load)


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """The 569 Wisconsin breast-cancer biopsies: 30 features, benign (1) or
    malignant (0) (scikit-learn's copy).

    Returns:
        ``(x, y)``: `float32` features of shape `(569, 30)`, `int64` labels 0-1.

    Example:
        >>> from lamina.data import load_breast_cancer
        >>> x, y = load_breast_cancer()
        >>> x.shape
        (569, 30)
    """
    from sklearn.datasets import load_breast_cancer as sk_load

    return _classification(sk_load)


def load_diabetes(scaled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The 442 diabetes patients: 10 baseline variables, disease progression after
    one year as the regression target (scikit-learn's copy).

    Args:
        scaled: Whether the features come mean-centred and scaled as in
            scikit-learn (each column has unit Euclidean norm), else raw values.
            Defaults to `True`.

    Returns:
        ``(x, y)``: `float32` features of shape `(442, 10)`, `float32` targets.

    Example:
        >>> from lamina.data import load_diabetes
        >>> x, y = load_diabetes()
        >>> y.dtype
        dtype('float32')
    """
    from sklearn.datasets import load_diabetes as sk_load

    validation.boolean("load_diabetes", "scaled", scaled)
    x, y = sk_load(return_X_y=True, scaled=scaled)
    return x.astype(np.float32), y.astype(np.float32)


# ---------------------------------------------------------------------- CSV
def _open_text(path: Path) -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return open(path, newline="", encoding="utf-8")


def _column_index(spec: Any, names: list[str], what: str, path: Path) -> int:
    if isinstance(spec, str) and spec in names:
        return names.index(spec)
    if isinstance(spec, int) and not isinstance(spec, bool) and -len(names) <= spec < len(names):
        return spec % len(names)
    raise ValueError(
        f"`load_csv` cannot find the {what} column {spec!r} in {path.name}. "
        f"Received: {what}={spec!r}. The columns are: {', '.join(names)}."
    )


def _parse_numbers(values: list[str], name: str, first_line: int, path: Path) -> np.ndarray:
    """Column of strings to float64, missing cells to NaN; names the first bad cell."""
    cleaned = ["nan" if v.strip().lower() in _MISSING else v for v in values]
    try:
        return np.array(cleaned, dtype=np.float64)
    except ValueError:
        for i, v in enumerate(cleaned):
            try:
                float(v)
            except ValueError:
                raise ValueError(
                    f"`load_csv` expects numeric feature columns. Column {name!r} of {path.name} "
                    f"holds {v!r} on line {first_line + i}. Received: a non-numeric value. "
                    "Encode that column first, or leave it out with `features=`."
                ) from None
        raise


def _parse_target(values: list[str], name: str, first_line: int, path: Path) -> tuple[np.ndarray, list[str] | None]:
    for i, v in enumerate(values):
        if v.strip().lower() in _MISSING:
            raise ValueError(
                f"`load_csv` found a missing target in column {name!r} of {path.name} on line "
                f"{first_line + i}. Received: {v!r}. Drop the rows without a target first."
            )
    try:
        as_float = np.array(values, dtype=np.float64)
    except ValueError:
        classes = sorted(set(values))
        index = {c: i for i, c in enumerate(classes)}
        return np.array([index[v] for v in values], dtype=np.int64), classes
    if np.all(as_float == np.round(as_float)) and all("." not in v and "e" not in v.lower() for v in values):
        return as_float.astype(np.int64), None
    return as_float.astype(np.float32), None


def load_csv(
    path: str | os.PathLike,
    target: str | int | None = None,
    features: list[str | int] | None = None,
    delimiter: str = ",",
    header: bool = True,
    return_info: bool = False,
) -> Any:
    """Reads a CSV table (or a gzipped `.csv.gz`) into ``(x, y)`` NumPy arrays.

    Feature columns must be numeric; empty cells and `NA`, `NaN`, `null`, `?`
    become NaN (impute them before training). The target column becomes `int64`
    when it holds whole numbers written without a decimal point, `float32` when
    it holds other numbers, and class indices `int64` (classes in sorted order)
    when it holds text.

    Args:
        path: Path of the file.
        target: Name (with a header) or position of the target column; None
            returns the whole table as features and `y = None`. Defaults to `None`.
        features: Names or positions of the feature columns, in the order wanted.
            Defaults to `None` (every column but the target).
        delimiter: The field separator. Defaults to `","`.
        header: Whether the first line holds column names (else they are "0", "1", ...).
            Defaults to `True`.
        return_info: Whether to also return a dict with `feature_names`, `target`
            and `class_names` (None for a numeric target). Defaults to `False`.

    Returns:
        ``(x, y)`` with `x` `float32` of shape `(rows, features)`, or
        ``(x, y, info)`` with `return_info=True`.

    Example:
        >>> from lamina.data import load_csv
        >>> x, y = load_csv("houses.csv", target="price")  # doctest: +SKIP
    """
    validation.boolean("load_csv", "header", header)
    validation.boolean("load_csv", "return_info", return_info)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(
            f"`load_csv` expects `delimiter` to be one character. Received: delimiter={delimiter!r}."
        )
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`load_csv` found no file at {str(path)!r}. Received: path={str(path)!r}.")
    with _open_text(path) as f:
        rows = [row for row in csv.reader(f, delimiter=delimiter) if row]
    if not rows or (header and len(rows) < 2):
        raise ValueError(f"`load_csv` found no data rows in {path.name}. Received: path={str(path)!r}.")
    names = [n.strip() for n in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
    data = rows[1:] if header else rows
    first_line = 2 if header else 1
    for i, row in enumerate(data):
        if len(row) != len(names):
            raise ValueError(
                f"`load_csv` expects every line of {path.name} to have {len(names)} fields. "
                f"Received: {len(row)} fields on line {first_line + i}. Check `delimiter` "
                "and quoting."
            )
    columns = list(zip(*data))
    target_index = None if target is None else _column_index(target, names, "target", path)
    if features is None:
        feature_index = [i for i in range(len(names)) if i != target_index]
    else:
        feature_index = [_column_index(f, names, "feature", path) for f in features]
        if target_index in feature_index:
            raise ValueError(
                f"`load_csv` was asked to use the target column {names[target_index]!r} as a "
                f"feature too. Received: features={features!r}, target={target!r}."
            )
    x = np.empty((len(data), len(feature_index)), dtype=np.float32)
    for j, c in enumerate(feature_index):
        x[:, j] = _parse_numbers(list(columns[c]), names[c], first_line, path)
    y, classes = (None, None)
    if target_index is not None:
        y, classes = _parse_target(list(columns[target_index]), names[target_index], first_line, path)
    if return_info:
        info = {
            "feature_names": [names[c] for c in feature_index],
            "target": None if target_index is None else names[target_index],
            "class_names": classes,
        }
        return x, y, info
    return x, y


# ---------------------------------------------------------------------- images
def _image_files(folder: Path, extensions: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in extensions)


def load_image_folder(
    path: str | os.PathLike,
    image_size: tuple[int, int] | None = None,
    color_mode: str = "rgb",
    dtype: str = "float32",
    return_info: bool = False,
) -> Any:
    """Reads a folder of images into ``(x, y)`` NumPy arrays, one class per sub-folder.

    The layout is the one of Keras' `image_dataset_from_directory`::

        path/cats/001.png
        path/cats/002.jpg
        path/dogs/001.png

    Classes are the sub-folder names in sorted order (`y` holds their indices). A
    folder with images and no sub-folders gives `y = None`. Images are read with
    Pillow (PNG, JPEG, BMP, GIF), converted to ``color_mode`` and, with
    ``image_size``, resized (bilinear). Pixel values stay in 0-255, as in Keras:
    add `lamina.layers.Rescaling(1 / 255)` or divide.

    Args:
        path: The root folder.
        image_size: `(height, width)` to resize every image to. Defaults to `None`
            (keep sizes; then all images must have the same size).
        color_mode: `"rgb"` (3 channels), `"grayscale"` (1) or `"rgba"` (4).
            Defaults to `"rgb"`.
        dtype: `"float32"` or `"uint8"` (four times less memory). Defaults to `"float32"`.
        return_info: Whether to also return a dict with `class_names` and `paths`
            (the file of each sample, for error analysis). Defaults to `False`.

    Returns:
        ``(x, y)`` with `x` of shape `(n, height, width, channels)`, or ``(x, y, info)``.

    Example:
        >>> from lamina.data import load_image_folder
        >>> x, y, info = load_image_folder("pets/", image_size=(64, 64), return_info=True)  # doctest: +SKIP
        >>> info["class_names"]  # doctest: +SKIP
        ['cats', 'dogs']
    """
    from PIL import Image

    mode, channels = validation.lookup("color_mode", color_mode, _COLOR_MODES)
    validation.one_of("load_image_folder", "dtype", dtype, ("float32", "uint8"))
    validation.boolean("load_image_folder", "return_info", return_info)
    if image_size is not None:
        size = validation.int_tuple("load_image_folder", "image_size", image_size, 2)
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(
            f"`load_image_folder` found no folder at {str(root)!r}. Received: path={str(root)!r}."
        )
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and _image_files(p, _IMAGE_EXTENSIONS))
    if class_dirs:
        class_names: list[str] | None = [p.name for p in class_dirs]
        files = [(f, k) for k, d in enumerate(class_dirs) for f in _image_files(d, _IMAGE_EXTENSIONS)]
    else:
        class_names = None
        files = [(f, -1) for f in _image_files(root, _IMAGE_EXTENSIONS)]
    if not files:
        raise ValueError(
            f"`load_image_folder` found no images in {str(root)!r} or its sub-folders. "
            f"Received: path={str(root)!r}. Expected files ending in {', '.join(_IMAGE_EXTENSIONS)}."
        )
    arrays = []
    expected: tuple[int, int] | None = None
    for f, _ in files:
        try:
            with Image.open(f) as img:
                img = img.convert(mode)
                if image_size is not None:
                    img = img.resize((size[1], size[0]), Image.BILINEAR)
                arr = np.asarray(img, dtype=np.uint8)
        except OSError as e:
            raise ValueError(
                f"`load_image_folder` could not read {str(f)!r} as an image: {e}. "
                "Remove or replace the file."
            ) from e
        if expected is None:
            expected = arr.shape[:2]
        elif arr.shape[:2] != expected:
            raise ValueError(
                f"`load_image_folder` found images of different sizes: {f.name} is "
                f"{arr.shape[0]}x{arr.shape[1]}, the first one {expected[0]}x{expected[1]} "
                "(height x width). Pass `image_size=(height, width)` to resize them all."
            )
        arrays.append(arr.reshape(*arr.shape[:2], channels))
    x = np.stack(arrays).astype(np.float32 if dtype == "float32" else np.uint8)
    y = None if class_names is None else np.array([k for _, k in files], dtype=np.int64)
    if return_info:
        return x, y, {"class_names": class_names, "paths": [str(f) for f, _ in files]}
    return x, y
