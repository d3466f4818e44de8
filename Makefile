# The two commands of the README: `make run` and `make test`.
# Both set everything up on a fresh Debian machine and are safe to repeat.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
RUNTIME := $(VENV)/.runtime-$(HASH)
STAMP := $(VENV)/.installed-$(HASH)
WEB := node_modules/.package-lock.json
PEERS := .venv-peers/.installed-$(shell cat tests/peers-requirements.txt | sha1sum | cut -c1-12)
.PHONY: run test lint fuzz bench system-deps runtime venv web peers messages clean

# A secret set in the environment wins; otherwise one is made once in var/.
run: runtime web messages var/secret_key
	SECRET_KEY_FILE=$${SECRET_KEY_FILE:-var/secret_key} $(BIN)/python manage.py migrate --noinput
	SECRET_KEY_FILE=$${SECRET_KEY_FILE:-var/secret_key} $(BIN)/aprs-gateway run

# The whole suite on SQLite, then the database-bound tests again on PostgreSQL.
PG_TEST_URL ?= postgres:///aprs_gateway?host=/var/run/postgresql
test: venv web messages system-deps peers lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	DATABASE_URL='$(PG_TEST_URL)' $(BIN)/python -m pytest tests/test_archive.py tests/test_chat.py

# The habits that keep the house in order: ruff (lint + format) and the
# import contracts of pyproject.toml (config -> consumers -> gateway -> protocols).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Every fuzz target of tests/test_fuzz.py with 100,000 cases (about two hours on 2 cores);
# Hypothesis's statistics (cases per target, failures) go to bench/results/fuzz.txt.
FUZZ_EXAMPLES ?= 100000
fuzz: venv web
	mkdir -p bench/results
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py -p no:cacheprovider \
		--hypothesis-show-statistics -q | tee bench/results/fuzz.txt

# Every target of docs/fanout.md, the 10-minute P5 soak included: about 40 minutes.
# The archive part fills a PostgreSQL database of its own (bench/archive.py).
BENCH_ARGS ?= --soak 10
bench: venv
	@scripts/ensure-postgres
	$(BIN)/python -m bench $(BENCH_ARGS)

# `make run` installs what the gateway runs on; the test, bench and PostgreSQL extras
# (Playwright, Hypothesis, py-spy, ...) come with `make test`, `make bench` and `make fuzz`.
runtime: $(RUNTIME)

$(RUNTIME): pyproject.toml
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || scripts/apt-install python3-venv python3-pip
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	rm -f $(VENV)/.runtime-*
	touch $@

venv: $(STAMP)

$(STAMP): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[test,bench,postgres]'
	rm -f $(VENV)/.installed-*
	touch $@

# The Vietnamese catalogues (gateway/locale/*/LC_MESSAGES/*.po) compiled to .mo,
# which are not committed; compilemessages needs GNU gettext's msgfmt.
PO := $(wildcard gateway/locale/*/LC_MESSAGES/*.po)
messages: $(PO:.po=.mo)

gateway/locale/%.mo: gateway/locale/%.po | runtime
	@command -v msgfmt >/dev/null || scripts/apt-install gettext
	cd gateway && ../$(BIN)/django-admin compilemessages --ignore node_modules

# aprsd and aioaprs, real APRS-IS clients the tests run against our server port.
peers: $(PEERS)

$(PEERS): tests/peers-requirements.txt
	$(PYTHON) -m venv .venv-peers
	.venv-peers/bin/pip install --quiet -r tests/peers-requirements.txt
	rm -f .venv-peers/.installed-*
	touch $@

# Leaflet and its clustering plugin, pinned by package-lock.json, served as static files.
web: $(WEB)

$(WEB): package.json package-lock.json
	@command -v npm >/dev/null || scripts/apt-install npm
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# What the tests use besides Python: a redis-server binary they start themselves,
# systemd-analyze to check the unit file, a local PostgreSQL, Debian's Chromium
# for the browser tests (Playwright drives it; it never downloads a browser), and
# the real radio peers: direwolf (with gen_packets) and aprx; tmux, the terminal
# that shows `aprs-gateway import`'s progress bar.
system-deps:
	@command -v direwolf >/dev/null && command -v gen_packets >/dev/null || scripts/apt-install direwolf
	@command -v aprx >/dev/null || test -x /usr/sbin/aprx || scripts/apt-install aprx
	@command -v redis-server >/dev/null || scripts/apt-install redis-server
	@command -v chromium >/dev/null || scripts/apt-install chromium
	@command -v systemd-analyze >/dev/null || scripts/apt-install systemd
	@command -v tmux >/dev/null || scripts/apt-install tmux
	@test -x /usr/sbin/mosquitto && command -v mosquitto_passwd >/dev/null || scripts/apt-install mosquitto mosquitto-clients
	@scripts/ensure-postgres

var/secret_key:
	mkdir -p var
	$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	chmod 600 $@

clean:
	rm -rf $(VENV) .venv-peers var .pytest_cache node_modules
