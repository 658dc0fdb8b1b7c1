"""Run every benchmark in bench/ with modest settings (2 CPU cores, under 15 minutes in all) and write each one's
JSON to bench/results/<name>.json, plus bench/results/summary.json (per-script wall time, exit status and target
verdicts). Each script prints its own tables; this runner prints them as they come and a summary at the end.

Usage: python bench/run_all.py [--only transformer eager ...] [--skip attention ...] [--out DIR]
Exit status: non-zero if a script fails (a missed performance target is reported, not a failure).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> arguments (besides --json). Sizes are cut down from each script's defaults where those take minutes.
SCRIPTS: dict[str, list[str]] = {
    "transformer": ["--rounds", "10", "--compile-repeats", "3"],
    "compile_depth": ["--depths", "2", "8", "32", "--repeats", "3"],
    "eager": ["--number", "1000", "--repeats", "11"],
    "fused_ce": ["--repeats", "3"],  # the size: 8192 tokens x 32768 vocab x 512 embed (about 2 minutes)
    # fwd and fwd+bwd, 7 programs per length; 8192 runs once per program (the peer's fwd+bwd alone takes ~30 s and
    # holds 6 GiB of scores), about 4 minutes in all
    "attention": ["--seqs", "512", "1024", "2048", "8192", "--rounds", "15", "--long-rounds", "1"],
    # BlockSeq and the raw Python loop unroll every layer: at 32 layers one compile takes minutes on 2 cores, so this
    # runs to 8 layers only (compile_depth covers 32 layers for the scanned stacks)
    "stacked_compile": ["--layers", "2", "8", "--repeats", "1"],
}
TIMEOUT_S = 600  # per script


def run_one(name: str, extra: list[str], out_dir: Path) -> dict[str, object]:
    script = HERE / f"{name}.py"
    if not script.exists():
        print(f"\n=== {name}: skipped ({script.name} not found)", flush=True)
        return {"script": name, "status": "missing"}
    json_path = out_dir / f"{name}.json"
    cmd = [sys.executable, str(script), *extra, "--json", str(json_path)]
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=HERE.parent, timeout=TIMEOUT_S, check=False)
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
    except subprocess.TimeoutExpired:
        status = f"timeout after {TIMEOUT_S} s"
    elapsed = time.perf_counter() - t0
    entry: dict[str, object] = {"script": name, "status": status, "wall_s": round(elapsed, 1), "args": extra}
    if status == "ok" and json_path.exists():
        targets = json.loads(json_path.read_text()).get("targets")
        if targets:
            entry["targets"] = [
                {"target": t.get("target"), "value": t.get("value"), "ok": t.get("ok")} for t in targets
            ]
    print(f"=== {name}: {status} in {elapsed:.0f} s", flush=True)
    return entry


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), default=None)
    p.add_argument("--skip", nargs="+", choices=sorted(SCRIPTS), default=[])
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ignore = args.out / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    names = [n for n in (args.only or SCRIPTS) if n not in args.skip]
    t0 = time.perf_counter()
    entries = [run_one(n, SCRIPTS[n], args.out) for n in names]
    total = time.perf_counter() - t0

    print("\n| script | status | wall s | targets met |\n|---|---|---|---|")
    for e in entries:
        ts = e.get("targets") or []
        met = f"{sum(bool(t['ok']) for t in ts)}/{len(ts)}" if ts else "-"
        print(f"| {e['script']} | {e['status']} | {e.get('wall_s', '-')} | {met} |")
    print(f"total: {total:.0f} s")
    summary = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "total_s": round(total, 1),
        "scripts": entries,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    if any(e["status"] not in ("ok", "missing") for e in entries):
        sys.exit(1)


if __name__ == "__main__":
    main()
