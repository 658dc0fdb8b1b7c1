"""Strict loading (one error naming every bad key; strict=False returns a LoadReport), atomic safetensors saves,
and clear errors for corrupt or truncated files."""

import json
import os
import struct

import equinox as eqx
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import safetensors.numpy

import haliax as hax
import haliax._safetensors_io as sd_io
import haliax._state_dict_walk as sd_walk
import haliax.nn as hnn
import haliax.state_dict as hsd
from haliax.state_dict import (
    LoadReport,
    ModuleWithStateDictSerialization,
    StateDictFileError,
    StateDictMismatchError,
    from_state_dict,
    from_torch_compatible_state_dict,
    load_state_dict,
    save_state_dict,
    to_state_dict,
    to_torch_compatible_state_dict,
)

D, E, O, L = hax.make_axes(D=4, E=3, O=5, L=2)
KEY = jax.random.PRNGKey(0)


class Net(eqx.Module):
    fc: hnn.Linear
    ln: hnn.LayerNorm
    head: hnn.Linear


def _net(seed=0):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return Net(hnn.Linear.init(D, O, key=k1), hnn.LayerNorm.init(O), hnn.Linear.init(O, E, key=k2, use_bias=False))


@pytest.fixture(scope="module")
def net():
    return _net()


def _np(sd):
    return {k: np.asarray(v) for k, v in sd.items()}


# --------------------------------------------------------------------------------------------------
# strict loading


def test_strict_error_lists_every_problem(net):
    sd = _np(to_state_dict(net))
    del sd["fc.bias"], sd["ln.weight"]  # missing
    sd["fc.weigth"] = sd.pop("fc.weight")  # missing + unexpected (typo)
    sd["extra.thing"] = np.ones(2, np.float32)  # unexpected
    sd["ln.bias"] = np.ones(7, np.float32)  # wrong shape
    sd["head.weight"] = sd["head.weight"].astype(ml_dtypes.bfloat16)  # wrong dtype
    with pytest.raises(StateDictMismatchError) as info:
        from_state_dict(_net(1), sd)
    err = info.value
    assert isinstance(err, KeyError) and isinstance(err, ValueError)
    msg = str(err)
    for key in ["fc.bias", "ln.weight", "fc.weight", "fc.weigth", "extra.thing", "ln.bias", "head.weight"]:
        assert repr(key) in msg
    assert "expected shape (5, 4) float32; closest unexpected key: 'fc.weigth'" in msg
    assert "'ln.bias': the state dict has shape (7,) float32, expected shape (5,) float32" in msg
    assert "'head.weight': the state dict has shape (3, 5) bfloat16, expected shape (3, 5) float32" in msg
    assert "strict=False" in msg
    r = err.report
    assert set(r.missing) == {"fc.bias", "ln.weight", "fc.weight"}
    assert set(r.unexpected) == {"fc.weigth", "extra.thing"}
    assert {m.key for m in r.mismatched} == {"ln.bias", "head.weight"}
    assert not r.ok


def test_lenient_load_returns_report_and_keeps_template_values(net):
    template = _net(1)
    sd = _np(to_state_dict(net))
    del sd["fc.bias"]
    sd["surplus"] = np.zeros(1)
    sd["ln.bias"] = np.ones(7, np.float32)
    sd["head.weight"] = sd["head.weight"].astype(ml_dtypes.bfloat16)
    loaded, report = from_state_dict(template, sd, strict=False)
    assert isinstance(report, LoadReport)
    assert report.missing == ("fc.bias",) and report.unexpected == ("surplus",)
    assert [(m.key, m.shape, m.expected_shape) for m in report.mismatched] == [
        ("ln.bias", (7,), (5,)),
        ("head.weight", (3, 5), (3, 5)),
    ]
    assert eqx.tree_equal(loaded.fc.weight, net.fc.weight)  # matching keys load
    assert eqx.tree_equal(loaded.fc.bias, template.fc.bias)  # missing: template value
    assert eqx.tree_equal(loaded.ln.bias, template.ln.bias)  # wrong shape: template value
    assert loaded.head.weight.dtype == jnp.float32  # dtype-only mismatch: cast, like torch
    np.testing.assert_array_equal(loaded.head.weight.array, sd["head.weight"].astype(np.float32))
    _, clean = from_state_dict(template, to_state_dict(net), strict=False)
    assert clean.ok and clean == LoadReport()


