import json
import shutil

import pytest

from course_utils import data


def test_every_shipped_file_matches_its_checksum():
    assert data.verify() == []


def test_manifest_records_provenance():
    for entry in data.registry().values():
        assert entry.package and entry.version and entry.license and entry.citation and entry.source
        assert all(len(sha) == 64 for sha in entry.files.values())


def test_shakespeare_size_and_split():
    text = data.load_text("shakespeare")
    assert 900_000 < len(text) < 1_100_000
    assert text.startswith("MACBETH")
    train, val = data.train_val_split(text, 0.1)
    assert train + val == text and abs(len(val) / len(text) - 0.1) < 1e-3


def test_names():
    names = data.load_lines("names")
    assert len(names) > 5000 and names == sorted(set(names)) and "mary" in names


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(KeyError, match=r"unknown dataset 'imdb'.*'shakespeare'"):
        data.load_text("imdb")


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    shutil.copytree(data.DATA_DIR, tmp_path, dirs_exist_ok=True)
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "MANIFEST", tmp_path / "manifest.json")
    data.registry.cache_clear()
    data.path_of.cache_clear()
    yield tmp_path
    data.registry.cache_clear()
    data.path_of.cache_clear()


def test_missing_file_names_rebuild_command(data_copy):
    (data_copy / "names.txt").unlink()
    with pytest.raises(data.DataIntegrityError, match="missing.*python -m course_utils.data build"):
        data.load_lines("names")
    assert len(data.verify()) == 1


def test_corrupted_file_names_rebuild_command(data_copy):
    (data_copy / "names.txt").write_text("mallory\n")
    with pytest.raises(data.DataIntegrityError, match="corrupted.*python -m course_utils.data build"):
        data.load_lines("names")


def test_non_utf8_file_is_a_clear_error(data_copy):
    bad = data_copy / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    manifest = json.loads((data_copy / "manifest.json").read_text())
    manifest["datasets"].append({**manifest["datasets"][1], "name": "latin1",
                                 "files": {"latin1.txt": data.sha256_of(bad)}})
    (data_copy / "manifest.json").write_text(json.dumps(manifest))
    data.registry.cache_clear()
    with pytest.raises(ValueError, match=r"not UTF-8 text \(bad byte 0xe9 at offset 3\)"):
        data.load_text("latin1")


def test_split_rejects_bad_fraction():
    with pytest.raises(ValueError, match="val_fraction must be in"):
        data.train_val_split("abc", 1.5)


def test_shuffled_is_deterministic():
    assert data.shuffled(range(10), seed=1) == data.shuffled(range(10), seed=1) != list(range(10))


def test_translation_pairs_are_clean():
    for name in ("mt_en_fr", "mt_en_zh"):
        rows = data.load_tsv(name)
        assert len(rows) > 1500 and all(len(r) == 2 and r[0] and r[1] and r[0] != r[1] for r in rows)
    assert ["Size", "Taille"] in data.load_tsv("mt_en_fr")


def test_chatterbot_conversations():
    convs = data.load_jsonl("chatterbot")
    assert {c["lang"] for c in convs} == {"en", "zh"}
    assert all(len(c["turns"]) >= 2 for c in convs)
    assert any(c["category"] == "tech_support" for c in convs)


def test_movie_reviews_cache_built_at_setup():
    rows = data.load_tsv("movie_reviews")
    assert len(rows) == 10568
    labels = [int(r[0]) for r in rows]
    assert sum(labels) == 5242 and all((float(s) > 0) == (y == "1") for y, s, _ in rows)
    assert data.dataset("movie_reviews").cached


def test_cached_dataset_missing_names_cache_command(data_copy):
    (data_copy / "cache" / "movie_reviews.tsv").unlink()
    with pytest.raises(data.DataIntegrityError, match="python -m course_utils.data cache"):
        data.load_tsv("movie_reviews")
