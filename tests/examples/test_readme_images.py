import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.data import make_moons
from tinygrad_course.viz import gradient_norms


def test_readme_images_are_written_as_png(example, assert_pngs, tmp_path):
    example("readme_images").main(["--out", str(tmp_path)])
    assert_pngs(tmp_path, ["model_graph.png", "gradient_flow_sigmoid.png", "gradient_norms.png"])


def test_sigmoid_gradients_vanish_toward_the_input_and_relu_he_ones_do_not(example):
    deep_net = example("readme_images").deep_net
    X, y = make_moons(n_samples=64, seed=0)
    ratios = {}
    for activation in ("sigmoid", "relu"):
        tc.manual_seed(0)
        model = deep_net(activation, depth=12)
        target = tc.tensor(y[:, None].astype(np.float32))
        nn.F.binary_cross_entropy_with_logits(model(tc.tensor(X)), target).backward()
        norms = list(gradient_norms(model, per="layer").values())
        ratios[activation] = norms[0] / norms[-1]
    assert ratios["sigmoid"] < 1e-4
    assert 1e-2 < ratios["relu"] < 1e2
