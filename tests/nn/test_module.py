import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import autograd, nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))


class Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 3)])
        self.heads = nn.ModuleDict({"a": nn.Linear(3, 1), "b": nn.Linear(3, 2)})
        self.scale = nn.Parameter(np.ones(1, np.float32))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.heads["a"](x) * self.scale


def test_parameters_register_with_dotted_names_through_lists_and_dicts():
    names = [n for n, _ in Blocks().named_parameters()]
    assert names == ["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                     "layers.1.bias", "heads.a.weight", "heads.a.bias", "heads.b.weight",
                     "heads.b.bias"]


def test_parameters_are_the_registered_objects():
    m = TwoLayer()
    assert [id(p) for p in m.parameters()] == [id(m.hidden.weight), id(m.hidden.bias),
                                               id(m.out.weight), id(m.out.bias)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())


def test_a_shared_parameter_is_listed_once():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_named_modules_gives_dotted_paths_with_empty_root():
    m = Blocks()
    paths = [p for p, _ in m.named_modules()]
    assert paths == ["", "layers", "layers.0", "layers.1", "heads", "heads.a", "heads.b"]
    assert dict(m.named_modules())["heads.b"] is m.heads["b"]


def test_children_are_the_direct_submodules_only():
    m = TwoLayer()
    assert list(m.children()) == [m.hidden, m.act, m.out]
    assert len(list(m.modules())) == 4


def test_train_and_eval_set_the_flag_recursively():
    m = Blocks()
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_zero_grad_sets_every_grad_to_none():
    m = TwoLayer()
    m(tc.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_gradients_accumulate_until_zero_grad():
    m = nn.Linear(3, 1)
    x = tc.randn(4, 3)
    m(x).sum().backward()
    first = m.weight.grad.data.copy()
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.data, 2 * first, rtol=1e-6)


def test_unknown_attribute_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'weights'"):
        nn.Linear(2, 2).weights


def test_assigning_a_plain_tensor_to_a_parameter_slot_is_refused():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="'weight' is a parameter; assign a Parameter"):
        m.weight = tc.zeros(2, 2)


def test_forgetting_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2, np.float32))

    with pytest.raises(AttributeError, match="call super\\(\\).__init__\\(\\) first"):
        Bad()


def test_property_setters_of_subclasses_still_run():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.factor = 2.0

        @property
        def factor(self):
            return self._factor

        @factor.setter
        def factor(self, value):
            self._factor = float(value) * 10

    m = Scaled()
    assert m.factor == 20.0


def test_deleting_an_attribute_unregisters_it():
    m = TwoLayer()
    del m.out
    assert [n for n, _ in m.named_parameters()] == ["hidden.weight", "hidden.bias"]
    with pytest.raises(AttributeError):
        m.out


def test_setting_a_parameter_to_none_removes_it_from_parameters():
    m = nn.Linear(2, 2)
    m.bias = None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert list(m.state_dict()) == ["weight"]


def test_parameter_requires_grad_and_rejects_integers():
    p = nn.Parameter([1.0, 2.0])
    assert p.requires_grad and p.is_leaf and isinstance(p, tc.Tensor)
    assert repr(p).startswith("Parameter containing:")
    with pytest.raises(TypeError, match="only floating tensors can require grad"):
        nn.Parameter(np.array([1, 2]))


def test_ops_on_parameters_give_plain_tensors():
    p = nn.Parameter([1.0, 2.0])
    assert type(p * 2) is tc.Tensor


def test_double_converts_parameters_grads_and_float_buffers_in_place():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m(tc.randn(4, 3)).sum().backward()
    weight = m[0].weight
    assert m.double() is m
    assert m[0].weight is weight
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert all(p.grad.dtype == np.float64 for p in m.parameters())
    assert m[1].running_var.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())
    with pytest.raises(TypeError, match="floating dtype"):
        m.to(np.int32)


def test_requires_grad_false_freezes_every_parameter():
    m = TwoLayer().requires_grad_(False)
    out = m(tc.randn(2, 3))
    assert not out.requires_grad


def test_repr_prints_the_tree_with_shapes():
    text = repr(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 1, bias=False))))
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)  [weight (4, 3), bias (4,)]\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=1, bias=False)  [weight (1, 4)]\n"
        "  )\n"
        ")")


def test_calling_a_module_records_it_as_the_scope_of_its_ops():
    m = TwoLayer()
    out = m(tc.randn(2, 3))
    assert out.grad_fn.scope is m.out
    relu_node = out.grad_fn.inputs[0].grad_fn
    assert relu_node.scope is m.act
    assert relu_node.inputs[0].grad_fn.scope is m.hidden


def test_scope_stack_is_restored_when_forward_raises():
    depth = len(autograd.scope_stack())
    with pytest.raises(ValueError):
        TwoLayer()(tc.randn(2, 5))
    assert len(autograd.scope_stack()) == depth


def test_ops_outside_modules_have_no_scope():
    TwoLayer()(tc.randn(2, 3))
    x = tc.randn(2, requires_grad=True)
    assert (x * 2).grad_fn.scope is None


