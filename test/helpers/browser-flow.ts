import type { Page } from 'playwright-core';

/**
 * On the desktop's bind page: sends a code to `number`, reads it from the
 * simulator's SMS inbox on the phone, and submits it. The caller waits for
 * where the login goes next (the profile, an application).
 */
export async function bindOnDesk(desk: Page, phone: Page, url: string, number: string): Promise<void> {
  await desk.waitForURL('**/bind', { timeout: 10_000 });
  await desk.fill('#phone-send', number);
  await desk.click('#send-code');
  await desk.waitForSelector('#code');
  await phone.goto(`${url}/simulator`);
  await desk.fill('#code', (await phone.locator('.sms-code').first().textContent())!);
  await desk.click('#bind-submit');
}
