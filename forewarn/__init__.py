"""Forewarn's product package: settings, database pool and migrations, embedded servers, the CLI and the runtime.

It wires the domain packages together; they never import it (imports point forewarn → api → tickets → detectors
→ ingest).
"""

__version__ = "0.1.0"
