"""The shape of a synthetic police force: its departments, ranks and chain of command.

Posts are laid out from spans of control (seven constables to a sergeant, five sergeants to an
inspector, and so on) over departments sized by their share of the workforce, so constables are
the most numerous rank and chief officers the fewest, and every post but the chief constable's has
one manager above it: the chain of command is a tree. Nothing here is random; people are appointed
to the posts in ``detectors.force_people``.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SUBJECTS = 50


@dataclass(frozen=True)
class Department:
    """A line of business and how its people behave in the source systems."""

    name: str
    share: float  # of its employment type's headcount
    roles: tuple[str, ...]  # role by level, front line first
    geographic: bool = False  # teams named by area: "North Response 2"
    portfolio: str = "local"  # which chief officer it reports to
    lookups: float = 2.0  # record look-ups a month, at full time
    overtime_claims: float = 1.0  # overtime claims a month, at full time
    complaints: float = 0.0  # public complaints a person-year
    research: bool = False  # look-ups without a task are part of some people's work here


OFFICER_RANKS = (
    "constable",
    "sergeant",
    "inspector",
    "chief_inspector",
    "superintendent",
    "chief_superintendent",
)
RANK_LABELS = {
    "constable": "Constable",
    "sergeant": "Sergeant",
    "inspector": "Inspector",
    "chief_inspector": "Chief inspector",
    "superintendent": "Superintendent",
    "chief_superintendent": "Chief superintendent",
    "staff": "Manager",
}
# People a manager at the next level up manages: 7 constables to a sergeant, 5 sergeants to an
# inspector, and so on. The ranks' proportions follow from these.
OFFICER_SPANS = (7, 5, 4, 3, 3)
STAFF_SPANS = (9, 5, 4, 4)
# Everyone up to this level shares the unit of their level-2 manager (an inspector's or a staff
# manager's team of about forty): big enough for unit-and-role peer groups.
TEAM_LEVEL = 2

OFFICER_DEPARTMENTS = (
    Department(
        "Response",
        0.34,
        ("Response officer", "Response sergeant", "Response inspector"),
        geographic=True,
        lookups=4,
        overtime_claims=2.2,
        complaints=0.35,
    ),
    Department(
        "Neighbourhood",
        0.16,
        ("Neighbourhood officer", "Neighbourhood sergeant", "Neighbourhood inspector"),
        geographic=True,
        lookups=3,
        overtime_claims=1.5,
        complaints=0.25,
    ),
    Department(
        "CID",
        0.15,
        ("Detective constable", "Detective sergeant", "Detective inspector"),
        geographic=True,
        portfolio="crime",
        lookups=5,
        overtime_claims=2.4,
        complaints=0.15,
    ),
    Department(
        "Public Protection",
        0.10,
        (
            "Public protection investigator",
            "Public protection sergeant",
            "Public protection inspector",
        ),
        portfolio="crime",
        lookups=4,
        overtime_claims=2.0,
        complaints=0.1,
    ),
    Department(
        "Intelligence",
        0.04,
        ("Intelligence officer", "Intelligence sergeant", "Intelligence inspector"),
        portfolio="crime",
        lookups=8,
        overtime_claims=1.0,
        research=True,
    ),
    Department(
        "Roads Policing",
        0.06,
        ("Roads policing officer", "Roads policing sergeant", "Roads policing inspector"),
        portfolio="operations",
        lookups=4,
        overtime_claims=2.0,
        complaints=0.3,
    ),
    Department(
        "Firearms",
        0.05,
        ("Authorised firearms officer", "Firearms sergeant", "Firearms inspector"),
        portfolio="operations",
        lookups=1,
        overtime_claims=2.8,
        complaints=0.1,
    ),
    Department(
        "Custody",
        0.04,
        ("Custody constable", "Custody sergeant", "Custody inspector"),
        portfolio="operations",
        lookups=3,
        overtime_claims=1.6,
        complaints=0.2,
    ),
    Department(
        "Training",
        0.04,
        ("Police trainer", "Training sergeant", "Training inspector"),
        portfolio="operations",
        lookups=0.5,
        overtime_claims=0.4,
    ),
    Department(
        "Professional Standards",
        0.02,
        (
            "Professional standards investigator",
            "Professional standards sergeant",
            "Professional standards inspector",
        ),
        portfolio="standards",
        lookups=6,
        overtime_claims=0.8,
        research=True,
    ),
)
STAFF_DEPARTMENTS = (
    Department(
        "Contact Management",
        0.28,
        (
            "Call handler",
            "Contact centre supervisor",
            "Contact centre manager",
            "Head of Contact Management",
        ),
        portfolio="corporate",
        lookups=6,
        overtime_claims=1.5,
        complaints=0.05,
    ),
    Department(
        "Investigation Support",
        0.12,
        (
            "Police staff investigator",
            "Investigation support supervisor",
            "Investigation support manager",
            "Head of Investigation Support",
        ),
        portfolio="corporate",
        lookups=5,
        overtime_claims=1.2,
        complaints=0.05,
    ),
    Department(
        "Criminal Justice",
        0.10,
        (
            "Case file officer",
            "Case progression supervisor",
            "Criminal justice manager",
            "Head of Criminal Justice",
        ),
        portfolio="corporate",
        lookups=3,
        overtime_claims=0.6,
    ),
    Department(
        "Detention",
        0.07,
        ("Detention officer", "Detention supervisor", "Detention manager", "Head of Detention"),
        portfolio="corporate",
        lookups=1,
        overtime_claims=1.4,
        complaints=0.05,
    ),
    Department(
        "Analysis",
        0.08,
        ("Intelligence analyst", "Senior analyst", "Analysis manager", "Head of Analysis"),
        portfolio="corporate",
        lookups=8,
        overtime_claims=0.5,
        research=True,
    ),
    Department(
        "Human Resources",
        0.07,
        ("HR adviser", "HR team leader", "HR business partner", "Head of Human Resources"),
        portfolio="corporate",
        lookups=0.3,
        overtime_claims=0.2,
    ),
    Department(
        "Finance",
        0.05,
        ("Finance officer", "Finance team leader", "Finance manager", "Head of Finance"),
        portfolio="corporate",
        lookups=0.1,
        overtime_claims=0.2,
    ),
    Department(
        "ICT",
        0.09,
        ("ICT engineer", "ICT team leader", "ICT service manager", "Head of ICT"),
        portfolio="corporate",
        lookups=0.5,
        overtime_claims=0.8,
    ),
    Department(
        "Estates and Fleet",
        0.05,
        (
            "Facilities officer",
            "Facilities supervisor",
            "Estates manager",
            "Head of Estates and Fleet",
        ),
        portfolio="corporate",
        lookups=0,
        overtime_claims=0.7,
    ),
    Department(
        "Business Support",
        0.09,
        (
            "Administrative officer",
            "Business support supervisor",
            "Business support manager",
            "Head of Business Support",
        ),
        portfolio="corporate",
        lookups=1,
        overtime_claims=0.3,
    ),
)
# PCSOs and special constables join neighbourhood teams rather than forming departments.
PCSO_WORK = Department(
    "Neighbourhood", 0, ("Police community support officer",), lookups=2, complaints=0.2
)
SPECIALS_WORK = Department(
    "Neighbourhood", 0, ("Special constable",), lookups=1, overtime_claims=0, complaints=0.1
)
CHIEF_OFFICERS = Department("Chief Officer Team", 0, (), lookups=0.5, overtime_claims=0)

EMPLOYMENT_SHARES = (
    ("officer", 0.52),
    ("staff", 0.36),
    ("pcso", 0.05),
    ("special_constable", 0.07),
)
AREAS = ("North", "South", "East", "West", "Central")
PORTFOLIO_NAMES = {"local": "Local Policing", "crime": "Crime", "operations": "Operations"}


@dataclass(frozen=True)
class Post:
    """A position in the structure, before anyone is appointed to it."""

    rank: str
    role: str
    unit: str
    manager: int | None  # index of the manager's post
    employment_type: str
    level: int  # 0 is the front line
    work: Department


class _Structure:
    """Builds the posts top-down, so that each manager's index is known before their reports."""

    def __init__(self) -> None:
        self.posts: list[Post] = []

    def add(self, post: Post) -> int:
        self.posts.append(post)
        return len(self.posts) - 1


