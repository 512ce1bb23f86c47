"""The fast tier (`make test-fast`, `pytest -m fast`): its guard in tests/conftest.py fails a fast
test that loads the embedding model or opens an index, and lets everything else through."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import embed
from assistant.config import PROJECT_ROOT, Settings
from assistant.index import build_index
# The conftest module pytest loaded (not a second copy as tests.conftest): its guard is the live one.
from conftest import SlowResourceError, no_model_or_index

pytestmark = pytest.mark.fast


def test_loading_an_embedder_is_refused_and_named():
    with no_model_or_index("probe"):
        with pytest.raises(SlowResourceError, match="probe is marked fast but loaded the embedding model 'e5'"):
            embed.load_embedder("e5")
        with pytest.raises(SlowResourceError, match="constructed MiniLMEmbedder"):
            embed.MiniLMEmbedder()


def test_building_an_index_is_refused(tmp_path):
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "note.txt").write_text("The harbour of Velmora handled more cargo in 2020 than in 2015.\n",
                                        encoding="utf-8")
    with no_model_or_index("probe"):
        with pytest.raises(SlowResourceError, match="embedding model"):
            build_index(Settings(documents_dir=documents, index_dir=tmp_path / "index"))
    assert not (tmp_path / "index").exists()


def test_opening_an_index_file_is_refused_but_other_files_are_not(tmp_path):
    # This test is fast itself: the index file is made under another name and renamed.
    (tmp_path / "made.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / "made.jsonl").rename(tmp_path / "chunks.jsonl")
    (tmp_path / "notes.jsonl").write_text("{}\n", encoding="utf-8")
    with no_model_or_index("probe"):
        with pytest.raises(SlowResourceError, match="opened the index file .*chunks.jsonl"):
            (tmp_path / "chunks.jsonl").read_text(encoding="utf-8")
        assert (tmp_path / "notes.jsonl").read_text(encoding="utf-8") == "{}\n"


def test_a_guard_block_restores_what_was_there_before(tmp_path):
    """This test is fast itself, so its own guard is on: an inner block restores that guard."""
    cache, init = embed._LOADED, embed.E5Embedder.__init__
    with no_model_or_index("probe"):
        assert embed._LOADED is not cache
    assert embed._LOADED is cache and embed.E5Embedder.__init__ is init
    with pytest.raises(SlowResourceError, match="test_a_guard_block_restores_what_was_there_before"):
        (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")


PROBES = '''
import pytest
from assistant import embed

@pytest.mark.fast
def test_pure():
    assert sum([1, 2]) == 3

@pytest.mark.fast
def test_loads_the_model():
    embed.load_embedder("e5")

@pytest.mark.fast
def test_asks_for_the_assistant(assistant):
    pass

def test_not_fast_may_do_anything():
    assert callable(embed.load_embedder)
'''


def test_the_conftest_hooks_fail_fast_tests_that_reach_for_the_model(tmp_path):
    """The real hooks, in a pytest run of its own over probe tests (the model is never loaded:
    the fixture check comes before the fixture, the guard before the model)."""
    shutil.copy2(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBES, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    fast: probe\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "fast", "-p", "no:cacheprovider", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300,
                            env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"})
    out = result.stdout
    assert "1 failed, 1 passed, 1 deselected, 1 error" in out, out
    assert "test_loads_the_model is marked fast but loaded the embedding model 'e5'" in out
    assert "test_asks_for_the_assistant is marked fast but asks for the fixture(s) assistant" in out
