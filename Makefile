# callvar: two commands set everything up on a fresh Debian machine.
#   make demo   installs what is missing, builds, and calls variants on testdata/
#   make test   installs what is missing, builds, and runs the test suite
#   make install PREFIX=DIR   DIR/bin/callvar + the libtorch/CUDA libraries it loads in DIR/lib
#   make check-install        installs to a scratch prefix and proves it runs on its own
SHELL := /bin/bash
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/callvar
VENV ?= $(CACHE)/torch-2.11.0
DASK_VERSION := 2026.8.0
export LIBTORCH_USE_PYTORCH := 1
export PATH := $(VENV)/bin:$(HOME)/.cargo/bin:$(PATH)
# BUILD_PKGS build and install callvar; the rest are the test and benchmark tools.
BUILD_PKGS := libclang-dev python3-venv patchelf
APT_PKGS := $(BUILD_PKGS) samtools bcftools tabix bwa art-nextgen-simulation-tools freebayes \
	bedtools minimap2 time

.PHONY: demo test setup build bench clean install check-install
demo: build
	./target/release/callvar call --ref testdata/ref.fa.gz --reads testdata/na12878.bam \
		--output demo_out/na12878.vcf.gz --quiet
	@echo "VCF written to demo_out/na12878.vcf.gz (index demo_out/na12878.vcf.gz.tbi)"
	@bcftools view -H -f PASS demo_out/na12878.vcf.gz | wc -l | xargs echo "PASS records:"

test: build
	cargo test --release

build: setup
	cargo build --release

setup: $(VENV)/.ok $(VENV)/.dask-$(DASK_VERSION).ok .apt.ok

# Rechecked when the Makefile (the package list) changes; installs only what is missing.
.apt.ok: Makefile
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

# dask.distributed for workflows/dask (its runner and its test in tests/workflows.rs), in the
# same venv; the marker names the version, so changing DASK_VERSION reinstalls.
$(VENV)/.dask-$(DASK_VERSION).ok: $(VENV)/.ok
	$(VENV)/bin/pip install -q "dask[distributed]==$(DASK_VERSION)"
	@touch $@

bench: build
	bash benches/accuracy.sh
	bash benches/speed.sh

clean:
	cargo clean; rm -rf demo_out .apt.ok

# make install PREFIX=DIR: DIR/bin/callvar, DIR/lib/ with every shared library it loads except
# the host's own (glibc, libstdc++, libgcc_s, zlib, and the NVIDIA driver's libcuda), and
# DIR/share/callvar/models/. The libraries are the NEEDED closure `ldd` resolves for the built
# binary (libtorch, libtorch_cuda, the CUDA runtime, cuBLAS, cuDNN, NCCL... from the torch
# wheel) plus DLOPEN_LIBS, which libtorch and cuDNN open at run time by name. Every copy gets
# DT_RPATH ($ORIGIN/../lib on the binary, $ORIGIN on the libraries): searched before
# LD_LIBRARY_PATH, so DIR runs after the torch venv is gone and beside any other libtorch.
# DIR is best a folder of its own (default /opt/callvar): DIR/lib gets about 3 GB.
PREFIX ?= /opt/callvar
DLOPEN_LIBS := libcudnn_graph.so.9 libcudnn_ops.so.9 libcudnn_cnn.so.9 libcudnn_adv.so.9 \
	libcudnn_heuristic.so.9 libcudnn_engines_precompiled.so.9 \
	libcudnn_engines_runtime_compiled.so.9 libcaffe2_nvrtc.so libnvrtc.so.13 \
	libnvrtc-builtins.so.13.0
HOST_LIBS := ^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libutil|libresolv|libstdc\+\+|libgcc_s|libz|libbz2|liblzma|libcuda|libnvidia-[a-z-]+)\.so

