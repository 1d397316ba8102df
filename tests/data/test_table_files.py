"""Tests for learnable.data.table_files: reading CSV, TSV and Parquet tables, with clear errors."""

import pandas as pd
import pytest

from learnable.data import read_frame, read_table


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "size": [50.5, 72.0, 31.25],
            "rooms": [2, 3, 1],
            "city": ["Oslo", "Rome", "Lima"],
            "price": [200.0, 310.5, 120.0],
        }
    )


@pytest.mark.parametrize("name, sep", [("houses.csv", ","), ("houses.tsv", "\t"), ("houses.txt", ","), ("H.CSV", ",")])
def test_read_delimited_text(tmp_path, frame, name, sep):
    path = tmp_path / name
    frame.to_csv(path, sep=sep, index=False)
    pd.testing.assert_frame_equal(read_frame(path), frame, check_dtype=False)
    pd.testing.assert_frame_equal(read_frame(str(path)), frame, check_dtype=False)


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_read_parquet(tmp_path, frame, suffix):
    pytest.importorskip("pyarrow")
    path = tmp_path / f"houses{suffix}"
    frame.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_frame(path), frame, check_dtype=False)


def test_read_table_splits_off_the_target(tmp_path, frame):
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    X, y = read_table(path, target="price")
    assert list(X.columns) == ["size", "rooms", "city"]
    assert y.name == "price"
    assert y.tolist() == [200.0, 310.5, 120.0]
    assert X["city"].tolist() == ["Oslo", "Rome", "Lima"]


def test_missing_target_column_lists_the_columns(tmp_path, frame):
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    message = r"has no column 'cost'; its columns are \['size', 'rooms', 'city', 'price'\]"
    with pytest.raises(ValueError, match=message):
        read_table(path, target="cost")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file: '.*nowhere\.csv'\. Check the path"):
        read_frame(tmp_path / "nowhere.csv")


def test_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a directory; expected a CSV or Parquet file"):
        read_frame(tmp_path)


def test_unknown_extension_is_refused(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('{"a": 1}')
    with pytest.raises(ValueError, match=r"unknown file type '\.json'; expected one of \['\.csv', "):
        read_frame(path)


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", r"cannot read '.*empty\.csv' as csv: No columns"),
    ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", r"cannot read '.*ragged\.csv' as csv: .*Expected 2 fields"),
    ("latin.csv", "name,score\ncaf\u00e9,1\n".encode("latin-1"), r"cannot read '.*latin\.csv' as csv"),
], ids=["empty", "ragged", "undecodable bytes"])
def test_unreadable_csv_is_a_value_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_frame(path)


def test_corrupt_parquet_is_a_value_error_naming_the_file(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "broken.parquet"
    path.write_text("this is not parquet")
    with pytest.raises(ValueError, match=r"broken\.parquet"):
        read_frame(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_with_a_header_and_no_rows_is_refused_when_read(tmp_path, frame, suffix):
    path = tmp_path / f"empty{suffix}"
    empty = frame.iloc[:0]
    empty.to_csv(path, index=False) if suffix == ".csv" else empty.to_parquet(path)
    with pytest.raises(ValueError, match=r"empty\.(csv|parquet)' has a header \(\d+ columns\) but no rows"):
        read_table(path, frame.columns[0])
