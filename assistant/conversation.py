"""Follow-up questions: keep the history and resolve a follow-up against the earlier turns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from .answering.types import Answer
from .lexical import STOPWORDS, lexical_tokens
from .retrieve import plain_title
from .text import split_sentences

WHAT_ABOUT = re.compile(r"^\s*(?:and\s+|but\s+)?(?:what|how)\s+about\s+(.+?)\s*\??\s*$", re.I)
ABOUT_FRAME = re.compile(r"^(.*\babout\b)\s+(.+?)\s*\??\s*$", re.I)
# "And the coast?", "And part 2c?": a short follow-up that only names a new topic.
# Not 'And at what level does it ...?', 'And to what extent ...?': a question of its own.
AND_TOPIC = re.compile(r"^\s*(?:and|but)\s+(?!(?:why|how|what|when|who|where|which|is|are|was|were|did|does|do|can|could|"
                       r"would|should|will)\b)(?!(?:in|at|on|for|with|from|to|by|under|during)\s+(?:what|which|whom|how)\b)"
                       r"(.+?)\s*\??\s*$", re.I)
ORDINALS = "first|second|third|fourth|fifth|sixth|seventh|eighth"
ORDINAL_WORD = re.compile(rf"\b(?:{ORDINALS})\b", re.I)
BARE_ORDINAL = re.compile(rf"(?:the\s+)?({ORDINALS})(?:\s+one)?", re.I)
ORDINAL_NUMBER = {word: n for n, word in enumerate(ORDINALS.split("|"), 1)}
# An item of a list named earlier: 'the third one', 'the last one', 'the second challenge'.
LIST_ITEM = re.compile(rf"\bthe\s+({ORDINALS}|last)(?:\s+(one|[a-z]+))?\b", re.I)
# The list a question asks for: 'What are the main challenges to X?' -> 'main challenges to X'.
LIST_QUESTION = re.compile(r"^\s*(?:what|which)\s+(?:are|were)\s+(?:the\s+)?(.+?)\s*\??\s*$", re.I)
# How many earlier questions a list reference looks back over ('Take the third one' two turns on).
LIST_LOOKBACK = 2


@lru_cache(maxsize=16)
def reference_pattern(kinds: tuple[str, ...]) -> re.Pattern | None:
    """A section named by number, for the framework kinds of the documents' profiles: 'the
    second scenario', 'part 2b', 'scenario 3'. None when no document has a framework."""
    if not kinds:
        return None
    names = "|".join(re.escape(k) for k in kinds)
    return re.compile(rf"\b(?:{ORDINALS})\s+(?:{names})\b|\b(?:{names})\s+\d[a-h]?\b", re.I)


