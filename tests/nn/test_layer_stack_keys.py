"""Stacked.init / BlockSeq.init given a single key or the wrong number of keys: the error names init and key=."""

import jax
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn

L, E = hax.make_axes(layers=3, e=2)
F = E.alias("f")
KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize("cls", [hnn.Stacked, hnn.BlockSeq])
@pytest.mark.parametrize("key", [KEY, jax.random.key(0)])
def test_single_key_says_split_it(cls, key):
    with pytest.raises(
        ValueError,
        match=rf"^{cls.__name__}\.init: key= is a single PRNG key, but each of the 3 layers of layers\(3\) needs its "
        r"own; pass key=jax\.random\.split\(key, 3\)$",
    ):
        cls.init(L, hnn.Linear)(E, F, key=key)


@pytest.mark.parametrize("cls", [hnn.Stacked, hnn.BlockSeq])
@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("typed", [False, True])
def test_wrong_number_of_keys(cls, n, typed):
    keys = jax.random.split(jax.random.key(0) if typed else KEY, n)
    with pytest.raises(
        ValueError, match=rf"^{cls.__name__}\.init: key= holds {n} keys, but layers\(3\) has 3 layers; pass key="
    ):
        cls.init(L, hnn.Linear)(E, F, key=keys)


@pytest.mark.parametrize("typed", [False, True])
def test_one_key_per_layer_works_for_both(typed):
    keys = jax.random.split(jax.random.key(0) if typed else KEY, 3)
    s = hnn.Stacked.init(L, hnn.Linear)(E, F, key=keys)
    b = hnn.BlockSeq.init(L, hnn.Linear)(E, F, key=keys)
    np.testing.assert_array_equal(s.get_layer(1).weight.array, b.get_layer(1).weight.array)
