"""State dicts given bad input: checksums catch corrupt payloads; bad arguments raise TypeError/ValueError naming
the function, the argument and the key or path (never KeyError, AttributeError or a temporary file's name)."""

import json
import os
import struct

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import safetensors
import safetensors.numpy

import haliax as hax
import haliax.nn as hnn
from haliax.state_dict import (
    StateDictFileError,
    from_state_dict,
    from_torch_compatible_state_dict,
    load_state_dict,
    save_state_dict,
    to_torch_compatible_state_dict,
)
from haliax.state_dict_errors import StateDictPathError

D = hax.Axis("D", 3)


def _tensor_span(path: str, name: str) -> tuple[int, int]:
    """Absolute byte range of tensor ``name``'s payload in a safetensors file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    start, stop = header[name]["data_offsets"]
    return 8 + n + start, 8 + n + stop


def _flip_byte(path: str, pos: int) -> None:
    with open(path, "r+b") as f:
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x01]))


# --------------------------------------------------------------------------------------------------
# checksums


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.int8, jnp.bool_])
def test_flipped_byte_in_a_payload_is_caught(tmp_path, dtype):
    path = str(tmp_path / "m.safetensors")
    save_state_dict({"a": jnp.ones(4, dtype), "b": jnp.zeros((2, 3), dtype)}, path)
    start, stop = _tensor_span(path, "b")
    _flip_byte(path, (start + stop) // 2)
    with pytest.raises(StateDictFileError, match=r"load_state_dict: .*m\.safetensors'.*tensor 'b' fails its checksum"):
        load_state_dict(path)


def test_flipped_byte_caught_when_loading_into_a_template(tmp_path):
    path = str(tmp_path / "m.safetensors")
    save_state_dict({"w": jnp.arange(3.0)}, path)
    _flip_byte(path, _tensor_span(path, "w")[0])
    with pytest.raises(ValueError, match="tensor 'w' fails its checksum.*corrupt"):
        load_state_dict(path, {"w": hax.zeros(D)})


def test_checksums_recorded_per_tensor(tmp_path):
    path = str(tmp_path / "m.safetensors")
    save_state_dict({"w": jnp.arange(3.0), "s": jnp.float32(2), "e": jnp.zeros((0, 2))}, path, metadata={"k": "v"})
    with safetensors.safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    assert set(json.loads(meta["haliax.crc32"])) == {"w", "s", "e"}
    assert meta["k"] == "v"
    out = load_state_dict(path)
    assert out["s"].shape == () and out["e"].shape == (0, 2)


def test_file_without_checksums_still_loads(tmp_path):
    path = str(tmp_path / "other.safetensors")
    safetensors.numpy.save_file({"w": np.arange(3, dtype=np.float32)}, path, metadata={"format": "pt"})
    np.testing.assert_array_equal(load_state_dict(path)["w"], np.arange(3))


def test_unreadable_checksum_entry(tmp_path):
    path = str(tmp_path / "m.safetensors")
    safetensors.numpy.save_file({"w": np.ones(2, np.float32)}, path, metadata={"haliax.crc32": "{not json"})
    with pytest.raises(StateDictFileError, match="checksum entry 'haliax.crc32'.*not readable"):
        load_state_dict(path)


def test_checksum_of_a_missing_tensor(tmp_path):
    path = str(tmp_path / "m.safetensors")
    entry = json.dumps({"w": "00000000", "gone": "00000000"})
    safetensors.numpy.save_file({"w": np.zeros(0, np.float32)}, path, metadata={"haliax.crc32": entry})
    with pytest.raises(StateDictFileError, match="tensor 'gone' has a checksum but is missing"):
        load_state_dict(path)


# --------------------------------------------------------------------------------------------------
# from_state_dict with something that is not a dict


@pytest.mark.parametrize("bad", [[1, 2], None, 3, jnp.ones(3)])
def test_from_state_dict_non_dict_is_type_error(bad):
    with pytest.raises(TypeError, match=r"from_state_dict: argument 'state_dict' must be a dict.*got"):
        from_state_dict({"w": hax.zeros(D)}, bad)


def test_from_state_dict_swapped_arguments_hint():
    lin = hnn.Linear.init(D, hax.Axis("O", 2), key=jax.random.PRNGKey(0))
    with pytest.raises(TypeError, match="got Linear.*arguments look swapped"):
        from_state_dict(to_torch_compatible_state_dict(lin), lin)


def test_from_state_dict_non_string_key():
    with pytest.raises(TypeError, match=r"from_state_dict: argument 'state_dict': key 0 is a int.*must be str"):
        from_state_dict({"w": hax.zeros(D)}, {0: jnp.ones(3)})


def test_module_from_state_dict_method_non_dict():
    lin = hnn.Linear.init(D, hax.Axis("O", 2), key=jax.random.PRNGKey(0))
    with pytest.raises(TypeError, match=r"Linear\.from_state_dict: argument 'state_dict' must be a dict"):
        lin.from_state_dict([lin.weight.array])


def test_from_torch_compatible_non_dict():
    with pytest.raises(TypeError, match="from_torch_compatible_state_dict: argument 'state_dict'.*got NoneType"):
        from_torch_compatible_state_dict({"w": hax.zeros(D)}, None)


# --------------------------------------------------------------------------------------------------
# paths


def test_load_directory_is_value_error_naming_the_path(tmp_path):
    save_state_dict({"w": jnp.ones(2)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(
        StateDictPathError, match=r"load_state_dict: argument 'path': .* is a directory.*'model\.safetensors'"
    ) as e:
        load_state_dict(str(tmp_path))
    assert isinstance(e.value, ValueError) and isinstance(e.value, OSError)
    assert str(tmp_path) in str(e.value) and e.value.filename == str(tmp_path)


def test_load_missing_file_stays_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_state_dict(str(tmp_path / "nope.safetensors"))


def test_save_into_missing_folder_names_the_given_path(tmp_path):
    path = str(tmp_path / "missing" / "m.safetensors")
    with pytest.raises(
        StateDictPathError, match="save_state_dict: argument 'path': cannot write .*folder .* does not exist"
    ) as e:
        save_state_dict({"w": jnp.ones(2)}, path)
    assert repr(path) in str(e.value) and ".tmp" not in str(e.value)
    assert isinstance(e.value, ValueError) and isinstance(e.value, OSError) and e.value.filename == path


def test_save_onto_a_directory(tmp_path):
    with pytest.raises(ValueError, match=r"save_state_dict: argument 'path': .* is a directory; give a file path"):
        save_state_dict({"w": jnp.ones(2)}, str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_save_unwritable_folder_names_the_given_path(tmp_path, monkeypatch):
    import haliax._safetensors_io as sd_io

    def fail(*a, **k):
        raise PermissionError(13, "Permission denied", "/somewhere/.m.safetensors.abc.tmp")

    monkeypatch.setattr(sd_io, "_write_safetensors", fail)
    path = str(tmp_path / "m.safetensors")
    with pytest.raises(StateDictPathError, match="cannot write .*m.safetensors'.*Permission denied") as e:
        save_state_dict({"w": jnp.ones(2)}, path)
    assert ".tmp" not in str(e.value)


# --------------------------------------------------------------------------------------------------
# save_state_dict values and keys


def test_save_accepts_named_arrays(tmp_path):
    path = str(tmp_path / "m.safetensors")
    x = hax.arange((D, hax.Axis("E", 2)))
    save_state_dict({"x": x, "y": jnp.ones(2)}, path)
    out = load_state_dict(path)
    np.testing.assert_array_equal(out["x"], np.asarray(x.array))
    back = load_state_dict(path, {"x": hax.zeros((D, hax.Axis("E", 2)), dtype=x.dtype), "y": jnp.zeros(2)})
    assert back["x"].axes == x.axes and bool((back["x"] == x).all())


@pytest.mark.parametrize("key", [1, ("a", "b"), None])
def test_save_non_string_key_is_type_error(tmp_path, key):
    with pytest.raises(TypeError, match=r"save_state_dict: argument 'state_dict': key .* but keys must be str"):
        save_state_dict({key: jnp.ones(2)}, str(tmp_path / "m.safetensors"))
    assert os.listdir(tmp_path) == []


def test_save_non_dict_is_type_error(tmp_path):
    with pytest.raises(TypeError, match="save_state_dict: argument 'state_dict' must be a dict.*to_torch_compatible"):
        save_state_dict([jnp.ones(2)], str(tmp_path / "m.safetensors"))  # type: ignore[arg-type]


def test_save_string_array_names_the_key(tmp_path):
    with pytest.raises(TypeError, match="value of key 'names' has dtype <U1"):
        save_state_dict({"names": np.array(["a", "b"])}, str(tmp_path / "m.safetensors"))


def test_save_non_string_metadata(tmp_path):
    with pytest.raises(TypeError, match=r"save_state_dict: argument 'metadata'.*'step': 10"):
        save_state_dict({"w": jnp.ones(2)}, str(tmp_path / "m.safetensors"), metadata={"step": 10})  # type: ignore[dict-item]


@pytest.mark.parametrize("dtype", [np.complex128, ml_dtypes.int4, object])
def test_save_unstorable_dtype_names_the_key(tmp_path, dtype):
    with pytest.raises(TypeError, match=r"value of key 'v' has dtype \S+, which safetensors cannot store.*cast it"):
        save_state_dict({"ok": np.ones(2), "v": np.zeros(2, dtype)}, str(tmp_path / "m.safetensors"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("path", [None, 3])
def test_path_of_wrong_type(path):
    with pytest.raises(TypeError, match=r"save_state_dict: argument 'path' must be a str or os.PathLike"):
        save_state_dict({"w": jnp.ones(2)}, path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"load_state_dict: argument 'path' must be a str or os.PathLike"):
        load_state_dict(path)  # type: ignore[arg-type]


def test_pathlib_paths_work(tmp_path):
    save_state_dict({"w": jnp.ones(2)}, tmp_path / "m.safetensors")  # type: ignore[arg-type]
    assert load_state_dict(tmp_path / "m.safetensors")["w"].tolist() == [1.0, 1.0]  # type: ignore[arg-type]


def test_from_state_dict_accepts_named_array_values():
    x = hax.arange(D).astype(jnp.float32)
    out = from_state_dict({"w": hax.zeros(D)}, {"w": x})
    assert bool((out["w"] == x).all())


@pytest.mark.parametrize("prefix", [3, ["enc"]])
def test_from_state_dict_prefix_of_wrong_type(prefix):
    with pytest.raises(TypeError, match=r"from_state_dict: argument 'prefix' must be a str or None"):
        from_state_dict({"w": hax.zeros(D)}, {"w": jnp.ones(3)}, prefix=prefix)


@pytest.mark.parametrize("prefix", [3, ["enc"], b"enc"])
def test_to_state_dict_prefix_of_wrong_type(prefix):
    from haliax.state_dict import to_state_dict, to_torch_compatible_state_dict

    lin = hnn.Linear.init(D, D.alias("out"), key=jax.random.PRNGKey(0))
    for fn in (to_state_dict, to_torch_compatible_state_dict):
        with pytest.raises(TypeError, match=r"^to_state_dict: argument 'prefix' must be a str or None, got"):
            fn(lin, prefix=prefix)


def test_load_missing_file_names_load_state_dict_and_suggests_a_neighbour(tmp_path):
    save_state_dict({"a": np.ones(2, np.float32)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(
        FileNotFoundError,
        match=r"load_state_dict: argument 'path': no such file \(did you mean '.*model\.safetensors'\?\)",
    ) as e:
        load_state_dict(str(tmp_path / "modle.safetensors"))
    assert e.value.filename == str(tmp_path / "modle.safetensors")
    with pytest.raises(FileNotFoundError, match=r"no such file \(the folder '.*missing' does not exist either\)"):
        load_state_dict(str(tmp_path / "missing" / "model.safetensors"))
