"""Presence evidence says something true about the device's usual interval, also after a burst of readings."""

from detectors.presence import UNKNOWN_GAP_SILENCE_S, Presence


def test_after_a_burst_the_evidence_does_not_claim_the_device_reports_every_0_s():
    presence = Presence()
    for k in range(50):  # a backlog drained after a reconnect: fifty readings within a quarter of a second
        presence.seen(1000.0 + k * 0.005)
    observation = presence.check(1000.0 + UNKNOWN_GAP_SILENCE_S + 1)
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


def test_a_reading_older_than_the_last_will_does_not_bring_the_device_back():
    # Ingest hands presence over at once and readings in batches: the last readings sent before the power went
    # reach the detectors just after the last will. They are not news that the device is back.
    presence = Presence()
    for k in range(10):
        presence.seen(1000.0 + 5 * k)
    assert presence.reported(1060.0, online=False).active
    assert presence.seen(1050.0).active
    assert presence.check(1070.0).active
    assert not presence.seen(1100.0).active  # a reading sent after the report: it is back
    assert not presence.check(1101.0).active


def test_a_rare_reporter_heard_once_is_not_silent_before_its_second_report():
    """A flood sensor reporting every 6 minutes, heard once since the detectors started: 6 minutes later it is not
    silent (it was, at the two-minute floor); quiet for 15 minutes, it is."""
    presence = Presence()
    presence.seen(1000.0)
    assert not presence.check(1000.0 + 359.0).active
    assert presence.check(1000.0 + UNKNOWN_GAP_SILENCE_S + 1).active
    presence.seen(1360.0)
    presence.seen(1720.0)
    assert not presence.check(1720.0 + 359.0).active
    assert presence.check(1720.0 + 10 * 360.0 + 1).active
