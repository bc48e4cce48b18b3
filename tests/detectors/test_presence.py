"""Presence evidence says something true about the device's usual interval, also after a burst of readings."""

from detectors.presence import MIN_SILENCE_S, Presence


def test_after_a_burst_the_evidence_does_not_claim_the_device_reports_every_0_s():
    presence = Presence()
    for k in range(50):  # a backlog drained after a reconnect: fifty readings within a quarter of a second
        presence.seen(1000.0 + k * 0.005)
    observation = presence.check(1000.0 + 10 * MIN_SILENCE_S)
    assert observation.active
    assert "every 0 s" not in observation.summary
    assert "not known yet" in observation.summary


def test_the_usual_interval_is_learned_from_regular_reports_around_a_burst():
    presence = Presence()
    t = 0.0
    for _ in range(20):
        t += 60.0
        presence.seen(t)
    for k in range(30):
        presence.seen(t + 0.01 * (k + 1))
    t += 60.0
    presence.seen(t)
    observation = presence.check(t + 3600)
    assert "usually reports every 60 s" in observation.summary
