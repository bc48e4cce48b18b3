"""The navigation links of each role, shown by `base.html`. Append a page's link to its roles' lists here; labels
are message ids (translated when shown). Admin sees every link once."""

from __future__ import annotations

from dataclasses import dataclass

from api.auth import Principal, Role
from api.web.i18n import N_


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str  # a message id


NAV: dict[Role, list[NavItem]] = {
    Role.RESIDENT: [NavItem("/", N_("Home")), NavItem("/resident", N_("My services")),
                    NavItem("/resident/notices", N_("My notices")), NavItem("/resident/report", N_("Report a problem")),
                    NavItem("/resident/requests", N_("My requests")),
                    NavItem("/resident/settings", N_("Notice settings"))],
    Role.ENGINEER: [NavItem("/", N_("Home")), NavItem("/engineer/work-orders", N_("My work orders"))],
    Role.SUPERVISOR: [NavItem("/", N_("Home")), NavItem("/engineer/work-orders", N_("My work orders"))],
    Role.AGENT: [NavItem("/", N_("Home")), NavItem("/staff/accounts", N_("Resident accounts"))],
    Role.MANAGER: [NavItem("/", N_("Home")), NavItem("/staff/accounts", N_("Resident accounts")),
                   NavItem("/engineer/work-orders", N_("My work orders")),
                   NavItem("/manager/review", N_("Monthly review")), NavItem("/manager/scorecards", N_("Scorecards")),
                   NavItem("/manager/actions", N_("Improvement actions"))],
    Role.ADMIN: [],
}
# The manager's dashboard first after Home, the quarterly review after the monthly pages (api/web/dashboard_pages.py).
NAV[Role.MANAGER][1:1] = [NavItem("/manager", N_("Dashboard"))]
NAV[Role.MANAGER].append(NavItem("/manager/review/quarter", N_("Quarterly review")))
NAV[Role.MANAGER].append(NavItem("/manager/surveys", N_("Survey waves")))  # api/web/survey_manager_pages.py
for _role in (Role.AGENT, Role.SUPERVISOR, Role.MANAGER):  # the service desk's queue (api/web/desk_pages.py)
    NAV[_role].append(NavItem("/desk", N_("Service desk")))
    NAV[_role].append(NavItem("/desk/intake", N_("Intake")))  # phone and counter (api/web/desk_intake_pages.py)
    # the desk's roster and announcements (api/web/desk_roster_pages.py, desk_announcement_pages.py); a ticket's
    # mediation is linked from its desk page
    NAV[_role].append(NavItem("/desk/roster", N_("On-call roster")))
    NAV[_role].append(NavItem("/desk/announcements", N_("Announcements")))
    NAV[_role].append(NavItem("/desk/surveys", N_("Survey calls")))  # api/web/desk_survey_pages.py


def nav_for(user: Principal | None) -> list[NavItem]:
    if user is None:
        return []
    if user.role is not Role.ADMIN:
        return list(NAV[user.role])
    seen: dict[str, NavItem] = {}
    for items in NAV.values():
        for item in items:
            seen.setdefault(item.href, item)
    return list(seen.values())
