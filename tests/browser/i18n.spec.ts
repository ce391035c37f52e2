import { expect, test } from '@playwright/test';
import { gotoExpectStatus, htmlLang } from './helpers';

test.describe('language', () => {
  test('home page is Vietnamese by default, with a heading', async ({ page }) => {
    await gotoExpectStatus(page, '/', 200);
    expect(await htmlLang(page)).toBe('vi');
    await expect(page.locator('h1').first()).toBeVisible();
    await expect(page).toHaveTitle(/\S/);
  });

  test('a link switches to English', async ({ page }) => {
    await page.goto('/');
    const toEnglish = page.locator('a[href*="lang=en"]').first();
    await expect(toEnglish).toBeVisible();
    await toEnglish.click();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  });

  test('?lang=en is remembered in a cookie and ?lang=vi switches back', async ({ page, context }) => {
    await page.goto('/');
    const viHeading = (await page.locator('h1').first().innerText()).trim();

    await page.goto('/?lang=en');
    expect(await htmlLang(page)).toBe('en');
    expect((await context.cookies()).length, 'a cookie remembers the language').toBeGreaterThan(0);

    await page.goto('/');
    expect(await htmlLang(page), 'GET / after ?lang=en').toBe('en');
    const enHeading = (await page.locator('h1').first().innerText()).trim();
    expect(enHeading, 'the English heading differs from the Vietnamese one').not.toBe(viHeading);

    await page.goto('/login');
    expect(await htmlLang(page), '/login after ?lang=en').toBe('en');

    await page.goto('/login?lang=vi');
    expect(await htmlLang(page)).toBe('vi');
    await page.goto('/');
    expect(await htmlLang(page), 'GET / after ?lang=vi').toBe('vi');
  });

  test('a fresh browser is not affected by another one choosing English', async ({ browser }) => {
    const english = await browser.newContext();
    const p1 = await english.newPage();
    await p1.goto('/?lang=en');
    expect(await htmlLang(p1)).toBe('en');
    await english.close();

    const fresh = await browser.newContext();
    const p2 = await fresh.newPage();
    await p2.goto('/');
    expect(await htmlLang(p2)).toBe('vi');
    await fresh.close();
  });
});

test.describe('not found', () => {
  test('an unknown path is a 404 page in Vietnamese', async ({ page }) => {
    await gotoExpectStatus(page, '/khong-ton-tai', 404);
    expect(await htmlLang(page)).toBe('vi');
    await expect(page.locator('h1').first()).toBeVisible();
  });

  test('the 404 page follows the chosen language', async ({ page }) => {
    await gotoExpectStatus(page, '/khong-ton-tai', 404);
    const viHeading = (await page.locator('h1').first().innerText()).trim();

    await page.goto('/?lang=en');
    await gotoExpectStatus(page, '/khong-ton-tai', 404);
    expect(await htmlLang(page)).toBe('en');
    const enHeading = (await page.locator('h1').first().innerText()).trim();
    expect(enHeading).not.toBe('');
    expect(enHeading, 'the English 404 heading differs from the Vietnamese one').not.toBe(viHeading);
  });
});
