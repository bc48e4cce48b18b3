"""Ground-truth label files: one JSON object per line, written by every run, read by whoever scores detection.

Records (``"record"`` says which):

- ``run``: scenario, seed, simulated start and end, device count — the first line;
- ``fault``: device, kind, site, fault, start, end, resident_visible, visible_at (when residents would notice;
  null when they would not, or not before the fault ended), shape (`simulators.faults.FaultShape`: amplitude,
  ramp_s, variant — "" for the library's own signature —, alarm_after_s — null unless an entrapment's shape set
  it);
- ``misbehaviour``: device, mode, start, end, expected_reason (the reason of the `ingest.decode` dead letter — for
  modes that break values, that of a message stored without them —, or null when each message is valid on its own);
- ``nuisance``: device, what (the fault or mode it was played as), start, end — ordinary life such as a lift parked
  for a maintenance visit or a power blip: no fault, so it explains no alarm;
- ``complaint``: device, fault, resident_id, unit_id, channel, description, lang, reported_at, delivered
  (true/false when a complaint sink was used, null otherwise).

Times are RFC 3339 with an offset, on the simulated clock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from simulators.residents import EmulatedComplaint


def complaint_record(complaint: EmulatedComplaint, delivered: bool | None = None) -> dict[str, Any]:
    """The label record of one emulated complaint (`delivered` None when no sink was used)."""
    return {"record": "complaint", "device": complaint.device_id, "fault": complaint.fault,
            **complaint.api_body(), "delivered": delivered}


class LabelWriter:
    """Appends label records to a JSON-lines file, flushing each so an interrupted run keeps what it had."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_labels(path: Path) -> list[dict[str, Any]]:
    """All records of a label file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
