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
# over local images (scripts/build-image.sh); the defaults are the public ones.
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12

FROM ${RUST_IMAGE} AS build
# Size over debug info: the image budget is 40 MB (docs/design.md) and aws-sdk-ec2 is
# large. Set here rather than in Cargo.toml so developers' release builds keep
# their symbols.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=4 \
    CARGO_TERM_COLOR=never
WORKDIR /src

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
    && cargo build --release --locked \
    && rm -rf src benches crates/core/src /tmp/benches

COPY crates ./crates
COPY src ./src
COPY benches ./benches
# COPY keeps the files' modification times, which may be older than the stubs'
# build: touch them so cargo rebuilds the crates themselves.
RUN touch src/main.rs src/lib.rs crates/core/src/lib.rs \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/ec2-gitops /out/ec2-gitops \
    && /out/ec2-gitops --version

FROM ${RUNTIME_IMAGE} AS action
LABEL org.opencontainers.image.title="ec2-gitops" \
      org.opencontainers.image.description="EC2 infrastructure as YAML: plan on pull requests, apply on merge" \
      org.opencontainers.image.source="https://github.com/ec2-gitops/ec2-gitops"
# The binary finds CA certificates at /etc/ssl/certs (rustls-native-certs);
# the distroless cc image has them, and so does the local runtime base.
COPY --from=build /out/ec2-gitops /usr/local/bin/ec2-gitops
ENTRYPOINT ["/usr/local/bin/ec2-gitops"]

FROM action AS runtime
USER 65532:65532
