#!/usr/bin/env bash
# Builds the Dockerfile with podman, offline from any container registry, and
# runs the image: `ec2-gitops --version` and one `ec2-gitops action` event.
#
#   scripts/build-image.sh            # as root on Debian/Ubuntu (installs podman, buildah, debootstrap)
#   EC2_GITOPS_ARCH=arm64 scripts/build-image.sh
#                                     # the linux/arm64 image, built on this amd64 machine: the
#                                     # binary cross-compiled, the image run under QEMU's
#                                     # user-mode emulation (installs qemu-user-static)
#
# No registry is reachable here and no Docker engine runs (docs/testing.md), so the two
# base images the Dockerfile names are made locally and passed as build args:
#   localhost/debian-base            `debootstrap --variant=minbase bookworm`, `podman import`
#   localhost/rust-builder:<rustc>   debian-base + gcc and libc headers + this machine's Rust toolchain
#   localhost/ec2-gitops-runtime-base   the files of gcr.io/distroless/cc-debian12 that matter:
#                                    glibc, libgcc_s, CA certificates, /etc/passwd with nonroot, /tmp
# Then `podman build --isolation=chroot` builds the targets `action` and
# `runtime` (the last stage), and `buildah run --isolation chroot` runs them
# (`podman run` does not work in this sandbox).
#
# Caches: the debootstrap'd rootfs under ${EC2_GITOPS_IMAGE_CACHE:-~/.cache/ec2-gitops-image};
# images and build layers in podman's store (/var/lib/containers). A rerun with
# unchanged Cargo.toml/Cargo.lock reuses the dependency layer and compiles only
# the crate. Prints the time each phase took and the image sizes.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

cache="${EC2_GITOPS_IMAGE_CACHE:-$HOME/.cache/ec2-gitops-image}"
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
image="${EC2_GITOPS_IMAGE:-localhost/ec2-gitops}"
host_arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
arch="${EC2_GITOPS_ARCH:-$host_arch}"
case "$arch" in
    amd64) triplet=x86_64-linux-gnu rust_target=x86_64-unknown-linux-gnu ;;
    arm64) triplet=aarch64-linux-gnu rust_target=aarch64-unknown-linux-gnu ;;
    *) echo "error: EC2_GITOPS_ARCH is amd64 or arm64, not $arch" >&2; exit 1 ;;
esac
# Another architecture's images are tagged with it.
[[ "$arch" == "$host_arch" ]] || image="$image-$arch"
started=$SECONDS
phase_started=$SECONDS

section() {
    printf '\n==> %s\n' "$*"
    phase_started=$SECONDS
}
took() {
    printf '    (%s: %ds)\n' "$1" $((SECONDS - phase_started))
}
die() {
    echo "error: $*" >&2
    exit 1
}

# --- tools ---------------------------------------------------------------
section "Tools: podman, buildah, debootstrap"
missing=()
for tool in podman buildah debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; install as root: apt-get install podman buildah debootstrap uidmap fuse-overlayfs"
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
    echo "installing podman buildah debootstrap (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        podman buildah debootstrap uidmap fuse-overlayfs slirp4netns crun ca-certificates >/dev/null
