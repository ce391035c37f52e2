import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

function describeTarget(target: unknown): string {
  // A node's target is a list of selectors; an entry is itself a list when it crosses
  // shadow DOM or frames.
  if (!Array.isArray(target)) return String(target);
  return target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : String(t))).join(', ');
}

/** Runs axe-core (WCAG 2.0/2.1 A and AA rules) and fails listing every serious or critical violation. */
export async function expectNoSeriousA11yViolations(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) {
    await test.info().attach(`axe-violations-${test.info().project.name}.json`, {
      body: JSON.stringify(bad, null, 2),
      contentType: 'application/json',
    });
  }
  const lines = bad.flatMap((v) => [
    `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`,
    ...v.nodes.map(
      (n) => `    at ${describeTarget(n.target)}${n.failureSummary ? `: ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`,
    ),
  ]);
  expect(lines, `axe-core: serious or critical accessibility violations on ${page.url()}`).toEqual([]);
}

/** The page must not be wider than the viewport (no horizontal scrolling on a 360 px phone). */
export async function expectNoHorizontalOverflow(page: Page): Promise<void> {
  const m = await page.evaluate(() => {
    const root = document.documentElement;
    // clientWidth is the viewport minus a vertical scrollbar, if there is one.
    const limit = root.clientWidth;
    const offenders: string[] = [];
    for (const el of Array.from(document.body?.querySelectorAll('*') ?? [])) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > limit + 0.5) {
        const id = el.id ? `#${el.id}` : '';
        const cls = typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
        offenders.push(`${el.tagName.toLowerCase()}${id}${cls} (right edge at ${Math.round(r.right)} px)`);
        if (offenders.length >= 10) break;
      }
    }
    return { scrollWidth: root.scrollWidth, clientWidth: limit, innerWidth: window.innerWidth, offenders };
  });
  expect(
    m.scrollWidth,
    `${page.url()} is ${m.scrollWidth} px wide but the viewport is ${m.clientWidth} px (window ${m.innerWidth} px); ` +
      `elements sticking out: ${m.offenders.join('; ') || 'none found'}`,
  ).toBeLessThanOrEqual(m.clientWidth);
}

/** Phones lay the page out at device width only with <meta name="viewport" content="width=device-width, ...">. */
export async function expectViewportMeta(page: Page): Promise<void> {
  const content = await page.locator('meta[name="viewport"]').first().getAttribute('content', { timeout: 1_000 }).catch(() => null);
  expect(content ?? '(missing)', `<meta name="viewport"> on ${page.url()}`).toContain('width=device-width');
}

/** Everything a page must pass: axe-core, fits the viewport, has a viewport meta tag. */
export async function expectAccessiblePage(page: Page): Promise<void> {
  await expectNoSeriousA11yViolations(page);
  await expectNoHorizontalOverflow(page);
  await expectViewportMeta(page);
}
