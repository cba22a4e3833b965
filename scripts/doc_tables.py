"""Writing generated tables into the docs between HTML-comment markers (used by the study scripts)."""

from __future__ import annotations

from pathlib import Path


def write_between_markers(doc: Path, name: str, content: str, title: str) -> None:
    """Replace what lies between ``<!-- name -->`` and ``<!-- /name -->`` in ``doc`` by ``content``.

    A missing ``doc`` is created with ``title`` and the markers; a ``doc`` without the markers is an error
    (nothing is written), so hand-written text is never overwritten.
    """
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = doc.read_text() if doc.exists() else f"# {title}\n\n{begin}\n{end}\n"
    if begin not in text or end not in text:
        raise SystemExit(f"{doc} lacks the markers {begin} ... {end} around the generated part")
    head, rest = text.split(begin, 1)
    doc.write_text(head + begin + "\n" + content + end + rest.split(end, 1)[1])
