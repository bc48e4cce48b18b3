"""The codes staff pages show, named in words (message ids, translated by the page): a ticket's timeline
(`EVENT_LABEL`: each event row's code from `tickets/` — lifecycle events, work-order steps, alarms, SLA ladder rungs;
`api.web.staff_format.timeline_items` puts them on the rows), and an alarm's evidence: the metric it is about
(`METRIC_LABEL`, `metric(code)`) and the detector that raised it (`DETECTOR_LABEL`, `detector(code)`). A code with no
label is shown as it is, never hidden. The faults' names are not here: staff pushes leave the pages with them, so
they live in `tickets.titles.FAULT_NAMES` (`staff/_words.html` `fault(code)`)."""

from __future__ import annotations

from api.web.i18n import N_

# Every metric of the MQTT contract (ingest/contract.py) and every one a detector's evidence names beside them.
METRIC_LABEL = {
    "floor": N_("Floor"), "direction": N_("Direction of travel"), "moving": N_("Moving"),
    "door_open": N_("Door open"), "door_cycle_s": N_("Door cycle time"), "vibration_rms": N_("Vibration"),
    "motor_current_a": N_("Motor current"), "motor_temp_c": N_("Motor temperature"),
    "levelling_error_mm": N_("Levelling error"), "alarm_button": N_("Alarm button"), "in_service": N_("In service"),
    "locked": N_("Lock engaged"), "open_duration_s": N_("Time held open"), "battery_pct": N_("Battery charge"),
    "reader_ok": N_("Card reader self-test"), "granted": N_("Card accepted"),
    "pressure_kpa": N_("Water pressure"), "flow_lpm": N_("Flow"), "tank_level_pct": N_("Tank level"),
    "pump_on": N_("Pump running"), "pump_current_a": N_("Pump current"), "leak": N_("Flood sensor"),
    "night_min_flow_lpm": N_("Night-time minimum flow"), "online": N_("Online"), "silence_s": N_("Silent for"),
    "site_reads_since": N_("Other doors' card reads since its last"), "spikes": N_("Spikes in the last hour"),
    "telemetry_gap_s": N_("Time between reports"), "devices_offline": N_("Devices offline"),
}

# A ticket's tier (tickets.taxonomy.Tier), as the desk's and the engineers' pages name it.
TIER_LABEL = {"major": N_("Major"), "general": N_("General"), "complex": N_("Complex")}

# A resident's notice channel (residents.channel), as the staff pages name it.
CHANNEL_LABEL = {"app": N_("In the app"), "sms": N_("SMS"), "wechat": N_("WeChat"), "email": N_("E-mail"),
                 "mqtt": N_("Home display panel")}

# Every detector an alarm names (detectors/engine.py `_detector_name`, tickets/silence.py).
DETECTOR_LABEL = {
    "elevator_rules": N_("Lift rules"), "access_door_rules": N_("Access door rules"), "water_rules": N_("Water rules"),
    "sensor_health": N_("Sensor health"), "presence": N_("Device presence"), "learned-normal": N_("Learned normal"),
    "peer-readers": N_("Compared with the site's other readers"),
    "silence-group": N_("Building's devices silent together"),
}

EVENT_LABEL = {
    "created": N_("Ticket opened"), "dispatch": N_("Dispatched"), "transfer": N_("Transferred"),
    "acknowledge": N_("Accepted"), "arrive": N_("Arrived on site"), "wait_resident": N_("Waiting for the resident"),
    "resume": N_("Work resumed"), "resolve": N_("Resolved"), "close": N_("Closed"), "reopen": N_("Reopened"),
    "cancel": N_("Cancelled"),
    "assigned": N_("Assigned"), "reassigned": N_("Reassigned"), "work_order_added": N_("Work order added"),
    "work_order_acknowledged": N_("Work order accepted"), "work_order_on_site": N_("Work order on site"),
    "work_order_done": N_("Work order done"),
    # the extra row a work-order step writes for what came with it (tickets.workorders.act `detail`: its photos)
    "work_order_acknowledge": N_("Photos from the work order"), "work_order_arrive": N_("Photos from the work order"),
    "work_order_resolve": N_("Photos from the work order"),
    "plan_recorded": N_("Written plan recorded"), "progress_reported": N_("Progress reported to the resident"),
    "alarm_attached": N_("Alarm attached"), "alarm_joined": N_("Alarm joined"), "alarm_detached": N_("Alarm detached"),
    "alarm_escalated": N_("Alarm escalated"), "alarm_cleared": N_("Alarm cleared"),
    "raised_in_maintenance": N_("Raised during maintenance"), "verdict": N_("Engineer's verdict"),
    "silence_group_opened": N_("Devices of the building silent together"),
    "silence_group_resolved": N_("The building's devices heard again"),
    "complaint_joined": N_("Complaint joined"), "complaint_folded": N_("Complaint folded in"),
    "caller_linked": N_("Caller linked to a resident"), "reclassified": N_("Reclassified"),
    "resident_confirmed": N_("Confirmed by the resident"), "made_urgent": N_("Made urgent"),
    "group_risk": N_("Group complaint risk"), "sensitive": N_("Sensitive wording"),
    "maintenance_planned": N_("Maintenance planned"), "mediation_started": N_("Mediation started"),
    "mediation_ended": N_("Mediation ended"), "routed_on_call": N_("Routed to the engineer on call"),
    "on_call_missing": N_("No engineer on call"), "under_warranty": N_("Under warranty"),
    "warranty_repeat": N_("Repeat fault under warranty"),
    # the SLA ladder (tickets.sweeps.LADDER), on the ticket's clocks and on a work order's
    "sla_remind_50": N_("Reminder: half the time used"), "sla_remind_80": N_("Reminder: 80 percent of the time used"),
    "sla_breach": N_("Overdue: escalated to the supervisor"),
    "sla_breach_manager": N_("Long overdue: escalated to the manager"),
    "work_order_sla_remind_50": N_("Work order reminder: half the time used"),
    "work_order_sla_remind_80": N_("Work order reminder: 80 percent of the time used"),
    "work_order_sla_breach": N_("Work order overdue: escalated to the supervisor"),
    "work_order_sla_breach_manager": N_("Work order long overdue: escalated to the manager"),
}
