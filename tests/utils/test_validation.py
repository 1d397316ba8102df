"""The one set of ``check_*`` helpers (learnable.utils.validation): what each accepts, and that each refusal says
what was received, what was expected and an example."""

import math
import re
from fractions import Fraction

import numpy as np
import pytest

from learnable.utils.validation import (
    check_choice,
    check_count,
    check_flag,
    check_number,
    check_output_file,
    check_positive,
    check_seed,
    is_number,
)

# ---- settings ------------------------------------------------------------------------------------------


def test_a_count_is_any_whole_number_but_a_bool():
    for value in (1, np.int64(3), np.uint8(7), 10**30):
        check_count("patience", value, 10)
    for value in (0, True, 2.0, "3", None, np.float64(3.0)):
        expected = rf"^patience={re.escape(repr(value))} must be a whole number >= 1, for example 10\.$"
        with pytest.raises(ValueError, match=expected):
            check_count("patience", value, 10)


def test_a_count_can_start_elsewhere_be_none_and_name_its_owner():
    check_count("workers", 0, 2, least=0)
    check_count("top_k", None, 40, allow_none=True)
    with pytest.raises(ValueError, match=r"^Checkpoint keep=1 must be a whole number >= 2, for example 3 \(new\)\.$"):
        check_count("keep", 1, "3 (new)", least=2, owner="Checkpoint")
    with pytest.raises(ValueError, match=r"^top_k=0 must be None or a whole number >= 1, for example 40\.$"):
        check_count("top_k", 0, 40, allow_none=True)
    with pytest.raises(ValueError, match=r"^--checkpoint-every -1 must be a whole number >= 0, for example 500\.$"):
        check_count("--checkpoint-every", -1, 500, least=0)  # a flag reads as it is typed


def test_a_number_is_real_and_not_a_bool():
    assert [is_number(v) for v in (1, 0.5, np.float32(0.5), np.int8(2), Fraction(1, 3))] == [True] * 5
    assert [is_number(v) for v in (True, np.bool_(True), "1", 1j, None)] == [False] * 5


@pytest.mark.parametrize(("value", "accepted"), [(0, False), (1e-9, True), (0.5, True), (1, False), (1.0, False),
                                                 (math.nan, False), (True, False), ("0.5", False)])
def test_a_number_range_can_leave_out_either_end(value, accepted):
    if accepted:
        check_number("quantile", value, 0, 1, "0.99", low_open=True, high_open=True)
        return
    with pytest.raises(ValueError, match=rf"^quantile={value!r} must be a number > 0 and < 1, for example 0\.99\.$"):
        check_number("quantile", value, 0, 1, "0.99", low_open=True, high_open=True)


def test_positive_refuses_infinity_and_names_its_owner():
    check_positive("max_norm", 10**400, "1.0")  # a huge whole number is finite (no float overflow)
    with pytest.raises(ValueError, match=r"^GradientClipping max_norm=inf must be a finite number > 0, for example"):
        check_positive("max_norm", math.inf, "1.0", owner="GradientClipping")


def test_choice_and_flag_name_their_owner():
    with pytest.raises(ValueError, match=r"^RNN cell='tcn' is not known; choose one of \['gru', 'lstm'\]\.$"):
        check_choice("cell", "tcn", ("gru", "lstm"), owner="RNN")
    check_flag("relative", np.bool_(True))
    with pytest.raises(ValueError, match=r"^Forecaster relative=1 must be True or False\.$"):
        check_flag("relative", 1, owner="Forecaster")


def test_a_seed_is_a_whole_number_a_generator_takes():
    for seed in (0, np.int64(7), 2**64 - 1):
        check_seed("seed", seed)
    check_seed("seed", None, allow_none=True)
    for seed in (-1, 2**64, 1.0, True, None):
        with pytest.raises(ValueError, match=rf"^seed={seed!r} must be a whole number in \[0, 2\*\*64\), for example"):
            check_seed("seed", seed)
    with pytest.raises(ValueError, match=r"^Augment seed=-1 must be None or a whole number in \[0, 2\*\*64\), for"):
        check_seed("seed", -1, allow_none=True, example="0 (None: the Learner's seed)", owner="Augment")


# ---- check_output_file ---------------------------------------------------------------------------------


def test_an_output_file_of_the_right_type_in_a_folder_that_exists_passes(tmp_path):
    check_output_file(tmp_path / "p.png", flag="--plot", suffixes=(".png",), inputs=[tmp_path / "data.csv"])
    check_output_file(tmp_path / "P.PNG", flag="--plot", suffixes=(".png",))  # any case
    (tmp_path / "old.csv").write_text("old")
    check_output_file(tmp_path / "old.csv", flag="--out", suffixes=(".csv", ".json"))  # an existing file is replaced


def test_an_output_file_with_another_suffix_is_refused_with_an_example(tmp_path):
    out = tmp_path / "p.txt"
    with pytest.raises(ValueError, match=rf"^--plot '{out}' must end in \.png, \.svg or \.pdf; pass for example "
                                         rf"--plot {tmp_path / 'p.png'}\.$"):
        check_output_file(out, flag="--plot", suffixes=(".png", ".svg", ".pdf"))
    with pytest.raises(ValueError, match=r"^--out '\.' must end in \.csv or \.json; pass for example --out out\.csv"):
        check_output_file(".", flag="--out", suffixes=(".csv", ".json"))


def test_an_output_file_that_is_a_folder_or_in_no_folder_is_refused(tmp_path):
    (tmp_path / "plots.png").mkdir()
    with pytest.raises(ValueError, match=rf"^--plot '{tmp_path / 'plots.png'}' is a directory; give a file name"):
        check_output_file(tmp_path / "plots.png", flag="--plot", suffixes=(".png",))
    missing = tmp_path / "missing" / "p.csv"
    with pytest.raises(ValueError, match=rf"--out '{missing}': the folder '{missing.parent}' does not exist; create"):
        check_output_file(missing, flag="--out", suffixes=(".csv",))


def test_an_output_file_that_is_an_input_is_refused_first(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    (tmp_path / "link.png").symlink_to(data)
    with pytest.raises(ValueError, match=r"--plot '.*link.png' is a link or another name for the input"):
        check_output_file(tmp_path / "link.png", flag="--plot", suffixes=(".png",), inputs=[data, None])
    with pytest.raises(ValueError, match=r"--labels-out '.*data.csv' is the input"):
        check_output_file(data, flag="--labels-out", suffixes=(".csv",), inputs=[data])