@dataclass
class Conversation:
    """The turns of one conversation, oldest first."""

    turns: list[Answer] = field(default_factory=list)

    def add(self, answer: Answer) -> None:
        self.turns.append(answer)

    def clear(self) -> None:
        self.turns.clear()

    def resolve(self, question: str, kinds: tuple[str, ...] = (),
                aliases: Mapping[str, Sequence[str]] | None = None, anchors: frozenset[str] = frozenset()) -> str:
        """The question with what a follow-up leaves implicit filled in from the last turn;
        `kinds` are the framework kinds of the documents searched ('scenario', 'part'),
        `aliases` their numbered names by section title ('second scenario', 'scenario 2') and
        `anchors` the stemmed words that name the documents' own subject (see `is_follow_up`)."""
        if not self.turns or not is_follow_up(question, kinds, anchors, self.last_words()):
            return question
        aliases = aliases or {}
        previous = self.turns[-1].resolved_question or self.turns[-1].question
        ordinal = BARE_ORDINAL_REFERENCE.search(question)
        if ordinal:
            swapped = swap_reference(ordinal.group(0).rstrip(" ?"), previous, kinds, aliases)
            if swapped:  # "What is the second scenario?" + "What is the third one?"
                return swapped
        topic = WHAT_ABOUT.match(question) or AND_TOPIC.match(question)
        joined = self.joined_clause(question, topic)
        if joined:  # 'And the one in the 1990s, how did it end?' -> 'How did the strike in the 1990s end?'
            return self.resolve(joined, kinds, aliases, anchors)  # no longer opened by 'And': resolved once more at most
        if topic:
            swapped = swap_reference(topic.group(1), previous, kinds, aliases)
            if swapped:  # "What is the second scenario?" + "And the third?"
                return swapped
        listed = self.list_item(question, kinds, aliases)
        if listed:  # "What are the four scenarios?" + "Take the third one. What's the problem there?"
            return listed
        if topic:
            frame = ABOUT_FRAME.match(previous)
            if frame:  # "What does it say about part 2a?" + "And what about the coast?" / "And in Kidal?"
                return f"{frame.group(1)} {LEADING_PREPOSITION.sub('', topic.group(1))}?"
            replaced = replace_part(topic.group(1), previous)
            if replaced:  # "How is X perceived in the North?" + "And in Kidal?"
                return replaced
            return f"{topic.group(1)} ({self.topic(question)})"
        return self.substituted(question) or f"{question.rstrip()} ({self.topic(question)})"

    def joined_clause(self, question: str, topic: re.Match | None) -> str | None:
        """'And <a topic>, <a question>?' as one question: the topic stands for the question's
        'it'/'they' ('And the one in the 1990s, how did it end?' -> 'How did the strike in the 1990s
        end?', 'one' being the noun the previous question asked about), or a place or a time is
        added to it ('And in the harbour itself, what should it do first?' -> 'What should it do
        first in the harbour itself?', still to be resolved). None when the question is not of
        that form, or its topic neither sets a place nor stands for a pronoun."""
        clause = JOINED_CLAUSE.match(topic.group(1)) if topic else None
        if not clause:
            return None
        lead, asked = clause.group("lead").strip(), clause.group("question").strip().rstrip("?").strip()
        previous = ADDED_TOPIC.sub("", self.turns[-1].resolved_question or self.turns[-1].question)
        lead = ONE_ANAPHORA.sub(lambda m: f"{m.group(1)} {head_noun(previous) or m.group(2)}", lead, count=1)
        if SETTING.match(lead):
            joined = f"{asked} {lead}"
        else:
            pronoun = SUBJECT_PRONOUN.search(asked)
            if not pronoun:
                return None
            joined = f"{asked[: pronoun.start()]}{lead}{asked[pronoun.end():]}"
        return f"{joined[:1].upper()}{joined[1:]}?"

    def substituted(self, question: str) -> str | None:
        """The question with what points back replaced by what it points to in the last turn,
        when that is clear: 'that section' by the section the last turn named ('What is the
        Harbour and Ferry Service section trying to build?'), 'he'/'him'/'his' by the person the
        last turn named ('How did the port develop under Anna Maria Berg (AMB)?'). None
        when nothing in the question is of that kind or the last turn names no such thing (the
        caller then adds the last turn's words)."""
        last = self.turns[-1]
        asked = ADDED_TOPIC.sub("", last.resolved_question or last.question)
        said = "" if last.abstained else re.sub(r"\s*\[\d+\]", "", last.answer)
        demonstrative = POINTING_NOUN.search(question)
        if demonstrative and demonstrative.group("noun").lower() not in STOPWORDS | PREPOSITION_WORDS \
                and not PREDICATE_THAT.match(question, demonstrative.start()):
            named = named_phrase(demonstrative.group("noun"), [said, asked])
            start, end = demonstrative.start("that" if demonstrative.group("that") else "those"), demonstrative.end()
            return f"{question[:start]}{named}{question[end:]}" if named else None
        person = PERSON_PRONOUN.search(question)
        if person and pointing_pronoun(question, PERSON_PRONOUN):
            name = person_named(asked) or person_named(said)
            if name:
                possessive = person.group(0).lower() == "his" or (
                    person.group(0).lower() == "her" and re.match(r"\s+(?!(?:to|in|on|at|for|with|and|or)\b)[a-z]",
                                                                   question[person.end():]))
                return PERSON_PRONOUN.sub(lambda _m: f"{name}'s" if possessive else name, question, count=1)
        return None

    def last_words(self) -> frozenset[str]:
        """The stemmed words of the last turn: its question as understood, and its answer."""
        last = self.turns[-1]
        return frozenset(lexical_tokens(f"{last.resolved_question or last.question} {last.answer}"))

    def topic(self, question: str = "") -> str:
        """What the last turn was about: the words of its question (for a follow-up, of the
        question it was understood as, so a follow-up of a follow-up keeps to the subject); when
        `question` points back with 'it', 'they', 'him' ..., also the names, acronyms and numbers
        of the answer's first sentence (the answer may hold what the pronoun stands for). Not the
        title of the section the answer quoted (on conversations.jsonl the title's words cost 2
        turns' key facts and made the question shown as understood a list of words), nor its
        numbered name ('scenario 3'): the search takes it as naming the section and answers with
        the section's opening instead of the words typed ('What are the disadvantages?')."""
        last = self.turns[-1]
        words = content_words(last.resolved_question or last.question).split()
        if pointing_pronoun(question, PERSONAL):  # 'Who carried it out?': 'it' may be what the answer named
            # In lower case: names the next answer need not repeat.
            known = {k.lower() for k in words}
            words += [w.lower() for w in answer_names(last) if w.lower() not in known]
        return " ".join(dict.fromkeys(words))

    def list_item(self, question: str, kinds: tuple[str, ...], aliases: Mapping[str, Sequence[str]]) -> str | None:
        """The question with 'the third one' / 'the last one' / 'the second challenge' spelled
        out over the list an earlier question asked for: a numbered part of a framework with its
        title ('the third scenario (Stay on the coast)'), else 'the second of the
        main challenges to ...'. None when the question names no item or no earlier list fits."""
        item = LIST_ITEM.search(question)
        if not item:
            return None
        earlier = [t.resolved_question or t.question for t in reversed(self.turns[-LIST_LOOKBACK:])]
        ordinal, noun = item.group(1).lower(), (item.group(2) or "").lower()
        noun = "" if noun in STOPWORDS else noun  # 'the second of them'
        spelled = (framework_item(ordinal, noun, earlier, kinds, aliases)
                   or listed_item(ordinal, noun, earlier))
        if not spelled:
            return None
        rest = question[: item.start()] + question[item.end():]
        if not subject_words(OPENER.sub("", rest)):  # 'And the last one?': the item is the whole question
            return f"What is {spelled}?"
        resolved = OPENER.sub("", question[: item.start()] + spelled + question[item.end():]).strip()
        return resolved[:1].upper() + resolved[1:]


def titled(question: str, kinds: tuple[str, ...], aliases: Mapping[str, Sequence[str]]) -> str:
    """The question with the title of the numbered section it names added, when it names one by
    ordinal and gives no title yet: 'Explain the second scenario' -> 'Explain the second scenario
    (Stay on the coast)'."""
    if not kinds or not aliases:
        return question
    names = "|".join(re.escape(k) for k in kinds)
    found = re.search(rf"\bthe\s+({ORDINALS})\s+({names})\b(?!\s*\()", question, re.I)
    if not found:
        return question
    spelled = framework_item(found.group(1).lower(), found.group(2).lower(), [], kinds, aliases)
    return f"{question[: found.start()]}{spelled}{question[found.end():]}" if spelled else question