def test_forward_not_written_raises():
    with pytest.raises(NotImplementedError, match="Empty.forward"):
        type("Empty", (nn.Module,), {})()(1)


def test_sequential_indexing_slicing_and_append():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b)
    s.append(c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    head = s[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    x = tc.randn(4, 2)
    np.testing.assert_allclose(s(x).data, c(b(a(x))).data)


def test_sequential_from_a_dict_names_the_layers():
    s = nn.Sequential({"fc": nn.Linear(2, 2), "act": nn.Tanh()})
    assert [n for n, _ in s.named_parameters()] == ["fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="layer 'x' is a int, not a Module"):
        nn.Sequential({"x": 3})


def test_module_list_indexing_and_errors():
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    assert isinstance(ml[-1], nn.Tanh) and len(ml) == 2
    ml[0] = nn.Sigmoid()
    assert isinstance(ml[0], nn.Sigmoid)
    with pytest.raises(IndexError, match="index 2 is out of range for 2 modules"):
        ml[2]
    with pytest.raises(TypeError, match=r"ModuleList.append: expected a Module, got int"):
        ml.append(3)
    with pytest.raises(TypeError, match=r"Sequential.append: expected a Module, got int"):
        nn.Sequential().append(3)


def test_module_dict_behaves_like_a_dict():
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Tanh()
    assert list(md) == ["a", "b"] and "b" in md and len(md) == 2
    assert list(md.keys()) == ["a", "b"]


def test_identity_returns_its_input():
    x = tc.randn(3)
    assert nn.Identity()(x) is x


def test_apply_visits_every_module():
    seen = []
    TwoLayer().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "TwoLayer"]


# ---- state_dict / load_state_dict -------------------------------------------------------
def test_state_dict_has_parameters_and_buffers_by_dotted_name():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert list(m.state_dict()) == ["0.weight", "0.bias", "1.gamma", "1.beta", "1.running_mean",
                                    "1.running_var", "1.num_batches_tracked"]


def test_state_dict_is_a_snapshot():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    with tc.no_grad():
        m.weight += 1.0
    assert not np.array_equal(sd["weight"], m.weight.data)


def test_non_persistent_buffers_are_not_saved():
    m = nn.Linear(2, 2)
    m.register_buffer("cache", np.zeros(2), persistent=False)
    assert "cache" not in m.state_dict() and "cache" in dict(m.named_buffers())


def test_load_state_dict_round_trip_is_exact_and_in_place():
    src, dst = TwoLayer(), TwoLayer()
    weight = dst.hidden.weight
    assert dst.load_state_dict(src.state_dict()) == nn.IncompatibleKeys([], [])
    assert dst.hidden.weight is weight
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert np.array_equal(a, b), k


def test_load_state_dict_accepts_tensors():
    src, dst = nn.Linear(2, 2), nn.Linear(2, 2)
    dst.load_state_dict({k: tc.tensor(v) for k, v in src.state_dict().items()})
    assert np.array_equal(dst.weight.data, src.weight.data)


def test_strict_load_names_missing_and_unexpected_keys():
    m = TwoLayer()
    sd = m.state_dict()
    del sd["out.bias"]
    sd["extra.weight"] = np.zeros(1)
    with pytest.raises(nn.StateDictError, match=r"missing keys .*\['out.bias'\].*unexpected keys .*"
                                                r"\['extra.weight'\]"):
        m.load_state_dict(sd)


def test_non_strict_load_reports_what_it_skipped():
    m = TwoLayer()
    sd = m.state_dict()
    del sd["out.bias"]
    sd["extra"] = np.zeros(1)
    assert m.load_state_dict(sd, strict=False) == (["out.bias"], ["extra"])


def test_shape_mismatch_names_the_key_and_both_shapes_even_when_not_strict():
    m = TwoLayer()
    sd = m.state_dict()
    sd["hidden.weight"] = np.zeros((5, 3), np.float32)
    with pytest.raises(nn.StateDictError, match=r"'hidden.weight': the checkpoint has shape "
                                                r"\(5, 3\), the model has shape \(4, 3\)"):
        m.load_state_dict(sd, strict=False)


def test_a_failed_load_changes_nothing():
    m = TwoLayer()
    before = m.state_dict()
    sd = {k: v + 1 for k, v in before.items()}
    sd["out.weight"] = np.zeros((9, 9), np.float32)
    with pytest.raises(nn.StateDictError):
        m.load_state_dict(sd)
    for k, v in m.state_dict().items():
        assert np.array_equal(v, before[k]), k


def test_load_refuses_a_dtype_it_cannot_store():
    m = nn.BatchNorm1d(2)
    sd = m.state_dict()
    sd["num_batches_tracked"] = np.array(1.5)
    with pytest.raises(nn.StateDictError, match="'num_batches_tracked': the checkpoint has dtype float64"):
        m.load_state_dict(sd)


def test_loading_after_forward_makes_backward_refuse_stale_saved_values():
    m = nn.Linear(2, 1)
    out = m(tc.randn(3, 2, requires_grad=True))
    m.load_state_dict(nn.Linear(2, 1).state_dict())
    with pytest.raises(RuntimeError, match="changed in place"):
        out.sum().backward()
