#!/usr/bin/env bash
# Install speaker on Raspberry Pi OS Bookworm (64-bit) as a system service, or upgrade it.
#
#   sudo scripts/install-pi.sh                      install, or upgrade in place, and (re)start it
#   scripts/install-pi.sh --dry-run                 print every step; change nothing
#   sudo scripts/install-pi.sh --profile pi4-2gb    first install: start from a low-resource profile
#
# It never asks a question, so it runs unattended too (cloud-init, Ansible, a first-boot script).
# Running it again upgrades in place: the code is synced, Python packages updated, llama.cpp
# rebuilt only when the CPU flags or its version changed, missing models fetched, the service
# restarted. Your /etc/speaker/speaker.yaml and /etc/default/speaker are never overwritten.
#
# What goes where:
#   /opt/speaker                 the code (a copy of this tree) and its virtualenv, .venv
#   /etc/speaker/speaker.yaml    this speaker's settings, merged over /opt/speaker/config/speaker.yaml
#   /etc/default/speaker         the service's environment (e.g. SPEAKER_MQTT_URL=mqtt://...)
#   /var/lib/speaker/models      the models (the service user's state directory)
#   /usr/local/bin/speaker       the speaker command, with /etc/speaker/speaker.yaml
#   /etc/systemd/system/speaker.service
set -euo pipefail

usage() {
    cat <<'EOF'
usage: install-pi.sh [--dry-run] [--profile NAME|none] [--board pi5|pi4|pi3|generic]
                     [--no-start] [--no-models] [--rebuild-llm] [--root DIR]

  --dry-run        print the commands it would run, change nothing (no root needed)
  --profile NAME   on first install, start /etc/speaker/speaker.yaml from config/profiles/NAME.yaml
                   (default: chosen by memory: under 1 GB pi-zero-2w, under 3 GB pi4-2gb, else none)
  --board NAME     build llama.cpp for this board instead of the one detected: pi5 (Cortex-A76,
                   dotprod), pi4 (Cortex-A72), pi3 (Cortex-A53: Pi 3, Zero 2 W), generic (native)
  --no-start       install and enable the service, but do not (re)start it
  --no-models      do not fetch the models
  --rebuild-llm    build llama-cpp-python again even if this CPU's build is installed
  --root DIR       put the files (code, settings, unit, directories) under DIR instead of /, and
                   skip what needs the running system (apt, user, venv, models, systemctl):
                   for preparing an image, and for testing this script
EOF
}

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT=""
DRY_RUN=0
PROFILE="auto"
BOARD=""
START=1
MODELS=1
REBUILD_LLM=0
SERVICE_USER=speaker

while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --profile) PROFILE="${2:?--profile needs a name}"; shift ;;
        --board) BOARD="${2:?--board needs a name}"; shift ;;
        --no-start) START=0 ;;
        --no-models) MODELS=0 ;;
        --rebuild-llm) REBUILD_LLM=1 ;;
        --root) ROOT="$(realpath -m "${2:?--root needs a directory}")"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install-pi.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

PREFIX=/opt/speaker
STATE=/var/lib/speaker
CONF=/etc/speaker
VENV="$PREFIX/.venv"
PY="$VENV/bin/python"

say() { printf '==> %s\n' "$*"; }
warn() { printf 'install-pi.sh: warning: %s\n' "$*" >&2; }
die() { printf 'install-pi.sh: error: %s\n' "$*" >&2; exit 1; }

# Run a command, or only print it (quoted, ready to paste) with --dry-run.
run() {
    if [[ $DRY_RUN -eq 1 ]]; then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# What a step did; nothing to report in a dry run, which did nothing.
note() { if [[ $DRY_RUN -eq 0 ]]; then echo "    $*"; fi; }

# Steps that need the live system (not an image under --root).
live() { [[ -z "$ROOT" ]]; }

mem_kb() { awk '/^MemTotal:/ {print $2}' /proc/meminfo; }

detect_board() {
    local part
    part="$(awk -F': *' '/^CPU part/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
    case "$part" in
        0xd0b) echo pi5 ;;      # Cortex-A76: Pi 5
        0xd08) echo pi4 ;;      # Cortex-A72: Pi 4, Pi 400, CM4
        0xd03) echo pi3 ;;      # Cortex-A53: Pi 3, Pi Zero 2 W
        *) echo generic ;;
    esac
}

