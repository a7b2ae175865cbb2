import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/browser.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// The Bull Board in a real browser (Debian's Chromium, driven by playwright-core): an admin signs in
// with a token and sees an event's queue; without signing in, the board is refused.
describe('Bull Board in headless Chromium', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    stack = await startTestStack({ gateway: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack.close();
  });

  it('an admin signs in at /admin/login and sees the event queue; an anonymous visit is refused', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const anonymous = await browser.newPage();
    const refused = await anonymous.goto(`${stack.baseUrl}/admin/queues/`);
    expect(refused?.status()).to.equal(401);
    await anonymous.close();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.baseUrl}/admin/login`);
    await page.fill('textarea[name=token]', stack.token('admin', 'board-admin'));
    await Promise.all([page.waitForURL(/\/admin\/queues\//), page.click('button[type=submit]')]);
    await page.getByText(`reserve-${eventId}`).first().waitFor({ timeout: 30_000 });
    // The admin recognises the event by its name (the queue's description).
    await page.getByText(`reserve-${eventId}`).first().click();
    await page.getByText('Test concert').first().waitFor({ timeout: 30_000 });
    expect(await page.title()).to.be.a('string');
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'wt_admin_token')).to.include({ httpOnly: true, sameSite: 'Strict', path: '/admin' });

    // A user's token does not open the board.
    const userContext = await browser.newContext();
    const userPage = await userContext.newPage();
    await userPage.goto(`${stack.baseUrl}/admin/login`);
    await userPage.fill('textarea[name=token]', stack.token('user', 'nosy'));
    const [response] = await Promise.all([userPage.waitForResponse((r) => r.url().includes('/admin/queues')), userPage.click('button[type=submit]')]);
    expect(response.status()).to.equal(403);
    await Promise.all([context.close(), userContext.close()]);
  });
});
