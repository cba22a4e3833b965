"""The Python examples of the README and the docs run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/robustness_toolkit.md", "docs/baselines.md", "docs/design.md"]
BLOCKS = [
    (doc, i, block)
    for doc in DOCS
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", (ROOT / doc).read_text(), flags=re.S))
]


def test_docs_have_python_examples():
    assert sum(doc == "README.md" for doc, _, _ in BLOCKS) >= 3
    assert sum(doc != "README.md" for doc, _, _ in BLOCKS) >= 2


@pytest.mark.parametrize(("doc", "index", "code"), BLOCKS, ids=[f"{d}[{i}]" for d, i, _ in BLOCKS])
def test_doc_example_runs(doc, index, code):
    namespace: dict = {"__name__": f"doc_example_{index}"}
    exec(compile(code, f"{doc}[python block {index}]", "exec"), namespace)
    if "u" in namespace:  # the README's examples end with a state of the KS grid
        assert namespace["u"].shape == (64,)
    if "venv" in namespace and doc == "docs/design.md":  # the worked example of a new system
        obs, _ = namespace["venv"].reset(seed=0)
        assert obs.shape == (16, 3)
        from gymnasium.utils.env_checker import check_env

        check_env(namespace["env"].unwrapped, skip_render_check=True)
        namespace["gym"].registry.pop("Lorenz63-Sketch-v0")  # leave the registry as it was
    elif "venv" in namespace:
        obs, _ = namespace["venv"].reset(seed=0)
        assert obs.shape == (64, 8)