def test_module_methods_are_strict_too(net):
    sd = _np(to_state_dict(net.fc, "fc"))
    sd["fc.extra"] = np.ones(1)
    with pytest.raises(StateDictMismatchError, match="(?s)Linear.from_state_dict: .*'fc.extra'"):
        net.fc.from_state_dict(sd, "fc")
    loaded, report = net.fc.from_state_dict(sd, "fc", strict=False)
    assert report.unexpected == ("fc.extra",) and eqx.tree_equal(loaded, net.fc)
    stacked = hnn.Stacked.init(L, hnn.Linear)(D, O, key=jax.random.split(KEY, L.size))
    with pytest.raises(StateDictMismatchError, match="'h.1.bias'"):
        stacked.from_state_dict({k: v for k, v in to_state_dict(stacked, "h").items() if k != "h.1.bias"}, "h")
    ln = hnn.LayerNorm.init(O)  # inherits the base method
    with pytest.raises(StateDictMismatchError, match="'weight'"):
        ln.from_state_dict({"bias": np.zeros(5, np.float32)})


def test_prefix_scopes_unexpected_keys(net):
    full = _np(to_state_dict(net))
    full["ln.unused"] = np.ones(1)
    assert eqx.tree_equal(from_state_dict(_net(1).fc, full, "fc"), net.fc)  # other modules' keys are fine
    with pytest.raises(StateDictMismatchError, match="'ln.unused'"):
        from_state_dict(hnn.LayerNorm.init(O), full, "ln")


def test_none_fields_ignore_their_keys_even_when_strict():
    lin = hnn.Linear.init(D, O, key=KEY, use_bias=False)
    sd = {"weight": np.ones((5, 4), np.float32), "bias": np.ones(5, np.float32)}
    assert from_state_dict(lin, sd).bias is None  # stays None, as in Haliax
    _, report = from_state_dict(lin, sd, strict=False)
    assert report.ok and report.ignored == ("bias",)


def test_dtype_check_follows_jax_canonicalisation():
    ln = hnn.LayerNorm.init(O)
    sd = {"weight": np.ones(5), "bias": np.zeros(5)}  # float64: becomes float32 on device (x64 off)
    assert from_state_dict(ln, sd).weight.dtype == jnp.float32
    with pytest.raises(StateDictMismatchError, match="int32"):
        from_state_dict(ln, {"weight": np.ones(5, np.int32), "bias": np.zeros(5, np.float32)})


def test_non_array_leaves_are_optional():
    drop = hnn.Dropout(0.1, inference=False)
    assert from_state_dict(drop, {}) == drop
    assert from_state_dict(drop, {"inference": True}).inference is True


def test_nested_loads_inside_custom_modules_do_not_check():
    class Pair(ModuleWithStateDictSerialization):
        a: hnn.Linear
        b: hnn.Linear

        def from_state_dict(self, state_dict, prefix=None):
            """Custom loader: children loaded one at a time."""
            a = from_state_dict(self.a, state_dict, hsd.with_prefix(prefix, "a"))
            b = self.b.from_state_dict(state_dict, hsd.with_prefix(prefix, "b"))
            return Pair(a, b)

    p = Pair(hnn.Linear.init(D, O, key=KEY), hnn.Linear.init(O, E, key=KEY))
    sd = _np(to_state_dict(p, "p"))
    assert eqx.tree_equal(p.from_state_dict(sd, "p"), p)
    assert Pair.from_state_dict.__doc__ == "Custom loader: children loaded one at a time."
    sd["p.c.weight"] = np.ones(1)
    with pytest.raises(StateDictMismatchError, match="Pair.from_state_dict"):
        p.from_state_dict(sd, "p")
    back, report = from_state_dict(p, sd, "p", strict=False)
    assert report.unexpected == ("p.c.weight",) and eqx.tree_equal(back, p)


