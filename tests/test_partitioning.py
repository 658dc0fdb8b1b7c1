"""Axis mappings, PartitionSpecs and sharding by names, on 8 simulated CPU devices."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

import haliax as hax
from haliax.partitioning import (
    ResourceAxis,
    current_thread_local_mapping,
    infer_resource_partitions,
    physical_axis_name,
    physical_axis_size,
    pspec_for,
    pspec_for_axis,
    round_axis_for_partitioning,
)

Batch, Embed, Mlp = hax.make_axes(batch=8, embed=12, mlp=16)


def auto_mesh(shape=(2, 4), names=("data", "model")):
    return jax.make_mesh(shape, names, axis_types=(AxisType.Auto,) * len(shape))


def test_resource_axis_constants():
    assert (ResourceAxis.MODEL, ResourceAxis.DATA, ResourceAxis.REPLICA) == ("model", "data", "replica")


def test_axis_mapping_nesting_and_merge():
    assert current_thread_local_mapping() is None
    with hax.axis_mapping({"batch": "data"}):
        assert physical_axis_name("batch") == "data"
        assert physical_axis_name(Embed) is None
        with hax.axis_mapping({"embed": "model"}):
            assert current_thread_local_mapping() == {"embed": "model"}
        with hax.axis_mapping({"embed": "model", "batch": "replica"}, merge=True):
            # outer entries win on conflict (as in Haliax)
            assert current_thread_local_mapping() == {"embed": "model", "batch": "data"}
        with hax.axis_mapping({}, mlp="model"):
            assert physical_axis_name("mlp") == "model"
        assert current_thread_local_mapping() == {"batch": "data"}
    assert current_thread_local_mapping() is None
    assert physical_axis_name("batch") is None


def test_pspec_for_axis_and_duplicate_mesh_axis():
    m = {"batch": "data", "embed": "model", "mlp": "model", "pair": ("data", "model")}
    assert pspec_for_axis((Batch, Embed), m) == P("data", "model")
    assert pspec_for_axis(("embed", "other"), m) == P("model", None)
    assert pspec_for_axis(("pair",), m) == P(("data", "model"))
    # one mesh axis shards one dimension: the first axis that maps to it wins
    assert pspec_for_axis((Embed, Mlp), m) == P("model", None)
    assert pspec_for_axis((Mlp, "batch", Embed), m) == P("model", "data", None)


def test_physical_axis_size_and_rounding():
    with pytest.raises(ValueError, match="No mesh found"):
        physical_axis_size("batch", {"batch": "data"})
    mesh = jax.make_mesh((4, 2), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": ("data", "model")}):
        assert physical_axis_size("batch") == 4
        assert physical_axis_size("embed") == 8
        assert physical_axis_size("mlp") is None
        assert round_axis_for_partitioning(hax.Axis("batch", 10)) == hax.Axis("batch", 12)
        assert round_axis_for_partitioning(hax.Axis("mlp", 10)) == hax.Axis("mlp", 10)


@pytest.mark.parametrize("axis_type", [AxisType.Auto, AxisType.Explicit])
def test_shard_outside_and_inside_jit(axis_type):
    mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(axis_type,) * 2)
    x = hax.random.normal(jax.random.PRNGKey(0), (Batch, Embed))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        y = hax.shard(x)
        assert y.array.sharding.spec == P("data", "model")
        np.testing.assert_array_equal(np.asarray(y.array), np.asarray(x.array))

        @jax.jit
        def f(a):
            return hax.auto_sharded(a * 2)

        out = f(x)
        assert out.array.sharding.spec == P("data", "model")
        np.testing.assert_allclose(np.asarray(out.array), 2 * np.asarray(x.array))


def test_shard_warnings_and_noops():
    x = hax.ones((Batch, Embed))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert hax.shard(x) is x
        assert hax.shard(x, {"batch": "data"}) is x
    assert [str(i.message) for i in w] == ["No resource mapping found. Not sharding.", "No mesh found. Not sharding."]
    # auto_sharded is silent without a mapping, and without a mesh
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hax.auto_sharded(x) is x
        with hax.axis_mapping({"batch": "data"}):
            assert hax.auto_sharded(x) is x
    # inside jit: silent no-op
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jax.jit(lambda a: hax.shard(a))(x)


def test_shard_plain_arrays_untouched():
    mesh = auto_mesh()
    tree = {"named": hax.ones((Batch,)), "plain": jnp.ones(8)}
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data"}):
        out = hax.shard(tree)
    assert out["named"].array.sharding.spec == P("data")
    assert out["plain"] is tree["plain"]


def test_pspec_for_tree_and_preserve_rules():
    mapping = {"batch": "data", "embed": "model"}
    tree = {"x": hax.ones((Batch, Embed)), "plain": jnp.ones((3, 2)), "scalar0d": jnp.ones(()), "py": 1.5, "none": None}
    specs = pspec_for(tree, mapping)
    assert specs["x"] == P("data", "model")
    assert specs["plain"] == P(None, None)
    assert specs["scalar0d"] == P()
    assert specs["py"] == P()
    assert specs["none"] is None
    with pytest.raises(ValueError, match="No resource mapping"):
        pspec_for(tree)
    # as in Haliax: inside set_mesh, arrays get a replicated NamedSharding -> preserved -> None
    with jax.set_mesh(auto_mesh()):
        inside = {"a": jnp.ones(3), "x": hax.ones(Batch)}
        specs_in = pspec_for(inside, mapping)
        assert specs_in["a"] is None and specs_in["x"] is None
        assert pspec_for(inside, mapping, preserve_existing_shardings=False)["x"] == P("data")
    # tracers and ShapeDtypeStructs get a spec
    shape_only = jax.eval_shape(lambda: hax.ones((Batch, Embed)))
    assert pspec_for(shape_only, mapping) == P("data", "model")


def test_infer_resource_partitions():
    mapping = {"batch": "data", "embed": "model"}
    with pytest.raises(ValueError, match="No mesh"):
        infer_resource_partitions({"x": hax.ones(Batch)}, mapping)
    mesh = auto_mesh()
    with jax.set_mesh(mesh):
        tree = {"x": hax.ones((Batch, Embed)), "p": jnp.ones(4)}
        shardings = infer_resource_partitions(tree, mapping, preserve_existing_shardings=False)
        assert shardings["x"] == NamedSharding(mesh, P("data", "model"))
        assert shardings["p"] == NamedSharding(mesh, P(None))
        placed = jax.device_put(tree, shardings)
        assert placed["x"].array.sharding.spec == P("data", "model")


# ------------------------------------------------------------------------------------------------
# named_jit / fsdp / set_mesh importable from haliax.partitioning; the deprecated _get_mesh


def test_named_jit_and_fsdp_live_in_partitioning():
    import haliax.jit
    import haliax.partitioning as part

    assert part.named_jit is hax.named_jit and part.fsdp is hax.fsdp
    assert haliax.jit.named_jit is part.named_jit and haliax.jit.fsdp is part.fsdp
    assert "named_jit" in part.__all__ and "fsdp" in part.__all__
    assert "set_mesh" not in part.__all__ and "_get_mesh" not in part.__all__
    assert part.Mesh is jax.sharding.Mesh
    from haliax.partitioning import fsdp, named_jit  # the import client code writes

    x = hax.ones(Batch)
    assert named_jit(lambda x: x * 2)(x).array.tolist() == [2.0] * 8
    mesh = auto_mesh()
    step = fsdp(lambda x: x + 1, {"batch": "data"}, {"batch": "data"})
    with jax.set_mesh(mesh):
        y = step(x)
    assert y.array.sharding.spec == P("data") and y.array.tolist() == [2.0] * 8


def test_set_mesh_is_a_context_manager():
    from haliax.partitioning import set_mesh

    mesh = auto_mesh()
    with set_mesh(mesh) as m:
        assert m is mesh
        assert jax.sharding.get_mesh() == mesh
    assert jax.sharding.get_mesh().empty


def _get_mesh_quiet():
    from haliax.partitioning import _get_mesh

    with pytest.warns(DeprecationWarning, match="`_get_mesh` is deprecated"):
        return _get_mesh()


def test_get_mesh_deprecated_outside_jit():
    from haliax.partitioning import set_mesh

    assert _get_mesh_quiet() is None
    mesh = auto_mesh()
    with set_mesh(mesh):
        assert _get_mesh_quiet() is mesh
    with jax.set_mesh(mesh):
        assert _get_mesh_quiet() is mesh
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # JAX deprecates `with mesh:` itself
        with mesh:
            assert _get_mesh_quiet() is mesh  # a legacy mesh context is found too
    assert _get_mesh_quiet() is None


def test_get_mesh_inside_jit_gives_the_abstract_mesh():
    mesh = auto_mesh()
    seen = []

    @jax.jit
    def f(x):
        seen.append(_get_mesh_quiet())
        return x

    f(1.0)
    with jax.set_mesh(mesh):
        f(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with mesh:
            f(3.0)
    assert seen[0] is None
    assert isinstance(seen[1], jax.sharding.AbstractMesh) and seen[1] == mesh.abstract_mesh
    assert isinstance(seen[2], jax.sharding.AbstractMesh) and seen[2] == mesh.abstract_mesh


def test_shard_finds_a_legacy_with_mesh_block():
    mesh = auto_mesh((4, 2), ("data", "model"))
    x = hax.random.normal(jax.random.PRNGKey(0), (Batch, Embed))
    want = NamedSharding(mesh, P(None, "data"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # JAX deprecates `with mesh:` itself
        with mesh:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)  # no "No mesh found. Not sharding."
                y = hax.shard(x, {"embed": "data"})
            assert y.array.sharding == want
            np.testing.assert_array_equal(np.asarray(y.array), np.asarray(x.array))
            out = jax.jit(lambda a: hax.shard(a * 2, {"embed": "data"}))(x)  # the legacy mesh's abstract mesh
            assert out.array.sharding == want
            np.testing.assert_allclose(np.asarray(out.array), 2 * np.asarray(x.array))
            replicated = hax.shard(x, {})
            assert replicated.array.sharding.is_fully_replicated and len(replicated.array.sharding.device_set) == 8
            assert physical_axis_size("embed", {"embed": ("data", "model")}) == 8
            with hax.axis_mapping({"embed": "data"}):
                assert len(hax.ones((Batch, Embed)).array.sharding.device_set) == 1  # creation stays put
            # an explicit mesh argument wins, then jax.set_mesh, then the legacy block
            other = auto_mesh((2, 4), ("data", "model"))
            assert hax.shard(x, {"embed": "data"}, mesh=other).array.sharding.mesh == other
            with jax.set_mesh(other):
                assert hax.shard(x, {"embed": "data"}).array.sharding.mesh == other
