"""The opt-in IMDb loader, with the network mocked: offline → a clear error; a good download is verified,
extracted and read; a bad checksum or an unsafe archive is refused; nothing is fetched twice."""
import hashlib
import io
import tarfile
import urllib.error

import pytest

from course_utils import online


def make_archive(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


FAKE_IMDB = make_archive({"aclImdb/train/pos/0_9.txt": "A great film.<br />Loved it.",
                          "aclImdb/train/neg/1_2.txt": "Dull.", "aclImdb/train/neg/0_1.txt": "Awful.",
                          "aclImdb/test/pos/0_8.txt": "Fine work.", "aclImdb/test/neg/0_3.txt": "Bad."})


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


@pytest.fixture
def serve(monkeypatch):
    """serve(data) makes urlopen return `data`; returns the list of URLs that were requested."""
    calls = []

    def install(data: bytes):
        def fake_urlopen(url, timeout=None):
            calls.append(url)
            return FakeResponse(data)
        monkeypatch.setattr(online.urllib.request, "urlopen", fake_urlopen)
        monkeypatch.setattr(online, "IMDB_SHA256", hashlib.sha256(FAKE_IMDB).hexdigest())
        return calls
    return install


def test_offline_gives_a_clear_error(monkeypatch, tmp_path):
    def no_network(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(online.urllib.request, "urlopen", no_network)
    with pytest.raises(ConnectionError, match="no network: this optional dataset needs internet; the course runs without it"):
        online.download_imdb(tmp_path, progress=False)
    assert not any(tmp_path.rglob("*.part"))


def test_download_verify_extract_and_load(serve, tmp_path):
    calls = serve(FAKE_IMDB)
    root = online.download_imdb(tmp_path / "data", progress=False)
    assert calls == [online.IMDB_URL]
    assert root == tmp_path / "data" / "aclImdb"
    train = online.load_imdb(root, "train")
    assert train == [(0, "Awful."), (0, "Dull."), (1, "A great film. Loved it.")]   # sorted, <br /> removed
    assert online.load_imdb(root, "test") == [(0, "Bad."), (1, "Fine work.")]
    assert online.download_imdb(tmp_path / "data", progress=False) == root             # already there
    assert len(calls) == 1


def test_existing_verified_archive_is_not_downloaded_again(serve, tmp_path):
    calls = serve(FAKE_IMDB)
    (tmp_path / "aclImdb_v1.tar.gz").write_bytes(FAKE_IMDB)
    online.download_imdb(tmp_path, progress=False)
    assert calls == []


def test_checksum_mismatch_deletes_the_file(serve, monkeypatch, tmp_path):
    serve(FAKE_IMDB[:-10])                                          # a truncated download
    with pytest.raises(ValueError, match="sha256 .* expected"):
        online.download_imdb(tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_unsafe_archive_is_refused(serve, monkeypatch, tmp_path):
    evil = make_archive({"../escape.txt": "gotcha"})
    serve(evil)
    monkeypatch.setattr(online, "IMDB_SHA256", hashlib.sha256(evil).hexdigest())
    with pytest.raises(ValueError, match="outside"):
        online.download_imdb(tmp_path / "d", progress=False)
    assert not (tmp_path / "escape.txt").exists()


def test_load_imdb_errors(tmp_path):
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        online.load_imdb(tmp_path, "dev")
    with pytest.raises(FileNotFoundError, match="download_imdb"):
        online.load_imdb(tmp_path, "train")
