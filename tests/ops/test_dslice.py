"""haliax.ops.dslice: dslice lengths given as NumPy / JAX integers."""

import jax.numpy as jnp
import numpy as np

import haliax as hax


def test_dslice_length_from_numpy_and_jax_integers():
    X = hax.Axis("X", 8)
    x = hax.arange(X)
    for n in (4, np.int64(4), jnp.int32(4), hax.Axis("Q", 4)):
        s = hax.dslice(1, n)
        assert s.size == 4 and type(s.size) is int
        assert x["X", hax.ds(1, n)].tolist() == [1, 2, 3, 4]
