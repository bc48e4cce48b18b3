"""Domain rules per device kind: the physics that is plain (pressure at zero, door held open, car stuck)."""
