import { expect, test, type Browser, type Page, type Response } from '@playwright/test';
import { expectNoSeriousA11yViolations } from './a11y';
import { gotoExpectStatus, login, unique, type DemoUser } from './helpers';

// The whole online public service, end to end, in a real browser: a resident applies for a
// birth registration (1.001193) at Phường Sài Gòn (ward 26740), the ward's officer handles
// it (accept, request a supplement, approve, return), the resident verifies the signed
// result and reuses it from the wallet in a passport application (1.001456).
//
// Every user has a browser context of their own. The test creates new dossiers each run,
// so it passes again on a server where it already ran.

const BIRTH = '1.001193';
const PASSPORT = '1.001456';
const WARD = '26740';

// Contents are checked by the server, not the name or the declared type.
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9]);
const NOT_A_PDF = Buffer.from('Đây là một tệp văn bản, không phải PDF.\n');

// Days off on weekdays in 2026–2027 (`cityhall calendar holidays 2026`, Labour Code 2019
// art. 112, Culture Day 24/11 from 2026), substitute days included.
const HOLIDAYS = new Set([
  '2026-01-01', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-04-27',
  '2026-04-30', '2026-05-01', '2026-09-02', '2026-09-03', '2026-11-24',
  '2027-01-01', '2027-02-05', '2027-02-08', '2027-02-09', '2027-02-10', '2027-02-11', '2027-04-16',
  '2027-04-30', '2027-05-03', '2027-09-02', '2027-09-03', '2027-11-24',
]);
const HOLIDAY_YEARS = new Set([2026, 2027]);

/** Local date and time in Asia/Ho_Chi_Minh (UTC+7, no daylight saving time). */
function vnNow(at: Date = new Date()): { day: Date; minutes: number } {
  const local = new Date(at.getTime() + 7 * 3600_000);
  const day = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()));
  return { day, minutes: local.getUTCHours() * 60 + local.getUTCMinutes() };
}

const ymd = (d: Date) => d.toISOString().slice(0, 10);
const shown = (d: Date) => `17:00 ${ymd(d).split('-').reverse().join('/')}`;
const nextDay = (d: Date) => new Date(d.getTime() + 86_400_000);
const isWeekend = (d: Date) => d.getUTCDay() === 0 || d.getUTCDay() === 6;

function isWorkingDay(d: Date): boolean {
  return !isWeekend(d) && !HOLIDAYS.has(ymd(d));
}

/**
 * The "same day" deadline of a dossier received at `at`: 17:00 that day when received
 * before 15:00 on a working day, else 17:00 on the next working day. Null when the
 * holiday list above does not cover the dates involved.
 */
function sameDayDue(at: Date): string | null {
  const { day, minutes } = vnNow(at);
  let due = day;
  if (!(isWorkingDay(day) && minutes < 15 * 60)) {
    due = nextDay(due);
    while (!isWorkingDay(due)) due = nextDay(due);
  }
  if (!HOLIDAY_YEARS.has(day.getUTCFullYear()) || !HOLIDAY_YEARS.has(due.getUTCFullYear())) return null;
  return shown(due);
}

/** A signed-in page in a browser context of its own. */
async function signedIn(browser: Browser, user: DemoUser): Promise<Page> {
  const { baseURL, locale, timezoneId, viewport } = test.info().project.use;
  const context = await browser.newContext({ baseURL, locale, timezoneId, viewport });
  const page = await context.newPage();
  await login(page, user);
  return page;
}

/** Clicks `click` and returns the response to the form POST it sends. */
async function submitForm(page: Page, click: () => Promise<void>): Promise<Response> {
  const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest());
  await click();
  const response = await posted;
  await page.waitForLoadState();
  return response;
}

/** Submits the officer's action form `id` (with a reason when given) and expects the dossier page back. */
async function act(page: Page, code: string, id: string, reason?: string): Promise<void> {
  await gotoExpectStatus(page, `/dossiers/${code}`, 200);
  const form = page.getByTestId(`action-${id}`);
  await expect(form, `the officer may ${id} ${code}`).toBeVisible();
  if (reason !== undefined) await form.locator('textarea[name="reason"]').fill(reason);
  const response = await submitForm(page, () => form.locator('button[type="submit"], button:not([type])').first().click());
  expect(response.status(), `${id} on ${code} is accepted by the server`).toBeLessThan(400);
  await expect(page).toHaveURL(new RegExp(`/dossiers/${code}(?:[?#].*)?$`));
}

