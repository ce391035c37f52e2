import { expect, test } from '@playwright/test';
import { gotoExpectStatus, htmlLang, login } from './helpers';

test.describe('staff console', () => {
  test('an officer can open /staff', async ({ page }) => {
    await login(page, 'officer.tuphap');
    await gotoExpectStatus(page, '/staff', 200);
    await expect(page.locator('h1').first()).toBeVisible();
  });

  test('a citizen gets a 403 page on /staff', async ({ page }) => {
    await login(page, 'citizen1');
    await gotoExpectStatus(page, '/staff', 403);
    expect(await htmlLang(page)).toBe('vi');
    await expect(page.locator('h1').first()).toBeVisible();
  });
});

test.describe('administration', () => {
  test('admin sees the agencies', async ({ page }) => {
    await login(page, 'admin');
    await gotoExpectStatus(page, '/admin/agencies', 200);
    await expect(page.locator('body')).toContainText('SOTUPHAP');
    await expect(page.locator('body')).toContainText('UBND-26740');
  });

  test('admin sees the users', async ({ page }) => {
    await login(page, 'admin');
    await gotoExpectStatus(page, '/admin/users', 200);
    await expect(page.locator('body')).toContainText('citizen1');
  });

  test('an officer gets a 403 page on /admin/users', async ({ page }) => {
    await login(page, 'officer.tuphap');
    await gotoExpectStatus(page, '/admin/users', 403);
    await expect(page.locator('body')).not.toContainText('citizen1');
  });

  test('a citizen gets a 403 page on /admin/agencies', async ({ page }) => {
    await login(page, 'citizen1');
    await gotoExpectStatus(page, '/admin/agencies', 403);
  });
});
