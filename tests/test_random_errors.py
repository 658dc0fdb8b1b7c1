"""haliax.random given a bad key or a shape with a duplicated axis: errors that name the function and ``key=``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax

X, Y = hax.make_axes(X=2, Y=3)
KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize(
    "fn",
    [
        lambda k: hax.random.normal(k, X),
        lambda k: hax.random.uniform(k, X),
        lambda k: hax.random.bernoulli(k, X, 0.5),
        lambda k: hax.random.randint(k, X, 0, 4),
        lambda k: hax.random.truncated_normal(k, X, -1, 1),
        lambda k: hax.random.gamma(k, X, 1.0),
    ],
)
def test_key_none_names_function_and_key(fn):
    with pytest.raises(TypeError, match=r"^\w+: key= must be a PRNG key, got None; pass one key"):
        fn(None)


@pytest.mark.parametrize("key, shown", [(0, "the int 0"), (1.5, "the float 1.5"), ("seed", "the str 'seed'")])
def test_python_scalar_key(key, shown):
    with pytest.raises(TypeError, match=rf"normal: key= must be a PRNG key, got {shown}"):
        hax.random.normal(key, X)


def test_float_array_key():
    with pytest.raises(
        TypeError, match=r"uniform: key= must be a PRNG key, got an array of dtype float32 with shape \(2,\)"
    ):
        hax.random.uniform(jnp.ones(2), X)


def test_named_array_key():
    with pytest.raises(TypeError, match="normal: key= must be a PRNG key, got a NamedArray"):
        hax.random.normal(hax.zeros(X), X)


def test_batch_of_raw_keys():
    with pytest.raises(ValueError, match=r"normal: key= must be a single raw PRNG key .* shape \(3, 2\).*keys\[0\]"):
        hax.random.normal(jax.random.split(KEY, 3), X)


def test_batch_of_typed_keys():
    with pytest.raises(
        ValueError, match=r"normal: key= must be a single PRNG key, got an array of keys with shape \(3,\)"
    ):
        hax.random.normal(jax.random.split(jax.random.key(0), 3), X)


@pytest.mark.parametrize(
    "name, call",
    [
        ("ball", lambda k: hax.random.ball(k, X, Y)),
        ("choice", lambda k: hax.random.choice(k, X, hax.arange(Y), Y)),
        ("categorical", lambda k: hax.random.categorical(k, hax.zeros((X, Y)), Y)),
        ("permutation", lambda k: hax.random.permutation(k, hax.arange(X), X)),
    ],
)
def test_array_functions_check_key(name, call):
    with pytest.raises(TypeError, match=rf"^{name}: key= must be a PRNG key"):
        call(None)


def test_good_keys_still_work_everywhere():
    raw = hax.random.normal(KEY, X)
    assert jnp.array_equal(hax.random.normal(np.asarray(KEY), X).array, raw.array)
    assert hax.random.normal(jax.random.key(0), X).axes == (X,)
    jitted = jax.jit(lambda k: hax.random.normal(k, X).array)(KEY)
    assert jnp.array_equal(jitted, raw.array)
    batched = jax.vmap(lambda k: hax.random.normal(k, X).array)(jax.random.split(KEY, 2))
    assert batched.shape == (2, 2)


@pytest.mark.parametrize(
    "name, call",
    [
        ("normal", lambda s: hax.random.normal(KEY, s)),
        ("uniform", lambda s: hax.random.uniform(KEY, s)),
        ("bernoulli", lambda s: hax.random.bernoulli(KEY, s, 0.5)),
        ("randint", lambda s: hax.random.randint(KEY, s, 0, 3)),
        ("ball", lambda s: hax.random.ball(KEY, s, hax.Axis("D", 2))),
        ("choice", lambda s: hax.random.choice(KEY, s, hax.arange(hax.Axis("Z", 4)), "Z")),
    ],
)
def test_duplicate_axis_in_shape(name, call):
    with pytest.raises(
        ValueError, match=rf"^{name}: argument 'shape' names axis X more than once: \(X\(2\), Y\(3\), X\(2\)\)"
    ):
        call((X, Y, X))
