"""What a disclosure pack withholds of other people's personal data, and the log that says so.

A disclosure pack is a copy of everything Scrutiny holds about one person. Much of it comes from
source systems that also name other people: the officer who authorised an overtime claim, the
record of a member of the public looked up on the Police National Computer, a colleague named in a
decision's reasons. A ``Redactor`` is built once per pack, for the person it is about, and every
piece of text or evidence payload that may name someone passes through it on its way into the
pack. What it withholds is replaced by a fixed marker saying what kind of thing was there, and
recorded in its ``log``: where, what kind, and why, never the value itself.

What is withheld (``Kind``):

- **another person's staff number**: any whole token of a text, or of a string anywhere in a
  payload, equal to the staff number of someone else in the workforce register, or any part of
  one joined by ``-``, ``/``, ``_`` or a point (``104233/777777``, ``104233-PC``,
  ``staff_104233``), except in the source systems' record ids and in dates; and a JSON number
  equal to one under a key that names a person or people (``authorised_by``, ``officers``,
  ``manager``...), however deep (``{"authorised_by": {"id": 104233}}``). A number that is
  nobody's staff number is kept, and so is a number under any other key (the hours of a claim
  that happen to equal someone's staff number say nothing about them).
- **another person's name**: the full name of someone else in the register, matched as whole
  words (any case, a possessive ``'s`` left in place), wherever it appears, as written or surname
  first after a comma ("Smith, Jane"). Only full names of two words or more: a surname alone, a
  nickname, or a one-word name is not recognised.
- **a third party's record reference**: a reference to a record in a police system about people
  (``PER-``, ``VEH-``, ``ADR-``, ``CRI-``, ``INT-``), anywhere in a text, and whatever value a
  payload holds under ``record_ref``. A vehicle record names its registered keeper, an address
  its occupants; the person the pack is about may have access to the system and so could identify
  them.
- **details of a third party**: everything under a payload key naming a third party or third
  parties (``complainant``, ``witnesses``, ``victim``, ``suspect``, ``informant``, ``caller``,
  ``next_of_kin``), and every key under it that is not a field's name (a witness's name used as
  a key).

Payload keys are a source's field names, and kept; but a key that is itself one of the above (a
source keying its values by staff number or name: ``{"approvals": {"104233": "yes"}}``) is
replaced by the marker, as its value would be, numbered if two in one object would be the same.

What is never withheld:

- the identifiers of the person the pack is about: their staff number and their name (nor
  another person's name where it is the same as theirs, which cannot be told apart);
- the names of the people who acted on the record in an official capacity (``officials``: the
  reviewers and senior reviewers who made its decisions, the data stewards who decided its
  challenges, those who viewed it as the access log shows): they act for the force on this
  record, and the person is entitled to know who decided about them and who looked. Their
  usernames, which the pack shows beside each decision and view, are not passed through it; their
  staff numbers, which appear only in source records where they did not act on this record, are
  withheld like anyone's;
- detector names and versions, rules, categories, source-system names, record ids, the names of
  a flag's factors and payload keys (the source system's field names, not data) unless they are
  one of the above: the caller passes only the text, payloads and factors that may name people
  through the redactor.

Cost: the register is read in one query (``values_list`` of staff numbers, names and linked user
ids), the staff numbers into a set and the names into an index by their first word (as written
and surname first), so that a text is scanned once, word by word, each word looked up in a
dictionary and compared with the few names that begin with it, whatever the size of the
force. For 46,000 people, reading and indexing the register takes 0.2 to 0.3 s, and redacting an
evidence record's payload and summary about a tenth of a millisecond
(docs/decisions/0028-what-a-disclosure-pack-redacts.md has the figures).

Deterministic: the same register and the same calls give the same output and the same log, which
is sorted by place (numbers in it compared as numbers) and then kind, with one entry per place
and kind counting how many were withheld there.
"""

import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flags.models import Subject