def test_torch_compatible_strict_reports_flat_shapes():
    lin = hnn.Linear.init((D, E), O, key=KEY)
    sd = to_torch_compatible_state_dict(lin)
    sd["weight"] = sd["weight"][:, :5]
    with pytest.raises(StateDictMismatchError, match=r"expected shape \(5, 12\)"):
        from_torch_compatible_state_dict(lin, sd)
    back, report = from_torch_compatible_state_dict(lin, sd, strict=False)
    assert back.weight.axes == lin.weight.axes and [m.key for m in report.mismatched] == ["weight"]


# --------------------------------------------------------------------------------------------------
# files: bit exactness, metadata, process 0


def test_bit_exact_special_values(tmp_path):
    bf16 = np.arange(2**16, dtype=np.uint16).view(ml_dtypes.bfloat16)  # every bf16 bit pattern, NaNs included
    f32 = np.random.default_rng(0).integers(0, 2**32, 4096, dtype=np.uint32).view(np.float32)
    i32 = np.array([np.iinfo(np.int32).min, -1, 0, np.iinfo(np.int32).max], np.int32)
    path = str(tmp_path / "x.safetensors")
    save_state_dict({"bf16": jnp.asarray(bf16), "f32": f32, "i32": i32, "scalar": np.float32(2.5)}, path)
    back = load_state_dict(path)
    np.testing.assert_array_equal(back["bf16"].view(np.uint16), bf16.view(np.uint16))
    np.testing.assert_array_equal(back["f32"].view(np.uint32), f32.view(np.uint32))
    np.testing.assert_array_equal(back["i32"], i32)
    assert back["bf16"].dtype == ml_dtypes.bfloat16 and back["scalar"].shape == ()
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    t = load_file(path)  # torch reads the same bits
    assert t["bf16"].dtype == torch.bfloat16
    np.testing.assert_array_equal(t["bf16"].view(torch.int16).numpy().view(np.uint16), bf16.view(np.uint16))
    save_file({"w": torch.arange(4, dtype=torch.bfloat16)}, str(tmp_path / "t.safetensors"))  # and we read torch's
    assert load_state_dict(str(tmp_path / "t.safetensors"))["w"].astype(np.float32).tolist() == [0, 1, 2, 3]


def test_metadata(tmp_path):
    path = str(tmp_path / "m.safetensors")
    save_state_dict({"w": np.ones(2)}, path, metadata={"step": "10"})
    with safetensors.safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    assert set(json.loads(meta.pop("haliax.crc32"))) == {"w"}
    assert meta == {"format": "pt", "step": "10"}


def test_only_process_zero_writes_then_barrier(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(hsd, "sync_global_devices", calls.append)
    monkeypatch.setattr(jax, "process_index", lambda: 1)
    path = tmp_path / "p.safetensors"
    save_state_dict({"w": np.ones(2)}, str(path))
    assert not path.exists() and calls == ["save_state_dict"]


# --------------------------------------------------------------------------------------------------
# atomic saves


def _partial_writer(real):
    def writer(arrays, tmp, metadata):
        real(arrays, tmp, metadata)
        data = open(tmp, "rb").read()
        with open(tmp, "wb") as f:  # the file now holds only the first part, as if the process died mid-write
            f.write(data[: len(data) // 2])
        raise OSError("disk on fire")

    return writer


def test_interrupted_save_keeps_previous_checkpoint(tmp_path, monkeypatch, net):
    path = str(tmp_path / "ckpt.safetensors")
    save_state_dict(to_torch_compatible_state_dict(net), path)
    other = _net(7)
    monkeypatch.setattr(sd_io, "_write_safetensors", _partial_writer(sd_io._write_safetensors))
    with pytest.raises(OSError, match="disk on fire"):
        save_state_dict(to_torch_compatible_state_dict(other), path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temp file left behind
    assert eqx.tree_equal(load_state_dict(path, _net(3)), net)  # the old checkpoint, complete


def test_interrupted_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(sd_io, "_write_safetensors", _partial_writer(sd_io._write_safetensors))
    with pytest.raises(OSError):
        save_state_dict({"w": np.ones(3)}, str(tmp_path / "new.safetensors"))
    assert os.listdir(tmp_path) == []


def test_save_writes_temp_beside_target_fsyncs_then_renames(tmp_path, monkeypatch):
    events = []
    real_write, real_fsync, real_replace = sd_io._write_safetensors, os.fsync, os.replace

    def write(arrays, tmp, metadata):
        events.append(("write", os.path.dirname(tmp), os.path.basename(tmp)))
        real_write(arrays, tmp, metadata)

    monkeypatch.setattr(sd_io, "_write_safetensors", write)
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync",)), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", a, b)), real_replace(a, b))[1])
    path = str(tmp_path / "w.safetensors")
    save_state_dict({"w": np.ones(3)}, path)
    kinds = [e[0] for e in events]
    assert kinds[:3] == ["write", "fsync", "replace"]  # then the folder's fsync
    assert events[0][1] == str(tmp_path) and events[0][2].startswith(".w.safetensors.")
    assert events[2][2] == path and os.stat(path).st_mode & 0o777 == 0o666 & ~_umask()


