"""The parts of a dataset while it is generated: each batch of trajectories in its own file, kept until the dataset is
complete, so that an interruption loses none of the trajectories written and a rerun with ``resume`` continues.

The parts of the output ``OUT`` are in the folder ``OUT.parts`` (:func:`parts_folder`):

- ``spec.json``: the spec being generated (a :class:`~chaoscontrol.surrogates.dataset.DatasetSpec` as plain JSON);
- ``part_FIRST_COUNT.npz``: trajectories FIRST .. FIRST + COUNT - 1, the float64 arrays of the dataset (``states``,
  ``actions``, ``forcing``, ``rewards``) and ``meta``, the JSON of FIRST, COUNT, the SHA-256 of the spec and the
  SHA-256 of the arrays (their names, dtypes, shapes and bytes).

Each file is written atomically (and synced), so that a killed process leaves whole parts and, at worst, a temporary
that :meth:`PartStore.start` removes. :meth:`PartStore.verified_parts` keeps the parts that check (readable without
unpickling, of this spec, of the shapes asked for, inside the dataset and not overlapping a kept one, checksum equal)
and removes the others with a warning naming the file, so that their trajectories are generated again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chaoscontrol.io import atomic_path, write_json_atomic

#: The arrays of a part, in the order of the checksum.
ARRAYS = ("states", "actions", "forcing", "rewards")
SPEC_FILE = "spec.json"


def parts_folder(out: str | os.PathLike) -> Path:
    """The folder of the parts of the dataset ``out`` while it is generated (``OUT.parts`` next to it).

    :param out: the dataset file.
    """
    out = Path(out)
    return out.with_name(out.name + ".parts")


def _sha256_of_arrays(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Part:
    """One file of trajectories ``first`` .. ``first + count - 1``."""

    first: int
    """The first trajectory."""
    count: int
    """How many trajectories."""
    path: Path
    """The file."""

    @property
    def rows(self) -> range:
        """The trajectories of the part."""
        return range(self.first, self.first + self.count)


class PartStore:
    """The parts of one dataset being generated with one spec.

    :param out: the dataset file.
    :param spec: the spec being generated, as plain JSON values (what ``spec.json`` records).
    """

    def __init__(self, out: str | os.PathLike, spec: dict[str, Any]) -> None:
        self.folder = parts_folder(out)
        self.spec = spec
        self.spec_sha256 = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()

    def exists(self) -> bool:
        """Whether an earlier generation left its folder."""
        return self.folder.is_dir()

    def recorded_spec(self) -> dict[str, Any] | None:
        """The spec the folder's generation was started with (None: no readable ``spec.json``)."""
        try:
            return json.loads((self.folder / SPEC_FILE).read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def files(self) -> list[Path]:
        """The part files, unchecked, in name order."""
        return sorted(self.folder.glob("part_*.npz")) if self.exists() else []

    def start(self) -> None:
        """Make the folder, record the spec, and remove the temporaries that a killed write left in it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for tmp in self.folder.glob(".*"):  # atomic_path's temporaries: the folder is this store's alone
            tmp.unlink(missing_ok=True)
        if self.recorded_spec() != self.spec:
            write_json_atomic(self.folder / SPEC_FILE, self.spec)

    def write(self, first: int, arrays: dict[str, np.ndarray]) -> Part:
        """Write trajectories ``first`` .. of ``arrays`` (each (count, ...)) as one part, atomically.

        :param first: the index of the first trajectory.
        :param arrays: the arrays :data:`ARRAYS`, float64, with the same first dimension.
        :return: the part written.
        """
        count = int(arrays["states"].shape[0])
        meta = {"first": int(first), "count": count, "spec_sha256": self.spec_sha256, "sha256": _sha256_of_arrays(arrays)}
        path = self.folder / f"part_{first:07d}_{count}.npz"
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), **{name: arrays[name] for name in ARRAYS})
                fh.flush()
                os.fsync(fh.fileno())
        return Part(first, count, path)

    def read(self, path: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> tuple[Part, dict[str, np.ndarray]]:
        """The part in ``path`` and its arrays, checked.

        :param path: a part file.
        :param shapes: the shape of one trajectory of each array (checked if given).
        :raises ValueError: saying why the part does not check.
        """
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(str(npz["meta"][()]))
                arrays = {name: npz[name] for name in ARRAYS}
        except Exception as exc:  # noqa: BLE001 - any failure to read is the file's fault
            raise ValueError(f"it is unreadable ({type(exc).__name__}: {exc})") from exc
        if meta.get("spec_sha256") != self.spec_sha256:
            raise ValueError("it is of another spec")
        part = Part(int(meta["first"]), int(meta["count"]), path)
        for name, a in arrays.items():
            expected = (part.count, *shapes[name]) if shapes is not None else a.shape
            if a.dtype != np.float64 or a.shape != expected:
                raise ValueError(f"its {name} are {a.dtype} {a.shape}, not float64 {expected}")
        if _sha256_of_arrays(arrays) != meta.get("sha256"):
            raise ValueError("its checksum does not match its data")
        return part, arrays

    def verified_parts(self, n_trajectories: int, shapes: dict[str, tuple[int, ...]]) -> list[Part]:
        """The parts that check, by first trajectory; the others are removed with a warning.

        :param n_trajectories: the trajectories of the dataset (a part must lie inside).
        :param shapes: the shape of one trajectory of each array.
        """
        kept: list[Part] = []
        covered: set[int] = set()
        for path in self.files():
            try:
                part, _ = self.read(path, shapes)
                if part.first < 0 or part.first + part.count > n_trajectories or covered & set(part.rows):
                    raise ValueError(f"its trajectories {part.first}..{part.first + part.count - 1} are outside the "
                                     f"dataset or overlap another part")
            except ValueError as exc:
                warnings.warn(f"dataset part {str(path)!r} is dropped and generated again: {exc}", stacklevel=2)
                path.unlink(missing_ok=True)
                continue
            kept.append(part)
            covered.update(part.rows)
        return sorted(kept, key=lambda p: p.first)

    def trajectories_written(self) -> int:
        """How many trajectories the part files hold, unchecked (from their names)."""
        return sum(int(p.stem.rsplit("_", 1)[1]) for p in self.files())

    def remove(self) -> None:
        """Remove the folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


__all__ = ["ARRAYS", "Part", "PartStore", "parts_folder"]
