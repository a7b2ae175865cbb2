import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/browser.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

// Swagger UI in a real browser (Debian's Chromium, driven by playwright-core): /swagger/index.html shows
// war-ticket's own document, not the Petstore demo that swagger-ui-dist ships as its index.html.
describe('Swagger UI in headless Chromium', function () {
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

  for (const path of ['/swagger/index.html', '/swagger/', '/swagger']) {
    it(`${path} renders the war-ticket API with its /reserve operation, not the Petstore`, async () => {
      const page = await browser.newPage();
      try {
        const response = await page.goto(`${stack.baseUrl}${path}`);
        expect(response?.status()).to.equal(200);
        await page.locator('.info .title').filter({ hasText: 'war-ticket' }).waitFor({ timeout: 30_000 });
        const reserve = page.locator('.opblock-summary-path[data-path="/reserve"]');
        await reserve.first().waitFor({ timeout: 30_000 });
        expect(await page.locator('.opblock-post .opblock-summary-path[data-path="/reserve"]').count()).to.equal(1);
        expect(await page.title()).to.equal('war-ticket API');
        const text = await page.locator('body').innerText();
        expect(text).to.include('Reserve seats (user)');
        expect(text).not.to.match(/petstore/i);
        expect(await page.locator('.opblock-summary-path[data-path="/pet"]').count()).to.equal(0);
      } finally {
        await page.close();
      }
    });
  }
});
