"""Bad arguments to the partitioning helpers: each error names the function, the argument and the fix."""

import jax
import numpy as np
import pytest
from jax.sharding import AxisType

import haliax as hax
from haliax.partitioning import PartitioningError

B = hax.Axis("batch", 6)


@pytest.fixture
def auto_mesh():
    return jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Auto,) * 2)


def test_round_axis_for_partitioning_names_itself_for_a_mesh_axis_typo(auto_mesh):
    with jax.set_mesh(auto_mesh):
        with pytest.raises(PartitioningError, match=r"round_axis_for_partitioning: .*logical axis 'batch'") as e:
            hax.round_axis_for_partitioning(B, {"batch": "modle"})
    msg = str(e.value)
    assert "mesh axis 'modle'" in msg and "Did you mean 'model'?" in msg and "'data': 2, 'model': 4" in msg


def test_round_axis_for_partitioning_rejects_a_plain_name(auto_mesh):
    with pytest.raises(TypeError, match=r"round_axis_for_partitioning: 'axis' must be an Axis.*str 'batch'"):
        hax.round_axis_for_partitioning("batch", {"batch": "model"})  # type: ignore[arg-type]
    with jax.set_mesh(auto_mesh):
        with pytest.raises(TypeError, match=r"round_axis_for_partitioning: 'axis'.*hax.Axis\(name, size\)"):
            hax.round_axis_for_partitioning("batch", {"batch": "model"})  # type: ignore[arg-type]


def test_round_axis_for_partitioning_without_a_mesh_names_itself():
    with pytest.raises(ValueError, match=r"round_axis_for_partitioning: No mesh found.*set_mesh"):
        hax.round_axis_for_partitioning(B, {"batch": "model"})


def test_infer_resource_partitions_checks_the_mapping_of_preserved_arrays(auto_mesh):
    with jax.set_mesh(auto_mesh):
        x = hax.shard(hax.zeros(B), {"batch": "data"})  # already sharded: its sharding is preserved
        assert not isinstance(x.array.sharding, jax.sharding.SingleDeviceSharding)
        with pytest.raises(PartitioningError, match=r"infer_resource_partitions: .*logical axis 'batch'") as e:
            hax.infer_resource_partitions({"w": x}, {"batch": "modle"})
        assert "Did you mean 'model'?" in str(e.value) and "batch(6)" in str(e.value)
        # the same typo without preserving raises the same error
        with pytest.raises(PartitioningError, match=r"infer_resource_partitions: .*mesh axis 'modle'"):
            hax.infer_resource_partitions({"w": x}, {"batch": "modle"}, preserve_existing_shardings=False)
        # a correct mapping still keeps the existing sharding
        out = hax.infer_resource_partitions({"w": x}, {"batch": "model"})
        assert out["w"] == x.array.sharding


def test_shard_rejects_a_mapping_that_is_not_a_mapping(auto_mesh):
    with pytest.raises(TypeError, match=r"shard: 'mapping' must be an axis mapping.*got int 3"):
        hax.shard(hax.zeros(B), 3)  # type: ignore[arg-type]
    with jax.set_mesh(auto_mesh):
        with pytest.raises(TypeError, match=r"shard: 'mapping'.*got str 'data'"):
            hax.shard(hax.zeros(B), "data")  # type: ignore[arg-type]


def test_axis_mapping_rejects_a_non_mapping():
    with pytest.raises(TypeError, match=r"axis_mapping: 'mapping' must be a mapping .*got int 3"):
        with hax.axis_mapping(3):  # type: ignore[arg-type]
            pass
    assert hax.current_thread_local_mapping() is None


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"donate_args": 3}, "donate_args"),
        ({"donate_kwargs": 3}, "donate_kwargs"),
        ({"axis_resources": 3}, "axis_resources"),
        ({"in_axis_resources": ["batch"]}, "in_axis_resources"),
        ({"out_axis_resources": "data"}, "out_axis_resources"),
    ],
)
def test_named_jit_rejects_arguments_of_the_wrong_kind(kwargs, arg):
    with pytest.raises(TypeError, match=rf"named_jit: '{arg}' must be"):
        hax.named_jit(lambda x: x + 1, **kwargs)
    with pytest.raises(TypeError, match=rf"named_jit: '{arg}' must be"):
        hax.named_jit(**kwargs)(lambda x: x + 1)


def test_named_jit_indivisible_axis_follows_shard(auto_mesh):
    f = lambda x: x + 1  # noqa: E731
    x = hax.zeros(B)
    # outside jit (the inputs) and on an explicit mesh: the same PartitioningError as shard
    with jax.set_mesh(auto_mesh):
        with pytest.raises(PartitioningError, match=r"shard: axis batch\(6\) .*'model' of size 4") as e:
            hax.named_jit(f, in_axis_resources={"batch": "model"})(x)
        assert "round_axis_for_partitioning" in str(e.value)
        # the output's sharding constraint on an Auto mesh inside jit pads, as documented: no error
        y = hax.named_jit(f, axis_resources={"batch": "model"})(x)
        np.testing.assert_array_equal(np.asarray(y.array), np.ones(6))
    explicit = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)
    with jax.set_mesh(explicit):
        with pytest.raises(PartitioningError, match=r"axis batch\(6\).*round_axis_for_partitioning"):
            hax.named_jit(f, axis_resources={"batch": "model"})(x)