# llama.cpp's CPU flags per board. GGML_NATIVE=OFF with an explicit architecture gives the same
# build wherever it is compiled; NEON is part of armv8-a, dotprod comes with the A76 (armv8.2-a).
llama_cmake_args() {
    case "$1" in
        pi5) echo "-DGGML_NATIVE=OFF -DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16" ;;
        pi4|pi3) echo "-DGGML_NATIVE=OFF -DGGML_CPU_ARM_ARCH=armv8-a" ;;
        generic) echo "-DGGML_NATIVE=ON" ;;
        *) die "unknown board '$1' (pi5, pi4, pi3 or generic)" ;;
    esac
}

auto_profile() {
    local kb
    kb="$(mem_kb)"
    if [[ $kb -lt 1000000 ]]; then echo pi-zero-2w
    elif [[ $kb -lt 3000000 ]]; then echo pi4-2gb
    else echo none
    fi
}

# Install a file only if it changed; prints what happened.
install_file() {  # SOURCE DEST MODE
    local source="$1" dest="$2" mode="$3"
    if [[ -f "$dest" ]] && cmp -s "$source" "$dest"; then
        echo "    $dest: unchanged"
        return 1
    fi
    run install -D -m "$mode" "$source" "$dest"
    note "$dest: installed"
}

preflight() {
    if [[ $DRY_RUN -eq 0 && $EUID -ne 0 ]] && live; then
        die "run it as root: sudo $0"
    fi
    if live; then
        local arch codename=""
        arch="$(uname -m)"
        case "$arch" in
            aarch64) ;;
            armv6l|armv7l) die "a 64-bit system is needed (Raspberry Pi OS 64-bit): llama.cpp and onnxruntime need aarch64" ;;
            *) warn "this is $arch, not a Raspberry Pi: building for this CPU"; BOARD="${BOARD:-generic}" ;;
        esac
        if [[ -r /etc/os-release ]]; then
            codename="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d '"')"
        fi
        [[ "$codename" == bookworm ]] || warn "made for Raspberry Pi OS Bookworm; this is '${codename:-unknown}': going on"
        python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
            || die "python 3.11 or newer is needed (Bookworm has it)"
    fi
    BOARD="${BOARD:-$(detect_board)}"
    CMAKE_ARGS_LLAMA="$(llama_cmake_args "$BOARD")"
    [[ "$PROFILE" == auto ]] && PROFILE="$(auto_profile)"
    if [[ "$PROFILE" != none && ! -f "$SRC/config/profiles/$PROFILE.yaml" ]]; then
        local there
        there="$(find "$SRC/config/profiles" -name '*.yaml' -printf '%f ' | sed 's/\.yaml//g')"
        die "no profile '$PROFILE' in $SRC/config/profiles (there: ${there% })"
    fi
}

step_packages() {
    local packages=(python3 python3-venv python3-dev python3-pip build-essential cmake pkg-config
        rsync ca-certificates libportaudio2 alsa-utils)
    if [[ $(mem_kb) -lt 1000000 ]]; then
        packages+=(zram-tools)  # compressed swap in memory: the models fit on a 512 MB board
    fi
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "    apt packages: all present"
        return
    fi
    run apt-get update -q
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
}

step_user() {
    if getent passwd "$SERVICE_USER" >/dev/null; then
        echo "    user $SERVICE_USER: exists"
    else
        run useradd --system --user-group --home-dir "$STATE" --no-create-home \
            --shell /usr/sbin/nologin --comment "speaker service" "$SERVICE_USER"
    fi
    if ! id -nG "$SERVICE_USER" 2>/dev/null | tr ' ' '\n' | grep -qx audio; then
        run usermod -a -G audio "$SERVICE_USER"
    fi
}

