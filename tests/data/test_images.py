"""Image folders read with Pillow, and image arrays checked: shapes, colours, resizing, every error."""

import numpy as np
import pytest
import torch
from PIL import Image

from learnable.data import as_images, read_image_folder


def _write(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def _grey(seed, size=(6, 5)):
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)


@pytest.fixture
def grey_folder(tmp_path):
    """Two classes of 6x5 grey PNGs, written in an order unlike the sorted one."""
    pixels = {}
    for name, seed in [("b/2.png", 0), ("a/1.png", 1), ("b/1.png", 2), ("a/0.png", 3)]:
        pixels[name] = _write(tmp_path / name, _grey(seed))
    return tmp_path, pixels


# ---- reading folders ---------------------------------------------------------------------------------
def test_grey_folder_is_read_sorted_with_exact_pixels(grey_folder):
    root, pixels = grey_folder
    images, labels, classes = read_image_folder(root)
    assert classes == ["a", "b"]
    assert images.dtype == np.uint8 and images.shape == (4, 1, 6, 5)
    assert labels.tolist() == ["a", "a", "b", "b"]
    for i, name in enumerate(["a/0.png", "a/1.png", "b/1.png", "b/2.png"]):
        np.testing.assert_array_equal(images[i, 0], pixels[name])


def test_rgb_images_come_channels_first(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (4, 7, 3), dtype=np.uint8)
    _write(tmp_path / "cat" / "x.png", rgb)
    _write(tmp_path / "dog" / "y.bmp", rgb[::-1].copy())
    images, labels, _ = read_image_folder(tmp_path)
    assert images.shape == (2, 3, 4, 7)
    np.testing.assert_array_equal(images[0], rgb.transpose(2, 0, 1))
    np.testing.assert_array_equal(images[1], rgb[::-1].transpose(2, 0, 1))
    assert labels.tolist() == ["cat", "dog"]


def test_auto_colour_is_rgb_when_any_image_has_colour_and_grey_images_are_repeated(tmp_path):
    grey = _write(tmp_path / "a" / "g.png", _grey(0, (4, 4)))
    _write(tmp_path / "b" / "c.png", np.zeros((4, 4, 3), dtype=np.uint8))
    images, _, _ = read_image_folder(tmp_path)
    assert images.shape == (2, 3, 4, 4)
    for channel in range(3):
        np.testing.assert_array_equal(images[0, channel], grey)


