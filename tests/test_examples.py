"""Both examples run in a tiny configuration, so they cannot rot."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

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


def test_gpt_char_tiny_and_resume(tmp_path):
    mod = _load("gpt_char")
    data = tmp_path / "data.txt"
    data.write_text("def f(x):\n    return x + 1\n" * 200)
    common = ["--data", str(data), "--tiny", "--eval-every", "3"]
    straight = mod.main(common + ["--out", str(tmp_path / "a"), "--steps", "6"])
    assert (tmp_path / "a" / "checkpoint.safetensors").exists()
    assert (tmp_path / "a" / "loss.png").exists()
    assert isinstance(straight["sample"], str) and straight["sample"].startswith("def ")
    assert len(straight["history"]) == 6
    # stop after 3 steps, then --resume to 6: the resumed losses equal the straight run's
    mod.main(common + ["--out", str(tmp_path / "b"), "--steps", "6", "--stop-after", "3"])
    resumed = mod.main(common + ["--out", str(tmp_path / "b"), "--steps", "6", "--resume"])
    assert resumed["start_step"] == 3
    assert [h[0] for h in resumed["history"]] == list(range(6))
    for (s1, l1, _), (s2, l2, _) in zip(straight["history"][3:], resumed["history"][3:], strict=True):
        assert s1 == s2 and l1 == l2, (s1, l1, l2)


def test_gpt_char_mesh_matches_single_device(tmp_path):
    """`--mesh data=2,model=4` runs the same training on the 8 simulated devices: same losses, sharded weights."""
    import jax

    mod = _load("gpt_char")
    data = tmp_path / "data.txt"
    data.write_text("class A:\n    def g(self):\n        return 2\n" * 200)
    common = ["--data", str(data), "--tiny", "--eval-every", "2", "--steps", "4", "--sample-len", "4"]
    single = mod.main(common + ["--out", str(tmp_path / "a")])
    meshed = mod.main(common + ["--out", str(tmp_path / "b"), "--mesh", "data=2,model=4"])
    for (s1, l1, v1), (s2, l2, v2) in zip(single["history"], meshed["history"], strict=True):
        assert s1 == s2
        assert abs(l1 - l2) <= 1e-5 * max(1.0, abs(l1)), (s1, l1, l2)
        assert (v1 is None) == (v2 is None) and (v1 is None or abs(v1 - v2) <= 1e-5 * max(1.0, abs(v1))), (s1, v1, v2)
    shardings = [leaf.sharding for leaf in jax.tree_util.tree_leaves(meshed["model"]) if isinstance(leaf, jax.Array)]
    assert any(len(s.device_set) == 8 and not s.is_fully_replicated for s in shardings)