class Kind(enum.StrEnum):
    """What kind of thing was withheld, as the marker and the log name it."""

    STAFF_NUMBER = "another person's staff number"
    NAME = "another person's name"
    RECORD_REFERENCE = "a third party's record reference"
    THIRD_PARTY = "details of a third party"


def marker(kind: Kind) -> str:
    """The text that stands in the pack where something of ``kind`` was withheld."""
    return f"[redacted: {kind}]"


_GROUNDS = (
    "Withheld as personal data of someone other than the person this pack is about: a copy "
    "of a person's data must not adversely affect the rights and freedoms of others (UK GDPR "
    "Article 15(4)), and the Data Protection Act 2018, Schedule 2, paragraph 16 does not "
    "oblige a controller to disclose information relating to another individual who can be "
    "identified from it, unless they consent or it is reasonable to disclose it without "
    "their consent."
)

# Why each kind is withheld, as the log says it: what the thing is, then the grounds.
WHY: Mapping[Kind, str] = {
    Kind.STAFF_NUMBER: f"A staff number identifies another member of the workforce. {_GROUNDS}",
    Kind.NAME: (
        "The name of another member of the workforce, who did not act on this record in an "
        f"official capacity. {_GROUNDS}"
    ),
    Kind.RECORD_REFERENCE: (
        "A reference to a police system's record of a person, a vehicle, an address, a crime or "
        "intelligence: the people that record is about can be identified from it by anyone with "
        "access to the system, as the person this pack is about may have (paragraph "
        f"16(4)(b)(ii)). {_GROUNDS}"
    ),
    Kind.THIRD_PARTY: (
        "What a source record says of a third party (a complainant, witness, victim, suspect, "
        f"informant, caller or next of kin). {_GROUNDS}"
    ),
}

# For the pack's redaction log, before its entries.
LOG_INTRODUCTION = (
    "Some of what Scrutiny holds about you also concerns other people. Where this pack would "
    "show another person's staff number or name, a reference to a police record about other "
    "people, or what a record says of a third party, it shows a marker saying what kind of "
    "thing was there instead. This log lists each place, the kind of thing withheld there, "
    "how many, and why; it never repeats what was withheld. Your own staff number and name are "
    "never withheld, nor the names and usernames of the people who made decisions about you "
    "or looked at your record, nor the detectors that flagged you. The markers are placed by "
    "fixed rules, not by a person weighing each item, and may withhold more than a person "
    "would: you may ask the force to consider disclosing any of it, which the law allows where "
    "the other person consents or it is reasonable to disclose it without their consent."
)


@dataclass(frozen=True)
class Redaction:
    """One line of the redaction log: at ``where``, ``count`` things of ``kind`` were withheld,
    for the reason ``why``."""

    where: str
    kind: Kind
    why: str
    count: int


# References to records in police systems that are about people: the synthetic force's person,
# vehicle, address, crime report and intelligence report records (detectors/synthetic_force.py).
RECORD_PREFIXES = ("PER", "VEH", "ADR", "CRI", "INT")
_RECORD_REFERENCE = re.compile(
    rf"(?<![0-9A-Za-z-])(?:{'|'.join(RECORD_PREFIXES)})-[0-9]+(?![0-9A-Za-z-])"
)
# Payload keys whose string value is a reference to the record a look-up touched.
RECORD_REFERENCE_KEYS = frozenset({"record_ref", "record_refs"})

