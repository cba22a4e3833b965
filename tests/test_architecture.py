"""The layer contract (pyproject.toml, ``[tool.importlinter]``) holds, and it would catch a breach.

Layers point down only, ``solvers -> envs -> surrogates -> baselines -> agents
-> apps`` (utilities ``io`` and ``validation`` below them all), function-local
imports included, and the modules of a layer import each other without cycles.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, *args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_package_keeps_its_layer_and_cycle_contracts():
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_the_contract_catches_a_function_local_upward_import(tmp_path):
    """A lower layer importing a higher one inside a function is reported, as at module level."""
    pkg = tmp_path / "layered"
    for sub in ("low", "high"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "high" / "b.py").write_text("X = 1\n")
    (pkg / "low" / "a.py").write_text("def f():\n    from layered.high.b import X\n    return X\n")
    config = tmp_path / "contracts.toml"
    config.write_text(textwrap.dedent(
        """
        [tool.importlinter]
        root_package = "layered"

        [[tool.importlinter.contracts]]
        name = "down only"
        type = "layers"
        layers = ["layered.high", "layered.low"]
        """
    ))
    res = _lint(tmp_path, "--config", str(config), pythonpath=tmp_path)
    assert res.returncode != 0
    assert "layered.low.a -> layered.high.b" in res.stdout
