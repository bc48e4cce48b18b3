"""Notices: the words (templates in zh-CN and en), who gets them, and writing them with their outbox rows in the
caller's transaction. `dedupe_key` plus a unique index is what makes "one notice per incident per resident"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tickets.config import TicketConfig

# resident.channel -> outbox channel. SMS and WeChat go through the gateway webhook.
CHANNEL_FOR = {"app": "in_app", "mqtt": "mqtt", "sms": "webhook", "wechat": "webhook", "email": "email"}

_KIND_LABEL = {"zh-CN": {"elevator": "电梯", "water": "供水", "access_door": "门禁"},
               "en": {"elevator": "lift", "water": "water supply", "access_door": "entrance door"}}

# What a fault means for the residents, in their words: a warning or an update says this, not the detector's
# evidence ("supply pressure 4 kPa, below the 80 kPa floor, since 09:16 UTC" is the engineers' business, in English
# and UTC). A fault not named here keeps the summary it is given.
_FAULT_WORDS: dict[str, tuple[str, str]] = {
    "entrapment": ("电梯困人，救援人员正赶往现场", "people are trapped in the lift; the rescue team is on its way"),
    "out_of_service": ("电梯暂停运行", "the lift is out of service"),
    "door_fault": ("电梯门开关异常", "the lift door does not open and close properly"),
    "motor_overheat": ("电梯曳引机过热", "the lift motor is overheating"),
    "bearing_wear": ("电梯运行抖动、有异响，需检修", "the lift shakes and is noisy when it runs; it needs servicing"),
    "levelling_drift": ("电梯停靠不平，进出请留意脚下", "the lift stops out of level with the floor: mind your step"),
    "reader_offline": ("门禁刷卡暂时失灵", "the card reader is not working"),
    "reader_silent": ("门禁刷卡暂时失灵", "the card reader is not reading cards"),
    "supply_outage": ("供水中断", "the water supply has stopped"),
    "pump_failure": ("加压水泵故障，楼层水压不足", "the booster pump has failed: low water pressure on upper floors"),
    "tank_low": ("水箱水位过低，可能影响供水", "the water tank is running low; the supply may be affected"),
    "pipe_burst": ("供水管道破裂", "a water pipe has burst"),
    "slow_leak": ("供水管道疑似渗漏", "a hidden leak in the water pipes is suspected"),
    "building_silent": ("疑似停电或断网", "likely a power cut or a network loss"),
}

# kind -> lang -> (title, body). Fields: what (device kind), place, eta, status, ticket, level, summary (or fault:
# the summary in the resident's words, `_FAULT_WORDS`).
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "warning": {
        "zh-CN": ("{place}{what}异常提醒", "我们已发现{place}的{what}出现异常（{summary}），工程人员已派单处理，"
                  "预计{eta}前恢复。给您带来不便，敬请谅解。"),
        "en": ("{What} problem at {place}", "We have detected a problem with the {what} at {place} ({summary}). "
               "Engineers are on it; we expect it fixed by {eta}. Sorry for the inconvenience."),
    },
    "update": {
        "zh-CN": ("{place}{what}情况更新",
                  "{place}的{what}异常情况有变化（{summary}），我们正在加紧处理，预计{eta}前恢复。"),
        "en": ("Update: {what} at {place}", "The {what} problem at {place} has changed ({summary}). "
               "We are working on it and expect it fixed by {eta}."),
    },
    "restored": {
        "zh-CN": ("{place}{what}已恢复", "{place}的{what}已恢复正常，感谢您的耐心。"),
        "en": ("{What} at {place} restored", "The {what} at {place} is working normally again. Thank you for your "
               "patience."),
    },
    "status": {
        "zh-CN": ("您反映的问题我们已在处理",
                  "您反映的{place}{what}问题我们已于{detected}发现并在处理（工单 #{ticket}，状态：{status}），"
                  "预计{eta}前恢复。"),
        "en": ("We are already on it", "The {what} problem at {place} you reported was detected at {detected} and "
               "is being handled (ticket #{ticket}, status: {status}); we expect it fixed by {eta}."),
    },
    "received": {
        "zh-CN": ("已收到您的反映", "您的反映已受理（工单 #{ticket}）。我们将在{respond}前答复您，{eta}前处理完毕。"),
        "en": ("We have your report", "Your report is registered as ticket #{ticket}. We will get back to you by "
               "{respond} and aim to resolve it by {eta}."),
    },
    "done": {
        "zh-CN": ("您的请求已处理完毕，请确认",
                  "您的请求（工单 #{ticket}）已处理完毕。请打开此通知确认是否修好（如有问题可提出异议），"
                  "并为本次服务评价。"),
        "en": ("Done — please check", "Your request (ticket #{ticket}) has been dealt with. Please open this notice "
               "to confirm it is fixed (or tell us it is not), and rate how we did."),
    },
    # One notice per step of a resident's own request (tickets/progress.py).
    "step_dispatched": {
        "zh-CN": ("工单 #{ticket} 已派单", "您的请求（工单 #{ticket}）已派给相关部门处理，预计{eta}前处理完毕。"),
        "en": ("Ticket #{ticket} assigned", "Your request (ticket #{ticket}) has been passed to the team that deals "
               "with it; we aim to resolve it by {eta}."),
    },
    "step_accepted": {
        "zh-CN": ("工作人员已接单", "您的请求（工单 #{ticket}）已有工作人员接单，正在前往处理。"),
        "en": ("Someone is on the way", "Someone has taken your request (ticket #{ticket}) in hand and is on the "
               "way."),
    },
    "step_on_site": {
        "zh-CN": ("工作人员已到场", "处理您请求（工单 #{ticket}）的工作人员已到达现场。"),
        "en": ("Someone is on site", "The person dealing with your request (ticket #{ticket}) is on site."),
    },
    # Waiting for the resident (the clocks stand still): what we need from them, in the staff's words.
    "step_waiting": {
        "zh-CN": ("工单 #{ticket} 需要您的配合", "您的请求（工单 #{ticket}）需要您的配合：{text}"
                  "。在您回复之前，处理时限暂停计算。"),
        "en": ("Ticket #{ticket}: we need you", "To go on with your request (ticket #{ticket}) we need from you: "
               "{text}. Its time limits are paused until you reply."),
    },
    "step_closed": {
        "zh-CN": ("工单 #{ticket} 已办结", "您的请求（工单 #{ticket}）已办结，感谢您的配合。"),
        "en": ("Ticket #{ticket} resolved", "Your request (ticket #{ticket}) is resolved. Thank you for your "
               "help."),
    },
    "step_reopened": {
        "zh-CN": ("工单 #{ticket} 已重新处理", "您的请求（工单 #{ticket}）已重新打开，我们将在{eta}前处理完毕。"),
        "en": ("Ticket #{ticket} reopened", "Your request (ticket #{ticket}) has been reopened; we aim to resolve "
               "it by {eta}."),
    },
    "progress": {
        "zh-CN": ("工单 #{ticket} 进展", "您的请求（工单 #{ticket}）仍在处理中（当前：{status}），"
                  "预计{eta}前处理完毕。我们会继续向您通报进展。"),
        "en": ("Progress on ticket #{ticket}", "Your request (ticket #{ticket}) is still being worked on (now: "
               "{status}); we aim to resolve it by {eta}. We will keep you posted."),
    },
    # A progress report written by staff (tickets/plans.py `report_progress`): their words, with the ticket's date.
    "progress_report": {
        "zh-CN": ("工单 #{ticket} 进展", "您的请求（工单 #{ticket}）处理进展：{text}"
                  "（当前：{status}，预计{eta}前处理完毕。）"),
        "en": ("Progress on ticket #{ticket}", "Progress on your request (ticket #{ticket}): {text} (now: {status}; "
               "we aim to resolve it by {eta}.)"),
    },
    "sla": {
        "zh-CN": ("工单 #{ticket} 时限提醒", "工单 #{ticket}（{summary}）{level}，截止时间 {eta}。"),
        "en": ("Ticket #{ticket} SLA alert", "Ticket #{ticket} ({summary}): {level}; due {eta}."),
    },
    # An announcement (tickets/announcements.py): the manager's own words, in each language, with its times.
    "announcement": {
        "zh-CN": ("{title_zh}", "{body_zh}{when_zh}"),
        "en": ("{title_en}", "{body_en}{when_en}"),
    },
    # A recurring maintenance visit done (tickets/maintenance_plan.py), to the units the device serves.
    "maintenance_done": {
        "zh-CN": ("{place}{what}定期保养已完成", "{place}的{what}已于{eta}完成定期保养，感谢您的理解与配合。"),
        "en": ("Routine maintenance of the {what} at {place} done",
               "The routine maintenance of the {what} at {place} was completed at {eta}. Thank you for your "
               "patience."),
    },
    # A survey wave's one-time link (tickets/survey_links.py), to each resident of a sampled online household.
    "survey": {
        "zh-CN": ("物业服务满意度调查", "诚邀您参加本小区物业服务满意度调查（约3分钟，每户一份）：{link} "
                  "（链接仅可使用一次，{eta}前有效）。感谢您的宝贵意见！"),
        "en": ("Satisfaction survey", "Please tell us how we are doing (about 3 minutes, one answer per household): "
               "{link} (the link works once, until {eta}). Thank you!"),
    },
    "reopened": {
        "zh-CN": ("工单 #{ticket} 已重新打开", "工单 #{ticket} 已重新打开：{summary}"),
        "en": ("Ticket #{ticket} reopened", "Ticket #{ticket} was reopened: {summary}"),
    },
    # An external mediation (tickets/mediation.py): party, name (start); outcome, next (end: sentences already in the
    # resident's language, tickets.mediation.OUTCOME_WORDS and NEXT_WORDS).
    "mediation_started": {
        "zh-CN": ("工单 #{ticket} 已提交调解",
                  "您的请求（工单 #{ticket}）涉及的争议，已提交{party}（{name}）进行调解，以便找到合法合规、双方都认可"
                  "的解决办法。调解期间，处理时限暂停计算；调解结束后我们会第一时间告知您结果。如有疑问，欢迎随时联系我们。"),
        "en": ("Ticket #{ticket} taken to mediation",
               "The dispute in your request (ticket #{ticket}) has been taken to {party} ({name}) for mediation, so "
               "that the solution is lawful and acceptable to both sides. While the mediation lasts, the time limits "
               "on your request are paused; we will tell you the outcome as soon as it ends. Please contact us "
               "with any question."),
    },
    "mediation_ended": {
        "zh-CN": ("工单 #{ticket} 调解结束", "您的请求（工单 #{ticket}）的调解已结束。{outcome}{next}"),
        "en": ("Mediation of ticket #{ticket} ended", "The mediation of your request (ticket #{ticket}) has ended. "
               "{outcome}{next}"),
    },
}


LANGS = ("zh-CN", "en")  # the languages every notice is written in (the first is the default)


def fault_words(fault: str | None, lang: str) -> str | None:
    """What a fault means for the residents, in their words and `lang` (None for a fault without such words)."""
    words = _FAULT_WORDS.get(fault or "")
    return None if words is None else words[0] if lang != "en" else words[1]


def render(kind: str, lang: str, **fields: Any) -> tuple[str, str]:
    lang = lang if lang in LANGS else LANGS[0]
    what_kind = fields.pop("device_kind", None)
    said = fault_words(fields.pop("fault", None), lang)
    if said is not None:
        fields["summary"] = said
    labels = _KIND_LABEL[lang]
    # Several services at once (a building's power cut: "elevator+water") read as one phrase: "lift and water supply".
    parts = [labels.get(k, "设施" if lang == "zh-CN" else "facility") for k in (what_kind or "").split("+")]
    what = ("和" if lang == "zh-CN" else " and ").join(parts)
    values = {"what": what, "What": what[:1].upper() + what[1:], "place": "", "eta": "", "status": "",
              "ticket": "", "level": "", "summary": "", "detected": "", "respond": ""} | fields
    title, body = TEMPLATES[kind][lang]
    return title.format(**values), body.format(**values)


def format_time(at: datetime | None, config: TicketConfig) -> str:
    return at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M") if at else "—"


def in_quiet_hours(now: datetime, config: TicketConfig) -> bool:
    """Whether `now` (any zone) falls in the configured quiet hours, local time."""
    t = now.astimezone(config.tz).time()
    start, end = config.quiet_start, config.quiet_end
    return (start <= t or t < end) if start > end else (start <= t < end)


def release_time(now: datetime, critical: bool, config: TicketConfig) -> datetime:
    """When a loud notice (SMS, WeChat, e-mail) may go out: now, or for a non-critical one in quiet hours, when
    they end."""
    if critical or not in_quiet_hours(now, config):
        return now
    local = now.astimezone(config.tz)
    day = local.date() if local.time() < config.quiet_end else local.date() + timedelta(days=1)
    return datetime.combine(day, config.quiet_end, tzinfo=config.tz)


# Outbox channels that wake someone up: a text message or WeChat (the gateway webhook) and e-mail ring the phone.
LOUD_CHANNELS = frozenset({"webhook", "email"})


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row to write for a notice: on `channel`, not before `release`, `silent` for a quiet push."""

    channel: str
    release: datetime
    silent: bool


