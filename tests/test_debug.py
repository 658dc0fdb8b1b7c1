"""haliax.debug: diagnose_common_issues (shared arrays, arrays in static fields) and describe_array."""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P, SingleDeviceSharding

import haliax as hax
import haliax.debug as hdebug
from haliax.debug import (
    ModuleProblems,
    describe_array,
    diagnose_common_issues,
    visualize_named_sharding,
    visualize_shardings,
)

X = hax.Axis("X", 3)


class Pair(eqx.Module):
    a: hax.NamedArray
    b: hax.NamedArray


class WithStatic(eqx.Module):
    w: hax.NamedArray
    cfg: object = eqx.field(static=True)


def _static_module(value):
    with warnings.catch_warnings():  # equinox warns about arrays in static fields; that is what we detect
        warnings.simplefilter("ignore")
        return WithStatic(hax.ones(X), value)


def test_clean_module_passes():
    assert diagnose_common_issues(Pair(hax.ones(X), hax.ones(X))) is None
    assert diagnose_common_issues(_static_module("just a string")) is None
    assert diagnose_common_issues([Pair(hax.ones(X), hax.zeros(X)), {"k": jnp.ones(2)}]) is None


def test_shared_named_array_detected():
    w = hax.ones(X)
    with pytest.raises(ModuleProblems) as info:
        diagnose_common_issues(Pair(w, w))
    ((arr, paths),) = info.value.reused_arrays
    assert arr is w and paths == [".a", ".b"]
    assert "same array object" in str(info.value) and ".a, .b" in str(info.value)


def test_shared_raw_array_across_named_arrays_and_nesting():
    raw = jnp.ones(3)
    m = {"first": Pair(hax.NamedArray(raw, (X,)), hax.zeros(X)), "second": [hax.NamedArray(raw, (X,))]}
    with pytest.raises(ModuleProblems) as info:
        diagnose_common_issues(m)
    ((arr, paths),) = info.value.reused_arrays
    assert paths == ["['first'].a", "['second'][0]"]
    assert arr is m["first"].a  # the leaf at its first occurrence
    assert info.value.static_arrays == []


def test_arrays_in_static_fields_detected():
    for value in (jnp.ones(2), hax.ones(X), np.ones(2), {"inner": [jnp.ones(1)]}):
        with pytest.raises(ModuleProblems) as info:
            diagnose_common_issues({"model": _static_module(value)})
        assert info.value.static_arrays == ["['model'].cfg"]
        assert "Static field ['model'].cfg contains an array" in str(info.value)


def test_both_problems_reported_together():
    w = hax.ones(X)
    m = [Pair(w, w), _static_module(jnp.ones(2))]
    with pytest.raises(ModuleProblems) as info:
        diagnose_common_issues(m)
    assert len(info.value.reused_arrays) == 1 and info.value.static_arrays == ["[1].cfg"]


class _M(eqx.Module):
    a: jax.Array
    b: jax.Array


class _N(eqx.Module):
    m: _M
    c: jax.Array


def test_reused_array_pairs_with_keystr_paths():
    w = jnp.ones(2)
    with pytest.raises(ModuleProblems) as info:
        diagnose_common_issues(_N(m=_M(a=w, b=w), c=w))
    assert len(info.value.reused_arrays) == 1
    assert info.value.reused_arrays[0][0] is w
    assert info.value.reused_arrays[0][1] == [".m.a", ".m.b", ".c"]
    with pytest.raises(ModuleProblems) as info:
        diagnose_common_issues([w, {"k": w}])
    assert info.value.reused_arrays[0][1] == ["[0]", "[1]['k']"]


class _TwoStatic(eqx.Module):
    s1: object = eqx.field(static=True)
    s2: object = eqx.field(static=True)


class _Holder(eqx.Module):
    xs: list
    d: dict
    inner: _TwoStatic


