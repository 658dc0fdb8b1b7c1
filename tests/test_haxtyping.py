"""haliax.haxtyping: NamedArray[...] annotations, dtype-aware annotations, runtime checks."""

# Axis-spec strings inside annotations are not forward references (as with jaxtyping):
# ruff: noqa: F722, F821, UP037

from __future__ import annotations

import typing

import jax
import jax.numpy as jnp
import jaxtyping
import pytest

import haliax as hax
from haliax import haxtyping as ht
from haliax.haxtyping import Float, Int, NamedArrayAxes, bf16, f32, i32, matches, matches_axes, typechecked

B, S, E = hax.make_axes(batch=2, seq=3, embed=4)
X = hax.zeros((B, S, E))


def test_class_getitem_is_annotated():
    ann = hax.NamedArray["batch embed"]
    assert typing.get_origin(ann) is typing.Annotated
    base, meta = typing.get_args(ann)
    assert base is hax.NamedArray
    assert isinstance(meta, NamedArrayAxes) and meta.axes == ("batch", "embed") and meta.ordered


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("batch seq embed", True),
        ("batch, seq, embed", True),
        ("batch embed seq", False),
        ("batch seq", False),
        ("batch ...", True),
        ("... embed", True),
        ("... batch", False),
        ("batch ... embed", True),
        ("seq ...", False),
        ("... seq ...", True),
        ("...", True),
        ("", False),
        ("batch seq embed ...", True),
        (("batch", "seq", "embed"), True),
        (["batch", ..., "embed"], True),
        (("batch", "...", "embed"), True),
        ((B, S, E), True),
        ((B.resize(5), S, E), False),  # Axis entries also check sizes
        ({"embed", "batch", "seq"}, True),
        ({"embed", "batch"}, False),
        ({"embed", "batch", ...}, True),
        ({"embed", "batch", "..."}, True),
        ({"embed", "other", ...}, False),
    ],
)
def test_matches_axes(spec, expected):
    assert matches_axes(X, spec) is expected
    assert X.matches_axes(spec) is expected
    assert matches(X, spec) is expected


def test_zero_d_and_non_named():
    assert matches_axes(hax.named(1.0, ()), "")
    assert not matches_axes(jnp.zeros((2, 3)), "a b")
    assert not matches(jnp.zeros((2, 3)), hax.NamedArray["a b"])


def test_dtype_in_named_array_item():
    assert matches(X, hax.NamedArray["batch seq embed", jnp.float32])
    assert not matches(X, hax.NamedArray["batch seq embed", jnp.int32])
    assert matches(X, hax.NamedArray[f32, "batch", "seq", "embed"])
    assert matches(X, hax.NamedArray[{"seq", "batch", "embed"}, Float])
    with pytest.raises(TypeError, match="at most one dtype"):
        hax.NamedArray["batch", jnp.float32, jnp.int32]


def test_dtype_aware_annotations():
    xi = X.astype(jnp.int32)
    xb = X.astype(jnp.bfloat16)
    assert matches(X, f32[hax.NamedArray, "batch seq embed"])
    assert not matches(xi, f32[hax.NamedArray, "batch seq embed"])
    assert matches(xi, i32[hax.NamedArray, "batch ..."])
    assert matches(xi, Int[hax.NamedArray, "batch ..."])
    assert not matches(X, Int[hax.NamedArray, "batch ..."])
    assert matches(xb, Float[hax.NamedArray, "batch ..."]) and matches(xb, bf16[hax.NamedArray, "..."])
    assert not matches(X, bf16[hax.NamedArray, "..."])
    assert matches(X.astype(jnp.uint8), Int[hax.NamedArray, "..."])
    assert matches(X.astype(jnp.uint8), ht.UInt[hax.NamedArray, "..."])
    assert matches(X > 0, ht.Bool[hax.NamedArray, "batch seq embed"])
    assert matches(X, ht.Shaped[hax.NamedArray, "batch seq embed"])
    assert matches(X, ht.Num[hax.NamedArray]) and not matches(X > 0, ht.Num[hax.NamedArray])
    assert matches(X.astype(jnp.complex64), ht.Complex[hax.NamedArray, "..."])
    assert matches(X, f32["batch seq embed"])  # shorthand
    assert matches(X, f32[hax.NamedArray])  # dtype only
    assert not matches(X, f32[hax.NamedArray, "seq batch embed"])
    # the annotation is an Annotated NamedArray for static checkers and for typing introspection
    ann = f32[hax.NamedArray, "batch embed"]
    assert typing.get_args(ann)[0] is hax.NamedArray
    assert str(typing.get_args(ann)[1]) == "float32[batch embed]"


