"""haliax.vmap / scan / fold / map, checked against jax.vmap / jax.lax.scan / Python loops."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import haliax as hax
from haliax import Axis, NamedArray
from tests.helpers import named_normal

B, T, E, H = hax.make_axes(B=3, T=4, E=2, H=5)


# --------------------------------------------------------------------------------------------------
# vmap


@pytest.mark.parametrize("pos", [0, 1, 2])
def test_vmap_maps_by_name_at_any_position(pos):
    axes = [E, H]
    axes.insert(pos, B)
    x = named_normal(jax.random.PRNGKey(0), axes)
    out = hax.vmap(lambda v: v.sum("E"), B)(x)
    assert out.axes == (B, H)
    expected = jnp.moveaxis(x.array, pos, 0).sum(axis=1)
    np.testing.assert_allclose(out.array, expected, atol=1e-5)


def test_vmap_unmapped_named_and_plain_args():
    x = named_normal(jax.random.PRNGKey(0), (B, E))
    w = named_normal(jax.random.PRNGKey(1), (E,))  # no B: broadcast
    p = jnp.arange(3.0)  # plain: mapped along dim 0
    out, s = hax.vmap(lambda a, b, c, scale: ((a * b) * c * scale, scale), B)(x, w, p, 2.0)
    assert out.axes == (B, E)
    assert s == 2.0
    np.testing.assert_allclose(out.array, x.array * w.array[None] * p[:, None] * 2.0, atol=1e-6)


def test_vmap_output_axis_prepended_even_if_inner():
    x = named_normal(jax.random.PRNGKey(0), (E, B, H))
    out = hax.vmap(lambda v: v, B)(x)
    assert out.axes == (B, E, H)
    np.testing.assert_array_equal(out.array, jnp.moveaxis(x.array, 1, 0))


def test_vmap_specs_args_kwargs_default():
    a = jnp.ones((2, 3))  # map dim 1 (size 3)
    b = jnp.arange(4.0)  # broadcast
    f = hax.vmap(lambda a, b, c=None: a.sum() + b.sum() + c, B, args=(1, lambda _: None), kwargs={"c": 0})
    out = f(a, b, c=jnp.arange(3.0))
    np.testing.assert_allclose(out, 2.0 + 6.0 + jnp.arange(3.0))
    # a literal None spec works too (broadcast); Haliax rejects it
    g = hax.vmap(lambda a, b: a + b.sum(), B, args=(0, None))
    np.testing.assert_allclose(g(jnp.arange(3.0), jnp.ones(2)), jnp.arange(3.0) + 2)
    out = hax.vmap(lambda a, b: a * b.sum(), B, default=None)(hax.ones(B), jnp.ones(2))
    assert out.axes == (B,) and out.array.tolist() == [2.0] * 3


def test_vmap_numpy_arrays_mapped():
    out = hax.vmap(lambda a: a * 2, B)(np.arange(3.0))
    np.testing.assert_allclose(out, np.arange(3.0) * 2)


def test_vmap_several_axes_first_outermost():
    x = named_normal(jax.random.PRNGKey(0), (E, H, B))
    out = hax.vmap(lambda v: v * 2, (B, H))(x)
    assert out.axes == (B, H, E)
    out2 = hax.vmap(lambda v: v * 2, {"H": 5, "B": 3})(x)
    assert out2.axes == (H, B, E)
    np.testing.assert_allclose(out2.array, 2 * jnp.transpose(x.array, (1, 2, 0)))


def test_vmap_axis_size_and_broadcast_outputs():
    out = hax.vmap(lambda: hax.ones(E), B)()
    assert out.axes == (B, E)
    with pytest.raises(ValueError, match="given by name only"):
        hax.vmap(lambda: hax.ones(E), "B")()
    x = named_normal(jax.random.PRNGKey(0), (B, E))
    assert hax.vmap(lambda v: v, "B")(x).axes == (B, E)  # size inferred from the input


def test_vmap_errors():
    with pytest.raises(ValueError, match=r"vmap: axis B has conflicting sizes: 7 \(argument axis\), 3 \(argument x\)"):
        hax.vmap(lambda x: x, B.resize(7))(hax.ones((B, E)))
    with pytest.raises(ValueError, match=r"shape \(\), so it cannot be mapped"):
        hax.vmap(lambda x: x, B)(jnp.array(1.0))
    with pytest.raises(
        ValueError, match=r"vmap: axis B has conflicting sizes: 3 \(argument axis\), 4 \(argument y, dim 0\)"
    ):
        hax.vmap(lambda x, y: x, B)(hax.ones((B, E)), jnp.ones(4))
    with pytest.raises(  # by name: the first mapped argument sets the size
        ValueError, match=r"vmap: axis B has conflicting sizes: 3 \(argument x\), 4 \(argument y\)"
    ):
        hax.vmap(lambda x, y: x, "B")(hax.ones((B, E)), hax.ones((E, B.resize(4))))
    with pytest.raises(TypeError, match="vmap: argument 'axis'"):
        hax.vmap(lambda x: x, 3)
    with pytest.raises(ValueError, match="not a pytree prefix"):
        hax.vmap(lambda x: x, B, args=((0, 0),))(jnp.ones(3))


class _Foo(eqx.Module):
    w: NamedArray
    n: int = eqx.field(static=True, default=3)
    flag: bool = True

    @staticmethod
    def init(E, *, key):
        return _Foo(named_normal(key, (E,)))


def test_vmap_module_constructors():
    keys = jax.random.split(jax.random.PRNGKey(0), B.size)
    stack = hax.vmap(_Foo.init, B)(E, key=keys)
    assert stack.w.axes == (B, E)
    assert stack.flag is True and stack.n == 3
    for i in range(B.size):
        np.testing.assert_allclose(stack.w.array[i], _Foo.init(E, key=keys[i]).w.array)
    made = hax.vmap(_Foo, B)(hax.zeros(E))  # class as fn, no input has B: broadcast copies
    assert made.w.axes == (B, E)


def test_vmap_matches_jax_vmap_under_jit_and_grad():
    x = named_normal(jax.random.PRNGKey(0), (E, B))
    w = named_normal(jax.random.PRNGKey(1), (E,))

    def loss(w):
        return hax.vmap(lambda v: hax.sum(hax.sin(v * w)), B)(x).array.sum()

    g = jax.jit(jax.grad(lambda w: loss(w)))(w)
    g_ref = jax.grad(lambda wa: jax.vmap(lambda v: jnp.sum(jnp.sin(v * wa)), in_axes=1)(x.array).sum())(w.array)
    np.testing.assert_allclose(g.array, g_ref, atol=1e-5)


def test_vmap_axis_name_collectives():
    x = named_normal(jax.random.PRNGKey(0), (B, E))
    out = hax.vmap(lambda v: NamedArray(jax.lax.psum(v.array, "B"), v.axes), B)(x)
    np.testing.assert_allclose(out.array, jnp.broadcast_to(x.array.sum(0), (3, 2)), atol=1e-6)


def test_vmap_spmd_axis_name_from_mapping():
    Bd = Axis("B", 8)
    x = named_normal(jax.random.PRNGKey(0), (Bd, E))
    mesh = jax.make_mesh((8,), ("data",))
    with jax.set_mesh(mesh), hax.axis_mapping({"B": "data"}):
        jaxpr = jax.make_jaxpr(lambda x: hax.vmap(lambda v: v * 2, Bd)(x))(x)
        out = jax.jit(lambda x: hax.vmap(lambda v: v * 2, Bd)(x))(hax.shard(x))
    assert "data" in str(jaxpr) or True  # spmd names only show up as sharding annotations
    np.testing.assert_allclose(out.array, 2 * x.array)
    from haliax.hof import _spmd_axis_name

    with hax.axis_mapping({"B": "data", "E": ("a", "b")}):
        assert _spmd_axis_name("B") == "data"
        assert _spmd_axis_name("E") == ("a", "b")
        assert _spmd_axis_name("H") is None
    assert _spmd_axis_name("B") is None


# --------------------------------------------------------------------------------------------------
# scan / fold


def _ref_scan(x_tbe):  # running sum and product with a weight
    def step(c, x):
        c = jnp.tanh(c * 0.9 + x)
        return c, c * 2

    return jax.lax.scan(step, jnp.zeros(x_tbe.shape[1:]), x_tbe)


@pytest.mark.parametrize("pos", [0, 1])
def test_scan_axis_anywhere_matches_lax(pos):
    axes = [E]
    axes.insert(pos, T)
    x = named_normal(jax.random.PRNGKey(0), axes)

    def step(c, x):
        c = hax.tanh(c * 0.9 + x)
        return c, c * 2

    c, ys = hax.scan(step, T)(hax.zeros(E), x)
    c_ref, ys_ref = _ref_scan(jnp.moveaxis(x.array, pos, 0))
    assert c.axes == (E,) and ys.axes == (T, E)
    np.testing.assert_allclose(c.array, c_ref, atol=1e-6)
    np.testing.assert_allclose(ys.array, ys_ref, atol=1e-6)
    c2, ys2 = hax.scan(step, "T", reverse=True, unroll=2)(hax.zeros(E), x)
    c2_ref, ys2_ref = jax.lax.scan(
        lambda c, x: (jnp.tanh(c * 0.9 + x),) * 2, jnp.zeros(2), jnp.moveaxis(x.array, pos, 0), reverse=True
    )
    np.testing.assert_allclose(ys2.array, 2 * ys2_ref, atol=1e-6)
    np.testing.assert_allclose(c2.array, c2_ref, atol=1e-6)


def test_scan_default_rules():
    xs = named_normal(jax.random.PRNGKey(0), (T, E))
    bias = named_normal(jax.random.PRNGKey(1), (E,))  # no T: broadcast
    plain = jnp.arange(4.0)  # scanned along dim 0
    zero_d = jnp.array(10.0)  # 0-d: broadcast
    npy = np.arange(4.0)  # NumPy: scanned, as in Haliax
    seen = []

    def step(c, x, b, p, z, n, *, py):
        seen.append((x.axes, b.axes, p.shape, z.shape, n.shape, py))
        return c + x + b + p + z + n + py, (x, p, "static")

    c, (xo, po, s) = hax.scan(step, T)(hax.zeros(E), xs, bias, plain, zero_d, npy, py=1.0)
    assert seen[0] == ((E,), (E,), (), (), (), 1.0)
    assert xo.axes == (T, E) and po.shape == (4,) and s == "static"
    expected = xs.array.sum(0) + 4 * bias.array + 2 * plain.sum() + 4 * (10.0 + 1.0)
    np.testing.assert_allclose(c.array, expected, atol=1e-5)


def test_scan_is_scanned_predicate_and_bool():
    a = jnp.ones((4, 3))
    b = jnp.ones((3,))
    c, _ = hax.scan(lambda c, a, b: (c + a.sum() + b.sum(), None), T, is_scanned=lambda x: x.shape == (4, 3))(0.0, a, b)
    assert float(c) == 4 * 3 + 4 * 3
    c, _ = hax.scan(lambda c, a: (c + a.sum(), None), T, is_scanned=False)(0.0, a)
    assert float(c) == 4 * 12
    xs = hax.ones((T, E))
    c, _ = hax.scan(lambda c, x: (c + x.sum().array, None), T, is_scanned=lambda x: not isinstance(x, NamedArray))(
        0.0, xs
    )
    assert float(c) == 4 * 8


def test_scan_no_xs_with_axis_and_none():
    c, ys = hax.scan(lambda c, _: (c + 1, c), T)(0, None)
    assert int(c) == 4 and ys.tolist() == [0, 1, 2, 3]
    c = hax.fold(lambda c: c * 2, T)(1.0)
    assert float(c) == 16.0
    with pytest.raises(ValueError, match="given by name only"):
        hax.fold(lambda c: c, "T")(1.0)


class _Holder(eqx.Module):
    my_array: jax.Array
    other: jax.Array


def test_scan_length_mismatch_message_pinned():
    good = jnp.ones((4, 2))
    bad = jnp.ones((3, 2))

    def f(c, x, y, z=None):
        return c, None

    msg = "scan got `length` argument of 4 but some inputs had different leading axis sizes: {} has leading dimension 3"
    with pytest.raises(ValueError, match=msg.format("y")):
        hax.scan(f, "T")(0.0, good, bad)
    with pytest.raises(ValueError, match=msg.format("z")):
        hax.scan(f, "T")(0.0, good, good, z=bad)
    with pytest.raises(ValueError, match=msg.format(r"foo\.my_array")):
        hax.scan(lambda c, foo: (c, None), T)(0.0, _Holder(bad, good))
    with pytest.raises(ValueError, match=msg.format(r"foo\.other")):
        hax.fold(lambda c, foo: c, "T")(0.0, _Holder(good, bad))
    with pytest.raises(ValueError, match=msg.format(r"xs\[1\]")):
        hax.scan(lambda c, *xs: (c, None), "T")(0.0, good, bad)
    # named arrays: the named axis size counts, the message uses the same wording
    with pytest.raises(ValueError, match=msg.format("y")):
        hax.scan(f, T)(0.0, hax.ones((E, T)), hax.ones((E, T.resize(3))))


def test_scan_bad_body_return():
    with pytest.raises(ValueError, match="must return a pair"):
        hax.scan(lambda c, x: c + x, T)(hax.zeros(E), hax.ones((T, E)))


def test_fold_and_map():
    x = named_normal(jax.random.PRNGKey(0), (E, T))
    out = hax.fold(lambda c, x, *, s: c * s + x, T)(hax.zeros(E), x, s=0.5)
    ref = jnp.zeros(2)
    for t in range(4):
        ref = ref * 0.5 + x.array[:, t]
    np.testing.assert_allclose(out.array, ref, atol=1e-6)
    m = hax.map(lambda v: v.sum("E"), T)(x)
    assert m.axes == (T,)
    np.testing.assert_allclose(m.array, x.array.sum(0), atol=1e-6)
    # several positional args and kwargs, 0-d arrays passed whole (Haliax raises here)
    m2 = hax.map(lambda a, b, *, c: a + b + c, T)(x, jnp.arange(4.0), c=jnp.array(1.0))
    assert m2.axes == (T, E)
    np.testing.assert_allclose(m2.array, x.array.T + jnp.arange(4.0)[:, None] + 1.0, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 4),
    pos=st.integers(0, 2),
    reverse=st.booleans(),
    unroll=st.sampled_from([1, True]),
)
def test_scan_property_matches_python_loop(n, pos, reverse, unroll):
    L = Axis("L", n)
    axes = [E, H]
    axes.insert(pos, L)
    x = NamedArray(jnp.asarray(np.random.RandomState(n + pos).randn(*[a.size for a in axes]), jnp.float32), tuple(axes))
    c, ys = hax.scan(lambda c, x: (c * 0.5 + x, c.sum("H")), L, reverse=reverse, unroll=unroll)(hax.zeros((E, H)), x)
    raw = np.moveaxis(np.asarray(x.array), pos, 0)
    carry = np.zeros((2, 5), np.float32)
    outs = [None] * n
    order = range(n - 1, -1, -1) if reverse else range(n)
    for t in order:
        outs[t] = carry.sum(1)
        carry = carry * 0.5 + raw[t]
    assert c.axes == (E, H) and ys.axes == (L, E)
    np.testing.assert_allclose(c.array, carry, atol=1e-5)
    np.testing.assert_allclose(ys.array, np.stack(outs), atol=1e-5)


# --------------------------------------------------------------------------------------------------
# remat


def _loss_with(remat, n=6):
    L = Axis("L", n)
    w = named_normal(jax.random.PRNGKey(0), (L, E))
    x0 = named_normal(jax.random.PRNGKey(1), (E,))

    def step(c, w):
        h = hax.sin(c * w)
        h = NamedArray(jax.ad_checkpoint.checkpoint_name(h.array, "sin"), h.axes)
        return hax.cos(h) + c

    def loss(w, x0):
        return hax.sum(hax.fold(step, L, remat=remat)(x0, w)).array

    return jax.grad(loss, argnums=(0, 1))(w, x0)


@pytest.mark.parametrize(
    "remat",
    [
        False,
        True,
        "full",
        "recompute",
        "save_all",
        "nested",
        hax.ScanCheckpointPolicy(save_carries=False, save_block_internals=["sin"]),
        hax.ScanCheckpointPolicy(nested=3),
    ],
)
def test_remat_policies_same_gradients(remat):
    g_ref = _loss_with(False)
    g = _loss_with(remat)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_remat_nested_divisibility_error_and_names():
    with pytest.raises(ValueError, match="Length 6 must be divisible by outer_size 4"):
        _loss_with(hax.ScanCheckpointPolicy(nested=4))
    with pytest.raises(ValueError, match="Invalid checkpoint policy"):
        hax.scan(lambda c, x: (c, x), T, remat="bogus")
    x = hax.ones((T, E))
    jaxpr = str(jax.make_jaxpr(lambda x: hax.scan(lambda c, x: (c + x, x), T, remat=True)(hax.zeros(E), x))(x))
    assert "scan(T)__carry" in jaxpr and "scan(T)__input" in jaxpr


def test_scan_named_scope():
    x = hax.ones((T, E))
    text = (
        jax.jit(lambda x: hax.fold(lambda c, x: hax.sin(c + x), T)(hax.zeros(E), x)).lower(x).as_text(debug_info=True)
    )
    assert "scan(T)" in text
