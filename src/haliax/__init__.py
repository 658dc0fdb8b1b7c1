"""haliax: named tensors for JAX.

This module only re-exports (explicitly, ``X as X``); see the submodules for the implementations. Names that
Haliax keeps out of ``__all__`` (``argsort``, ``repeat``, the ``wrap_*`` helpers, the typing aliases, ...) are
attributes here but not in ``__all__``. The functions ``fft`` and ``poly`` shadow the submodules of the same
name; ``from haliax.fft import rfft`` still works.
"""

from . import axis as axis
from . import debug as debug
from . import haxtyping as haxtyping
from . import jax_utils as jax_utils
from . import nn as nn
from . import ops as ops
from . import partitioning as partitioning
from . import quantization as quantization
from . import random as random
from . import ref as ref
from . import specialized_fns as specialized_fns
from . import state_dict as state_dict
from . import tree as tree
from . import tree_util as tree_util
from . import types as types
from . import util as util
from . import wrap as wrap
from .axis import (
    Axis as Axis,
)
from .axis import (
    AxisSelection as AxisSelection,
)
from .axis import (
    AxisSelector as AxisSelector,
)
from .axis import (
    AxisSpec as AxisSpec,
)
from .axis import (
    PartialAxisSpec as PartialAxisSpec,
)
from .axis import (
    PartialShapeDict as PartialShapeDict,
)
from .axis import (
    ShapeDict as ShapeDict,
)
from .axis import (
    axis_name as axis_name,
)
from .axis import (
    axis_not_found_error as axis_not_found_error,
    conflicting_sizes_error as conflicting_sizes_error,
)
from .axis import (
    axis_size as axis_size,
)
from .axis import (
    axis_spec_to_shape_dict as axis_spec_to_shape_dict,
)
from .axis import (
    axis_spec_to_tuple as axis_spec_to_tuple,
)
from .axis import (
    concat_axes as concat_axes,
)
from .axis import (
    concat_axis_specs as concat_axis_specs,
)
from .axis import (
    eliminate_axes as eliminate_axes,
)
from .axis import (
    intersect_axes as intersect_axes,
)
from .axis import (
    is_axis_compatible as is_axis_compatible,
)
from .axis import (
    make_axes as make_axes,
)
from .axis import (
    rearrange_for_partial_order as rearrange_for_partial_order,
)
from .axis import (
    replace_axis as replace_axis,
)
from .axis import (
    resolve_axis as resolve_axis,
)
from .axis import (
    selects_axis as selects_axis,
)
from .axis import (
    to_jax_shape as to_jax_shape,
)
from .axis import (
    union_axes as union_axes,
)
from .axis import (
    unsize_axes as unsize_axes,
)
from .axis import (
    without_axes as without_axes,
)
from .core import (
    NamedArray as NamedArray,
)
from .core import (
    NamedOrNumeric as NamedOrNumeric,
)
from .core import (
    are_shape_checks_enabled as are_shape_checks_enabled,
)
from .core import (
    check_shape as check_shape,
)
from .core import (
    enable_shape_checks as enable_shape_checks,
)
from .core import (
    flatten_all_axes_but as flatten_all_axes_but,
)
from .core import (
    named as named,
)
from .fft import (
    fft as fft,
)
from .fft import (
    fftfreq as fftfreq,
)
from .fft import (
    fftshift as fftshift,
)
from .fft import (
    hfft as hfft,
)
from .fft import (
    ifft as ifft,
)
from .fft import (
    ifftshift as ifftshift,
)
from .fft import (
    ihfft as ihfft,
)
from .fft import (
    irfft as irfft,
)
from .fft import (
    rfft as rfft,
)
from .fft import (
    rfftfreq as rfftfreq,
)
from .field import (
    field as field,
)
from .haxtyping import (
    Bool as Bool,
)
from .haxtyping import (
    Complex as Complex,
)
from .haxtyping import (
    DTypeCategory as DTypeCategory,
)
from .haxtyping import (
    Float as Float,
)
from .haxtyping import (
    Inexact as Inexact,
)
from .haxtyping import (
    Int as Int,
)
from .haxtyping import (
    Named as Named,
)
from .haxtyping import (
    NamedArrayAxes as NamedArrayAxes,
)
from .haxtyping import (
    NamedArrayAxesSpec as NamedArrayAxesSpec,
)
from .haxtyping import (
    Num as Num,
)
from .haxtyping import (
    Shaped as Shaped,
)
from .haxtyping import (
    UInt as UInt,
)
from .haxtyping import (
    bf16 as bf16,
)
from .haxtyping import (
    bool_ as bool_,
)
from .haxtyping import (
    c64 as c64,
)
from .haxtyping import (
    c128 as c128,
)
from .haxtyping import (
    complex64 as complex64,
)
from .haxtyping import (
    complex128 as complex128,
)
from .haxtyping import (
    f16 as f16,
)
from .haxtyping import (
    f32 as f32,
)
from .haxtyping import (
    f64 as f64,
)
from .haxtyping import (
    i8 as i8,
)
from .haxtyping import (
    i16 as i16,
)
from .haxtyping import (
    i32 as i32,
)
from .haxtyping import (
    i64 as i64,
)
from .haxtyping import (
    u8 as u8,
)
from .haxtyping import (
    u16 as u16,
)
from .haxtyping import (
    u32 as u32,
)
from .haxtyping import (
    u64 as u64,
)
from .hof import (
    ScanCheckpointPolicy as ScanCheckpointPolicy,
)
from .hof import (
    fold as fold,
)
from .hof import (
    map as map,
)
from .hof import (
    scan as scan,
)
from .hof import (
    vmap as vmap,
)
from .jax_utils import (
    tree_checkpoint_name as tree_checkpoint_name,
)
from .ops.bits import (
    packbits as packbits,
)
from .ops.bits import (
    unpackbits as unpackbits,
)
from .ops.broadcast import (
    broadcast_arrays as broadcast_arrays,
)
from .ops.broadcast import (
    broadcast_arrays_and_return_axes as broadcast_arrays_and_return_axes,
)
from .ops.broadcast import (
    broadcast_axis as broadcast_axis,
)
from .ops.broadcast import (
    broadcast_to as broadcast_to,
)
from .ops.counting import (
    bincount as bincount,
)
from .ops.counting import (
    searchsorted as searchsorted,
)
from .ops.counting import (
    unique as unique,
)
from .ops.counting import (
    unique_all as unique_all,
)
from .ops.counting import (
    unique_counts as unique_counts,
)
from .ops.counting import (
    unique_inverse as unique_inverse,
)
from .ops.counting import (
    unique_values as unique_values,
)
from .ops.creation import (
    arange as arange,
)
from .ops.creation import (
    empty_like as empty_like,
)
from .ops.creation import (
    full as full,
)
from .ops.creation import (
    full_like as full_like,
)
from .ops.creation import (
    geomspace as geomspace,
)
from .ops.creation import (
    linspace as linspace,
)
from .ops.creation import (
    logspace as logspace,
)
from .ops.creation import (
    ones as ones,
)
from .ops.creation import (
    ones_like as ones_like,
)
from .ops.creation import (
    zeros as zeros,
)
from .ops.creation import (
    zeros_like as zeros_like,
)
from .ops.dslice import (
    dblock as dblock,
)
from .ops.dslice import (
    ds as ds,
)
from .ops.dslice import (
    dslice as dslice,
)
from .ops.einsum import (
    einsum as einsum,
)
from .ops.elementwise import (
    BINARY_FUNCTIONS as BINARY_FUNCTIONS,
)
from .ops.elementwise import (
    UNARY_FUNCTIONS as UNARY_FUNCTIONS,
)
from .ops.elementwise import (
    ReductionFunction as ReductionFunction,
)
from .ops.elementwise import (
    SimpleReductionFunction as SimpleReductionFunction,
)
from .ops.elementwise import (
    abs as abs,
)
from .ops.elementwise import (
    absolute as absolute,
)
from .ops.elementwise import (
    add as add,
)
from .ops.elementwise import (
    allclose as allclose,
)
from .ops.elementwise import (
    angle as angle,
)
from .ops.elementwise import (
    arccos as arccos,
)
from .ops.elementwise import (
    arccosh as arccosh,
)
from .ops.elementwise import (
    arcsin as arcsin,
)
from .ops.elementwise import (
    arcsinh as arcsinh,
)
from .ops.elementwise import (
    arctan as arctan,
)
from .ops.elementwise import (
    arctan2 as arctan2,
)
from .ops.elementwise import (
    arctanh as arctanh,
)
from .ops.elementwise import (
    around as around,
)
from .ops.elementwise import (
    array_equal as array_equal,
)
from .ops.elementwise import (
    array_equiv as array_equiv,
)
from .ops.elementwise import (
    bitwise_and as bitwise_and,
)
from .ops.elementwise import (
    bitwise_count as bitwise_count,
)
from .ops.elementwise import (
    bitwise_invert as bitwise_invert,
)
from .ops.elementwise import (
    bitwise_left_shift as bitwise_left_shift,
)
from .ops.elementwise import (
    bitwise_not as bitwise_not,
)
from .ops.elementwise import (
    bitwise_or as bitwise_or,
)
from .ops.elementwise import (
    bitwise_right_shift as bitwise_right_shift,
)
from .ops.elementwise import (
    bitwise_xor as bitwise_xor,
)
from .ops.elementwise import (
    cbrt as cbrt,
)
from .ops.elementwise import (
    ceil as ceil,
)
from .ops.elementwise import (
    clip as clip,
)
from .ops.elementwise import (
    conj as conj,
)
from .ops.elementwise import (
    conjugate as conjugate,
)
from .ops.elementwise import (
    copy as copy,
)
from .ops.elementwise import (
    cos as cos,
)
from .ops.elementwise import (
    cosh as cosh,
)
from .ops.elementwise import (
    deg2rad as deg2rad,
)
from .ops.elementwise import (
    degrees as degrees,
)
from .ops.elementwise import (
    divide as divide,
)
from .ops.elementwise import (
    divmod as divmod,
)
from .ops.elementwise import (
    equal as equal,
)
from .ops.elementwise import (
    exp as exp,
)
from .ops.elementwise import (
    exp2 as exp2,
)
from .ops.elementwise import (
    expm1 as expm1,
)
from .ops.elementwise import (
    fabs as fabs,
)
from .ops.elementwise import (
    fix as fix,
)
from .ops.elementwise import (
    float_power as float_power,
)
from .ops.elementwise import (
    floor as floor,
)
from .ops.elementwise import (
    floor_divide as floor_divide,
)
from .ops.elementwise import (
    fmax as fmax,
)
from .ops.elementwise import (
    fmin as fmin,
)
from .ops.elementwise import (
    fmod as fmod,
)
from .ops.elementwise import (
    frexp as frexp,
)
from .ops.elementwise import (
    greater as greater,
)
from .ops.elementwise import (
    greater_equal as greater_equal,
)
from .ops.elementwise import (
    hypot as hypot,
)
from .ops.elementwise import (
    i0 as i0,
)
from .ops.elementwise import (
    imag as imag,
)
from .ops.elementwise import (
    invert as invert,
)
from .ops.elementwise import (
    isclose as isclose,
)
from .ops.elementwise import (
    iscomplex as iscomplex,
)
from .ops.elementwise import (
    isfinite as isfinite,
)
from .ops.elementwise import (
    isinf as isinf,
)
from .ops.elementwise import (
    isnan as isnan,
)
from .ops.elementwise import (
    isneginf as isneginf,
)
from .ops.elementwise import (
    isposinf as isposinf,
)
from .ops.elementwise import (
    isreal as isreal,
)
from .ops.elementwise import (
    left_shift as left_shift,
)
from .ops.elementwise import (
    less as less,
)
from .ops.elementwise import (
    less_equal as less_equal,
)
from .ops.elementwise import (
    log as log,
)
from .ops.elementwise import (
    log1p as log1p,
)
from .ops.elementwise import (
    log2 as log2,
)
from .ops.elementwise import (
    log10 as log10,
)
from .ops.elementwise import (
    logaddexp as logaddexp,
)
from .ops.elementwise import (
    logaddexp2 as logaddexp2,
)
from .ops.elementwise import (
    logical_and as logical_and,
)
from .ops.elementwise import (
    logical_not as logical_not,
)
from .ops.elementwise import (
    logical_or as logical_or,
)
from .ops.elementwise import (
    logical_xor as logical_xor,
)
from .ops.elementwise import (
    maximum as maximum,
)
from .ops.elementwise import (
    minimum as minimum,
)
from .ops.elementwise import (
    mod as mod,
)
from .ops.elementwise import (
    multiply as multiply,
)
from .ops.elementwise import (
    ndim as ndim,
)
from .ops.elementwise import (
    negative as negative,
)
from .ops.elementwise import (
    nextafter as nextafter,
)
from .ops.elementwise import (
    not_equal as not_equal,
)
from .ops.elementwise import (
    positive as positive,
)
from .ops.elementwise import (
    power as power,
)
from .ops.elementwise import (
    rad2deg as rad2deg,
)
from .ops.elementwise import (
    radians as radians,
)
from .ops.elementwise import (
    real as real,
)
from .ops.elementwise import (
    reciprocal as reciprocal,
)
from .ops.elementwise import (
    remainder as remainder,
)
from .ops.elementwise import (
    right_shift as right_shift,
)
from .ops.elementwise import (
    rint as rint,
)
from .ops.elementwise import (
    round as round,
)
from .ops.elementwise import (
    rsqrt as rsqrt,
)
from .ops.elementwise import (
    sign as sign,
)
from .ops.elementwise import (
    signbit as signbit,
)
from .ops.elementwise import (
    sin as sin,
)
from .ops.elementwise import (
    sinc as sinc,
)
from .ops.elementwise import (
    sinh as sinh,
)
from .ops.elementwise import (
    sqrt as sqrt,
)
from .ops.elementwise import (
    square as square,
)
from .ops.elementwise import (
    subtract as subtract,
)
from .ops.elementwise import (
    tan as tan,
)
from .ops.elementwise import (
    tanh as tanh,
)
from .ops.elementwise import (
    true_divide as true_divide,
)
from .ops.elementwise import (
    trunc as trunc,
)
from .ops.elementwise import (
    unwrap_namedarrays as unwrap_namedarrays,
)
from .ops.elementwise import (
    wrap_elemwise_binary as wrap_elemwise_binary,
)
from .ops.elementwise import (
    wrap_elemwise_unary as wrap_elemwise_unary,
)
from .ops.indexing import (
    index as index,
)
from .ops.indexing import (
    nonzero as nonzero,
)
from .ops.indexing import (
    slice as slice,
)
from .ops.indexing import (
    take as take,
)
from .ops.indexing import (
    updated_slice as updated_slice,
)
from .ops.indexing import (
    where as where,
)
from .ops.linalg import (
    contraction_plan as contraction_plan,
)
from .ops.linalg import (
    dot as dot,
)
from .ops.linalg import (
    trace as trace,
)
from .ops.linalg import (
    tril as tril,
)
from .ops.linalg import (
    triu as triu,
)
from .ops.reductions import (
    AXISWISE as AXISWISE,
)
from .ops.reductions import (
    REDUCTIONS as REDUCTIONS,
)
from .ops.reductions import (
    all as all,
)
from .ops.reductions import (
    amax as amax,
)
from .ops.reductions import (
    amin as amin,
)
from .ops.reductions import (
    any as any,
)
from .ops.reductions import (
    argmax as argmax,
)
from .ops.reductions import (
    argmin as argmin,
)
from .ops.reductions import (
    argsort as argsort,
)
from .ops.reductions import (
    cumprod as cumprod,
)
from .ops.reductions import (
    cumsum as cumsum,
)
from .ops.reductions import (
    max as max,
)
from .ops.reductions import (
    mean as mean,
)
from .ops.reductions import (
    min as min,
)
from .ops.reductions import (
    nanargmax as nanargmax,
)
from .ops.reductions import (
    nanargmin as nanargmin,
)
from .ops.reductions import (
    nancumprod as nancumprod,
)
from .ops.reductions import (
    nancumsum as nancumsum,
)
from .ops.reductions import (
    nanmax as nanmax,
)
from .ops.reductions import (
    nanmean as nanmean,
)
from .ops.reductions import (
    nanmin as nanmin,
)
from .ops.reductions import (
    nanprod as nanprod,
)
from .ops.reductions import (
    nanstd as nanstd,
)
from .ops.reductions import (
    nansum as nansum,
)
from .ops.reductions import (
    nanvar as nanvar,
)
from .ops.reductions import (
    prod as prod,
)
from .ops.reductions import (
    product as product,
)
from .ops.reductions import (
    ptp as ptp,
)
from .ops.reductions import (
    sort as sort,
)
from .ops.reductions import (
    std as std,
)
from .ops.reductions import (
    sum as sum,
)
from .ops.reductions import (
    top_k as top_k,
)
from .ops.reductions import (
    var as var,
)
from .ops.reductions import (
    wrap_axiswise_call as wrap_axiswise_call,
)
from .ops.reductions import (
    wrap_reduction_call as wrap_reduction_call,
)
from .ops.shape import (
    concatenate as concatenate,
)
from .ops.shape import (
    flatten as flatten,
)
from .ops.shape import (
    flatten_axes as flatten_axes,
)
from .ops.shape import (
    pad as pad,
)
from .ops.shape import (
    pad_left as pad_left,
)
from .ops.shape import (
    ravel as ravel,
)
from .ops.shape import (
    rearrange as rearrange,
)
from .ops.shape import (
    rename as rename,
)
from .ops.shape import (
    repeat as repeat,
)
from .ops.shape import (
    roll as roll,
)
from .ops.shape import (
    split as split,
)
from .ops.shape import (
    stack as stack,
)
from .ops.shape import (
    tile as tile,
)
from .ops.shape import (
    unbind as unbind,
)
from .ops.shape import (
    unflatten_axis as unflatten_axis,
)
from .partitioning import (
    PhysicalAxisSpec as PhysicalAxisSpec,
)
from .partitioning import (
    ResourceAxis as ResourceAxis,
)
from .partitioning import (
    ResourceMapping as ResourceMapping,
)
from .partitioning import (
    auto_sharded as auto_sharded,
)
from .partitioning import (
    axis_mapping as axis_mapping,
)
from .partitioning import (
    current_thread_local_mapping as current_thread_local_mapping,
)
from .partitioning import (
    fsdp as fsdp,
)
from .partitioning import (
    infer_resource_partitions as infer_resource_partitions,
)
from .partitioning import (
    mesh_context as mesh_context,
)
from .partitioning import (
    named_jit as named_jit,
)
from .partitioning import (
    physical_axis_name as physical_axis_name,
)
from .partitioning import (
    pspec_for as pspec_for,
)
from .partitioning import (
    pspec_for_axis as pspec_for_axis,
)
from .partitioning import (
    round_axis_for_partitioning as round_axis_for_partitioning,
)
from .partitioning import (
    set_mesh as set_mesh,
)
from .partitioning import (
    shard as shard,
)
from .partitioning import (
    shard_with_axis_mapping as shard_with_axis_mapping,
)
from .poly import (
    poly as poly,
)
from .poly import (
    polyadd as polyadd,
)
from .poly import (
    polyder as polyder,
)
from .poly import (
    polydiv as polydiv,
)
from .poly import (
    polyfit as polyfit,
)
from .poly import (
    polyint as polyint,
)
from .poly import (
    polymul as polymul,
)
from .poly import (
    polysub as polysub,
)
from .poly import (
    polyval as polyval,
)
from .poly import (
    roots as roots,
)
from .poly import (
    trim_zeros as trim_zeros,
)
from .poly import (
    vander as vander,
)
from .ref import (
    NamedRef as NamedRef,
)
from .ref import (
    freeze as freeze,
)
from .ref import (
    get as get,
)
from .ref import (
    new_ref as new_ref,
)
from .ref import (
    swap as swap,
)
from .types import Scalar as Scalar
from .util import (
    is_named_array as is_named_array,
)

