"""The people of a synthetic force: who holds each post, and how each behaves.

Appointments give each post a staff number, a name, a working pattern and an equality profile in
proportions like those of forces in England and Wales, with some fields not recorded. Traits are
the hidden propensities the extracts are drawn from (never written to the HR extract), including
the seeded patterns for the reference detectors and one known bias: disabled and part-time staff
have more frequent short sickness spells.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.extracts import WORKFORCE_COLUMNS
from detectors.force_structure import TEAM_LEVEL, Post, build_structure

Row = tuple[str, ...]
Weights = Sequence[tuple[str, float]]


@dataclass(frozen=True)
class Person:
    staff_number: str
    name: str
    rank: str
    role: str
    unit: str
    line_manager: str
    working_pattern: str
    employment_type: str
    sex: str
    ethnicity: str
    disability: str
    age_band: str
    long_term_sickness: str

    def row(self) -> Row:
        return tuple(getattr(self, column) for column in WORKFORCE_COLUMNS)


FEMALE_NAMES = (
    "Aisha", "Amelia", "Amy", "Charlotte", "Chloe", "Claire", "Deborah", "Eleanor", "Emily",
    "Emma", "Fatima", "Grace", "Hannah", "Helen", "Isla", "Jade", "Jasmine", "Jennifer", "Karen",
    "Katie", "Laura", "Lucy", "Megan", "Nadia", "Natalie", "Olivia", "Priya", "Rachel", "Rebecca",
    "Ruth", "Samantha", "Sarah", "Sophie", "Zainab", "Zoe", "Joanne", "Lisa", "Nicola", "Mei",
    "Abena",
)  # fmt: skip
MALE_NAMES = (
    "Adam", "Ahmed", "Alex", "Andrew", "Ben", "Callum", "Chris", "Daniel", "David", "Dylan",
    "Gareth", "George", "Harry", "Imran", "Jack", "James", "Jamal", "Jordan", "Kieran", "Kwame",
    "Liam", "Luke", "Mark", "Matthew", "Michael", "Mohammed", "Nathan", "Oliver", "Owen", "Paul",
    "Raj", "Richard", "Ryan", "Sam", "Scott", "Simon", "Stephen", "Thomas", "Tom", "Wei",
)  # fmt: skip
SURNAMES = (
    "Ahmed", "Allen", "Bailey", "Baker", "Begum", "Bell", "Brown", "Campbell", "Carter", "Chen",
    "Clarke", "Cooper", "Davies", "Edwards", "Evans", "Green", "Hall", "Harris", "Hill", "Hughes",
    "Hussain", "Jackson", "James", "Jones", "Khan", "King", "Lewis", "Martin", "Mensah", "Morgan",
    "Morris", "Murphy", "Okafor", "Owen", "Patel", "Phillips", "Price", "Roberts", "Robinson",
    "Shah", "Singh", "Smith", "Taylor", "Thomas", "Thompson", "Walker", "Ward", "Watson", "White",
    "Williams", "Wilson", "Wood", "Wright", "Young", "Kaur", "Nowak", "O'Brien", "Reid", "Grant",
    "Ali",
)  # fmt: skip

SEX = {
    "officer": (("male", 0.64), ("female", 0.33), ("other", 0.002), ("prefer_not_to_say", 0.008)),
    "staff": (("female", 0.61), ("male", 0.36), ("other", 0.003), ("prefer_not_to_say", 0.012)),
    "pcso": (("female", 0.48), ("male", 0.50), ("other", 0.003), ("prefer_not_to_say", 0.01)),
    "special_constable": (("male", 0.68), ("female", 0.30), ("prefer_not_to_say", 0.01)),
}
ETHNICITY = (
    ("white", 0.86),
    ("asian", 0.05),
    ("black", 0.025),
    ("mixed", 0.025),
    ("other", 0.01),
    ("prefer_not_to_say", 0.01),
)
DISABLED = {"officer": 0.05, "staff": 0.09, "pcso": 0.07, "special_constable": 0.04}
AGE_BANDS = {
    "front line": (
        ("under_25", 0.14),
        ("25_34", 0.36),
        ("35_44", 0.26),
        ("45_54", 0.17),
        ("55_plus", 0.05),
    ),
    "supervisor": (("25_34", 0.22), ("35_44", 0.42), ("45_54", 0.30), ("55_plus", 0.06)),
    "senior": (("35_44", 0.30), ("45_54", 0.55), ("55_plus", 0.15)),
}
PATTERNS = {
    "officer": (
        ("full_time", 0.86),
        ("part_time", 0.09),
        ("compressed_hours", 0.04),
        ("job_share", 0.01),
    ),
    "staff": (
        ("full_time", 0.68),
        ("part_time", 0.24),
        ("compressed_hours", 0.05),
        ("job_share", 0.03),
    ),
    "pcso": (("full_time", 0.80), ("part_time", 0.17), ("compressed_hours", 0.03)),
    # Special constables are volunteers who give a few shifts a month.
    "special_constable": (("part_time", 1.0),),
}
# Share of each equality field left empty ("not recorded") in the HR extract.
NOT_RECORDED = {
    "sex": 0.02,
    "ethnicity": 0.025,
    "disability": 0.10,
    "age_band": 0.02,
    "long_term_sickness": 0.06,
}


def pick(rng: random.Random, weights: Weights) -> str:
    return rng.choices([value for value, _ in weights], [weight for _, weight in weights])[0]


def _maybe_unrecorded(rng: random.Random, field: str, value: Callable[[], str]) -> str:
    return "" if rng.random() < NOT_RECORDED[field] else value()


def _appoint(rng: random.Random, post: Post, staff_number: str, manager: str) -> Person:
    employment = post.employment_type
    sex = _maybe_unrecorded(rng, "sex", lambda: pick(rng, SEX[employment]))
    names = {"female": FEMALE_NAMES, "male": MALE_NAMES}.get(sex, FEMALE_NAMES + MALE_NAMES)
    name = f"{rng.choice(names)} {rng.choice(SURNAMES)}"
    ethnicity = _maybe_unrecorded(rng, "ethnicity", lambda: pick(rng, ETHNICITY))
    disability = _maybe_unrecorded(
        rng,
        "disability",
        lambda: pick(
            rng,
            (
                ("yes", DISABLED[employment]),
                ("prefer_not_to_say", 0.02),
                ("no", 0.98 - DISABLED[employment]),
            ),
        ),
    )
    seniority = "front line" if post.level == 0 else "supervisor" if post.level <= 2 else "senior"
    age_band = _maybe_unrecorded(rng, "age_band", lambda: pick(rng, AGE_BANDS[seniority]))
    long_term = 0.03 + (0.06 if disability == "yes" else 0)
    long_term_sickness = _maybe_unrecorded(
        rng,
        "long_term_sickness",
        lambda: pick(
            rng, (("yes", long_term), ("prefer_not_to_say", 0.01), ("no", 0.99 - long_term))
        ),
    )
    patterns = PATTERNS[employment] if post.level <= TEAM_LEVEL else (("full_time", 1.0),)
    if sex == "female" and employment in ("officer", "staff"):
        # Part-time and job-share working is far more common among women in the service.
        patterns = tuple(
            (p, w * (2.0 if p in ("part_time", "job_share") else 1.0)) for p, w in patterns
        )
    return Person(
        staff_number=staff_number,
        name=name,
        rank=post.rank,
        role=post.role,
        unit=post.unit,
        line_manager=manager,
        working_pattern=pick(rng, patterns),
        employment_type=employment,
        sex=sex,
        ethnicity=ethnicity,
        disability=disability,
        age_band=age_band,
        long_term_sickness=long_term_sickness,
    )


def appoint_people(posts: Sequence[Post], seed: int) -> list[Person]:
    rng = random.Random(f"{seed}:workforce")
    numbers = [str(n) for n in rng.sample(range(100_000, 1_000_000), len(posts))]
    return [
        _appoint(rng, post, numbers[i], numbers[post.manager] if post.manager is not None else "")
        for i, post in enumerate(posts)
    ]


# --- how each person behaves -----------------------------------------------------------------

# Sickness: spells a year for a typical full-time employee, and the multipliers of the known bias.
SICKNESS_SPELLS_A_YEAR = 0.5
DISABLED_SPELL_FACTOR = 2.4
PART_TIME_SPELL_FACTOR = 2.2
FTE = {"full_time": 1.0, "compressed_hours": 1.0, "part_time": 0.6, "job_share": 0.5}
# Overtime: inspectors and above are not paid overtime; a few people inflate their claims.
OVERTIME_LEVELS = 1
OVERTIME_INFLATOR_SHARE = 0.01
# Look-ups: most have a linked task; a few people misuse access, and in research roles some
# people habitually look records up without linking a task (false positives for the detector).
UNLINKED_SHARE = 0.03
RESEARCH_HABIT_SHARE = 0.15
RESEARCH_UNLINKED_SHARE = 0.2
MISUSER_SHARE = 0.006


@dataclass(frozen=True)
class Traits:
    """A person's hidden propensities: never written to the HR extract."""

    sickness_rate: float  # spells a month
    long_term_sick: bool
    overtime_rate: float  # claims a month; 0 when not paid overtime
    overtime_inflation: float  # chance a month's claims are inflated
    lookup_rate: float  # look-ups a month
    unlinked_share: float
    misuse_activity: float  # chance a month holds misuse
    misuse_rate: float  # unlinked look-ups in such a month
    complaint_rate: float  # complaints a month
    seeded_pattern: str


