"""Piper voices through piper-tts' Python API: the voice is loaded once, each sentence streamed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from speaker.audio.chunk import AudioChunk
from speaker.errors import ModelError, StageError
from speaker.text.language import for_voice

log = logging.getLogger(__name__)


class PiperSynthesizer:
    def __init__(
        self,
        model_path: Path,
        config_path: Path | None = None,
        *,
        length_scale: float = 1.0,
        threads: int = 2,
    ) -> None:
        self.model_path = Path(model_path)
        self.config_path = Path(config_path) if config_path else Path(f"{model_path}.json")
        self.length_scale = length_scale
        self.threads = threads
        self.sample_rate = 22050
        self._voice: Any = None
        self._syn_config: Any = None
        self.language = "en-us"  # the voice's espeak-ng language, from its config
        self._warned_unspeakable = False

    def load(self) -> None:
        if self._voice is not None:
            return
        import onnxruntime
        from piper import PiperVoice, SynthesisConfig
        from piper.config import PiperConfig

        for path in (self.model_path, self.config_path):
            if not path.is_file():
                raise ModelError(f"piper voice file not found: {path}")
        try:
            config = PiperConfig.from_dict(json.loads(self.config_path.read_text(encoding="utf-8")))
            options = onnxruntime.SessionOptions()
            # The language model waits while a sentence is synthesized (pipeline/reply.py), so the
            # voice may use every core. (Its threads spin between steps: without that, measured
            # here, two threads were slower than one.)
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except (ValueError, KeyError, json.JSONDecodeError) as exc:
            raise ModelError(f"piper voice config {self.config_path} is not valid: {exc}") from exc
        except Exception as exc:  # onnxruntime raises its own exception types for bad models
            raise ModelError(f"cannot load piper voice {self.model_path.name}: {exc}") from exc
        self._voice = PiperVoice(session=session, config=config)
        self._syn_config = SynthesisConfig(length_scale=self.length_scale)
        self.sample_rate = config.sample_rate
        self.language = config.espeak_voice or self.language
        for _ in self.synthesize("Ready."):  # the first inference pays for allocations: not a user's turn
            pass

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        if self._voice is None:
            raise StageError("tts", "the voice is not loaded")
        spoken = for_voice(text, self.language)
        if spoken != text and not self._warned_unspeakable:
            self._warned_unspeakable = True
            log.warning(
                "the voice %s (%s) cannot speak Chinese; it says the rest. Set tts.voice to a Chinese "
                "piper voice (see README, Dialog modes)",
                self.model_path.name,
                self.language,
            )
        if not spoken:
            return
        text = spoken
        try:
            for chunk in self._voice.synthesize(text, self._syn_config):
                yield AudioChunk(chunk.sample_rate, 2, 1, chunk.audio_int16_bytes)
        except Exception as exc:
            raise StageError("tts", f"speech synthesis failed for {text[:40]!r}: {exc}") from exc