def test_bare_dtype_category():
    assert matches(X, f32) and matches(jnp.ones(2), f32) and not matches(jnp.ones(2, jnp.int32), f32)
    assert not matches("string", f32)


def test_non_named_first_argument_delegates_to_jaxtyping():
    ann = Float[jax.Array, "b c"]
    assert ann.__name__ == jaxtyping.Float[jax.Array, "b c"].__name__
    assert matches(jnp.ones((2, 3)), ann)
    assert not matches(jnp.ones((2, 3), jnp.int32), ann)
    assert f32[jax.Array, "b"].__name__ == jaxtyping.Float32[jax.Array, "b"].__name__
    assert matches(jnp.ones(2), f32[jax.Array, "b"]) and not matches(jnp.ones(2, jnp.float16), f32[jax.Array, "b"])


def test_matches_unions_plain_types_and_errors():
    assert matches(None, hax.NamedArray["batch"] | None)
    assert matches(None, typing.Optional[hax.NamedArray["batch"]])  # noqa: UP045
    assert matches(X, hax.NamedArray["batch ..."] | None)
    assert not matches(X, hax.NamedArray["seq"] | None)
    assert matches(3, int) and matches(3, typing.Any) and not matches(3, str)
    assert matches([1], list[int])
    with pytest.raises(TypeError, match="matches_axes: expected an axes spec"):
        matches_axes(X, 3)
    with pytest.raises(ValueError, match="appear more than once"):
        hax.NamedArray["batch batch"]
    with pytest.raises(TypeError, match="axis spec entries"):
        hax.NamedArray["batch", 3]


def test_named_alias_and_exports():
    assert ht.Named is hax.NamedArray
    assert hax.Named is hax.NamedArray and hax.NamedArrayAxes is NamedArrayAxes
    assert hax.NamedArrayAxesSpec is ht.NamedArrayAxesSpec
    assert hax.f32 is f32
    assert matches(X, ht.Named["batch seq embed"])
    for name in ht.__all__:
        assert getattr(hax, name) is getattr(ht, name)
    assert "sum" not in ht.__all__ and "matches" not in ht.__all__


def test_parse_and_str():
    spec = NamedArrayAxes.parse("batch ... embed", jnp.float32)
    assert spec.axes == ("batch", Ellipsis, "embed") and spec.dtype is not None
    assert spec.matches(X) and not spec.matches(X.astype(jnp.int32))
    assert str(NamedArrayAxes.parse({"b", "a"})) == "{a b}"


@typechecked
def _normalize(x: f32[hax.NamedArray, "batch ... embed"], scale: float = 1.0) -> hax.NamedArray["batch ..."]:
    return hax.sum(x, "embed") * scale


@typechecked
def _maybe(x: hax.NamedArray["batch"] | None, *rest: hax.NamedArray["seq"], flag: bool = True) -> int:
    return len(rest)


def test_typechecked_decorator():
    assert _normalize(X).axes == (B, S)
    assert _normalize(X, scale=2.0).axes == (B, S)
    with pytest.raises(
        TypeError, match=r"_normalize: argument 'x' should be NamedArray\[float32\[batch \.\.\. embed\]\]"
    ):
        _normalize(X.astype(jnp.int32))
    with pytest.raises(TypeError, match=r"axes \(seq\(3\), batch\(2\), embed\(4\)\)"):
        _normalize(hax.zeros((S, B, E)))
    assert _maybe(None) == 0
    assert _maybe(hax.zeros(B), hax.zeros(S), hax.zeros(S)) == 2
    with pytest.raises(TypeError, match="argument 'rest'"):
        _maybe(None, hax.zeros(B))
    with pytest.raises(TypeError, match="argument 'x'"):
        _maybe(jnp.zeros(2))


def test_typechecked_return_and_jit():
    @typechecked
    def bad(x: hax.NamedArray) -> hax.NamedArray["nothing"]:
        return x

    with pytest.raises(TypeError, match="bad: return value should be"):
        bad(X)
    out = jax.jit(_normalize)(X)  # checks run at trace time
    assert out.axes == (B, S)


def test_bool_complex_wrappers_exported_and_annotated():
    for name in ("bool_", "complex64", "complex128"):
        assert name in ht.__all__
    ann = ht.bool_["batch"]
    assert typing.get_origin(ann) is typing.Annotated
    base, meta = typing.get_args(ann)
    assert base is hax.NamedArray and meta.axes == ("batch",) and meta.dtype == jnp.bool_
    assert ht.bool_[hax.NamedArray, "batch"] == ann


