# lib_chrome.sh: headless Chromium for the integration tests that load pages (sourced after
# lib.sh, not run). Skips the test (exit 0) when Debian's chromium is not installed.
CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
    echo "skip: chromium not installed (apt-get install chromium; make test installs it)"
    exit 0
fi
# chrome ARGS... URL: headless Chromium with a private profile, no network of its own
chrome() {
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --no-first-run --disable-extensions --user-data-dir="$T/chromium" "$@" 2>>"$T/chromium.log"
}
