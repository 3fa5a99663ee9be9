#!/usr/bin/env bash
# The demo (README's first command): the example stack end to end against a
# local EC2 emulator — no AWS account, nothing leaves this machine.
#
#   scripts/demo.sh [STACK.yaml]     # default: examples/web-hosting/infra/web.yaml
#
# 1. installs moto's EC2 emulator into a venv (scripts/setup-test-deps.sh),
# 2. builds ec2-gitops (debug; set EC2_GITOPS_BIN to use another binary),
# 3. starts moto on a free loopback port (stopped again on exit),
# 4. runs `validate`, `plan --format markdown` (the PR comment it would post),
#    `apply --auto-approve`, then `plan --detailed-exitcode`, which must find
#    nothing left to do. Any failing step fails the script.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
stack="${1:-examples/web-hosting/infra/web.yaml}"

section() {
    printf '\n==> %s\n' "$*"
}
fail() {
    printf '\ndemo: FAILED: %s\n' "$*" >&2
    exit 1
}

section "Emulator: moto (scripts/setup-test-deps.sh)"
bash scripts/setup-test-deps.sh
venv="${EC2_GITOPS_VENV:-$HOME/.cache/ec2-gitops-venv}"
moto_server="${MOTO_SERVER:-$venv/bin/moto_server}"
[[ -x "$moto_server" ]] || fail "moto_server not found at $moto_server"
python="$(dirname "$moto_server")/python"
[[ -x "$python" ]] || python=python3

if [[ -n "${EC2_GITOPS_BIN:-}" ]]; then
    bin="$EC2_GITOPS_BIN"
else
    section "Build: cargo build --bin ec2-gitops"
    cargo build --locked --bin ec2-gitops
    target_dir="$(cargo metadata --format-version 1 --no-deps |
        "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    bin="$target_dir/debug/ec2-gitops"
fi
[[ -x "$bin" ]] || fail "no binary at $bin"

section "Start moto on 127.0.0.1"
work="$(mktemp -d)"
moto_pid=""
cleanup() {
    if [[ -n "$moto_pid" ]]; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/moto-env.sh
source "$repo_root/scripts/moto-env.sh"
start_moto "$moto_server" "$python" "$work/moto.log" || fail "moto did not start"

if [[ "$stack" == examples/web-hosting/infra/web.yaml ]]; then
    section "The instance profile the example's db server uses (on AWS: yours)"
    make_instance_profile "$python" db-backups || fail "could not make the instance profile"
    section "The certificate the example's HTTPS listener uses (on AWS: yours, in ACM)"
    make_server_certificate "$python" www.example.com || fail "could not upload the certificate"
fi

run() {
    printf '$ ec2-gitops %s\n' "$*"
    "$bin" "$@"
}

section "1/4 Validate the stack"
run validate "$stack" || fail "validate"

section "2/4 Plan: the pull-request comment ec2-gitops would post"
run plan "$stack" --format markdown || fail "plan"

section "3/4 Apply (what a merge to the default branch does)"
run apply "$stack" --auto-approve || fail "apply"

section "4/4 Plan again: the live state now matches the YAML"
status=0
run plan "$stack" --detailed-exitcode || status=$?
case "$status" in
0) echo "No changes: the apply converged." ;;
2) fail "the plan after apply still has changes (exit 2)" ;;
*) fail "plan --detailed-exitcode exited $status" ;;
esac

printf '\ndemo: OK\n'