def test_bool_complex_wrappers_match_dtype_exactly():
    b = hax.zeros(B, dtype=jnp.bool_)
    f = hax.zeros(B)
    assert matches_axes(b, ht.bool_["batch"]) and not matches_axes(f, ht.bool_["batch"])
    c64 = hax.zeros(B, dtype=jnp.complex64)
    assert matches_axes(c64, ht.complex64["batch"]) and not matches_axes(c64, ht.complex128["batch"])
    assert matches(c64, ht.Complex[hax.NamedArray, "batch"])
    with jax.enable_x64():
        c128 = hax.zeros(B, dtype=jnp.complex128)
        assert c128.dtype == jnp.complex128
        assert matches_axes(c128, ht.complex128["batch"]) and not matches_axes(c128, ht.complex64["batch"])
        assert matches(c128, ht.Complex[hax.NamedArray, "batch"])


def test_bool_complex_wrappers_delegate_to_matching_jaxtyping_class():
    assert ht.bool_[jax.Array, "b"].__name__ == jaxtyping.Bool[jax.Array, "b"].__name__
    assert ht.complex64[jax.Array, "b"].__name__ == jaxtyping.Complex64[jax.Array, "b"].__name__
    assert ht.complex128[jax.Array, "b"].__name__ == jaxtyping.Complex128[jax.Array, "b"].__name__
    assert isinstance(jnp.zeros(2, dtype=bool), ht.bool_[jax.Array, "b"])
    assert not isinstance(jnp.zeros(2), ht.bool_[jax.Array, "b"])
    assert isinstance(jnp.zeros(2, dtype=jnp.complex64), ht.complex64[jax.Array, "b"])
    assert not isinstance(jnp.zeros(2, dtype=jnp.float32), ht.complex64[jax.Array, "b"])
    # the existing wrappers delegate to their own class too (an int32 array is an i32, not a Float)
    assert isinstance(jnp.zeros(2, dtype=jnp.int32), ht.i32[jnp.ndarray, "b"])
    assert not isinstance(jnp.zeros(2, dtype=jnp.float32), ht.i32[jnp.ndarray, "b"])


def _meta(ann):
    return typing.get_args(ann)[1]


@pytest.mark.parametrize(
    "item,before,after,ordered,subset",
    [
        ("batch embed", ("batch", "embed"), (), True, False),
        (("batch", "embed"), ("batch", "embed"), (), True, False),
        ("batch embed ...", ("batch", "embed"), (), True, True),
        ("... embed", (), ("embed",), True, True),
        ("batch ... embed", ("batch",), ("embed",), True, True),
        (("batch", ..., "embed"), ("batch",), ("embed",), True, True),
        ("", (), (), True, False),
        ({"batch", "embed"}, ("batch", "embed"), (), False, False),
        ({"batch", "embed", ...}, ("batch", "embed"), (), False, True),
    ],
)
def test_named_array_axes_fields(item, before, after, ordered, subset):
    meta = _meta(hax.NamedArray[item])
    assert isinstance(meta, NamedArrayAxes)
    assert meta.after == after and meta.ordered is ordered and meta.subset is subset and meta.dtype is None
    assert (meta.before == before) if ordered else (set(meta.before) == set(before))
    assert hash(meta) == hash(_meta(hax.NamedArray[item]))


