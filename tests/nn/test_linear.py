import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn
from haliax.nn.mup import HiddenLinearMup, InputLinearMup, LinearStandardParam, OutputLinearMup
from haliax.quantization import DefaultDotGeneralOp
from haliax.state_dict import (
    flatten_modules_for_export,
    from_state_dict,
    from_torch_compatible_state_dict,
    to_state_dict,
    to_torch_compatible_state_dict,
    unflatten_modules_from_export,
)

B, S, H, D, O, O2 = hax.make_axes(B=2, S=3, H=4, D=5, O=6, O2=2)
KEY = jax.random.PRNGKey(0)


def _x(axes, seed=1):
    return hax.random.normal(jax.random.PRNGKey(seed), axes)


def test_init_layouts():
    lin = hnn.Linear.init(H, O, key=KEY)
    assert lin.weight.axes == (O, H) and lin.bias.axes == (O,)
    assert lin.bias.dtype == jnp.float32 and float(jnp.abs(lin.bias.array).sum()) == 0.0
    lin2 = hnn.Linear.init(H, O, key=KEY, out_first=False)
    assert lin2.weight.axes == (H, O)
    multi = hnn.Linear.init((H, D), (O, O2), key=KEY)
    assert multi.weight.axes == (O, O2, H, D) and multi.bias.axes == (O, O2)
    assert multi.In == (H, D)  # kept as given
    as_dict = hnn.Linear.init({"H": 4, "D": 5}, O, key=KEY)
    assert as_dict.weight.axes == (O, H, D)
    assert hnn.Linear.init(H, O, key=KEY, use_bias=False).bias is None


def test_init_overlap_errors():
    with pytest.raises(ValueError, match="specified twice"):
        hnn.Linear.init(H, H, key=KEY)
    with pytest.raises(ValueError, match="overlap"):
        hnn.Linear.init((H, D), (O, D), key=KEY)


def test_init_is_one_truncated_normal_draw():
    In, Out = hax.Axis("In", 16), hax.Axis("Out", 8)
    lin = hnn.Linear.init(In, Out, key=KEY, init_scale=0.5)
    expected = jax.random.truncated_normal(KEY, -3, 3, (8, 16)) * (0.5 / 4.0)
    np.testing.assert_array_equal(lin.weight.array, expected)


@pytest.mark.parametrize("init_scale", [1.0, 0.3])
def test_init_std_matches_formula(init_scale):
    In, Out = hax.Axis("In", 256), hax.Axis("Out", 1024)
    lin = hnn.Linear.init(In, Out, key=KEY, init_scale=init_scale)
    # tn(-3, 3) has std ~0.98664; standard param scales by 1/sqrt(fan_in)
    tn_std = float(jnp.sqrt(1 - 6 * jnp.exp(-4.5) / jnp.sqrt(2 * jnp.pi) / (2 * jax.scipy.stats.norm.cdf(3.0) - 1)))
    expected = tn_std * init_scale / 16
    assert abs(float(jnp.std(lin.weight.array)) / expected - 1) < 0.02
    # fan-in is the product of every input axis
    multi = hnn.Linear.init((hax.Axis("A", 16), hax.Axis("C", 16)), Out, key=KEY, init_scale=init_scale)
    assert abs(float(jnp.std(multi.weight.array)) / expected - 1) < 0.02


def test_default_linear_has_only_array_leaves():
    lin = hnn.Linear.init(H, O, key=KEY)
    leaves = jax.tree_util.tree_leaves(lin)
    assert len(leaves) == 2 and all(isinstance(x, jax.Array) for x in leaves)
    assert isinstance(lin.dot_general, DefaultDotGeneralOp)
    assert hnn.Linear.init(H, O, key=KEY) == hnn.Linear.init(H, O, key=KEY)


