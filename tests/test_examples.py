"""Both examples run in a tiny configuration, so they cannot rot."""

import importlib.util
import os
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")


def test_digits_cnn_tiny(tmp_path):
    mod = _load("digits_cnn")
    result = mod.main(["--steps", "30", "--out", str(tmp_path)])
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["accuracy"] > 0.3  # 30 steps already beat chance (0.1) by far
    assert (tmp_path / "confusion.png").exists()


def test_gpt_char_tiny(tmp_path):
    if not (EXAMPLES / "gpt_char.py").exists():
        pytest.skip("gpt_char example not written yet")
    mod = _load("gpt_char")
    data = tmp_path / "data.txt"
    data.write_text("def f(x):\n    return x + 1\n" * 200)
    out = tmp_path / "out"
    args = ["--data", str(data), "--out", str(out), "--tiny", "--steps", "6", "--eval-every", "3"]
    first = mod.main(args)
    assert (out / "checkpoint.safetensors").exists()
    assert (out / "loss.png").exists()
    assert isinstance(first["sample"], str)
    # --resume continues with identical subsequent losses
    resumed = mod.main(args[:-4] + ["--steps", "6", "--eval-every", "3", "--resume", "--resume-check", "3"])
    assert resumed["resume_matches"]
    del os
