#!/usr/bin/env bash
# THE benchmark command: runs every benchmark against moto and rewrites
# docs/benchmarks/ (README.md, plan.md, apply.md, scale.md, github.md, plan.png).
#
#   scripts/bench.sh                 # plan at 10, 100, 1000 and 5000 instances
#   scripts/bench.sh 10 100 1000     # other plan sizes (5000 takes ~15 min of moto)
#
# Not part of the test run (scripts/test.sh): benchmarks pass or fail on
# nothing but a broken setup (a plan that is not empty, an apply that fails).
# Needs what the tests need: scripts/setup-test-deps.sh installs moto and the
# npm fixtures (GitHub's OpenAPI description, webhook payloads).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# Idempotent, and quick when nothing changed.
bash scripts/setup-test-deps.sh
export EC2_GITOPS_VENV="${EC2_GITOPS_VENV:-$HOME/.cache/ec2-gitops-venv}"
export MOTO_SERVER="${MOTO_SERVER:-$EC2_GITOPS_VENV/bin/moto_server}"

sizes=("$@")
if [[ ${#sizes[@]} -eq 0 ]]; then
    sizes=(10 100 1000 5000)
fi

printf '\n==> %s\n' "GitHub REST calls per event (cargo bench --bench github)"
cargo bench --locked --bench github
printf '\n==> %s\n' "apply of 100 instances, then their destroy (cargo bench --bench apply)"
cargo bench --locked --bench apply
printf '\n==> %s\n' "apply of 100 and 1000 new servers at EC2's request limits (cargo bench --bench scale)"
cargo bench --locked --bench scale
# Seconds, against a canned EC2 fake instead of moto: the tool's own CPU by
# stack size. Printed only (docs/benchmarks/ is not rewritten by it).
printf '\n==> %s\n' "plan CPU at 1000 to 10000 instances, canned EC2 (cargo bench --bench plan_cpu)"
cargo bench --locked --bench plan_cpu
# The plan goes last: its large sizes take the longest.
printf '\n==> %s\n' "plan at ${sizes[*]} instances (cargo bench --bench plan)"
cargo bench --locked --bench plan -- "${sizes[@]}"

printf '\n==> %s\n' "written: docs/benchmarks/ (README.md, plan.md, apply.md, scale.md, github.md, plan.png)"
