"""Datasets from folders of files, one sub-folder per class:
`image_dataset_from_directory` and `text_dataset_from_directory`.

Files are indexed once and read batch by batch (images with Pillow), as Keras
does; the result is a `PyDataset` of batches that `fit` takes directly.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from lamina.utils.dataset_utils import BatchDataset
from lamina.utils.image_utils import _COLOR_MODES, load_img, resize_image

_IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_LABEL_MODES = ("int", "categorical", "binary", None)


def _fail(owner: str, what: str, received: str, fix: str = "") -> None:
    raise ValueError(f"`{owner}` expects {what}. Received: {received}." + (f" {fix}" if fix else ""))


def _walk(folder: str, extensions: tuple[str, ...], follow_links: bool) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=follow_links):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(extensions)]
    return found


def _index_directory(
    owner: str, directory: Any, labels: Any, class_names: Any, extensions: tuple[str, ...], follow_links: bool
) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """Files (class by class, each sorted), their labels and the class names."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"`{owner}` found no folder at {directory!r}. Received: directory={directory!r}.")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
        if class_names is not None:
            missing = sorted(set(class_names) - set(subdirs))
            if missing:
                _fail(owner, "`class_names` to name sub-folders of `directory`",
                      f"class_names={list(class_names)!r} (not found: {missing})",
                      f"The sub-folders are {subdirs}.")
            subdirs = list(class_names)
        paths: list[str] = []
        ids: list[int] = []
        for k, sub in enumerate(subdirs):
            files = _walk(os.path.join(directory, sub), extensions, follow_links)
            paths += files
            ids += [k] * len(files)
        return paths, np.asarray(ids, dtype=np.int64), subdirs
    if class_names is not None:
        _fail(owner, '`class_names` only with `labels="inferred"`', f"labels={labels!r}, class_names={class_names!r}")
    paths = _walk(directory, extensions, follow_links)
    if labels is None:
        return paths, None, None
    values = np.asarray(labels)
    if values.ndim != 1 or len(values) != len(paths):
        _fail(owner, f"`labels` to hold one label per file ({len(paths)} files found, in "
              "alphanumeric order of their paths)", f"{len(values)} labels",
              'Pass one label per file, or `labels="inferred"` to use the sub-folders.')
    return paths, values, None


