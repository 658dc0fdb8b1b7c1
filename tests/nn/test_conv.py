"""Conv / ConvTranspose: Equinox parity (init bit for bit, outputs to a few ulps), axis handling, padding forms, errors,
transformations, gradients and state dicts. (Randomised torch parity lives in test_conv_parity.py.)"""

import copy
import pickle

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn
from haliax.state_dict import to_state_dict
from tests.helpers import as_order, names

B, C, O, H, W = hax.make_axes(batch=2, c=4, o=6, h=9, w=8)
KEY = jax.random.PRNGKey(0)
# Compiling `jax.random.uniform` costs about a second per new shape, so tests that are not about the init reuse a
# few weight shapes ((6,4,3), (6,4,3,3), (6,2,3,3), (6,4,2,2,2)) or take NumPy weights via `_with_weights`.


def _with_weights(build, seed=0):
    """`build(key)`'s module, but with NumPy weights (no random compile)."""
    m = jax.eval_shape(lambda: build(KEY))
    rng = np.random.default_rng(seed)
    m = eqx.tree_at(lambda m: m.weight.array, m, rng.uniform(-1, 1, m.weight.array.shape).astype(np.float32))
    if m.bias is not None:
        m = eqx.tree_at(lambda m: m.bias.array, m, rng.uniform(-1, 1, m.bias.array.shape).astype(np.float32))
    return m


def _x(order, sizes=None, seed=0):
    sizes = {"batch": 2, "c": 4, "h": 9, "w": 8, **(sizes or {})}
    arr = np.random.default_rng(seed).standard_normal([sizes[n] for n in order]).astype(np.float32)
    return hax.named(arr, tuple(order))


# --------------------------------------------------------------------------------------------------
# init


@pytest.mark.parametrize(
    "n_sp, groups, use_bias, kernel",
    [(1, 1, True, 3), (2, 2, True, (3, 3)), (3, 1, False, 2)],
)
@pytest.mark.parametrize("transpose", [False, True])
def test_init_bit_equal_to_equinox(n_sp, groups, use_bias, kernel, transpose):
    spatial = ("h", "w", "z")[:n_sp]
    key = jax.random.PRNGKey(n_sp * 10 + groups)
    Out = O
    cls, ecls = (hnn.ConvTranspose, eqx.nn.ConvTranspose) if transpose else (hnn.Conv, eqx.nn.Conv)
    ours = cls.init(spatial, C, Out, kernel, groups=groups, use_bias=use_bias, key=key)
    ref = ecls(n_sp, C.size, Out.size, kernel, groups=groups, use_bias=use_bias, key=key)
    assert ours.weight.array.dtype == ref.weight.dtype
    np.testing.assert_array_equal(np.asarray(ours.weight.array), np.asarray(ref.weight))
    if use_bias:
        np.testing.assert_array_equal(np.asarray(ours.bias.array), np.asarray(ref.bias).reshape(-1))
    else:
        assert ours.bias is None


def test_fields_and_weight_axes():
    conv = hnn.Conv.init((H, "w"), C, O, (3, 3), stride=2, padding=((1, 0), 2), dilation=(1, 2), groups=2, key=KEY)
    assert conv.Spatial == {"h": 9, "w": None} and isinstance(conv.Spatial, dict)
    assert conv.weight.axes == (O, C.resize(2), hax.Axis("h", 3), hax.Axis("w", 3))
    assert conv.bias.axes == (O,)
    assert (conv.kernel_size, conv.stride, conv.dilation, conv.groups) == ((3, 3), (2, 2), (1, 2), 2)
    assert conv.padding == ((1, 0), (2, 2))
    # the init range is the Equinox one
    lim = 1 / np.sqrt(2 * 3 * 3)
    assert np.abs(np.asarray(conv.weight.array)).max() <= lim and np.abs(np.asarray(conv.bias.array)).max() <= lim
    # positional constructor, field order as in Haliax
    again = hnn.Conv(conv.Spatial, C, O, conv.weight, conv.bias, (3, 3), (2, 2), conv.padding, (1, 2), 2)
    assert jax.tree.structure(again) == jax.tree.structure(conv)
    assert all(a is b for a, b in zip(jax.tree.leaves(again), jax.tree.leaves(conv)))
    convt = hnn.ConvTranspose.init("h", C, O, 3, output_padding=1, stride=2, key=KEY)
    assert convt.output_padding == (1,) and convt.Spatial == {"h": None}
    # no callable or Python leaves: only the two arrays
    assert len(jax.tree.leaves(conv)) == 2 and len(jax.tree.leaves(convt)) == 2
    # the Spatial dict is hashable and immutable, and survives copies and pickling
    for copied in (copy.deepcopy(conv.Spatial), pickle.loads(pickle.dumps(conv.Spatial))):
        assert copied == conv.Spatial and hash(copied) == hash(conv.Spatial)
    with pytest.raises(TypeError, match="immutable"):
        conv.Spatial["h"] = 3


