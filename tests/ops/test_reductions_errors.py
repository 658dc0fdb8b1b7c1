"""Bad input to reductions: reductions without identity over a size-0 axis, `where` without `initial`, typos."""

import jax.numpy as jnp
import pytest

import haliax as hax

X, Y, E = hax.make_axes(X=2, Y=3, E=0)


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "nanmax", "nanmin"])
def test_empty_axis_without_identity_suggests_initial(name):
    x = hax.ones((X, E))
    with pytest.raises(
        ValueError,
        match=rf"^{name}: argument 'axis': the axis to reduce has size 0 \(E\(0\); array "
        rf"axes \(X\(2\), E\(0\)\)\) and {name} has no identity.*pass `initial=`",
    ):
        getattr(hax, name)(x, "E")
    out = getattr(hax, name)(x, "E", initial=0.0)
    assert out.axes == (X,) and out.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name", ["argmax", "argmin", "nanargmax", "nanargmin"])
def test_empty_axis_arg_reductions(name):
    x = hax.ones((E, X))
    with pytest.raises(
        ValueError,
        match=rf"^{name}: argument 'axis': the axis to reduce has size 0 \(E\(0\).*"
        "no index to return",
    ):
        getattr(hax, name)(x, "E")


def test_empty_array_axis_none():
    with pytest.raises(ValueError, match=r"max: argument 'axis': the array has size 0 \(E\(0\); .*initial="):
        hax.max(hax.ones((X, E)))
    with pytest.raises(ValueError, match=r"argmin: argument 'axis': the array has size 0"):
        hax.argmin(hax.ones((X, E)))


def test_empty_axis_ptp_and_method():
    with pytest.raises(
        ValueError,
        match=r"ptp: argument 'axis': the axis to reduce has size 0 .*hax\.max\(\.\.\., "
        "initial=",
    ):
        hax.ptp(hax.ones((X, E)), "E")
    with pytest.raises(ValueError, match=r"max: argument 'axis': .*E\(0\)"):
        hax.ones((X, E)).max("E")
    with pytest.raises(ValueError, match=r"argmax: argument 'axis': .*E\(0\)"):
        hax.ones((X, E)).argmax("E")


def test_empty_axis_fine_cases():
    x = hax.ones((X, E))
    assert hax.sum(x, "E").tolist() == [0.0, 0.0]  # sum has an identity
    assert hax.max(x, "X").axes == (E,)  # reducing a non-empty axis of an empty array is fine


def test_where_without_initial():
    mask = hax.named(jnp.array([True, False]), "X")
    with pytest.raises(ValueError, match=r"^max: argument 'where': max has no identity.*pass `initial=` as well"):
        hax.max(hax.ones(X), where=mask)
    assert float(hax.min(hax.arange(X) + 1.0, where=mask, initial=10.0)) == 1.0


def test_where_of_wrong_kind():
    with pytest.raises(
        TypeError, match=r"sum: argument 'where' must be a NamedArray when the input is one, got ndarray"
    ):
        hax.sum(hax.ones(X), where=jnp.ones(2, bool).__array__())


def test_reduction_typo_suggests():
    with pytest.raises(
        ValueError,
        match=r"sum: argument 'axis': axis x not found in \(X\(2\), Y\(3\)\)\. Did you "
        r"mean 'X'\?",
    ):
        hax.sum(hax.ones((X, Y)), "x")


def test_reduction_axis_wrong_size():
    with pytest.raises(
        ValueError,
        match=r"mean: argument 'axis': Found axis with same name but different size: asked "
        r"for Y\(4\), the array has Y\(3\)",
    ):
        hax.mean(hax.ones((X, Y)), Y.resize(4))


def test_argmax_several_axes():
    with pytest.raises(ValueError, match="argmax only supports a single axis"):
        hax.argmax(hax.ones((X, Y)), ("X", "Y"))
