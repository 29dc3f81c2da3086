"""The example scripts are imported as modules: examples/ goes on sys.path, so a test does
`ex = importlib.import_module("08_ewa")`. Test files are named after their example
(test_08_ewa.py): pytest needs basenames unique across tests/ (there is a tests/nn/test_batchnorm.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def assert_png():
    """assert_png(path): the file exists and is a non-empty PNG."""
    def check(path):
        data = Path(path).read_bytes()
        assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
        assert len(data) > 1000, f"{path} is suspiciously small ({len(data)} bytes)"
    return check
