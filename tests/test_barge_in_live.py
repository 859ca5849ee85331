"""Barge-in and own-voice suppression with the real models, in a simulated room (tests/room.py).

The speaker's replies are played into the room and come back into its microphone 30 ms later,
attenuated, with a little noise; the user's speech (piper, the joe voice) is mixed in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from room import Room

from skills import SkillContext, SkillReply
from speaker.app import Speaker, build_speaker
from speaker.audio.sinks import WavFileSink
from speaker.audio.wavfile import probe
from speaker.events import EventBus, EventLog
from speaker.pipeline.loop import run_on
from speaker.settings import load_settings
from speaker.speechgen import PiperSpeech, concat, pad

pytestmark = pytest.mark.slow

OWN_REPLY = "Hey computer, what time is it?"
LONG_REPLY = (
    "Once upon a time a lighthouse keeper lived on a small rocky island. "
    "Every evening he climbed the long stairs and lit the great lamp. "
    "Ships passed safely through the dark water all night long. "
    "One winter the storms were so strong that no boat could bring him food. "
    "He lived on fish and rain water for many weeks. "
    "In spring the first boat came, and the sailors thanked him for the light."
)


class FixedReply:
    """Answers the first utterance it is asked with fixed text (placed before the clock skill)."""

    name = "fixed"

    def __init__(self, text: str) -> None:
        self.text = text
        self.used = False

    def handle(self, utterance: str, context: SkillContext) -> SkillReply | None:
        if self.used:
            return None
        self.used = True
        return SkillReply(intent="fixed", text=self.text)


def speaker_in_room(tmp_path: Path, room: Room, reply: str, bus: EventBus, wake: str = "") -> Speaker:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"dialog:\n  follow_up_s: 0\ncontrols:\n  state_file: {tmp_path / 'controls.json'}\n"
        + (f"wake:\n  {wake}\n" if wake else ""),
        encoding="utf-8",
    )
    settings = load_settings(config)
    assert settings.wake.during_playback == "barge_in"  # the default
    sink = room.speaker(WavFileSink(tmp_path / "out.wav", paced=True))
    sink.open()
    speaker = build_speaker(settings, sink, bus=bus, warm=False)
    speaker.closers.append(sink.close)
    skills = speaker.responder.skills.skills
    skills.insert([s.name for s in skills].index("clock"), FixedReply(reply))
    return speaker


def run(speaker: Speaker, room: Room, audio: object) -> None:
    assert speaker.loop is not None
    try:
        run_on(speaker.loop, room.microphone(audio))  # type: ignore[arg-type]
    finally:
        speaker.close()


def test_its_own_voice_saying_the_wake_phrase_does_not_wake_it_but_the_user_saying_it_does(
    voice: PiperSpeech, tmp_path: Path
) -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    room = Room(echo_gain=0.5, delay_s=0.03, noise_snr_db=45)
    # Without the echo subtractor, so that the microphone hears the reply's phrase in full and
    # only the second detector on the playback reference keeps it from waking.
    speaker = speaker_in_room(tmp_path, room, OWN_REPLY, bus, wake="subtract_echo: false")
    # The user hears the reply and says the very same thing, in the same voice, at 10 s (as the
    # test voice speaks: the speaker's own varies a little from one synthesis to the next).
    same = voice.say(OWN_REPLY)
    question = pad(voice.say("Hey computer. What time is it?"), lead=1.0, trail=0.0)
    audio = concat(question, pad(same, lead=10.0 - question.duration, trail=3.5))
    run(speaker, room, audio)

    names = [e.name for e in log.events]
    done = log.named("turn_done")
    assert len(done) == 2, names
    assert done[0].reply == OWN_REPLY and not done[0].interrupted  # played to its end
    assert "barge_in" not in names
    # The microphone did hear the reply's wake phrase (so this test can fail), and dropped it.
    ignored = log.named("own_voice")
    assert ignored and all(e.audio < 9.5 for e in ignored), [(e.audio, e.score) for e in ignored]
    # The same words from the user, after the reply, wake it: the clock answers.
    wakes = log.named("wake")
    assert len(wakes) == 2 and wakes[1].audio > 10.0
    assert done[1].reply.startswith("It's"), (done[1].transcript, [(w.audio, w.score) for w in wakes])


def test_hey_computer_stop_interrupts_a_long_reply(voice: PiperSpeech, tmp_path: Path) -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    # The reply comes back into the microphone at a third of the user's level (no echo canceller:
    # only the simple subtractor, pipeline/echo.py), and the user says it in one breath.
    room = Room(echo_gain=0.3, delay_s=0.03)
    speaker = speaker_in_room(tmp_path, room, LONG_REPLY, bus)
    full = sum(c.duration for c in speaker.engines.tts.synthesize(LONG_REPLY))  # type: ignore[union-attr]
    assert full > 15.0
    question = pad(voice.say("Hey computer. What time is it?"), lead=1.0, trail=0.0)
    stop = voice.say("Hey computer, stop.")
    audio = concat(question, pad(stop, lead=9.0 - question.duration, trail=3.0))  # over the reply
    run(speaker, room, audio)

    names = [e.name for e in log.events]
    assert names.count("barge_in") == 1, names
    barge = log.named("barge_in")[0]
    assert 9.0 < barge.audio < 11.0
    done = log.named("turn_done")
    assert len(done) == 2, names
    assert done[0].interrupted and done[0].reply != LONG_REPLY
    assert [e.intent for e in log.named("intent")] == ["fixed", "stop"], done[1].transcript
    assert "follow_up" not in names
    # What was played (and written) stops at the barge-in: far shorter than the whole story.
    assert room.played_seconds < 0.6 * full, (room.played_seconds, full)
    written = probe(tmp_path / "out.wav").duration
    assert written < 0.75 * full, (written, full)
