"""The speaker's settings: frozen dataclasses, loaded once from YAML and passed in.

Defaults live in `config/speaker.yaml`; a user file given with `--config` (or SPEAKER_CONFIG)
is merged over them, so it only needs the keys it changes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from speaker.config_loader import build, deep_merge, read_yaml
from speaker.errors import ConfigError
from speaker.identity import check_device_id, check_same_device


@dataclass(frozen=True)
class AudioSettings:
    input_device: str | int | None = None  # name substring or index; None: the system default
    output_device: str | int | None = None
    capture_rate: int | None = None  # None: the device's default rate
    capture_channels: int | None = None  # None: what the device offers, up to 2
    channel: int | Literal["mix"] = "mix"  # mic arrays: which channel to keep, or mix them all
    frame_ms: Literal[10, 20, 30] = 30
    output_gap_ms: int = 300  # silence written between replies in an output WAV
    reopen_interval_s: float = 2.0  # a lost capture device (USB unplugged) is tried again this often
    stall_timeout_s: float = 3.0  # a capture device silent this long counts as lost and is reopened

    def __post_init__(self) -> None:
        if self.capture_rate is not None and not 8000 <= self.capture_rate <= 192000:
            raise ValueError(f"audio.capture_rate {self.capture_rate} is outside 8000..192000")
        if isinstance(self.channel, int) and self.channel < 0:
            raise ValueError("audio.channel must be 'mix' or a channel index from 0")
        if self.reopen_interval_s <= 0 or self.stall_timeout_s <= 0:
            raise ValueError("audio.reopen_interval_s and audio.stall_timeout_s must be positive")


@dataclass(frozen=True)
class WakeSettings:
    engine: str = "classifier"  # classifier (trained) | pocketsphinx | vosk
    model: str = "pocketsphinx-en-us"  # a model id from the catalog (pocketsphinx, vosk)
    phrase: str = "hey computer"
    threshold: float = 1e-20  # pocketsphinx keyphrase threshold: larger is stricter
    classifier: Path | None = None  # a trained wake model (.npz); None: the bundled "hey computer"
    score_threshold: float | None = None  # classifier: overrides the model's own (0..1, larger is stricter)
    verify_threshold: float | None = None  # classifier: the same for its verifier, the second network
    # classifier: the phone check's threshold (-100..50, larger is stricter); None: the model's own;
    # "off": no phone check (a wake 0.7 s sooner, more false wakes)
    phone_threshold: float | Literal["off"] | None = None
    # While a reply plays: barge_in (the wake word interrupts it; the reply's own voice is ignored),
    # mute (the microphone is not listened to), listen (no wait after a reply on WAV input)
    during_playback: Literal["barge_in", "mute", "listen"] = "barge_in"
    own_voice_window_s: float = 1.0  # barge_in: a wake this close to one in the playback is its own voice
    subtract_echo: bool = True  # barge_in: take the reply's direct echo out of the microphone

    def __post_init__(self) -> None:
        if not self.phrase.strip():
            raise ValueError("wake.phrase must not be empty")
        if self.score_threshold is not None and not 0.0 < self.score_threshold < 1.0:
            raise ValueError("wake.score_threshold must be between 0 and 1 (or null: the model's own)")
        if self.verify_threshold is not None and not 0.0 < self.verify_threshold < 1.0:
            raise ValueError("wake.verify_threshold must be between 0 and 1 (or null: the model's own)")
        if self.phone_threshold not in (None, "off") and not (
            isinstance(self.phone_threshold, (int, float)) and -100 <= self.phone_threshold <= 50
        ):
            raise ValueError(
                'wake.phone_threshold must be a number from -100 to 50, "off", or null (the model\'s)'
            )
        if not 0 < self.own_voice_window_s <= 5:
            raise ValueError("wake.own_voice_window_s must be more than 0 and at most 5 seconds")


@dataclass(frozen=True)
class VadSettings:
    engine: str = "webrtc"
    aggressiveness: Literal[0, 1, 2, 3] = 2
    speech_start_ms: int = 90  # voiced time needed before an utterance counts as started
    trailing_silence_ms: int = 600  # silence that ends an utterance
    max_utterance_s: float = 12.0
    no_speech_timeout_s: float = 5.0  # after the wake word, give up if nobody speaks
    prepare_after_ms: int = 200  # silence after which the answer is prepared ahead; 0: off

    def __post_init__(self) -> None:
        for name in ("speech_start_ms", "trailing_silence_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"vad.{name} must be positive")
        if not 0 <= self.prepare_after_ms < self.trailing_silence_ms:
            raise ValueError("vad.prepare_after_ms must be 0 (off) or shorter than vad.trailing_silence_ms")
        if self.max_utterance_s <= 0 or self.no_speech_timeout_s <= 0:
            raise ValueError("vad.max_utterance_s and vad.no_speech_timeout_s must be positive")


@dataclass(frozen=True)
class AsrSettings:
    engine: str = "pocketsphinx"  # pocketsphinx | vosk
    model: str = "pocketsphinx-en-us"
    language: str = "en"
    grammar: tuple[str, ...] = ()  # phrases to restrict or bias recognition to (vosk: plus [unk])


@dataclass(frozen=True)
class RemoteSettings:
    """Cloud-edge collaboration: an OpenAI-compatible chat server on the LAN (llama.cpp server, vLLM)."""

    url: str | None = None  # e.g. http://192.168.1.20:8080; None: answer locally only
    model: str = ""  # the model name sent with each request (vLLM needs it)
    api_key_env: str | None = None  # name of an environment variable holding a bearer token
    policy: Literal["local", "remote", "heavy"] = "local"
    heavy_modes: tuple[str, ...] = ("knowledge",)  # `heavy`: these modes go remote
    heavy_min_seconds: float = 4.0  # `heavy`: so do questions that take this long to say
    connect_timeout_s: float = 0.5
    first_token_timeout_s: float = 2.0  # no first token by then: the local model answers instead
    read_timeout_s: float = 5.0  # longest pause between tokens once the reply streams
    retry_after_s: float = 30.0  # after a failure, answer locally this long before trying again

    def __post_init__(self) -> None:
        if self.policy != "local" and not self.url:
            raise ValueError(f"remote.policy is {self.policy!r} but remote.url is not set")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"remote.url must start with http:// or https://, got {self.url!r}")
        timeouts = (self.connect_timeout_s, self.first_token_timeout_s, self.read_timeout_s)
        if min(timeouts) <= 0 or self.retry_after_s < 0:
            raise ValueError("remote timeouts must be positive")


@dataclass(frozen=True)
class LlmSettings:
    engine: str = "llama"
    model: str = "smollm2-135m-instruct-q4_1"
    context_tokens: int = 2048
    threads: int = 2
    max_tokens: int = 80
    temperature: float = 0.3
    top_p: float = 0.9
    repeat_penalty: float = 1.1
    seed: int = 7
    system_prompt: str = (
        "You are a friendly voice assistant in a home. Answer in one or two short, plain sentences "
        "that sound natural when spoken. No lists, no markdown."
    )  # only for turns without dialog modes (dialog.enabled: false)
    remote: RemoteSettings = field(default_factory=RemoteSettings)

    def __post_init__(self) -> None:
        if self.threads < 1 or self.max_tokens < 1 or self.context_tokens < 256:
            raise ValueError("llm.threads and llm.max_tokens must be >= 1, llm.context_tokens >= 256")


@dataclass(frozen=True)
class DialogSettings:
    enabled: bool = True  # false: one system prompt (llm.system_prompt), no modes, no memory
    modes: Path | None = None  # None: modes.yaml beside the default speaker.yaml
    language: Literal["auto", "en", "zh"] = "auto"  # the prompts' language; auto: the utterance's
    memory_tokens: int = 600  # earlier turns the model sees, at most
    idle_timeout_s: float = 300.0  # a conversation quiet this long is forgotten
    follow_up_s: float = 6.0  # after a reply, listen this long without the wake word; 0: off
    follow_up_bonus: float = 2.0  # how strongly a conversation keeps its mode (cue weight)

    def __post_init__(self) -> None:
        if self.memory_tokens < 0 or self.idle_timeout_s <= 0 or self.follow_up_s < 0:
            raise ValueError("dialog: memory_tokens and follow_up_s must be >= 0, idle_timeout_s > 0")


@dataclass(frozen=True)
class TtsSettings:
    engine: str = "piper"
    voice: str = "piper-en-us-joe-medium"
    length_scale: float = 1.0  # < 1 speaks faster
    threads: int = 2  # onnxruntime threads (the LLM waits while a sentence is synthesized)


@dataclass(frozen=True)
class ModelsSettings:
    dir: Path | None = None  # None: $SPEAKER_MODELS_DIR or the user's data directory
    catalog: Path | None = None  # None: models.yaml beside the default speaker.yaml


@dataclass(frozen=True)
class ServiceSettings:
    """Running under systemd (Type=notify with a watchdog)."""

    max_turn_s: float = 120.0  # a turn running longer is hung: watchdog pings stop, systemd restarts

    def __post_init__(self) -> None:
        if self.max_turn_s <= 0:
            raise ValueError("service.max_turn_s must be positive")


@dataclass(frozen=True)
class OtaSettings:
    """Over-the-air model updates (speaker/ota/): who is trusted, where slots live, how careful to be."""

    enabled: bool = True
    dir: Path | None = None  # None: "ota" beside the model store's directory
    device_id: str | None = None  # None: mqtt.device_id, else the host name (speaker/identity.py)
    topic_prefix: str = "speaker/ota"
    trusted_keys: tuple[str, ...] = ()  # base64 ed25519 public keys (`speaker ota keygen` prints one)
    min_free_mb: int = 64  # disk left free after an update's files; less is refused before downloading
    health_timeout_s: float = 120.0  # a health check that takes longer is stopped: the update fails
    trial_turns: int = 3  # turns the new model must answer before the previous one is let go
    trial_boots: int = 2  # starts that may end without a finished trial before rolling back
    download_timeout_s: float = 30.0  # per network read; cut connections are resumed

    def __post_init__(self) -> None:
        from speaker.ota.signing import parse_public_key  # light: the cryptography primitives only

        for key in self.trusted_keys:
            parse_public_key(key)
        if self.min_free_mb < 0 or self.health_timeout_s <= 0 or self.download_timeout_s <= 0:
            raise ValueError("ota.min_free_mb must be >= 0, the timeouts positive")
        if self.trial_turns < 0 or self.trial_boots < 1:
            raise ValueError("ota.trial_turns must be >= 0 and ota.trial_boots >= 1")
        if not self.topic_prefix.strip("/") or any(c in self.topic_prefix for c in "+#"):
            raise ValueError("ota.topic_prefix must be a topic without wildcards")
        check_device_id(self.device_id, "ota.device_id")


@dataclass(frozen=True)
class MqttSettings:
    """The broker connection, the speaker as a Home Assistant device, and turn events.

    MQTT is off until a broker is given: `url` (or --mqtt, or $SPEAKER_MQTT_URL), or `host`.
    """

    url: str | None = None  # mqtt://user:pass@host:port or mqtts://...; overrides host/port/user/tls
    host: str | None = None
    port: int | None = None  # None: 1883, or 8883 with TLS
    username: str | None = None
    password: str | None = None
    password_file: Path | None = None  # read the password from this file (keeps it out of the config)
    tls: bool = False
    ca_certs: Path | None = None  # None: the system's certificate authorities
    certfile: Path | None = None  # client certificate, for brokers that require one
    keyfile: Path | None = None
    tls_insecure: bool = False  # do not check the broker's host name (self-signed lab brokers only)
    client_id: str | None = None  # None: speaker-<device_id>
    device_id: str | None = None  # None: ota.device_id, else the host name (speaker/identity.py)
    device_name: str | None = None  # what Home Assistant shows; None: "Speaker <host name>"
    base_topic: str = "speaker"
    keepalive_s: int = 30
    reconnect_min_s: float = 1.0  # backoff after a lost connection doubles from min to max
    reconnect_max_s: float = 60.0
    connect_wait_s: float = 5.0  # `speaker ask` and WAV input wait this long for the broker at start
    discovery: bool = True  # announce the speaker to Home Assistant
    discovery_prefix: str = "homeassistant"
    publish_turns: bool = True  # transcript, mode, intent and reply of every turn (off: privacy)
    turns_topic: str | None = None  # None: <base_topic>/<device_id>/turn
    max_payload_kb: int = 64  # larger messages are dropped (device lists: 64x this)

    def __post_init__(self) -> None:
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError(f"mqtt.port {self.port} is outside 1..65535")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError("mqtt.reconnect_min_s must be positive and at most mqtt.reconnect_max_s")
        if self.keepalive_s < 5 or self.max_payload_kb < 1 or self.connect_wait_s < 0:
            raise ValueError("mqtt.keepalive_s must be >= 5, max_payload_kb >= 1, connect_wait_s >= 0")
        for name in ("base_topic", "discovery_prefix"):
            value = getattr(self, name)
            if not value or any(c in value for c in "#+") or value.startswith("/") or value.endswith("/"):
                raise ValueError(f"mqtt.{name} {value!r} must be a plain topic without wildcards or edge '/'")
        check_device_id(self.device_id, "mqtt.device_id")


@dataclass(frozen=True)
class HomeSettings:
    """Home devices: config/devices.yaml plus what the broker already announces."""

    devices_file: Path | None = None  # None: devices.yaml beside speaker.yaml
    import_homeassistant: bool = True  # devices announced with Home Assistant MQTT discovery
    import_zigbee2mqtt: bool = True  # devices from Zigbee2MQTT's bridge/devices
    zigbee2mqtt_topic: str = "zigbee2mqtt"
    confirm_locks: bool = True  # lock/unlock asks "are you sure?" first
    confirm_timeout_s: float = 20.0  # how long a yes/no answer is waited for


@dataclass(frozen=True)
class ControlsSettings:
    """Output volume and microphone mute, set by voice or from Home Assistant."""

    volume: int = 80  # percent, at first start; later the last volume set is remembered
    volume_step: int = 10  # "volume up" / "volume down"
    muted: bool = False  # microphone muted at start (no wake word is heard)
    state_file: Path | None = None  # None: $XDG_STATE_HOME/speaker/controls.json

    def __post_init__(self) -> None:
        if not 0 <= self.volume <= 100 or not 1 <= self.volume_step <= 50:
            raise ValueError("controls.volume must be 0..100 and controls.volume_step 1..50")


@dataclass(frozen=True)
class Settings:
    audio: AudioSettings = field(default_factory=AudioSettings)
    wake: WakeSettings = field(default_factory=WakeSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    dialog: DialogSettings = field(default_factory=DialogSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    models: ModelsSettings = field(default_factory=ModelsSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    ota: OtaSettings = field(default_factory=OtaSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    home: HomeSettings = field(default_factory=HomeSettings)
    controls: ControlsSettings = field(default_factory=ControlsSettings)

    def __post_init__(self) -> None:
        check_same_device(self.mqtt.device_id, self.ota.device_id)  # one id per speaker

    @property
    def models_dir(self) -> Path:
        if self.models.dir is not None:
            return self.models.dir
        if env := os.environ.get("SPEAKER_MODELS_DIR"):
            return Path(env).expanduser()
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(data_home) / "speaker" / "models"

    @property
    def catalog_path(self) -> Path:
        return self.models.catalog or default_config_dir() / "models.yaml"

    @property
    def modes_path(self) -> Path:
        return self.dialog.modes or default_config_dir() / "modes.yaml"


def with_asr_grammar(settings: Settings, phrases: Sequence[str]) -> Settings:
    """The settings with `phrases` added to the recognizer's grammar (asr.grammar's own come first)."""
    if not phrases:
        return settings
    merged = tuple(dict.fromkeys((*settings.asr.grammar, *phrases)))
    return replace(settings, asr=replace(settings.asr, grammar=merged))


def with_mqtt_url(settings: Settings, url: str | None) -> Settings:
    """The settings with the broker given on the command line (--mqtt URL), if any."""
    return replace(settings, mqtt=replace(settings.mqtt, url=url)) if url else settings


def default_config_dir() -> Path:
    """Where the shipped default YAML lives: the source tree, or the installed data files."""
    candidates = [
        Path(__file__).resolve().parent.parent / "config",
        Path(sys.prefix) / "share" / "speaker" / "config",
        Path("/etc/speaker"),
    ]
    for candidate in candidates:
        if (candidate / "speaker.yaml").is_file():
            return candidate
    raise ConfigError(
        "the default configuration (speaker.yaml) was not found; looked in "
        + ", ".join(str(c) for c in candidates)
    )


def load_settings(path: Path | str | None = None) -> Settings:
    """Defaults from config/speaker.yaml, then `path` (or $SPEAKER_CONFIG) merged over them."""
    defaults_path = default_config_dir() / "speaker.yaml"
    data = read_yaml(defaults_path)
    sources = [defaults_path]
    user = path if path is not None else os.environ.get("SPEAKER_CONFIG")
    if user:
        user_path = Path(user).expanduser()
        data = deep_merge(data, read_yaml(user_path))
        sources.append(user_path)
    try:
        return build(Settings, data)
    except ConfigError as exc:
        raise ConfigError(f"invalid configuration ({sources[-1]}): {exc.message}") from exc