# A token: letters and digits, joined by - / _ or a decimal point. A token equal to a staff
# number is withheld whole; otherwise each of its parts is compared (_PART), so that a staff number
# written with something else (104233/777777, 104233-PC, staff_104233) is found, unless the token
# is kept whole (_WHOLE).
_TOKEN = re.compile(r"[0-9A-Za-z]+(?:[-/_][0-9A-Za-z]+|\.[0-9]+)*")
# A part of a token: a decimal (202601.5) is one part, anything else is split at - / _ and points.
_PART = re.compile(r"[0-9]+(?:\.[0-9]+)+|[0-9A-Za-z]+")
# A staff number compared as one token, or a part of one; any other is matched by a pattern.
_PLAIN = re.compile(r"[0-9A-Za-z]+")
# The source systems' record ids (overtime claims OT-202601-000294, sickness ABS-, IT access ACC-,
# complaints CMP-, incidents INC-260116) and dates: tokens kept whole, since a year and month in
# them can equal a staff number in the synthetic force's range of 100000 to 999999.
RECORD_ID_PREFIXES = ("OT", "ABS", "ACC", "CMP", "INC")
_WHOLE = re.compile(
    rf"(?:{'|'.join(RECORD_ID_PREFIXES)})(?:-[0-9]+)+"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:T[0-9]{1,2})?"
    r"|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}",
    re.IGNORECASE,
)
# A word of a name: letters, joined by an apostrophe or a hyphen (O'Brien, Smith-Jones).
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
_POSSESSIVE = ("'s", "\u2019s", "'S", "\u2019S")

# Words of a payload key saying that its value is a person (by their staff number), each in the
# singular: a plural (officers, approvers) is taken as its singular (_key_words).
PERSON_KEY_WORDS = frozenset(
    {
        "by",
        "officer",
        "staff",
        "employee",
        "colleague",
        "manager",
        "supervisor",
        "authoriser",
        "authorizer",
        "approver",
        "reviewer",
        "user",
        "person",
        "people",
        "subject",
        "collar",
        "shoulder",
    }
)
# Words of a payload key saying that its value is about a third party: everything under it goes,
# and the keys under it that are not field names (a witness's name used as a key).
THIRD_PARTY_KEY_WORDS = frozenset(
    {"complainant", "witness", "victim", "suspect", "informant", "caller", "kin"}
)
_KEY_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
# A payload key that is a field's name (letters and digits, joined by - _ or a point, beginning
# with a letter), not data: under a third party's key, any other key is withheld.
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")


def _key_words(key: str) -> set[str]:
    """The words of a payload key: authorised_by, authorisedBy and Authorised-By alike, each
    with the singulars it may be the plural of (witnesses: witnesse, witness), so that a key
    listing people is read as one naming a person."""
    words: set[str] = set()
    for word in _KEY_WORD.findall(key):
        word = word.lower()
        words.add(word)
        if word.endswith("s"):
            words.update((word[:-1], word[:-2]))
    return words


Span = tuple[int, int, Kind]


@dataclass(frozen=True)
class _Word:
    folded: str
    start: int
    end: int