def test_call_matches_einsum():
    lin = hnn.Linear.init((H, D), (O, O2), key=KEY)
    lin = eqx.tree_at(lambda m: m.bias, lin, hax.random.normal(jax.random.PRNGKey(3), (O, O2)))
    x = _x((B, H, S, D))
    out = lin(x)
    assert out.axes == (B, S, O, O2)
    expected = jnp.einsum("bhsd,pqhd->bspq", x.array, lin.weight.array) + lin.bias.array[None, None]
    np.testing.assert_allclose(out.array, expected, rtol=1e-5, atol=1e-5)
    # in-first layout gives the same function
    lin_t = hnn.Linear(lin.weight.rearrange((H, D, O, O2)), lin.bias, (H, D), (O, O2))
    np.testing.assert_allclose(lin_t(x).array, out.array, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_bias", [True, False])
def test_out_axis_in_input_raises(use_bias):
    """Haliax treats an input axis named like Out as a batch axis (one output per unit, a wrong answer); we raise."""
    lin = hnn.Linear.init(H, O, key=KEY, use_bias=use_bias)
    for _ in range(2):  # the second call would hit the plan cache: the error is raised every time
        with pytest.raises(
            ValueError, match=r"Linear: argument 'inputs' \(axes O\(6\), H\(4\)\) already has the Out axis 'O'"
        ) as e:
            lin(_x((O, H)))
    assert "Out axes O(6)" in str(e.value) and "rename" in str(e.value).lower()
    with pytest.raises(ValueError, match="already has the Out axis 'O'"):  # another size: still the same name
        jax.jit(lambda m, x: m(x))(lin, _x((B, O.resize(3), H)))
    multi = hnn.Linear.init(H, (O, O2), key=KEY)
    with pytest.raises(ValueError, match=r"Linear: .*already has the Out axis 'O2'.*Out axes O\(6\), O2\(2\)"):
        multi(_x((B, O2, H)))
    # the general path (a non-default dot_general) checks too
    hooked = eqx.tree_at(lambda m: m.dot_general, lin, lambda *a, **k: jax.lax.dot_general(*a, **k))
    with pytest.raises(ValueError, match="Linear: argument 'inputs'.*already has the Out axis 'O'"):
        hooked(_x((O, H)))
    assert lin(_x((B, H))).axes == (B, O)


def test_mlp_input_with_the_hidden_axis_raises():
    mlp = hnn.MLP.init(H, O, width=5, depth=2, key=KEY)
    hidden = mlp.layers[0].Out
    with pytest.raises(ValueError, match=rf"Linear: argument 'inputs'.*already has the Out axis '{hidden.name}'"):
        mlp(_x((B, hidden, H)))


def test_missing_in_axis_raises_naming_axes():
    """Haliax silently sums the missing In axis out of the weight; we raise."""
    lin = hnn.Linear.init((H, D), O, key=KEY)
    with pytest.raises(ValueError) as e:
        lin(_x((B, H)))
    msg = str(e.value)
    assert "D" in msg and "B(2)" in msg and "H(4)" in msg and "Linear" in msg
    with pytest.raises(ValueError, match="size"):
        lin(_x((B, H, D.resize(7))))
    with pytest.raises(TypeError):
        lin(jnp.ones((4, 5)))


def test_dot_general_hook_receives_inputs_then_weight():
    calls = []

    def dg(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
        calls.append((lhs.shape, rhs.shape, dimension_numbers))
        return jax.lax.dot_general(
            lhs, rhs, dimension_numbers, precision=precision, preferred_element_type=preferred_element_type
        )

    lin = hnn.Linear.init((S, D), O, key=KEY, dot_general=dg)
    out = lin(_x((B, S, D)))
    assert out.axes == (B, O)
    assert calls == [((2, 3, 5), (6, 3, 5), (((1, 2), (1, 2)), ((), ())))]


def test_key_is_ignored_and_jit():
    lin = hnn.Linear.init(H, O, key=KEY)
    x = _x((B, H))
    np.testing.assert_array_equal(lin(x, key=jax.random.PRNGKey(9)).array, lin(x).array)
    np.testing.assert_allclose(eqx.filter_jit(lambda m, x: m(x))(lin, x).array, lin(x).array, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(lambda m, x: m(x))(lin, x).array, lin(x).array, rtol=1e-6)


def test_grads():
    lin = hnn.Linear.init((H, D), O, key=KEY)
    x = _x((B, H, D))

    def f(w, b, a):
        m = eqx.tree_at(lambda m: (m.weight, m.bias), lin, (hax.named(w, lin.weight.axes), hax.named(b, (O,))))
        return m(hax.named(a, (B, H, D))).array

    check_grads(f, (lin.weight.array, lin.bias.array, x.array), order=1, modes=["rev"], eps=1e-2)
    g = eqx.filter_grad(lambda m: m(x).sum().scalar())(lin)
    assert g.weight.axes == lin.weight.axes


def test_optax_step():
    lin = hnn.Linear.init(H, O, key=KEY)
    opt = optax.adam(1e-2)
    state = opt.init(eqx.filter(lin, eqx.is_array))
    x, y = _x((B, H)), _x((B, O), seed=5)

    @eqx.filter_jit
    def step(m, s):
        loss, g = eqx.filter_value_and_grad(lambda m: ((m(x) - y) ** 2).mean().scalar())(m)
        updates, s = opt.update(g, s, eqx.filter(m, eqx.is_array))
        return eqx.apply_updates(m, updates), s, loss

    lin2, state, loss0 = step(lin, state)
    _, _, loss1 = step(lin2, state)
    assert loss1 < loss0


def test_positional_constructor_and_reparam():
    w = hax.ones((O, H))
    lin = hnn.Linear(w, None, H, O, _reparam_cls=OutputLinearMup)
    assert lin.reparam.active_scale == 1 / H.size
    assert isinstance(lin.reparam, OutputLinearMup) and lin.reparam.In == H
    out = lin(hax.full((H,), 2.0))
    np.testing.assert_allclose(out.array, np.full(O.size, 2.0), rtol=1e-6)
    # the reparam class is static: swapping it does not change leaves
    assert jax.tree_util.tree_structure(lin) != jax.tree_util.tree_structure(hnn.Linear(w, None, H, O))
    assert len(jax.tree_util.tree_leaves(lin)) == len(jax.tree_util.tree_leaves(hnn.Linear(w, None, H, O)))


def test_reparam_selectors():
    assert hnn.Linear.input_reparam() is InputLinearMup
    assert hnn.Linear.hidden_reparam() is HiddenLinearMup
    assert hnn.Linear.output_reparam() is OutputLinearMup
    for sel in (hnn.Linear.input_reparam, hnn.Linear.hidden_reparam, hnn.Linear.output_reparam):
        assert sel(False) is LinearStandardParam
        assert sel(use_mup=False) is LinearStandardParam


def test_state_dict_effective_weight():
    lin = hnn.Linear.init(H, O, key=KEY, reparam_cls=OutputLinearMup)
    sd = to_state_dict(lin, "head")
    assert sorted(sd) == ["head.bias", "head.weight"]
    np.testing.assert_allclose(sd["head.weight"], lin.weight.array / H.size, rtol=1e-6)
    back = from_state_dict(lin, sd, "head")
    np.testing.assert_allclose(back.weight.array, lin.weight.array, rtol=1e-6)
    assert back.weight.axes == lin.weight.axes
    # standard param: the raw weight
    std = hnn.Linear.init(H, O, key=KEY)
    np.testing.assert_array_equal(to_state_dict(std)["weight"], std.weight.array)


def test_state_dict_none_bias_and_errors():
    lin = hnn.Linear.init(H, O, key=KEY, use_bias=False)
    assert sorted(to_state_dict(lin)) == ["weight"]
    sd = {"weight": np.ones((O.size, H.size), np.float32), "bias": np.ones(O.size, np.float32)}
    assert from_state_dict(lin, sd).bias is None
    with pytest.raises(KeyError, match="weight"):
        from_state_dict(lin, {"wieght": sd["weight"]})
    with pytest.raises(ValueError, match="shape"):
        from_state_dict(lin, {"weight": np.ones((H.size, O.size))})


@pytest.mark.parametrize("out_first", [True, False])
def test_flatten_unflatten_round_trip(out_first):
    lin = hnn.Linear.init((H, D), (O, O2), key=KEY, out_first=out_first)
    flat = lin.flatten_for_export()
    assert flat.In == hax.Axis("__IN__", 20) and flat.Out == hax.Axis("__OUT__", 12)
    sd = to_state_dict(flat)
    assert sd["weight"].shape == ((12, 20) if out_first else (20, 12))
    assert sd["bias"].shape == (12,) and sd["weight"].dtype == lin.weight.dtype
    assert flat.unflatten_from_export(lin) == lin
    assert unflatten_modules_from_export(flatten_modules_for_export(lin), lin) == lin
    single = hnn.Linear.init(H, O, key=KEY)
    assert single.flatten_for_export() is single
    assert single._out_first and not hnn.Linear.init(H, O, key=KEY, out_first=False)._out_first


def test_torch_compatible_export_matches_torch_linear():
    torch = pytest.importorskip("torch")
    lin = hnn.Linear.init((H, D), O, key=KEY)
    lin = eqx.tree_at(lambda m: m.bias, lin, hax.random.normal(jax.random.PRNGKey(3), (O,)))
    sd = to_torch_compatible_state_dict(lin, prefix="fc")
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    tl = torch.nn.Linear(H.size * D.size, O.size)
    tl.load_state_dict({k[len("fc.") :]: torch.from_numpy(np.array(v)) for k, v in sd.items()})
    x = _x((B, H, D))
    ref = tl(torch.from_numpy(np.array(x.array).reshape(B.size, -1))).detach().numpy()
    np.testing.assert_allclose(lin(x).array, ref, rtol=1e-5, atol=1e-5)
    back = from_torch_compatible_state_dict(hnn.Linear.init((H, D), O, key=jax.random.PRNGKey(7)), sd, prefix="fc")
    assert back == lin


def test_moe_linear_matches_per_row_expert_matmul():
    Ex, T = hax.Axis("Experts", 3), hax.Axis("Tok", 4)
    moe = hnn.MoELinear.init(Ex, H, O, key=KEY)
    assert moe.weight.axes == (Ex, H, O) and moe.bias.axes == (O,) and not moe.out_first
    np.testing.assert_array_equal(
        moe.weight.array, jax.random.truncated_normal(KEY, -3, 3, (3, H.size, O.size)) / np.sqrt(H.size)
    )
    moe = eqx.tree_at(lambda m: m.bias, moe, hax.random.normal(jax.random.PRNGKey(4), (O,)))
    x = _x((B, H, T))
    sizes = jnp.array([3, 0, 5])
    out = moe(x, hax.named(sizes, Ex))
    assert out.axes == (B, O, T)
    rows = jnp.moveaxis(x.array, 1, -1).reshape(-1, H.size)
    expert = jnp.repeat(jnp.arange(3), sizes, total_repeat_length=8)
    ref = jnp.einsum("mk,mkn->mn", rows, moe.weight.array[expert]) + moe.bias.array[None, :]
    np.testing.assert_allclose(jnp.moveaxis(out.array, 1, -1).reshape(-1, O.size), ref, rtol=1e-5, atol=1e-5)
    # out-first layout computes the same function
    moe_t = hnn.MoELinear(moe.weight.rearrange((Ex, O, H)), moe.bias, Ex, H, O)
    assert moe_t.out_first
    np.testing.assert_allclose(moe_t(x, sizes).array, out.array, rtol=1e-5, atol=1e-5)


def test_moe_linear_errors():
    Ex = hax.Axis("Experts", 2)
    moe = hnn.MoELinear.init(Ex, H, O, key=KEY, use_bias=False)
    assert moe.bias is None
    with pytest.raises(ValueError, match="H"):
        moe(_x((B, D)), jnp.array([1, 1]))
    with pytest.raises(ValueError, match="group_sizes"):
        moe(_x((B, H)), jnp.array([2]))
    with pytest.raises(NotImplementedError):
        hnn.MoELinear.init(Ex, H, O, key=KEY, use_gmm=True)


# ---------------------------------------------------------------------------------------------------------
# the eager fast path: one cached jitted call for scale, matmul and bias (same values under jit, grad and
# after eqx.tree_at rebuilt the layer)


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("reparam", [LinearStandardParam, HiddenLinearMup])
def test_linear_fast_path_matches_jnp(use_bias, reparam):
    Bx, In1, In2, Out1, Out2 = hax.make_axes(Bx=3, In1=4, In2=2, Out1=5, Out2=3)
    lin = hnn.Linear.init((In1, In2), (Out1, Out2), key=KEY, use_bias=use_bias, reparam_cls=reparam)
    if use_bias:
        lin = eqx.tree_at(lambda m: m.bias, lin, hax.random.normal(jax.random.PRNGKey(3), (Out1, Out2)))
    x = hax.random.normal(jax.random.PRNGKey(1), (In2, Bx, In1))  # In axes out of order, batch in the middle
    scale = reparam(lin.In, lin.Out).active_scale
    ref = jnp.einsum("jbi,pqij->bpq", x.array, lin.weight.array) * scale
    if use_bias:
        ref = ref + lin.bias.array[None]
    out = lin(x)
    assert out.axes == (Bx, Out1, Out2)
    np.testing.assert_allclose(out.array, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jax.jit(lambda m, a: m(a).array)(lin, x), ref, rtol=1e-5, atol=1e-6)
    rebuilt = eqx.tree_at(lambda m: m.weight, lin, lin.weight * 1.0)
    assert rebuilt.dot_general is not lin.dot_general  # tree_at rebuilt every node
    np.testing.assert_allclose(rebuilt(x).array, ref, rtol=1e-5, atol=1e-6)
    rebuilt2 = jax.tree_util.tree_map(lambda a: a, lin)
    np.testing.assert_allclose(rebuilt2(x).array, ref, rtol=1e-5, atol=1e-6)

    def loss(m, a):
        return jnp.sum(jnp.sin(m(a).array))

    b0 = lin.bias.array if use_bias else jnp.zeros((Out1.size, Out2.size))

    def raw_loss(w, b, a):
        return jnp.sum(jnp.sin(jnp.einsum("jbi,pqij->bpq", a, w) * scale + b[None]))

    g = jax.grad(loss, argnums=(0, 1))(lin, x)
    gw, gb, gx = jax.grad(raw_loss, argnums=(0, 1, 2))(lin.weight.array, b0, x.array)
    np.testing.assert_allclose(g[0].weight.array, gw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g[1].array, gx, rtol=1e-5, atol=1e-6)
    if use_bias:
        np.testing.assert_allclose(g[0].bias.array, gb, rtol=1e-5, atol=1e-6)


def test_linear_fast_path_errors_are_not_cached():
    lin = hnn.Linear.init(H, O, key=KEY)
    with pytest.raises(ValueError, match="Linear"):
        lin(_x((B, D)))
    with pytest.raises(ValueError, match="Linear"):  # the same input again: still an error, never a cached plan
        lin(_x((B, D)))
    with pytest.raises(ValueError):
        lin(_x((B, H.resize(H.size + 1))))
    assert lin(_x((B, H))).axes == (B, O)


def test_linear_default_op_instances_and_lax_dot_general_agree():
    lin = hnn.Linear.init(H, O, key=KEY)
    x = _x((B, H))
    want = lin(x).array
    for op in (DefaultDotGeneralOp(), jax.lax.dot_general):
        other = hnn.Linear(lin.weight, lin.bias, lin.In, lin.Out, dot_general=op)
        np.testing.assert_array_equal(other(x).array, want)
    np.testing.assert_array_equal(
        hax.dot(x, lin.weight, axis=H, dot_general=DefaultDotGeneralOp()).array, hax.dot(x, lin.weight, axis=H).array
    )


@pytest.mark.parametrize("promotion", ["allow", "raise"])
@pytest.mark.parametrize("bias_order", ["trailing", "other"])
def test_eager_bias_add_paths_agree_with_jnp(promotion, bias_order):
    """With NumPy rank promotion allowed, a bias over the trailing output axes is added as a second eager op
    after the cached matmul; otherwise (or for a bias in another order) one cached call does both. Both give
    the plain-jnp answer, eagerly, under jit and under grad."""
    B, I = hax.make_axes(B=3, I=4)
    O1, O2 = hax.make_axes(O1=2, O2=5)
    lin = hnn.Linear.init(I, (O1, O2), key=jax.random.PRNGKey(0))
    if bias_order == "other":
        lin = eqx.tree_at(lambda m: m.bias, lin, lin.bias.rearrange((O2, O1)))
    x = hax.random.normal(jax.random.PRNGKey(1), (B, I))
    w = lin.weight.rearrange((O1, O2, I)).array
    b = lin.bias.rearrange((O1, O2)).array
    want = jnp.einsum("bi,pqi->bpq", x.array, w) + b[None]
    with jax.numpy_rank_promotion(promotion):
        got = lin(x)
        jitted = eqx.filter_jit(lambda m, v: m(v))(lin, x)
        grad = eqx.filter_grad(lambda m, v: hax.sum(m(v)).scalar())(lin, x)
    for out in (got, jitted):
        assert out.axes == (B, O1, O2)
        np.testing.assert_allclose(out.array, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad.bias.rearrange((O1, O2)).array, np.full((2, 5), 3.0), rtol=1e-6)
