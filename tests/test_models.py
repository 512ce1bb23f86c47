"""Both embedding models load from their PyPI packages with no network."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

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
