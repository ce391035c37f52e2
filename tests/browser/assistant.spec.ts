import { expect, test, type Page } from '@playwright/test';
import { DEMO_PASSWORD, login } from './helpers';

// The virtual assistant in a real browser, through the panel on every page: a resident asks
// without diacritics and gets the procedure with its documents and a working "apply online"
// link, asks a follow-up about the fee, asks about a dossier by its code, and starts a
// report from the assistant. Without JavaScript the same panel opens /assistant.

async function ask(page: Page, question: string) {
  const panel = page.locator('#assistant-panel');
  if (!(await panel.evaluate((d) => (d as HTMLDetailsElement).open))) {
    await panel.locator('summary').click();
  }
  const before = await page.locator('#assistant-log [data-testid="assistant-answer"]').count();
  await page.locator('#assistant-panel-q').fill(question);
  await page.locator('#assistant-panel-form button[type="submit"]').click();
  const answer = page.locator('#assistant-log [data-testid="assistant-answer"]').nth(before);
  await expect(answer).toBeVisible();
  return answer;
}

test('a resident asks, follows up, tracks a dossier and reports a problem', async ({ page }) => {
  await login(page, 'citizen1');
  await page.goto('/');

  const first = await ask(page, 'con toi moi sinh can lam giay gi');
  await expect(first).toHaveAttribute('data-intent', 'procedure');
  await expect(first).toContainText('Đăng ký khai sinh');
  await expect(first.locator('li', { hasText: 'Giấy chứng sinh' })).toBeVisible();
  await expect(first.locator('.sources a')).toHaveAttribute('href', '/procedures/1.001193');

  const fee = await ask(page, 'lệ phí bao nhiêu?');
  await expect(fee).toHaveAttribute('data-intent', 'follow_up');
  await expect(fee).toContainText('Lệ phí');
  await expect(fee).toContainText('Miễn');

  await first.getByRole('link', { name: 'Nộp hồ sơ trực tuyến' }).click();
  await expect(page).toHaveURL(/\/procedures\/1\.001193\/apply$/);
  await expect(page.locator('form[enctype="multipart/form-data"]').first()).toBeVisible();

  // A dossier filed through the API, then asked about by its code.
  const tok = await page.request.post('/api/v1/auth/token', {
    data: { username: 'citizen1', password: DEMO_PASSWORD },
  });
  expect(tok.status()).toBe(201);
  const token = (await tok.json()).token as string;
  const filed = await page.request.post('/api/v1/dossiers', {
    headers: { Authorization: `Bearer ${token}` },
    data: {
      procedure: '1.001193',
      form: { child_name: 'Trần Thị Thử', birth_date: '2026-11-01', sex: 'nu', ward: '26740' },
      delivery: 'online',
      attachments: [
        {
          field: 'birth_proof',
          filename: 'chung-sinh.pdf',
          content_base64: Buffer.from('%PDF-1.4\n1 0 obj\n<<>>\nendobj\n').toString('base64'),
        },
      ],
    },
  });
  expect(filed.status(), await filed.text()).toBe(201);
  const code = (await filed.json()).code as string;
  await page.goto('/');
  const status = await ask(page, `hồ sơ ${code} đến đâu rồi?`);
  await expect(status).toHaveAttribute('data-intent', 'dossier_status');
  await expect(status).toContainText(code);
  await status.locator('.assistant-cards a').first().click();
  await expect(page).toHaveURL(new RegExp(`/dossiers/${code}$`));

  // Reporting a problem from the assistant opens the report form with the category chosen.
  const report = await ask(page, 'đèn đường hỏng trước nhà');
  await expect(report).toHaveAttribute('data-intent', 'report_problem');
  await report.getByRole('link', { name: 'Bắt đầu phản ánh' }).click();
  await expect(page).toHaveURL(/\/feedback\/new\?category=street-light/);
  await expect(page.locator('select[name="category"]')).toHaveValue('street-light');
});

test('without JavaScript the panel opens the assistant page', async ({ browser }) => {
  const { baseURL } = test.info().project.use;
  const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/procedures');
  await page.locator('#assistant-panel summary').click();
  await page.locator('#assistant-panel-q').fill('lam giay khai sinh cho con');
  await page.locator('#assistant-panel-form button[type="submit"]').click();
  await expect(page).toHaveURL(/\/assistant\?q=/);
  const answer = page.locator('main [data-testid="assistant-answer"]');
  await expect(answer).toHaveAttribute('data-intent', 'procedure');
  await expect(answer.getByRole('link', { name: 'Nộp hồ sơ trực tuyến' })).toHaveAttribute(
    'href',
    '/procedures/1.001193/apply',
  );
  await context.close();
});