def _sickness_rate(rng: random.Random, person: Person) -> float:
    """Spells a year: the known bias is seeded here."""
    rate = SICKNESS_SPELLS_A_YEAR * rng.gammavariate(2.0, 0.5)
    if person.disability == "yes":
        rate *= DISABLED_SPELL_FACTOR
    if person.working_pattern in ("part_time", "job_share"):
        rate *= PART_TIME_SPELL_FACTOR
    if person.age_band == "under_25":
        rate *= 1.15
    return rate


def _overtime(rng: random.Random, post: Post, person: Person) -> tuple[float, float]:
    """Claims a month, and the chance a month is inflated (0 for all but a few)."""
    paid = post.level <= OVERTIME_LEVELS and person.employment_type != "special_constable"
    if not paid or not post.work.overtime_claims:
        return 0.0, 0.0
    rate = post.work.overtime_claims * FTE[person.working_pattern] * rng.gammavariate(5.0, 0.2)
    inflation = rng.uniform(0.35, 0.8) if rng.random() < OVERTIME_INFLATOR_SHARE else 0.0
    return rate, inflation


def _lookups(rng: random.Random, post: Post, person: Person) -> tuple[float, float, float, float]:
    """Look-ups a month, their unlinked share, and the chance and size of a month's misuse."""
    rate = post.work.lookups * FTE[person.working_pattern] * rng.gammavariate(4.0, 0.25)
    unlinked = UNLINKED_SHARE
    if post.work.research and rng.random() < RESEARCH_HABIT_SHARE:
        unlinked, rate = RESEARCH_UNLINKED_SHARE, rate * 2.5
    if rate < 0.5 or rng.random() >= MISUSER_SHARE:
        return rate, unlinked, 0.0, 0.0
    activity = rng.uniform(0.5, 0.95)
    misuse = rng.uniform(8, 14) if rng.random() < 0.6 else rng.uniform(18, 40)
    return rate, unlinked, activity, misuse


