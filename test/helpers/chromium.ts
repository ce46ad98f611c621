import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium; no browser download is possible in CI. */
export const CHROMIUM = process.env.LABCAST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless, and quiet on the network: without the background-networking
 * flags Chromium keeps trying hosts this closed machine cannot reach.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}

/**
 * A page of `browser` at `url`, once its Live button is there; every page
 * error and console error goes into `errors`, for the test to assert none.
 */
export async function openLabcastPage(browser: Browser, url: string, viewport: { width: number; height: number }, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url);
  await page.getByRole('button', { name: 'Live', exact: true }).waitFor();
  return page;
}