# --------------------------------------------------------------------------------------------------
# corrupt files


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _file_bytes(tmp_path):
    path = str(tmp_path / "good.safetensors")
    save_state_dict({"a": np.arange(100, dtype=np.float32), "b": np.ones((3, 4), np.int32)}, path)
    return open(path, "rb").read()


def _rewrite_header(data, edit):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda d: b"", id="empty"),
        pytest.param(lambda d: d[:6], id="cut-in-length"),
        pytest.param(lambda d: d[:40], id="cut-in-header"),
        pytest.param(lambda d: d[:-7], id="cut-in-data"),
        pytest.param(lambda d: b"\x00" * 8 + d[8:], id="zero-length"),
        pytest.param(lambda d: struct.pack("<Q", 2**40) + d[8:], id="huge-header"),
        pytest.param(lambda d: d[:8] + b"#" + d[9:], id="bad-json"),
        pytest.param(lambda d: os.urandom(300), id="garbage"),
        pytest.param(lambda d: _rewrite_header(d, lambda h: h["a"].update(data_offsets=[0, 10**9])), id="offsets"),
        pytest.param(lambda d: _rewrite_header(d, lambda h: h["a"].update(shape=[99])), id="shape"),
        pytest.param(lambda d: _rewrite_header(d, lambda h: h["a"].update(dtype="Q7")), id="dtype"),
    ],
)
def test_corrupt_file_gives_clear_error(tmp_path, corrupt):
    path = str(tmp_path / "bad.safetensors")
    with open(path, "wb") as f:
        f.write(corrupt(_file_bytes(tmp_path)))
    with pytest.raises(StateDictFileError, match="is not a valid safetensors file") as info:
        load_state_dict(path)
    assert path in str(info.value)
    template = {"a": hax.zeros(hax.Axis("A", 100)), "b": jnp.zeros((3, 4), jnp.int32)}
    with pytest.raises(StateDictFileError):  # never a partial module
        load_state_dict(path, template)


def test_missing_file_and_strict_file_load(tmp_path, net):
    with pytest.raises(FileNotFoundError):
        load_state_dict(str(tmp_path / "nope.safetensors"))
    path = str(tmp_path / "n.safetensors")
    save_state_dict(to_torch_compatible_state_dict(net.fc), path)
    with pytest.raises(StateDictMismatchError, match="'weight'"):
        load_state_dict(path, hnn.Linear.init(E, O, key=KEY))
    loaded, report = load_state_dict(path, hnn.Linear.init(E, O, key=KEY), strict=False)
    assert [m.key for m in report.mismatched] == ["weight"] and loaded.weight.shape == {"O": 5, "E": 3}


def test_private_module_doctests():
    """tests/test_doctests.py skips private modules; the public functions defined in _state_dict_walk (and
    re-exported by haliax.state_dict) have examples."""
    import doctest

    result = doctest.testmod(sd_walk, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
