"""One process of the two-process test in test_multihost.py (run as a script, not collected by pytest)."""

import os
import sys

pid, port = int(sys.argv[1]), sys.argv[2]
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402

jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=pid)

import numpy as np  # noqa: E402
from jax.experimental import multihost_utils  # noqa: E402
from jax.sharding import AxisType  # noqa: E402

import haliax as hax  # noqa: E402

Batch, Embed = hax.make_axes(batch=8, embed=6)
full = np.arange(48, dtype=np.float32).reshape(8, 6) / 7.0
mesh = jax.make_mesh((4,), ("data",), axis_types=(AxisType.Auto,))
with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data"}):
    sharding = hax.partitioning.sharding_for_axis((Batch, Embed))
    arr = jax.make_array_from_callback(full.shape, sharding, lambda idx: full[idx])
    x = hax.NamedArray(arr, (Batch, Embed))
    assert x.array.sharding.spec == jax.sharding.PartitionSpec("data", None), x.array.sharding

    @jax.jit
    def reduce(x):
        return hax.sum(hax.square(x), "batch").array, hax.mean(x).array

    per_embed, mean = reduce(x)
    per_embed = np.asarray(multihost_utils.process_allgather(per_embed, tiled=True))
print(f"RESULT {pid} {per_embed.tolist()} {float(mean)} {jax.process_count()} {jax.device_count()}", flush=True)
