#!/usr/bin/env bash
# Installs the test suite's tools: the npm test fixtures (real GitHub webhook
# payloads and GitHub's OpenAPI description, pinned by package-lock.json) into
# node_modules/, GitHub's Markdown engine (Debian's cmark-gfm, with apt-get),
# and the Python tools (moto's EC2 emulator) into a venv.
#
#   scripts/setup-test-deps.sh        # venv at ${EC2_GITOPS_VENV:-$HOME/.cache/ec2-gitops-venv}
#
# Idempotent and quick when nothing changed: node_modules/ and the venv each
# record a hash of what they were installed from (package-lock.json;
# scripts/requirements-test.txt and the Python) in a stamp file, and npm or pip
# only runs when that hash differs. Needs `npm` and `python3`.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --- npm fixtures (tests/all/support/webhooks.rs, tests/all/support/github.rs) ---
npm_stamp="$repo_root/node_modules/.ec2-gitops-package-lock.sha256"
npm_want="$(sha256sum "$repo_root/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$npm_stamp" || "$(cat "$npm_stamp")" != "$npm_want" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "error: npm not found; the GitHub tests need the npm packages in package-lock.json." >&2
        echo "       Install Node.js 18 or newer with npm (Debian/Ubuntu: apt-get install npm), then rerun $0" >&2
        exit 1
    fi
    # test.sh and demo.sh may run at once: let one install, the other wait.
    exec 8>"${TMPDIR:-/tmp}/ec2-gitops-npm-$(printf '%s' "$repo_root" | sha256sum | cut -c1-12).lock"
    if command -v flock >/dev/null 2>&1; then
        flock 8
    fi
    if [[ ! -f "$npm_stamp" || "$(cat "$npm_stamp")" != "$npm_want" ]]; then
        echo "setup-test-deps: npm ci (package-lock.json changed or node_modules missing)" >&2
        # --ignore-scripts: the packages are data; nothing of theirs needs to run.
        if ! (cd "$repo_root" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
            echo "error: 'npm ci' failed in $repo_root; check that the npm registry is reachable" >&2
            echo "       and that package-lock.json matches package.json (fix with 'npm install --ignore-scripts')" >&2
            exit 1
        fi
        echo "$npm_want" >"$npm_stamp"
    fi
    exec 8>&-
fi
# --- GitHub's Markdown engine (crates/core/src/render/tests/gfm.rs renders every comment with it) ---
cmark="${CMARK_GFM:-cmark-gfm}"
if ! command -v "$cmark" >/dev/null 2>&1; then
    sudo=""
    if [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null 2>&1; then
        sudo="sudo -n"
    fi
    if ! command -v apt-get >/dev/null 2>&1 || { [[ "$(id -u)" != 0 ]] && [[ -z "$sudo" ]]; }; then
        echo "error: $cmark not found; the comment tests render Markdown with GitHub's engine." >&2
        echo "       Install it (Debian/Ubuntu: apt-get install cmark-gfm), or set CMARK_GFM to its path, then rerun $0" >&2
        exit 1
    fi
    echo "setup-test-deps: apt-get install cmark-gfm" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! $sudo apt-get install -y -q cmark-gfm >/dev/null 2>&1; then
        # A fresh machine may have no package lists yet.
        if ! { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q cmark-gfm >/dev/null; }; then
            echo "error: 'apt-get install cmark-gfm' failed; check that Debian's package mirror is reachable" >&2
            exit 1
        fi
    fi
fi

requirements="$repo_root/scripts/requirements-test.txt"
venv="${EC2_GITOPS_VENV:-$HOME/.cache/ec2-gitops-venv}"
stamp="$venv/.ec2-gitops-requirements.sha256"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: $python not found; install Python 3 (3.9 or newer)" >&2
    exit 1
fi

# The hash covers the Python version too: a venv built by another interpreter
# must be rebuilt, not patched.
want="$({ cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/moto_server" ]]; then
    exit 0
fi

mkdir -p "$(dirname "$venv")"
# Two scripts (test.sh and demo.sh) may run at once: let one install, the other wait.
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
# Another run may have finished the job while we waited for the lock.
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/moto_server" ]]; then
    exit 0
fi

echo "setup-test-deps: installing $(grep -m1 '^moto' "$requirements") into $venv" >&2
if [[ -x "$venv/bin/python" ]] &&
    ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version != sys.argv[1])' "$("$python" -c 'import sys; print(sys.version)')"; then
    echo "setup-test-deps: venv was built by another Python; recreating it" >&2
    rm -rf "$venv"
fi
if [[ ! -x "$venv/bin/python" ]]; then
    if ! "$python" -m venv "$venv"; then
        echo "error: '$python -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
        exit 1
    fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"

if [[ ! -x "$venv/bin/moto_server" ]]; then
    echo "error: pip finished but $venv/bin/moto_server is missing" >&2
    exit 1
fi
echo "$want" >"$stamp"
echo "setup-test-deps: ready ($venv/bin/moto_server)" >&2
