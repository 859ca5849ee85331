"""Doctor: CPU temperature, and under-voltage or throttling, where the Raspberry Pi exposes them.

The temperature comes from /sys/class/thermal; the throttling flags from the firmware's
get_throttled in /sys (Raspberry Pi OS kernels) or, failing that, `vcgencmd get_throttled`.
Elsewhere these checks say they cannot tell. `root` lets the tests point them at a copy of /sys.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from speaker.doctor import Finding

HOT_C = 75.0  # the Pi 4 and 5 start slowing down at 80 °C; warn before
THROTTLED_FILE = "sys/devices/platform/soc/soc:firmware/get_throttled"
POWER_FIX = (
    "use the official power supply (Pi 4: 5.1 V 3 A, Pi 5: 5.1 V 5 A) and a short, thick cable; "
    "a USB microphone array draws from the same supply"
)
COOL_FIX = "add a heatsink or a fan, and let air through the case"

# get_throttled bits: (now, since boot) for each condition
BITS = {
    "under-voltage": (0, 16),
    "CPU frequency capped": (1, 17),
    "throttled": (2, 18),
    "soft temperature limit": (3, 19),
}


def check_temperature(root: Path = Path("/")) -> Finding:
    zones = sorted((root / "sys/class/thermal").glob("thermal_zone*/temp"))
    if not zones:
        return Finding("temperature", "skip", "not exposed on this machine (no /sys/class/thermal)")
    try:
        celsius = int(zones[0].read_text().strip()) / 1000
    except (OSError, ValueError) as exc:
        return Finding("temperature", "skip", f"cannot read {zones[0]}: {exc}")
    if celsius >= HOT_C:
        return Finding("temperature", "warn", f"CPU at {celsius:.1f} °C: close to throttling", COOL_FIX)
    return Finding("temperature", "ok", f"CPU at {celsius:.1f} °C")


def read_throttled(root: Path = Path("/"), vcgencmd: str | None = "vcgencmd") -> int | None:
    path = root / THROTTLED_FILE
    try:
        return int(path.read_text().strip(), 16)
    except (OSError, ValueError):
        pass
    exe = shutil.which(vcgencmd) if vcgencmd else None
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "get_throttled"], capture_output=True, text=True, timeout=5).stdout
        return int(out.strip().split("=", 1)[1], 16)  # "throttled=0x50005"
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return None


def check_throttling(root: Path = Path("/"), vcgencmd: str | None = "vcgencmd") -> Finding:
    flags = read_throttled(root, vcgencmd)
    if flags is None:
        return Finding("power", "skip", "under-voltage and throttling are not exposed on this machine")
    now = [name for name, (bit, _) in BITS.items() if flags & (1 << bit)]
    since = [name for name, (_, bit) in BITS.items() if flags & (1 << bit) and name not in now]
    if not now and not since:
        return Finding("power", "ok", "no under-voltage or throttling since boot")
    parts = ([f"now: {', '.join(now)}"] if now else []) + (
        [f"since boot: {', '.join(since)}"] if since else []
    )
    text = f"{'; '.join(parts)} (get_throttled {flags:#x})"
    power = "under-voltage" in now + since
    return Finding("power", "warn", text, POWER_FIX if power else COOL_FIX)