def _traits(rng: random.Random, post: Post, person: Person) -> Traits:
    sickness = _sickness_rate(rng, person)
    overtime, inflation = _overtime(rng, post, person)
    lookups, unlinked, activity, misuse = _lookups(rng, post, person)
    pattern = (
        "overtime_inflation" if inflation
        else "system_misuse" if activity
        else "habitual_unlinked_lookups" if unlinked > UNLINKED_SHARE
        else ""
    )  # fmt: skip
    return Traits(
        sickness_rate=sickness / 12,
        long_term_sick=person.long_term_sickness == "yes",
        overtime_rate=overtime,
        overtime_inflation=inflation,
        lookup_rate=lookups,
        unlinked_share=unlinked,
        misuse_activity=activity,
        misuse_rate=misuse,
        complaint_rate=post.work.complaints * FTE[person.working_pattern] / 12,
        seeded_pattern=pattern,
    )


@dataclass(frozen=True)
class Force:
    seed: int
    posts: list[Post]
    people: list[Person]
    traits: list[Traits]


def build_force(subjects: int, seed: int) -> Force:
    """The force and its people: depends on the size and seed only, never on the date."""
    posts = build_structure(subjects)
    people = appoint_people(posts, seed)
    rng = random.Random(f"{seed}:traits")
    traits = [_traits(rng, post, person) for post, person in zip(posts, people, strict=True)]
    return Force(seed, posts, people, traits)
