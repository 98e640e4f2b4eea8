# scripts/install-editable.sh: build wasmprof in build/release and install it
# editable from there, with the extras named in EXTRAS (e.g. EXTRAS=test).
# Sourced by setup.sh and tests/run.sh with PYTHON set.
#
# meson-python's editable install needs its build tools in this environment
# (no build isolation): importing wasmprof rebuilds what changed in
# build/release.  The build runs first through make (ninja prints a line per
# file), so that pip, quiet, only installs.  WASMPROF_WERROR=1 (CI) makes
# warnings errors.
echo "+ $PYTHON -m pip install meson-python meson ninja" >&2
"$PYTHON" -m pip install --quiet --disable-pip-version-check meson-python meson ninja
# Where pip put the meson and ninja commands, in case it is not on PATH yet.
PATH="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH
WERROR=$([ "${WASMPROF_WERROR:-0}" = 1 ] && echo true || echo false)
make all BUILD=build/release WERROR="$WERROR"
TARGET=".${EXTRAS:+[$EXTRAS]}"
echo "+ $PYTHON -m pip install --no-build-isolation -Cbuild-dir=build/release -e $TARGET" >&2
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-build-isolation -Cbuild-dir=build/release \
  -Csetup-args=-Dwerror="$WERROR" -e "$TARGET"