def swap_reference(topic: str, previous: str, kinds: tuple[str, ...] = (),
                   aliases: Mapping[str, Sequence[str]] | None = None) -> str | None:
    """The previous question about another numbered section of a framework kind: 'the third'
    after 'What is the second scenario?' gives 'What is the third scenario?'; 'part 2c' after
    '... part 2b?' gives '... part 2c?'. None when the topic is not such a reference."""
    reference_of = reference_pattern(tuple(kinds))
    if reference_of is None:
        return None
    topic = re.sub(r"^the\s+", "", topic.strip(), flags=re.I)
    bare = BARE_ORDINAL.fullmatch(topic)
    if bare and reference_of.search(previous):
        reference = reference_of.search(previous)
        renamed = ORDINAL_WORD.sub(bare.group(1), reference.group(0), count=1)
        if renamed == reference.group(0):  # 'part 2b' has no ordinal word to change
            return None
        # The title that named the earlier section ('the first scenario (Stay on the coast)') is not the new one's.
        after = re.sub(r"^\s*\([^()]*\)", "", previous[reference.end():])
        swapped = previous[: reference.start()] + renamed + after
        return titled(swapped, tuple(kinds), aliases or {}) if after != previous[reference.end():] else swapped
    if reference_of.fullmatch(topic) and reference_of.search(previous):
        return reference_of.sub(lambda _m: topic, previous, count=1)
    return None


PREPOSITIONS = "in|at|on|for|with|from|to|under|during|after|before|between|among|within|outside"
PREPOSITION = re.compile(rf"^({PREPOSITIONS})\s+\S", re.I)
PREPOSITION_WORDS = frozenset(PREPOSITIONS.split("|")) | {"about", "of", "by", "since", "until"}
# A phrase that sets a time: 'in 2018', 'before 2015', 'since June 2013', 'in 2019/20'.
TIME_PART = re.compile(r"\b(?:in|during|after|before|since|until|by)\s+(?:(?!(?:in|during|after|before|since|until|by)\b)"
                       r"[A-Za-z]+\s+){0,2}?(?:19|20)\d\d(?:/\d\d)?\b", re.I)
# A phrase that sets a place or a time: 'in Gao', 'after 2015', 'outside the capital'.
SETTING = re.compile(r"^(?:in|at|within|outside|during|after|before|since|until)\s+", re.I)
LEADING_PREPOSITION = re.compile(rf"^(?:{PREPOSITIONS})\s+", re.I)  # 'in Kidal' -> 'Kidal' after 'about'
# A topic the conversation added to an earlier question: 'Who won? (2013 elections held)'.
ADDED_TOPIC = re.compile(r"\s*\([^()]*\)\s*$")


def replace_part(fragment: str, previous: str) -> str | None:
    """The previous question with its part of the same form replaced by the new topic: a phrase
    opened by the same preposition ('in Kidal' for 'in the North'), a name for its only name
    ('the Plateforme' for 'the CMA'), or a common noun for the noun a short question ends on
    ('the benefits' for 'What are the disadvantages?'); a phrase whose preposition the previous
    question lacks is added to it ('Who trains the army in Gao?'). The topic the conversation added to the
    previous question stays when that question could not stand without it ('What are the
    disadvantages? (counter-terrorism mission)'); else it goes, since it may hold the very part
    replaced ('How did the vote go in Gao? (vote in Gao north)'). None when the previous question
    has no such part."""
    fragment = fragment.strip().rstrip("?").strip()
    added = ADDED_TOPIC.search(previous)
    asked = previous[: added.start()].strip() if added else previous.strip()
    replaced = _replaced_part(fragment, asked)
    if not replaced:
        return None
    return f"{replaced}{added.group(0).rstrip()}" if added and is_follow_up(asked) else replaced


# A short question ending on its one noun phrase: 'What are the disadvantages?', 'What was the main risk?'.
ENDING_NOUN = re.compile(r"\bthe\s+(?:[a-z][\w’'-]*\s+)?[a-z][\w’'-]*(?=\s*\?*\s*$)")


def _replaced_part(fragment: str, asked: str) -> str | None:
    opening = PREPOSITION.match(fragment)
    if YEAR.search(fragment) and TIME_PART.match(fragment):
        # 'And in 2017?', 'What about before 2015?': the time the previous question set, not its place
        times = list(TIME_PART.finditer(asked))
        if times:
            return f"{asked[: times[-1].start()]}{fragment}{asked[times[-1].end():]}"
        return f"{asked.rstrip(' ?')} {fragment}?"  # 'How is X perceived in the North in 2017?'
    if opening:
        # The same preposition up to the end of its clause or the next such preposition, and not a
        # time: 'in the North' in 'How is X perceived in the North?', 'in Lisbon' in '... in Lisbon in 2018?'
        part = [m for m in re.finditer(rf"\b{opening.group(1)}\s+(?:(?!\b{opening.group(1)}\b)[^?,;:])+", asked, re.I)
                if not YEAR.search(m.group(0))]
        if part:
            end = part[-1].start() + len(part[-1].group(0).rstrip())
            return f"{asked[: part[-1].start()]}{fragment}{asked[end:]}"
        # 'Who trains the army?' + 'And in Gao?': a place or a time is added to the question; a
        # phrase such as 'for the police' may belong anywhere in it.
        return f"{asked.rstrip(' ?')} {fragment}?" if SETTING.match(fragment) else None
    same_noun = _same_noun_swapped(fragment, asked)
    if same_noun:  # 'How many cargo ships ...?' + 'And cruise ships?'
        return same_noun
    if re.match(r"(?:the\s+)?[A-Z]", fragment):
        names = list(re.finditer(r"(?:\bthe\s+)?(?<!^)\b[A-Z][\w’'-]*(?:\s+[A-Z0-9][\w’'-]*)*", asked))
        if len(names) == 1:  # with two ('Why does the AU doubt the G5 force?') which one is meant is a guess
            return f"{asked[: names[0].start()]}{fragment}{asked[names[0].end():]}"
        return None
    ending = ENDING_NOUN.search(asked)
    if re.fullmatch(r"the\s+[a-z][\w’'-]*(?:\s+[a-z][\w’'-]*)?", fragment) and ending \
            and len(subject_words(asked)) <= MAX_UNNAMED_WORDS:
        return f"{asked[: ending.start()]}{fragment}{asked[ending.end():]}"
    return None


# Words that end the run of modifiers before a noun: 'many' in 'How many cargo ships'.
NOT_MODIFIERS = STOPWORDS | {"many", "much", "few", "more", "most", "other", "all"}


