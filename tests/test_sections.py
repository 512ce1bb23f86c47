"""The section path type: one place that takes a path apart."""

from __future__ import annotations

import json

import pytest

from assistant.chunk import Chunk
from assistant.sections import SectionPath
from assistant.text import eval_tokens, word_tokens

pytestmark = pytest.mark.fast


def test_a_path_knows_its_parts():
    path = SectionPath.of(["V. Protection", "Protection of civilians", "a) Central region"])
    assert path == "V. Protection > Protection of civilians > a) Central region"
    assert path.parts == ("V. Protection", "Protection of civilians", "a) Central region")
    assert (path.chapter, path.title) == ("V. Protection", "a) Central region")
    assert path.parent == "V. Protection > Protection of civilians" and path.parent.parent == "V. Protection"
    assert path.parent.parent.parent is None


def test_containment_is_by_whole_headings():
    chapter = SectionPath("II. Context")
    assert chapter.contains("II. Context") and chapter.contains("II. Context > History")
    assert not chapter.contains("II. Contextual notes")  # a prefix of a heading is not a sub-section
    assert not SectionPath("II. Context > History").contains("II. Context")


def test_an_empty_path_has_no_parts():
    assert SectionPath("").parts == () and SectionPath("").parent is None


def test_a_chunk_read_back_from_json_has_a_section_path():
    chunk = Chunk("c1", "doc", "I. A > B", 1, None, 0, 5, "B\n\nText.", "body", False, ((3, 8),))
    again = Chunk(**{**json.loads(json.dumps(chunk.__dict__)), "sentences": ((3, 8),)})
    assert isinstance(again.section, SectionPath) and again.section.title == "B"
    assert json.dumps({"section": again.section}) == '{"section": "I. A > B"}'  # stored as the plain string
    assert again.opens_with_heading and again.text_after_heading() == "Text."


def test_one_word_tokeniser_under_the_evaluation_tokens():
    assert word_tokens("Inter-communal violence, 2019’s FAMA") == ["inter", "communal", "violence", "2019", "s", "fama"]
    assert eval_tokens("con-\nflict\u00ad") == word_tokens("conflict")
