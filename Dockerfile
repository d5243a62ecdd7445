# syntax=docker/dockerfile:1.7
# callvar in a container: a builder stage compiles it against libtorch 2.11.0 (torch==2.11.0
# wheel, CUDA 13.0) and runs `make install PREFIX=/opt/callvar`; the runtime image gets only
# /opt/callvar: the binary, libtorch, and the CUDA 13 runtime libraries (cuBLAS, cuDNN, ...)
# from the wheel, about 3.1 GB. The NVIDIA driver (libcuda.so.1) comes from the host through
# the NVIDIA Container Toolkit; it must support CUDA 13.0 (driver 580 or newer). Without a
# GPU, callvar runs on the CPU.
#
#   docker build --build-arg CALLVAR_GIT_COMMIT=$(git describe --always --dirty) -t callvar .
#   docker run --rm --gpus all -v "$PWD:/data" -w /data callvar \
#       call --ref ref.fa.gz --reads sample.bam -o sample.vcf.gz
#   docker run --rm --gpus all callvar --version      # says whether CUDA is usable
#
# Base images are pinned by tag; pin by digest (tag@sha256:...) for byte-identical rebuilds.

FROM rust:1.95.0-slim-bookworm AS build
# libclang-dev: bindgen in hts-sys; g++: torch-sys's C++ wrapper; python3-venv: the torch
# wheel that provides libtorch; patchelf: `make install` rewrites rpaths.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates g++ make pkg-config libclang-dev python3 python3-venv patchelf \
        zlib1g-dev libbz2-dev liblzma-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The torch venv first, in its own layer, so source changes do not reinstall 4.6 GB of wheels.
# Its version pin lives in the Makefile.
COPY Makefile ./
RUN make "$HOME/.cache/callvar/torch-2.11.0/.ok" && rm -rf "$HOME/.cache/pip"
COPY . .
# .git is not sent (see .dockerignore): pass the commit for `callvar --version`.
ARG CALLVAR_GIT_COMMIT=unknown
# APT_PKGS: only the build packages (installed above), not the test and benchmark tools.
RUN make install PREFIX=/opt/callvar 'APT_PKGS=$(BUILD_PKGS)'

FROM nvidia/cuda:13.0.2-base-ubuntu24.04
COPY --from=build /opt/callvar /opt/callvar
ENV PATH=/opt/callvar/bin:$PATH
# Smoke test with the build stage (and its torch venv) out of reach: calls a 20 kb region of
# testdata/ on the CPU; testdata is mounted for this step only, not copied into the image.
RUN --mount=type=bind,from=build,source=/src/testdata,target=/tmp/testdata \
    callvar --version \
    && callvar call --ref /tmp/testdata/ref.fa.gz --reads /tmp/testdata/na12878.bam \
        --regions chr20:10000000-10020000 --device cpu -o /tmp/smoke.vcf --quiet \
    && grep -q '^chr20' /tmp/smoke.vcf && rm /tmp/smoke.vcf
WORKDIR /data
ENTRYPOINT ["callvar"]
CMD ["--help"]
