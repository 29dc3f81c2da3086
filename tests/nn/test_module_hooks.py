"""Module's tree walking, hooks (forward pre, forward, full backward), requires_grad_, zero_grad,
register_buffer and repr, as PyTorch documents them."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn


def _mlp():
    tc.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()


def test_children_are_the_direct_submodules_and_modules_the_whole_tree():
    inner = nn.Sequential(nn.Linear(2, 2))
    model = nn.Sequential(nn.Linear(2, 2), inner)
    assert list(model.children()) == [model[0], inner]
    assert [n for n, _ in model.named_children()] == ["0", "1"]
    assert list(model.modules()) == [model, model[0], inner, inner[0]]


def test_apply_calls_fn_on_every_module_children_first():
    model = _mlp()
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Linear", "Sequential"]


def test_apply_with_an_init_function_reinitializes_weights():
    model = _mlp()

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    model.apply(init)
    assert np.all(model[0].weight.data == 0.5) and np.all(model[2].weight.data == 0.5)


def test_register_buffer_is_saved_but_not_a_parameter():
    m = nn.Linear(2, 2)
    m.register_buffer("steps", np.array(3))
    assert "steps" in m.state_dict() and all(p is not m.steps for p in m.parameters())
    m.register_buffer("scratch", np.zeros(2), persistent=False)
    assert "scratch" not in m.state_dict()


def test_forward_hook_sees_input_and_output_and_can_be_removed():
    model = _mlp()
    seen = []
    handle = model[1].register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    x = tc.randn(5, 3, dtype=np.float64)
    model(x)
    (a, out), = seen
    np.testing.assert_array_equal(out.data, np.maximum(a.data, 0))
    handle.remove()
    model(x)
    assert len(seen) == 1


def test_forward_hook_can_replace_the_output():
    layer = nn.Linear(2, 2)
    layer.register_forward_hook(lambda m, args, out: out * 0)
    assert np.all(layer(tc.randn(3, 2)).data == 0)


def test_forward_pre_hook_can_replace_the_input():
    layer = nn.Identity()
    layer.register_forward_pre_hook(lambda m, args: (args[0] + 1,))
    np.testing.assert_array_equal(layer(tc.zeros(2)).data, [1, 1])


def test_full_backward_hook_gets_the_gradients_of_the_module_input_and_output():
    model = _mlp()
    x = tc.randn(5, 3, dtype=np.float64, requires_grad=True)
    recorded = {}
    model[2].register_full_backward_hook(
        lambda m, gin, gout: recorded.update(gin=gin, gout=gout))
    h = model[1](model[0](x))
    h.retain_grad()
    out = model[2](h)
    out.retain_grad()
    (out * out).sum().backward()
    (gin,), (gout,) = recorded["gin"], recorded["gout"]
    np.testing.assert_allclose(gout.data, out.grad.data)  # dL/d output, a Tensor as in PyTorch
    np.testing.assert_allclose(gin.data, h.grad.data)  # dL/d input


def test_full_backward_hook_on_the_first_layer_gets_none_for_a_data_input():
    model = _mlp()
    got = []
    model[0].register_full_backward_hook(lambda m, gin, gout: got.append((gin, gout[0].shape)))
    model(tc.randn(4, 3, dtype=np.float64)).sum().backward()
    assert got == [((None,), (4, 4))]


def test_full_backward_hook_can_replace_the_input_gradient():
    model = _mlp()
    x = tc.randn(2, 3, dtype=np.float64, requires_grad=True)
    model[0].register_full_backward_hook(lambda m, gin, gout: (gin[0] * 0,))
    model(x).sum().backward()
    assert np.all(x.grad.data == 0)
    assert np.any(model[0].weight.grad.data != 0)  # the parameters' gradients are unchanged


def test_backward_hooks_draw_the_gradient_flow_layer_by_layer():
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(3)])
    norms = {}
    for name, layer in model.named_children():
        layer.register_full_backward_hook(
            lambda m, gin, gout, name=name: norms.update({name: float((gout[0] ** 2).sum() ** 0.5)}))
    model(tc.randn(3, 4)).sum().backward()
    assert sorted(norms) == ["0", "1", "2"] and all(v > 0 for v in norms.values())


def test_requires_grad_false_freezes_every_parameter():
    model = _mlp().requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    assert not model(tc.randn(2, 3, dtype=np.float64)).requires_grad


def test_zero_grad_sets_to_none_by_default_and_to_zeros_on_request():
    model = _mlp()
    model(tc.randn(2, 3, dtype=np.float64)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_repr_prints_the_module_tree_as_pytorch_does():
    text = repr(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Dropout(0.9)))
    assert text.splitlines()[0] == "Sequential("
    assert text.splitlines()[1].startswith("  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))")
    assert text.splitlines()[2] == "  (1): Flatten(start_dim=1, end_dim=-1)"
    assert text.splitlines()[3] == "  (2): Dropout(keep_prob=0.9)"
    assert text.splitlines()[-1] == ")"


def test_model_to_cpu_is_a_no_op_and_another_device_says_we_run_on_the_cpu():
    model = _mlp()
    assert model.to("cpu") is model
    with pytest.raises(ValueError, match="runs on the CPU with NumPy"):
        model.to("cuda")
