"""Tests for the haliax.specialized_fns module path (top_k)."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

import haliax as hax
import haliax.ops.reductions
import haliax.specialized_fns
from haliax.specialized_fns import top_k


def test_top_k_is_the_same_object():
    assert top_k is haliax.ops.reductions.top_k
    assert top_k is hax.top_k
    assert haliax.specialized_fns.__all__ == ["top_k"]


def test_reachable_after_plain_import():
    code = "import haliax; assert haliax.specialized_fns.top_k is haliax.top_k"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_top_k_matches_lax_either_axis_order():
    X, Y = hax.make_axes(X=3, Y=5)
    raw = np.array(jax.random.normal(jax.random.PRNGKey(0), (3, 5)))
    for arr, pos in ((hax.named(raw, (X, Y)), 1), (hax.named(raw.T, (Y, X)), 0)):
        vals, idx = top_k(arr, "Y", 2)
        ev, ei = jax.lax.top_k(jnp.moveaxis(arr.array, pos, -1), 2)
        expected_axes = tuple(Y.resize(2) if a == Y else a for a in arr.axes)
        assert vals.axes == expected_axes and idx.axes == expected_axes
        np.testing.assert_array_equal(vals.array, jnp.moveaxis(ev, -1, pos))
        np.testing.assert_array_equal(idx.array, jnp.moveaxis(ei, -1, pos))
        assert idx.dtype == jnp.int32


def test_take_of_top_k_indices_puts_the_selected_axis_first():
    # the usual check of a top_k result: take the indices back along the axis (index-only axes come first)
    H, W, D = hax.make_axes(H=4, W=3, D=5)
    arr = hax.random.normal(jax.random.PRNGKey(1), (H, W, D))
    vals, idx = top_k(arr, "D", 2)
    taken = arr.take("D", idx)
    assert taken.axes == (D.resize(2), H, W)
    np.testing.assert_array_equal(taken.array, jnp.moveaxis(vals.array, -1, 0))


def test_top_k_new_axis_renames_in_place():
    H, W, D = hax.make_axes(H=4, W=3, D=5)
    arr = hax.random.normal(jax.random.PRNGKey(2), (H, D, W))
    ev, ei = jax.lax.top_k(jnp.moveaxis(arr.array, 1, -1), 2)
    for new_axis in ("K", hax.Axis("K", 2)):
        vals, idx = top_k(arr, "D", 2, new_axis=new_axis)
        assert vals.axes == idx.axes == (H, hax.Axis("K", 2), W)
        np.testing.assert_array_equal(vals.array, jnp.moveaxis(ev, -1, 1))
        np.testing.assert_array_equal(idx.array, jnp.moveaxis(ei, -1, 1))