def test_colour_can_be_forced_to_grey_as_pillow_converts_it(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    _write(tmp_path / "a" / "c.png", rgb)
    images, _, _ = read_image_folder(tmp_path, color="grey")
    np.testing.assert_array_equal(images[0, 0], np.asarray(Image.fromarray(rgb).convert("L")))
    assert read_image_folder(tmp_path, color="rgb").images.shape == (1, 3, 4, 4)


def test_a_grey_palette_gif_reads_as_grey(tmp_path):
    pixels = _grey(0, (5, 5))
    _write(tmp_path / "a" / "g.png", pixels)
    Image.fromarray(pixels).save(tmp_path / "a" / "h.gif")  # a palette ("P") image of grey colours
    images, _, _ = read_image_folder(tmp_path)
    assert images.shape == (2, 1, 5, 5)
    np.testing.assert_array_equal(images[1, 0], pixels)


def test_size_resizes_like_pillow_and_allows_mixed_sizes(tmp_path):
    big = _write(tmp_path / "a" / "big.png", _grey(0, (12, 10)))
    _write(tmp_path / "b" / "small.png", _grey(1, (3, 4)))
    images, _, _ = read_image_folder(tmp_path, size=(6, 8))
    assert images.shape == (2, 1, 6, 8)
    expected = np.asarray(Image.fromarray(big).resize((8, 6), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(images[0, 0], expected)


def test_hidden_and_non_image_files_are_skipped(grey_folder):
    root, _ = grey_folder
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "a" / ".DS_Store").write_bytes(b"\0\1")
    (root / ".cache").mkdir()
    (root / "README.md").write_text("a file beside the class folders")
    images, labels, classes = read_image_folder(root)
    assert len(images) == 4 and classes == ["a", "b"]


def test_sixteen_bit_grey_keeps_its_top_eight_bits(tmp_path):
    pixels = np.array([[0, 256, 65535], [1000, 30000, 512]], dtype=np.uint16)
    (tmp_path / "a").mkdir()
    Image.fromarray(pixels).save(tmp_path / "a" / "deep.png")
    images, _, _ = read_image_folder(tmp_path)
    np.testing.assert_array_equal(images[0, 0], (pixels >> 8).astype(np.uint8))


def test_mnist_digits_round_trip_through_png_files(tmp_path):
    import learnable

    digits = learnable.data.datasets.load("digits")
    pixels = (digits.images[:6, 0] * 255 / 16).round().astype(np.uint8)  # 0..16 -> 0..255
    for i, (image, label) in enumerate(zip(pixels, digits.y[:6], strict=True)):
        _write(tmp_path / str(label) / f"{i:03d}.png", image)
    images, labels, classes = read_image_folder(tmp_path)
    order = np.argsort([f"{label}/{i:03d}" for i, label in enumerate(digits.y[:6])])
    np.testing.assert_array_equal(images[:, 0], pixels[order])
    assert labels.tolist() == [str(v) for v in np.asarray(digits.y[:6])[order]]
    assert classes == sorted({str(v) for v in digits.y[:6]})


# ---- errors ---------------------------------------------------------------------------------------------
def test_missing_path(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_image_folder(tmp_path / "nowhere")


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        read_image_folder(tmp_path / "x.png")


def test_no_class_sub_folders(tmp_path):
    _write(tmp_path / "loose.png", _grey(0))  # images straight in the root: no classes
    with pytest.raises(ValueError, match="no class sub-folders.*root/cat/1.jpg"):
        read_image_folder(tmp_path)


def test_empty_class_folder_is_named(grey_folder):
    root, _ = grey_folder
    (root / "c").mkdir()
    (root / "c" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"class folder '.*c' has no images"):
        read_image_folder(root)


def test_corrupt_image_is_named(grey_folder):
    root, _ = grey_folder
    (root / "b" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(ValueError, match=r"image 'b/0.png' .* cannot be read.*Replace or remove"):
        read_image_folder(root)


def test_truncated_image_is_named(grey_folder):
    root, _ = grey_folder
    whole = (root / "a" / "0.png").read_bytes()
    (root / "a" / "0.png").write_bytes(whole[: len(whole) // 2])  # a valid header, half the data
    with pytest.raises(ValueError, match=r"image 'a/0.png' .* cannot be read"):
        read_image_folder(root)


def test_different_sizes_name_two_files(grey_folder):
    root, _ = grey_folder
    _write(root / "b" / "3.png", _grey(5, (7, 5)))
    with pytest.raises(ValueError, match=r"'a/0.png' is 6x5 .* but 'b/3.png' is 7x5; pass size="):
        read_image_folder(root)


@pytest.mark.parametrize(("settings", "message"), [
    ({"size": 28}, r"size=28 must be \(height, width\)"),
    ({"size": (28, 0)}, "size=.* must be"),
    ({"size": (28.5, 28)}, "size=.* must be"),
    ({"color": "colour"}, "color='colour' is not known"),
])
def test_bad_settings(grey_folder, settings, message):
    with pytest.raises(ValueError, match=message):
        read_image_folder(grey_folder[0], **settings)


def test_path_must_be_a_path():
    with pytest.raises(TypeError, match="path must be a folder path"):
        read_image_folder(3)


# ---- as_images --------------------------------------------------------------------------------------------
def test_as_images_adds_a_channel_and_makes_float32():
    pixels = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    images = as_images(pixels)
    assert images.dtype == np.float32 and images.shape == (2, 1, 3, 4)
    np.testing.assert_array_equal(images[:, 0], pixels.astype(np.float32))
    assert as_images(np.zeros((2, 3, 5, 5))).shape == (2, 3, 5, 5)


def test_as_images_keeps_tensors_tensors():
    images = as_images(torch.ones(2, 4, 4, dtype=torch.int64))
    assert isinstance(images, torch.Tensor) and images.dtype == torch.float32 and images.shape == (2, 1, 4, 4)


@pytest.mark.parametrize("shape", [(784,), (10, 784), (1, 1, 1, 8, 8)])
def test_as_images_refuses_other_ranks(shape):
    with pytest.raises(ValueError, match=r"expected \(N, H, W\) or \(N, C, H, W\)"):
        as_images(np.zeros(shape))


def test_as_images_names_channels_last_arrays():
    with pytest.raises(ValueError, match=r"looks channels-last .* X.transpose\(0, 3, 1, 2\)"):
        as_images(np.zeros((2, 32, 32, 3)))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_as_images_refuses_nan_and_names_the_images(kind):
    images = np.zeros((4, 3, 3), dtype=np.float32)
    images[2, 1, 1] = np.nan
    images[3, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"2 image\(s\) hold NaN or infinite pixels \(image indices \[2, 3\]"):
        as_images(images if kind == "numpy" else torch.from_numpy(images))


def test_as_images_refuses_non_numbers_and_empty_arrays():
    with pytest.raises(TypeError, match="images must be numbers"):
        as_images(np.array([[["a"]]]))
    with pytest.raises(ValueError, match="at least one image"):
        as_images(np.zeros((0, 8, 8)))


def test_exif_orientation_is_applied_before_sizes_are_compared(tmp_path):
    pixels = _grey(0, (4, 6))
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display", as phone cameras write it
    (tmp_path / "a").mkdir()
    image.save(tmp_path / "a" / "turned.png", exif=exif.tobytes())
    _write(tmp_path / "a" / "upright.png", _grey(1, (6, 4)))
    images, _, _ = read_image_folder(tmp_path)
    assert images.shape == (2, 1, 6, 4)
    np.testing.assert_array_equal(images[0, 0], np.rot90(pixels, k=-1))


def test_32_bit_float_images_are_refused_with_the_file_named(tmp_path):
    from PIL import Image

    (tmp_path / "a").mkdir()
    Image.fromarray(np.full((4, 4), 0.5, dtype=np.float32), mode="F").save(tmp_path / "a" / "x.tif")
    with pytest.raises(TypeError, match=r"image 'a/x.tif' has 32-bit float pixels \(Pillow mode F\)"):
        read_image_folder(tmp_path)
