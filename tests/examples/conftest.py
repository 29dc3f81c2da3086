"""The examples are scripts in examples/ (named 01_topic.py...): put that folder on sys.path so a
test can `importlib.import_module("01_bias_variance")`, and check the plots they promise."""
import importlib
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def example():
    """example("01_bias_variance") -> the example's module."""
    return importlib.import_module


@pytest.fixture
def assert_pngs():
    """assert_pngs(folder, names): each file exists, is not empty and starts with the PNG magic."""
    def check(folder: Path, names) -> None:
        for name in names:
            path = Path(folder) / name
            assert path.is_file(), f"{name} was not written"
            data = path.read_bytes()
            assert len(data) > 1000 and data[:8] == PNG_MAGIC, f"{name} is not a PNG image"
    return check
