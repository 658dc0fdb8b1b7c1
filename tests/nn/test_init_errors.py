"""Layer ``init`` methods given bad axes or keys: errors that name the method, the roles and the axis."""

import jax
import pytest

import haliax as hax
import haliax.nn as hnn

KEY = jax.random.PRNGKey(0)
A, B, V = hax.make_axes(A=3, B=4, V=5)
Zero = hax.Axis("In", 0)


# --------------------------------------------------------------------------------------------------
# Linear


def test_linear_same_axis_names_roles():
    with pytest.raises(ValueError, match=r"Linear\.init: Axis A specified twice: as In \(A\(3\)\) and as Out") as e:
        hnn.Linear.init(A, A, key=KEY)
    assert "Out=hax.Axis('A_out', 3)" in str(e.value)


def test_linear_overlapping_specs():
    with pytest.raises(
        ValueError, match=r"Linear\.init: AxisSpecs overlap! \['B'\] appear in both: as In \(A\(3\), B\(4\)\)"
    ):
        hnn.Linear.init((A, B), B, key=KEY)


def test_linear_axis_twice_within_in():
    with pytest.raises(
        ValueError, match=r"Linear\.init: argument 'In' names axis A more than once: \(A\(3\), A\(3\)\)"
    ):
        hnn.Linear.init((A, A), B, key=KEY)


def test_linear_size_zero_in_is_value_error():
    with pytest.raises(ValueError, match=r"Linear\.init: argument 'In' has total size 0 \(In\(0\)\)"):
        hnn.Linear.init(Zero, B, key=KEY)
    with pytest.raises(ValueError, match="argument 'In' has total size 0"):
        hnn.Linear.init((A, Zero), B, key=KEY)


def test_linear_size_zero_out_is_fine():
    lin = hnn.Linear.init(B, Zero, key=KEY)
    assert lin.weight.axes == (Zero, B)


@pytest.mark.parametrize("key", [None, 0, 1.5])
def test_linear_bad_key(key):
    with pytest.raises(TypeError, match=r"Linear\.init: key= must be a PRNG key"):
        hnn.Linear.init(A, B, key=key)


@pytest.mark.parametrize("spec", [3, "A", (A, "B")])
def test_linear_in_not_an_axis_spec(spec):
    with pytest.raises(
        TypeError, match=r"Linear\.init: argument 'In' must be an Axis, a tuple of Axis or a shape dict"
    ):
        hnn.Linear.init(spec, B, key=KEY)


def test_moe_linear_roles():
    with pytest.raises(ValueError, match=r"MoELinear\.init: Axis B specified twice: as In .* and as Out"):
        hnn.MoELinear.init(A, B, B, key=KEY)
    with pytest.raises(ValueError, match=r"MoELinear\.init: Axis A specified twice: as Experts .* and as In"):
        hnn.MoELinear.init(A, A, B, key=KEY)
    with pytest.raises(ValueError, match=r"MoELinear\.init: argument 'In' has total size 0"):
        hnn.MoELinear.init(A, Zero, B, key=KEY)
    with pytest.raises(TypeError, match=r"MoELinear\.init: key="):
        hnn.MoELinear.init(A, B, V, key=None)


# --------------------------------------------------------------------------------------------------
# Embedding


def test_embedding_same_axis_names_roles():
    with pytest.raises(ValueError, match=r"Embedding\.init: Axis V specified twice: as Vocab \(V\(5\)\) and as Embed"):
        hnn.Embedding.init(V, V, key=KEY)


def test_embedding_overlapping_embed():
    with pytest.raises(
        ValueError, match=r"Embedding\.init: AxisSpecs overlap! \['V'\].*as Vocab .* as Embed \(A\(3\), V\(5\)\)"
    ):
        hnn.Embedding.init(V, (A, V), key=KEY)


def test_embedding_size_zero_embed():
    with pytest.raises(ValueError, match=r"Embedding\.init: argument 'Embed' has total size 0"):
        hnn.Embedding.init(V, Zero, key=KEY)


def test_embedding_bad_key():
    with pytest.raises(TypeError, match=r"Embedding\.init: key= must be a PRNG key, got None"):
        hnn.Embedding.init(V, A, key=None)


# --------------------------------------------------------------------------------------------------
# MLP


def test_mlp_input_equals_width():
    with pytest.raises(ValueError, match=r"MLP\.init: Axis A specified twice: as Input \(A\(3\)\) and as width"):
        hnn.MLP.init(A, B, A, 2, key=KEY)


def test_mlp_width_equals_output_at_depth_one():
    with pytest.raises(ValueError, match=r"MLP\.init: Axis B specified twice: as width \(B\(4\)\) and as Output") as e:
        hnn.MLP.init(A, B, B, 1, key=KEY)
    assert "Output=hax.Axis('B_output', 4)" in str(e.value)


def test_mlp_second_hidden_name_equals_output():
    with pytest.raises(ValueError, match=r"MLP\.init: Axis mlp2 specified twice: as the last hidden axis mlp2"):
        hnn.MLP.init(A, hax.Axis("mlp2", 4), 4, 2, key=KEY)


def test_mlp_depth_zero_input_equals_output():
    with pytest.raises(ValueError, match=r"MLP\.init: Axis A specified twice: as Input \(A\(3\)\) and as Output"):
        hnn.MLP.init(A, A, 4, 0, key=KEY)


def test_mlp_same_input_and_output_with_hidden_layers_is_fine():
    mlp = hnn.MLP.init(A, A, B, 2, key=KEY)
    assert mlp(hax.ones(A)).axes == (A,)


@pytest.mark.parametrize("width", [0, -2])
def test_mlp_width_not_positive(width):
    with pytest.raises(ValueError, match=rf"MLP\.init: argument 'width' must be positive, got {width}"):
        hnn.MLP.init(A, B, width, 1, key=KEY)


@pytest.mark.parametrize("width", [2.0, "mlp", True])
def test_mlp_width_wrong_type(width):
    with pytest.raises(TypeError, match=r"MLP\.init: argument 'width' must be an int or an Axis"):
        hnn.MLP.init(A, B, width, 1, key=KEY)


def test_mlp_depth_wrong_type_and_bad_key():
    with pytest.raises(TypeError, match=r"MLP\.init: argument 'depth' must be an int, got 1\.0"):
        hnn.MLP.init(A, B, 4, 1.0, key=KEY)
    with pytest.raises(TypeError, match=r"MLP\.init: key= must be a PRNG key"):
        hnn.MLP.init(A, B, 4, 1, key=None)


def test_mlp_size_zero_input():
    with pytest.raises(ValueError, match=r"MLP\.init: argument 'Input' has total size 0"):
        hnn.MLP.init(Zero, B, 4, 1, key=KEY)
