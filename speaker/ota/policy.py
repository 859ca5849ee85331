"""Whether a correctly signed manifest may be acted on by this speaker, now.

Checked after the signature, in this order: known component, addressed to this device, firmware
new enough, not expired; then, for a new announcement (not the resumption of one already
accepted), a serial above the last one acted on and a version above the installed one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from speaker import __version__ as FIRMWARE_VERSION
from speaker.ota.errors import (
    EXPIRED,
    INCOMPATIBLE,
    NOT_NEWER,
    OTHER_DEVICE,
    REPLAYED,
    UNKNOWN_COMPONENT,
    OtaError,
)
from speaker.ota.manifest import COMPONENTS, UpdateManifest, format_time, newer, parse_version


def check_applicable(
    manifest: UpdateManifest, *, device: str, firmware: str = FIRMWARE_VERSION, now: datetime | None = None
) -> None:
    """Refuse what this speaker must never install, whatever it has installed now."""
    if manifest.component not in COMPONENTS:
        raise OtaError(
            f"unknown component {manifest.component!r}: this speaker updates {', '.join(COMPONENTS)}",
            code=UNKNOWN_COMPONENT,
        )
    if manifest.device is not None and manifest.device != device:
        raise OtaError(
            f"{manifest.label} is addressed to device {manifest.device!r}, this is {device!r}",
            code=OTHER_DEVICE,
        )
    if parse_version(manifest.min_firmware) > parse_version(firmware):
        raise OtaError(
            f"{manifest.label} needs firmware {manifest.min_firmware} or newer; this speaker runs {firmware}",
            code=INCOMPATIBLE,
        )
    moment = now or datetime.now(UTC)
    if manifest.expires_at() <= moment:
        raise OtaError(
            f"{manifest.label} expired at {manifest.expires} (it is {format_time(moment)} here); "
            "the operator must sign a fresh manifest",
            code=EXPIRED,
        )


def check_new(manifest: UpdateManifest, *, last_serial: int, installed_version: str) -> None:
    """Refuse an announcement that is not newer than what this speaker already acted on."""
    if manifest.serial <= last_serial:
        raise OtaError(
            f"{manifest.label}: manifest serial {manifest.serial} is not above {last_serial}, the last one "
            "this speaker acted on: an old announcement replayed",
            code=REPLAYED,
        )
    if not newer(manifest.version, installed_version):
        raise OtaError(
            f"{manifest.label} is not newer than the installed version {installed_version}",
            code=NOT_NEWER,
        )
