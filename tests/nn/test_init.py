import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn import init

N_OUT, N_IN = 300, 500  # 150k samples: the sample variance is within ~0.4% of the true one


@pytest.mark.parametrize("fn, variance", [
    (init.he_normal_, 2 / N_IN),
    (init.he_uniform_, 2 / N_IN),
    (init.xavier_normal_, 2 / (N_IN + N_OUT)),
    (init.xavier_uniform_, 2 / (N_IN + N_OUT)),
    (init.lecun_normal_, 1 / N_IN),
    (lambda t: init.normal_(t, 0.01), 0.01 ** 2),
], ids=["he_normal", "he_uniform", "xavier_normal", "xavier_uniform", "lecun_normal", "random_0.01"])
def test_empirical_variance_of_a_large_weight_matches_the_formula(fn, variance):
    w = tc.zeros(N_OUT, N_IN)
    fn(w)
    assert abs(w.data.mean()) < 4 * np.sqrt(variance / w.size)
    assert w.data.var() == pytest.approx(variance, rel=0.03)


def test_uniform_schemes_stay_inside_their_bound():
    w = tc.zeros(N_OUT, N_IN)
    init.he_uniform_(w)
    assert np.abs(w.data).max() <= np.sqrt(6 / N_IN)


@pytest.mark.parametrize("name, variance", [
    ("he", 2 / N_IN), ("xavier", 2 / (N_IN + N_OUT)), ("lecun", 1 / N_IN), ("random", 10.0 ** 2),
    ("zeros", 0.0)])
def test_a_linear_layer_initialized_by_name(name, variance):
    layer = nn.Linear(N_IN, N_OUT, init=name, scale=10.0)
    assert layer.weight.data.var() == pytest.approx(variance, rel=0.03)
    assert not layer.bias.data.any()


def test_normal_takes_std_first_and_mean_only_by_keyword():
    w = tc.zeros(400, 400)
    init.normal_(w, 2.0, mean=5.0)
    assert w.data.mean() == pytest.approx(5.0, abs=0.02) and w.data.std() == pytest.approx(2.0, rel=0.02)
    with pytest.raises(TypeError):
        init.normal_(w, 0.0, 0.01)


def test_zeros_and_ones():
    w = tc.randn(3, 3)
    assert not init.zeros_(w).data.any()
    assert np.all(init.ones_(w).data == 1)


def test_initializers_write_in_place_and_return_the_tensor():
    layer = nn.Linear(4, 4)
    weight, data = layer.weight, layer.weight.data
    assert init.xavier_normal_(weight) is weight and weight.data is data


def test_reinitializing_a_weight_saved_for_backward_makes_backward_refuse():
    from tinygrad_course.autograd import BackwardError

    layer = nn.Linear(3, 2)
    cost = (layer(tc.randn(4, 3, requires_grad=True)) ** 2).sum()  # dX needs W: W is saved
    init.he_normal_(layer.weight)
    with pytest.raises(BackwardError):
        cost.backward()


def test_initialization_is_reproducible_from_the_seed():
    tc.manual_seed(42)
    a = nn.Linear(5, 4).weight.data.copy()
    tc.manual_seed(42)
    np.testing.assert_array_equal(nn.Linear(5, 4).weight.data, a)


def test_the_course_he_formula_from_the_global_generator():
    tc.manual_seed(1)
    w = init.he_normal_(tc.zeros(4, 6, dtype=np.float64))
    np.testing.assert_allclose(w.data, np.random.default_rng(1).standard_normal((4, 6)) * np.sqrt(2 / 6))


def test_fan_based_schemes_need_two_dimensions():
    with pytest.raises(ValueError, match=r"he_normal_: needs a weight with at least 2 dimensions .* "
                                         r"got shape \(4,\)"):
        init.he_normal_(tc.zeros(4))


def test_fans_count_the_receptive_field():
    assert init.fans(tc.zeros(8, 3, 5, 5)) == (75, 200)


def test_initialize_reinitializes_a_whole_model_by_name():
    model = nn.Sequential(nn.Linear(N_IN, N_OUT), nn.ReLU(), nn.BatchNorm1d(N_OUT),
                          nn.Linear(N_OUT, 10))
    model(tc.randn(4, N_IN)).sum().backward()
    with tc.no_grad():
        for p in model.parameters():
            p += 1.0
    assert init.initialize_(model, "xavier") is model
    assert model[0].weight.data.var() == pytest.approx(2 / (N_IN + N_OUT), rel=0.03)
    assert model[3].weight.data.var() == pytest.approx(2 / (N_OUT + 10), rel=0.15)
    assert not model[0].bias.data.any() and not model[3].bias.data.any()
    assert np.all(model[2].gamma.data == 1) and not model[2].beta.data.any()
    assert int(model[2].num_batches_tracked.data) == 0


def test_initialize_random_uses_the_scale():
    model = init.initialize_(nn.Sequential(nn.Linear(N_IN, N_OUT)), "random", scale=0.01)
    assert model[0].weight.data.std() == pytest.approx(0.01, rel=0.02)


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="initialize_: unknown init 'uniform'"):
        init.initialize_(nn.Linear(2, 2), "uniform")


def test_zero_initialization_never_breaks_symmetry():
    # The course: with W = 0 every hidden unit computes the same function, receives the same
    # gradient, and so stays identical however long we train.
    rng = np.random.default_rng(0)
    X = tc.tensor(rng.standard_normal((64, 2)))
    y = tc.tensor((X.data[:, :1] * X.data[:, 1:] > 0).astype(np.float64))
    model = nn.Sequential(nn.Linear(2, 5, init="zeros"), nn.Sigmoid(), nn.Linear(5, 1, init="zeros")).double()
    for _ in range(50):
        model.zero_grad()
        nn.F.binary_cross_entropy_with_logits(model(X), y).backward()
        with tc.no_grad():
            for p in model.parameters():
                p -= 1.0 * p.grad
    W1, W2 = model[0].weight.data, model[2].weight.data
    assert np.abs(W2).max() > 1e-3  # it did train
    np.testing.assert_allclose(W1, np.broadcast_to(W1[:1], W1.shape), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(W2, np.broadcast_to(W2[:, :1], W2.shape), rtol=1e-12, atol=1e-15)


def test_he_initialization_breaks_symmetry():
    model = nn.Linear(2, 5)
    assert len({tuple(row) for row in model.weight.data}) == 5
