"""haliax.jax_utils: key splitting, checkpoint names, multilevel_scan, Static, small predicates, multi-host helpers
(single process)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import jax_utils as ju

X = hax.Axis("X", 3)


def test_top_level_exports():
    assert ju.__all__ == ["tree_checkpoint_name"]
    assert hax.tree_checkpoint_name is ju.tree_checkpoint_name
    # jax_utils has its own to_jax_shape (ints pass through); haliax.axis keeps the axis-spec-only one
    assert ju.to_jax_shape is not hax.axis.to_jax_shape


def test_is_jax_array_like():
    assert ju.is_jax_array_like(jnp.ones(2))
    assert ju.is_jax_array_like(np.ones(2))
    assert ju.is_jax_array_like(jax.ShapeDtypeStruct((2,), jnp.float32))
    assert ju.is_jax_array_like(hax.ones(X))  # a NamedArray qualifies
    assert not ju.is_jax_array_like(1.0)
    assert not ju.is_jax_array_like([1, 2])


def test_is_in_jit():
    assert not ju.is_in_jit()
    assert jax.jit(lambda: jnp.array(ju.is_in_jit()))()
    seen = []
    jax.lax.scan(lambda c, x: (seen.append(ju.is_in_jit()) or c, x), 0.0, jnp.ones(2))  # staged body
    jax.make_jaxpr(lambda x: seen.append(ju.is_in_jit()) or x)(1.0)
    assert seen == [True, True]


def test_is_scalarish_and_ensure_scalar():
    assert ju.is_scalarish(1.0) and ju.is_scalarish(np.float32(2)) and ju.is_scalarish(jnp.array(1.0))
    assert ju.is_scalarish(hax.named(1.0, ()))
    assert not ju.is_scalarish(hax.ones(X)) and not ju.is_scalarish(jnp.ones(2))
    assert float(ju.ensure_scalar(hax.named(3.0, ()))) == 3.0
    assert ju.ensure_scalar(5) == 5
    with pytest.raises(TypeError, match="ensure_scalar: temperature must be a scalar"):
        ju.ensure_scalar(hax.ones(X), name="temperature")


def test_maybe_rng_split():
    assert ju.maybe_rng_split(None, 3) == [None, None, None]
    key = jax.random.PRNGKey(0)
    ks = ju.maybe_rng_split(key, 3)
    np.testing.assert_array_equal(ks, jax.random.split(key, 3))
    one = ju.maybe_rng_split(key, 1)
    assert one.shape == (1, 2)
    np.testing.assert_array_equal(one[0], key)  # not split, just reshaped
    tk = jax.random.key(0)
    assert ju.maybe_rng_split(tk, 2).shape == (2,)


def test_shaped_rng_split():
    key = jax.random.PRNGKey(0)
    s = ju.shaped_rng_split(key, (2, 3))
    assert s.shape == (2, 3, 2)
    np.testing.assert_array_equal(s.reshape(6, 2), jax.random.split(key, 6))
    assert ju.shaped_rng_split(key, 4).shape == (4, 2)
    np.testing.assert_array_equal(ju.shaped_rng_split(key, (1, 1)), key.reshape(1, 1, 2))


def test_named_call_scopes_names():
    @ju.named_call
    def my_block(x):
        return jnp.sin(x) * 2

    @ju.named_call(name="custom_scope")
    def other(x):
        return jnp.cos(x)

    assert my_block.__name__ == "my_block"
    hlo = jax.jit(lambda x: other(my_block(x))).lower(jnp.ones(3)).as_text(debug_info=True)
    assert "my_block" in hlo and "custom_scope" in hlo
    np.testing.assert_allclose(my_block(jnp.ones(2)), 2 * np.sin(1.0) * np.ones(2), rtol=1e-6)


def test_tree_checkpoint_name_tags_every_array_leaf():
    def f(tree):
        tree = hax.tree_checkpoint_name(tree, "acts")
        return tree["a"].array.sum() + tree["b"].sum() + tree["n"]

    tree = {"a": hax.ones(X), "b": jnp.ones(2), "n": 1.0}
    jaxpr = jax.make_jaxpr(f)(tree)
    names = [e.params.get("name") for e in jaxpr.jaxpr.eqns if e.primitive.name == "name"]
    assert names.count("acts") == 3  # both arrays and the traced scalar
    out = ju.tree_checkpoint_name({"a": hax.ones(X), "s": "static"}, "n")
    assert out["s"] == "static" and out["a"].axes == (X,)


def test_filter_checkpoint_policy_and_values():
    def body(x, scale):
        y = jnp.sin(x) * scale
        return jnp.sum(jax.ad_checkpoint.checkpoint_name(y, "y") ** 2)

    with pytest.warns(DeprecationWarning, match="filter_checkpoint is deprecated"):
        ck = ju.filter_checkpoint(body, policy=jax.checkpoint_policies.save_only_these_names("y"))
    x = jnp.linspace(0.0, 1.0, 4)
    np.testing.assert_allclose(jax.grad(ck)(x, 2.0), jax.grad(body)(x, 2.0), rtol=1e-6)
    assert "remat" in str(jax.make_jaxpr(jax.grad(ck))(x, 2.0)) or "checkpoint" in str(
        jax.make_jaxpr(jax.grad(ck))(x, 2.0)
    )


def test_multilevel_scan_matches_lax_scan():
    def f(c, x):
        return c * 0.9 + x["a"] * x["s"], c + x["a"]

    xs = {"a": jnp.arange(12.0).reshape(6, 2), "s": jnp.arange(6.0) / 6}
    c0 = jnp.zeros(2)
    ref_c, ref_y = jax.lax.scan(f, c0, xs, length=6)
    c, ys = ju.multilevel_scan(f, c0, xs, outer_size=3, length=6)
    np.testing.assert_allclose(c, ref_c, rtol=1e-6)
    np.testing.assert_allclose(ys, ref_y, rtol=1e-6)
    rc, ry = jax.lax.scan(f, c0, xs, length=6, reverse=True)
    c, ys = ju.multilevel_scan(f, c0, xs, outer_size=2, length=6, reverse=True)
    np.testing.assert_allclose(c, rc, rtol=1e-6)
    np.testing.assert_allclose(ys, ry, rtol=1e-6)
    g = jax.grad(lambda c0: ju.multilevel_scan(f, c0, xs, 3, 6)[0].sum())(c0)
    np.testing.assert_allclose(g, jax.grad(lambda c0: jax.lax.scan(f, c0, xs)[0].sum())(c0), rtol=1e-6)
    with pytest.raises(ValueError, match="Length 6 must be divisible by outer_size 4"):
        ju.multilevel_scan(f, c0, xs, outer_size=4, length=6)


def test_static_module():
    s = ju.Static({"a": 1})
    assert jax.tree_util.tree_leaves(s) == []
    traces = []

    @eqx.filter_jit
    def f(s, x):
        traces.append(1)
        return x + s.value

    np.testing.assert_array_equal(f(ju.Static(2), jnp.ones(2)), 3 * np.ones(2))
    f(ju.Static(2), jnp.ones(2))  # equal static value: cache hit
    assert len(traces) == 1


def test_broadcast_prefix():
    assert ju.broadcast_prefix((1, 2), ([0, 0], {"a": 0, "b": 0})) == ([1, 1], {"a": 2, "b": 2})
    full = {"w": hax.ones(X), "b": [jnp.ones(2), jnp.ones(3)]}
    out = ju.broadcast_prefix({"w": True, "b": False}, full, is_leaf=lambda x: isinstance(x, hax.NamedArray))
    # the result has full's complete structure: the prefix leaf for a NamedArray becomes a NamedArray holding it
    assert isinstance(out["w"], hax.NamedArray) and out["w"].array is True and out["w"].axes == (X,)
    assert out["b"] == [False, False]
    with pytest.raises(ValueError, match="broadcast_prefix: argument 'prefix' is not a pytree prefix"):
        ju.broadcast_prefix((1, 2, 3), (0, 0))


def test_filter_eval_shape_and_combine():
    with pytest.warns(DeprecationWarning, match="filter_eval_shape is deprecated"):
        out = ju.filter_eval_shape(lambda n, axis: hax.zeros(axis) * n, 2.0, X)
    assert out.axes == (X,) and isinstance(out.array, jax.ShapeDtypeStruct)
    with pytest.warns(DeprecationWarning, match="combine is deprecated"):
        assert ju.combine([1, None, None], [None, 2, None], [None, None, 3]) == [1, 2, 3]


def test_is_pallas_dslice():
    from jax.experimental import pallas as pl

    assert ju.is_pallas_dslice(pl.ds(0, 2))
    assert not ju.is_pallas_dslice(slice(0, 2))
    assert not ju.is_pallas_dslice(hax.ds(0, 2))


def test_multihost_helpers_single_process():
    ju.sync_global_devices("test")
    tree = {"a": jnp.ones(2), "n": 3, "x": hax.arange(X)}
    out = ju.broadcast_one_to_all(tree)
    # one process: every leaf comes back as a NumPy array (as multihost_utils gives), NamedArrays keep their axes
    assert type(out["a"]) is np.ndarray and type(out["n"]) is np.ndarray and int(out["n"]) == 3
    assert type(out["x"].array) is np.ndarray and out["x"].axes == (X,)
    np.testing.assert_array_equal(out["a"], np.ones(2))
    ju.assert_equal(tree, "should be equal")


def test_to_jax_shape_passes_ints_through():
    A = hax.Axis("a", 2)
    assert ju.to_jax_shape((A, 3)) == (2, 3)
    assert ju.to_jax_shape([3, A, np.int64(4)]) == (3, 2, 4)
    assert ju.to_jax_shape(A) == (2,) and ju.to_jax_shape(5) == (5,)
    assert ju.to_jax_shape({"a": 2, "b": 3}) == (2, 3)
    assert ju.to_jax_shape(()) == ()
    with pytest.raises(TypeError, match="to_jax_shape: argument 'shape' must hold Axis objects or ints, got 'a'"):
        ju.to_jax_shape((A, "a"))
    with pytest.raises(TypeError, match="to_jax_shape: argument 'shape'"):
        ju.to_jax_shape((True,))


def test_broadcast_prefix_structure_is_full_without_is_leaf():
    x = hax.ones((X, hax.Axis("Y", 2)))
    out = ju.broadcast_prefix([0], [x], is_leaf=hax.is_named_array)
    assert len(out) == 1 and isinstance(out[0], hax.NamedArray)
    assert out[0].array == 0 and out[0].axes == x.axes
    # without is_leaf the result is the same: structure always comes from the full tree
    same = ju.broadcast_prefix([0], [x])
    assert isinstance(same[0], hax.NamedArray) and same[0].array == 0
    # a prefix leaf over a subtree with several leaves is repeated for each
    assert ju.broadcast_prefix({"a": 7}, {"a": (1, [2, 3])}) == {"a": (7, [7, 7])}


def test_deprecated_equinox_wrappers_warn_and_delegate():
    with pytest.warns(DeprecationWarning, match="filter_checkpoint is deprecated"):
        f = ju.filter_checkpoint(lambda x: x * 3)
    np.testing.assert_allclose(f(jnp.ones(2)), 3 * np.ones(2))
    with pytest.warns(DeprecationWarning, match="filter_eval_shape is deprecated"):
        s = ju.filter_eval_shape(lambda x: x[:1], jnp.ones(3))
    assert s.shape == (1,)
    with pytest.warns(DeprecationWarning, match="combine is deprecated"):
        assert ju.combine({"a": None, "b": 2}, {"a": 1, "b": None}) == {"a": 1, "b": 2}


def test_is_on_mac_metal_and_host_local_array_to_global_array():
    from jax.experimental import multihost_utils

    assert ju.is_on_mac_metal() is (jax.devices()[0].platform.lower() == "metal")
    assert ju.is_on_mac_metal() is False  # the tests run on CPU
    assert ju.host_local_array_to_global_array is multihost_utils.host_local_array_to_global_array
