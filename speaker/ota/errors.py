"""Why an update was refused or failed: a stable code for machines, a sentence for people."""

from __future__ import annotations

from speaker.errors import SpeakerError

# Refusals: the manifest is not acted on at all (nothing downloaded, nothing changed).
MALFORMED = "ota_malformed"  # not a signed manifest, or a manifest with missing or wrong fields
UNSIGNED = "ota_unsigned"  # no signature
UNTRUSTED = "ota_untrusted_key"  # signed, but not by a key this speaker trusts (or none configured)
TAMPERED = "ota_bad_signature"  # the signature does not match the manifest's bytes
EXPIRED = "ota_expired"
NOT_NEWER = "ota_not_newer"  # the version is older than or equal to the installed one
REPLAYED = "ota_replayed"  # the serial is not above the last one this speaker acted on
UNKNOWN_COMPONENT = "ota_unknown_component"
INCOMPATIBLE = "ota_incompatible"  # needs a newer firmware
OTHER_DEVICE = "ota_other_device"  # addressed to another speaker
DISK_FULL = "ota_disk_full"  # not enough free disk for the files: refused before downloading
BUSY = "ota_busy"  # another process is applying updates to this speaker

# Failures: the update was accepted, then could not be completed; the active model is untouched.
DOWNLOAD = "ota_download"
INTEGRITY = "ota_integrity"  # size or sha256 of a downloaded file does not match the manifest
HEALTH = "ota_health"  # the new model did not pass its health check
LOAD = "ota_load"  # the speaker could not load the new model after its health check passed
TRIAL = "ota_trial"  # the first turns with the new model failed: rolled back
DAMAGED = "ota_damaged"  # an installed slot no longer matches its checksums: rolled back


class OtaError(SpeakerError):
    """An update that did not happen; `code` is one of the constants above."""

    code = "ota"

    @property
    def refused(self) -> bool:
        return self.code in REFUSALS


REFUSALS = frozenset(
    {
        MALFORMED,
        UNSIGNED,
        UNTRUSTED,
        TAMPERED,
        EXPIRED,
        NOT_NEWER,
        REPLAYED,
        UNKNOWN_COMPONENT,
        INCOMPATIBLE,
        OTHER_DEVICE,
        DISK_FULL,
        BUSY,
    }
)
