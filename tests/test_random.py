"""haliax.random: bitwise parity with jax.random, named broadcasting of parameters, output axes, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.random as hr
from haliax.partitioning import ResourceAxis, axis_mapping
from tests.helpers import assert_same

X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)
KEY = jax.random.PRNGKey(42)


# (name, haliax call, jax call) with shape (X, Y) -> (2, 3)
PARITY = [
    ("uniform", lambda k: hr.uniform(k, (X, Y)), lambda k: jax.random.uniform(k, (2, 3))),
    (
        "uniform_bounds",
        lambda k: hr.uniform(k, (X, Y), minval=-2.0, maxval=5.0),
        lambda k: jax.random.uniform(k, (2, 3), minval=-2.0, maxval=5.0),
    ),
    ("normal", lambda k: hr.normal(k, (X, Y)), lambda k: jax.random.normal(k, (2, 3))),
    (
        "normal_bf16",
        lambda k: hr.normal(k, (X, Y), dtype=jnp.bfloat16),
        lambda k: jax.random.normal(k, (2, 3), dtype=jnp.bfloat16),
    ),
    ("bernoulli", lambda k: hr.bernoulli(k, (X, Y), 0.3), lambda k: jax.random.bernoulli(k, 0.3, (2, 3))),
    ("randint", lambda k: hr.randint(k, (X, Y), 0, 10), lambda k: jax.random.randint(k, (2, 3), 0, 10)),
    (
        "truncated_normal",
        lambda k: hr.truncated_normal(k, (X, Y), -1.0, 2.0),
        lambda k: jax.random.truncated_normal(k, -1.0, 2.0, (2, 3)),
    ),
    ("poisson", lambda k: hr.poisson(k, (X, Y), 3.0), lambda k: jax.random.poisson(k, 3.0, (2, 3))),
    ("exponential", lambda k: hr.exponential(k, (X, Y)), lambda k: jax.random.exponential(k, (2, 3))),
    ("laplace", lambda k: hr.laplace(k, (X, Y)), lambda k: jax.random.laplace(k, (2, 3))),
    ("cauchy", lambda k: hr.cauchy(k, (X, Y)), lambda k: jax.random.cauchy(k, (2, 3))),
    ("logistic", lambda k: hr.logistic(k, (X, Y)), lambda k: jax.random.logistic(k, (2, 3))),
    ("gumbel", lambda k: hr.gumbel(k, (X, Y)), lambda k: jax.random.gumbel(k, (2, 3))),
    ("rademacher", lambda k: hr.rademacher(k, (X, Y)), lambda k: jax.random.rademacher(k, (2, 3), dtype=float)),
    (
        "rademacher_int",
        lambda k: hr.rademacher(k, (X, Y), dtype=jnp.int32),
        lambda k: jax.random.rademacher(k, (2, 3), dtype=jnp.int32),
    ),
    ("gamma", lambda k: hr.gamma(k, (X, Y), 2.0), lambda k: jax.random.gamma(k, 2.0, (2, 3))),
    ("beta", lambda k: hr.beta(k, (X, Y), 2.0, 3.0), lambda k: jax.random.beta(k, 2.0, 3.0, (2, 3))),
    ("t", lambda k: hr.t(k, (X, Y), 4.0), lambda k: jax.random.t(k, 4.0, (2, 3))),
    (
        "weibull_min",
        lambda k: hr.weibull_min(k, (X, Y), 1.5, 2.0),
        lambda k: jax.random.weibull_min(k, 1.5, 2.0, (2, 3)),
    ),
    ("pareto", lambda k: hr.pareto(k, (X, Y), 3.0), lambda k: jax.random.pareto(k, 3.0, (2, 3))),
    ("loggamma", lambda k: hr.loggamma(k, (X, Y), 0.5), lambda k: jax.random.loggamma(k, 0.5, (2, 3))),
    ("ball", lambda k: hr.ball(k, (X, Y), Z), lambda k: jax.random.ball(k, 4, 2.0, (2, 3))),
]


@pytest.fixture(scope="module")
def parity_results():
    """Every (haliax, jax) pair of PARITY and NAMED_PARITY, computed in ONE jitted program: compiling the gamma
    family separately costs ~3 s of CPU each, and both sides of each pair are traced from the same key anyway."""
    pairs = {("plain", n): (h, j) for n, h, j in PARITY} | {("named", n): (h, j) for n, h, j in NAMED_PARITY}
    return jax.jit(lambda k: {name: (h(k), j(k)) for name, (h, j) in pairs.items()})(KEY)


@pytest.mark.parametrize("name", [p[0] for p in PARITY])
def test_bitwise_parity(name, parity_results):
    out, ref = parity_results[("plain", name)]
    assert_same(out, ref)
    expected = (X, Y, Z) if name == "ball" else (X, Y)
    assert out.axes == expected


def test_bitwise_parity_eager():
    # outside jit too (the cheap ones; the jitted fixture covers every function)
    assert_same(hr.uniform(KEY, (X, Y)), jax.random.uniform(KEY, (2, 3)))
    assert_same(hr.normal(KEY, (X, Y)), jax.random.normal(KEY, (2, 3)))
    assert_same(hr.bernoulli(KEY, (X, Y), 0.3), jax.random.bernoulli(KEY, 0.3, (2, 3)))


# Named parameters: broadcast by name into the shape's order, then passed as full arrays.
P_YX = hax.named(jnp.array([[0.1, 0.5], [0.9, 0.2], [0.7, 0.4]]), (Y, X))  # deliberately (Y, X)
P_Y = hax.named(jnp.array([1.0, 2.0, 5.0]), (Y,))


def _full(p):
    """The raw (2, 3) array a named parameter becomes for shape (X, Y)."""
    return hax.broadcast_to(p, (X, Y)).array


NAMED_PARITY = [
    (
        "uniform",
        lambda k: hr.uniform(k, (X, Y), minval=-P_Y, maxval=P_YX + 10),
        lambda k: jax.random.uniform(k, (2, 3), minval=_full(-P_Y), maxval=_full(P_YX + 10)),
    ),
    ("bernoulli", lambda k: hr.bernoulli(k, (X, Y), P_YX), lambda k: jax.random.bernoulli(k, _full(P_YX), (2, 3))),
    (
        "randint",
        lambda k: hr.randint(k, (X, Y), 0, P_Y.astype(jnp.int32) + 1),
        lambda k: jax.random.randint(k, (2, 3), 0, _full(P_Y.astype(jnp.int32) + 1)),
    ),
    (
        "truncated_normal",
        lambda k: hr.truncated_normal(k, (X, Y), -P_Y, P_YX),
        lambda k: jax.random.truncated_normal(k, _full(-P_Y), _full(P_YX), (2, 3)),
    ),
    (
        "weibull_min",
        lambda k: hr.weibull_min(k, (X, Y), P_Y, P_YX + 1),
        lambda k: jax.random.weibull_min(k, _full(P_Y), _full(P_YX + 1), (2, 3)),
    ),
    ("pareto", lambda k: hr.pareto(k, (X, Y), P_Y), lambda k: jax.random.pareto(k, _full(P_Y), (2, 3))),
]


@pytest.mark.parametrize("name", [p[0] for p in NAMED_PARITY])
def test_named_parameters_broadcast_by_name(name, parity_results):
    out, ref = parity_results[("named", name)]
    assert out.axes == (X, Y)
    assert_same(out, ref)


def test_named_parameter_values_follow_names():
    # minval == maxval per Y entry pins each column to its own value, whatever the array order.
    v = hax.named(jnp.array([1.0, 2.0, 3.0]), (Y,))
    out = hr.uniform(KEY, (X, Y), minval=v, maxval=v)
    np.testing.assert_array_equal(np.asarray(out.array), np.tile([1.0, 2.0, 3.0], (2, 1)))


def test_shape_forms_and_zero_d():
    a = hr.normal(KEY, {"X": 2, "Y": 3})
    assert a.axes == (X, Y)
    b = hr.normal(KEY, X)
    assert_same(b, jax.random.normal(KEY, (2,)))
    c = hr.normal(KEY, ())
    assert c.axes == ()
    assert_same(c, jax.random.normal(KEY, ()))
    d = hr.uniform(KEY, (Y, X))
    assert d.axes == (Y, X)
    assert_same(d, jax.random.uniform(KEY, (3, 2)))


def test_typed_keys_work():
    k = jax.random.key(0)
    assert_same(hr.normal(k, (X,)), jax.random.normal(k, (2,)))


def test_choice_leading_axis_parity():
    a = hax.arange((Y, X))
    out = hr.choice(KEY, (Z,), a, Y)
    assert out.axes == (Z, X)
    assert_same(out, jax.random.choice(KEY, a.array, (4,), axis=0))


def test_choice_non_leading_axis_refbug_fixed():
    # a non-leading axis must give shape + (a.axes - axis) (Haliax mislabels or fails here).
    a = hax.arange((Y, Z)) * 10
    S = hax.Axis("S", 5)
    out = hr.choice(KEY, S, a, "Z")
    assert out.axes == (S, Y)
    raw = jax.random.choice(KEY, a.array, (5,), axis=1)  # (Y, S)
    np.testing.assert_array_equal(np.asarray(out.array), np.asarray(raw).T)
    # every row is an actual column of a
    cols = {tuple(np.asarray(a.array)[:, j]) for j in range(4)}
    assert all(tuple(np.asarray(out.array)[i]) in cols for i in range(5))


def test_choice_same_size_axes_labelled_correctly():
    # sizes coincide (Y=3, shape 3): Haliax would silently mislabel; values must follow names.
    A = hax.Axis("A", 3)
    B = hax.Axis("B", 3)
    a = hax.named(jnp.arange(9).reshape(3, 3) * 1.0, (A, B))  # a[i, j] = 3 i + j
    out = hr.choice(KEY, hax.Axis("S", 3), a, "B")
    assert [ax.name for ax in out.axes] == ["S", "A"]
    # for each sample s, the values along A are 3*i + j for the same chosen column j
    arr = np.asarray(out.array)
    for s in range(3):
        j = arr[s, 0]
        np.testing.assert_array_equal(arr[s], [3 * i + j for i in range(3)])


def test_choice_without_replacement_and_p():
    a = hax.arange(Z) * 2
    p = hax.named(jnp.array([0.1, 0.2, 0.3, 0.4]), (Z,))
    out = hr.choice(KEY, X, a, Z, replace=False, p=p)
    assert_same(out, jax.random.choice(KEY, a.array, (2,), replace=False, p=p.array))
    out2 = hr.choice(KEY, X, a, Z, p=jnp.array([0.1, 0.2, 0.3, 0.4]))
    assert_same(out2, jax.random.choice(KEY, a.array, (2,), p=jnp.array([0.1, 0.2, 0.3, 0.4])))


def test_choice_errors():
    a = hax.arange((Y, Z))
    with pytest.raises(ValueError, match="choice.*axis Q not found"):
        hr.choice(KEY, X, a, "Q")
    with pytest.raises(ValueError, match="p must be 1-D"):
        hr.choice(KEY, X, a, Z, p=hax.ones((Y, Z)))
    with pytest.raises(ValueError, match="p must be 1-D"):
        hr.choice(KEY, X, a, Z, p=jnp.ones((3, 4)))
    with pytest.raises(ValueError, match="also appear in the shape"):
        hr.choice(KEY, Y, a, Z)
    with pytest.raises(TypeError, match="choice: argument 'a' must be a NamedArray"):
        hr.choice(KEY, X, jnp.arange(3), Z)


def test_categorical_parity_and_axes():
    logits = hr.normal(jax.random.PRNGKey(1), (X, Z, Y))
    out = hr.categorical(KEY, logits, Z)
    assert out.axes == (X, Y)
    assert_same(out, jax.random.categorical(KEY, logits.array, axis=1))
    assert out.dtype == jnp.int32


def test_categorical_with_shape():
    B = hax.Axis("B", 5)
    logits = hr.normal(jax.random.PRNGKey(1), (X, Z))
    out = hr.categorical(KEY, logits, Z, shape=(B, X))
    assert out.axes == (B, X)
    bl = hax.broadcast_axis(logits, (B, X))
    assert bl.axes == (B, X, Z)
    assert_same(out, jax.random.categorical(KEY, bl.array, axis=2, shape=(5, 2)))


def test_categorical_samples_the_peak():
    V = hax.Axis("V", 5)
    logits = hax.named(jnp.where(jnp.arange(5) == 3, 0.0, -1e9)[None, :].repeat(2, 0), (X, V))
    assert hr.categorical(KEY, logits, V).tolist() == [3, 3]


def test_categorical_errors():
    logits = hax.zeros((X, Z))
    with pytest.raises(ValueError, match="must not be in shape"):
        hr.categorical(KEY, logits, Z, shape=(X, Z))
    with pytest.raises(ValueError, match="not in shape"):
        hr.categorical(KEY, logits, Z, shape=(Y,))
    with pytest.raises(ValueError, match="categorical.*axis W not found"):
        hr.categorical(KEY, logits, "W")


def test_permutation_parity():
    x = hax.arange((X, Z))
    out = hr.permutation(KEY, x, Z)
    assert out.axes == (X, Z)
    assert_same(out, jax.random.permutation(KEY, x.array, axis=1))
    out_i = hr.permutation(KEY, x, "Z", independent=True)
    assert_same(out_i, jax.random.permutation(KEY, x.array, axis=1, independent=True))
    out0 = hr.permutation(KEY, x, X)
    assert_same(out0, jax.random.permutation(KEY, x.array, axis=0))
    with pytest.raises(ValueError, match="permutation.*axis Q not found"):
        hr.permutation(KEY, x, "Q")
    with pytest.raises(ValueError, match="permutation"):
        hr.permutation(KEY, x, Z.resize(5))


def test_parameter_errors():
    with pytest.raises(ValueError, match=r"uniform: parameter 'minval' has axes \(Z\(4\)\).*not in the shape"):
        hr.uniform(KEY, (X, Y), minval=hax.zeros(Z))
    with pytest.raises(ValueError, match="bernoulli: parameter 'p'"):
        hr.bernoulli(KEY, (X, Y), hax.zeros(Y.resize(7)))
    with pytest.raises(TypeError, match="normal: argument 'shape'"):
        hr.normal(KEY, "X")
    with pytest.raises(TypeError, match="ball: argument 'D' must be an Axis"):
        hr.ball(KEY, X, 3)
    with pytest.raises(ValueError, match="ball: the dimension axis"):
        hr.ball(KEY, X, X)


def test_under_jit_and_auto_sharded():
    out = jax.jit(lambda k: hr.normal(k, (X, Y)))(KEY)
    assert_same(out, jax.random.normal(KEY, (2, 3)))
    mesh = jax.make_mesh((2, 4), (ResourceAxis.DATA, ResourceAxis.MODEL))
    with jax.set_mesh(mesh), axis_mapping({"X": ResourceAxis.DATA}):
        out = hr.normal(KEY, (X, Z))
    assert_same(out, jax.random.normal(KEY, (2, 4)))
    assert out.array.sharding.spec[0] == ResourceAxis.DATA
