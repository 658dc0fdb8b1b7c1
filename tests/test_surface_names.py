"""Module paths, re-exports, compatibility aliases and small names that client code (e.g. Levanter) imports."""

import importlib
import os
import subprocess
import sys
import typing
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax

# ------------------------------------------------------------------------------------------------
# module paths


@pytest.mark.parametrize("name", ["types", "wrap", "ref", "fft", "poly", "specialized_fns"])
def test_submodules_import(name):
    mod = importlib.import_module(f"haliax.{name}")
    assert mod.__name__ == f"haliax.{name}"


def test_submodules_are_attributes_after_import_haliax():
    # in a fresh interpreter: in this one, importing a submodule anywhere makes it an attribute
    code = (
        "import sys, haliax\n"
        "for n in ('specialized_fns', 'types', 'ref', 'wrap'):\n"
        "    assert getattr(haliax, n, None) is sys.modules.get('haliax.' + n), n\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})


def test_fft_and_poly_functions_shadow_their_modules():
    assert callable(hax.fft) and hax.fft is not sys.modules["haliax.fft"]
    assert callable(hax.poly) and hax.poly is not sys.modules["haliax.poly"]
    from haliax.fft import rfft
    from haliax.poly import DEFAULT_POLY_AXIS_NAME

    assert rfft is hax.rfft and isinstance(DEFAULT_POLY_AXIS_NAME, str)
    assert hax.get is sys.modules["haliax.ref"].get


def test_wrap_module():
    import haliax.wrap as w
    from haliax.ops import elementwise, reductions

    assert w.__all__ == [
        "wrap_elemwise_unary",
        "wrap_reduction_call",
        "wrap_axiswise_call",
        "wrap_elemwise_binary",
        "unwrap_namedarrays",
        "ReductionFunction",
        "SimpleReductionFunction",
    ]
    assert w.wrap_elemwise_unary is elementwise.wrap_elemwise_unary
    assert w.wrap_elemwise_binary is elementwise.wrap_elemwise_binary
    assert w.wrap_reduction_call is reductions.wrap_reduction_call
    assert w.wrap_axiswise_call is reductions.wrap_axiswise_call
    X = hax.Axis("X", 3)
    x = hax.arange(X)
    raw, n, plain = w.unwrap_namedarrays(x, 3, jnp.ones(2))
    assert raw is x.array and n == 3 and plain.shape == (2,)
    assert w.unwrap_namedarrays() == ()


def test_wrap_names_are_top_level_objects():
    import haliax.wrap as w

    for name in w.__all__:
        assert getattr(hax, name) is getattr(w, name), name


# ------------------------------------------------------------------------------------------------
# haliax.types


def test_types_aliases():
    import haliax.types as t

    assert t.__all__ == [
        "Scalar",
        "IntScalar",
        "PrecisionLike",
        "GatherScatterModeStr",
        "FilterSpec",
        "FilterTree",
        "DType",
        "DTypeLike",
    ]
    assert set(typing.get_args(t.Scalar)) == {float, int, jnp.ndarray}
    assert set(typing.get_args(t.IntScalar)) == {int, jnp.ndarray}
    args = typing.get_args(t.PrecisionLike)
    assert type(None) in args and str in args and jax.lax.Precision in args
    assert tuple[str, str] in args and tuple[jax.lax.Precision, jax.lax.Precision] in args
    assert typing.get_args(t.GatherScatterModeStr) == ("promise_in_bounds", "clip", "drop", "fill")
    assert bool in typing.get_args(t.FilterSpec)
    assert t.DType is np.dtype
    assert t.DTypeLike is jax.typing.DTypeLike
    assert t.FilterTree is not None


def test_scalar_top_level():
    import haliax.types as t

    assert hax.Scalar is t.Scalar


# ------------------------------------------------------------------------------------------------
# re-exports


def test_partitioning_reexports():
    import haliax.partitioning as part
    from haliax.partitioning import fsdp, named_jit, set_mesh

    assert named_jit is hax.named_jit and fsdp is hax.fsdp
    assert "named_jit" in part.__all__ and "fsdp" in part.__all__
    assert part.Mesh is jax.sharding.Mesh
    assert callable(set_mesh)


def test_set_mesh_top_level():
    assert hax.set_mesh is hax.partitioning.set_mesh


def test_named_or_numeric():
    import haliax.core

    assert hax.NamedOrNumeric is haliax.core.NamedOrNumeric
    assert haliax.core.NamedOrNumeric is typing.Any


def test_util_is_jax_array_like():
    import haliax.jax_utils
    import haliax.util

    assert haliax.util.is_jax_array_like is haliax.jax_utils.is_jax_array_like
    assert "is_jax_array_like" in haliax.util.__all__


def test_specialized_fns_top_k():
    import haliax.specialized_fns

    assert haliax.specialized_fns.top_k is hax.top_k


# ------------------------------------------------------------------------------------------------
# private paths kept as aliases


def test_src_util_index_where():
    from haliax._src.util import index_where

    assert index_where(lambda x: x % 2 == 0, [1, 3, 4, 6]) == 2
    assert index_where(lambda x: x % 2 == 0, [1, 3, 4, 6], start=3) == 3
    assert index_where(lambda x: True, (7,)) == 0
    with pytest.raises(ValueError, match="index_where: No element satisfies predicate"):
        index_where(lambda x: x > 10, [1, 2, 3])
    with pytest.raises(ValueError, match="No element satisfies predicate"):
        index_where(lambda x: x == 1, [1, 2, 3], start=1)
    with pytest.raises(ValueError, match="No element satisfies predicate"):
        index_where(lambda x: True, [])


def test_src_state_dict_and_scan_aliases():
    import haliax.nn.scan
    import haliax.state_dict
    from haliax._src.scan import ScanCheckpointSpec
    from haliax._src.state_dict import flatten_modules_for_export, to_state_dict

    assert flatten_modules_for_export is haliax.state_dict.flatten_modules_for_export
    assert to_state_dict is haliax.state_dict.to_state_dict
    assert ScanCheckpointSpec is haliax.nn.scan.ScanCheckpointSpec


def test_get_mesh_private_alias():
    from haliax.partitioning import _get_mesh

    with pytest.warns(DeprecationWarning, match="`_get_mesh` is deprecated"):
        assert _get_mesh() is None
    mesh = jax.make_mesh((8,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with jax.set_mesh(mesh):
            assert _get_mesh() is mesh


def test_mlp_default_width_name():
    import haliax.nn as hnn
    from haliax.nn.mlp import DEFAULT_WIDTH_NAME

    assert DEFAULT_WIDTH_NAME == "mlp"
    In, Out = hax.make_axes(In=3, Out=2)
    mlp = hnn.MLP.init(In, Out, width=5, depth=2, key=jax.random.PRNGKey(0))
    assert mlp.layers[0].Out == hax.Axis(DEFAULT_WIDTH_NAME, 5)
    assert mlp.layers[1].Out == hax.Axis(DEFAULT_WIDTH_NAME + "2", 5)


# ------------------------------------------------------------------------------------------------
# small names and export lists (the lead owns these modules)


def test_check_shape():
    from haliax.core import check_shape

    A = hax.Axis("a", 2)
    assert check_shape((2, 3), (A, "b")) == (A, hax.Axis("b", 3))
    with pytest.raises(ValueError, match="Shape mismatch"):
        check_shape((2, 3), (A,))
    with pytest.raises(ValueError, match="Shape mismatch"):
        check_shape((4, 3), (A, "b"))
    with pytest.raises(ValueError, match="Invalid axis spec"):
        check_shape((2,), (3,))
    import haliax.core

    assert "check_shape" in haliax.core.__all__


def test_haliax_all():
    names = set(hax.__all__)
    for n in ("NamedRef", "new_ref", "freeze", "get", "swap", "set_mesh", "fsdp", "named_jit", "top_k"):
        assert n in names, n
    for n in ("unique", "unique_values", "unique_counts", "unique_inverse", "unique_all", "fft", "polyval"):
        assert n in names, n
    for n in ("debug", "nn", "quantization", "random", "state_dict", "tree_util", "util"):
        assert n in names, n
    for n in ("argsort", "repeat", "tile", "linspace", "to_jax_shape", "axis_spec_to_tuple", "Scalar"):
        assert n not in names, n
        assert hasattr(hax, n), n
    assert "jnp" not in names and "jax" not in names


def test_ops_and_nn_all():
    import haliax.nn as hnn
    import haliax.ops as ops

    expected = (
        "trace where tril triu isclose pad_left pad clip packbits unpackbits unique unique_values unique_counts "
        "unique_inverse unique_all searchsorted bincount"
    ).split()
    assert sorted(ops.__all__) == sorted(expected)
    for n in expected:
        assert hasattr(ops, n), n
    assert "linear" not in hnn.__all__ and "scan" not in hnn.__all__
    assert "Linear" in hnn.__all__ and "MLP" in hnn.__all__
