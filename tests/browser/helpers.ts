import { expect, type Locator, type Page } from '@playwright/test';

/** Password of every demo account (`cityhall serve --demo`). */
export const DEMO_PASSWORD = 'cityhall-demo';

export const DEMO_USERS = [
  'citizen1',
  'citizen2',
  'officer.tuphap',
  'officer.phuongsaigon',
  'officer.phuongbenthanh',
  'admin',
  'auditor',
  'operator',
  'supervisor.phuongsaigon',
  'publisher',
] as const;

export type DemoUser = (typeof DEMO_USERS)[number];

/** The submit button of the form that contains `field`. */
export function submitButtonOf(page: Page, field: string): Locator {
  return page
    .locator(`form:has([name="${field}"])`)
    .locator('button[type="submit"], input[type="submit"], button:not([type])')
    .first();
}

/** Fills and submits the sign-in form (the caller checks where it lands). */
export async function submitLogin(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await submitButtonOf(page, 'username').click();
}

/** Signs in as a demo user and waits for /account. */
export async function login(page: Page, username: DemoUser | string, password: string = DEMO_PASSWORD): Promise<void> {
  await submitLogin(page, username, password);
  await expect(page, `signing in as ${username} leads to /account`).toHaveURL(/\/account(?:[?#].*)?$/);
}

/** Opens a path and checks the HTTP status of the response. */
export async function gotoExpectStatus(page: Page, path: string, status: number): Promise<void> {
  const response = await page.goto(path);
  expect(response, `a response for ${path}`).not.toBeNull();
  expect(response!.status(), `HTTP status of ${path}`).toBe(status);
}

/** The value of <html lang>. */
export async function htmlLang(page: Page): Promise<string | null> {
  return page.locator('html').getAttribute('lang');
}

/** A value unique to this test run, for accounts created by the tests. */
export function unique(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** Checks that a form control has an accessible label (a <label>, aria-label or aria-labelledby). */
export async function expectLabelled(control: Locator): Promise<void> {
  const labelled = await control.evaluate((el) => {
    const input = el as HTMLInputElement;
    const viaLabel = (input.labels?.length ?? 0) > 0 && Array.from(input.labels!).some((l) => l.textContent?.trim());
    return viaLabel || !!el.getAttribute('aria-label')?.trim() || !!el.getAttribute('aria-labelledby');
  });
  expect(labelled, `${await control.evaluate((el) => el.outerHTML)} has a label`).toBe(true);
}