step_dirs() {
    run install -d -m 0755 "$ROOT$PREFIX" "$ROOT$CONF" "$ROOT/usr/local/bin"
    if live; then
        run install -d -m 0755 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE" "$STATE/models"
    else
        run install -d -m 0755 "$ROOT$STATE" "$ROOT$STATE/models"
    fi
}

step_code() {
    if [[ "$(realpath -m "$SRC")" == "$(realpath -m "$ROOT$PREFIX")" ]]; then
        echo "    running from $PREFIX itself: code already in place"
        return
    fi
    local opts=(-a --delete --itemize-changes --exclude=/.git --exclude=/.venv --exclude=/.stamps
        --exclude=/out --exclude=/tests --exclude=/.ci --exclude=__pycache__ --exclude=.pytest_cache
        --exclude=.ruff_cache --exclude='*.egg-info' --exclude=/build --exclude=/dist)
    [[ $EUID -eq 0 ]] && opts+=(--chown=root:root)
    if [[ $DRY_RUN -eq 1 ]]; then
        run rsync "${opts[@]}" "$SRC/" "$ROOT$PREFIX/"
        return
    fi
    command -v rsync >/dev/null || die "rsync is needed: apt-get install -y rsync"
    local itemized changed
    itemized="$(rsync "${opts[@]}" "$SRC/" "$ROOT$PREFIX/")"
    changed="$(grep -c '^[<>ch*]' <<<"$itemized" || true)"
    if [[ $changed -eq 0 ]]; then echo "    $PREFIX: unchanged"; else echo "    $PREFIX: $changed file(s) updated"; fi
}

