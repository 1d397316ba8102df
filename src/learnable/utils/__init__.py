"""Utilities shared by the whole package, below every other layer.

- :mod:`~learnable.utils.files`: writing a user's files whole or not at all (:func:`write_atomically`);
- :mod:`~learnable.utils.validation`: every ``check_*`` helper, values read from files, output paths;
- :mod:`~learnable.utils.terminal`: text for a terminal, with user text made printable;
- :mod:`~learnable.utils.params`: ``get_params`` read from ``__init__``'s signature, for every estimator.
"""