test.describe('online public service', () => {
  test('birth registration from search to a reused, signed result', async ({ browser }) => {
    test.setTimeout(180_000);
    const run = unique();
    const childName = `Nguyễn Văn Thử ${run}`;
    const phone = '0901234567';
    const resident = await signedIn(browser, 'citizen1');
    let code = '';

    await test.step('the resident finds the procedure without diacritics', async () => {
      await gotoExpectStatus(resident, '/procedures?q=dang%20ky%20khai%20sinh', 200);
      const link = resident.getByTestId('catalog-results').locator(`a[href="/procedures/${BIRTH}"]`);
      await expect(link).toBeVisible();
      await link.click();
      await expect(resident).toHaveURL(new RegExp(`/procedures/${BIRTH.replace('.', '\\.')}$`));
      await resident.getByTestId('apply').click();
      await expect(resident).toHaveURL(new RegExp(`/procedures/${BIRTH.replace('.', '\\.')}/apply$`));
      await expectNoSeriousA11yViolations(resident);
    });

    const fillBirthForm = async (proof: { name: string; mimeType: string; buffer: Buffer }) => {
      await resident.locator('[name="f_child_name"]').fill(childName);
      await resident.locator('[name="f_birth_date"]').fill('2026-10-01');
      await resident.locator('[name="f_sex"]').selectOption('nu');
      await resident.locator('[name="f_birth_place"]').fill('Bệnh viện Từ Dũ');
      await resident.locator('[name="f_copies"]').fill('2');
      await resident.locator('[name="f_ward"]').selectOption(WARD);
      await resident.locator('[name="f_phone"]').fill(phone);
      await resident.locator('[name="f_birth_proof"]').setInputFiles(proof);
    };

    await test.step('a text file renamed .pdf is refused beside its field, keeping the typed values', async () => {
      await fillBirthForm({ name: 'giay-chung-sinh.pdf', mimeType: 'application/pdf', buffer: NOT_A_PDF });
      const response = await submitForm(resident, () => resident.getByTestId('submit').click());
      expect(response.status(), 'a file that is not a PDF, JPEG or PNG').toBe(422);
      await expect(resident.getByTestId('form-errors')).toBeVisible();
      const field = resident.locator('.field:has([name="f_birth_proof"])');
      await expect(field.locator('.field-error')).toBeVisible();
      // Only the file is wrong: no other field has an error.
      await expect(resident.locator('.field-error')).toHaveCount(1);
      await expect(resident.locator('[name="f_child_name"]')).toHaveValue(childName);
      await expect(resident.locator('[name="f_birth_date"]')).toHaveValue('2026-10-01');
      await expect(resident.locator('[name="f_sex"]')).toHaveValue('nu');
      await expect(resident.locator('[name="f_birth_place"]')).toHaveValue('Bệnh viện Từ Dũ');
      await expect(resident.locator('[name="f_copies"]')).toHaveValue('2');
      await expect(resident.locator('[name="f_ward"]')).toHaveValue(WARD);
      await expect(resident.locator('[name="f_phone"]')).toHaveValue(phone);
      await expectNoSeriousA11yViolations(resident);
    });

    await test.step('the resident applies with a PDF and gets a tracking code', async () => {
      await fillBirthForm({ name: 'giay-chung-sinh.pdf', mimeType: 'application/pdf', buffer: PDF });
      const response = await submitForm(resident, () => resident.getByTestId('submit').click());
      expect(response.status()).toBeLessThan(400);
      await expect(resident).toHaveURL(/\/dossiers\/[^/?#]+\?submitted=1$/);
      code = (await resident.getByTestId('tracking-code').innerText()).trim();
      expect(code).toMatch(new RegExp(`^UBND-${WARD}-\\d{6}-\\d{4}$`));
      expect(resident.url()).toContain(`/dossiers/${code}?submitted=1`);
      await expect(resident.getByTestId('dossier-state')).toBeVisible();
      await expect(resident.getByTestId('timeline')).toBeVisible();
      await expect(resident.getByTestId('dossier-files')).toContainText('giay-chung-sinh.pdf');
      await expectNoSeriousA11yViolations(resident);
    });

    await test.step("another ward's officer cannot see the dossier", async () => {
      const other = await signedIn(browser, 'officer.phuongbenthanh');
      await gotoExpectStatus(other, `/dossiers/${code}`, 404);
      await expect(other.locator('body')).not.toContainText(childName);
      await gotoExpectStatus(other, '/desk', 200);
      await expect(other.locator('body')).not.toContainText(code);
      await gotoExpectStatus(other, `/dossiers/${code}/receipt`, 404);
      await other.context().close();
    });

    await test.step('another resident cannot see the dossier', async () => {
      const stranger = await signedIn(browser, 'citizen2');
      await gotoExpectStatus(stranger, `/dossiers/${code}`, 404);
      await expect(stranger.locator('body')).not.toContainText(childName);
      await stranger.context().close();
    });

    const officer = await signedIn(browser, 'officer.phuongsaigon');

    let acceptedFrom = new Date();
    let acceptedTo = new Date();
    await test.step("the ward's officer finds the dossier in the desk and accepts it", async () => {
      await gotoExpectStatus(officer, '/desk', 200);
      const rows = officer.getByTestId('desk-rows');
      await expect(rows).toContainText(code);
      await rows.locator(`a[href^="/dossiers/${code}"]`).first().click();
      await expect(officer).toHaveURL(new RegExp(`/dossiers/${code}(?:[?#].*)?$`));
      await expectNoSeriousA11yViolations(officer);
      acceptedFrom = new Date();
      await act(officer, code, 'accept');
      acceptedTo = new Date();
      await expect(officer.getByTestId('dossier-due')).toBeVisible();
    });

    await test.step('the resident opens the receipt; the appointment follows the same-day rule', async () => {
      await gotoExpectStatus(resident, `/dossiers/${code}/receipt`, 200);
      await expect(resident.getByTestId('receipt-code')).toHaveText(code);
      const due = (await resident.getByTestId('receipt-due').innerText()).trim();
      expect(due).toMatch(/^17:00 \d{2}\/\d{2}\/\d{4}$/);
      const expected = new Set([sameDayDue(acceptedFrom), sameDayDue(acceptedTo)]);
      if (!expected.has(null)) {
        expect([...expected], `receipt due date of a dossier accepted at ${acceptedFrom.toISOString()}`).toContain(due);
      } else {
        // Outside the holiday list: at least today (UTC+7), on a weekday.
        const [dd, mm, yyyy] = due.slice(6).split('/').map(Number);
        const dueDay = new Date(Date.UTC(yyyy, mm - 1, dd));
        expect(dueDay.getTime()).toBeGreaterThanOrEqual(vnNow(acceptedFrom).day.getTime());
        expect(isWeekend(dueDay), `${due} is a weekday`).toBe(false);
      }
      await expectNoSeriousA11yViolations(resident);
      // The dossier page shows the same appointment.
      await gotoExpectStatus(resident, `/dossiers/${code}`, 200);
      await expect(resident.getByTestId('dossier-due')).toHaveText(due);
    });

    const supplementReason = `Vui lòng bổ sung bản sao giấy chứng nhận kết hôn của cha mẹ (${run}).`;
    await test.step('the officer requests a supplement with a reason', async () => {
      await act(officer, code, 'request_supplement', supplementReason);
    });

    await test.step('the resident sees the reason and uploads a supplement', async () => {
      await gotoExpectStatus(resident, `/dossiers/${code}`, 200);
      await expect(resident.locator('main')).toContainText(supplementReason);
      await resident.locator('#supplement-files').setInputFiles({
        name: 'giay-chung-nhan-ket-hon.pdf',
        mimeType: 'application/pdf',
        buffer: PDF,
      });
      const response = await submitForm(resident, () => resident.getByTestId('send-supplement').click());
      expect(response.status()).toBeLessThan(400);
      await expect(resident.getByTestId('dossier-files')).toContainText('giay-chung-nhan-ket-hon.pdf');
      await expect(resident.getByTestId('send-supplement')).toHaveCount(0);
    });

    await test.step('the officer approves and returns the result', async () => {
      await gotoExpectStatus(officer, `/dossiers/${code}`, 200);
      await expect(officer.getByTestId('dossier-files')).toContainText('giay-chung-nhan-ket-hon.pdf');
      await act(officer, code, 'approve');
      await act(officer, code, 'return');
    });

    let resultCode = '';
    await test.step('the resident verifies the signed result', async () => {
      await gotoExpectStatus(resident, `/dossiers/${code}`, 200);
      const link = resident.getByTestId('result-link').first();
      await expect(link).toBeVisible();
      const href = (await link.getAttribute('href')) ?? '';
      expect(href).toMatch(/^\/verify\/KQ-[^/?#]+$/);
      resultCode = decodeURIComponent(href.slice('/verify/'.length));
      await expectNoSeriousA11yViolations(resident);
      await link.click();
      await expect(resident).toHaveURL(new RegExp(`/verify/${resultCode}$`));
      await expect(resident.getByTestId('verify-ok')).toBeVisible();
      await expectNoSeriousA11yViolations(resident);
      const json = await resident.request.get(`/verify/${resultCode}?format=json`);
      expect(json.status()).toBe(200);
      expect(await json.json()).toMatchObject({ valid: true });
    });

    await test.step('the result is in the wallet and is reused in a passport application', async () => {
      await gotoExpectStatus(resident, '/wallet', 200);
      const entry = resident.getByTestId('wallet').locator('li').filter({ hasText: resultCode });
      await expect(entry).toHaveCount(1);
      await expect(entry.locator(`a[href="/verify/${resultCode}"]`)).toBeVisible();
      const walletEntry = await entry.innerText();

      await gotoExpectStatus(resident, `/procedures/${PASSPORT}/apply`, 200);
      const wallet = resident.getByTestId('wallet-representative_proof');
      await expect(wallet).toBeVisible();
      // Options are labelled with the document's title and issue time, as in /wallet: pick
      // the one issued when our result was (a rerun in the same minute may offer several).
      const options = wallet.locator('option:not([value=""])');
      await expect(options.first()).toBeAttached();
      const issued = walletEntry.match(/\d{2}:\d{2} \d{2}\/\d{2}\/\d{4}/)?.[0];
      expect(issued, `issue time in the wallet entry ${walletEntry}`).toBeTruthy();
      const value = await options.filter({ hasText: issued! }).last().getAttribute('value');
      expect(value, `the wallet offers the birth certificate issued ${issued}`).toBeTruthy();
      await wallet.selectOption(value!);
      await resident.locator('[name="f_passport_type"]').selectOption('gan-chip');
      await resident.locator('[name="f_photo"]').setInputFiles({ name: 'anh-chan-dung.jpg', mimeType: 'image/jpeg', buffer: JPEG });
      const response = await submitForm(resident, () => resident.getByTestId('submit').click());
      expect(response.status(), 'the passport application is accepted').toBeLessThan(400);
      await expect(resident.getByTestId('form-errors')).toHaveCount(0);
      await expect(resident).toHaveURL(/\/dossiers\/CATP-[^/?#]+\?submitted=1$/);
      const second = (await resident.getByTestId('tracking-code').innerText()).trim();
      expect(second).not.toBe(code);
      // One line per component: the photo was uploaded, the representative proof reused.
      const files = resident.getByTestId('dossier-files');
      await expect(files).toContainText('anh-chan-dung.jpg');
      const reused = files.locator('li').filter({ hasText: 'dùng lại từ kho dữ liệu' });
      await expect(reused).toHaveCount(1);
      await expect(reused).toContainText('Giấy khai sinh');
      await expect(files.locator('li').filter({ hasText: 'anh-chan-dung.jpg' })).not.toContainText('dùng lại');
    });

    await officer.context().close();
    await resident.context().close();
  });
});