class Redactor:
    """Withholds other people's personal data from one person's disclosure pack, and logs where.

    Build it with ``for_subject`` (one query), or directly from a register for tests and
    benchmarks: ``own_staff_number`` and ``own_name`` are the person the pack is about,
    ``register`` every person in the workforce register as (staff number, name) pairs (the person
    themselves may be among them), and ``kept_names`` the names of the people who acted on the
    record in an official capacity, which are never withheld.
    """

    def __init__(
        self,
        *,
        own_staff_number: str,
        own_name: str,
        register: Iterable[tuple[str, str]],
        kept_names: Iterable[str] = (),
    ) -> None:
        self.own_staff_number = own_staff_number
        self.own_name = own_name
        own = own_staff_number.casefold()
        simple: set[str] = set()
        awkward: set[str] = set()
        # A name's words -> whether it is withheld (True) or kept (False); and the same for the
        # name written surname first ("Smith, Jane"), as source systems and lists often do.
        names: dict[tuple[str, ...], bool] = {}
        surnames_first: dict[tuple[str, ...], bool] = {}
        for staff_number, name in register:
            number = staff_number.strip().casefold()
            if number == own:
                continue
            if number:
                (simple if _PLAIN.fullmatch(number) else awkward).add(number)
            words = _name_words(name)
            if len(words) >= 2:
                names.setdefault(words, True)
                surnames_first.setdefault(_surname_first(words), True)
        for name in (own_name, *kept_names):
            words = _name_words(name)
            if len(words) >= 2:
                names[words] = False
                surnames_first[_surname_first(words)] = False
        self._staff_numbers = frozenset(simple)
        # Staff numbers that are not letters and digits alone (rare: with spaces, hyphens or other
        # punctuation) are found by one pattern of them all, longest first.
        self._awkward = (
            re.compile(
                r"(?<![0-9A-Za-z])(?:"
                + "|".join(re.escape(n) for n in sorted(awkward, key=lambda n: (-len(n), n)))
                + r")(?![0-9A-Za-z])",
                re.IGNORECASE,
            )
            if awkward
            else None
        )
        self._names = names
        self._surnames_first = surnames_first
        lengths: dict[str, set[int]] = {}
        for words in (*names, *surnames_first):
            lengths.setdefault(words[0], set()).add(len(words))
        # The index by first word: for each, the lengths of the names beginning with it, longest
        # first, so that the longest name at a place wins.
        self._lengths = {first: sorted(held, reverse=True) for first, held in lengths.items()}
        self._counts: dict[tuple[str, Kind], int] = {}

    @classmethod
    def for_subject(cls, subject: Subject, *, officials: Iterable[int] = ()) -> "Redactor":
        """A redactor for ``subject``'s pack, reading the register in one query. ``officials``
        are the user ids of the people who acted on the record in an official capacity (who made
        its decisions, decided its challenges, viewed it): their names are kept."""
        official_ids = set(officials)
        rows = Subject.objects.values_list("staff_number", "name", "user_id")
        register: list[tuple[str, str]] = []
        kept: list[str] = []
        for staff_number, name, user_id in rows:
            register.append((staff_number, name))
            if user_id is not None and user_id in official_ids:
                kept.append(name)
        return cls(
            own_staff_number=subject.staff_number,
            own_name=subject.name,
            register=register,
            kept_names=kept,
        )

    # --- redacting ------------------------------------------------------------------------------

    def redact_text(self, text: str, *, where: str) -> str:
        """``text`` with other people's staff numbers, names and record references replaced by
        markers, each logged at ``where`` (which should name the place in the pack, such as
        "Flag 12, explanation")."""
        if not text:
            return text
        spans = self._spans(text)
        if not spans:
            return text
        place = self._clean(where)
        for _start, _end, kind in spans:
            self._note(place, kind)
        return _replace(text, spans)

    def redact_payload(self, payload: Any, *, where: str) -> Any:
        """A copy of the JSON value ``payload`` with other people's data in its values and keys
        replaced by markers, each logged at ``where`` and the field's path, such as "Flag 12,
        evidence record payroll-overtime OT-202601-000294, field authorised_by" (list items
        counted from 1: ``claims[2].authorised_by``). A key is data where a source keys its
        values by person ({"approvals": {"773812": "yes"}}): such a key is shown and logged as
        the marker in its place (``approvals.[redacted: another person's staff number]``),
        numbered from the second in the same object so that no value is lost."""
        return self._value(payload, where, (), person=False, third_party=False, ref=False)

    @property
    def log(self) -> list[Redaction]:
        """What was withheld, where and why: one entry per place and kind, ordered by place
        (numbers in it compared as numbers) and then kind."""
        entries = [
            Redaction(where=where, kind=kind, why=WHY[kind], count=count)
            for (where, kind), count in self._counts.items()
        ]
        return sorted(
            entries, key=lambda entry: (_natural(entry.where), entry.where, str(entry.kind))
        )

    # --- the rules ------------------------------------------------------------------------------

    def _value(
        self,
        value: Any,
        where: str,
        path: tuple[str, ...],
        *,
        person: bool,
        third_party: bool,
        ref: bool,
    ) -> Any:
        if isinstance(value, dict):
            copy: dict[str, Any] = {}
            # A person's or third party's key, or a record reference's, marks everything under
            # it, however deep: {"authorised_by": {"id": 773812}} is the authoriser's number.
            for (key, item), label in zip(
                value.items(), self._labels(value, where, path, third_party), strict=True
            ):
                words = _key_words(str(key))
                copy[label] = self._value(
                    item,
                    where,
                    (*path, f".{label}"),
                    person=person or bool(words & PERSON_KEY_WORDS),
                    third_party=third_party or bool(words & THIRD_PARTY_KEY_WORDS),
                    ref=ref or str(key).lower() in RECORD_REFERENCE_KEYS,
                )
            return copy
        if isinstance(value, list):
            return [
                self._value(
                    item,
                    where,
                    (*path, f"[{position}]"),
                    person=person,
                    third_party=third_party,
                    ref=ref,
                )
                for position, item in enumerate(value, start=1)
            ]
        if value is None or isinstance(value, bool):
            return value
        place = _place(where, path)
        if third_party and isinstance(value, str | int | float) and value != "":
            return self._withhold(place, Kind.THIRD_PARTY)
        if isinstance(value, str):
            if ref and value.strip():
                return self._withhold(place, Kind.RECORD_REFERENCE)
            return self.redact_text(value, where=place)
        if isinstance(value, int | float) and person and self._is_staff_number(value):
            return self._withhold(place, Kind.STAFF_NUMBER)
        return value

    def _labels(
        self, value: dict[Any, Any], where: str, path: tuple[str, ...], third_party: bool
    ) -> list[str]:
        """The keys of ``value`` as the pack shows them, in order: a key holding something the
        rules withhold (under a third party's key, any key that is not a field name) is replaced
        by markers, each logged at its field; one replaced key that would be the same as another
        key is numbered (" (2)"), so that the copy keeps every value."""
        found: list[tuple[str, list[Span]]] = []
        for key in value:
            text = str(key)
            if third_party and text and not _FIELD_NAME.fullmatch(text):
                found.append((text, [(0, len(text), Kind.THIRD_PARTY)]))
            else:
                found.append((text, self._spans(text)))
        taken = {text for text, spans in found if not spans}
        labels: list[str] = []
        for text, spans in found:
            if not spans:
                labels.append(text)
                continue
            label = replaced = _replace(text, spans)
            number = 1
            while label in taken:
                number += 1
                label = f"{replaced} ({number})"
            taken.add(label)
            place = self._clean(_place(where, (*path, f".{label}")))
            for _start, _end, kind in spans:
                self._note(place, kind)
            labels.append(label)
        return labels

    def _is_staff_number(self, number: int | float) -> bool:
        if isinstance(number, float):
            if not number.is_integer():
                return False
            number = int(number)
        return str(number) in self._staff_numbers

    def _withhold(self, where: str, kind: Kind) -> str:
        self._note(self._clean(where), kind)
        return marker(kind)

    def _note(self, where: str, kind: Kind) -> None:
        self._counts[(where, kind)] = self._counts.get((where, kind), 0) + 1

    def _clean(self, where: str) -> str:
        """The place as the log names it, with anything the rules withhold replaced as well, so
        that the log never repeats what was withheld (a payload key may be a staff number)."""
        spans = self._spans(where)
        return _replace(where, spans) if spans else where

    def _spans(self, text: str) -> list[Span]:
        """Where in ``text`` something is withheld: non-overlapping, in order, the longest at a
        place winning."""
        found: list[Span] = [
            (match.start(), match.end(), Kind.RECORD_REFERENCE)
            for match in _RECORD_REFERENCE.finditer(text)
        ]
        numbers = self._staff_numbers
        for match in _TOKEN.finditer(text):
            token = match.group()
            if token.casefold() in numbers:
                found.append((match.start(), match.end(), Kind.STAFF_NUMBER))
            elif not token.isalnum() and not _WHOLE.fullmatch(token):
                at = match.start()
                found.extend(
                    (at + part.start(), at + part.end(), Kind.STAFF_NUMBER)
                    for part in _PART.finditer(token)
                    if part.group().casefold() in numbers
                )
        if self._awkward is not None:
            found.extend(
                (match.start(), match.end(), Kind.STAFF_NUMBER)
                for match in self._awkward.finditer(text)
            )
        found.extend(self._name_spans(text))
        if len(found) > 1:
            found.sort(key=lambda span: (span[0], span[0] - span[1], str(span[2])))
        chosen: list[Span] = []
        reached = 0
        for span in found:
            if span[0] >= reached:
                chosen.append(span)
                reached = span[1]
        return chosen

    def _name_spans(self, text: str) -> Iterator[Span]:
        """Other people's full names in ``text``, word by word: at each word, the names that
        begin with it are tried, longest first; the person's own name and the officials' are
        matched too, so that no part of them is taken for someone else's."""
        lengths = self._lengths
        words = [
            _Word(match.group().casefold(), match.start(), match.end())
            for match in _WORD.finditer(text)
        ]
        count = len(words)
        i = 0
        while i < count:
            tried = lengths.get(words[i].folded)
            step = 1
            if tried:
                for length in tried:
                    found = self._name_at(text, words, i, length)
                    if found is not None:
                        end, withheld = found
                        if withheld:
                            yield (words[i].start, end, Kind.NAME)
                        step = length
                        break
            i += step

    def _name_at(
        self, text: str, words: list[_Word], i: int, length: int
    ) -> tuple[int, bool] | None:
        """Whether the ``length`` words from ``words[i]`` are a name in the index, as written
        ("Jane Smith") or surname first after a comma ("Smith, Jane"): where it ends and whether
        it is withheld; None if they are not. Every name has two words or more."""
        last = i + length - 1
        if last >= len(words):
            return None
        for j in range(i + 1, last):
            if not _joins_name(text[words[j].end : words[j + 1].start], words[j].folded):
                return None
        first_gap = text[words[i].end : words[i + 1].start]
        if _joins_name(first_gap, words[i].folded):
            index = self._names
        elif first_gap[:1] == "," and (first_gap[1:] == "" or first_gap[1:].isspace()):
            index = self._surnames_first
        else:
            return None
        key = tuple(word.folded for word in words[i : last + 1])
        withheld = index.get(key)
        if withheld is not None:
            return words[last].end, withheld
        original = text[words[last].start : words[last].end]
        if original.endswith(_POSSESSIVE):
            key = (*key[:-1], original[:-2].casefold())
            withheld = index.get(key)
            if withheld is not None:
                return words[last].end - 2, withheld
        return None