step_venv() {
    [[ -x "$PY" ]] || run python3 -m venv "$VENV"
    run "$PY" -m pip install -q --upgrade pip setuptools wheel
    local spec want stamp="$VENV/.llama-build"
    spec="$(grep -o '"llama-cpp-python[^"]*"' "$SRC/pyproject.toml" | tr -d '"')"
    want="$spec $CMAKE_ARGS_LLAMA"
    local jobs
    jobs="$(nproc)"
    [[ $(mem_kb) -lt 1500000 ]] && jobs=1  # compiling llama.cpp with 4 jobs runs a small board out of memory
    if [[ $REBUILD_LLM -eq 1 ]] || [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$want" ]] \
        || ! "$PY" -c 'import llama_cpp' 2>/dev/null; then
        say "building llama-cpp-python for $BOARD ($CMAKE_ARGS_LLAMA), $jobs job(s): the longest step, 10-60 minutes on a Pi"
        local again=()
        "$PY" -c 'import llama_cpp' 2>/dev/null && again=(--force-reinstall --no-deps)
        run env CMAKE_ARGS="$CMAKE_ARGS_LLAMA" CMAKE_BUILD_PARALLEL_LEVEL="$jobs" \
            "$PY" -m pip install --no-cache-dir --no-binary llama-cpp-python "${again[@]}" "$spec"
        if [[ $DRY_RUN -eq 0 ]]; then echo "$want" >"$stamp"; fi
    else
        echo "    llama-cpp-python: built for $BOARD already"
    fi
    run "$PY" -m pip install -q --upgrade -e "$PREFIX"
    run "$PY" -m compileall -q "$PREFIX/speaker" "$PREFIX/skills"  # the service cannot write caches there
}

step_config() {
    local conf="$ROOT$CONF/speaker.yaml"
    if [[ -f "$conf" ]]; then
        echo "    $CONF/speaker.yaml: kept (yours)"
    else
        local tmp
        tmp="$(mktemp)"
        {
            echo "# This speaker's settings, merged over $PREFIX/config/speaker.yaml (every key, its default"
            echo "# and what it does). Written once by scripts/install-pi.sh; later runs keep your edits."
            echo "models:"
            echo "  dir: $STATE/models"
            if [[ "$PROFILE" != none ]]; then
                echo
                echo "# ---- from config/profiles/$PROFILE.yaml ----"
                cat "$SRC/config/profiles/$PROFILE.yaml"
            fi
        } >"$tmp"
        run install -D -m 0644 "$tmp" "$conf"
        rm -f "$tmp"
        note "$CONF/speaker.yaml: written (profile: $PROFILE)"
    fi
    local env_file="$ROOT/etc/default/speaker"
    if [[ ! -f "$env_file" ]]; then
        local tmp
        tmp="$(mktemp)"
        printf '%s\n' "# Environment of the speaker service (systemd/speaker.service reads it)." \
            "# The MQTT broker, checked by \`speaker doctor\` too:" \
            "#SPEAKER_MQTT_URL=mqtt://USER:PASSWORD@homeassistant.local:1883" >"$tmp"
        run install -D -m 0640 "$tmp" "$env_file"  # it may hold a password: not for everyone
        rm -f "$tmp"
        if live; then run chgrp "$SERVICE_USER" "$env_file"; fi
    fi
    local wrapper
    wrapper="$(mktemp)"
    printf '%s\n' '#!/bin/sh' "# The speaker command with this speaker's settings (installed by scripts/install-pi.sh)." \
        "export SPEAKER_CONFIG=\"\${SPEAKER_CONFIG:-$CONF/speaker.yaml}\"" \
        "exec $VENV/bin/speaker \"\$@\"" >"$wrapper"
    install_file "$wrapper" "$ROOT/usr/local/bin/speaker" 0755 || true
    rm -f "$wrapper"
}

step_models() {
    if [[ $MODELS -eq 0 ]]; then echo "    skipped (--no-models)"; return; fi
    # As the service user, so the files are its own; an intact model is left alone.
    run runuser -u "$SERVICE_USER" -- env HOME="$STATE" SPEAKER_CONFIG="$CONF/speaker.yaml" \
        "$VENV/bin/speaker" models fetch
}

step_service() {
    local changed=0
    install_file "$SRC/systemd/speaker.service" "$ROOT/etc/systemd/system/speaker.service" 0644 && changed=1
    if ! live; then return; fi
    run systemctl daemon-reload
    run systemctl enable speaker.service
    if [[ $START -eq 0 ]]; then echo "    not started (--no-start)"; return; fi
    say "starting the speaker: systemd waits until its models are loaded and it listens (READY=1)"
    if ! run systemctl restart speaker.service; then
        run systemctl --no-pager --lines=20 status speaker.service || true
        die "the service did not start; see: journalctl -u speaker -b, and: sudo -u speaker speaker doctor"
    fi
    if [[ $changed -eq 1 ]]; then note "unit updated and service restarted"; fi
}

step_doctor() {
    # Informative only: a missing microphone should not undo an install.
    run runuser -u "$SERVICE_USER" -- env HOME="$STATE" SPEAKER_CONFIG="$CONF/speaker.yaml" \
        "$VENV/bin/speaker" doctor --no-meter --quick || true
}

main() {
    preflight
    if live && [[ $DRY_RUN -eq 0 ]]; then
        exec 9>/run/lock/speaker-install.lock
        flock -n 9 || die "another install-pi.sh is running"
    fi
    say "installing speaker from $SRC${ROOT:+ into $ROOT} (board: $BOARD, profile: $PROFILE)"
    [[ $DRY_RUN -eq 1 ]] && say "dry run: nothing is changed, the commands are only printed"
    if live; then
        say "apt packages"; step_packages
        say "user $SERVICE_USER (in the audio group)"; step_user
    else
        say "apt packages, user: skipped (--root)"
    fi
    say "directories"; step_dirs
    say "code in $PREFIX"; step_code
    if live; then say "python environment in $VENV"; step_venv; else say "python environment: skipped (--root)"; fi
    say "settings"; step_config
    if live; then say "models in $STATE/models"; step_models; else say "models: skipped (--root)"; fi
    say "systemd service"; step_service
    if live && [[ $START -eq 1 ]]; then say "speaker doctor"; step_doctor; fi
    say "done. Status: systemctl status speaker; logs: journalctl -u speaker -f; checks: sudo -u $SERVICE_USER speaker doctor"
}

main
