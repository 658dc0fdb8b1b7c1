"""Bad input to Stacked / BlockSeq: out-of-range layers, layers that change their carry, a non-Axis Block."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax import NamedArray
from haliax.axis import AxisIndexError

L, E, F = hax.make_axes(layers=4, embed=3, feat=3)


class Add(eqx.Module):
    w: NamedArray

    @staticmethod
    def init(scale):
        return Add(hax.ones(E) * scale)

    def __call__(self, x):
        return x + self.w


class ToBf16(Add):
    @staticmethod
    def init(scale):
        return ToBf16(hax.ones(E) * scale)

    def __call__(self, x):
        return (x + self.w).astype(jnp.bfloat16)


class Renames(Add):
    @staticmethod
    def init(scale):
        return Renames(hax.ones(E) * scale)

    def __call__(self, x):
        return (x + self.w).rename({"embed": "feat"})


def _stack(cls=hnn.Stacked, block=Add):
    return cls.init(L, block)(hax.arange(L) * 1.0)


# -- get_layer --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [hnn.Stacked, hnn.BlockSeq])
@pytest.mark.parametrize("index", [4, 100, -5])
def test_get_layer_out_of_range(kind, index):
    s = _stack(kind)
    with pytest.raises(AxisIndexError, match=rf"{kind.__name__}\.get_layer: index {index} is out of bounds") as info:
        s.get_layer(index)
    assert isinstance(info.value, IndexError) and isinstance(info.value, ValueError)
    assert "Block axis layers with size 4 (valid: -4 to 3)" in str(info.value)


def test_get_layer_catchable_as_index_error_and_value_error():
    s = _stack()
    with pytest.raises(IndexError):
        s.get_layer(4)
    with pytest.raises(ValueError, match="layers with size 4"):
        s.get_layer(np.int32(-7))


@pytest.mark.parametrize("kind", [hnn.Stacked, hnn.BlockSeq])
def test_get_layer_negative_counts_from_the_end(kind):
    s = _stack(kind)
    for i in range(-L.size, L.size):
        np.testing.assert_array_equal(np.asarray(s.get_layer(i).w.array), np.full(3, float(i % L.size)))
    np.testing.assert_array_equal(np.asarray(s.get_layer(jnp.int32(-1)).w.array), np.full(3, 3.0))


@pytest.mark.parametrize("kind", [hnn.Stacked, hnn.BlockSeq])
@pytest.mark.parametrize("index", [1.0, "1", None, True])
def test_get_layer_non_integer(kind, index):
    with pytest.raises(TypeError, match=rf"{kind.__name__}\.get_layer: argument 'index' must be an integer"):
        _stack(kind).get_layer(index)


def test_get_layer_traced_index_is_allowed_under_jit():
    s = _stack()
    out = jax.jit(lambda st, i: st.get_layer(i).w.array)(s, jnp.int32(2))
    np.testing.assert_array_equal(np.asarray(out), np.full(3, 2.0))
    with pytest.raises(TypeError, match=r"BlockSeq\.get_layer: argument 'index' must be a concrete integer"):
        jax.jit(lambda st, i: st.get_layer(i).w.array)(_stack(hnn.BlockSeq), jnp.int32(2))


# -- layers that change the carry -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["fold", "scan"])
def test_layer_changing_the_carry_dtype(method):
    s = _stack(block=ToBf16)
    run = s.fold if method == "fold" else s.scan_via(lambda layer, x: (layer(x), x))
    with pytest.raises(TypeError) as info:
        run(hax.zeros(E))
    msg = str(info.value)
    assert msg.startswith(f"Stacked.{method} (layer ToBf16, Block axis layers(4)): the function")
    assert "changed the dtype of carry: float32 before the step, bfloat16 after" in msg
    assert ".astype(float32)" in msg


def test_layer_changing_the_carry_axes():
    s = _stack(block=Renames)
    with pytest.raises(
        TypeError,
        match=r"Stacked\.fold \(layer Renames, Block axis layers\(4\)\): the function '__call__' changed the axes of "
        r"carry: \(embed\(3\)\) before the step, \(feat\(3\)\) after",
    ):
        s.fold(hax.zeros(E))


def test_fold_via_names_the_function_and_the_carry_path():
    s = _stack()

    def widen(layer, carry):
        return {"x": (carry["x"] + layer.w).astype(jnp.int32)}

    with pytest.raises(
        TypeError, match=r"Stacked\.fold \(layer Add, Block axis layers\(4\)\): the function 'widen'"
    ) as info:
        s.fold_via(widen)({"x": hax.zeros(E)})
    assert "changed the dtype of carry['x']: float32 before the step, int32 after" in str(info.value)


def test_layer_changing_the_carry_structure():
    s = _stack()
    with pytest.raises(TypeError, match=r"Stacked\.fold \(layer Add, .*changed the structure of the carry"):
        s.fold_via(lambda layer, c: (c[0] + layer.w,))((hax.zeros(E), hax.zeros(E)))


def test_stable_carry_passes_and_blockseq_keeps_python_semantics():
    s = _stack()
    np.testing.assert_array_equal(np.asarray(s.fold(hax.zeros(E)).array), np.full(3, 6.0))
    # BlockSeq runs a Python loop: a dtype change is allowed there
    out = _stack(hnn.BlockSeq, ToBf16).fold(hax.zeros(E))
    assert out.dtype == jnp.bfloat16


# -- init -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [hnn.Stacked, hnn.BlockSeq])
@pytest.mark.parametrize("block", [4, "layers", None, (L,)])
def test_init_with_a_non_axis_block(kind, block):
    with pytest.raises(TypeError, match=rf"{kind.__name__}\.init: argument 'Block' must be a haliax\.Axis") as info:
        kind.init(block, Add)
    assert f"got {block!r}" in str(info.value)
    if isinstance(block, str):
        assert "haliax.Axis('layers', n_layers)" in str(info.value)