def test_static_arrays_dotted_paths_and_containers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = _TwoStatic(jnp.ones(2), hax.ones(X))
        held = _Holder([_static_module(jnp.ones(1))], {"k": _static_module(hax.ones(X))}, two)
    with pytest.raises(ModuleProblems) as info:
        diagnose_common_issues(two)
    assert info.value.static_arrays == [".s1", ".s2"] and info.value.reused_arrays == []
    with pytest.raises(ModuleProblems) as info:
        diagnose_common_issues(held)  # lists and dicts of modules are walked, not crashed on
    assert info.value.static_arrays == [".xs[0].cfg", ".d['k'].cfg", ".inner.s1", ".inner.s2"]
    assert diagnose_common_issues(_Holder([hax.ones(X), jnp.ones(2)], {"k": jnp.zeros(1)}, _TwoStatic(1, "a"))) is None


def test_module_problems_object():
    p = ModuleProblems()
    assert not p and str(p) == "No problems found."
    p.static_arrays.append("x")
    assert p and isinstance(p, Exception)


def test_describe_array():
    d = describe_array(hax.arange(X) * 1.0)
    assert d == "NamedArray(axes=(X(3)), dtype=float32, min=0, max=2, mean=1, std=0.8165, nan=0)"
    d = describe_array(jnp.array([1.0, jnp.nan]))
    assert "shape=(2,)" in d and "nan=1" in d and "min=1" in d
    assert describe_array(jnp.array([jnp.nan])).endswith("nan=1)")
    assert "min=0, max=1" in describe_array(hax.named(jnp.array([True, False]), "X"))
    assert describe_array(hax.zeros(X, dtype=jnp.complex64)) == "NamedArray(axes=(X(3)), dtype=complex64)"
    seen = []
    jax.jit(lambda x: seen.append(describe_array(x)) or x)(hax.ones(X))
    assert seen == ["NamedArray(axes=(X(3)), dtype=float32)"]


def test_describe_sharded_array():
    mesh = jax.make_mesh((8,), ("data",))
    x = jax.device_put(jnp.ones(8), jax.NamedSharding(mesh, jax.P("data")))
    assert "sharding=NamedSharding" in describe_array(hax.named(x, "X"))


# ------------------------------------------------------------------------------------------------
# visualize_shardings / visualize_named_sharding (8 simulated devices)


Dim1, Dim2, Dim3 = hax.make_axes(dim1=8, dim2=4, dim3=2)


def _mesh():
    return jax.make_mesh((4, 2), ("data", "model"), axis_types=(AxisType.Auto, AxisType.Auto))


def _last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_visualize_named_sharding_line(capsys):
    mesh = _mesh()
    visualize_named_sharding((Dim1, Dim2, Dim3), NamedSharding(mesh, P("data", "model", None)))
    assert _last_line(capsys.readouterr().out) == "dim1->data, dim2->model, dim3->unsharded"
    visualize_named_sharding((Dim1, Dim2), NamedSharding(mesh, P(("data", "model"))))
    assert _last_line(capsys.readouterr().out) == "dim1->data+model, dim2->unsharded"
    visualize_named_sharding((Dim1, Dim2, Dim3), SingleDeviceSharding(jax.devices()[0]))
    assert capsys.readouterr().out == "dim1->unsharded, dim2->unsharded, dim3->unsharded\n"


def test_visualize_named_sharding_grid_needs_rich(capsys, monkeypatch):
    mesh = _mesh()
    sharding = NamedSharding(mesh, P("data", "model"))
    pytest.importorskip("rich")
    visualize_named_sharding((Dim1, Dim2), sharding)
    out = capsys.readouterr().out
    assert "CPU 0" in out and "CPU 7" in out  # JAX's grid, with device ids
    assert _last_line(out) == "dim1->data, dim2->model"
    monkeypatch.setattr(hdebug, "_rich_available", lambda: False)
    visualize_named_sharding((Dim1, Dim2), sharding)
    assert capsys.readouterr().out == "dim1->data, dim2->model\n"  # without rich: just the line


def test_visualize_shardings_tree(capsys, monkeypatch):
    monkeypatch.setattr(hdebug, "_rich_available", lambda: False)
    mesh = _mesh()
    with jax.set_mesh(mesh):
        x = hax.shard(hax.ones((Dim1, Dim2, Dim3)), {"dim1": "data", "dim3": "model"})
    plain = jax.device_put(jnp.ones((8, 2)), NamedSharding(mesh, P("data")))
    tree = {"a": x, "b": [plain, 3, "text", np.ones(2)], "c": None}
    visualize_shardings(tree)  # non-array leaves are skipped, not an error
    out = capsys.readouterr().out.splitlines()
    assert out == ["dim1->data, dim2->unsharded, dim3->model", "array(8, 2): P('data',)"]


