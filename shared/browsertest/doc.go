// Package browsertest starts a headless Chromium for browser tests and
// saves their screenshots.
//
// Chromium is looked up on PATH (chromium, chromium-browser) and at
// /usr/bin/chromium. When it is missing the test is skipped, unless
// REQUIRE_ENGINES=1, in which case it fails: CI never silently skips a
// browser test. Screenshots go to $ARTIFACTS_DIR, or to a temp dir of the
// test when it is not set.
package browsertest
