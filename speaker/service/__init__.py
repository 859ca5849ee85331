"""Running as a systemd service: the notify protocol, READY/STATUS from events, the loop's watchdog.

notifier = SystemdNotifier.from_environ(unset=True)   # does nothing outside systemd
detach = attach(loop, bus, notifier, settings.service, wake_phrase=settings.wake.phrase)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from speaker.events import EventBus
from speaker.service.notify import SystemdNotifier
from speaker.service.status import STATUS_LINES, ServiceStatus
from speaker.service.watchdog import LoopWatchdog
from speaker.settings import ServiceSettings

if TYPE_CHECKING:
    from speaker.pipeline.loop import VoiceLoop

__all__ = ["STATUS_LINES", "LoopWatchdog", "ServiceStatus", "SystemdNotifier", "attach"]


def attach(
    loop: VoiceLoop,
    bus: EventBus,
    notifier: SystemdNotifier,
    settings: ServiceSettings,
    *,
    wake_phrase: str,
) -> Callable[[], None]:
    """Status lines from the bus and watchdog pings from the loop; returns what undoes it."""
    if not notifier.enabled:
        return lambda: None
    unsubscribe = bus.subscribe(ServiceStatus(notifier, wake_phrase=wake_phrase))
    watchdog = LoopWatchdog.for_notifier(
        notifier, turn_seconds=loop.turn_seconds, max_turn_s=settings.max_turn_s
    )
    if watchdog is not None:
        loop.tick_hooks.append(watchdog)

    def detach() -> None:
        unsubscribe()
        if watchdog is not None and watchdog in loop.tick_hooks:
            loop.tick_hooks.remove(watchdog)

    return detach
