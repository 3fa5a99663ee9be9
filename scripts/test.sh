#!/usr/bin/env bash
# THE test command (README, CI): formatting, lints, the demo, every test.
#
#   scripts/test.sh
#
# Needs Rust (cargo with rustfmt and clippy) and Python 3; it installs moto's
# EC2 emulator into a venv itself (scripts/setup-test-deps.sh). Nothing here
# reaches AWS: every EC2 call goes to moto on a loopback port.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

section() {
    printf '\n==> %s\n' "$*"
}

section "Test tools: moto's EC2 emulator (scripts/setup-test-deps.sh)"
bash scripts/setup-test-deps.sh
export EC2_GITOPS_VENV="${EC2_GITOPS_VENV:-$HOME/.cache/ec2-gitops-venv}"
export MOTO_SERVER="${MOTO_SERVER:-$EC2_GITOPS_VENV/bin/moto_server}"
echo "MOTO_SERVER=$MOTO_SERVER"

# A toolchain installed by rustup may lack the components; add them if we can.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
        rustup component add rustfmt clippy
    fi
fi

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy (warnings are errors)"
cargo clippy --locked --workspace --all-targets -- -D warnings

section "Demo: validate, plan, apply and re-plan the example stack (scripts/demo.sh)"
bash scripts/demo.sh

section "Lints of the GitHub-facing files: actionlint, zizmor, hadolint, check-jsonschema (scripts/lint-github.sh)"
bash scripts/lint-github.sh

# The test runner goes last so that its summary closes the output. Benchmarks
# (benches/) are not tests: they run with `cargo bench`.
if cargo nextest --version >/dev/null 2>&1; then
    section "cargo nextest run"
    cargo nextest run --locked --workspace --lib --bins --tests --profile ci
else
    section "cargo test (cargo-nextest not installed)"
    cargo test --locked --workspace --lib --bins --tests
fi

