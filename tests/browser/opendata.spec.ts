import { readFile } from 'node:fs/promises';
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { expectNoHorizontalOverflow } from './a11y';
import { gotoExpectStatus, login, unique } from './helpers';

// The open-data portal in a real browser: a visitor searches without diacritics, narrows the
// results with the facets, previews a table and downloads the file, without signing in and
// without JavaScript; the English pages; a publisher creates a dataset, uploads a CSV,
// changes a column's type, is told which row of a bad file is wrong, and publishes the
// dataset, which visitors cannot see while it is a draft or private.
//
// The demo (`cityhall serve --demo`) publishes 8 datasets; the publisher's datasets get
// unique names, so the tests pass again on a server where they already ran (the counts
// below are compared with each other, never with fixed numbers).

const BUS = 'tuyen-xe-buyt-mau';
const BUS_TITLE = 'Tuyến xe buýt (mẫu)';
const BUS_HEADER = 'so_tuyen,diem_dau,diem_cuoi,gio_bat_dau,gio_ket_thuc,gian_cach_phut,gia_ve_dong';
const PUBLISHER = 'publisher';
const PUBLISHER_ORG = 'Sở Xây dựng';

/** The number in "8 bộ dữ liệu" / "8 datasets". */
async function resultCount(page: Page): Promise<number> {
  const text = await page.getByTestId('od-count').innerText();
  const n = Number.parseInt(text.trim(), 10);
  expect(Number.isNaN(n), `a count in "${text}"`).toBe(false);
  return n;
}

function results(page: Page): Locator {
  return page.getByTestId('od-results').locator(':scope > li');
}

