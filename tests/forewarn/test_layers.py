"""Imports point one way (DESIGN: forewarn → api → tickets → detectors → ingest), and the detectors reach the
tickets side only through their contract, the `Alarm` of `detectors.alarm`.

Every import statement of the product's packages is read from the source, function-level ones included, so a
shortcut taken inside a function shows up here as well as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("ingest", "detectors", "tickets", "api", "simulators", "forewarn", "bench", "tests")
# Which other product packages each may import. simulators speak the MQTT contract only (ingest's types).
ALLOWED = {
    "ingest": set(),
    "detectors": {"ingest"},
    "tickets": {"ingest", "detectors"},
    "api": {"ingest", "detectors", "tickets"},
    "simulators": {"ingest"},
}
# The contract between detectors and tickets (and the API): the tickets side reads no other detectors module.
DETECTOR_CONTRACT = {"detectors.alarm"}


def imports(package: str) -> list[tuple[str, int, str]]:
    """(file, line, module) of every absolute import in `package`."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            found += [(str(path.relative_to(ROOT)), node.lineno, m) for m in modules]
    return found


def test_the_scan_sees_the_imports_it_judges():
    # The checks below pass vacuously if the scan reads nothing: tickets is known to import the Alarm contract.
    assert any(m == "detectors.alarm" for _, _, m in imports("tickets"))
    assert any(m.startswith("ingest") for _, _, m in imports("detectors"))


def test_each_domain_package_imports_only_the_layers_below_it():
    wrong = [
        f"{file}:{line} imports {module}"
        for package, allowed in ALLOWED.items()
        for file, line, module in imports(package)
        if module.split(".")[0] in PRODUCT and module.split(".")[0] not in allowed | {package}
    ]
    assert wrong == []


def test_the_tickets_side_knows_the_detectors_only_through_the_alarm_contract():
    wrong = [
        f"{file}:{line} imports {module}"
        for package in ("tickets", "api")
        for file, line, module in imports(package)
        if module.split(".")[0] == "detectors" and module not in DETECTOR_CONTRACT
    ]
    assert wrong == []
