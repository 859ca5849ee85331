"""Doctor: the models the settings name are in the catalog, installed, and their files intact."""

from __future__ import annotations

from speaker.doctor import Finding, megabytes
from speaker.errors import ModelError
from speaker.models import ModelStatus, ModelStore
from speaker.models.store import fetch_command
from speaker.settings import Settings


def configured_models(settings: Settings) -> dict[str, list[str]]:
    """Model id -> the roles it serves here (one model may serve wake and asr)."""
    roles = {"wake": settings.wake.model} if settings.wake.engine != "classifier" else {}
    roles |= {
        "asr": settings.asr.model,
        "llm": settings.llm.model,
        "tts": settings.tts.voice,
    }
    used: dict[str, list[str]] = {}
    for role, model_id in roles.items():
        used.setdefault(model_id, []).append(role)
    return used


def model_states(settings: Settings, store: ModelStore) -> dict[str, ModelStatus | None]:
    """The store's state of every configured model (None: not in the catalog)."""
    states: dict[str, ModelStatus | None] = {}
    for model_id in configured_models(settings):
        try:
            states[model_id] = store.state(model_id)
        except ModelError:
            states[model_id] = None
    return states


def check_models(settings: Settings, store: ModelStore, *, full: bool = True) -> list[Finding]:
    """One finding per configured model; `full` re-hashes every file (what `models verify` does)."""
    findings = []
    for model_id, roles in configured_models(settings).items():
        label = "+".join(roles)
        try:
            status = store.state(model_id)
        except ModelError as exc:
            findings.append(
                Finding(
                    "model",
                    "fail",
                    f"{label} {exc.message}",
                    "choose a model id from `speaker models list` in the settings",
                )
            )
            continue
        findings.append(_finding(label, status, store, full))
    if settings.wake.engine == "classifier":
        findings.append(check_wake_model(settings))
    return findings


def check_wake_model(settings: Settings) -> Finding:
    """The trained wake model file: readable, intact, and for the configured phrase."""
    from speaker.wake.classifier import bundled_model
    from speaker.wake.model import WakeModel, same_phrase

    path = settings.wake.classifier or bundled_model()
    try:
        model = WakeModel.load(path)
    except ModelError as exc:
        return Finding("model", "fail", f"wake {exc.message}", f'speaker wake train "{settings.wake.phrase}"')
    if not same_phrase(model.phrase, settings.wake.phrase):
        return Finding(
            "model",
            "fail",
            f"wake model {path} is for {model.phrase!r}, but wake.phrase is {settings.wake.phrase!r}",
            f'speaker wake train "{settings.wake.phrase}", then set wake.classifier to the file it writes',
        )
    stages = f"threshold {model.threshold:.3f}"
    if model.verifier is not None:
        stages += f", verifier {model.verifier.threshold:.3f}"
    if model.alternate is not None:
        stages += ", and an alternate route trained over background talk"
    if model.phones is not None:
        from speaker.wake.phones import FIX, load_bundled_recognizers

        try:
            load_bundled_recognizers()
        except ModelError as exc:
            return Finding("model", "fail", exc.message.removesuffix(f": {FIX}"), FIX)
        rivals = model.phones.get("rivals")
        against = f"{len(rivals)} rival pronunciations" if rivals else "its weakest phone"
        stages += f", phone check against {against} at {model.phones['threshold']:g}"
        offsets = model.phones.get("rival_offsets")
        if offsets and max(offsets) > 0:
            stages += f" (each held to its own, up to {model.phones['threshold'] + max(offsets):g})"
        if model.pairs:
            stages += ", pair networks for " + ", ".join(
                repr(pair.phrase) + (" (with the phone check)" if pair.phone_margin is not None else "")
                for pair in model.pairs
            )
    message = f"wake model for {model.phrase!r}: {path} ({stages})"
    return Finding("model", "ok", message)


def _finding(label: str, status: ModelStatus, store: ModelStore, full: bool) -> Finding:
    name = f"{label} {status.id}"
    fix = fetch_command(status.id)
    if status.state == "missing":
        return Finding("model", "fail", f"{name}: not installed (in {store.root})", fix)
    if status.state == "partial":
        return Finding(
            "model", "fail", f"{name}: not installed, a fetch was interrupted", f"{fix} (it resumes)"
        )
    if status.state == "corrupt":
        return Finding("model", "fail", f"{name}: damaged: {'; '.join(status.problems)}", f"{fix} --force")
    if status.state == "outdated":
        return Finding("model", "warn", f"{name}: {status.problems[0]}", fix)
    problems = store.verify(status.id) if full else []
    if problems:
        return Finding("model", "fail", f"{name}: damaged: {'; '.join(problems)}", f"{fix} --force")
    how = "every file's sha256 verified" if full else "installed"
    return Finding("model", "ok", f"{name} {status.installed_version}: {how} ({megabytes(status.size)})")
