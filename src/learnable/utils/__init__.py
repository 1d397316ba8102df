"""Utilities shared by the whole package: writing a user's files safely (:mod:`learnable.utils.files`)."""

from learnable.utils.files import (
    check_distinct_outputs,
    check_output_path,
    fsync_directory,
    move_into_place,
    same_file,
    staged_file,
    write_atomically,
)

__all__ = ["check_distinct_outputs", "check_output_path", "fsync_directory", "move_into_place", "same_file",
           "staged_file", "write_atomically"]
