"""Data: validation with clear errors, task inference, the schema, splits, loaders (in memory and
streamed from disk) and datasets."""

from learnable.data import datasets
from learnable.data.fingerprint import fingerprint
from learnable.data.images import as_images, read_image_folder
from learnable.data.loader import TensorLoader
from learnable.data.prepare import Prepared, prepare
from learnable.data.schema import Schema
from learnable.data.split import Split, split_indices
from learnable.data.stream import StreamLoader, stream
from learnable.data.table_files import read_frame, read_table
from learnable.data.task import infer_task
from learnable.data.validate import as_features, as_target, check_pair

__all__ = [
    "Prepared",
    "Schema",
    "Split",
    "StreamLoader",
    "TensorLoader",
    "as_features",
    "as_images",
    "as_target",
    "check_pair",
    "datasets",
    "fingerprint",
    "infer_task",
    "prepare",
    "read_frame",
    "read_image_folder",
    "read_table",
    "split_indices",
    "stream",
]
