# callvar: two commands set everything up on a fresh Debian machine.
#   make demo   installs what is missing, builds, and calls variants on testdata/
#   make test   installs what is missing, builds, and runs the test suite
SHELL := /bin/bash
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/callvar
VENV ?= $(CACHE)/torch-2.11.0
export LIBTORCH_USE_PYTORCH := 1
export PATH := $(VENV)/bin:$(HOME)/.cargo/bin:$(PATH)
APT_PKGS := libclang-dev samtools bcftools tabix bwa art-nextgen-simulation-tools freebayes \
	bedtools minimap2 time python3-venv

.PHONY: demo test setup build bench clean
demo: build
	./target/release/callvar call --ref testdata/ref.fa.gz --reads testdata/na12878.bam \
		--output demo_out/na12878.vcf.gz --quiet
	@echo "VCF written to demo_out/na12878.vcf.gz (index demo_out/na12878.vcf.gz.tbi)"
	@bcftools view -H -f PASS demo_out/na12878.vcf.gz | wc -l | xargs echo "PASS records:"

test: build
	cargo test --release

build: setup
	cargo build --release

setup: $(VENV)/.ok .apt.ok

.apt.ok:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(VENV)/.ok:
	@echo "installing torch==2.11.0 (libtorch for tch) into $(VENV)"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q torch==2.11.0
	@touch $@

bench: build
	bash benches/accuracy.sh
	bash benches/speed.sh

clean:
	cargo clean; rm -rf demo_out .apt.ok