install: build
	@command -v patchelf >/dev/null || { echo "make install needs patchelf (apt-get install patchelf)"; exit 1; }
	@set -euo pipefail; \
	dst=$$(realpath -m "$(PREFIX)"); bin=target/release/callvar; \
	deps() { ldd "$$@" | awk '$$2 == "=>" && $$1 !~ /$(HOST_LIBS)/ { print $$1, $$3 }'; }; \
	libs=$$(deps $$bin | sort -u); \
	if grep ' not$$' <<<"$$libs"; then echo "make install: libraries above not found"; exit 1; fi; \
	dirs=$$(awk '{ print $$2 }' <<<"$$libs" | xargs -n1 dirname | sort -u); \
	extra=""; for n in $(DLOPEN_LIBS); do \
		for d in $$dirs; do if [ -e "$$d/$$n" ]; then extra="$$extra $$d/$$n"; break; fi; done; \
	done; \
	if [ -n "$$extra" ]; then \
		libs=$$( { echo "$$libs"; for f in $$extra; do echo "$$(basename $$f) $$f"; done; \
			deps $$extra | grep -v ' not$$' || true; } | awk '!seen[$$1]++'); \
	fi; \
	mkdir -p "$$dst/bin" "$$dst/lib" "$$dst/share/callvar/models"; \
	install -m 755 $$bin "$$dst/bin/callvar"; \
	patchelf --force-rpath --set-rpath '$$ORIGIN/../lib' "$$dst/bin/callvar"; \
	while read -r name path; do \
		install -m 644 "$$path" "$$dst/lib/$$name"; \
		patchelf --force-rpath --set-rpath '$$ORIGIN' "$$dst/lib/$$name"; \
	done <<<"$$libs"; \
	for m in models/*/; do \
		m=$${m%/}; \
		if [ -f "$$m/card.json" ] && [ -f "$$m/model.ot" ]; then \
			mkdir -p "$$dst/share/callvar/models/$${m#models/}"; \
			install -m 644 "$$m/card.json" "$$m/model.ot" "$$dst/share/callvar/models/$${m#models/}/"; \
		fi; \
	done; \
	stray=$$(LD_LIBRARY_PATH= deps "$$dst/bin/callvar" | grep -Ev " $$dst/(bin/\.\./)?lib/" || true); \
	if [ -n "$$stray" ]; then echo "make install: resolved outside $$dst/lib:"; echo "$$stray"; exit 1; fi; \
	echo "installed $$dst/bin/callvar, $$(wc -l <<<"$$libs") libraries in $$dst/lib; $$(du -sh "$$dst" | cut -f1) in all"

# Installs to CHECK_PREFIX, then, in a private mount namespace with the torch venv hidden
# (an empty folder bind-mounted over it) and LD_LIBRARY_PATH naming a folder of bogus
# libtorch/libc10/CUDA files: every library must resolve inside CHECK_PREFIX/lib, and
# `callvar call` must write the same records as the build-tree binary. Needs root or
# unprivileged user namespaces (unshare), patchelf, and ~3 GB in CHECK_PREFIX; not part of
# `make test` for those reasons.
CHECK_PREFIX ?= /tmp/callvar-check-install
CHECK_REGION := chr20:10000000-10020000
check-install: build
	rm -rf $(CHECK_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(CHECK_PREFIX)
	@set -euo pipefail; \
	scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	mkdir -p "$$scratch/empty" "$$scratch/bogus"; \
	for n in libtorch.so libtorch_cpu.so libtorch_cuda.so libc10.so libc10_cuda.so libcudart.so.13 libcudnn.so.9 libgomp.so.1; do \
		echo "not a library" > "$$scratch/bogus/$$n"; \
	done; \
	./target/release/callvar call --ref testdata/ref.fa.gz --reads testdata/na12878.bam \
		--regions $(CHECK_REGION) -o "$$scratch/built.vcf" --quiet; \
	ns=$$( [ "$$(id -u)" = 0 ] && echo "unshare -m" || echo "unshare -rm" ); \
	$$ns bash -euo pipefail -c ' \
		mount --bind "$$1/empty" "$(VENV)"; \
		test -z "$$(ls -A "$(VENV)")"; \
		export LD_LIBRARY_PATH="$$1/bogus"; \
		ldd "$(CHECK_PREFIX)/bin/callvar" | tee "$$1/ldd.txt"; \
		stray=$$(sed "s/^[[:space:]]*//" "$$1/ldd.txt" | grep "=>" | grep -Ev "$(HOST_LIBS)" \
			| grep -Ev "=> $(CHECK_PREFIX)/(bin/\.\./)?lib/" || true); \
		if [ -n "$$stray" ]; then echo "resolved outside $(CHECK_PREFIX)/lib:"; echo "$$stray"; exit 1; fi; \
		"$(CHECK_PREFIX)/bin/callvar" --version; \
		"$(CHECK_PREFIX)/bin/callvar" call --ref testdata/ref.fa.gz --reads testdata/na12878.bam \
			--regions $(CHECK_REGION) -o "$$1/installed.vcf" --quiet' _ "$$scratch"; \
	diff <(grep -v '^##' "$$scratch/built.vcf") <(grep -v '^##' "$$scratch/installed.vcf"); \
	echo "check-install: OK: venv hidden, bogus LD_LIBRARY_PATH, $$(grep -vc '^#' "$$scratch/installed.vcf") records as from the build tree; $$(du -sh $(CHECK_PREFIX) | cut -f1) installed"
