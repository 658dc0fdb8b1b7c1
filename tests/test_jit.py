"""haliax.named_jit and haliax.fsdp."""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import Axis, NamedArray
from tests.helpers import named_normal

Batch, E = hax.make_axes(batch=8, E=4)


class _Mod(eqx.Module):
    w: NamedArray
    scale: float = 2.0
    E: Axis = eqx.field(static=True, default=E)

    def __call__(self, x):
        return x * self.w * self.scale


def test_named_jit_decorator_forms_no_mesh():
    x = named_normal(jax.random.PRNGKey(0), (Batch, E))
    calls = []

    @hax.named_jit
    def f(x, n):
        calls.append(1)
        return x * n

    np.testing.assert_allclose(f(x, 3).array, x.array * 3, atol=1e-6)
    f(x, 3)
    assert len(calls) == 1  # cached
    f(x, 4)
    assert len(calls) == 2  # static value change retraces

    g = hax.named_jit(axis_resources={"batch": "data"})(lambda x: x + 1)
    h = hax.named_jit(lambda x: x + 1, {"batch": "data"})
    k = hax.named_jit({"batch": "data"})(lambda x: x + 1)
    for fn in (g, h, k):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no mesh: no warnings inside jit
            np.testing.assert_allclose(fn(x).array, x.array + 1)


def test_named_jit_static_outputs_and_modules():
    m = _Mod(named_normal(jax.random.PRNGKey(0), (E,)))
    x = named_normal(jax.random.PRNGKey(1), (Batch, E))

    @hax.named_jit
    def f(m, x):
        return {"y": m(x), "name": "out", "n": 3, "axes": x.axes, "none": None}

    out = f(m, x)
    assert out["name"] == "out" and out["n"] == 3 and out["axes"] == (Batch, E) and out["none"] is None
    np.testing.assert_allclose(out["y"].array, x.array * m.w.array[None, :] * 2.0, atol=1e-6)
    # the second call hits the cache, static outputs still come back
    out2 = f(m, x)
    assert out2["name"] == "out" and out2["n"] == 3


def test_named_jit_class_as_fn():
    made = hax.named_jit(_Mod)(hax.ones(E))
    assert isinstance(made, _Mod) and made.scale == 2.0 and made.E == E
    assert isinstance(made.w.array, jax.Array)


def test_named_jit_activates_mapping_while_tracing():
    seen = []

    @hax.named_jit(axis_resources={"batch": "data"})
    def f(x):
        seen.append(hax.partitioning.current_thread_local_mapping())
        return x

    f(hax.ones(Batch))
    assert seen == [{"batch": "data"}]
    assert hax.partitioning.current_thread_local_mapping() is None

    @hax.named_jit
    def g(x):
        seen.append(hax.partitioning.current_thread_local_mapping())
        return x

    with hax.axis_mapping({"batch": "model"}):
        g(hax.ones(Batch))
    g(hax.ones(Batch))  # a different ambient mapping retraces
    assert seen[1:] == [{"batch": "model"}, None]


def test_named_jit_shardings_with_mesh():
    mesh = jax.make_mesh((8,), ("data",))
    x = named_normal(jax.random.PRNGKey(0), (Batch, E))
    f = hax.named_jit(lambda x: x * 2, axis_resources={"batch": "data"})
    with jax.set_mesh(mesh):
        out = f(x)
    assert out.array.sharding.spec == jax.sharding.PartitionSpec("data", None)
    np.testing.assert_allclose(out.array, x.array * 2)
    # in_axis_resources reshards the inputs
    g = hax.named_jit(lambda x: x, in_axis_resources={"E": "data"}, out_axis_resources={"batch": "data"})
    with jax.set_mesh(mesh):
        y = g(named_normal(jax.random.PRNGKey(0), (Batch, Axis("E", 8))))
    assert y.array.sharding.spec == jax.sharding.PartitionSpec("data", None)