def _name_words(name: str) -> tuple[str, ...]:
    return tuple(match.group().casefold() for match in _WORD.finditer(name))


def _surname_first(words: tuple[str, ...]) -> tuple[str, ...]:
    """A name's words as written surname first: the last word, then the others in order."""
    return (words[-1], *words[:-1])


def _joins_name(gap: str, before: str) -> bool:
    """Whether two words separated by ``gap`` can be words of one name: white space, or a full
    stop and white space after an initial ("J. Smith")."""
    if gap and gap.isspace():
        return True
    return len(before) == 1 and gap.startswith(".") and gap[1:] != "" and gap[1:].isspace()


def _replace(text: str, spans: list[Span]) -> str:
    parts: list[str] = []
    at = 0
    for start, end, kind in spans:
        parts.append(text[at:start])
        parts.append(marker(kind))
        at = end
    parts.append(text[at:])
    return "".join(parts)


def _place(where: str, path: tuple[str, ...]) -> str:
    if not path:
        return where
    return f"{where}, field {''.join(path).removeprefix('.')}"


_DIGITS = re.compile(r"(\d+)")


def _natural(where: str) -> tuple[str | int, ...]:
    """A sort key comparing the numbers in a place as numbers: "Flag 9" before "Flag 12". The
    split alternates text and digits, so like is always compared with like."""
    return tuple(
        int(part) if position % 2 else part for position, part in enumerate(_DIGITS.split(where))
    )