def _prepare(
    owner: str, directory: Any, labels: Any, label_mode: Any, class_names: Any, shuffle: bool, seed: Any,
    validation_split: Any, subset: Any, follow_links: bool, extensions: tuple[str, ...], verbose: bool,
) -> tuple[list[tuple[list[str], np.ndarray | None, bool]], list[str] | None, Any, Any, str]:
    if not (labels in ("inferred", None) or isinstance(labels, (list, tuple, np.ndarray))):
        _fail(owner, '`labels` to be "inferred", None, or a list/tuple of one label per file',
              f"labels={labels!r}")
    if label_mode not in _LABEL_MODES:
        _fail(owner, "`label_mode` to be one of 'int', 'categorical', 'binary' or None",
              f"label_mode={label_mode!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if subset not in (None, "training", "validation", "both"):
        _fail(owner, "`subset` to be one of 'training', 'validation', 'both' or None", f"subset={subset!r}")
    if (validation_split is None) != (subset is None):
        _fail(owner, "`validation_split` and `subset` to be passed together",
              f"validation_split={validation_split!r}, subset={subset!r}",
              'Pass e.g. `validation_split=0.2, subset="training"`.')
    if validation_split is not None and not 0 < validation_split < 1:
        _fail(owner, "`validation_split` to be a float between 0 and 1", f"validation_split={validation_split!r}")
    if validation_split and shuffle and seed is None:
        _fail(owner, "a `seed` when `validation_split` is used with shuffling (so that the training "
              "and validation subsets do not overlap)", "seed=None", "Pass e.g. `seed=1337` to both calls.")
    paths, ids, names = _index_directory(owner, directory, labels, class_names, extensions, follow_links)
    if not paths:
        raise ValueError(
            f"`{owner}` found no files in {os.fspath(directory)!r} ending in {', '.join(extensions)}. "
            f"Received: directory={os.fspath(directory)!r}. Check the path and the folder layout."
        )
    if label_mode == "binary" and names is not None and len(names) != 2:
        _fail(owner, 'exactly 2 classes with `label_mode="binary"`', f"class_names={names!r}",
              'Use `label_mode="int"` or `"categorical"` for more classes.')
    num_classes = len(names) if names is not None else (int(ids.max()) + 1 if ids is not None and len(ids) else 0)
    if verbose:
        print(f"Found {len(paths)} files" + (f" belonging to {num_classes} classes." if ids is not None else "."))
    if seed is None:
        seed = int(np.random.randint(1_000_000))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        ids = None if ids is None else ids[order]
    splits = []
    n_val = int(validation_split * len(paths)) if validation_split else 0
    n_train = len(paths) - n_val
    if subset in (None, "training", "both"):
        if subset is not None and verbose:
            print(f"Using {n_train} files for training.")
        splits.append((paths[:n_train], None if ids is None else ids[:n_train], shuffle))
    if subset in ("validation", "both"):
        if verbose:
            print(f"Using {n_val} files for validation.")
        splits.append((paths[n_train:], None if ids is None else ids[n_train:], False))
    return splits, names, label_mode, seed, num_classes


def _encode_labels(ids: np.ndarray, label_mode: str, num_classes: int) -> Any:
    if label_mode == "int":
        return torch.from_numpy(ids.astype(np.int32))
    if label_mode == "binary":
        return torch.from_numpy(ids.astype(np.float32).reshape(-1, 1))
    one_hot = np.zeros((len(ids), num_classes), dtype=np.float32)
    one_hot[np.arange(len(ids)), ids] = 1.0
    return torch.from_numpy(one_hot)


def _datasets(splits: list, read: Any, label_mode: Any, num_classes: int, batch_size: Any, seed: int,
              names: Any) -> Any:
    out = []
    for paths, ids, shuffle in splits:
        def take(idx: np.ndarray, paths: list[str] = paths, ids: Any = ids) -> Any:
            x = read([paths[i] for i in idx])
            if label_mode is None or ids is None:
                return x
            return x, _encode_labels(ids[idx], label_mode, num_classes)

        ds = BatchDataset(len(paths), take, batch_size, shuffle=shuffle, seed=seed)
        ds.class_names = names
        ds.file_paths = list(paths)
        out.append(ds)
    return out[0] if len(out) == 1 else tuple(out)


def image_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: list[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format: str | None = None,
    verbose: bool = True,
) -> Any:
    """Generates a dataset of image batches from the image files in a directory.

    With `labels="inferred"` the layout is one sub-folder per class::

        main_directory/
        ...class_a/
        ......a_image_1.jpg
        ...class_b/
        ......b_image_1.png

    Supported formats: `.bmp`, `.gif`, `.jpeg`, `.jpg`, `.png`. Images are read
    with Pillow batch by batch and resized to `image_size`; values stay in 0-255.

    Args:
        directory: Folder of the data.
        labels: `"inferred"` (from the sub-folders), `None` (no labels), or a
            list/tuple of integer labels, one per file in alphanumeric order of
            the paths. Defaults to `"inferred"`.
        label_mode: `"int"` (int32 labels, for `sparse_categorical_crossentropy`),
            `"categorical"` (one-hot float32), `"binary"` (float32 of shape
            `(batch, 1)`, exactly 2 classes) or `None` (images only). Defaults to `"int"`.
        class_names: Explicit sub-folder names and their order (only with
            `labels="inferred"`). Defaults to `None` (alphanumeric order).
        color_mode: `"grayscale"`, `"rgb"` or `"rgba"`. Defaults to `"rgb"`.
        batch_size: Images per batch, or `None` for single images. Defaults to `32`.
        image_size: `(height, width)` to resize images to. Defaults to `(256, 256)`.
        shuffle: Whether to shuffle the files (and reshuffle the training
            batches every epoch). Defaults to `True`.
        seed: Random seed for shuffling. Defaults to `None`.
        validation_split: Fraction of the files to keep for validation.
            Defaults to `None`.
        subset: `"training"`, `"validation"` or `"both"` (then a tuple of two
            datasets); only with `validation_split`. Defaults to `None`.
        interpolation: Resampling when resizing: `"bilinear"`, `"nearest"`,
            `"bicubic"`, `"lanczos"`, `"box"` or `"hamming"`. Defaults to `"bilinear"`.
        follow_links: Whether to follow symbolic links to sub-folders.
            Defaults to `False`.
        crop_to_aspect_ratio: Whether to crop the centre of each image to the
            target aspect ratio before resizing (no distortion). Defaults to `False`.
        pad_to_aspect_ratio: Whether to pad each image (centred, with zeros) to the
            target aspect ratio before resizing (no distortion, nothing cut).
            Defaults to `False`.
        data_format: `"channels_last"` (batches `(batch, height, width, channels)`)
            or `"channels_first"`. Defaults to `None` (`"channels_last"`).
        verbose: Whether to print the number of files and classes found.
            Defaults to `True`.

    Returns:
        A `PyDataset` of batches `(images, labels)` (`images` float32 of shape
        `(batch_size, height, width, channels)`), with `class_names` and
        `file_paths` attributes; or a tuple of two with `subset="both"`.

    Example:
        >>> train_ds, val_ds = image_dataset_from_directory(  # doctest: +SKIP
        ...     "pets/", validation_split=0.2, subset="both", seed=1337, image_size=(64, 64))
        >>> model.fit(train_ds, validation_data=val_ds, epochs=3)  # doctest: +SKIP
    """
    owner = "image_dataset_from_directory"
    if color_mode not in _COLOR_MODES:
        _fail(owner, "`color_mode` to be one of 'grayscale', 'rgb', 'rgba'", f"color_mode={color_mode!r}")
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in image_size)):
        _fail(owner, "`image_size` to be a tuple of two positive integers (height, width)",
              f"image_size={image_size!r}")
    size = (int(image_size[0]), int(image_size[1]))
    resize_image(_blank(), size, interpolation, False, owner)  # checks `interpolation` now, not at the first batch
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        _fail(owner, "at most one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` to be True",
              "crop_to_aspect_ratio=True, pad_to_aspect_ratio=True")
    if data_format not in (None, "channels_last", "channels_first"):
        _fail(owner, "`data_format` to be 'channels_last' or 'channels_first'", f"data_format={data_format!r}")
    splits, names, label_mode, seed, num_classes = _prepare(
        owner, directory, labels, label_mode, class_names, shuffle, seed, validation_split, subset,
        follow_links, _IMAGE_EXTENSIONS, verbose)
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]

    def read(paths: list[str]) -> torch.Tensor:
        batch = np.empty((len(paths), size[0], size[1], channels), dtype=np.float32)
        for i, path in enumerate(paths):
            img = load_img(path, color_mode=color_mode)
            img = resize_image(img, size, interpolation, crop_to_aspect_ratio, owner, pad_to_aspect_ratio)
            batch[i] = np.asarray(img, dtype=np.float32).reshape(size[0], size[1], channels)
        if data_format == "channels_first":
            batch = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
        return torch.from_numpy(batch)

    return _datasets(splits, read, label_mode, num_classes, batch_size, seed, names)


