"""The version of learnable: read by model_file and the run store without importing the package."""

__version__ = "0.1.0"
