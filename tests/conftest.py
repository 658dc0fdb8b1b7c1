"""Shared test set-up. XLA_FLAGS must be set before JAX is imported: 8 simulated CPU devices."""

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# A persistent XLA compilation cache (entries are keyed on the program, the compile options and the jax/jaxlib
# versions, so stale ones are merely unused): the suite compiles thousands of small programs and a re-run with a
# warm cache takes about a third of the time. Set JAX_COMPILATION_CACHE_DIR to move it; `pytest --cache-clear`
# empties the default one.
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), ".pytest_cache", "jax")
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax  # noqa: E402

# Broadcasting must be explicit (by name in haliax, with `x[None, :]` etc. in hand-written references): jnp raises
# instead of silently adding leading dimensions.
jax.config.update("jax_numpy_rank_promotion", "raise")

import pytest  # noqa: E402

import haliax as hax  # noqa: E402


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)


@pytest.fixture
def XYZ():
    return hax.make_axes(X=2, Y=3, Z=4)
