#!/usr/bin/env bash
# What the release workflow (.github/workflows/release.yml) does to the
# tagged commit, and a dry run of it here.
#
#   scripts/release.sh set-digest IMAGE sha256:HEX
#       action.yml runs docker://IMAGE@sha256:HEX (in the release commit).
#   scripts/release.sh notes VERSION
#       prints the CHANGELOG section of VERSION (the GitHub release's notes).
#   scripts/release.sh dry-run VERSION
#       in a scratch clone of the committed HEAD: builds the image here
#       (scripts/build-image.sh), pushes it to a local directory, writes the
#       pushed digest into action.yml, commits, tags vVERSION and runs
#       scripts/release-check.sh on that commit; prints the digest and the
#       scratch directory. Nothing leaves the machine.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() {
  echo "release.sh: $*" >&2
  exit 1
}

set_digest() {
  local image="$1" digest="$2"
  [[ "$image" =~ ^[a-z0-9.-]+(/[a-z0-9._-]+)+$ ]] || die "not an image name: $image"
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "not a digest: $digest"
  local file="action.yml"
  grep -Eq '^  image: docker://' "$file" || die "$file has no 'image: docker://' line"
  sed -E -i "s#^  image: docker://.*\$#  image: docker://${image}@${digest}#" "$file"
  grep -q "^  image: docker://${image}@${digest}\$" "$file" || die "could not rewrite $file"
}

notes() {
  local version="$1"
  awk -v v="$version" '
    index($0, "## [" v "]") == 1 { on = 1; next }
    on && /^## \[/ { exit }
    on { print }
  ' CHANGELOG.md
}

dry_run() {
  local version="$1"
  command -v podman >/dev/null || die "podman is needed for the dry run"
  local scratch
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/ec2-gitops-release.XXXXXX")"
  # A clone of the committed HEAD: its commit and tag never reach this
  # repository. The pushed image and its digest stay in $scratch.
  git clone -q --no-local "$repo_root" "$scratch/checkout"
  cd "$scratch/checkout"
  # The release's version and date, as a maintainer writes them before tagging.
  sed -E -i "s/^## \[Unreleased\]/## [Unreleased]\n\n## [${version}] - $(date -u +%Y-%m-%d)/" CHANGELOG.md
  sed -E -i "0,/^version = \".*\"/s//version = \"${version}\"/" Cargo.toml crates/core/Cargo.toml
  sed -E -i "s/^(ec2-gitops-core = \{ path = \"crates\/core\", version = )\"[^\"]*\"/\1\"${version}\"/" Cargo.toml
  cargo update --workspace --offline --quiet
  local image="localhost/ec2-gitops-release-${version}"
  EC2_GITOPS_IMAGE="$image" bash scripts/build-image.sh >&2
  # The target action.yml runs, pushed to a directory: its manifest is what
  # a registry would serve, and the digest podman reports is that
  # manifest's sha256.
  podman push --digestfile "$scratch/digest" "$image:action" "dir:$scratch/pushed" >&2
  local digest
  digest="$(cat "$scratch/digest")"
  [ "$digest" = "sha256:$(sha256sum "$scratch/pushed/manifest.json" | cut -d' ' -f1)" ] \
    || die "the digest podman reported is not the pushed manifest's"
  set_digest "ghcr.io/ec2-gitops/ec2-gitops" "$digest"
  git -c user.name=release-dry-run -c user.email=dry-run@localhost commit -qam "Release v${version} (dry run)"
  git -c user.name=release-dry-run -c user.email=dry-run@localhost tag -a "v${version}" -m "dry run"
  bash scripts/release-check.sh "$version" >&2
  git log -1 --format='release commit: %H %s' >&2
  grep '^  image:' action.yml >&2
  echo "digest=$digest"
  echo "scratch=$scratch"
}

cd "$repo_root"
case "${1:-}" in
  set-digest) [ $# -eq 3 ] || die "usage: set-digest IMAGE sha256:HEX"; set_digest "$2" "$3" ;;
  notes) [ $# -eq 2 ] || die "usage: notes VERSION"; notes "$2" ;;
  dry-run) [ $# -eq 2 ] || die "usage: dry-run VERSION"; dry_run "$2" ;;
  *) die "usage: release.sh set-digest IMAGE DIGEST | notes VERSION | dry-run VERSION" ;;
esac
