"""A ticket's title as the product writes it, and read back into its parts for the pages.

Titles are stored as written (the API, the CLI, the exports and the staff's push messages carry them as they are):
a preventive ticket's is its device kind, fault and place ("elevator entrapment @ 1号楼 A梯"), a complaint's its
category, fault point and the first words of the description ("facility/elevator: 电梯门关不上"). The staff pages
show them in the reader's words: `title_parts` reads such a title back, and the page names the fault or the point
in its language (api/templates/staff/_words.html `title`). A title of another shape (a building gone silent, a
planned maintenance visit, one staff wrote) is shown as it is.

>>> title_parts(fault_title("water", "supply_outage", "1号楼 高区加压泵"))
TitleParts(fault='supply_outage', point=None, rest='1号楼 高区加压泵')
>>> title_parts(complaint_title("community", "noise", "楼下装修噪音太吵"))
TitleParts(fault=None, point='noise', rest='楼下装修噪音太吵')
>>> title_parts(complaint_title("billing", None, "物业费为什么涨了"))
TitleParts(fault=None, point='billing', rest='物业费为什么涨了')
>>> title_parts("每 30 天定期保养 rs-b1-elev-a") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FAULT = re.compile(r"(?P<kind>[a-z_+]+) (?P<fault>[a-z_]+) @ (?P<rest>.+)", re.S)
_COMPLAINT = re.compile(r"(?P<category>[a-z_]+)/(?P<point>[a-z_]+): (?P<rest>.*)", re.S)
OTHER = "other"  # a complaint with no fault point: its category is its point


@dataclass(frozen=True, slots=True)
class TitleParts:
    fault: str | None  # a preventive ticket's fault
    point: str | None  # a complaint's fault point, else its category (tickets.review.definitions.POINT_NAMES)
    rest: str  # the place, or the description's first words


def fault_title(kind: str, fault: str, place: str) -> str:
    """A preventive ticket's title: the device kind, its fault and where ("elevator entrapment @ 1号楼 A梯")."""
    return f"{kind} {fault} @ {place}"


def complaint_title(category: str, point: str | None, description: str) -> str:
    """A complaint ticket's title: its category, fault point and the description's first 60 characters."""
    return f"{category}/{point or OTHER}: {description[:60]}"


def title_parts(title: str) -> TitleParts | None:
    """The parts of a title the product wrote; None for a title of another shape."""
    if found := _FAULT.fullmatch(title):
        return TitleParts(found["fault"], None, found["rest"])
    if found := _COMPLAINT.fullmatch(title):
        point = found["point"] if found["point"] != OTHER else found["category"]
        return TitleParts(None, point, found["rest"])
    return None
