import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygrad_course as tc

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "dev", deadline=None, max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _seed_and_dtype():
    """Every test starts from the same seed and the float32 default."""
    tc.manual_seed(0)
    tc.set_default_dtype(np.float32)
    yield
    tc.set_default_dtype(np.float32)
