#!/usr/bin/env python3
"""Make speaker/data/sample_conversation.wav: what `make run` plays on a machine with no microphone.

Three wake-word questions spoken by the piper joe voice, with room for each reply between them
(the loop does not listen for the wake word while it is answering), and light room noise.

    .venv/bin/python scripts/make_sample_conversation.py
"""

from __future__ import annotations

from pathlib import Path

from speaker.audio.wavfile import write_wav
from speaker.models import ModelStore
from speaker.settings import load_settings
from speaker.speechgen import PiperSpeech, add_noise, concat, pad

LINES = [
    ("Hey computer. What is the capital of France?", 9.0),
    ("Hey computer. What time is it?", 4.0),
    ("Hey computer. Give me an idea for a birthday present.", 10.0),
]
OUT = Path(__file__).resolve().parent.parent / "speaker" / "data" / "sample_conversation.wav"


def main() -> None:
    settings = load_settings()
    voice = PiperSpeech(ModelStore.from_settings(settings).require(settings.tts.voice).main)
    parts = [pad(voice.say(text), lead=1.0, trail=pause) for text, pause in LINES]
    write_wav(OUT, add_noise(concat(*parts), snr_db=45.0, seed=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