# --------------------------------------------------------------------------------------------------
# outputs vs Equinox (a few ulps: a different XLA program) and axis handling


def test_outputs_match_equinox_any_axis_order():
    conv = hnn.Conv.init(("h", "w"), C, O, 3, stride=2, padding=1, groups=2, key=KEY)
    ref = eqx.nn.Conv(2, 4, 6, 3, stride=2, padding=1, groups=2, key=KEY)
    x = _x(("batch", "c", "h", "w"))
    expected = np.asarray(jax.jit(jax.vmap(ref))(x.array))
    for order in [("batch", "c", "h", "w"), ("h", "batch", "w", "c"), ("w", "c", "h", "batch")]:
        xo = hax.named(as_order(x, order), order)
        y = conv(xo)
        assert names(y) == [("o" if n == "c" else n) for n in order]
        np.testing.assert_allclose(as_order(y, ("batch", "o", "h", "w")), expected, rtol=1e-6, atol=1e-6)
    # no batch axis: a single example
    np.testing.assert_allclose(
        np.asarray(conv(hax.named(x.array[0], ("c", "h", "w"))).array), expected[0], rtol=1e-6, atol=1e-6
    )


def test_conv_transpose_matches_equinox_pinned():
    m = hnn.ConvTranspose.init(("h", "w"), C, O, 3, stride=2, padding=1, output_padding=1, dilation=2, key=KEY)
    ref = eqx.nn.ConvTranspose(2, 4, 6, 3, stride=2, padding=1, output_padding=1, dilation=2, key=KEY)
    x = _x(("h", "batch", "c", "w"))
    y = m(x)
    assert names(y) == ["h", "batch", "o", "w"]
    expected = jax.jit(jax.vmap(ref))(as_order(x, ("batch", "c", "h", "w")))
    np.testing.assert_allclose(as_order(y, ("batch", "o", "h", "w")), np.asarray(expected), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("padding", ["SAME", "same_lower", "VALID"])
@pytest.mark.parametrize("transpose", [False, True])
def test_string_padding_matches_equinox(padding, transpose):
    cls, ecls = (hnn.ConvTranspose, eqx.nn.ConvTranspose) if transpose else (hnn.Conv, eqx.nn.Conv)
    m = cls.init(("h",), C, O, 3, stride=2, padding=padding, key=KEY)
    ref = ecls(1, 4, 6, 3, stride=2, padding=padding, key=KEY)
    x = _x(("c", "h"), {"h": 8})  # odd total SAME padding: SAME and SAME_LOWER differ
    np.testing.assert_allclose(
        np.asarray(m(x).array), np.asarray(jax.jit(lambda a: ref(a))(x.array)), rtol=1e-6, atol=1e-6
    )


def test_spec_shape_examples():
    conv = hnn.Conv.init(("h", "w"), C, O, 3, stride=2, key=KEY)
    assert conv(_x(("batch", "c", "h", "w"))).axes == (B, O, H.resize(4), W.resize(3))
    assert conv(_x(("h", "batch", "w", "c"))).axes == (H.resize(4), B, W.resize(3), O)
    convt = hnn.ConvTranspose.init("h", C, O, 3, stride=2, padding=1, output_padding=1, key=KEY)
    assert convt(_x(("c", "h"))).shape == {"o": 6, "h": 18}


def test_many_batch_axes_anywhere():
    conv = hnn.Conv.init("h", C, O, 3, dilation=2, key=KEY)
    x = _x(("b1", "h", "b2", "c", "b3"), {"b1": 2, "b2": 3, "b3": 1, "h": 6})
    y = conv(x)
    assert y.shape == {"b1": 2, "h": 2, "b2": 3, "o": 6, "b3": 1}
    single = conv(hax.named(x.array[1, :, 2, :, 0], ("h", "c")))
    np.testing.assert_allclose(np.asarray(y.array[1, :, 2, :, 0]), np.asarray(single.array), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "padding, pairs",
    [
        (1, ((1, 1), (1, 1))),
        ((1, 2), ((1, 1), (2, 2))),
        (((0, 1), (2, 0)), ((0, 1), (2, 0))),
        ([(1, 0), 1], ((1, 0), (1, 1))),
        ((2,), ((2, 2), (2, 2))),
        ("valid", ((0, 0), (0, 0))),
        ("same", "SAME"),
    ],
)
def test_padding_forms(padding, pairs):
    conv = hnn.Conv.init(("h", "w"), C, O, 3, padding=padding, key=KEY)
    assert conv.padding == pairs
    y = conv(_x(("c", "h", "w")))
    explicit = conv._pads([9, 8])
    expected = [9 + sum(explicit[0]) - 2, 8 + sum(explicit[1]) - 2]
    assert [y.shape["h"], y.shape["w"]] == expected


def test_grouped_conv_is_per_group_conv():
    conv = _with_weights(lambda key: hnn.Conv.init("h", C, O, 3, groups=2, key=key))
    x = _x(("batch", "c", "h"))
    y = np.asarray(conv(x).array)
    for g in range(2):
        sub = hnn.Conv(
            conv.Spatial, C.resize(2), O.resize(3),
            hax.named(conv.weight.array[3 * g : 3 * g + 3], ("o", "c", "h")),
            hax.named(conv.bias.array[3 * g : 3 * g + 3], ("o",)),
            (3,), (1,), ((0, 0),), (1,), 1,
        )  # fmt: skip
        part = sub(hax.named(x.array[:, 2 * g : 2 * g + 2], ("batch", "c", "h")))
        np.testing.assert_allclose(y[:, 3 * g : 3 * g + 3], np.asarray(part.array), rtol=1e-6, atol=1e-6)


def test_dtype_promotion():
    conv = hnn.Conv.init("h", C, O, 3, key=KEY)
    assert conv(_x(("c", "h")).astype(jnp.bfloat16)).dtype == jnp.float32
    assert conv(hax.named(jnp.ones((4, 9), jnp.int32), ("c", "h"))).dtype == jnp.float32


# --------------------------------------------------------------------------------------------------
# errors


def test_init_errors():
    with pytest.raises(ValueError, match="Spatial must have at least one element"):
        hnn.Conv.init((), C, O, 3, key=KEY)
    with pytest.raises(ValueError, match="Expected 2 elements for kernel_size, got 3"):
        hnn.Conv.init(("h", "w"), C, O, (3, 3, 3), key=KEY)
    with pytest.raises(ValueError, match="Expected 2 elements for stride"):
        hnn.ConvTranspose.init(("h", "w"), C, O, 3, stride=(1, 2, 3), key=KEY)
    with pytest.raises(ValueError, match="Invalid padding spec"):
        hnn.Conv.init("h", C, O, 3, padding="FULL", key=KEY)
    with pytest.raises(ValueError, match="Invalid padding spec"):
        hnn.Conv.init("h", C, O, 3, padding=((1, 2, 3),), key=KEY)
    with pytest.raises(ValueError, match="Expected 2 elements for padding"):
        hnn.Conv.init(("h", "w"), C, O, 3, padding=(1, 1, 1), key=KEY)
    with pytest.raises(ValueError, match=r"groups=3 does not divide the input channels In=c\(4\)"):
        hnn.Conv.init("h", C, O, 3, groups=3, key=KEY)
    with pytest.raises(ValueError, match="does not divide the output channels"):
        hnn.ConvTranspose.init("h", C, O.resize(5), 3, groups=2, key=KEY)
    with pytest.raises(ValueError, match="different names"):
        hnn.Conv.init("h", C, C, 3, key=KEY)
    with pytest.raises(ValueError, match="also listed in Spatial"):
        hnn.Conv.init(("h", "c"), C, O, 3, key=KEY)
    with pytest.raises(TypeError, match="In must be an Axis"):
        hnn.Conv.init("h", "c", O, 3, key=KEY)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        hnn.Conv.init("h", C, O, 0, key=KEY)


@pytest.mark.parametrize("cls", [hnn.Conv, hnn.ConvTranspose])
def test_call_errors(cls):
    m = cls.init(("h", "w"), C, O, 3, key=KEY)
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"{name}: Missing spatial axis 'w'.*Did you mean 'ww'"):
        m(_x(("c", "h", "ww"), {"ww": 8}))
    with pytest.raises(ValueError, match=rf"{name}: Missing input axis 'c'"):
        m(_x(("channels", "h", "w"), {"channels": 4}))
    with pytest.raises(
        ValueError,
        match=rf"{name}: argument 'inputs': Found axis with same name but different size: asked for c\(4\), "
        r"the array has c\(3\)",
    ):
        m(_x(("c", "h", "w"), {"c": 3}))
    with pytest.raises(ValueError, match="Output axis 'o' already in inputs"):
        m(_x(("o", "c", "h", "w"), {"o": 2}))
    with pytest.raises(TypeError, match="must be a NamedArray"):
        m(jnp.ones((4, 9, 8)))