def _same_noun_swapped(fragment: str, asked: str) -> str | None:
    """The previous question with its thing of the same noun replaced by the new one: 'cruise
    ships' for 'cargo ships' in 'How many cargo ships did the port count?'. Only for a
    new topic of two to four words that ends on a noun the previous question has."""
    words = fragment.split()
    if not 2 <= len(words) <= 4 or words[-1].lower() in STOPWORDS:
        return None
    head = lexical_tokens(words[-1])
    tokens = list(re.finditer(r"[\w’'-]+", asked))
    for n, token in enumerate(tokens):
        if n and lexical_tokens(token.group(0)) == head:
            start = n
            while start > 0 and n - start < 2 and tokens[start - 1].group(0).lower() not in NOT_MODIFIERS \
                    and tokens[start - 1].group(0)[:1].islower() \
                    and not re.search(r"['’]s$", tokens[start - 1].group(0)):  # a name or an owner before it stays
                start -= 1
            before = tokens[start - 1].group(0).lower()
            determined = before in ("the", "a", "an", "its", "their", "his", "her") or re.search(r"['’]s$", before)
            new = ARTICLE_WORD.sub("", fragment) if determined else fragment
            if start == n and new.lower() == token.group(0).lower():
                return None
            return f"{asked[: tokens[start].start()]}{new}{asked[token.end():]}"
    return None


ARTICLE_WORD = re.compile(r"^(?:the|a|an)\s+", re.I)


def framework_item(ordinal: str, noun: str, earlier: list[str], kinds: tuple[str, ...],
                   aliases: Mapping[str, Sequence[str]]) -> str | None:
    """'the sixth principle (Fares and Ticketing)' for 'the sixth one' after a question on
    the principles; 'last' is the highest number the framework's aliases give that kind."""
    kind = noun if noun in kinds else next(
        (k for text in earlier for k in kinds if re.search(rf"\b{re.escape(k)}s?\b", text, re.I)), None)
    if kind is None or (noun and noun not in ("one", kind)):
        return None
    numbered = {}
    for title, names in aliases.items():
        for name in names:
            found = re.fullmatch(rf"({ORDINALS})\s+{re.escape(kind)}", name.strip(), re.I)
            if found:
                numbered[ORDINAL_NUMBER[found.group(1).lower()]] = title
    if not numbered:
        return None
    number = max(numbered) if ordinal == "last" else ORDINAL_NUMBER[ordinal]
    if number not in numbered:
        return None
    title = plain_title(numbered[number]).strip().rstrip("?")
    return f"the {ORDINALS.split('|')[number - 1]} {kind} ({title})"


def listed_item(ordinal: str, noun: str, earlier: list[str]) -> str | None:
    """'the second of the main challenges to the railway's finances' for 'the second challenge' (or
    'the second one') after 'What are the main challenges to the railway's finances?'."""
    if ordinal == "last":
        return None  # how long the list is, only its answer knows
    for text in earlier:
        listed = LIST_QUESTION.match(text)
        if listed and (noun in ("", "one") or re.search(rf"\b{re.escape(noun)}s\b", listed.group(1), re.I)):
            return f"the {ordinal} of the {listed.group(1)}"
    return None


# 'And <a topic>, <a question>?': the topic, then the question asked about it.
JOINED_CLAUSE = re.compile(r"^(?P<lead>[^,;:?]{2,}?)\s*,\s*(?P<question>(?:what|how|why|when|who|where|which|is|are|was|"
                           r"were|did|does|do|can|could|would|should|will|has|have)\b.+)$", re.I)
# 'the one in the 1990s', 'that one from 2015': 'one' stands for the noun the previous question asked about.
ONE_ANAPHORA = re.compile(r"\b(the|that|this)\s+(one)\b(?=\s+\S)", re.I)
SUBJECT_PRONOUN = re.compile(r"\b(?:it|they|them)\b", re.I)
# The first noun phrase a question names with 'the': 'the first strike' in 'Which was the first strike?'.
THE_PHRASE = re.compile(r"\bthe\s+((?:[a-z][\w’'-]*\s+){0,2}?[a-z][\w’'-]*)(?=\s*(?:[?,.;:]|$|\b(?:of|in|on|at|for|to|"
                        r"with|from|that|which|who|is|are|was|were|did|does|do|has|have|had)\b))")
# 'that section', 'those groups': a thing named in the last turn, pointed at by its noun.
# As with DEMONSTRATIVE, only after a preposition or an auxiliary ('is that section', 'for that support'),
# or 'those' anywhere; not 'the problems that remain'.
POINTING_NOUN = re.compile(rf"(?:\b(?:{PREPOSITIONS}|about|of|by|is|are|was|were|did|does|do|has|have|had)\s+(?P<that>that)|"
                           r"\b(?P<those>those))\s+(?!(?:is|are|was|were|has|have|had|would|could|will|can|did|does|do|the|a|"
                           rf"an|it|they|he|she|we|there|{ORDINALS})\b)(?P<noun>[a-z][\w’'-]{{2,}})\b", re.I)
# 'that' standing alone after an auxiliary, the word after it being its predicate or its verb, not a
# noun it determines: 'Why is that controversial?', 'Did that cover the new tasks?' (but 'How was that
# situation described?', 'for that support').
PREDICATE_THAT = re.compile(r"\s*\b(?:is|are|was|were|did|does|do|has|have|had)\s+that\s+[a-z][\w’'-]*"
                            r"(?=\s*[?.!]*\s*$|\s+(?:the|a|an|to|in|on|for|of|with|by|at|so|more|less|any|it|them)\b)", re.I)
PERSON_PRONOUN = re.compile(r"\b(?:he|him|his|she|her)\b", re.I)
# A person's name: two to four capitalised words, with the acronym that may follow ('Anna Maria Berg (AMB)').
ARTICLE = re.compile(r"^(?:The|A|An|This|That)\s+")
PERSON = re.compile(r"(?<![\w’'-])(?:[A-Z][a-z’'-]+\s+){1,3}[A-Z][a-z’'-]+(?P<acronym>\s+\([A-Z]{2,}\))?")
# A name is a person's when it carries a title or is followed by its initials ('the City Council' is not).
PERSON_TITLE = r"(?:President|Minister|Secretary-General|Commander|General|Ambassador|Representative|Envoy|Chief|" \
               r"Director|Mr|Mrs|Ms|Dr)"


