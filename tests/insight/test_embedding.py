"""plot_embedding: a real PNG, one coloured group per label at the given points, clear errors, and no
half-written file when saving fails."""

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from learnable.insight import plot_embedding

POINTS = np.random.default_rng(0).normal(size=(90, 2))
LABELS = np.array(["cat", "dog", "emu"] * 30)


def test_writes_a_real_png(tmp_path):
    path = plot_embedding(POINTS, LABELS, path=tmp_path / "sub" / "embedding.png", title="animals")
    assert path == tmp_path / "sub" / "embedding.png"
    with Image.open(path) as image:
        image.verify()  # Pillow checks the PNG's structure and checksums
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (650, 550)  # 6.5 x 5.5 inches at 100 dpi
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 10  # not a blank canvas
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["embedding.png"]  # no temporary file left


def test_one_group_per_label_at_the_given_points():
    figure = plot_embedding(POINTS, LABELS, title="animals")
    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    assert axes.get_title() == "animals"
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["cat", "dog", "emu"]
    for group, label in zip(axes.collections, ["cat", "dog", "emu"], strict=True):
        np.testing.assert_array_equal(group.get_offsets(), POINTS[np.equal(LABELS, label)])
    colours = {tuple(group.get_facecolor()[0]) for group in axes.collections}
    assert len(colours) == 3


def test_points_from_torch_and_pandas_and_no_labels():
    figure = plot_embedding(torch.tensor(POINTS), pd.Series(LABELS))
    assert len(figure.axes[0].collections) == 3
    figure = plot_embedding(pd.DataFrame(POINTS, columns=["a", "b"]))
    assert figure.axes[0].get_legend() is None
    np.testing.assert_array_equal(figure.axes[0].collections[0].get_offsets(), POINTS)


def test_many_numeric_labels_get_a_colour_scale():
    figure = plot_embedding(POINTS, np.arange(90))
    assert figure.axes[0].get_legend() is None
    assert len(figure.axes) == 2  # the plot and its colour bar


@pytest.mark.parametrize(("points", "labels", "error", "message"), [
    (np.zeros((5, 3)), None, ValueError, r"points has shape \(5, 3\); expected \(N, 2\)"),
    (np.zeros(10), None, ValueError, r"points has shape \(10,\)"),
    (np.zeros((0, 2)), None, ValueError, r"expected \(N, 2\) with N >= 1"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), None, ValueError, r"points holds 1 NaN or infinite value"),
    (np.array([["a", "b"]]), None, TypeError, r"points must be numbers"),
    (POINTS, LABELS[:10], ValueError, r"labels has shape \(10,\), but there are 90 points"),
    (POINTS, np.array([f"class {i}" for i in range(90)]), ValueError, r"labels has 90 distinct non-numeric values"),
])
def test_bad_input_errors(points, labels, error, message):
    with pytest.raises(error, match=message):
        plot_embedding(points, labels)


def test_a_directory_as_path_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"is a directory; pass a file name"):
        plot_embedding(POINTS, path=tmp_path)


def test_a_failed_save_leaves_nothing(tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        args[0].write(b"\x89PNG half")  # a partial file (savefig is given the open handle), then the failure
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        plot_embedding(POINTS, LABELS, path=tmp_path / "embedding.png")
    assert list(tmp_path.iterdir()) == []