def test_kernel_larger_than_padded_input():
    conv = _with_weights(lambda key: hnn.Conv.init("h", C, O, 4, dilation=2, padding=1, key=key))  # needs 7
    with pytest.raises(ValueError, match="kernel .* is larger than the padded input along spatial axis 'h'"):
        conv(_x(("c", "h"), {"h": 4}))
    assert conv(_x(("c", "h"), {"h": 5})).shape == {"o": 6, "h": 1}
    convt = _with_weights(lambda key: hnn.ConvTranspose.init("h", C, O, 2, padding=2, key=key))
    with pytest.raises(ValueError, match="larger than the padded input"):
        convt(_x(("c", "h"), {"h": 2}))


# --------------------------------------------------------------------------------------------------
# transformations, gradients, state dicts, sharding


def test_jit_grad_tree_at_optax():
    conv = hnn.Conv.init(("h", "w"), C, O, 3, padding="SAME", key=KEY)
    x = _x(("batch", "c", "h", "w"))
    np.testing.assert_allclose(
        np.asarray(jax.jit(lambda m, x: m(x))(conv, x).array), np.asarray(conv(x).array), rtol=1e-6, atol=1e-6
    )

    def loss(m, x):
        return hax.mean(m(x) ** 2).scalar()

    grads = eqx.filter_jit(eqx.filter_grad(loss))(conv, x)
    assert grads.weight.axes == conv.weight.axes and grads.bias.axes == (O,)
    opt = optax.sgd(0.1)
    state = opt.init(eqx.filter(conv, eqx.is_array))
    updates, _ = opt.update(grads, state)
    new = eqx.apply_updates(conv, updates)
    assert loss(new, x) < loss(conv, x)
    zeroed = eqx.tree_at(lambda m: m.bias, conv, hax.zeros(O))
    assert not np.asarray(zeroed.bias.array).any()


