#!/usr/bin/env bash
# Checks that the checkout is the release of VERSION (X.Y.Z):
#   - action.yml runs an image by digest (docker://IMAGE@sha256:<64 hex>), so
#     an action pinned to this commit or its tag runs exactly that image
#     (skipped with --source: the tagged commit before the release commit);
#   - CHANGELOG.md has "## [VERSION] - YYYY-MM-DD";
#   - both crates' version is VERSION, and the binary's dependency on the core asks for it;
#   - `cargo package` of both crates succeeds (skipped with --no-package).
#
#   scripts/release-check.sh [--source] VERSION [--no-package]
#
# Every failed check is printed; the exit status is 1 when any failed.
set -euo pipefail

cd "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

source_only=false
package=true
version=""
for arg in "$@"; do
  case "$arg" in
    --source) source_only=true ;;
    --no-package) package=false ;;
    -*) echo "release-check.sh: unknown option $arg" >&2; exit 2 ;;
    *) version="$arg" ;;
  esac
done
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
  echo "usage: scripts/release-check.sh [--source] X.Y.Z [--no-package] (got '${version}')" >&2
  exit 2
}

failed=0
fail() {
  echo "release-check: $*" >&2
  failed=1
}

if ! $source_only; then
  if ! grep -Eq '^  image: docker://[a-z0-9.-]+(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$' action.yml; then
    fail "action.yml does not run an image by digest: $(grep -E '^  image:' action.yml || echo 'no image line')"
  fi
fi

if ! grep -Eq "^## \[${version//./\\.}\] - [0-9]{4}-[0-9]{2}-[0-9]{2}\$" CHANGELOG.md; then
  fail "CHANGELOG.md has no '## [${version}] - YYYY-MM-DD' heading"
fi

for manifest in Cargo.toml crates/core/Cargo.toml; do
  cargo_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$manifest" | head -1)"
  if [ "$cargo_version" != "$version" ]; then
    fail "$manifest says version ${cargo_version:-none}, not ${version}"
  fi
done
if ! grep -Fq "ec2-gitops-core = { path = \"crates/core\", version = \"${version}\" }" Cargo.toml; then
  fail "Cargo.toml's dependency on ec2-gitops-core does not ask for ${version}"
fi

if $package && [ "$failed" -eq 0 ]; then
  log="$(mktemp)"
  if ! cargo package --workspace --locked --allow-dirty --no-verify --quiet >/dev/null 2>"$log"; then
    fail "cargo package failed: $(grep -v '^warning' "$log" | tail -5)"
  fi
  rm -f "$log"
fi

if [ "$failed" -eq 0 ]; then
  echo "release-check: ${version} is ready"
fi
exit "$failed"
