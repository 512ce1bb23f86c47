#!/usr/bin/env bash
# Fetch a real PDF that nobody here wrote, for the two-document shelf tests: the Gutenprint
# user's manual (73 pages, a text layer and a 123-entry outline) from Debian's gutenprint-doc
# package. It is put in tests/.data/ (gitignored), where tests/documents_support.py looks for it.
# Run by `make test` before pytest; it does nothing when the file is already there.
# Uses only Debian's package registry, through apt-get (`apt-get update` first when the package
# lists do not know the package yet, as on a fresh CI machine).
set -euo pipefail

PACKAGE=gutenprint-doc
MEMBER=./usr/share/doc/gutenprint-doc/gutenprint-users-manual.pdf
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="$HERE/.data"
TARGET="$DATA/gutenprint-users-manual.pdf"

if [ -s "$TARGET" ]; then
    exit 0
fi
for tool in apt-get dpkg-deb; do
    if ! command -v "$tool" >/dev/null; then
        echo "fetch_debian_pdf: $tool is not available; on a Debian machine run: apt-get download $PACKAGE" \
             "and extract $MEMBER to $TARGET" >&2
        exit 1
    fi
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# apt-get download writes into the current folder; as root it warns that the _apt user cannot
# write there, which is harmless.
if ! (cd "$WORK" && apt-get download "$PACKAGE" >/dev/null 2>&1); then
    echo "fetch_debian_pdf: $PACKAGE is not in the package lists yet; running apt-get update" >&2
    apt-get update -qq >/dev/null
    (cd "$WORK" && apt-get download "$PACKAGE" >/dev/null 2>&1) || {
        echo "fetch_debian_pdf: apt-get download $PACKAGE failed (is Debian's package registry reachable?)" >&2
        exit 1
    }
fi
dpkg-deb -x "$WORK"/"$PACKAGE"_*.deb "$WORK/root"
mkdir -p "$DATA"
cp "$WORK/root/$MEMBER" "$TARGET.partial"
mv "$TARGET.partial" "$TARGET"
version="$(dpkg-deb -f "$WORK"/"$PACKAGE"_*.deb Version)"
echo "$PACKAGE $version" > "$DATA/gutenprint-users-manual.source"
echo "fetch_debian_pdf: $TARGET from $PACKAGE $version ($(stat -c %s "$TARGET") bytes)"