@pytest.mark.parametrize("cls", [hnn.Conv, hnn.ConvTranspose])
def test_check_grads(cls):
    kwargs = dict(stride=2, padding=((1, 0),), dilation=2, groups=2)
    if cls is hnn.ConvTranspose:
        kwargs["output_padding"] = 1
    m = _with_weights(lambda key: cls.init("h", C, O, 2, key=key, **kwargs))
    x = _x(("h", "batch", "c"), {"h": 5})
    with jax.enable_x64(True):
        w64, b64, x64 = (jnp.asarray(np.asarray(a.array), jnp.float64) for a in (m.weight, m.bias, x))

        @jax.jit
        def f(w, b, xa):
            mod = eqx.tree_at(lambda m: (m.weight, m.bias), m, (hax.named(w, m.weight.axes), hax.named(b, (O,))))
            return mod(hax.named(xa, x.axes)).array

        check_grads(f, (w64, b64, x64), order=1, modes=("fwd", "rev"), eps=1e-4)


def test_state_dict_layout_and_round_trip():
    conv = hnn.Conv.init(("h", "w"), C, O, 3, groups=2, key=KEY)
    sd = to_state_dict(conv, "enc.conv")
    assert set(sd) == {"enc.conv.weight", "enc.conv.bias"}
    assert sd["enc.conv.weight"].shape == (6, 2, 3, 3) and sd["enc.conv.bias"].shape == (6,)
    convt = hnn.ConvTranspose.init("h", C, O, 3, use_bias=False, key=KEY)
    assert set(to_state_dict(convt)) == {"weight"}
    assert isinstance(conv, hax.state_dict.ModuleWithStateDictSerialization)
    other = hnn.Conv.init(("h", "w"), C, O, 3, groups=2, key=jax.random.PRNGKey(1))
    loaded = other.from_state_dict(sd, "enc.conv")
    np.testing.assert_array_equal(np.asarray(loaded.weight.array), np.asarray(conv.weight.array))


def test_output_is_auto_sharded():
    conv = hnn.Conv.init("h", C, O, 3, key=KEY)
    x = _x(("batch", "c", "h"), {"batch": 8})
    mesh = jax.make_mesh((8,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    with hax.partitioning.set_mesh(mesh), hax.partitioning.axis_mapping({"batch": "data"}):
        y = jax.jit(lambda m, x: m(x))(conv, x)
    assert y.array.sharding.spec[0] == "data"
