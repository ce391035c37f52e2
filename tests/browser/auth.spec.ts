import { expect, test } from '@playwright/test';
import {
  DEMO_PASSWORD,
  DEMO_USERS,
  expectLabelled,
  gotoExpectStatus,
  login,
  submitButtonOf,
  submitLogin,
  unique,
} from './helpers';

test.describe('sign in', () => {
  test('the login form has labelled fields, a CSRF token and a submit button', async ({ page }) => {
    await gotoExpectStatus(page, '/login', 200);
    const username = page.locator('input[name="username"]');
    const password = page.locator('input[name="password"]');
    await expect(username).toBeVisible();
    await expect(password).toBeVisible();
    await expect(password).toHaveAttribute('type', 'password');
    await expectLabelled(username);
    await expectLabelled(password);
    const csrf = page.locator('form:has(input[name="username"]) input[name="csrf_token"]');
    await expect(csrf).toHaveAttribute('type', 'hidden');
    expect((await csrf.getAttribute('value')) ?? '', 'csrf_token has a value').not.toBe('');
    await expect(submitButtonOf(page, 'username')).toBeVisible();
  });

  test('in demo mode the login page lists the demo accounts', async ({ page }) => {
    await page.goto('/login');
    const main = page.locator('body');
    for (const user of DEMO_USERS) {
      await expect(main).toContainText(user);
    }
    await expect(main).toContainText(DEMO_PASSWORD);
  });

  for (const user of DEMO_USERS) {
    test(`demo account ${user} signs in and sees its account`, async ({ page }) => {
      await login(page, user);
      await expect(page.getByTestId('account-username')).toHaveText(user);
    });
  }

  test('the demo residents are verified', async ({ page }) => {
    await login(page, 'citizen1');
    await expect(page.getByTestId('assurance')).toHaveText('Đã xác thực');
  });

  test('a wrong password shows an error and opens no session', async ({ page }) => {
    await submitLogin(page, 'citizen2', 'not-the-password');
    await expect(page).toHaveURL(/\/login(?:[?#].*)?$/);
    await expect(page.getByRole('alert').first()).toBeVisible();
    await expect(page.getByRole('alert').first()).not.toBeEmpty();
    // The form is there again, to try once more.
    await expect(page.locator('input[name="username"]')).toBeVisible();

    await page.goto('/account');
    await expect(page, '/account without a session redirects to /login').toHaveURL(/\/login(?:[?#].*)?$/);
  });

  test('an unknown user gets the same kind of error', async ({ page }) => {
    await submitLogin(page, `nobody-${unique()}`, DEMO_PASSWORD);
    await expect(page).toHaveURL(/\/login(?:[?#].*)?$/);
    await expect(page.getByRole('alert').first()).toBeVisible();
  });

  test('/account without a session redirects to /login', async ({ page }) => {
    await page.goto('/account');
    await expect(page).toHaveURL(/\/login(?:[?#].*)?$/);
  });

  test('signing out ends the session', async ({ page }) => {
    await login(page, 'citizen1');
    const logout = page.getByTestId('logout');
    await expect(logout).toBeVisible();
    // A POST form, not a link.
    const form = page.locator('form:has([data-testid="logout"])');
    expect((await form.getAttribute('method'))?.toLowerCase()).toBe('post');
    expect(await form.getAttribute('action')).toMatch(/\/logout$/);

    await logout.click();
    await expect(page).not.toHaveURL(/\/account(?:[?#].*)?$/);
    await page.goto('/account');
    await expect(page).toHaveURL(/\/login(?:[?#].*)?$/);
  });
});

test.describe('sign up', () => {
  test('the signup form has labelled fields and a CSRF token', async ({ page }) => {
    await gotoExpectStatus(page, '/signup', 200);
    for (const name of ['contact', 'full_name', 'password', 'password_confirm', 'national_id']) {
      const field = page.locator(`input[name="${name}"]`);
      await expect(field, `input ${name}`).toBeVisible();
      await expectLabelled(field);
    }
    await expect(page.locator('form:has(input[name="contact"]) input[name="csrf_token"]')).toHaveAttribute('type', 'hidden');
    await expect(submitButtonOf(page, 'contact')).toBeVisible();
  });

  test('a new account leads to /account', async ({ page }) => {
    await page.goto('/signup');
    await page.locator('input[name="contact"]').fill(`kiemthu.${unique()}@example.com`);
    await page.locator('input[name="full_name"]').fill('Nguyễn Thị Kiểm Thử');
    await page.locator('input[name="password"]').fill('Mat-khau-thu-2026!');
    await page.locator('input[name="password_confirm"]').fill('Mat-khau-thu-2026!');
    await submitButtonOf(page, 'contact').click();
    await expect(page).toHaveURL(/\/account(?:[?#].*)?$/);
    await expect(page.getByTestId('logout')).toBeVisible();
  });

  test('mismatched passwords show an error and keep what was typed', async ({ page }) => {
    const contact = `kiemthu.${unique()}@example.com`;
    await page.goto('/signup');
    await page.locator('input[name="contact"]').fill(contact);
    await page.locator('input[name="full_name"]').fill('Trần Văn Thử');
    await page.locator('input[name="password"]').fill('Mat-khau-thu-2026!');
    await page.locator('input[name="password_confirm"]').fill('Mat-khau-khac-2026!');
    await submitButtonOf(page, 'contact').click();
    await expect(page.getByRole('alert').first()).toBeVisible();
    await expect(page).not.toHaveURL(/\/account(?:[?#].*)?$/);
    await expect(page.locator('input[name="contact"]')).toHaveValue(contact);
    await expect(page.locator('input[name="full_name"]')).toHaveValue('Trần Văn Thử');

    // No account and no session were created.
    await page.goto('/account');
    await expect(page).toHaveURL(/\/login(?:[?#].*)?$/);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('sign in, see the account, sign out', async ({ page }) => {
    await login(page, 'citizen1');
    await expect(page.getByTestId('account-username')).toHaveText(/citizen1/);
    await page.getByTestId('logout').click();
    await expect(page).not.toHaveURL(/\/account(?:[?#].*)?$/);
    await page.goto('/account');
    await expect(page).toHaveURL(/\/login(?:[?#].*)?$/);
  });

  test('the language switch works', async ({ page }) => {
    await page.goto('/');
    await page.locator('a[href*="lang=en"]').first().click();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  });
});
