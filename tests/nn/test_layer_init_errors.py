"""Layer construction on bad input (Conv, ConvTranspose, LayerNorm/RmsNorm, MLP, MultiHeadAttention): each error
names the layer's init and the argument."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn

C, O, H, W, E, Hd, D = hax.make_axes(c=3, o=4, h=8, w=8, embed=8, heads=2, head_size=4)
KEY = jax.random.PRNGKey(0)
BAD_KEYS = [None, 3, jnp.ones(2)]


@pytest.mark.parametrize("bad", BAD_KEYS)
@pytest.mark.parametrize("cls", [hnn.Conv, hnn.ConvTranspose])
def test_conv_bad_key_names_the_layer(cls, bad):
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.init: key= must be a PRNG key, got"):
        cls.init((H, W), C, O, 3, key=bad)


def test_conv_batch_of_keys_is_value_error():
    with pytest.raises(ValueError, match=r"^Conv\.init: key= must be a single raw PRNG key"):
        hnn.Conv.init((H, W), C, O, 3, key=jax.random.split(KEY, 3))


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_multihead_bad_key_names_the_layer(bad):
    with pytest.raises(TypeError, match=r"^MultiHeadAttention\.init: key= must be a PRNG key, got"):
        hnn.MultiHeadAttention.init(E, Hd, D, key=bad)


@pytest.mark.parametrize("cls", [hnn.LayerNorm, hnn.RmsNorm])
def test_norm_init_with_a_bare_name_names_the_layer_and_argument(cls):
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.init: argument 'axis' must be an Axis, a tuple of Axis"):
        cls.init("c")


@pytest.mark.parametrize("cls", [hnn.LayerNorm, hnn.RmsNorm])
def test_norm_init_with_a_repeated_axis(cls):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}\.init: argument 'axis' names axis c more than once"):
        cls.init((C, C))


@pytest.mark.parametrize("cls", [hnn.LayerNorm, hnn.RmsNorm])
@pytest.mark.parametrize("eps", [-1e-5, -1.0, float("nan")])
def test_norm_negative_or_nan_eps(cls, eps):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}\.init: argument 'eps' must be >= 0 .*got"):
        cls.init(C, eps=eps)


@pytest.mark.parametrize("eps", ["1e-5", None, True, jnp.ones(2), [1e-5]])
def test_norm_eps_of_wrong_kind(eps):
    with pytest.raises(TypeError, match=r"^LayerNorm\.init: argument 'eps' must be a number, got"):
        hnn.LayerNorm.init(C, eps=eps)


@pytest.mark.filterwarnings("ignore:A JAX array is being set as static")  # as in Haliax, for array eps
@pytest.mark.parametrize("eps", [0, 0.0, 1e-6, 1e-5, np.float32(1e-5), jnp.array(1e-5)])
def test_norm_valid_eps_still_work(eps):
    x = hax.random.normal(KEY, (O, C))
    out = hnn.LayerNorm.init(C, eps=eps, use_weight=False, use_bias=False)(x)
    a = np.asarray(x.array, np.float64)
    want = (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + float(eps))
    np.testing.assert_allclose(out.array, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", 3, None])
def test_mlp_non_callable_activation(activation):
    with pytest.raises(TypeError, match=r"^MLP\.init: argument 'activation' must be a callable such as hnn\.relu"):
        hnn.MLP.init(C, O, 4, 1, activation=activation, key=KEY)


@pytest.mark.parametrize("cache_pos", ["cache", 16, None])
def test_multihead_init_cache_needs_an_axis(cache_pos):
    m = hnn.MultiHeadAttention.init(E, Hd, D, key=KEY)
    with pytest.raises(TypeError, match=r"^MultiHeadAttention\.init_cache: CachePos must be an Axis .*got"):
        m.init_cache(cache_pos)


@pytest.mark.parametrize("bad", [3, "mup", hnn.mup.EmbeddingMup])
def test_linear_reparam_cls_of_wrong_kind(bad):
    with pytest.raises(
        TypeError, match=r"^Linear\.init: argument 'reparam_cls' must be a subclass of AbstractLinearReparam"
    ):
        hnn.Linear.init(C, O, key=KEY, reparam_cls=bad)


@pytest.mark.parametrize("bad", [3, hnn.mup.HiddenLinearMup])
def test_embedding_reparam_cls_of_wrong_kind(bad):
    with pytest.raises(
        TypeError, match=r"^Embedding\.init: argument 'reparam_cls' must be a subclass of AbstractEmbeddingReparam"
    ):
        hnn.Embedding.init(C, O, key=KEY, reparam_cls=bad)


@pytest.mark.parametrize("kind", ["Stacked", "BlockSeq"])
def test_layer_stack_policy_and_fold_via_errors_name_the_caller(kind):
    cls = getattr(hnn, kind)
    with pytest.raises(
        ValueError, match=rf"^{kind}\.init: argument 'gradient_checkpointing': Invalid checkpoint policy"
    ):
        cls.init(hax.Axis("L", 2), hnn.Linear, gradient_checkpointing="ful")
    stack = cls.init(hax.Axis("L", 2), hnn.Linear)(C, C.alias("c2"), key=jax.random.split(KEY, 2))
    with pytest.raises(TypeError, match=rf"^{kind}\.fold_via: argument 'fn' must be callable, got 3"):
        stack.fold_via(3)
    with pytest.raises(TypeError, match=rf"^{kind}\.scan_via: argument 'fn' must be callable"):
        stack.scan_via(None)


@pytest.mark.parametrize("stride", [1.5, "2"])
def test_pool_stride_of_wrong_kind(stride):
    x = hax.ones((C, H))
    with pytest.raises(
        (TypeError, ValueError),
        match=r"^max_pool: (argument 'stride' must be an int or a sequence|stride entries must be positive ints)",
    ):
        hnn.max_pool((H.resize(2),), x, stride=stride)
