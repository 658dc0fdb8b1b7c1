"""Quantisation config on bad input: conflicting formats, a config of the wrong kind, a bad compute dtype."""

import jax
import jax.numpy as jnp
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.quantization import Fp8DotGeneralOp, QuantizationConfig, quantize_linear_layers

E, D = hax.make_axes(embed=8, d=4)


def test_both_formats_is_value_error_and_assertion_error():
    with pytest.raises(ValueError, match=r"^Cannot use FP8 and INT8 quantization at the same time\.$") as e:
        QuantizationConfig(fp8=True, int8=True)
    assert isinstance(e.value, AssertionError)


@pytest.mark.parametrize("config", [{"fp8": True}, None, "fp8"])
def test_config_of_the_wrong_kind_is_type_error(config):
    lin = hnn.Linear.init(E, D, key=jax.random.PRNGKey(0))
    with pytest.raises(
        TypeError, match=r"^quantize_linear_layers: argument 'config' must be a QuantizationConfig, got \w+"
    ):
        quantize_linear_layers(lin, config)


@pytest.mark.parametrize("dtype", ["flot", jnp.int8, 3])
def test_bad_compute_dtype_names_the_op(dtype):
    with pytest.raises(TypeError, match=r"^Fp8DotGeneralOp\.init: compute_dtype must be None or a floating dtype"):
        Fp8DotGeneralOp.init(8, dtype)
    lin = hnn.Linear.init(E, D, key=jax.random.PRNGKey(0))
    with pytest.raises(TypeError, match=r"^Fp8DotGeneralOp\.init: compute_dtype"):
        quantize_linear_layers(lin, QuantizationConfig(fp8=True, compute_dtype=dtype))


@pytest.mark.parametrize("dtype", [None, jnp.bfloat16, "float32"])
def test_valid_compute_dtypes(dtype):
    assert Fp8DotGeneralOp.init(4, dtype).compute_dtype == dtype
