"""Reinforcement-learning tests need the optional extra: skipped as a whole without Gymnasium."""

import pytest

pytest.importorskip("gymnasium")
