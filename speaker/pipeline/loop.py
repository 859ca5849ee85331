"""The voice loop: frames in -> wake word -> endpointing + streaming ASR -> a turn -> frames in.

The same loop runs on a live microphone and on a WAV file. On a real-time source the turn runs
beside the loop and frames keep flowing: with `wake.during_playback: barge_in` the wake word is
still listened for while the speaker talks, and interrupts the reply (its own voice is told apart
by pipeline/barge_in.py); with `mute` it is not listened for until the reply ends. On a file read
as fast as possible the loop waits for the turn and then skips the input that would have been
heard while the reply played, so both behave like a device.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from speaker.audio.chunk import AudioChunk, frames
from speaker.audio.sources import AudioSource
from speaker.errors import SpeakerError
from speaker.events import (
    BargeIn,
    ErrorEvent,
    EventBus,
    FollowUpListening,
    NoSpeech,
    OwnVoiceIgnored,
    PartialTranscript,
    Ready,
    SpeechEnd,
    SpeechStart,
    Transcript,
    Wake,
)
from speaker.pipeline.barge_in import OwnVoice
from speaker.pipeline.echo import EchoSubtractor
from speaker.pipeline.listening import Listener, ListenResult
from speaker.pipeline.swap import replace_wrapped, unwrapped
from speaker.pipeline.turn import Responder, TurnResult
from speaker.settings import AudioSettings, WakeSettings
from speaker.wake.base import Detection, WakeWordDetector

log = logging.getLogger(__name__)

PLAYBACK_TAIL = 0.25  # seconds after playback during which the room still echoes the reply
FOLLOW_UP_QUIET = 0.2  # a follow-up is speech that starts after the reply, not talk that ran over it
REPLAY_BEFORE_S = 0.05  # the trained detector's phrase end is this late (classifier.PHRASE_END_OFFSET)
RECENT_SECONDS = 1.5  # audio kept while waiting for the wake word: the detector fires late


class State(enum.Enum):
    WAITING_FOR_WAKE = "waiting"
    LISTENING = "listening"
    RESPONDING = "responding"


class VoiceLoop:
    def __init__(
        self,
        *,
        wake: WakeWordDetector,
        listener: Listener,
        responder: Responder,
        bus: EventBus,
        audio: AudioSettings | None = None,
        wake_settings: WakeSettings | None = None,
        follow_up_s: float = 0.0,
        muted: Callable[[], bool] | None = None,
        own_voice: OwnVoice | None = None,
    ) -> None:
        self.wake = wake
        self.own_voice = own_voice  # barge_in: the playback reference that tells its own voice apart
        subtract = own_voice is not None and (wake_settings or WakeSettings()).subtract_echo
        self.echo = EchoSubtractor(own_voice.reference_at) if subtract and own_voice else None
        self.muted = muted or (lambda: False)  # the microphone switched off: nothing is listened to
        self.listener = listener
        self.responder = responder
        self.bus = bus
        self.audio = audio or AudioSettings()
        self.wake_settings = wake_settings or WakeSettings()
        self.state = State.WAITING_FOR_WAKE
        self.turns = 0
        self.tick_hooks: list[Callable[[], None]] = []  # called once per chunk: watchdogs, LEDs
        self.replaced_hooks: list[Callable[[str, Any], None]] = []  # (stage, engine) after a swap
        self._stop = threading.Event()
        self._turn_thread: threading.Thread | None = None
        self._mute_until = 0.0  # input audio time before which the wake word is not listened for
        self._turn_started_audio = 0.0
        self._turn_started_at = 0.0  # time.monotonic() when the current turn started
        self._last_result: TurnResult | None = None
        self._recent: collections.deque[tuple[AudioChunk, float]] = collections.deque()
        # True for sources read faster than real time: the loop waits for each turn (see run_on).
        self.responder_blocks = False
        self.follow_up_s = follow_up_s  # after a reply, listen this long without the wake word
        self._listen_from = 0.0  # input audio time from which a follow-up is listened to
        self._in_follow_up = False
        self._prepared: Any = None  # an answer prepared while the user paused (Responder.prepare)

    def stop(self) -> None:
        self._stop.set()
        self._drop_prepared()
        self.responder.interrupt()

    def turn_seconds(self) -> float:
        """How long the current turn has been running (0.0 when none is): for watchdogs."""
        thread = self._turn_thread
        if self.state is not State.RESPONDING or (thread is not None and not thread.is_alive()):
            return 0.0  # a finished turn is noticed on the next frame, which may be a while away
        return time.monotonic() - self._turn_started_at

    def idle(self) -> bool:
        """Waiting for the wake word with no turn running: the moment engines may be replaced."""
        turn = self._turn_thread
        return self.state is State.WAITING_FOR_WAKE and (turn is None or not turn.is_alive())

    def _stage_owner(self, stage: str) -> tuple[Any, str]:
        owners = {"wake": (self, "wake"), "asr": (self.listener, "asr")}
        owners.update({s: (self.responder, s) for s in ("llm", "tts")})
        if stage not in owners:
            raise ValueError(f"no engine stage {stage!r} can be replaced")
        return owners[stage]

    def engine(self, stage: str) -> Any:
        """The engine a stage runs, without the wrappers around it (the microphone mute)."""
        return unwrapped(getattr(*self._stage_owner(stage)))

    def replace_engine(self, stage: str, engine: Any) -> Any:
        """Put another engine in a stage's place (only when idle(): see pipeline/swap.py); returns the old.

        Wrappers the services put around an engine (the microphone mute around the wake word) stay
        and get the new engine; `replaced_hooks` then hear of it (the services' grammar, announcer).
        """
        old = replace_wrapped(*self._stage_owner(stage), engine)
        if stage == "wake":
            self.wake.reset()
        for hook in self.replaced_hooks:
            hook(stage, engine)
        return old

    def run(self, source: AudioSource) -> int:
        """Run until the source ends or stop() is called; returns the number of turns."""
        frame_samples = 16000 * self.audio.frame_ms // 1000
        remainder = bytearray()
        self._stop.clear()
        self._mute_until = 0.0  # a new source starts its own audio time at zero
        self._back_to_wake()
        self.bus.emit(Ready(input=source.description))
        try:
            for captured in source.read():
                if self.own_voice is not None:
                    self.own_voice.input_at(captured.chunk.end, captured.arrived)
                for frame in frames(captured.chunk, frame_samples, remainder):
                    self._on_frame(frame, captured.arrived)
                for hook in self.tick_hooks:
                    hook()
                if self._stop.is_set():
                    break
            self._finish_input()
        finally:
            self._wait_for_turn()
        return self.turns

    @property
    def barge_in(self) -> bool:
        """The wake word is listened for while the speaker talks (real-time sources only)."""
        return self.wake_settings.during_playback == "barge_in" and not self.responder_blocks

    def _skips_echo(self) -> bool:
        """Input heard while (or just after) the reply played is skipped: `mute`, and `barge_in` on
        files read faster than real time, which cannot be interrupted."""
        return self.wake_settings.during_playback != "listen" and not self.barge_in

    def _on_frame(self, frame: AudioChunk, arrived: float) -> None:
        self.bus.clock.set_audio(frame.end)
        if self.own_voice is not None:
            self.own_voice.catch_up(frame.end)
        if self.echo is not None:
            frame = self.echo.clean(frame)  # the reply's echo, taken out (as far as it can be)
        if self.state is State.RESPONDING:
            if self._turn_thread is not None and self._turn_thread.is_alive():
                if self.barge_in:
                    self._over_reply(frame, arrived)
                return  # otherwise the speaker is talking: its own voice must not wake it
            self._after_turn(self._last_result)
        if self.state is State.WAITING_FOR_WAKE:
            if frame.timestamp < self._mute_until and self._skips_echo():
                return
            self._remember(frame, arrived)
            self.listener.observe(frame)
            detection = self._detect(frame)
            if detection is not None:
                self._woken(detection)
            return
        if self.state is State.LISTENING:
            if self.muted():  # muted mid-request or in a follow-up window: stop listening at once
                self._back_to_wake()
                return
            if frame.timestamp < self._listen_from:
                return  # the reply is still playing (or echoing): not the user's follow-up
            if self._in_follow_up and self._woken_in_follow_up(frame, arrived):
                return
            self._listen(frame, arrived)

    def _detect(self, frame: AudioChunk, over_reply: bool = False) -> Detection | None:
        """The wake word detector on one frame; a detection of the speaker's own voice is dropped."""
        if hasattr(self.wake, "double_talk"):
            self.wake.double_talk = over_reply
        detection = self.wake.process(frame)
        if detection is None or self.own_voice is None or not self.own_voice.is_own(detection):
            return detection
        log.info("heard %r in its own playback (score %.1f): not waking", detection.phrase, detection.score)
        ignored = OwnVoiceIgnored(
            phrase=detection.phrase, score=detection.score, count=self.own_voice.suppressed
        )
        self.bus.emit(ignored)
        return None

    def _over_reply(self, frame: AudioChunk, arrived: float) -> None:
        """Barge-in: the wake word said over the reply stops it; the request after it is listened to."""
        if self.muted():
            return
        self._remember(frame, arrived)
        detection = self._detect(frame, over_reply=True)
        if detection is None:
            return
        self.responder.interrupt()
        reply_seconds = max(0.0, self.bus.clock.audio() - self._turn_started_audio)
        self.bus.emit(
            BargeIn(phrase=detection.phrase, score=detection.score, reply_seconds=round(reply_seconds, 2))
        )
        log.info("barge-in: %r heard over the reply; stopping it", detection.phrase)
        # The interrupted turn ends in its own thread (the next turn waits for it, _start_turn);
        # like any interrupted reply it opens no follow-up window.
        self._woken(detection)

    def _woken(self, detection: Detection) -> None:
        self._drop_prepared()  # (woken again in a follow-up window: a new request starts)
        self.bus.emit(Wake(phrase=detection.phrase, score=detection.score))
        self.state = State.LISTENING
        self._in_follow_up, self._listen_from = False, 0.0
        self.listener.start(detection.end)
        # The detector fires a little after the phrase ended, and people do not pause
        # after "hey computer": what followed the phrase is the start of the request.
        # A detection that waited for audio after the phrase (the trained wake word's phone check)
        # hands over the frames from where one given at once would have: just before its end.
        after = [(f, t) for f, t in self._recent if f.timestamp >= detection.end - REPLAY_BEFORE_S - 1e-6]
        self._recent.clear()
        for held, held_arrived in after:
            if self.state is not State.LISTENING:
                break
            self._listen(held, held_arrived)

    def _remember(self, frame: AudioChunk, arrived: float) -> None:
        self._recent.append((frame, arrived))
        while self._recent and frame.end - self._recent[0][0].timestamp > RECENT_SECONDS:
            self._recent.popleft()

    def _listen(self, frame: AudioChunk, arrived: float) -> None:
        try:
            result = self.listener.feed(frame, arrived)
        except SpeakerError as exc:
            self._fail(exc, "asr")
            return
        if result.partial:
            self.bus.emit(PartialTranscript(text=result.partial))
        if result.resumed:
            self._drop_prepared()
        if result.paused:
            self._prepare(result.paused)
        if result.started:
            self.bus.emit(SpeechStart())
        if result.no_speech:
            self.bus.emit(NoSpeech())
            self._back_to_wake()
        elif result.ended:
            self._end_of_speech(result)

    def _prepare(self, text: str) -> None:
        """The user paused: the answer to what was said so far is prepared while the endpoint is
        awaited (real-time sources only: a file read at full speed reaches its endpoint at once)."""
        self._drop_prepared()
        if self.responder_blocks:
            return
        self._prepared = self.responder.prepare(text)
        log.debug("preparing the answer to %r", text)

    def _drop_prepared(self) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            log.debug("dropped the answer prepared for %r", prepared.transcript)
            self.responder.discard(prepared)

    def _end_of_speech(self, result: ListenResult) -> None:
        endpoint = time.monotonic()
        self.bus.emit(
            SpeechEnd(
                last_voiced_audio=round(result.last_voiced_audio, 4),
                last_voiced_wall=round(self.bus.clock.to_wall(result.last_voiced_arrived), 4),
                reason=result.reason,
            )
        )
        try:
            text = self.listener.finish()
        except SpeakerError as exc:
            self._fail(exc, "asr")
            return
        self.bus.emit(Transcript(text=text))
        if not text.strip():
            log.info("heard speech but understood nothing")
            self._back_to_wake()
            return
        prepared, self._prepared = self._prepared, None
        self._start_turn(text, endpoint, prepared)

    def _start_turn(self, text: str, endpoint: float, prepared: Any = None) -> None:
        interrupted = self._turn_thread
        if interrupted is not None:  # a reply barged into: it stops within moments
            interrupted.join()
        self.turns += 1
        self.state = State.RESPONDING
        self._turn_started_audio = self.bus.clock.audio()
        self._turn_started_at = time.monotonic()
        self._last_result = None
        if self.responder_blocks:
            self._last_result = self.responder.respond(text, endpoint=endpoint, prepared=prepared)
            self._after_turn(self._last_result)
            return

        def run_turn() -> None:
            self._last_result = self.responder.respond(text, endpoint=endpoint, prepared=prepared)

        self._turn_thread = threading.Thread(target=run_turn, name="turn", daemon=True)
        self._turn_thread.start()

    def _after_turn(self, result: TurnResult | None) -> None:
        self._turn_thread = None
        played = result.audio_seconds if result else 0.0
        # Whatever the mic heard while the reply played is not a wake word.
        self._mute_until = max(self.bus.clock.audio(), self._turn_started_audio + played) + PLAYBACK_TAIL
        if self._wants_follow_up(result):
            self._open_follow_up()
        else:
            self._back_to_wake()

    # --- follow-up window: after a reply, the user may answer without the wake word ---

    def _wants_follow_up(self, result: TurnResult | None) -> bool:
        if self.follow_up_s <= 0 or result is None or self._stop.is_set() or self.muted():
            return False
        return bool(result.reply) and not result.interrupted and result.action != "stop"

    def _open_follow_up(self) -> None:
        self._back_to_wake()
        self.state = State.LISTENING
        self._in_follow_up, self._listen_from = True, self._mute_until
        self.listener.start(self._mute_until, no_speech_timeout=self.follow_up_s, quiet_first=FOLLOW_UP_QUIET)
        self.bus.emit(FollowUpListening(seconds=self.follow_up_s))

    def _woken_in_follow_up(self, frame: AudioChunk, arrived: float) -> bool:
        """The wake word said anyway inside the window: the request starts after it, as always."""
        self._remember(frame, arrived)
        detection = self._detect(frame)
        if detection is None:
            return False
        self.listener.cancel()
        self._woken(detection)
        return True

    def _back_to_wake(self) -> None:
        self._drop_prepared()
        self.state = State.WAITING_FOR_WAKE
        self._in_follow_up = False
        self._recent.clear()
        self.listener.cancel()
        self.wake.reset()

    def _finish_input(self) -> None:
        """The input ended: an utterance in progress is finished as if the speaker fell silent."""
        if self.state is State.LISTENING:
            result = self.listener.end_of_input()
            if result is not None and result.ended:
                self._end_of_speech(result)
            else:
                self._back_to_wake()

    def _wait_for_turn(self) -> None:
        thread = self._turn_thread
        if thread is not None:
            thread.join()
            self._after_turn(self._last_result)

    def _fail(self, exc: SpeakerError, stage: str) -> None:
        self.bus.emit(ErrorEvent(code=exc.code, message=exc.message, stage=stage))
        log.error("%s failed: %s", stage, exc.message)
        self._back_to_wake()


def run_on(loop: VoiceLoop, source: AudioSource) -> int:
    """Open the source, run the loop on it, close it: the turns taken."""
    loop.responder_blocks = not source.realtime
    source.open()
    try:
        return loop.run(source)
    finally:
        source.close()