def delivery_plan(channel: str, now: datetime, critical: bool, config: TicketConfig) -> list[Delivery]:
    """The quiet-hours policy (docs/lifecycle.md): a critical notice goes out at once on the resident's own channel.
    A non-critical one in quiet hours is visible in-app at once; a push goes at once but silent; a loud channel
    (SMS, WeChat, e-mail) waits for the morning, with an in-app copy meanwhile so the resident who looks can see it.
    Outside quiet hours everything goes at once on the resident's own channel."""
    quiet = not critical and in_quiet_hours(now, config)
    if not quiet:
        return [Delivery(channel, now, False)]
    if channel in LOUD_CHANNELS:
        return [Delivery("in_app", now, True), Delivery(channel, release_time(now, critical, config), False)]
    return [Delivery(channel, now, True)]


# Where a resident's channel delivers: email to the address, SMS/WeChat gateways by phone, in-app/MQTT by id.
ADDRESS = "CASE r.channel WHEN 'email' THEN r.email WHEN 'sms' THEN r.phone WHEN 'wechat' THEN r.phone END"
# The language a resident is written to in: the one they chose (/resident/settings), else the estate register's.
LANGUAGE = "coalesce(r.preferred_language, r.language)"


@dataclass(frozen=True, slots=True)
class Recipient:
    resident_id: str
    unit_id: str
    lang: str
    channel: str
    address: str | None