def head_noun(question: str) -> str | None:
    """The noun of the first thing a question names with 'the' ('strike' in 'Which was the
    first strike?'), None when it names none."""
    phrase = THE_PHRASE.search(question)
    noun = phrase.group(1).split()[-1] if phrase else None
    return None if noun is None or noun.lower() in ORDINAL_NUMBER or noun.lower() in STOPWORDS else noun


def named_phrase(noun: str, texts: Sequence[str]) -> str | None:
    """The thing the first of `texts` to name it calls by `noun` (or its singular or plural):
    'the Harbour and Ferry Service section' for 'section'; 'the ... <noun>' as the text names
    it when it gives no name. None when no text names it."""
    stem = re.escape(noun.rstrip("s"))
    for text in texts:
        titled = re.search(rf"((?:[A-Z][\w’'-]*\s+(?:(?:and|of|for|&)\s+)?)+)({stem}s?)\b", text)
        name = ARTICLE.sub("", titled.group(1)) if titled else ""
        if name:
            return f"the {name}{titled.group(2)}"
        described = re.search(rf"\bthe\s+((?:[a-z][\w’'-]*\s+){{0,2}}?{stem}s?)\b", text)
        if described:
            return f"the {described.group(1)}"
    return None


def person_named(text: str) -> str | None:
    """The first person's name in a text: two to four capitalised words not opening a sentence,
    after a title ('President', 'Force Commander') or followed by the initials ('(AMB)')."""
    for sentence in split_sentences(text) if text.strip() else []:
        for match in PERSON.finditer(sentence):
            if match.start() == 0:
                continue  # a sentence's first word is capitalised anyway
            words = match.group(0).split()
            titled = re.search(rf"\b{PERSON_TITLE}\.?\s*$", sentence[: match.start()]) \
                or re.search(rf"\b{PERSON_TITLE}\b", match.group(0))
            if not any(w.lower() in STOPWORDS for w in words) and (match.group("acronym") or titled):
                return match.group(0)
    return None


def answer_names(answer: Answer) -> list[str]:
    """The names, acronyms and numbers of an answer's first sentence, in order (none for a
    refusal): what 'it' or 'they' in the next question most often stands for ('AQIM', 'Aguelhok',
    '2019' for 'Who carried it out?'). Only these: the answer's other words pull the search away
    from what the next question asks."""
    if answer.abstained or not answer.answer.strip():
        return []
    first = re.sub(r"\s*\[\d+\]", "", split_sentences(answer.answer)[0])
    # The first word is capitalised anyway ('Although', 'However'): a name only as an acronym.
    opening = re.match(r"[\"'‘“(]*([A-Z][A-Z0-9-]+)\b", first)
    names = [opening.group(1)] if opening else []
    names += [m.group(0).strip("\"'‘“(’") for m in NAME.finditer(first)]
    return list(dict.fromkeys(names + re.findall(r"\b\d[\d,.]*\d\b|\b\d\b", first)))


def content_words(text: str) -> str:
    """The topic-bearing words of a question: not stopwords, and longer than two letters unless
    a number or an acronym ('the US', 'the AU': a follow-up must keep who was asked about)."""
    words = re.findall(r"[\w’'-]+", text)
    return " ".join(w for w in words if w.lower() not in STOPWORDS
                    and (len(w) > 2 or any(ch.isdigit() for ch in w) or ACRONYM.fullmatch(w)))


ACRONYM = re.compile(r"[A-Z][A-Z0-9]+")
# A pronoun that stands for something said earlier. 'it'/'they' as the document's voice ('What does
# it recommend?') is not one: DOCUMENT_VOICE removes those first.
PRONOUN = re.compile(r"\b(?:it|its|this|that|these|those|they|them|their|there|he|she|him|his|her|the same|the latter|"
                     r"the former|(?:which|that|this|the\s+\w+)\s+ones?)\b", re.I)
POSSESSIVES = frozenset("its their his her".split())
# A noun after an article or a possessive: what a later 'its'/'their' can stand for.
NOUN_BEFORE = re.compile(r"\b(?:the|a|an|its|their|his|her|each|every|this|these|those|some|many|most)\s+(?:[\w’'-]+\s+)?[\w’'-]{3,}",
                         re.I)
# The pronouns that stand for a thing or a person, not a place ('there') or a statement ('that').
PERSONAL = re.compile(r"\b(?:it|they|them|he|him|she|her)\b", re.I)
DOCUMENT_NAMED = r"\b(?:the|this) (?:report|study|assessment|authors?|document)\b"
DOCUMENT_VOICE = re.compile(r"\b(?:does|did|do|can|could|would|should|will)\s+(?:it|they)\s+(?:say|see|recommend|propose|"
                            r"suggest|find|identify|mention|describe|argue|conclude|consider|discuss|list|note|mean|"
                            r"cover|give|offer|outline|assess|count|name)\b|" + DOCUMENT_NAMED, re.I)
# 'there' and 'it' that stand for nothing: 'Is there a camp in the North?', 'Should there be talks?',
# 'Is it time to scale down?', 'Why is it hard to attribute effects?'.
EMPTY_SUBJECT = re.compile(r"\b(?:is|are|was|were|should|could|would|will|might|can|has|have|had)\s+there\b|"
                           r"\bthere\s+(?:is|are|was|were|be|been|has|have|had)\b|"
                           r"\b(?:is|was|isn't|wasn't)\s+it\s+(?:\w+\s+){0,2}?(?:to|that)\b|"
                           r"\bit\s+(?:is|was)\s+(?:\w+\s+){0,2}?(?:to|that)\b", re.I)