def _split(total: int, shares: Sequence[float]) -> list[int]:
    """Divide ``total`` in proportion to ``shares``, by largest remainder, summing exactly."""
    exact = [total * share / sum(shares) for share in shares]
    counts = [math.floor(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _chain(front_line: int, spans: Sequence[int]) -> list[int]:
    counts = [front_line]
    for span in spans:
        if counts[-1] <= 1:
            break
        counts.append(math.ceil(counts[-1] / span))
    return counts


def level_counts(total: int, spans: Sequence[int]) -> list[int]:
    """People per level (front line first) for a department of ``total``, ending in one head
    unless the spans run out. Surplus left by rounding joins the front line."""
    low, high = 1, total
    while low < high:  # the largest front line whose chain of managers still fits
        middle = (low + high + 1) // 2
        if sum(_chain(middle, spans)) <= total:
            low = middle
        else:
            high = middle - 1
    counts = _chain(low, spans)
    counts[0] += total - sum(counts)
    return counts


def _team_name(department: Department, index: int, teams: int) -> str:
    if teams == 1:
        return department.name
    if department.geographic:
        return f"{AREAS[index % len(AREAS)]} {department.name} {index // len(AREAS) + 1}"
    return f"{department.name} Team {index + 1}"


def _role(department: Department, level: int, rank: str) -> str:
    if level < len(department.roles):
        return department.roles[level]
    return f"{RANK_LABELS[rank]}, {department.name}"


def _add_department(
    structure: _Structure,
    department: Department,
    headcount: int,
    *,
    parent: int,
    employment_type: str,
) -> list[list[int]]:
    """Add a department's posts under ``parent``; return their indices by level."""
    if headcount == 0:
        return []
    officers = employment_type == "officer"
    counts = level_counts(headcount, OFFICER_SPANS if officers else STAFF_SPANS)
    top = len(counts) - 1
    team_level = min(TEAM_LEVEL, top)
    teams = counts[team_level]
    by_level: list[list[int]] = [[] for _ in counts]
    for level in range(top, -1, -1):
        above = by_level[level + 1] if level < top else None
        for position in range(counts[level]):
            # Contiguous blocks: report j of n goes to manager floor(j * m / n) of m.
            manager = above[position * len(above) // counts[level]] if above else parent
            if level > team_level:
                unit = f"{department.name} leadership team"
            elif level == team_level:
                unit = _team_name(department, position, teams)
            else:
                unit = structure.posts[manager].unit
            rank = OFFICER_RANKS[min(level, len(OFFICER_RANKS) - 1)] if officers else "staff"
            index = structure.add(
                Post(
                    rank,
                    _role(department, level, rank),
                    unit,
                    manager,
                    employment_type,
                    level,
                    department,
                )
            )
            by_level[level].append(index)
    return by_level


@dataclass(frozen=True)
class _ChiefOfficers:
    deputy: int
    parent_of_portfolio: dict[str, int]
    directors: list[int]


def _add_chief_officers(s: _Structure, subjects: int) -> _ChiefOfficers:
    """The chief officer team: one assistant chief constable per 12,000 people (at most three,
    sharing the portfolios) and one or two police staff directors."""
    team = CHIEF_OFFICERS
    unit = team.name
    chief = s.add(Post("chief_constable", "Chief constable", unit, None, "officer", 8, team))
    deputy = s.add(
        Post("deputy_chief_constable", "Deputy chief constable", unit, chief, "officer", 7, team)
    )
    count = min(3, 1 + subjects // 12_000)
    portfolios = list(PORTFOLIO_NAMES)
    assistants = []
    for i in range(count):
        held = ", ".join(PORTFOLIO_NAMES[p] for p in portfolios[i::count])
        role = "Assistant chief constable" + (f", {held}" if count > 1 else "")
        assistants.append(
            s.add(Post("assistant_chief_constable", role, unit, deputy, "officer", 6, team))
        )
    titles = ("Director of Corporate Services", "Director of Finance and Resources")
    directors = [
        s.add(Post("staff", title, unit, deputy, "staff", 6, team))
        for title in titles[: 1 + (subjects >= 20_000)]
    ]
    parent_of = {p: assistants[i % count] for i, p in enumerate(portfolios)}
    return _ChiefOfficers(deputy, parent_of | {"standards": deputy}, directors)


def build_structure(subjects: int) -> list[Post]:
    """The force's posts, chief constable first; every other post names its manager's index."""
    if subjects < MIN_SUBJECTS:
        raise ValueError(f"a force needs at least {MIN_SUBJECTS} people; asked for {subjects}")
    s = _Structure()
    chiefs = _add_chief_officers(s, subjects)
    officers, staff, pcsos, specials = _split(
        subjects - len(s.posts), [share for _, share in EMPLOYMENT_SHARES]
    )
    neighbourhood: list[list[int]] = []
    officer_counts = _split(officers, [d.share for d in OFFICER_DEPARTMENTS])
    for department, headcount in zip(OFFICER_DEPARTMENTS, officer_counts, strict=True):
        parent = chiefs.parent_of_portfolio[department.portfolio]
        levels = _add_department(s, department, headcount, parent=parent, employment_type="officer")
        if department.name == "Neighbourhood":
            neighbourhood = levels
    staff_counts = _split(staff, [d.share for d in STAFF_DEPARTMENTS])
    for i, (department, headcount) in enumerate(zip(STAFF_DEPARTMENTS, staff_counts, strict=True)):
        parent = chiefs.directors[i % len(chiefs.directors)]
        _add_department(s, department, headcount, parent=parent, employment_type="staff")
    _add_neighbourhood_support(s, neighbourhood, pcsos=pcsos, specials=specials)
    return s.posts


def _add_neighbourhood_support(
    structure: _Structure, neighbourhood: list[list[int]], *, pcsos: int, specials: int
) -> None:
    """PCSOs and special constables work to neighbourhood sergeants, in their teams."""
    sergeants = neighbourhood[1] if len(neighbourhood) > 1 else neighbourhood[-1]
    joining = [("staff", "pcso", PCSO_WORK)] * pcsos + [
        ("constable", "special_constable", SPECIALS_WORK)
    ] * specials
    for position, (rank, employment_type, work) in enumerate(joining):
        manager = sergeants[position % len(sergeants)]
        unit = structure.posts[manager].unit
        structure.add(Post(rank, work.roles[0], unit, manager, employment_type, 0, work))
