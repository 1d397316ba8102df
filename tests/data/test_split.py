"""Tests for learnable.data.split: seeded, disjoint, stratified train/validation/test indices."""

import numpy as np
import pytest

from learnable.data import split_indices


def _sizes(parts):
    return len(parts.train), len(parts.validation), len(parts.test)


@pytest.mark.parametrize(
    "num_rows, validation, test, expected",
    [
        (100, 0.1, 0.2, (70, 10, 20)),
        (100, 0.1, 0.1, (80, 10, 10)),
        (50, 0.2, 0.2, (30, 10, 10)),
        (10, 0.0, 0.3, (7, 0, 3)),
        (40, 0.25, 0.0, (30, 10, 0)),
        (7, 0.0, 0.0, (7, 0, 0)),
        pytest.param(150, 0.1, 0.1, (120, 15, 15)),
        pytest.param(200, 0.15, 0.15, (140, 30, 30)),
    ],
)
def test_sizes(num_rows, validation, test, expected):
    assert _sizes(split_indices(num_rows, validation=validation, test=test, seed=0)) == expected


@pytest.mark.parametrize("labels", [None, np.repeat([0, 1, 2], [50, 30, 20])])
def test_parts_are_disjoint_and_cover_every_row(labels):
    parts = split_indices(100, validation=0.2, test=0.1, labels=labels, seed=3)
    everything = np.concatenate([parts.train, parts.validation, parts.test])
    assert len(everything) == 100
    np.testing.assert_array_equal(np.sort(everything), np.arange(100))


def test_same_seed_gives_the_same_split_and_another_seed_another():
    first = split_indices(200, validation=0.1, test=0.2, seed=7)
    again = split_indices(200, validation=0.1, test=0.2, seed=7)
    other = split_indices(200, validation=0.1, test=0.2, seed=8)
    for name in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(np.sort(first.test), np.sort(other.test))
    assert not np.array_equal(np.sort(first.validation), np.sort(other.validation))


def test_split_is_shuffled_not_a_slice():
    parts = split_indices(100, validation=0.1, test=0.1, seed=0)
    assert not np.array_equal(np.sort(parts.test), np.arange(90, 100))
    assert not np.array_equal(np.sort(parts.test), np.arange(10))


def test_stratified_split_keeps_class_proportions_within_one_row():
    counts = {"a": 120, "b": 60, "c": 20}
    labels = np.repeat(list(counts), list(counts.values()))
    rng = np.random.default_rng(0)
    labels = labels[rng.permutation(len(labels))]
    validation, test = 0.2, 0.1
    parts = split_indices(len(labels), validation=validation, test=test, labels=labels, seed=1)
    for part, fraction in ((parts.test, test), (parts.validation, validation), (parts.train, 1 - validation - test)):
        for label, count in counts.items():
            assert abs(np.sum(labels[part] == label) - count * fraction) <= 1, (label, fraction)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_stratified_split_keeps_a_rare_class_in_training(seed):
    # The schema learns the classes from the training rows, so every class must be there.
    labels = np.array([0] * 40 + [1] * 3)
    parts = split_indices(43, validation=0.1, test=0.1, labels=labels, seed=seed)
    assert set(labels[parts.train].tolist()) == {0, 1}
    assert _sizes(parts) == (33, 5, 5)  # ceil(4.3) rows each


@pytest.mark.parametrize("name, value", [("validation", -0.1), ("validation", 1.0), ("test", 1.5), ("test", -1)])
def test_fraction_out_of_range_is_refused(name, value):
    kwargs = {"validation": 0.1, "test": 0.1, name: value}
    with pytest.raises(ValueError, match=rf"{name}={value!r} must be a number >= 0 and < 1"):
        split_indices(100, **kwargs)


def test_fractions_summing_to_one_or_more_are_refused():
    with pytest.raises(ValueError, match=r"validation=0.5 and test=0.5 leave no rows for training.*below 1"):
        split_indices(100, validation=0.5, test=0.5)
    with pytest.raises(ValueError, match="leave no rows for training"):
        split_indices(100, validation=0.6, test=0.7)


def test_class_with_too_few_rows_is_refused():
    labels = np.array(["cat"] * 20 + ["dog"] * 2)
    with pytest.raises(ValueError, match=r"has only 2 row\(s\).*at least 3 rows of every class.*validation=0"):
        split_indices(22, validation=0.1, test=0.1, labels=labels)
    with pytest.raises(ValueError, match=r"has only 1 row\(s\).*at least 2 rows of every class"):
        split_indices(11, validation=0.0, test=0.2, labels=[0] * 10 + [1])


def test_class_with_too_few_rows_is_named_plainly():
    labels = np.array(["cat"] * 20 + ["dog"] * 2)
    with pytest.raises(ValueError, match=r"class 'dog' has only 2 row\(s\)"):
        split_indices(22, validation=0.1, test=0.1, labels=labels)


def test_class_with_two_rows_is_enough_without_validation():
    labels = np.array(["cat"] * 20 + ["dog"] * 2)
    parts = split_indices(22, validation=0.0, test=0.1, labels=labels)
    assert _sizes(parts) == (19, 0, 3)
    assert set(labels[parts.train].tolist()) == {"cat", "dog"}


@pytest.mark.parametrize("num_rows, validation, test", [(2, 0.1, 0.1), (1, 0.0, 0.2), (3, 0.4, 0.4)])
def test_too_few_rows_overall_is_refused(num_rows, validation, test):
    with pytest.raises(ValueError, match=rf"too few rows for the split: got {num_rows}, .*needs at least"):
        split_indices(num_rows, validation=validation, test=test)


def test_tiny_stratified_split_succeeds_or_fails_with_a_learnable_message():
    labels = np.array(["a", "a", "a", "b", "b", "b"])
    try:
        parts = split_indices(6, validation=0.1, test=0.4, labels=labels, seed=0)
    except ValueError as error:
        assert "Pass more data" in str(error) or "Collect more examples" in str(error), str(error)
    else:
        assert set(labels[parts.train]) == {"a", "b"}
