"""A 2-layer network trained end to end on two circles, with a hand-written SGD loop."""
import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn import functional as F


def two_circles(m: int, seed: int):
    """Points on a circle of radius 1 (class 0) or 2 (class 1), with radial noise 0.15."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, m)
    theta = rng.uniform(0, 2 * np.pi, m)
    r = 1.0 + y + rng.normal(0, 0.15, m)
    X = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1).astype(np.float32)
    return tc.tensor(X), y.reshape(-1, 1).astype(np.float32)


def sgd_step(model: nn.Module, lr: float) -> None:
    with tc.no_grad():
        for p in model.parameters():
            p -= lr * p.grad


def test_two_layer_network_separates_two_circles():
    tc.manual_seed(0)
    X, y = two_circles(400, seed=1)
    X_test, y_test = two_circles(400, seed=2)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    first = None
    for _ in range(300):
        model.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(X), y)
        loss.backward()
        sgd_step(model, lr=0.5)
        first = loss.item() if first is None else first
    assert loss.item() < first / 5
    with tc.no_grad():
        train_acc = F.accuracy(model(X), y, threshold=0.0)
        test_acc = F.accuracy(model(X_test), y_test, threshold=0.0)
    # The radii are 1 and 2 with noise 0.15: a circle at 1.5 separates all but a few points.
    assert train_acc >= 0.97 and test_acc >= 0.97


def test_regularized_network_with_batch_norm_and_dropout_trains_and_evaluates():
    tc.manual_seed(0)
    X, y = two_circles(400, seed=3)
    labels = y.ravel().astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 32, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
                          nn.Dropout(0.9), nn.Linear(32, 2))
    m = X.shape[0]
    for _ in range(200):
        model.zero_grad()
        loss = F.cross_entropy(model(X), labels) + F.l2_penalty(model, 0.1, m)
        loss.backward()
        sgd_step(model, lr=0.3)
    model.eval()
    X_test, y_test = two_circles(400, seed=4)
    with tc.no_grad():
        assert F.accuracy(model(X_test), y_test.ravel().astype(np.int64)) >= 0.95
        one = model(X_test[:1])  # batch norm at test time, one example
    assert one.shape == (1, 2)


def test_training_is_reproducible_from_the_seed():
    def run():
        tc.manual_seed(7)
        X, y = two_circles(64, seed=5)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.8), nn.Linear(8, 1))
        for _ in range(5):
            model.zero_grad()
            F.binary_cross_entropy_with_logits(model(X), y).backward()
            sgd_step(model, 0.1)
        return nn.parameters_to_vector(model.parameters())

    np.testing.assert_array_equal(run(), run())