/** Opens the first resource listed on a dataset's page. */
async function openFirstResource(page: Page): Promise<void> {
  await page.getByTestId('od-resources').locator(':scope > li').first().getByRole('link').first().click();
  await expect(page).toHaveURL(/\/dataset\/[^/]+\/resource\/[^/?#]+$/);
}

/** A new browser context without a session (a visitor), optionally without JavaScript. */
async function visitor(browser: Browser, javaScriptEnabled = true): Promise<Page> {
  const { baseURL, locale, timezoneId } = test.info().project.use;
  const context = await browser.newContext({ baseURL, locale, timezoneId, javaScriptEnabled });
  return context.newPage();
}

test.describe('a visitor', () => {
  test('searches without diacritics, previews the bus routes and downloads the file', async ({ page }) => {
    await gotoExpectStatus(page, '/dataset', 200);
    await expect(page.locator('h1')).toHaveText('Dữ liệu mở');
    await page.getByTestId('od-q').fill('xe buyt');
    await page.getByRole('search').getByRole('button', { name: 'Tìm' }).click();
    await expect(page).toHaveURL(/\/dataset\?q=xe\+buyt/);
    const hit = page.getByTestId('od-results').getByRole('link', { name: BUS_TITLE });
    await expect(hit).toBeVisible();
    await expect(results(page).first(), 'the bus routes come first').toContainText(BUS_TITLE);

    await hit.click();
    await expect(page).toHaveURL(new RegExp(`/dataset/${BUS}$`));
    await expect(page.locator('h1')).toHaveText(BUS_TITLE);
    await expect(page.getByTestId('od-resources').locator(':scope > li')).toHaveCount(1);
    await expect(page.getByTestId('od-edit'), 'a visitor gets no edit button').toHaveCount(0);
    await expect(page.locator('form[action$="/resource/new"]'), 'nor an upload form').toHaveCount(0);
    await expect(page.getByRole('link', { name: 'DCAT JSON-LD' })).toBeVisible();

    await openFirstResource(page);
    const preview = page.getByTestId('od-preview');
    await expect(preview.locator('thead th').first()).toHaveText('so_tuyen');
    const route08 = preview.locator('tbody tr', { has: page.locator('td', { hasText: /^08$/ }) });
    await expect(route08).toHaveCount(1);
    await expect(route08).toContainText('Đại học Quốc gia');
    expect(await preview.locator('tbody tr').count()).toBeGreaterThan(1);
    await expect(page.getByTestId('od-retype'), 'a visitor cannot change the types').toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Xóa tài nguyên này' })).toHaveCount(0);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('od-download').click()]);
    expect(download.suggestedFilename()).toBe('tuyen-xe-buyt.csv');
    const csv = (await readFile(await download.path())).toString('utf8').replace(/^\uFEFF/, '');
    expect(csv.split(/\r?\n/)[0]).toBe(BUS_HEADER);
    expect(csv).toContain('08,Bến xe Quận 8,Đại học Quốc gia');
  });

  test('narrows the results with an organization facet and widens them again', async ({ page }) => {
    await gotoExpectStatus(page, '/dataset', 200);
    const all = await resultCount(page);
    expect(all, 'the demo publishes 8 datasets').toBeGreaterThanOrEqual(8);

    const filters = page.getByRole('complementary', { name: 'Bộ lọc' });
    const facet = filters.getByRole('link', { name: PUBLISHER_ORG, exact: true });
    await expect(facet).not.toHaveAttribute('aria-current', /./);
    await facet.click();
    await expect(page).toHaveURL(/[?&]organization=soxaydung(?:&|$)/);
    const narrowed = await resultCount(page);
    expect(narrowed, 'the facet narrows the results').toBeLessThan(all);
    const active = page.getByRole('complementary', { name: 'Bộ lọc' }).getByRole('link', { name: PUBLISHER_ORG, exact: true });
    await expect(active, 'the chosen facet is marked').toHaveAttribute('aria-current', 'true');
    await expect(
      active.locator('xpath=following-sibling::span[1]'),
      'the facet shows as many datasets as were found',
    ).toHaveText(`(${narrowed})`);
    const items = results(page);
    expect(await items.count()).toBe(Math.min(narrowed, 20));
    for (const item of await items.all()) {
      await expect(item.locator('.muted').first(), 'every result is published by the organization').toContainText(
        PUBLISHER_ORG,
      );
    }
    await expect(page.getByTestId('od-results').getByRole('link', { name: BUS_TITLE })).toBeVisible();

    await active.click();
    await expect(page).not.toHaveURL(/organization=/);
    expect(await resultCount(page), 'clicking the active facet again removes it').toBeGreaterThan(narrowed);
  });

  test('a format facet and a search combine', async ({ page }) => {
    await gotoExpectStatus(page, '/dataset?q=phuong+xa', 200);
    await expect(page.getByTestId('od-results').getByRole('link', { name: /phường, xã/i }).first()).toBeVisible();
    await page.getByRole('complementary', { name: 'Bộ lọc' }).getByRole('link', { name: 'CSV', exact: true }).click();
    await expect(page).toHaveURL(/q=phuong\+xa/);
    await expect(page).toHaveURL(/res_format=CSV/);
    await expect(page.getByTestId('od-q')).toHaveValue('phuong xa');
  });

  test('the organizations page lists the publishers with their datasets', async ({ page }) => {
    await gotoExpectStatus(page, '/organization', 200);
    const list = page.getByTestId('od-orgs');
    expect(await list.locator(':scope > li').count(), 'the demo has 4 publishing agencies').toBeGreaterThanOrEqual(4);
    await list.getByRole('link', { name: PUBLISHER_ORG, exact: true }).click();
    await expect(page).toHaveURL(/\/organization\/soxaydung$/);
    await expect(page.locator('h1')).toHaveText(PUBLISHER_ORG);
    await expect(page.getByTestId('od-results').getByRole('link', { name: BUS_TITLE })).toBeVisible();
    for (const item of await results(page).all()) {
      await expect(item.locator('.muted').first()).toContainText(PUBLISHER_ORG);
    }
  });

  test('an unknown dataset or resource is a 404', async ({ page }) => {
    await gotoExpectStatus(page, `/dataset/khong-co-${unique()}`, 404);
    await gotoExpectStatus(page, `/dataset/${BUS}/resource/00000000-0000-0000-0000-000000000000`, 404);
    await gotoExpectStatus(page, `/organization/khong-co-${unique()}`, 404);
  });

  test('a wide preview scrolls inside its own box on a 360 px phone', async ({ page }) => {
    await page.setViewportSize({ width: 360, height: 740 });
    await gotoExpectStatus(page, `/dataset/${BUS}`, 200);
    await openFirstResource(page);
    const box = page.locator('.table-scroll');
    await expect(box).toHaveCount(1);
    const m = await box.evaluate((el) => ({
      scroll: el.scrollWidth,
      client: el.clientWidth,
      overflowX: getComputedStyle(el).overflowX,
    }));
    expect(['auto', 'scroll'], 'the preview box scrolls horizontally').toContain(m.overflowX);
    expect(m.scroll, 'the 7-column preview is wider than the phone').toBeGreaterThan(m.client);
    await expect(box, 'the scrolling box can be reached with the keyboard').toHaveAttribute('tabindex', '0');
    await expectNoHorizontalOverflow(page);
  });
});

test('without JavaScript a visitor searches, opens a dataset and previews a table', async ({ browser }) => {
  const page = await visitor(browser, false);
  await page.goto('/dataset');
  await page.getByTestId('od-q').fill('xe buyt');
  await page.getByRole('search').getByRole('button', { name: 'Tìm' }).click();
  await expect(page).toHaveURL(/\/dataset\?q=xe\+buyt/);
  await page.getByRole('complementary', { name: 'Bộ lọc' }).getByRole('link', { name: PUBLISHER_ORG, exact: true }).click();
  await expect(page).toHaveURL(/organization=soxaydung/);
  await page.getByTestId('od-results').getByRole('link', { name: BUS_TITLE }).click();
  await expect(page).toHaveURL(new RegExp(`/dataset/${BUS}$`));
  await expect(page.locator('h1')).toHaveText(BUS_TITLE);
  await openFirstResource(page);
  await expect(page.getByTestId('od-preview').locator('td', { hasText: /^08$/ })).toHaveCount(1);
  // Sorting is a plain GET form too.
  await page.goto('/dataset');
  await page.locator('#od-sort').selectOption('name');
  await page.getByRole('search').getByRole('button', { name: 'Tìm' }).click();
  await expect(page).toHaveURL(/sort=name/);
  const titles = (await results(page).locator(':scope > a').allInnerTexts()).map((t) => t.trim());
  expect(titles.length).toBeGreaterThan(1);
  await page.context().close();
});

test('?lang=en shows the portal in English', async ({ page }) => {
  await gotoExpectStatus(page, '/dataset?lang=en', 200);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.locator('h1')).toHaveText('Open data');
  await expect(page.getByLabel('Search datasets (with or without diacritics)')).toBeVisible();
  const filters = page.getByRole('complementary', { name: 'Filters' });
  await expect(filters.getByRole('heading', { name: 'Publisher' })).toBeVisible();
  await expect(filters.getByRole('heading', { name: 'Themes' })).toBeVisible();
  await expect(page.getByTestId('od-count')).toHaveText(/^\d+ datasets$/);

  await gotoExpectStatus(page, `/dataset/${BUS}`, 200);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.locator('h1')).toHaveText('Bus routes (sample)');
  await expect(page.getByRole('heading', { name: 'Resources' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'About this dataset' })).toBeVisible();
  await expect(page.getByTestId('od-download')).toHaveText('Download');

  await openFirstResource(page);
  await expect(page.getByRole('heading', { name: 'Preview' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Columns and their types' })).toBeVisible();

  await gotoExpectStatus(page, '/organization', 200);
  await expect(page.locator('h1')).toHaveText('Publishers');
});

test.describe('a publisher', () => {
  test('creates a dataset, uploads files, sets a column type and publishes it', async ({ page, browser }) => {
    test.setTimeout(60_000);
    const id = unique();
    const title = `Điểm đo chất lượng không khí thử ${id}`;

    await login(page, PUBLISHER);
    await gotoExpectStatus(page, '/dataset', 200);
    await page.getByTestId('od-new').click();
    await expect(page).toHaveURL(/\/dataset\/new$/);
    await expect(page.locator('h1')).toHaveText('Tạo bộ dữ liệu');
    await page.getByLabel('Tên bộ dữ liệu (tiếng Việt)').fill(title);
    await page.locator('#notes_vi').fill('Nồng độ bụi mịn PM2.5 đo tại các trạm quan trắc (dữ liệu thử).');
    await page.locator('#tags').fill('không khí, môi trường');
    await expect(page.locator('#owner_org option:checked')).toHaveText(PUBLISHER_ORG);
    await expect(page.locator('input[name="state"][value="draft"]'), 'a new dataset starts as a draft').toBeChecked();
    await page.getByTestId('od-save').click();

    // The name in the address is made from the title, without diacritics.
    await expect(page).toHaveURL(/\/dataset\/[a-z0-9_-]+$/);
    const name = new URL(page.url()).pathname.split('/').pop()!;
    expect(name).toContain('diem-do-chat-luong-khong-khi');
    await expect(page.locator('h1')).toContainText(title);
    await expect(page.locator('h1 .badge')).toHaveText('Bản nháp');
    await expect(page.locator('a.tag', { hasText: 'không khí' })).toBeVisible();
    await expect(page.locator('a.tag', { hasText: 'môi trường' })).toBeVisible();
    await expect(page.getByText('Bộ dữ liệu chưa có tệp hay liên kết nào.')).toBeVisible();

    // A visitor cannot see the draft.
    const guest = await visitor(browser);
    await gotoExpectStatus(guest, `/dataset/${name}`, 404);
    await guest.goto(`/dataset?q=${encodeURIComponent(id)}`);
    await expect(guest.getByTestId('od-results').locator(':scope > li')).toHaveCount(0);

    // Upload a small CSV: it lands on the resource page with the preview.
    const csv = [
      'ma_tram,ten_tram,pm25,ngay_do',
      'Q1-01,Bến Thành,35.5,2026-11-01',
      'Q3-02,Võ Thị Sáu,41.2,2026-11-01',
      'TD-03,Thủ Đức,28.0,2026-11-02',
    ].join('\n');
    await page.locator('#r-name').fill('Đo ngày');
    await page.getByTestId('od-upload').setInputFiles({
      name: 'do-khong-khi.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv + '\n', 'utf8'),
    });
    await page.getByTestId('od-add-resource').click();
    await expect(page).toHaveURL(new RegExp(`/dataset/${name}/resource/[^/]+$`));
    const resourceUrl = page.url();
    const preview = page.getByTestId('od-preview');
    await expect(preview.locator('thead th')).toHaveText(['ma_tram', 'ten_tram', 'pm25', 'ngay_do']);
    await expect(preview.locator('tbody tr')).toHaveCount(3);
    await expect(preview.locator('tbody tr').first()).toContainText('Bến Thành');

    // Change pm25 (inferred as a number) to text; the choice is saved.
    const pm25 = page.getByLabel('pm25', { exact: true });
    await expect(pm25).toHaveValue('numeric');
    await pm25.selectOption('text');
    await page.getByTestId('od-retype').click();
    await expect(page).toHaveURL(resourceUrl);
    await expect(page.getByRole('alert')).toHaveCount(0);
    await expect(page.getByLabel('pm25', { exact: true })).toHaveValue('text');
    await expect(page.getByLabel('ten_tram', { exact: true })).toHaveValue('text');
    await expect(page.getByTestId('od-preview').locator('tbody tr').first()).toContainText('35.5');

    // A CSV with a bad row: the page names the row and no resource is added.
    await page.goto(`/dataset/${name}`);
    await expect(page.getByTestId('od-resources').locator(':scope > li')).toHaveCount(1);
    const bad = ['ma_tram,ten_tram,pm25', 'Q1-01,Bến Thành,35.5', 'Q3-02,Võ Thị Sáu,41.2,thừa', 'TD-03,Thủ Đức,28.0'].join('\n');
    await page.getByTestId('od-upload').setInputFiles({
      name: 'loi.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(bad + '\n', 'utf8'),
    });
    const [rejected] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/dataset/${name}/resource/new`)),
      page.getByTestId('od-add-resource').click(),
    ]);
    expect(rejected.status(), 'a bad file is rejected with 422').toBe(422);
    const alert = page.getByRole('alert');
    await expect(alert).toBeVisible();
    await expect(alert, 'the error names the row (the header is row 1)').toContainText('Dòng 3');
    await page.goto(`/dataset/${name}`);
    await expect(page.getByTestId('od-resources').locator(':scope > li'), 'no resource was added').toHaveCount(1);

    // Publish it: edit the dataset, from draft to published.
    await page.getByTestId('od-edit').click();
    await expect(page).toHaveURL(new RegExp(`/dataset/${name}/edit$`));
    await expect(page.locator('#title_vi')).toHaveValue(title);
    await expect(page.locator('#tags')).toHaveValue(/không khí/);
    await page.locator('input[name="state"][value="active"]').check();
    await page.getByTestId('od-save').click();
    await expect(page).toHaveURL(new RegExp(`/dataset/${name}$`));
    await expect(page.locator('h1 .badge')).toHaveCount(0);

    // Now a visitor finds it, without diacritics, and opens it.
    await guest.goto(`/dataset?q=${encodeURIComponent(`chat luong khong khi ${id}`)}`);
    const found = guest.getByTestId('od-results').getByRole('link', { name: title });
    await expect(found).toBeVisible();
    await found.click();
    await expect(guest).toHaveURL(new RegExp(`/dataset/${name}$`));
    await expect(guest.locator('h1')).toHaveText(title);
    await guest.goto(`/dataset?tags=${encodeURIComponent('không khí')}`);
    await expect(guest.getByTestId('od-results').getByRole('link', { name: title })).toBeVisible();
    await guest.context().close();
  });

  test('a private dataset is hidden from visitors', async ({ page, browser }) => {
    const id = unique();
    const title = `Danh bạ nội bộ thử ${id}`;
    await login(page, PUBLISHER);
    await gotoExpectStatus(page, '/dataset/new', 200);
    await page.locator('#title_vi').fill(title);
    await page.locator('#name').fill(`noi-bo-${id}`);
    await page.locator('input[name="visibility"][value="private"]').check();
    await page.locator('input[name="state"][value="active"]').check();
    await page.getByTestId('od-save').click();
    await expect(page).toHaveURL(new RegExp(`/dataset/noi-bo-${id}$`));
    await expect(page.locator('h1 .badge')).toHaveText('Nội bộ');
    // The publisher finds it in the search, a visitor does not, nor by its address.
    await page.goto(`/dataset?q=${id}`);
    await expect(page.getByTestId('od-results').getByRole('link', { name: title })).toBeVisible();

    const guest = await visitor(browser);
    await gotoExpectStatus(guest, `/dataset/noi-bo-${id}`, 404);
    await guest.goto(`/dataset?q=${id}`);
    await expect(guest.getByTestId('od-results').locator(':scope > li')).toHaveCount(0);
    // The publisher's forms send a visitor to sign in.
    await guest.goto(`/dataset/noi-bo-${id}/edit`);
    await expect(guest).toHaveURL(/\/login\?next=/);
    await guest.context().close();
  });

  test('the new-dataset form explains mistakes', async ({ page }) => {
    await login(page, PUBLISHER);
    await gotoExpectStatus(page, '/dataset/new', 200);
    await page.locator('#title_vi').fill('Tên hợp lệ');
    await page.locator('#name').evaluate((el) => el.removeAttribute('pattern'));
    await page.locator('#name').fill('Không Hợp Lệ');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/dataset/new')),
      page.getByTestId('od-save').click(),
    ]);
    expect(resp.status()).toBe(422);
    await expect(page.getByRole('alert')).toBeVisible();
    await expect(page.locator('#name')).toHaveAttribute('aria-invalid', 'true');
    await expect(page.locator('#name-err')).toBeVisible();
    await expect(page.locator('#title_vi'), 'what was typed is kept').toHaveValue('Tên hợp lệ');
  });

  test('a resident cannot open the publisher forms', async ({ page }) => {
    await login(page, 'citizen1');
    await gotoExpectStatus(page, '/dataset', 200);
    await expect(page.getByTestId('od-new')).toHaveCount(0);
    await gotoExpectStatus(page, '/dataset/new', 403);
    await gotoExpectStatus(page, `/dataset/${BUS}/edit`, 403);
  });
});
