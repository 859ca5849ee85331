"""systemd's watchdog, pinged from inside the voice loop, so that a hung loop gets restarted.

The pings come from the loop's own thread (a VoiceLoop tick hook, called once per input chunk),
never from a timer thread: a loop stuck anywhere (an engine call, a bus listener, a capture
device that blocks) stops them, and systemd kills and restarts the service after WatchdogSec.
A live microphone source yields a heartbeat at least every half second, also while it waits
for a device that was unplugged, so a loop waiting for its microphone is alive, not hung.
A turn that runs for longer than `max_turn_s` (a playback device that blocks, a model that never
returns) stops the pings too: the loop still turns, but the speaker no longer answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from speaker.service.notify import SystemdNotifier

log = logging.getLogger(__name__)


class LoopWatchdog:
    def __init__(
        self,
        notifier: SystemdNotifier,
        *,
        every: float,
        turn_seconds: Callable[[], float] = lambda: 0.0,
        max_turn_s: float = 120.0,
    ) -> None:
        self.notifier = notifier
        self.every = every  # seconds between pings: a third of systemd's WatchdogSec
        self.turn_seconds = turn_seconds
        self.max_turn_s = max_turn_s
        self.pings = 0
        self._last = float("-inf")
        self._hung = False

    @classmethod
    def for_notifier(
        cls,
        notifier: SystemdNotifier,
        *,
        turn_seconds: Callable[[], float] = lambda: 0.0,
        max_turn_s: float = 120.0,
    ) -> LoopWatchdog | None:
        """A watchdog pinging at a third of systemd's interval; None when systemd set none."""
        if not notifier.enabled or not notifier.watchdog_interval:
            return None
        every = notifier.watchdog_interval / 3
        return cls(notifier, every=every, turn_seconds=turn_seconds, max_turn_s=max_turn_s)

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        busy = self.turn_seconds()
        if busy > self.max_turn_s:
            if not self._hung:
                log.error(
                    "a turn has been running for %.0f s (service.max_turn_s is %.0f): it looks hung; "
                    "no more watchdog pings, systemd will restart the speaker",
                    busy,
                    self.max_turn_s,
                )
                self.notifier.status(f"hung: a turn has been running for {busy:.0f} s")
                self._hung = True
            return
        self._hung = False
        if self.notifier.watchdog():
            self.pings += 1
        self._last = now
