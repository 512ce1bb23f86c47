"""The evaluation set itself: well-formed, grounded in the report, and covering it."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from assistant.clean import covered_fraction
from assistant.config import PROJECT_ROOT
from assistant.evaluate import CONVERSATION_FILES, is_relevant, load_conversations, load_items
from assistant.text import eval_tokens
from tests.conftest import REPORT

ITEMS = load_items(PROJECT_ROOT / "eval")
REPORT_TEXT = REPORT.read_text(encoding="utf-8")
REPORT_TOKENS = eval_tokens(REPORT_TEXT)
KEYS = {"id", "question", "category", "answer", "keywords", "evidence"}


CONVERSATIONS = [c for file in CONVERSATION_FILES for c in load_conversations(PROJECT_ROOT / "eval" / file)]
TURNS = [turn for _id, turns in CONVERSATIONS for turn in turns]


@pytest.mark.fast
def test_files_hold_only_contract_items():
    for path in sorted((PROJECT_ROOT / "eval").glob("*.jsonl")):
        if path.name in CONVERSATION_FILES:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert KEYS <= set(record) <= KEYS | {"topic", "document"}, record.get("id")


@pytest.mark.fast
def test_sizes_and_splits():
    answerable = [i for i in ITEMS if i.answerable]
    assert len(answerable) >= 150 and len(ITEMS) - len(answerable) >= 30
    # Besides the three splits only probe sets (eval/probes-*.jsonl: questions written for one
    # round of changes, measured with `assistant eval --questions eval/probes-NAME.jsonl`).
    assert {i.split for i in ITEMS if not i.split.startswith("probes-")} == {"dev", "test", "blind"}
    assert len({i.id for i in ITEMS}) == len(ITEMS)
    blind = [i for i in ITEMS if i.split == "blind"]
    assert sum(i.answerable for i in blind) >= 120 and sum(not i.answerable for i in blind) >= 40


@pytest.mark.fast
@pytest.mark.parametrize("file", CONVERSATION_FILES)
def test_conversations_follow_the_contract(file):
    conversations = load_conversations(PROJECT_ROOT / "eval" / file)
    for line in (PROJECT_ROOT / "eval" / file).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert set(record) == {"id", "turns"} and 3 <= len(record["turns"]) <= 5, record["id"]
        assert record["turns"][0]["standalone"] is None  # a conversation opens with a full question
        for turn in record["turns"]:
            assert KEYS | {"standalone"} <= set(turn) <= KEYS | {"standalone", "document"}, turn["id"]
    assert len(conversations) >= 25
    later = [t for _id, turns in conversations for t in turns[1:]]
    assert any(t.standalone is None for t in later) and any(t.standalone for t in later)


@pytest.mark.fast
def test_no_duplicate_questions():
    normalised = Counter(" ".join(eval_tokens(i.question)) for i in ITEMS)
    assert [q for q, n in normalised.items() if n > 1] == []


@pytest.mark.parametrize("item", [i for i in ITEMS + [t.item for t in TURNS] if i.answerable], ids=lambda i: i.id)
def test_evidence_occurs_in_the_report(item):
    assert item.evidence, "an answerable item needs evidence"
    for quote in item.evidence:
        assert 12 <= len(quote.split()) <= 40, quote
        assert is_relevant(REPORT_TEXT, [quote]), quote
        # Verbatim but for footnote numbers, which the quotes leave out.
        assert covered_fraction(eval_tokens(quote), REPORT_TOKENS) >= 0.9, quote
    quote_tokens = " " + " ".join(t for q in item.evidence for t in eval_tokens(q) + ["|"]) + " "
    for keyword in item.keywords:
        assert " " + " ".join(eval_tokens(keyword)) + " " in quote_tokens, keyword


@pytest.mark.fast
def test_unanswerable_items_have_no_evidence():
    for item in ITEMS:
        if not item.answerable:
            assert item.evidence == () and item.keywords == ()


@pytest.mark.fast
def test_coverage_of_the_report():
    categories = Counter(i.category for i in ITEMS)
    for dimension in ("protection-stabilisation", "people-centred", "legitimacy-credibility", "political-primacy",
                      "ownership", "wps", "international-support", "coherence-partnerships"):
        assert categories[dimension] >= 6, dimension
    topics = Counter(json.loads(line).get("topic") for path in (PROJECT_ROOT / "eval").glob("*.jsonl")
                     for line in path.read_text(encoding="utf-8").splitlines())
    for topic in ("dilemma-1", "dilemma-2", "dilemma-3", "dilemma-4", "option-1", "option-2a", "option-2b",
                  "option-2c", "option-2d", "option-3"):
        assert topics[topic] >= 2, topic
    for category in ("mandate", "methodology", "numbers", "actors-acronyms", "study", "findings", "context"):
        assert categories[category] >= 4, category


@pytest.mark.fast
def test_a_third_are_paraphrased():
    """At least a third of the questions share few content words with their evidence."""
    stop = set("what which does report about mission minusma when many much there their have with from that "
               "this were been according study".split())
    paraphrased = 0
    answerable = [i for i in ITEMS if i.answerable]
    for item in answerable:
        words = {t for t in eval_tokens(item.question) if len(t) >= 4 and t not in stop}
        evidence = set(t for q in item.evidence for t in eval_tokens(q))
        if words and len(words & evidence) / len(words) <= 0.34:
            paraphrased += 1
    assert paraphrased * 3 >= len(answerable)
