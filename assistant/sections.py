"""A section path: where a passage sits in its document, as the chain of headings from the
chapter down ('V. Protection and Stabilisation > Protection of civilians').

It is a `str` on purpose: chunks.jsonl, the answer JSON and the app have always carried the path
as one string joined by ' > ', and they still do; the type gives the code one place that knows how
to take it apart instead of splitting on the separator wherever a part is needed."""

from __future__ import annotations

from collections.abc import Iterable

SEPARATOR = " > "


class SectionPath(str):
    """Headings from the chapter down, joined by ' > '."""

    __slots__ = ()

    @classmethod
    def of(cls, headings: Iterable[str]) -> SectionPath:
        """The path of a chain of headings."""
        return cls(SEPARATOR.join(headings))

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.split(SEPARATOR)) if self else ()

    @property
    def title(self) -> str:
        """The innermost heading: the section's own title."""
        return self.rsplit(SEPARATOR, 1)[-1]

    @property
    def chapter(self) -> str:
        """The outermost heading."""
        return self.split(SEPARATOR, 1)[0]

    @property
    def parent(self) -> SectionPath | None:
        """The enclosing section, or None for a chapter."""
        return SectionPath(self.rsplit(SEPARATOR, 1)[0]) if SEPARATOR in self else None

    def contains(self, other: str) -> bool:
        """Whether `other` is this section or one of its sub-sections."""
        return other == self or other.startswith(self + SEPARATOR)