fi
[[ $(id -u) -eq 0 ]] || die "podman build --isolation=chroot and debootstrap need root here"
if [[ "$arch" != "$host_arch" ]]; then
    # QEMU's user-mode emulation runs the other architecture's programs: its
    # debootstrap second stage, and the image's --version.
    if ! command -v "qemu-${triplet%%-*}-static" >/dev/null 2>&1; then
        echo "installing qemu-user-static binfmt-support (apt-get)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support >/dev/null
    fi
    [[ -e /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
        die "cannot mount binfmt_misc: $arch programs cannot run here"
    [[ -e "/proc/sys/fs/binfmt_misc/qemu-${triplet%%-*}" ]] || update-binfmts --enable "qemu-${triplet%%-*}" ||
        die "cannot register qemu-${triplet%%-*} with binfmt_misc"
    # The standard library of the target, for the cross-compiling builder.
    [[ -d "$(rustc --print sysroot)/lib/rustlib/$rust_target/lib" ]] || rustup target add "$rust_target" ||
        die "the Rust standard library for $rust_target is missing: rustup target add $rust_target"
fi
podman --version
buildah --version
took tools

# --- localhost/debian-base -------------------------------------------------
rootfs="$cache/rootfs-$suite-minbase"
section "Base image localhost/debian-base (debootstrap --variant=minbase $suite, cached in $rootfs)"
if [[ ! -f "$rootfs/.ec2-gitops-complete" ]]; then
    mkdir -p "$cache"
    rm -rf "$rootfs.tmp"
    # ca-certificates: the runtime base takes its CA bundle from here.
    debootstrap --variant=minbase --include=ca-certificates "$suite" "$rootfs.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        die "debootstrap failed; see $cache/debootstrap.log"
    # Leave the apt lists and the .deb cache out of the image.
    rm -rf "$rootfs.tmp"/var/cache/apt/archives/*.deb "$rootfs.tmp"/var/lib/apt/lists/*
    touch "$rootfs.tmp/.ec2-gitops-complete"
    rm -rf "$rootfs"
    mv "$rootfs.tmp" "$rootfs"
fi
if ! podman image exists localhost/debian-base; then
    tar -C "$rootfs" --exclude=./.ec2-gitops-complete -c . |
        podman import --change 'CMD ["/bin/bash"]' - localhost/debian-base >/dev/null
fi
took debian-base

# --- localhost/rust-builder ------------------------------------------------
sysroot="$(rustc --print sysroot)"
rust_version="$(rustc --version)"
# Bump when the builder's recipe below changes, so that it is made anew.
builder_recipe=1
# A builder for another architecture also holds its C cross compiler.
cross_packages=""
[[ "$arch" == "$host_arch" ]] || cross_packages="gcc-$triplet libc6-dev-$arch-cross"
cross_packages="${cross_packages//gcc-x86_64/gcc-x86-64}"
builder_tag="$(printf '%s\n%s\n%s\n' "$rust_version" "$builder_recipe" "$cross_packages" | sha256sum | cut -c1-12)"
builder="localhost/rust-builder:$builder_tag"
section "Builder image $builder ($rust_version from $sysroot)"
if ! podman image exists "$builder"; then
    ctr="$(buildah from --pull-never localhost/debian-base)"
    trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
    # aws-lc-sys compiles C (cc crate: gcc, libc headers); cargo fetches crates over HTTPS.
    buildah run --isolation chroot "$ctr" -- sh -c \
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev make perl pkg-config ca-certificates $cross_packages >/dev/null && rm -rf /var/lib/apt/lists/*"
    # Trust the CAs this machine added locally (a TLS-inspecting egress proxy
    # reaches crates.io only with them). Only the builder gets them; the
    # runtime image keeps Debian's bundle.
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        buildah copy "$ctr" /usr/local/share/ca-certificates /usr/local/share/ca-certificates >/dev/null
        buildah run --isolation chroot "$ctr" -- update-ca-certificates >/dev/null
    fi
    # The toolchain without its docs (share/: ~800 MB) or sources.
    for dir in bin lib libexec etc; do
        [[ -d "$sysroot/$dir" ]] && buildah copy "$ctr" "$sysroot/$dir" "/usr/local/rust/$dir" >/dev/null
    done
    buildah config \
        --env PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env CARGO_HOME=/usr/local/cargo \
        --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
        "$ctr"
    buildah run --isolation chroot "$ctr" -- cargo --version
    buildah commit --quiet --rm "$ctr" "$builder" >/dev/null
    trap - EXIT
fi
took rust-builder

# --- localhost/ec2-gitops-runtime-base -------------------------------------
runtime_base=localhost/ec2-gitops-runtime-base
runtime_rootfs="$rootfs"
if [[ "$arch" != "$host_arch" ]]; then
    runtime_base="$runtime_base-$arch"
    # The other architecture's libraries come from its own Debian tree
    # (debootstrap's second stage runs under QEMU).
    runtime_rootfs="$cache/rootfs-$suite-minbase-$arch"
    section "Debian $suite for $arch (debootstrap --arch=$arch, cached in $runtime_rootfs)"
    if [[ ! -f "$runtime_rootfs/.ec2-gitops-complete" ]]; then
        rm -rf "$runtime_rootfs.tmp"
        debootstrap --arch="$arch" --variant=minbase --include=ca-certificates "$suite" "$runtime_rootfs.tmp" "$mirror" \
            >"$cache/debootstrap-$arch.log" 2>&1 || die "debootstrap --arch=$arch failed; see $cache/debootstrap-$arch.log"
        rm -rf "$runtime_rootfs.tmp"/var/cache/apt/archives/*.deb "$runtime_rootfs.tmp"/var/lib/apt/lists/*
        touch "$runtime_rootfs.tmp/.ec2-gitops-complete"
        rm -rf "$runtime_rootfs"
        mv "$runtime_rootfs.tmp" "$runtime_rootfs"
    fi
    took "debian $arch"
fi
section "Runtime base $runtime_base ($arch: glibc, libgcc_s, CA certificates, nonroot user)"
if ! podman image exists "$runtime_base"; then
    rt="$(mktemp -d)"
    trap 'rm -rf "$rt"' EXIT
    # Merged /usr, as in Debian 12 and distroless.
    mkdir -p "$rt/usr/lib/$triplet" "$rt/usr/lib64" "$rt/etc/ssl/certs" "$rt/tmp" "$rt/home/nonroot" "$rt/usr/local/bin"
    ln -s usr/lib "$rt/lib"
    ln -s usr/lib64 "$rt/lib64"
    ln -s usr/bin "$rt/bin"
    # The shared libraries of libc6 (not its gconv modules) and libgcc-s1:
    # what a Rust binary linked against glibc needs.
    for pkg in libc6 libgcc-s1; do
        list=""
        for candidate in "$runtime_rootfs/var/lib/dpkg/info/$pkg:$arch.list" "$runtime_rootfs/var/lib/dpkg/info/$pkg.list"; do
            [[ -f "$candidate" ]] && list="$candidate" && break
        done
        [[ -n "$list" ]] || die "no dpkg file list for $pkg in $runtime_rootfs"
        grep -E '/lib(64)?/.*\.so' "$list" | grep -v gconv | while read -r f; do
            [[ -d "$runtime_rootfs$f" ]] && continue
            [[ -e "$runtime_rootfs$f" || -L "$runtime_rootfs$f" ]] || continue
            # /lib and /lib64 are /usr/lib and /usr/lib64 in a merged-usr tree.
            rel="${f#/}"
            [[ "$rel" == usr/* ]] || rel="usr/$rel"
            mkdir -p "$(dirname "$rt/$rel")"
            cp -a "$runtime_rootfs$f" "$rt/$rel"
        done
    done
    cp -L "$runtime_rootfs/etc/ssl/certs/ca-certificates.crt" "$rt/etc/ssl/certs/ca-certificates.crt"
    # Same users as distroless: root, nobody, nonroot (65532).
    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$rt/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$rt/etc/group"
    printf '%s\n' 'hosts: files dns' >"$rt/etc/nsswitch.conf"
    chmod 1777 "$rt/tmp"
    chown 65532:65532 "$rt/home/nonroot"
    tar -C "$rt" -c . | podman import --arch "$arch" --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' - "$runtime_base" >/dev/null
    rm -rf "$rt"
    trap - EXIT
fi
took runtime-base

# --- the image -----------------------------------------------------------
# The build stage runs on this machine's architecture (Dockerfile:
# --platform=$BUILDPLATFORM), which this podman does not set by itself.
build_args=(--isolation=chroot --pull=never --platform "linux/$arch"
    --build-arg "BUILDPLATFORM=linux/$host_arch" --build-arg "BUILDARCH=$host_arch"
    --build-arg "TARGETPLATFORM=linux/$arch" --build-arg "TARGETARCH=$arch"
    --build-arg "RUST_IMAGE=$builder"
    --build-arg "RUNTIME_IMAGE=$runtime_base")
section "podman build --target action -t $image:action (release build of the binary)"
podman build "${build_args[@]}" --target action -t "$image:action" .
took "build action"
section "podman build -t $image (the last stage, runtime: non-root)"
podman build "${build_args[@]}" -t "$image" .
took "build runtime"

# --- run it --------------------------------------------------------------
run_in() {
    local ref="$1"
    shift
    local ctr
    ctr="$(buildah from --pull-never "$ref")"
    local rc=0
    "$@" "$ctr" || rc=$?
    buildah rm "$ctr" >/dev/null
    return "$rc"
}

check_version() {
    local ctr="$1"
    local out
    out="$(buildah run --isolation chroot "$ctr" -- /usr/local/bin/ec2-gitops --version)"
    echo "$out"
    [[ "$out" == ec2-gitops* ]] || die "unexpected --version output: $out"
    local user
    user="$(buildah inspect --format '{{.OCIv1.Config.User}}' "$ctr")"
    echo "runs as user: ${user:-root (image default)}"
}

# One event the action does not handle: it must say so and succeed. A real
# payload from @octokit/webhooks-examples when node_modules has it.
event_file="$(mktemp)"
trap 'rm -f "$event_file"' EXIT
examples="$repo_root/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
if [[ -f "$examples" ]] && command -v python3 >/dev/null 2>&1; then
    python3 - "$examples" "$event_file" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))
watch = next(e for e in events if e["name"] == "watch")
json.dump(watch["examples"][0], open(sys.argv[2], "w"))
PY
    echo "event payload: watch, from @octokit/webhooks-examples"
else
    echo '{"action":"started","repository":{"full_name":"octo-org/infra","name":"infra","owner":{"login":"octo-org"}},"sender":{"login":"octocat"}}' >"$event_file"
    echo "event payload: watch, minimal (node_modules/@octokit/webhooks-examples not installed)"
fi
chmod 0644 "$event_file"

check_action_event() {
    local ctr="$1"
    buildah copy "$ctr" "$event_file" /tmp/event.json >/dev/null
    local out rc=0
    out="$(buildah run --isolation chroot \
        --env GITHUB_ACTIONS=true \
        --env GITHUB_EVENT_NAME=watch \
        --env GITHUB_EVENT_PATH=/tmp/event.json \
        --env GITHUB_REPOSITORY=octo-org/infra \
        --env GITHUB_API_URL=http://127.0.0.1:9 \
        --env GITHUB_SHA=0000000000000000000000000000000000000000 \
        --env GITHUB_REF=refs/heads/main \
        --env GITHUB_WORKSPACE=/tmp \
        --env GITHUB_TOKEN=not-a-token \
        "$ctr" -- /usr/local/bin/ec2-gitops action 2>&1)" || rc=$?
    printf '%s\n' "$out" | sed 's/^/    | /'
    [[ $rc -eq 0 ]] || die "'ec2-gitops action' on a watch event exited $rc"
    printf '%s' "$out" | grep -qi "nothing to do" || die "'ec2-gitops action' on a watch event did not say 'nothing to do'"
}

section "Run $image:action: --version, and one 'action' event (watch) as the action runs it"
run_in "$image:action" check_version
run_in "$image:action" check_action_event
took "run action"
section "Run $image (runtime): --version as user 65532"
run_in "$image" check_version
took "run runtime"

section "Sizes"
for ref in "$image:action" "$image"; do
    bytes="$(podman image inspect --format '{{.Size}}' "$ref")"
    printf '%-32s %10d bytes (%s MB)\n' "$ref" "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1000000 }')"
done
budget=$((40 * 1000 * 1000))
bytes="$(podman image inspect --format '{{.Size}}' "$image")"
if ((bytes > budget)); then
    echo "WARNING: $image is over the 40 MB image budget (docs/design.md)" >&2
fi
printf '\nbuild-image: done in %ds\n' $((SECONDS - started))
