// Where the browser tests find Chromium (Debian's package): one place for the tests that drive it
// and for test/global-setup.ts, which in CI refuses to run without it.
import fs from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);
