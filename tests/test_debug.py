"""haliax.debug: diagnose_common_issues (shared arrays, arrays in static fields) and describe_array."""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax.debug import ModuleProblems, describe_array, diagnose_common_issues

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
    assert info.value.reused_arrays == [["a", "b"]]
    assert "same array object" in str(info.value) and "a, b" in str(info.value)


def test_shared_raw_array_across_named_arrays_and_nesting():
    raw = jnp.ones(3)
    m = {"first": Pair(hax.NamedArray(raw, (X,)), hax.zeros(X)), "second": [hax.NamedArray(raw, (X,))]}
    with pytest.raises(ModuleProblems) as info:
        diagnose_common_issues(m)
    (paths,) = info.value.reused_arrays
    assert paths == ["['first'].a", "['second'][0]"]
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
