"""haliax.field: eqx.field wrapper with axis_names metadata."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import haliax as hax


class M(eqx.Module):
    w: jax.Array = hax.field(axis_names=("embed", hax.Axis("mlp", 4)))
    b: jax.Array = hax.field(axis_names="mlp")
    n: int = hax.field(static=True, default=3)
    c: jax.Array = hax.field(converter=jnp.asarray, default=1.0, metadata={"note": "kept"})


def _fields():
    return {f.name: f for f in dataclasses.fields(M)}


def test_top_level_and_metadata():
    from haliax.field import field

    assert hax.field is field
    f = _fields()
    assert f["w"].metadata["axis_names"] == ("embed", "mlp")  # Axis objects stored by name
    assert f["b"].metadata["axis_names"] == ("mlp",)
    assert "axis_names" not in f["n"].metadata and f["n"].metadata["static"] is True
    assert f["c"].metadata["note"] == "kept" and "axis_names" not in f["c"].metadata


def test_module_behaviour():
    m = M(jnp.ones((2, 4)), jnp.zeros(4))
    assert m.n == 3 and isinstance(m.c, jax.Array)  # default and converter applied
    leaves = jax.tree_util.tree_leaves(m)
    assert len(leaves) == 3  # w, b, c: the static field is not a leaf
    out = eqx.filter_jit(lambda m: m.w.sum() + m.n)(m)
    assert float(out) == 11.0


def test_static_with_axis_names_raises():
    with pytest.raises(ValueError, match="field: a static field cannot have axis_names"):
        hax.field(static=True, axis_names=("a",))


def test_bad_axis_names_type():
    with pytest.raises(TypeError, match="field: axis_names entries"):
        hax.field(axis_names=("a", 3))


def test_pspec_for_uses_axis_names():
    from jax.sharding import PartitionSpec as P

    pspec_for = getattr(hax.partitioning, "pspec_for", None)
    if pspec_for is None:
        pytest.skip("partitioning.pspec_for not available")
    m = M(jnp.ones((2, 4)), jnp.zeros(4))
    specs = pspec_for(m, {"mlp": "model"})
    assert specs.w == P(None, "model") and specs.b == P("model")


@pytest.mark.parametrize("bad", [3, 2.5, True])
def test_axis_names_not_a_sequence(bad):
    with pytest.raises(TypeError, match=r"^field: argument 'axis_names' must be a name, an Axis or a sequence of them"):
        hax.field(axis_names=bad)