def test_visualize_shardings_plain_array_draws_grid(capsys):
    pytest.importorskip("rich")
    visualize_shardings(jnp.ones(4))
    assert "CPU 0" in capsys.readouterr().out  # even on one device the grid is drawn


def test_visualize_shardings_inside_named_jit(capsys):
    mesh = _mesh()
    x = hax.ones((Dim1, Dim2))

    @hax.named_jit(axis_resources={"dim1": "data"})
    def f(x):
        y = hax.auto_sharded(x * 2)
        visualize_shardings(y)
        return y

    with jax.set_mesh(mesh):
        f(x)
    assert "dim1->data" in capsys.readouterr().out


def _compiler_sharding(mapping, mesh):
    """The sharding the compiler reports for an output sharded by ``mapping`` from an input that is not on the
    mesh (this is where JAX hands over a sharding without mesh axis names)."""
    seen = []

    @hax.named_jit(axis_resources=mapping)
    def f(x):
        y = hax.auto_sharded(x * 2)
        jax.debug.inspect_array_sharding(y.array, callback=seen.append)
        return y

    x = hax.ones((Dim1, Dim2))  # created outside the mesh context: on one device
    with jax.set_mesh(mesh):
        f(x)
    (s,) = seen
    assert not hasattr(s, "spec")  # the case under test: no mesh axis names in the reported sharding
    return s


@pytest.mark.parametrize(
    "mapping, line",
    [
        ({"dim1": "data"}, "dim1->data, dim2->unsharded"),
        ({"dim1": "data", "dim2": "model"}, "dim1->data, dim2->model"),
        ({"dim2": "data"}, "dim1->unsharded, dim2->data"),
        ({"dim1": ("data", "model")}, "dim1->data+model, dim2->unsharded"),
        ({"dim1": ("model", "data")}, "dim1->model+data, dim2->unsharded"),
    ],
)
def test_compiler_sharding_gets_mesh_axis_names_back(capsys, monkeypatch, mapping, line):
    monkeypatch.setattr(hdebug, "_rich_available", lambda: False)
    mesh = _mesh()
    s = _compiler_sharding(mapping, mesh)
    capsys.readouterr()
    with jax.set_mesh(mesh):
        visualize_named_sharding((Dim1, Dim2), s)
    assert capsys.readouterr().out == line + "\n"
    # with no mesh in context the names cannot be known: the split axes read "sharded"
    visualize_named_sharding((Dim1, Dim2), s)
    assert (
        capsys.readouterr().out
        == line.replace("data+model", "sharded")
        .replace("model+data", "sharded")
        .replace("->data", "->sharded")
        .replace("->model", "->sharded")
        + "\n"
    )


def test_visualize_shardings_in_jit_with_input_off_the_mesh(capsys, monkeypatch):
    monkeypatch.setattr(hdebug, "_rich_available", lambda: False)

    @hax.named_jit(axis_resources={"dim1": "data", "dim2": "model"})
    def f(x):
        y = hax.auto_sharded(x + 1)
        visualize_shardings({"y": y, "n": 1})
        return y

    x = hax.ones((Dim1, Dim2))
    with jax.set_mesh(_mesh()):
        f(x)
    assert capsys.readouterr().out == "dim1->data, dim2->model\n"


@pytest.mark.parametrize("value", ["x", 3, 2.5, None, [1.0, 2.0], {"a": 1}])
def test_describe_array_rejects_a_value_that_is_not_an_array(value):
    with pytest.raises(
        TypeError,
        match=rf"describe_array: argument 'arr' must be a NamedArray or an array.*got "
        rf"{type(value).__name__}.*jnp.asarray",
    ):
        describe_array(value)


def test_describe_array_accepts_numpy_arrays_and_scalars():
    assert describe_array(np.arange(3.0)).startswith("ndarray(shape=(3,), dtype=float64, min=0, max=2")
    assert describe_array(np.float32(2.0)).startswith("float32(shape=(), dtype=float32, min=2")
