import { expect, test, type Page } from '@playwright/test';
import { expectAccessiblePage } from './a11y';
import { gotoExpectStatus, login, submitLogin, unique } from './helpers';

// Every page passes axe-core (no serious or critical violation of WCAG 2.1 A/AA) and fits
// the viewport, in both projects: desktop (1280 px) and phone (360 px).
const pages: { name: string; open: (page: Page) => Promise<void> }[] = [
  { name: 'home (vi)', open: async (page) => gotoExpectStatus(page, '/', 200) },
  { name: 'home (en)', open: async (page) => gotoExpectStatus(page, '/?lang=en', 200) },
  { name: 'login', open: async (page) => gotoExpectStatus(page, '/login', 200) },
  { name: 'signup', open: async (page) => gotoExpectStatus(page, '/signup', 200) },
  {
    name: 'login error',
    open: async (page) => {
      await submitLogin(page, `nobody-${unique()}`, 'not-the-password');
      await expect(page.getByRole('alert').first()).toBeVisible();
    },
  },
  {
    name: 'account (citizen1)',
    open: async (page) => {
      await login(page, 'citizen1');
    },
  },
  {
    name: 'staff console (officer.tuphap)',
    open: async (page) => {
      await login(page, 'officer.tuphap');
      await gotoExpectStatus(page, '/staff', 200);
    },
  },
  {
    name: 'admin agencies (admin)',
    open: async (page) => {
      await login(page, 'admin');
      await gotoExpectStatus(page, '/admin/agencies', 200);
    },
  },
  {
    name: 'admin users (admin)',
    open: async (page) => {
      await login(page, 'admin');
      await gotoExpectStatus(page, '/admin/users', 200);
    },
  },
  {
    name: 'forbidden (citizen1 on /staff)',
    open: async (page) => {
      await login(page, 'citizen1');
      await gotoExpectStatus(page, '/staff', 403);
    },
  },
  {
    name: 'audit log (auditor)',
    open: async (page) => {
      await login(page, 'auditor');
      await gotoExpectStatus(page, '/audit', 200);
    },
  },
  { name: 'password reset', open: async (page) => gotoExpectStatus(page, '/password/forgot', 200) },
  { name: 'assistant', open: async (page) => gotoExpectStatus(page, '/assistant', 200) },
  {
    name: 'assistant answer',
    open: async (page) => gotoExpectStatus(page, '/assistant?q=lam+giay+khai+sinh+cho+con', 200),
  },
  {
    name: 'assistant panel open',
    open: async (page) => {
      await gotoExpectStatus(page, '/procedures', 200);
      await page.locator('#assistant-panel summary').click();
      await page.locator('#assistant-panel-q').fill('đèn đường hỏng trước nhà');
      await page.locator('#assistant-panel-form button[type="submit"]').click();
      await expect(page.locator('#assistant-log [data-testid="assistant-answer"]')).toBeVisible();
    },
  },
  {
    name: 'hotline with assistant (operator)',
    open: async (page) => {
      await login(page, 'operator');
      await gotoExpectStatus(page, '/hotline?ask=ngap+nuoc+duong+Nguyen+Huu+Canh', 200);
    },
  },
  { name: 'feedback list and map', open: async (page) => gotoExpectStatus(page, '/feedback', 200) },
  { name: 'feedback form, step one', open: async (page) => gotoExpectStatus(page, '/feedback/new', 200) },
  {
    name: 'feedback form, step two with nearby reports',
    open: async (page) => gotoExpectStatus(page, '/feedback/new?category=road-damage&lat=10.7769&lon=106.7009', 200),
  },
  {
    name: 'feedback queue (officer.phuongsaigon)',
    open: async (page) => {
      await login(page, 'officer.phuongsaigon');
      await gotoExpectStatus(page, '/desk/feedback?status=all', 200);
    },
  },
  {
    name: 'hotline console (operator)',
    open: async (page) => {
      await login(page, 'operator');
      await gotoExpectStatus(page, '/hotline', 200);
    },
  },
  { name: 'english sign-up', open: async (page) => gotoExpectStatus(page, '/signup?lang=en', 200) },
  { name: 'not found', open: async (page) => gotoExpectStatus(page, '/khong-ton-tai', 404) },
  { name: 'procedure catalog', open: async (page) => gotoExpectStatus(page, '/procedures', 200) },
  {
    name: 'procedure search (no diacritics)',
    open: async (page) => {
      await gotoExpectStatus(page, '/procedures?q=dang%20ky%20khai%20sinh', 200);
      await expect(page.getByTestId('catalog-results')).toBeVisible();
    },
  },
  { name: 'procedure (birth registration)', open: async (page) => gotoExpectStatus(page, '/procedures/1.001193', 200) },
  { name: 'service status', open: async (page) => gotoExpectStatus(page, '/status', 200) },
  // The open-data portal.
  { name: 'open data search', open: async (page) => gotoExpectStatus(page, '/dataset', 200) },
  {
    name: 'open data search (no diacritics, filtered)',
    open: async (page) => {
      await gotoExpectStatus(page, '/dataset?q=xe+buyt&organization=soxaydung', 200);
      await expect(page.getByTestId('od-results').locator(':scope > li').first()).toBeVisible();
    },
  },
  { name: 'open data search (en)', open: async (page) => gotoExpectStatus(page, '/dataset?lang=en', 200) },
  { name: 'dataset (bus routes)', open: async (page) => gotoExpectStatus(page, '/dataset/tuyen-xe-buyt-mau', 200) },
  {
    name: 'resource with a wide preview (bus routes)',
    open: async (page) => {
      await gotoExpectStatus(page, '/dataset/tuyen-xe-buyt-mau', 200);
      await page.getByTestId('od-resources').getByRole('link').first().click();
      await expect(page.getByTestId('od-preview')).toBeVisible();
    },
  },
  {
    name: 'resource with 168 rows (wards)',
    open: async (page) => {
      await gotoExpectStatus(page, '/dataset/danh-sach-phuong-xa', 200);
      await page.getByTestId('od-resources').getByRole('link').first().click();
      await expect(page.getByTestId('od-preview')).toBeVisible();
    },
  },
  { name: 'open data publishers', open: async (page) => gotoExpectStatus(page, '/organization', 200) },
  { name: 'open data publisher (Sở Xây dựng)', open: async (page) => gotoExpectStatus(page, '/organization/soxaydung', 200) },
  {
    name: 'new dataset form (publisher)',
    open: async (page) => {
      await login(page, 'publisher');
      await gotoExpectStatus(page, '/dataset/new', 200);
    },
  },
  {
    name: 'dataset with the upload form (publisher)',
    open: async (page) => {
      await login(page, 'publisher');
      await gotoExpectStatus(page, '/dataset/tuyen-xe-buyt-mau', 200);
      await expect(page.getByTestId('od-upload')).toBeVisible();
    },
  },
  {
    name: 'resource with the column types form (publisher)',
    open: async (page) => {
      await login(page, 'publisher');
      await gotoExpectStatus(page, '/dataset/tuyen-xe-buyt-mau', 200);
      await page.getByTestId('od-resources').getByRole('link').first().click();
      await expect(page.getByTestId('od-retype')).toBeVisible();
    },
  },
  // An unknown result code: the verification page says so, with a 404.
  { name: 'verify (unknown code)', open: async (page) => gotoExpectStatus(page, '/verify/-', 404) },
];

test.describe('accessibility and layout', () => {
  for (const { name, open } of pages) {
    test(name, async ({ page }) => {
      await open(page);
      await expectAccessiblePage(page);
    });
  }
});