# 'those' as the people a clause describes, not people named earlier: 'those consulted', 'those who were arrested'.
PEOPLE_WHO = re.compile(r"\bthose\s+(?=(?:who|whom)\b|[a-z]+ed\b)", re.I)
# 'that' opening a clause, not pointing back: 'the request that was not met', 'say that the authors ...'.
CLAUSE_THAT = re.compile(r"\bthat\s+(?=(?:is|are|was|were|has|have|had|would|could|will|can|did|does|do|the|a|an)\b)",
                         re.I)
# 'that' as a determiner pointing back at what was just said: 'ask for that support', 'How was that
# situation described?', 'raised that first point'. Only after a preposition or an auxiliary, or
# before an ordinal, and never before a name or a clause's verb or subject: 'the request that was
# not met', 'announce that Operation Barkhane would end', 'in that it ...' do not point back. Not
# 'this' ('this mission' is the document's own) and not 'those' ('those consulted').
DEMONSTRATIVE = re.compile(rf"\b(?:{PREPOSITIONS}|about|of|by|is|are|was|were|did|does|do|has|have|had)\s+that\s+"
                           r"(?!(?:is|are|was|were|has|have|had|would|could|will|can|did|does|do|the|a|an|it|they|"
                           rf"he|she|we|there)\b)(?-i:[a-z])|\bthat\s+(?:{ORDINALS})\b", re.I)
# A relative word after a noun binds the pronoun that follows it to that noun: 'How do people see
# the army where it is deployed?', 'the groups which they fund'.
RELATIVE = re.compile(r"\b(?:where|which|who|whom)\s*$", re.I)
# Where a question starts a second clause, whose pronouns can point back to a subject the first
# clause named: 'What is the Pact and who signed it?', 'How was X regarded when it arrived?'.
CLAUSE_JOIN = re.compile(r"\b(?:and|when|because|since|after|before|if|while|until|once|or|but)\b|,", re.I)
# A definition question about a term named without an article: 'What is peacekeeping?'.
DEFINITION = re.compile(r"^\s*(?:what|who)\s+(?:is|are|was|were)\s+(?!the\b)[\w’'-]+(?:\s+[\w’'-]+){0,2}\s*\??\s*$", re.I)
# Nouns that name a thing only in relation to another ('the disadvantages' of what was discussed).
RELATIONAL_STEMS = frozenset(lexical_tokens(
    "advantages disadvantages benefits drawbacks pros cons risks costs reasons causes consequences effects "
    "results outcome impact alternatives difference differences purpose aim goal response reaction problem "
    "problems challenges obstacles limits criticism downsides upsides weaknesses strengths dangers implications "
    "lessons shortcomings merits prospects objectives"))
# A year names what a question is about: 'What happened in 2012?'.
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# A question with no name and at most this many subject words leans on the conversation for its
# subject ('Who won?', 'Were the soldiers prosecuted?').
MAX_UNNAMED_WORDS = 2
BARE_ORDINAL_REFERENCE = re.compile(rf"\bthe\s+(?:{ORDINALS}|last|next|other)(?:\s+one)?\s*\??\s*$", re.I)
# Follow-ups that are complete only with the previous turn: 'Why?', 'Why not?', 'How so?'.
BARE_WHY = re.compile(r"^\s*(?:and\s+|but\s+|so\s+)?(?:why|why not|how so|how come|in what way|"
                      r"why (?:is|was|are|were|did|does) (?:that|this|it)(?: so)?)\s*\??\s*$", re.I)
OPENER = re.compile(r"^\s*(?:and|but|also|so|then)\b[\s,]*", re.I)
MAX_ELLIPTICAL_WORDS = 4
# 'What does the second group want?': an ordinal, its noun and one word more.
MAX_LISTED_ITEM_WORDS = 3
# Words that count or compare and name nothing: 'How many fled their homes there?' has three subject words.
QUANTIFIERS = frozenset("many much few more most less least fewer several".split())
# A question opened by 'And', 'So', 'Then' continues the conversation unless it names its subject
# or has more words than this ('And who provides most of the troops?').
MAX_CONTINUING_WORDS = 3
# Words that point back rather than name a subject.
POINTING_WORDS = frozenset("one ones what's that's it's there's take same".split())
# A part named by its number ('part 2b', 'scenario 3'): the question names its subject.
NUMBERED = re.compile(r"\b[a-z]+\s+\d{1,2}[a-h]?\b(?![/.,]\d)", re.I)
# A name: a capitalised word or an acronym after the first word ('Lisbon', 'the UN', 'COVID-19').
NAME = re.compile(r"(?<=\s)[\"'‘“(]*[A-Z][\w’'-]*")


def is_follow_up(question: str, kinds: tuple[str, ...] = (), anchors: frozenset[str] = frozenset(),
                 last_words: frozenset[str] | None = None) -> bool:
    """Whether a question cannot stand on its own: 'Why?', 'What about the harbour?', 'And the
    coast?', 'And the third?', a pronoun that points outside the question in a question too short
    to name its own subject ('What are its risks?'), a question opened by 'And'/'So' that names no
    subject ('And who provides most of the troops?'), or one with no name and at most two words of
    subject ('Who won?', 'Were the soldiers prosecuted?' when the last turn, `last_words`, named
    the soldiers: see `leans_on_last_turn`) unless one of those words is an anchor:
    a word that names the documents' own subject, a chapter or a framework ('What is the
    mandate?', 'What are the main findings?', 'When was the study done?' ask about the document,
    not about the last answer; see `subject_anchors`). A question that names its subject is never a
    follow-up, however it opens ('And what does the report say about the 2015 peace agreement?'),
    and a pronoun that points to a subject the question itself names does not make it one ('What
    is the Pact for Peace and who signed it?'). A short question that names its subject with a
    noun and no article does not lean back either ('Why is cooperation difficult?', see
    `names_bare_noun`), nor does 'this' before a word naming the documents' own subject ('Is this
    mission a success?')."""
    if _topic_then_question(question):
        return False  # 'What about X, what does the report say?': the person asked it in full
    if BARE_WHY.match(question) or WHAT_ABOUT.match(question) or _bare_ordinal(question):
        return True
    rest = OPENER.sub("", question)
    if rest != question and AND_TOPIC.match(question):
        return True  # 'And the coast?': a topic with no question of its own
    words = subject_words(rest)
    if not words:  # 'Who won?'; but 'When was the study done?' is about the document itself
        return rest != question or not re.search(DOCUMENT_NAMED, rest, re.I) or pointing_pronoun(rest)
    if DEMONSTRATIVE.search(rest):
        return True  # 'How often did the Joint Force ask for that support?': 'that support' was named earlier
    if pointing_pronoun(without_own_subject(rest, anchors)):  # 'Is this mission a success?' is about the document's own
        return len([w for w in words if w not in QUANTIFIERS]) <= MAX_ELLIPTICAL_WORDS
    reference = reference_pattern(tuple(kinds))
    if NAME.search(rest) or DOCUMENT_VOICE.search(rest) or NUMBERED.search(rest) or (reference and reference.search(rest)):
        return False
    if _listed_item(rest, words, last_words):
        return True  # 'What does the second group want?': the second of the groups the last turn listed
    if rest != question:
        return len(words) <= MAX_CONTINUING_WORDS
    if anchors & set(lexical_tokens(" ".join(words))):
        return False
    if len(words) > MAX_UNNAMED_WORDS or DEFINITION.match(rest) or _year_and_subject(words) or names_bare_noun(rest):
        return False
    return last_words is None or leans_on_last_turn(rest, words, last_words)


