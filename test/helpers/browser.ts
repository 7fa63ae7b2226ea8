/**
 * Debian's chromium driven by playwright-core, for the browser tests. Never downloads a browser:
 * without /usr/bin/chromium the tests skip, except under CI=true where that is an error.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing; .ci/run installs it`);

/** The `skip` option for a browser test suite. */
export const BROWSER_SKIP: string | false = HAVE_BROWSER ? false : `${CHROMIUM} not found (install Debian's chromium to run the dashboard browser tests)`;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Headless, and no background connections: this machine's closed network would refuse them.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Collects page errors (and console errors when asked) into `errors`, and records CSP violations in
 * `window.cspViolations`. The recorder is injected by the debugging protocol, so the page's own CSP
 * does not apply to it.
 */
export async function watchPage(page: Page, errors: string[], options: { consoleErrors?: boolean } = {}): Promise<void> {
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  if (options.consoleErrors) page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  await page.addInitScript(() => {
    (window as any).cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => (window as any).cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}
