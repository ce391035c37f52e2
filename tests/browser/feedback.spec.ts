import { expect, test, type Browser, type Page } from '@playwright/test';
import { expectNoSeriousA11yViolations } from './a11y';
import { login, unique, type DemoUser } from './helpers';

// Citizen feedback (1022) in a real browser: a resident reports a damaged road with a photo
// and a point picked on the map (the ward is found from the point), is shown the open report
// already filed nearby, files anyway; the ward's officer assigns and resolves it with a
// public note; the resident rates it. The hotline operator files for a caller and finds the
// report by phone. The supervisor of the ward sees the demo's overdue report escalated.
//
// Each run files new reports, so the tests pass again on a server where they already ran.

// A 1×1 PNG with a text chunk carrying a position (stripped by the server).
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAAHHRFWHRDb21tZW50AEdQUyAxMC43NzY5LDEwNi43MDA5Zo3a0gAAAAxJREFUeJxj+M/AAAADAQEAyf6S7wAAAABJRU5ErkJggg==',
  'base64',
);

// Near the demo's open road-damage report on Lê Lợi street (Phường Sài Gòn).
const POINT = { lat: 10.7769, lon: 106.7009 };

async function signedIn(browser: Browser, user: DemoUser): Promise<Page> {
  const { baseURL, locale, timezoneId, viewport } = test.info().project.use;
  const context = await browser.newContext({ baseURL, locale, timezoneId, viewport });
  const page = await context.newPage();
  await login(page, user);
  return page;
}

/** Clicks the form map where `lat`/`lon` is drawn; returns the coordinates the page filled in. */
async function clickMap(page: Page, lat: number, lon: number): Promise<{ lat: number; lon: number }> {
  const svg = page.locator('[data-pick] svg');
  await svg.scrollIntoViewIfNeeded();
  const box = (await svg.boundingBox())!;
  const d = await svg.evaluate((el) => ({
    lat0: +el.getAttribute('data-lat0')!,
    lat1: +el.getAttribute('data-lat1')!,
    lon0: +el.getAttribute('data-lon0')!,
    lon1: +el.getAttribute('data-lon1')!,
  }));
  const x = ((lon - d.lon0) / (d.lon1 - d.lon0)) * box.width;
  const y = ((d.lat1 - lat) / (d.lat1 - d.lat0)) * box.height;
  await svg.click({ position: { x, y } });
  return {
    lat: Number(await page.locator('#lat').inputValue()),
    lon: Number(await page.locator('#lon').inputValue()),
  };
}

