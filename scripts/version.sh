#!/usr/bin/env bash
# version.sh — print the version of the tree being built, from its semver
# tags (vMAJOR.MINOR.PATCH):
#   on a tagged commit        v1.2.3
#   N commits after the tag   v1.2.3-N-gSHA
#   with no tag at all        v0.0.0-devel+gSHA
# and -dirty after either when the tree has uncommitted changes. Outside
# a git checkout it prints v0.0.0-devel.
set -uo pipefail
cd "$(dirname "$0")/.."
if v=$(git describe --tags --match 'v[0-9]*.[0-9]*.[0-9]*' --dirty 2>/dev/null); then
	echo "$v"
elif sha=$(git rev-parse --short HEAD 2>/dev/null); then
	dirty=
	git diff --quiet HEAD 2>/dev/null || dirty=-dirty
	echo "v0.0.0-devel+g$sha$dirty"
else
	echo v0.0.0-devel
fi