__all__ = [
    "Axis",
    "AxisSelection",
    "AxisSelector",
    "AxisSpec",
    "NamedArray",
    "NamedRef",
    "PartialAxisSpec",
    "PartialShapeDict",
    "PhysicalAxisSpec",
    "ResourceAxis",
    "ResourceMapping",
    "ScanCheckpointPolicy",
    "ShapeDict",
    "abs",
    "absolute",
    "add",
    "all",
    "allclose",
    "amax",
    "amin",
    "angle",
    "any",
    "arange",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "are_shape_checks_enabled",
    "argmax",
    "argmin",
    "around",
    "array_equal",
    "array_equiv",
    "auto_sharded",
    "axis_mapping",
    "axis_name",
    "axis_not_found_error",
    "conflicting_sizes_error",
    "axis_size",
    "axis_spec_to_shape_dict",
    "bincount",
    "bitwise_and",
    "bitwise_count",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "broadcast_arrays",
    "broadcast_arrays_and_return_axes",
    "broadcast_axis",
    "broadcast_to",
    "cbrt",
    "ceil",
    "check_shape",
    "clip",
    "concat_axes",
    "concat_axis_specs",
    "concatenate",
    "conj",
    "conjugate",
    "contraction_plan",
    "copy",
    "cos",
    "cosh",
    "cumprod",
    "cumsum",
    "current_thread_local_mapping",
    "dblock",
    "deg2rad",
    "degrees",
    "divide",
    "divmod",
    "dot",
    "ds",
    "dslice",
    "einsum",
    "eliminate_axes",
    "empty_like",
    "enable_shape_checks",
    "equal",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "fft",
    "fftfreq",
    "fftshift",
    "field",
    "fix",
    "flatten",
    "flatten_all_axes_but",
    "flatten_axes",
    "float_power",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "fold",
    "freeze",
    "frexp",
    "fsdp",
    "full",
    "full_like",
    "get",
    "greater",
    "greater_equal",
    "hfft",
    "hypot",
    "i0",
    "ifft",
    "ifftshift",
    "ihfft",
    "imag",
    "index",
    "infer_resource_partitions",
    "intersect_axes",
    "irfft",
    "is_axis_compatible",
    "is_named_array",
    "isclose",
    "iscomplex",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "isreal",
    "left_shift",
    "less",
    "less_equal",
    "log",
    "log10",
    "log1p",
    "log2",
    "logaddexp",
    "logaddexp2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "make_axes",
    "map",
    "max",
    "maximum",
    "mean",
    "mesh_context",
    "min",
    "minimum",
    "mod",
    "multiply",
    "named",
    "named_jit",
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "nanmax",
    "nanmean",
    "nanmin",
    "nanprod",
    "nanstd",
    "nansum",
    "nanvar",
    "ndim",
    "negative",
    "new_ref",
    "nextafter",
    "nonzero",
    "not_equal",
    "ones",
    "ones_like",
    "packbits",
    "pad",
    "pad_left",
    "physical_axis_name",
    "poly",
    "polyadd",
    "polyder",
    "polydiv",
    "polyfit",
    "polyint",
    "polymul",
    "polysub",
    "polyval",
    "positive",
    "power",
    "prod",
    "product",
    "pspec_for",
    "pspec_for_axis",
    "ptp",
    "rad2deg",
    "radians",
    "ravel",
    "real",
    "rearrange",
    "rearrange_for_partial_order",
    "reciprocal",
    "remainder",
    "rename",
    "replace_axis",
    "resolve_axis",
    "rfft",
    "rfftfreq",
    "right_shift",
    "rint",
    "roll",
    "roots",
    "round",
    "round_axis_for_partitioning",
    "rsqrt",
    "scan",
    "searchsorted",
    "selects_axis",
    "set_mesh",
    "shard",
    "shard_with_axis_mapping",
    "sign",
    "signbit",
    "sin",
    "sinc",
    "sinh",
    "slice",
    "sort",
    "split",
    "sqrt",
    "square",
    "stack",
    "std",
    "subtract",
    "sum",
    "swap",
    "take",
    "tan",
    "tanh",
    "top_k",
    "trace",
    "tree_checkpoint_name",
    "tril",
    "trim_zeros",
    "triu",
    "true_divide",
    "trunc",
    "unbind",
    "unflatten_axis",
    "union_axes",
    "unique",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
    "unpackbits",
    "unsize_axes",
    "updated_slice",
    "vander",
    "var",
    "vmap",
    "where",
    "without_axes",
    "zeros",
    "zeros_like",
    "debug",
    "nn",
    "quantization",
    "random",
    "state_dict",
    "tree_util",
    "util",
]
