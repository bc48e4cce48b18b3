"""The monthly and quarterly review: metric definitions (definitions.py), periods (periods.py), the named
queries (queries.py), computing a review (compute.py), reports (report.py), scorecards (scorecards.py) and the
staff's daily digest (digest.py)."""
