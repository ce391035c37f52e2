import { defineConfig } from '@playwright/test';

// Browser tests for cityhall. scripts/test starts a demo server (`cityhall serve --demo`)
// and runs these against it with CITYHALL_URL set; by hand:
//   cd tests/browser && CITYHALL_URL=http://127.0.0.1:8080 npx playwright test
// The browser is Debian's Chromium: Playwright never downloads one here
// (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
const baseURL = process.env.CITYHALL_URL;
if (!baseURL) {
  throw new Error(
    'CITYHALL_URL is not set: start `cityhall serve --demo` and set CITYHALL_URL to its address (scripts/test does both)',
  );
}

export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  outputDir: process.env.CITYHALL_PW_OUTPUT_DIR ?? 'test-results',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: 'list',
  timeout: 30_000,
  // A bound on the whole run, so that a hung server cannot eat CI's time.
  globalTimeout: 15 * 60_000,
  expect: { timeout: 5_000 },
  use: {
    baseURL,
    headless: true,
    // A Vietnamese resident's browser: the site's default language is Vietnamese anyway.
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless=new',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    {
      name: 'desktop',
      use: { viewport: { width: 1280, height: 800 } },
    },
    {
      // The site must fit a 360 px wide phone. isMobile stays false on purpose: the page is
      // laid out at exactly 360 px, so anything wider shows up as horizontal overflow.
      // Only the page checks (axe-core, overflow) run here: the behaviour tests do not depend
      // on the width and run once, on desktop, to keep the run fast.
      name: 'phone',
      testMatch: '**/a11y.spec.ts',
      use: { viewport: { width: 360, height: 740 }, isMobile: false, hasTouch: false },
    },
  ],
});
