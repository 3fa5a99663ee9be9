# The ec2-gitops image: the GitHub Action (`runs.image` in action.yml) and the
# command line. Built and run here by scripts/build-image.sh; published on a
# `v*` tag by .github/workflows/release.yml. See docs/action.md.
#
# Targets:
#   action   what action.yml runs: root, because GitHub runs a Docker action as
#            the image's user and the files behind GITHUB_OUTPUT and
#            GITHUB_STEP_SUMMARY are writable by root only (GitHub's Dockerfile
#            support docs: "Docker actions must be run by the default Docker user").
#   runtime  the default (last) target, for people at a terminal: the same
#            files, run as the unprivileged user 65532.
#
# Both base images are build arguments so that the same file builds offline
# over local images (scripts/build-image.sh); the defaults are the public ones,
# pinned by the digest of their multi-architecture index, so that a release
# builds from exactly the bases it was tested with. To update one (docs/action.md,
# "Updating the base images"):
#   docker buildx imagetools inspect docker.io/library/rust:1.95-slim-bookworm
#   docker buildx imagetools inspect gcr.io/distroless/cc-debian12
# and put the index's "Digest:" here, in one commit of its own.
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12@sha256:b7550f0b15838de14c564337eef2b804ba593ae55d81ca855421bd52f19bb480

# The build runs on the builder's own architecture and cross-compiles for
# the image's (TARGETARCH): an arm64 image is built on amd64 without
# emulating the compiler, and the stages that run on TARGETARCH have no RUN.
FROM --platform=$BUILDPLATFORM ${RUST_IMAGE} AS build
ARG TARGETARCH
ARG BUILDARCH
# Size over debug info: the image budget is 40 MB (docs/design.md) and aws-sdk-ec2 is
# large. Set here rather than in Cargo.toml so developers' release builds keep
# their symbols.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=4 \
    CARGO_TERM_COLOR=never \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc \
    CC_x86_64_unknown_linux_gnu=x86_64-linux-gnu-gcc \
    AR_x86_64_unknown_linux_gnu=x86_64-linux-gnu-ar
WORKDIR /src

# The Rust target of TARGETARCH; for another architecture than the
# builder's, its standard library and a C cross compiler (aws-lc-sys
# compiles C), unless the builder image has them already. The packages are
# the pinned base image's Debian release's: their versions follow its digest.
# hadolint ignore=DL3008
RUN set -eu; \
    case "${TARGETARCH:-$BUILDARCH}" in \
      amd64) target="x86_64-unknown-linux-gnu"; gcc="gcc-x86-64-linux-gnu"; libc="libc6-dev-amd64-cross" ;; \
      arm64) target="aarch64-unknown-linux-gnu"; gcc="gcc-aarch64-linux-gnu"; libc="libc6-dev-arm64-cross" ;; \
      *) echo "no Rust target for ${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    echo "$target" > /rust-target; \
    if [ "${TARGETARCH:-$BUILDARCH}" != "${BUILDARCH:-$TARGETARCH}" ]; then \
      [ -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ] || rustup target add "$target"; \
      command -v "${target%%-*}-linux-gnu-gcc" >/dev/null 2>&1 || { \
        apt-get update && apt-get install -y --no-install-recommends "$gcc" "$libc" \
        && rm -rf /var/lib/apt/lists/*; }; \
    else \
      for tool in gcc ar; do \
        command -v "${target%%-*}-linux-gnu-$tool" >/dev/null 2>&1 \
          || ln -s "$(command -v "$tool")" "/usr/local/bin/${target%%-*}-linux-gnu-$tool"; \
      done; \
    fi

# Dependencies first, built against stub targets: a change under src/ then
# reuses this layer instead of recompiling some 400 crates. Cargo refuses a
# manifest whose [[bench]] has no file, so every bench Cargo.toml names gets a
# stub, read from the manifest itself rather than listed here.
COPY Cargo.toml Cargo.lock ./
COPY crates/core/Cargo.toml crates/core/
RUN mkdir -p src benches crates/core/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs crates/core/src/lib.rs \
    && sed -n '/^\[\[bench\]\]/,/^$/s/^name *= *"\([^"]*\)".*/\1/p' Cargo.toml > /tmp/benches \
    && while read -r b; do echo 'fn main() {}' > "benches/$b.rs"; done < /tmp/benches \
    && cargo build --release --locked --target "$(cat /rust-target)" \
    && rm -rf src benches crates/core/src /tmp/benches

COPY crates ./crates
COPY src ./src
COPY benches ./benches
# COPY keeps the files' modification times, which may be older than the stubs'
# build: touch them so cargo rebuilds the crates themselves.
RUN touch src/main.rs src/lib.rs crates/core/src/lib.rs \
    && cargo build --release --locked --target "$(cat /rust-target)" \
    && install -D -m 0755 "target/$(cat /rust-target)/release/ec2-gitops" /out/ec2-gitops \
    && if [ "${TARGETARCH:-$BUILDARCH}" = "${BUILDARCH:-$TARGETARCH}" ]; then /out/ec2-gitops --version; fi

# The image's own platform, named: a podman that kept the build stage's
# platform for the next FROM would look for an amd64 base.
# hadolint ignore=DL3065
FROM --platform=$TARGETPLATFORM ${RUNTIME_IMAGE} AS action
LABEL org.opencontainers.image.title="ec2-gitops" \
      org.opencontainers.image.description="EC2 infrastructure as YAML: plan on pull requests, apply on merge" \
      org.opencontainers.image.source="https://github.com/ec2-gitops/ec2-gitops"
# The binary finds CA certificates at /etc/ssl/certs (rustls-native-certs);
# the distroless cc image has them, and so does the local runtime base.
COPY --from=build /out/ec2-gitops /usr/local/bin/ec2-gitops
ENTRYPOINT ["/usr/local/bin/ec2-gitops"]

FROM action AS runtime
USER 65532:65532