# An item by its place in a list: 'the second group', 'the first rebellion', 'the last point'.
ORDINAL_NOUN = re.compile(rf"\bthe\s+(?:{ORDINALS}|last)\s+(?:[a-z][\w’'-]*\s+)?[a-z][\w’'-]*", re.I)


def _listed_item(question: str, words: list[str], last_words: frozenset[str] | None) -> bool:
    """Whether a question with no name asks about an item of a list by its place in it and names
    little else ('Which was the first rebellion?', 'What does the second group want?'): the list is
    the one the conversation just gave. A framework's numbered parts ('the third scenario') name
    their own subject and are caught before this."""
    found = ORDINAL_NOUN.search(question)
    if not found or len(words) > MAX_LISTED_ITEM_WORDS or _bare_ordinal(question):
        return False
    noun = lexical_tokens(found.group(0).split()[-1])
    return last_words is None or bool(set(noun) & last_words)


# 'What about <a topic>, <a question>?', 'What about civil administrators: how many are at their posts?'
TOPIC_THEN_QUESTION = re.compile(r"^\s*(?:and\s+|but\s+)?(?:what|how)\s+about\s+(?P<topic>[^,:;?]{3,}?)\s*[,:;]\s*"
                                 r"(?:what|how|why|when|who|which|where|is|are|was|were|does|do|did|has|have|can|could)\b",
                                 re.I)


def _topic_then_question(question: str) -> bool:
    """Whether the question names a topic and then asks in full about it ('What about dialogue with
    the jihadist groups, what does the report say?'; 'What about women in the army: how many
    are there?'): its pronouns stand for that topic. Not when the topic itself points back or
    only sets a place or a time ('What about there, ...', 'What about in Gao, ...'), nor an item
    by its place in a list ('What about the second one, ...')."""
    found = TOPIC_THEN_QUESTION.match(question)
    if not found:
        return False
    topic = found.group("topic")
    return bool(subject_words(topic)) and not (SETTING.match(topic) or PREPOSITION.match(topic) or pointing_pronoun(topic)
                                               or ORDINAL_WORD.search(topic) or ONE_ANAPHORA.search(f"{topic} x"))


def _year_and_subject(words: list[str]) -> bool:
    """A year with a subject names what is asked ('What happened in 2012?'); a year alone does
    not ('Why in 2015?', 'Same in 2016?')."""
    return any(YEAR.fullmatch(w) for w in words) and any(not YEAR.fullmatch(w) for w in words)


def leans_on_last_turn(question: str, words: list[str], last_words: frozenset[str]) -> bool:
    """Whether a short question with no name leans on the last turn. With no thing named by
    'the ...' it does ('Who won?', 'Why so few?'). A thing named by 'the ...' is the one just
    mentioned when the last turn said it ('Were the soldiers prosecuted?' after an answer about
    soldiers), or when it cannot be meant without another thing ('What are the disadvantages?':
    of what was just discussed); otherwise the question asks about it in the document ('Who
    trains the army?' after a turn about Kidal asks about the army, not the army in Kidal)."""
    described = [w for w in words if re.search(rf"\bthe\s+(?:[\w’'-]+\s+)?{re.escape(w)}\b", question, re.I)
                 or re.search(rf"\b{ASKED_NOUN}\s+{re.escape(w)}\s+{AUXILIARY}\b", question, re.I)
                 or re.search(rf"\b{QUANTIFIED}\s+{re.escape(w)}\b", question, re.I)]
    if not described:
        return True
    stems = set(lexical_tokens(" ".join(described)))
    if stems & last_words:
        return True
    # 'the disadvantages' are of what was just discussed; 'the problem with the quays', 'the risks
    # of a drawdown' name their own.
    return bool(stems & RELATIONAL_STEMS) and not stems - RELATIONAL_STEMS and not COMPLEMENT.search(question)


# A question word or a quantifier right before a noun that an auxiliary follows ('What equipment is
# missing?', 'Which contingent was praised?'; not 'What followed?', 'What went wrong?', 'How many were killed?').
ASKED_NOUN = r"(?:what|which|whose|so\s+many|so\s+few|how\s+many|how\s+much)"
AUXILIARY = r"(?:is|are|was|were|has|have|had|does|do|did|can|could|would|should|will|might|must)"
QUANTIFIED = r"(?:so|too|how)\s+(?:many|few|much|little)"
# A relational noun's complement: 'the risks of a drawdown', 'the benefits for the population'.
COMPLEMENT = re.compile(r"\b(?:of|for|to|with|on|in|from|between)\s+(?:the\s+|a\s+|an\s+)?[\w’'-]{3,}", re.I)


