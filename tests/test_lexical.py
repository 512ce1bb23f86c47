"""BM25 per document: a document's passages score the same whether or not another document is
indexed beside it, and the index folder round-trips through its plain files."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.lexical import LexicalIndex

REPORT = ["The Mission protects civilians in central Mali.", "Kidal remains under the control of armed groups.",
          "The peace agreement of 2015 was signed in Bamako.", "Civilians in Kidal lack basic services."]
MANUAL = ["Install the printer driver before printing.", "The driver prints civilians' photographs in colour.",
          "Printing needs 50 MB of free disk space.", "Kidal is not a printer."]


@pytest.mark.fast
def test_a_second_document_does_not_change_the_first_documents_scores():
    alone = LexicalIndex.build(REPORT, ["report"] * len(REPORT))
    shelf = LexicalIndex.build(REPORT + MANUAL, ["report"] * len(REPORT) + ["manual"] * len(MANUAL))
    for query in ("civilians in Kidal", "peace agreement Bamako", "printer driver", "Kidal"):
        scores = shelf.scores(query)
        assert np.array_equal(scores[:len(REPORT)], alone.scores(query)), query
    # The manual's passages are scored by the manual's own statistics, not zeros.
    assert shelf.scores("printer driver")[len(REPORT):].max() > 0
    assert shelf.passages == len(REPORT) + len(MANUAL) and [p.document for p in shelf.parts] == ["report", "manual"]


@pytest.mark.fast
def test_the_index_saves_and_loads_each_documents_part(tmp_path):
    shelf = LexicalIndex.build(REPORT + MANUAL, ["report"] * len(REPORT) + ["manual"] * len(MANUAL))
    shelf.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert [(p.document, p.start, p.passages) for p in loaded.parts] == [("report", 0, 4), ("manual", 4, 4)]
    assert np.array_equal(loaded.scores("Kidal printer"), shelf.scores("Kidal printer"))
    assert loaded.knows("kidal") and not loaded.knows("timbuktu")


@pytest.mark.fast
def test_a_document_whose_passages_are_not_together_is_refused():
    with pytest.raises(ValueError, match="not consecutive"):
        LexicalIndex.build(REPORT[:2] + MANUAL[:1] + REPORT[2:], ["report", "report", "manual", "report", "report"])