def test_fsdp():
    mesh = jax.make_mesh((8,), ("data",))
    m = _Mod(named_normal(jax.random.PRNGKey(0), (Axis("E", 8),)), E=Axis("E", 8))
    x = named_normal(jax.random.PRNGKey(1), (Batch, Axis("E", 8)))

    @hax.fsdp({"E": "data"}, {"batch": "data"})
    def step(m, x):
        return m(x).sum("batch"), m

    with jax.set_mesh(mesh):
        y, m2 = step(m, x)
    assert m2.w.array.sharding.spec == jax.sharding.PartitionSpec("data")
    np.testing.assert_allclose(y.array, (x.array * m.w.array[None, :] * 2).sum(0), atol=1e-5)
    step2 = hax.fsdp(lambda x: x, {"E": "data"}, {"batch": "data"})
    with jax.set_mesh(mesh):
        assert step2(x).array.sharding.spec == jax.sharding.PartitionSpec(None, "data")


def test_named_jit_donation_and_lower():
    x = hax.ones(Batch)
    y = hax.ones(Batch)

    @hax.named_jit(donate_args=(True, False))
    def f(x, y):
        return x + y

    lowered = f.lower(x, y)
    assert isinstance(lowered, jax.stages.Lowered)
    text = lowered.as_text()
    assert "jax.buffer_donor = true" in text or "tf.aliasing_output" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = f(x, y)
    np.testing.assert_allclose(out.array, 2.0)
    assert y.array.is_deleted() is False

    g = hax.named_jit(lambda x, *, z: x + z, donate_kwargs={"z": True})
    text = g.lower(hax.ones(Batch), z=hax.ones(Batch)).as_text()
    assert "jax.buffer_donor = true" in text or "tf.aliasing_output" in text
    h = hax.named_jit(lambda x: x, donate_args=True)
    text = h.lower(hax.ones(Batch)).as_text()
    assert "jax.buffer_donor = true" in text or "tf.aliasing_output" in text


def test_named_jit_errors():
    with pytest.raises(TypeError, match="static_argnums"):
        hax.named_jit(lambda x: x, static_argnums=(0,))
    f = hax.named_jit(lambda x, s: x)
    with pytest.raises(TypeError, match="must be hashable"):
        f(jnp.ones(2), _Unhashable())
    with pytest.raises(ValueError, match="not a pytree prefix"):
        hax.named_jit(lambda x: x, donate_args=((True, False),))(jnp.ones(2))


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]


def test_composes_with_filter_jit_and_grad():
    m = _Mod(named_normal(jax.random.PRNGKey(0), (E,)))
    x = named_normal(jax.random.PRNGKey(1), (Batch, E))

    @hax.named_jit
    def inner(m, x):
        return hax.sum(m(x)).array

    @eqx.filter_jit
    def outer(m, x):
        return eqx.filter_grad(inner)(m, x)

    g = outer(m, x)
    np.testing.assert_allclose(g.w.array, (x.array * 2.0).sum(0), atol=1e-5)
    wrapped = hax.named_jit(eqx.filter_jit(lambda m, x: m(x)))
    np.testing.assert_allclose(wrapped(m, x).array, x.array * m.w.array[None, :] * 2, atol=1e-6)


def test_named_jit_method_binding():
    class Holder(eqx.Module):
        w: jax.Array

        @hax.named_jit
        def apply(self, x):
            return self.w * x

    h = Holder(jnp.arange(3.0))
    np.testing.assert_allclose(h.apply(jnp.ones(3)), jnp.arange(3.0))


def test_named_jit_of_a_module_traces_its_arrays():
    m = _Mod(named_normal(jax.random.PRNGKey(0), (E,)))
    x = named_normal(jax.random.PRNGKey(1), (Batch, E))
    f = hax.named_jit(m)
    np.testing.assert_allclose(f(x).array, m(x).array, atol=1e-6)
    # the module's weight is an argument of the compiled function (2 array arguments), not a baked-in constant
    assert len(jax.tree.leaves(f.lower(x).args_info)) == 2
    bound = hax.named_jit(m.__call__)
    np.testing.assert_allclose(bound(x).array, m(x).array, atol=1e-6)
