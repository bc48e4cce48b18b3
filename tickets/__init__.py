"""One lifecycle for resident complaints and preventive tickets: incidents from alarms, classification, routing,
SLA clocks, notices through an outbox, return visits and the verdicts that flow back to the detectors."""