def residents_of_device(conn: psycopg.Connection, device_id: str) -> list[Recipient]:
    """Exactly the active residents of the units the device serves (device_units)."""
    rows = conn.execute(
        f"""SELECT r.id, r.unit_id, {LANGUAGE}, r.channel, {ADDRESS}
           FROM device_units du JOIN residents r ON r.unit_id = du.unit_id
           WHERE du.device_id = %s AND r.active ORDER BY r.id""",
        (device_id,),
    ).fetchall()
    return [Recipient(*row) for row in rows]


def resident(conn: psycopg.Connection, resident_id: str) -> Recipient:
    row = conn.execute(
        f"SELECT r.id, r.unit_id, {LANGUAGE}, r.channel, {ADDRESS} FROM residents r WHERE r.id = %s",
        (resident_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no resident {resident_id!r}")
    return Recipient(*row)


def notify_residents(
    conn: psycopg.Connection, recipients: list[Recipient], *, kind: str, dedupe_key: str, now: datetime,
    config: TicketConfig, critical: bool = False, incident_id: int | None = None, ticket_id: int | None = None,
    localised: Mapping[str, Mapping[str, Any]] | None = None, **fields: Any,
) -> int:
    """Write one notice (and its outbox row) per recipient, skipping anyone who already has `dedupe_key`.
    Returns how many were new. Set-based, so a 2,000-unit building is two statements, not thousands.
    Each notice is sent in its resident's language and kept in every language of `LANGS` (`notices.texts`, for the
    pages); `localised` holds the fields written per language (a date, a state in words), by language."""
    if not recipients:
        return 0
    rendered = {lang: render(kind, lang, **(fields | dict((localised or {}).get(lang, {})))) for lang in LANGS}
    rendered |= {r.lang: rendered[LANGS[0]] for r in recipients if r.lang not in rendered}
    texts = Jsonb({lang: {"title": title, "body": body} for lang, (title, body) in rendered.items() if lang in LANGS})
    plans: dict[str, list[Delivery]] = {}
    rows = []
    for r in recipients:
        channel = CHANNEL_FOR.get(r.channel, "in_app")
        plan = plans.setdefault(channel, delivery_plan(channel, now, critical, config))
        rows.append((r.resident_id, r.unit_id, r.lang, rendered[r.lang][0], rendered[r.lang][1], r.address,
                     [d.channel for d in plan], [d.release for d in plan], [d.silent for d in plan]))
    with conn.cursor() as cur:
        cur.execute(
            """CREATE TEMP TABLE IF NOT EXISTS _notice_plan (
                   resident_id text, unit_id text, lang text, title text, body text, address text,
                   channels text[], releases timestamptz[], silent boolean[]
               ) ON COMMIT DELETE ROWS""")
        cur.execute("TRUNCATE _notice_plan")
        with cur.copy("COPY _notice_plan FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(_INSERT_NOTICES, {"incident": incident_id, "ticket": ticket_id, "kind": kind,
                                      "critical": critical, "key": dedupe_key, "now": now, "texts": texts})
        count = len({row[0] for row in cur.fetchall()})
        cur.execute("TRUNCATE _notice_plan")
    return count


# One notice per planned resident (unless they already have the key), and one outbox row per planned delivery; the
# in-app copy of a held loud notice carries no address.
_INSERT_NOTICES = """
    WITH new AS (
        INSERT INTO notices (resident_id, unit_id, incident_id, ticket_id, kind, lang, title, body, critical,
                             dedupe_key, created_at, texts)
        SELECT resident_id, unit_id, %(incident)s, %(ticket)s, %(kind)s, lang, title, body, %(critical)s, %(key)s,
               %(now)s, %(texts)s FROM _notice_plan
        ON CONFLICT (resident_id, dedupe_key) WHERE resident_id IS NOT NULL DO NOTHING
        RETURNING id, resident_id)
    INSERT INTO outbox (notice_id, channel, address, next_attempt_at, silent, created_at)
    SELECT new.id, d.channel, CASE WHEN d.channel = 'in_app' THEN NULL ELSE p.address END, d.release, d.silent,
           %(now)s
    FROM new JOIN _notice_plan p ON p.resident_id = new.resident_id,
         unnest(p.channels, p.releases, p.silent) AS d(channel, release, silent)
    RETURNING notice_id"""


def notify_user(
    conn: psycopg.Connection, user_id: str, *, kind: str, dedupe_key: str, now: datetime, ticket_id: int | None,
    **fields: Any,
) -> bool:
    """A staff notice (SLA reminder, escalation), delivered in-app. False if it was already sent."""
    title, body = render(kind, "zh-CN", **fields)
    row = conn.execute(
        """WITH new AS (
               INSERT INTO notices (user_id, ticket_id, kind, lang, title, body, critical, dedupe_key, created_at)
               VALUES (%(user)s, %(ticket)s, %(kind)s, 'zh-CN', %(title)s, %(body)s, true, %(key)s, %(now)s)
               ON CONFLICT (user_id, dedupe_key) WHERE user_id IS NOT NULL DO NOTHING RETURNING id)
           INSERT INTO outbox (notice_id, channel, next_attempt_at, created_at)
           SELECT id, 'in_app', %(now)s, %(now)s FROM new RETURNING notice_id""",
        {"user": user_id, "ticket": ticket_id, "kind": kind, "title": title, "body": body, "key": dedupe_key,
         "now": now},
    ).fetchone()
    return row is not None
