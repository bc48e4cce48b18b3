"""Device simulators: seeded, time-accelerated elevators, access doors and water devices that speak MQTT contract v1.

Public API: `load_scenario` (a validated scenario file), `Simulation` (the pure generator of contract messages and
ground-truth labels), `simulators.runner.run_scenario` (publish to a broker), `simulators.residents` (emulated
complaints), `FAULTS` (the fault library) and `simulators.misbehaviour.MODES` (contract violations on request).
"""

from simulators.faults import FAULTS, FaultSpec, FaultWindow
from simulators.generator import SimMessage, Simulation
from simulators.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["FAULTS", "FaultSpec", "FaultWindow", "Scenario", "ScenarioError", "SimMessage", "Simulation",
           "load_scenario"]