# Prepositions before a noun, not a verb ('to raise').
BARE_NOUN_PREPOSITIONS = "|".join(w for w in PREPOSITIONS.split("|") if w != "to") + "|about|of|by"
# A noun named without an article: as the subject after the question's verb ('Why is cooperation
# difficult?', 'How is success measured?', 'Is dialogue possible?'; not 'Did anything change ...?'),
# after an existential 'there' ('Are there plans to withdraw?') or after a preposition ('What is
# being done about corruption?').
BARE_NOUN = re.compile(r"^\s*(?:why|how|when|where)\s+(?:is|are|was|were|has|have|does|do|did)\s+"
                       r"(?!(?:it|they|he|she|this|that|these|those|there|the|a|an|its|their|his|her|so|being|not)\b)"
                       r"[a-z][\w’'-]+\s+[a-z]|"
                       r"^\s*(?:is|are|was|were|has|have|does|do|did|can|could|will|would|should)\s+"
                       r"(?!(?:it|they|he|she|we|you|this|that|these|those|there|the|a|an|its|their|his|her|so|not|"
                       r"anything|something|everything|nothing|anyone|someone|everyone|anybody|somebody|nobody)\b)"
                       r"[a-z][\w’'-]+\s+[a-z]|"
                       r"^\s*(?:is|are|was|were)\s+there\s+(?!(?:any|more|other|some)\b)[a-z][\w’'-]+|"
                       rf"\b(?:{BARE_NOUN_PREPOSITIONS})\s+(?!(?:it|them|him|her|this|that|these|those|there|then|the|a|an|"
                       r"its|their|his|her|what|which|whom)\b)[a-z][\w’'-]{3,}", re.I)


def names_bare_noun(question: str) -> bool:
    """Whether a short question names its subject with a noun and no article ('Why is
    cooperation difficult?'), so it need not lean on the last turn ('Who won?', 'Why so few?' do)."""
    return bool(BARE_NOUN.search(question))


THIS_NOUN = re.compile(r"\b(?:this|these)\s+([\w’'-]+)", re.I)


def without_own_subject(question: str, anchors: frozenset[str]) -> str:
    """The question with 'this' blanked where it comes before a word that names the documents'
    own subject ('Is this mission a success?', 'this report'): it points at nothing said in the
    conversation."""
    def own(match: re.Match) -> str:
        stems = lexical_tokens(match.group(1))
        return " " * len(match.group(0)) if stems and set(stems) <= anchors else match.group(0)
    return THIS_NOUN.sub(own, question)


# How a reader names a report and its parts, whatever the report.
SELF_REFERENCE = "report study document paper author authors finding findings recommendation recommendations " \
                 "conclusion conclusions summary"
# Words common in any report that do not name its subject: 'Were there other attacks?' follows on.
NOT_ANCHORS = frozenset("other others more most many much between however see general also".split())


def subject_anchors(subject_names: Sequence[str], chapter_titles: Sequence[str], kinds: Sequence[str],
                    common_words: frozenset[str]) -> frozenset[str]:
    """The stemmed words that, as a short question's subject, make it a question about the
    documents rather than about the last answer: the documents' subject names, the words of their
    chapter titles, their framework kinds, the words in more than a tenth of their passages
    ('mandate', 'mission'), and the words a reader names any report by ('report', 'findings')."""
    texts = [*subject_names, *(plain_title(t) for t in chapter_titles), *kinds, SELF_REFERENCE]
    words = {t for text in texts for t in lexical_tokens(text)} | set(common_words)
    excluded = set(lexical_tokens(" ".join(NOT_ANCHORS)))
    return frozenset(w for w in words if w not in excluded and not w.isdigit())


def _bare_ordinal(question: str) -> bool:
    """'What is the third one?' points back; 'How many challenges does it list, and what is the
    first?' counts within the question."""
    ordinal = BARE_ORDINAL_REFERENCE.search(question)
    if not ordinal:
        return False
    joins = list(CLAUSE_JOIN.finditer(question[: ordinal.start()]))
    return not (joins and subject_words(question[: joins[-1].start()]))


def _blank(pattern: re.Pattern, text: str) -> str:
    """Text with the pattern's matches replaced by spaces (positions kept)."""
    return pattern.sub(lambda match: " " * len(match.group(0)), text)


def pointing_pronoun(question: str, pronouns: re.Pattern = PRONOUN) -> bool:
    """Whether a pronoun of the question points outside it: not the document's voice, not an
    empty 'there is'/'is it time to', not a clause-opening 'that', and not a pronoun whose subject
    the question named before it (a possessive after a subject word, 'the agency used its offices';
    any pronoun in a clause after one that names something, 'What is the Pact and who signed
    it?', but not 'Did anything change after it was signed?'). `pronouns` narrows the pronouns looked at."""
    text = question
    for pattern in (CLAUSE_THAT, DOCUMENT_VOICE, EMPTY_SUBJECT, PEOPLE_WHO):
        text = _blank(pattern, text)
    return any(not _bound_within(text, match) for match in pronouns.finditer(text))


def _bound_within(text: str, pronoun: re.Match) -> bool:
    before = text[: pronoun.start()]
    if pronoun.group(0).lower() in POSSESSIVES:
        # Bound to a noun named before it ('How has the UN used its good offices?', 'the agency
        # used its offices'), not to a verb ('Who supports its mediation?' points back).
        # A name after it binds it too: 'How much of its territory does the Malian government control?'
        return bool(NAME.search(before) or NOUN_BEFORE.search(before) or NAME.search(text[pronoun.end():]))
    relative = RELATIVE.search(before)
    if relative and subject_words(before[: relative.start()]):
        return True  # 'the army where it is deployed'
    joins = list(CLAUSE_JOIN.finditer(before))
    return bool(joins) and bool(NAME.search(before[: joins[-1].start()]))


def subject_words(question: str) -> list[str]:
    """Words that can name what a question is about (not stopwords, not the document's voice)."""
    words = content_words(DOCUMENT_VOICE.sub(" ", question)).lower().replace("’", "'").split()
    return [w for w in words if w not in POINTING_WORDS]
