#!/usr/bin/env bash
# The README's picture: the example stack's plan comments as a reviewer sees
# them on GitHub, rendered by GitHub's Markdown engine and photographed.
#
#   scripts/render-comment.sh [OUT.png]   # default: docs/images/plan-comment.png
#
# 1. starts moto (as scripts/demo.sh does) and plans the example stack:
#    the comment of a pull request that creates it;
# 2. applies it, edits a copy (the web servers' type, so they restart one at a
#    time, and a tag) and plans again: the comment of that second pull request;
# 3. renders both with cmark-gfm (GitHub's extensions, GitHub's alerts drawn
#    as GitHub draws them) into a page with a GitHub-like stylesheet, and
#    screenshots it with headless Chromium.
#
# For the docs, not part of the test run. Needs cmark-gfm and chromium
# (Debian: apt-get install cmark-gfm chromium); set CHROMIUM to another
# browser binary.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
out="$(realpath -m "${1:-docs/images/plan-comment.png}")"

fail() {
    printf 'render-comment: FAILED: %s\n' "$*" >&2
    exit 1
}

chromium="${CHROMIUM:-chromium}"
command -v cmark-gfm >/dev/null 2>&1 || fail "cmark-gfm not found (Debian: apt-get install cmark-gfm)"
command -v "$chromium" >/dev/null 2>&1 || fail "$chromium not found (Debian: apt-get install chromium)"

bash scripts/setup-test-deps.sh
venv="${EC2_GITOPS_VENV:-$HOME/.cache/ec2-gitops-venv}"
moto_server="${MOTO_SERVER:-$venv/bin/moto_server}"
python="$(dirname "$moto_server")/python"
[[ -x "$python" ]] || python=python3

cargo build --locked --bin ec2-gitops
target_dir="$(cargo metadata --format-version 1 --no-deps |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/ec2-gitops"

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
make_instance_profile "$python" db-backups >/dev/null || fail "instance profile"
make_server_certificate "$python" www.example.com >/dev/null || fail "certificate"

# A copy of the example, planned from inside it so that the comment names
# `infra/web.yaml` as a pull request's would; a Git work tree, as in a
# repository, so that `user_data_file: ../cloud-init/…` may leave `infra/`.
cp -r examples/web-hosting "$work/example"
git -C "$work/example" init -q
cd "$work/example"
"$bin" plan infra/web.yaml --format markdown >"$work/create.md" || fail "plan"
"$bin" apply infra/web.yaml --auto-approve >/dev/null || fail "apply"
"$python" - infra/web.yaml <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
edits = [
    ("    type: t3.small\n", "    type: t3.medium\n"),
    ("    tags: { role: web }\n", "    tags: { role: web, tier: frontend }\n"),
]
for old, new in edits:
    if old not in text:
        sys.exit(f"render-comment: the example no longer has {old!r}; update the edit")
    text = text.replace(old, new, 1)
open(path, "w").write(text)
PY
"$bin" plan infra/web.yaml --format markdown >"$work/update.md" || fail "second plan"
cd "$repo_root"

# The page: each plan in a comment box, as GitHub shows a bot's comment.
"$python" - "$work" <<'PY'
import html, re, subprocess, sys

work = sys.argv[1]

def render(md):
    out = subprocess.run(
        ["cmark-gfm", "--unsafe", "-e", "table", "-e", "strikethrough",
         "-e", "autolink", "-e", "tasklist", "-e", "tagfilter"],
        input=md, capture_output=True, text=True, check=True).stdout
    # GitHub draws `> [!WARNING]` blockquotes as alerts; cmark-gfm does not.
    def alert(m):
        kind = m.group(1)
        return (f'<div class="alert alert-{kind.lower()}">'
                f'<p class="alert-title">{kind.title()}</p>\n<p>{m.group(2)}</p>'
                f'{m.group(3)}</div>')
    return re.sub(r"<blockquote>\n<p>\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\n?(.*?)</p>(.*?)</blockquote>",
                  alert, out, flags=re.S)

def comment(title, md):
    return f"""<div class="comment"><div class="comment-head"><b>github-actions</b>
<span class="bot">bot</span> commented · {html.escape(title)}</div>
<div class="markdown-body">{render(md)}</div></div>"""

body = (comment("pull request #12: add the web stack", open(f"{work}/create.md").read())
        + comment("pull request #13: bigger web servers", open(f"{work}/update.md").read()))
css = """
body { background: #fff; margin: 0; padding: 24px; width: 860px;
  font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
.comment { border: 1px solid #d1d9e0; border-radius: 6px; margin-bottom: 24px; }
.comment-head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px;
  border-radius: 6px 6px 0 0; color: #59636e; }
.comment-head b { color: #1f2328; }
.bot { border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 6px; font-size: 12px; }
.markdown-body { padding: 16px; }
.markdown-body h3 { font-size: 1.25em; margin: 0 0 16px; }
.markdown-body p, .markdown-body ul, .markdown-body pre, .markdown-body details { margin: 0 0 16px; }
.markdown-body code { font: 85% ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: rgba(129,139,152,.12); padding: .2em .4em; border-radius: 6px; }
.markdown-body pre { background: #f6f8fa; padding: 16px; border-radius: 6px; overflow: auto; }
.markdown-body pre code { background: none; padding: 0; font-size: 85%; }
.markdown-body summary { cursor: pointer; }
.markdown-body sub { color: #59636e; }
.alert { border-left: .25em solid; padding: 8px 16px; margin: 0 0 16px; }
.alert p { margin: 0; } .alert ul { margin: 0; }
.alert-title { font-weight: 600; }
.alert-note { border-color: #0969da; } .alert-note .alert-title { color: #0969da; }
.alert-warning { border-color: #9a6700; } .alert-warning .alert-title { color: #9a6700; }
.alert-caution { border-color: #d1242f; } .alert-caution .alert-title { color: #d1242f; }
"""
open(f"{work}/page.html", "w").write(
    f"<!doctype html><meta charset=utf-8><style>{css}</style>{body}")
PY

# Tall enough for both comments; the picture is cropped to its content.
mkdir -p "$(dirname "$out")"
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$work/chromium" --window-size=908,6000 \
    --screenshot="$work/full.png" "file://$work/page.html" >/dev/null 2>&1 ||
    fail "chromium could not take the screenshot"
"$python" - "$work/full.png" "$out" <<'PY'
import struct, sys, zlib

# Crops the white rows off the bottom of the PNG (RGB or RGBA, 8 bits,
# Chromium's output) without any imaging library.
src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, chunks = 8, []
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunks.append((kind, data[pos + 8:pos + 8 + n]))
    pos += 12 + n
ihdr = dict(chunks)[b"IHDR"]
w, h, depth, color = struct.unpack(">IIBB", ihdr[:10])
assert depth == 8 and color in (2, 6), (depth, color)
bpp = 3 if color == 2 else 4
raw = zlib.decompress(b"".join(c for k, c in chunks if k == b"IDAT"))
stride = w * bpp
rows, prev = [], bytearray(stride)
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line))
    prev = line
white = b"\xff" * stride
last = max(i for i, r in enumerate(rows) if r != white) + 1
keep = rows[:min(h, last + 24)]
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
png = (b"\x89PNG\r\n\x1a\n"
       + chunk(b"IHDR", struct.pack(">IIBBBBB", w, len(keep), 8, color, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(b"".join(b"\0" + r for r in keep), 9))
       + chunk(b"IEND", b""))
open(dst, "wb").write(png)
print(f"render-comment: {dst} ({w}×{len(keep)} px)")
PY