def test_named_array_axes_positional_construction_equality_and_identity():
    import dataclasses

    import haliax.core

    assert [f.name for f in dataclasses.fields(NamedArrayAxes)][:5] == ["before", "after", "ordered", "subset", "dtype"]
    spec = NamedArrayAxes(("batch",), ("embed",), True, True, None)
    assert spec == _meta(hax.NamedArray["batch ... embed"])
    assert NamedArrayAxes(("a",)) == NamedArrayAxes(("a",), (), True, False, None)
    assert NamedArrayAxes(("a",)) != NamedArrayAxes(("a",), subset=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.before = ()  # type: ignore[misc]
    assert hax.NamedArray["batch", "embed"] == hax.NamedArray["batch embed"]
    assert haliax.core.NamedArrayAxes is NamedArrayAxes is hax.NamedArrayAxes
    # several ... (an extension): before the first, after the last
    meta = _meta(hax.NamedArray["a ... b ... c"])
    assert (meta.before, meta.after, meta.subset) == (("a",), ("c",), True)
    assert matches_axes(hax.zeros({"a": 1, "x": 1, "b": 1, "c": 1}), meta)
    assert not matches_axes(hax.zeros({"a": 1, "x": 1, "c": 1}), meta)


def test_named_with_named_array_base_equals_named_array_spec():
    assert ht.Named[hax.NamedArray, "batch embed"] == hax.NamedArray["batch embed"]
    assert _meta(ht.Named[hax.NamedArray, "batch embed"]).dtype is None
    x = hax.zeros({"batch": 2, "embed": 3})
    assert x.matches_axes(ht.Named[hax.NamedArray, "batch embed"])


@pytest.mark.parametrize(
    "name,dtype",
    [
        ("f16", jnp.float16),
        ("bf16", jnp.bfloat16),
        ("f32", jnp.float32),
        ("f64", jnp.float64),
        ("i8", jnp.int8),
        ("i16", jnp.int16),
        ("i32", jnp.int32),
        ("i64", jnp.int64),
        ("u8", jnp.uint8),
        ("u16", jnp.uint16),
        ("u32", jnp.uint32),
        ("u64", jnp.uint64),
        ("bool_", jnp.bool_),
        ("complex64", jnp.complex64),
        ("complex128", jnp.complex128),
    ],
)
def test_concrete_dtype_wrappers_store_the_dtype(name, dtype):
    w = getattr(ht, name)
    meta = _meta(w["batch embed"])
    assert meta == NamedArrayAxes(("batch", "embed"), dtype=meta.dtype)
    assert meta.dtype == dtype
    assert w[hax.NamedArray, "batch embed"] == w["batch embed"]
    assert _meta(w["batch"]).before == ("batch",)


def test_category_wrappers_store_a_category_named_like_haliax():
    for w, label in [(Float, "float"), (Int, "int"), (ht.UInt, "uInt"), (ht.Complex, "complex")]:
        assert str(_meta(w["b"]).dtype) == label
        assert str(_meta(w[hax.NamedArray, "b"]).dtype) == label


def test_matches_axes_with_annotations_and_dtypes():
    x = hax.zeros({"batch": 2, "embed": 3}, dtype=jnp.float32)
    for spec in [
        hax.NamedArray["batch", "embed"],
        ht.Named[hax.NamedArray, "batch embed"],
        "batch embed ...",
        {"batch", "embed"},
        {"batch", "embed", ...},
        "... embed",
        "batch ... embed",
        f32["batch ..."],
        Float[hax.NamedArray, "batch ..."],
    ]:
        assert x.matches_axes(spec), spec
    for spec in ["embed batch", {"batch", "foo", ...}, i32["batch embed"], Int["batch embed"]]:
        assert not x.matches_axes(spec), spec


def test_annotations_survive_postponed_evaluation():
    def f(x: f32[hax.NamedArray, "batch embed"]) -> Float["batch ..."]:
        return x

    hints = typing.get_type_hints(f, include_extras=True)
    assert _meta(hints["x"]).dtype == jnp.float32 and str(_meta(hints["return"]).dtype) == "float"


def test_brace_strings_are_unordered_specs():
    # a "{...}" string is the unordered spec (as the set form), not the axis names "{batch" and "embed}"
    x = hax.zeros((B, E))
    assert _meta(hax.NamedArray["{embed batch}"]) == _meta(hax.NamedArray[{"batch", "embed"}])
    assert matches_axes(x, "{embed batch}") and matches_axes(x, "{embed ...}")
    assert not matches_axes(x, "{embed}") and not matches_axes(x, "{embed seq ...}")
    assert matches(x, f32[hax.NamedArray, "{embed batch}"])
    assert str(_meta(hax.NamedArray["{embed batch}"])) == "{batch embed}"  # str round-trips
    with pytest.raises(ValueError, match=r"NamedArray\[\.\.\.\]: braces must enclose the whole spec"):
        hax.NamedArray["batch {embed}"]


@pytest.mark.parametrize("item", [3, (3,), 3.0, None, ["batch"], (3, "b"), jax.Array])
def test_invalid_dtype_annotation_item_names_the_annotation_and_the_accepted_forms(item):
    with pytest.raises(TypeError, match=r"^f32\[.*\]: invalid annotation\. Accepted forms: f32\[NamedArray, ") as e:
        f32[item]
    msg = str(e.value)
    assert "f32['batch embed']" in msg and "'...'" in msg and "f32[jax.Array, 'b c']" in msg
    with pytest.raises(TypeError, match=r"^Float\[3\]: invalid annotation"):
        Float[3]


def test_bad_spec_entry_names_the_dtype_annotation():
    with pytest.raises(
        TypeError, match=r"f32\[\.\.\.\]: axis spec entries must be names, Axis objects or \.\.\., got 3"
    ):
        f32["batch", 3]
    with pytest.raises(ValueError, match=r"i32\[\.\.\.\]: axis names \['b'\] appear more than once"):
        i32["b b"]