test.describe('feedback', () => {
  test('a resident reports with a photo and a map point, the ward resolves it, the resident rates it', async ({ browser }) => {
    const resident = await signedIn(browser, 'citizen1');
    await resident.goto('/feedback/new');
    await expectNoSeriousA11yViolations(resident);
    await resident.locator('#category').selectOption('road-damage');
    // The point picked on the map fills the coordinates.
    const picked = await clickMap(resident, POINT.lat, POINT.lon);
    expect(Math.abs(picked.lat - POINT.lat), 'latitude from the map').toBeLessThan(0.01);
    expect(Math.abs(picked.lon - POINT.lon), 'longitude from the map').toBeLessThan(0.01);
    // Type the exact point, as a resident may; the ward is left to be found from it.
    await resident.locator('#lat').fill(String(POINT.lat));
    await resident.locator('#lon').fill(String(POINT.lon));
    await resident.getByTestId('next').click();

    // Step two: the ward found from the point, and the open report already filed nearby.
    await expect(resident.locator('#ward-hint')).toContainText('Phường Sài Gòn');
    await expect(resident.locator('#ward option:checked')).toHaveText('Phường Sài Gòn');
    const nearby = resident.getByTestId('nearby');
    await expect(nearby).toBeVisible();
    await expect(nearby).toContainText('Ổ gà lớn trên đường Lê Lợi');
    await expectNoSeriousA11yViolations(resident);

    // A file that only claims to be a picture is refused beside the field; nothing is filed.
    const text = `Ổ gà sâu trước số ${unique()} Lê Lợi, xe máy dễ té`;
    await resident.locator('#description').fill(text);
    await resident.locator('#photos').setInputFiles({ name: 'anh.png', mimeType: 'image/png', buffer: Buffer.from('không phải ảnh') });
    await resident.getByTestId('submit-report').click();
    await expect(resident.locator('#photos-err')).toContainText('không phải là ảnh');
    await expect(resident.getByRole('alert')).toContainText('chọn lại ảnh');
    await expect(resident.locator('#description')).toHaveValue(text);

    await resident.locator('#description').fill(text);
    await resident.locator('#photos').setInputFiles({ name: 'o-ga.png', mimeType: 'image/png', buffer: PNG });
    await resident.getByTestId('submit-report').click();
    await expect(resident).toHaveURL(/\/feedback\/PA-\d{6}-\d{4}\?filed=1$/);
    const code = (await resident.getByTestId('report-code').textContent())!.trim();
    await expect(resident.getByTestId('report-status')).toHaveText('Đã tiếp nhận');
    await expect(resident.getByTestId('report-unit')).toContainText('Phường Sài Gòn');
    await expect(resident.locator('.photos img')).toHaveCount(1);
    await expectNoSeriousA11yViolations(resident);

    // The ward's officer finds it in the queue, assigns it and resolves it.
    const officer = await signedIn(browser, 'officer.phuongsaigon');
    await officer.goto('/desk/feedback?sort=newest');
    await expect(officer.getByTestId('fb-rows')).toContainText(code);
    await expectNoSeriousA11yViolations(officer);
    await officer.getByRole('link', { name: code }).click();
    await expect(officer.getByTestId('report-code')).toHaveText(code);
    await expectNoSeriousA11yViolations(officer);
    await officer.getByTestId('do-assign').click();
    await expect(officer.getByTestId('report-status')).toHaveText('Đang xử lý');
    await expect(officer.getByTestId('report-assigned')).toContainText('officer.phuongsaigon');
    await officer.locator('#resolve-note').fill('Đã vá ổ gà bằng bê tông nhựa (demo)');
    await officer.locator('#resolve-photos').setInputFiles({ name: 'sau.png', mimeType: 'image/png', buffer: PNG });
    await officer.getByTestId('do-resolve').click();
    await expect(officer.getByTestId('report-status')).toHaveText('Đã xử lý xong');

    // Another ward's officer cannot open it.
    const other = await signedIn(browser, 'officer.phuongbenthanh');
    const refused = await other.goto(`/desk/feedback/${code}`);
    expect(refused!.status()).toBe(403);

    // The resident sees the outcome and rates it.
    await resident.goto(`/feedback/${code}`);
    await expect(resident.getByTestId('report-outcome')).toContainText('Đã vá ổ gà');
    await expect(resident.getByTestId('history')).toContainText('Đã xử lý xong');
    await resident.getByLabel('5', { exact: true }).check();
    await resident.locator('#rate-note').fill('Xử lý nhanh, cảm ơn');
    await resident.getByTestId('rate').click();
    await expect(resident.getByTestId('report-rating')).toContainText('5/5');
    await expectNoSeriousA11yViolations(resident);

    // The public list shows it, without the resident's name.
    await resident.goto(`/feedback?category=road-damage&ward=26740`);
    await expect(resident.getByTestId('fb-rows')).toContainText(code);
    await expect(resident.locator('svg.map a').first()).toBeVisible();
    await expectNoSeriousA11yViolations(resident);
  });

  test('the hotline operator files for a caller and finds the report by phone', async ({ browser }) => {
    const op = await signedIn(browser, 'operator');
    await op.goto('/hotline');
    await expectNoSeriousA11yViolations(op);
    await op.locator('#category').selectOption('noise');
    await op.locator('#ward').selectOption('26743');
    await op.getByTestId('next').click();
    const phone = `09${String(Date.now()).slice(-8)}`;
    await op.locator('#description').fill('Quán karaoke hát lớn sau 22 giờ mỗi đêm');
    await op.locator('#name').fill('Người Gọi Thử');
    await op.locator('#phone').fill(phone);
    await op.getByTestId('submit-report').click();
    const filed = op.getByTestId('filed');
    await expect(filed).toBeVisible();
    const code = (await filed.locator('a').textContent())!.trim();
    expect(code).toMatch(/^PA-\d{6}-\d{4}$/);
    await expectNoSeriousA11yViolations(op);

    await op.locator('#lookup').fill(phone);
    await op.getByRole('button', { name: 'Tra cứu' }).click();
    await expect(op.getByTestId('lookup-rows')).toContainText(code);
    await op.getByRole('link', { name: code }).click();
    await expect(op.getByTestId('report-unit')).toContainText('Bến Thành');
    await expect(op.locator('body')).toContainText(phone);
    await expect(op.locator('body')).toContainText('Tổng đài 1022');
    await expectNoSeriousA11yViolations(op);

    // The ward's officer has it at once: an operator's report needs no confirmation.
    const officer = await signedIn(browser, 'officer.phuongbenthanh');
    await officer.goto('/desk/feedback');
    await expect(officer.getByTestId('fb-rows')).toContainText(code);
  });

  test("the ward's supervisor sees an overdue report escalated", async ({ browser }) => {
    const sup = await signedIn(browser, 'supervisor.phuongsaigon');
    await sup.goto('/desk/feedback?due=overdue');
    const row = sup.getByTestId('fb-rows').locator('tr', { hasText: 'Lấn chiếm vỉa hè' }).first();
    await expect(row).toBeVisible();
    await expect(row).toContainText('Đã báo cấp trên');
    await expectNoSeriousA11yViolations(sup);
    await row.getByRole('link').click();
    await expect(sup.getByTestId('escalation')).toBeVisible();
    await expect(sup.getByTestId('history')).toContainText('Quá hạn — báo cấp trên');
    await expectNoSeriousA11yViolations(sup);
  });

  test('pages refuse what a role may not open', async ({ browser }) => {
    const resident = await signedIn(browser, 'citizen2');
    for (const path of ['/desk/feedback', '/hotline', '/admin/feedback/routes']) {
      const r = await resident.goto(path);
      expect(r!.status(), path).toBe(403);
    }
    const admin = await signedIn(browser, 'admin');
    await admin.goto('/admin/feedback/routes');
    await expect(admin.getByRole('heading', { level: 1 })).toHaveText('Điều phối phản ánh');
    await expectNoSeriousA11yViolations(admin);
  });

  test('an anonymous report outside the city is refused with a clear message', async ({ page }) => {
    await page.goto('/feedback/new?category=flooding&lat=21.0285&lon=105.8542');
    await expect(page.locator('#location-err')).toContainText('ngoài Thành phố Hồ Chí Minh');
    await expectNoSeriousA11yViolations(page);
  });
});
