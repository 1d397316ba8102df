"""Images: read a folder of class sub-folders (via Pillow), and check arrays of images.

``read_image_folder`` follows the common layout ``root/<class name>/<image file>`` (as
torchvision's ``ImageFolder``): every sub-folder is a class, and its images are that class's
examples. The images come back as one uint8 array (N, C, H, W), ready for ``learnable.fit``.
Reading takes two passes: the first reads only the file headers (size, colour mode) to size the
array, the second decodes each image straight into it, so no decoded image is kept around.

``as_images`` checks an array or tensor of images and returns it as float32 (N, C, H, W).

Example:
    >>> import numpy as np
    >>> as_images(np.zeros((5, 28, 28), dtype=np.uint8)).shape
    (5, 1, 28, 28)
    >>> # images, labels, classes = read_image_folder("digits/", size=(28, 28))
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from learnable.utils.validation import check_choice, is_whole

COLORS = ("auto", "grey", "gray", "rgb")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")  # one colour band (LA: plus alpha)
ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


class ImageFolder(NamedTuple):
    """What :func:`read_image_folder` returns; unpacks as ``images, labels, classes``."""

    images: np.ndarray  # (N, C, H, W) uint8
    labels: np.ndarray  # (N,) str: each image's class (its sub-folder's name)
    classes: list[str]  # the sub-folder names, sorted


def read_image_folder(path: str | Path, *, size: tuple[int, int] | None = None, color: str = "auto") -> ImageFolder:
    """Read ``path/<class>/<image>`` files into a uint8 array (N, C, H, W), with their class labels.

    Use it to train on your own pictures: one sub-folder per class, any format Pillow reads (png,
    jpg, bmp, gif, tiff, webp...). Classes and files are sorted by name, so the order is the same
    on every machine. Hidden files and files that are not images by their extension are skipped.

    Args:
        path: the folder holding one sub-folder per class.
        size: ``(height, width)`` to resize every image to (bilinear); without it all images must
            already share one size.
        color: "grey" (C=1), "rgb" (C=3; alpha is dropped), or "auto": grey when every image has a
            single colour band (a palette image counts as grey when its palette is grey), else rgb.

    Returns:
        ``ImageFolder(images, labels, classes)``: images (N, C, H, W) uint8, labels (N,) str, the
        sorted class names.

    Example:
        >>> images, labels, classes = read_image_folder("pets/", size=(64, 64))   # doctest: +SKIP
        >>> images.shape, classes                                                  # doctest: +SKIP
        ((120, 3, 64, 64), ['cat', 'dog'])
    """
    root, size = _check_arguments(path, size, color)
    folders = _class_folders(root)
    files = [_image_files(folder) for folder in folders]
    counts = [len(f) for f in files]
    files = [file for group in files for file in group]
    headers = np.array([_header(file, root) for file in files], dtype=np.int64)  # (N, 3): height, width, grey
    grey = bool(headers[:, 2].all()) if color == "auto" else color in ("grey", "gray")
    height, width = size if size is not None else _common_size(files, headers, root)
    images = np.empty((len(files), 1 if grey else 3, height, width), dtype=np.uint8)
    for i, file in enumerate(files):
        images[i] = _decode(file, root, grey, (height, width))  # (C, H, W)
    classes = [folder.name for folder in folders]
    return ImageFolder(images, np.repeat(np.array(classes), counts), classes)


def _check_arguments(path: Any, size: Any, color: Any) -> tuple[Path, tuple[int, int] | None]:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a folder path (str or Path), got {type(path).__name__}.")
    root = Path(path).expanduser()
    if not root.exists():
        raise ValueError(f"image folder '{root}' does not exist; pass the folder that holds one sub-folder per class.")
    if not root.is_dir():
        raise ValueError(
            f"'{root}' is a file, not a folder; pass the folder that holds one sub-folder per class "
            "(root/<class>/<image>)."
        )
    check_choice("color", color, COLORS)
    if size is None:
        return root, None
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(is_whole(s) and s > 0 for s in size)):
        raise ValueError(f"size={size!r} must be (height, width) in whole pixels, e.g. (28, 28).")
    return root, (int(size[0]), int(size[1]))


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _class_folders(root: Path) -> list[Path]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    if not folders:
        raise ValueError(
            f"'{root}' has no class sub-folders; put each class's images in a sub-folder named after "
            "the class, e.g. root/cat/1.jpg and root/dog/1.jpg."
        )
    return folders


def _image_files(folder: Path) -> list[Path]:
    extensions = Image.registered_extensions()  # ".png" -> "PNG", ... for every format Pillow reads
    files = sorted(p for p in folder.iterdir() if p.is_file() and _visible(p) and p.suffix.lower() in extensions)
    if not files:
        known = ", ".join(sorted({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".webp"}))
        raise ValueError(
            f"class folder '{folder}' has no images (files ending in {known}, ...); add images to it or "
            "remove the folder."
        )
    return files


def _unreadable(file: Path, root: Path, error: Exception) -> ValueError:
    return ValueError(
        f"image '{file.relative_to(root)}' in '{root}' cannot be read ({type(error).__name__}: {error}); "
        "it is damaged or not an image. Replace or remove the file."
    )


def _header(file: Path, root: Path) -> tuple[int, int, bool]:
    """(height, width, grey) from the file's header, as the image will be read (EXIF rotation applied).

    An image of more pixels than Pillow's decompression-bomb limit is refused here, before it is
    decoded: a 300 KB PNG can hold 10,000 x 10,000 pixels (300 MB to decode) or more.
    """
    with _open(file, root) as image:
        _check_pixels(image, file, root)  # before getexif, which decodes a PNG whole
        try:
            width, height = image.size
            if image.getexif().get(0x0112) in ROTATED:
                width, height = height, width
            return height, width, _is_grey(image)
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as error:
            raise _unreadable(file, root, error) from None


def _open(file: Path, root: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():  # a bomb is refused by _check_pixels, more clearly than Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(file)
    except Image.DecompressionBombError:  # over twice Pillow's limit: it refuses to open the file at all
        raise _too_large(file, root, "has") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as error:
        raise _unreadable(file, root, error) from None


def _check_pixels(image: Image.Image, file: Path, root: Path) -> None:
    width, height = image.size
    if Image.MAX_IMAGE_PIXELS is not None and height * width > Image.MAX_IMAGE_PIXELS:
        raise _too_large(file, root, f"is {height}x{width} pixels,")


def _too_large(file: Path, root: Path, what: str) -> ValueError:
    return ValueError(f"image '{file.relative_to(root)}' in '{root}' {what} more than the {Image.MAX_IMAGE_PIXELS:,} "
                      "pixels Pillow decodes safely (a small file can hold a huge image); shrink it, or remove it if "
                      "it is not one of your pictures.")


def _is_grey(image: Image.Image) -> bool:
    if image.mode in GREY_MODES:
        return True
    if image.mode in ("P", "PA"):
        colors = np.asarray(image.getpalette() or [], dtype=np.uint8).reshape(-1, 3)  # (entries, RGB)
        return bool((colors == colors[:, :1]).all())
    return False


def _common_size(files: list[Path], headers: np.ndarray, root: Path) -> tuple[int, int]:
    """The one (height, width) all images share, from their headers (N, 3); else an error naming two files."""
    height, width = (int(v) for v in headers[0, :2])
    other = np.flatnonzero((headers[:, 0] != height) | (headers[:, 1] != width))
    if len(other):
        h, w = headers[other[0], :2]
        raise ValueError(
            f"images differ in size: '{files[0].relative_to(root)}' is {height}x{width} (height x width) "
            f"but '{files[other[0]].relative_to(root)}' is {h}x{w}; pass size=(height, width) to resize them all."
        )
    return height, width


def _decode(file: Path, root: Path, grey: bool, size: tuple[int, int]) -> np.ndarray:
    """One image as uint8 (C, H, W): EXIF rotation applied, converted to grey or RGB, resized."""
    try:
        with Image.open(file) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith("I;16"):  # 16-bit grey: keep the top 8 bits, not a clipped copy
                image = Image.fromarray((np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8))
            if image.mode in ("I", "F"):  # 32-bit integers or floats: no fixed range to map to 0-255
                kind = "float" if image.mode == "F" else "integer"
                raise TypeError(f"image '{file.relative_to(root)}' has 32-bit {kind}"
                                f" pixels (Pillow mode {image.mode}), which have no fixed range to read as 0-255; "
                                "save it as an 8-bit (or 16-bit) image first.")
            image = image.convert("L" if grey else "RGB")
            if image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image)  # (H, W) or (H, W, 3)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise _unreadable(file, root, error) from None
    return pixels[None] if grey else pixels.transpose(2, 0, 1)


def as_images(X: Any) -> Any:
    """Check images and return them as float32 (N, C, H, W): a numpy array, or a tensor for a tensor.

    Use it before handing images to a CNN: (N, H, W) gets one channel, (N, C, H, W) stays; other
    ranks, channels-last arrays, non-numbers and NaN or infinite pixels are refused with a clear error.

    Args:
        X: images as a numpy array, torch tensor or nested list, shape (N, H, W) or (N, C, H, W).

    Example:
        >>> as_images(np.ones((2, 3, 8, 8), dtype=np.uint8)).dtype
        dtype('float32')
    """
    if isinstance(X, torch.Tensor):
        _check_shape(tuple(X.shape))
        if X.is_complex():
            raise TypeError(f"images must be real pixel values, got a {X.dtype} tensor; take X.real or X.abs().")
        X = X.float()
        _check_finite((~torch.isfinite(X)).flatten(1).any(1).cpu().numpy())  # (N,) bool
        return X.unsqueeze(1) if X.dim() == 3 else X
    array = np.asarray(X)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"images must be numbers (pixel values), got an array of dtype {array.dtype}; convert them with "
            "np.asarray(images, dtype=np.float32), or read files with read_image_folder."
        )
    _check_shape(array.shape)
    array = array.astype(np.float32, copy=False)
    _check_finite(~np.isfinite(array).reshape(len(array), -1).all(axis=1))  # (N,) bool
    return array[:, None] if array.ndim == 3 else array


def _check_shape(shape: tuple[int, ...]) -> None:
    if len(shape) not in (3, 4):
        raise ValueError(
            f"images have shape {shape}; expected (N, H, W) or (N, C, H, W). Flat rows of pixels "
            "(N, H*W) can be reshaped with X.reshape(-1, 1, H, W)."
        )
    if len(shape) == 4 and shape[1] > 4 and shape[3] in (1, 3, 4):
        raise ValueError(
            f"images have shape {shape}, which looks channels-last (N, H, W, C); learnable expects "
            "(N, C, H, W). Move the channels with X.transpose(0, 3, 1, 2) (numpy) or X.permute(0, 3, 1, 2)."
        )
    if shape[0] == 0 or 0 in shape[1:]:
        raise ValueError(f"images have shape {shape}; expected at least one image of at least 1x1 pixels.")


def _check_finite(bad: np.ndarray) -> None:
    """Raise naming the images whose flag in ``bad`` (N,) is set."""
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{len(rows)} image(s) hold NaN or infinite pixels (image indices {rows[:5].tolist()}"
            f"{' ...' if len(rows) > 5 else ''}); fix or drop those images."
        )
