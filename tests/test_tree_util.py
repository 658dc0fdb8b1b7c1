"""haliax.tree_util / haliax.tree: NamedArray-as-leaf maps and flattening, scan-aware map, resize_axis, hashable
partitions."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.tree_util as htu
from haliax.jax_utils import maybe_rng_split

X, Y, V = hax.make_axes(X=2, Y=3, V=4)


def _tree():
    return {"a": hax.arange((X, Y)) * 1.0, "b": (jnp.ones(3), 2.0), "c": [hax.zeros(V)]}


def test_tree_map_sees_named_arrays():
    seen = []
    out = htu.tree_map(lambda x: seen.append(type(x).__name__) or x, _tree())
    assert sorted(seen) == ["ArrayImpl", "NamedArray", "NamedArray", "float"]
    assert out["a"].axes == (X, Y)
    summed = htu.tree_map(lambda x: x.sum() if isinstance(x, hax.NamedArray) else x, _tree())
    assert summed["a"].axes == () and float(summed["a"].array) == 15.0


def test_tree_map_multiple_trees_and_is_leaf():
    t = _tree()
    out = htu.tree_map(lambda x, y: x + y if isinstance(x, hax.NamedArray) else x, t, t)
    np.testing.assert_array_equal(out["a"].array, 2 * t["a"].array)
    out = htu.tree_map(lambda x: "tuple" if isinstance(x, tuple) else x, t, is_leaf=lambda x: isinstance(x, tuple))
    assert out["b"] == "tuple" and isinstance(out["a"], hax.NamedArray)


def test_flatten_leaves_structure_unflatten():
    t = _tree()
    leaves, treedef = htu.tree_flatten(t)
    assert len(leaves) == 4 and isinstance(leaves[0], hax.NamedArray)
    back = htu.tree_unflatten(treedef, leaves)
    assert back["a"] is t["a"] and back["b"][1] == 2.0
    assert len(htu.tree_leaves(t)) == 4
    assert htu.tree_structure(t) == treedef


def test_custom_is_leaf_refbug_fixed():
    # a custom is_leaf recurses forever in Haliax.
    t = _tree()
    is_tuple = lambda x: isinstance(x, tuple)  # noqa: E731
    leaves, treedef = htu.tree_flatten(t, is_leaf=is_tuple)
    assert len(leaves) == 3 and leaves[1] == t["b"]
    assert len(htu.tree_leaves(t, is_leaf=is_tuple)) == 3
    assert htu.tree_structure(t, is_leaf=is_tuple).num_leaves == 3
    assert htu.tree_unflatten(treedef, leaves)["b"] == t["b"]
    # NamedArrays are still leaves under a custom predicate
    assert any(isinstance(x, hax.NamedArray) for x in leaves)


def test_tree_aliases():
    t = _tree()
    assert len(hax.tree.leaves(t)) == 4
    assert len(hax.tree.leaves(t, is_leaf=lambda x: isinstance(x, tuple))) == 3
    leaves, treedef = hax.tree.flatten(t)
    assert hax.tree.structure(t) == treedef
    assert hax.tree.unflatten(treedef, leaves)["a"] is t["a"]
    assert hax.tree.map(lambda x: 1, t)["a"] == 1
    assert hax.tree.scan_aware_map(lambda x: 1, t)["c"] == [1]
    with pytest.raises(TypeError):
        hax.tree.leaves(t, lambda x: False)  # is_leaf is keyword-only


def test_scan_aware_map_without_stacked_is_tree_map():
    t = _tree()
    out = htu.scan_aware_tree_map(lambda x: x * 2 if isinstance(x, hax.NamedArray) else x, t)
    np.testing.assert_array_equal(out["a"].array, 2 * t["a"].array)
    assert out["b"] is t["b"] or out["b"] == t["b"]


def test_scan_aware_map_descends_into_stacked():
    hnn = pytest.importorskip("haliax.nn")
    if not hasattr(hnn, "Stacked") or not hasattr(hnn, "Linear"):
        pytest.skip("haliax.nn.Stacked not available yet")
    Block, In, Out = hax.Axis("Block", 3), hax.Axis("In", 4), hax.Axis("Out", 5)
    keys = jax.random.split(jax.random.PRNGKey(0), Block.size)
    stacked = hnn.Stacked.init(Block, hnn.Linear)(In, Out, key=keys)
    model = {"layers": stacked}

    def center(x):
        return x - hax.mean(x) if isinstance(x, hax.NamedArray) else x

    per_layer = htu.scan_aware_tree_map(center, model)["layers"]
    joint = htu.tree_map(center, model)["layers"]
    w_per = per_layer.stacked.weight
    assert w_per.axes == stacked.stacked.weight.axes
    # each layer centred separately...
    layer_means = np.asarray(hax.mean(w_per, axis=(In, Out)).array)
    np.testing.assert_allclose(layer_means, 0.0, atol=1e-6)
    # ...which differs from centring the whole stack at once
    assert abs(float(hax.mean(joint.stacked.weight).array)) < 1e-6
    assert not np.allclose(np.asarray(hax.mean(joint.stacked.weight, axis=(In, Out)).array), 0.0, atol=1e-6)
    # fn sees one layer at a time (no Block axis)
    seen = []
    htu.scan_aware_tree_map(lambda x: seen.append(x.axes) or x if isinstance(x, hax.NamedArray) else x, model)
    assert all("Block" not in [a.name for a in axes] for axes in seen)
    assert per_layer.Block == Block


def test_resize_axis_shrink_and_same():
    w = hax.arange((V, X)) * 1.0
    small = htu.resize_axis(w, "V", 2)
    assert small.axes == (V.resize(2), X)
    np.testing.assert_array_equal(small.array, w.array[:2])
    assert htu.resize_axis(w, V, 4) is w


def test_resize_axis_grow_without_key_appends_mean():
    w = hax.named(jnp.array([[1.0, 10.0], [3.0, 20.0]]), (hax.Axis("V", 2), X))
    big = htu.resize_axis(w, "V", 5)
    assert big.axes == (hax.Axis("V", 5), X)
    np.testing.assert_array_equal(big.array[:2], w.array)
    np.testing.assert_array_equal(big.array[2:], np.tile([2.0, 15.0], (3, 1)))
    # the axis may be anywhere: stats are along it, per position of the other axes
    wt = hax.named(w.array.T, (X, hax.Axis("V", 2)))
    bigt = htu.resize_axis(wt, "V", 3)
    assert bigt.axes == (X, hax.Axis("V", 3))
    np.testing.assert_array_equal(bigt.array[:, 2], [2.0, 15.0])


def test_resize_axis_grow_with_key_stats_and_formula():
    key = jax.random.PRNGKey(3)
    E = hax.Axis("E", 3)
    w = hax.random.normal(jax.random.PRNGKey(1), (hax.Axis("V", 8), E)) * hax.named(jnp.array([1.0, 2.0, 4.0]), E)
    w = w + hax.named(jnp.array([0.0, 5.0, -5.0]), E)
    big = htu.resize_axis(w, "V", 408, key=key)
    assert big.axes == (hax.Axis("V", 408), E)
    np.testing.assert_array_equal(big.array[:8], w.array)
    mean = np.asarray(jnp.mean(w.array, axis=0))
    std = np.asarray(jnp.std(w.array, axis=0))
    new = np.asarray(big.array[8:])
    # exact formula: tn(-2, 2) * std + mean, with the (single) leaf's key from the per-leaf split
    k = maybe_rng_split(key, 1)[0]
    expected = np.asarray(jax.random.truncated_normal(k, -2, 2, (400, 3))) * std + mean  # NumPy broadcasting
    np.testing.assert_allclose(new, expected, rtol=1e-6, atol=1e-6)
    # statistics: within mean +- 2 std, centred on the mean, spread ~ 0.88 std (std of tn(-2, 2))
    assert (np.abs(new - mean) <= 2 * std + 1e-5).all()
    np.testing.assert_allclose(new.mean(0), mean, atol=0.15 * float(std.max()))
    np.testing.assert_allclose(new.std(0) / std, 0.88, atol=0.1)


def test_resize_axis_tree_untouched_leaves_and_per_leaf_keys():
    E = hax.Axis("E", 2)
    a = hax.random.normal(jax.random.PRNGKey(0), (V, E))
    tree = {"a": a, "b": a, "other": hax.ones(X), "raw": jnp.ones((4,)), "n": 3}
    out = htu.resize_axis(tree, V, 6, key=jax.random.PRNGKey(1))
    assert out["a"].axes == (V.resize(6), E) and out["b"].axes == (V.resize(6), E)
    assert out["other"] is tree["other"] and out["raw"] is tree["raw"] and out["n"] == 3
    # keys are split per leaf: two identical arrays grow differently
    assert not np.array_equal(out["a"].array[4:], out["b"].array[4:])


def test_resize_axis_dtype_and_errors():
    w = hax.ones((V, X), dtype=jnp.bfloat16)
    out = htu.resize_axis(w, "V", 6, key=jax.random.PRNGKey(0))
    assert out.dtype == jnp.bfloat16
    with pytest.raises(ValueError, match="resize_axis: new_size"):
        htu.resize_axis(w, "V", -1)
    with pytest.raises(TypeError, match="resize_axis: argument 'axis'"):
        htu.resize_axis(w, 3, 2)


def test_hashable_partition_combine():
    class M(eqx.Module):
        w: hax.NamedArray
        raw: jax.Array
        name: str
        n: int

    m = M(hax.ones(X), jnp.zeros(3), "m", 4)
    dyn, static = htu.hashable_partition(m, eqx.is_array)
    hash(static)  # hashable
    assert jax.tree_util.tree_leaves(dyn)[0].shape == (2,)
    back = htu.hashable_combine(dyn, static)
    assert back.w.axes == (X,) and back.name == "m" and back.n == 4
    np.testing.assert_array_equal(back.raw, m.raw)
    # usable as a jit static argument
    f = jax.jit(lambda d, s: htu.hashable_combine(d, s).w.array.sum(), static_argnums=1)
    assert float(f(dyn, static)) == 2.0
