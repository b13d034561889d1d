"""Collect every notebook's '## Key terms' table into docs/glossary.md (English | 中文 | meaning | first seen).

    python scripts/build_glossary.py

A term that two notebooks translate differently is reported and the run fails: fix the notebooks so the
course uses one Chinese term per English term. tests/test_notebooks_consistency.py keeps them in step.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
HEADER = """# Glossary · 术语表

Every key term the notebooks introduce, in English and Chinese (the source article is Chinese), with the
notebook where it first appears. Generated from the notebooks' *Key terms* tables by
`python scripts/build_glossary.py`; a test keeps the two consistent.

| English | 中文 | meaning | first seen |
|---|---|---|---|
"""


def key_term_rows(path: Path) -> list[list[str]]:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and re.search(r"^#+\s*Key terms", cell.source, re.M):
            rows = [r.strip().strip("|").split("|") for r in cell.source.splitlines() if r.strip().startswith("|")]
            return [[x.strip() for x in r] for r in rows[2:] if len(r) >= 2]
    return []


def main() -> int:
    terms: dict[str, tuple[str, str, str]] = {}
    conflicts = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for row in key_term_rows(path):
            english, chinese, meaning = row[0], row[1], row[2] if len(row) > 2 else ""
            if english in terms and terms[english][0] != chinese:
                conflicts.append(f"{english!r}: {terms[english][2]} says {terms[english][0]!r}, "
                                 f"{path.name} says {chinese!r}")
            terms.setdefault(english, (chinese, meaning, path.name))
    for line in conflicts:
        print(f"✗ {line}")
    rows = [f"| {e} | {c} | {m} | [{nb[:2]}](../notebooks/{nb}) |"
            for e, (c, m, nb) in sorted(terms.items(), key=lambda kv: kv[0].lower())]
    (ROOT / "docs" / "glossary.md").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote docs/glossary.md: {len(rows)} terms")
    return 1 if conflicts else 0


if __name__ == "__main__":
    sys.exit(main())