def _blank() -> Any:
    from PIL import Image

    return Image.new("L", (1, 1))


def text_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: list[str] | None = None,
    batch_size: int | None = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
) -> Any:
    """Generates a dataset of text batches from the `.txt` files in a directory.

    The layout and the arguments are those of `image_dataset_from_directory`;
    each batch of texts is a NumPy array of Python strings, which `fit` hands to
    a first `TextVectorization` layer.

    Args:
        directory: Folder of the data (one sub-folder per class with
            `labels="inferred"`).
        labels: `"inferred"`, `None`, or one integer label per file.
            Defaults to `"inferred"`.
        label_mode: `"int"`, `"categorical"`, `"binary"` or `None`. Defaults to `"int"`.
        class_names: Explicit sub-folder names and order. Defaults to `None`.
        batch_size: Texts per batch, or `None` for single texts. Defaults to `32`.
        max_length: Most characters kept of each text. Defaults to `None` (all).
        shuffle: Whether to shuffle the files. Defaults to `True`.
        seed: Random seed for shuffling. Defaults to `None`.
        validation_split: Fraction kept for validation. Defaults to `None`.
        subset: `"training"`, `"validation"` or `"both"`. Defaults to `None`.
        follow_links: Whether to follow symbolic links. Defaults to `False`.
        verbose: Whether to print the number of files found. Defaults to `True`.

    Returns:
        A `PyDataset` of batches `(texts, labels)`, with `class_names`; or a tuple
        of two with `subset="both"`.

    Example:
        >>> train_ds = text_dataset_from_directory("aclImdb/train", batch_size=64)  # doctest: +SKIP
    """
    owner = "text_dataset_from_directory"
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length <= 0):
        _fail(owner, "`max_length` to be a positive integer or None", f"max_length={max_length!r}")
    splits, names, label_mode, seed, num_classes = _prepare(
        owner, directory, labels, label_mode, class_names, shuffle, seed, validation_split, subset,
        follow_links, (".txt",), verbose)

    def read(paths: list[str]) -> np.ndarray:
        texts = []
        for path in paths:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            texts.append(text[:max_length] if max_length is not None else text)
        return np.array(texts, dtype=object)

    return _datasets(splits, read, label_mode, num_classes, batch_size, seed, names)
