# `make run` and `make test` set up .venv/ from requirements-dev.txt on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: run test bench build mip deploy clean firmware firmware-deps firmware-test emulator fleet bundle fuzz

$(READY): requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(READY)
	$(BIN)/python tools/demo.py

# the emulator's own tests (host_tests/test_emulator_uart.py) need rp2040js
test: $(READY) emulator
	$(BIN)/python -m pytest host_tests

# each fuzz target (fuzz/targets.py) under atheris for FUZZ_SECONDS, from its
# committed corpus; what it learns stays in build/fuzz/ (README: Fuzzing)
FUZZ_SECONDS ?= 20
fuzz: $(READY)
	@for t in $(notdir $(wildcard fuzz/corpus/*)); do mkdir -p build/fuzz/$$t && echo "fuzz $$t: $(FUZZ_SECONDS) s" && \
	  $(BIN)/python fuzz/run.py $$t -max_total_time=$(FUZZ_SECONDS) -timeout=30 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/$$t- build/fuzz/$$t fuzz/corpus/$$t || exit 1; done

# 100 real stations against the dev CSMS for a minute; FLEET_ARGS go to tools/fleet.py
fleet: $(READY)
	$(BIN)/python tools/fleet_demo.py $(FLEET_ARGS)

bench: $(READY) firmware-deps
	$(BIN)/python tools/bench.py

build: $(READY)
	$(BIN)/python tools/build.py $${BOARD:+--board "$$BOARD"}

# the agent as bytecode for mip: build/mip/package.json (README: Installing with mip)
mip: $(READY)
	$(BIN)/python tools/build.py --mip

# make bundle [VERSION=0.2.0]: the agent as a firmware update (L01), build/bundle/csagent-VERSION.bundle
# and its .sig, signed by a test PKI made once in build/pki/ (README: Firmware updates)
bundle: $(READY)
	$(BIN)/python tools/bundle.py --version "$${VERSION:-0.2.0}" --test-pki build/pki \
		--out "build/bundle/csagent-$${VERSION:-0.2.0}.bundle"

# make firmware BOARD=unix32|picow [MICROPY_DIR=<MicroPython v1.28.0 tree>]: the agent
# frozen into an image, build/firmware/<board>/ (tools/firmware.py). Default tree: the kit.
firmware: $(READY) firmware-deps
	$(BIN)/python tools/firmware.py --board "$${BOARD:-unix32}"

# The host packages the firmware builds need, installed with apt where it is available.
firmware-deps:
	tools/firmware_deps.sh

# Both images, then the end-to-end suite on the 32-bit one with the agent frozen in it,
# and the Pico W image on the emulated RP2040 (host_tests/test_emulated_pico.py).
firmware-test: $(READY) firmware-deps emulator
	$(BIN)/python tools/firmware_test.py

# The emulated RP2040: rp2040js from npm, pinned in tools/emulator/package-lock.json.
EMULATOR := tools/emulator/node_modules/.package-lock.json
emulator: $(EMULATOR)
$(EMULATOR): tools/emulator/package-lock.json
	npm ci --prefix tools/emulator --no-audit --no-fund --loglevel=error
	touch $@

# make deploy PORT=/dev/ttyUSB0 BOARD=esp32|rp2040 ID=CS-001 CSMS=wss://host/ocpp
#   [PASSWORD=...] [CAFILE=ca.pem] [WIFI_SSID=... WIFI_PASSWORD=...] [DEPLOY_ARGS=--dry-run]
#   [MODEM=uart=0,tx=0,rx=1,baudrate=115200 APN=internet [APN_USER=... APN_PASSWORD=...]
#    [APN_AUTH=PAP] [SIM_PIN=1234]]: a cellular modem, the first profile's APN
# Values reach tools/deploy.py through the environment, so any character is safe.
deploy: $(READY)
	$(BIN)/python tools/deploy.py --port "$$PORT" --board "$$BOARD" --id "$$ID" --csms "$$CSMS" \
		$${PASSWORD:+--password "$$PASSWORD"} $${CAFILE:+--cafile "$$CAFILE"} \
		$${WIFI_SSID:+--wifi-ssid "$$WIFI_SSID"} $${WIFI_PASSWORD:+--wifi-password "$$WIFI_PASSWORD"} \
		$${MODEM:+--modem "$$MODEM"} $${APN:+--apn "$$APN"} $${APN_USER:+--apn-user "$$APN_USER"} \
		$${APN_PASSWORD:+--apn-password "$$APN_PASSWORD"} $${APN_AUTH:+--apn-auth "$$APN_AUTH"} \
		$${SIM_PIN:+--sim-pin "$$SIM_PIN"} $(DEPLOY_ARGS)

clean:
	rm -rf build .pytest_cache
