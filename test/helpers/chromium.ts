import { chromium, type Browser } from 'playwright-core';

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
