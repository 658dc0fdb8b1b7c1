"""repeat with bad counts: negative or non-integer counts raise instead of silently dropping elements."""

import jax
import jax.numpy as jnp
import pytest

import haliax as hax

X = hax.Axis("X", 2)


@pytest.mark.parametrize("repeats", [-1, jnp.array([2, -1]), [1, -3]])
def test_negative_repeats(repeats):
    with pytest.raises(ValueError, match=r"^repeat: argument 'repeats' must be non-negative, got"):
        hax.repeat(hax.arange(X), repeats, "X")


def test_negative_named_repeats():
    with pytest.raises(ValueError, match=r"^repeat: argument 'repeats' must be non-negative, got \[2, -1\]"):
        hax.repeat(hax.arange(X), hax.named(jnp.array([2, -1]), X), "X", total_repeat_length=3)


@pytest.mark.parametrize("repeats", [1.5, jnp.array([1.0, 2.0])])
def test_float_repeats(repeats):
    with pytest.raises(
        TypeError, match=r"^repeat: argument 'repeats' must be an int or integer array, got dtype float"
    ):
        hax.repeat(hax.arange(X), repeats, "X")


def test_valid_and_traced_repeats():
    assert hax.repeat(hax.arange(X), jnp.array([0, 2]), "X").tolist() == [1, 1]
    f = jax.jit(lambda r: hax.repeat(hax.arange(X), r, "X", total_repeat_length=3).array)
    assert f(jnp.array([1, 2])).tolist() == [0, 1, 1]
