import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

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
export async function openLabcastPage(
  browser: Browser,
  url: string,
  viewport: { width: number; height: number },
  errors: string[],
): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url);
  await page.getByRole('button', { name: 'Live', exact: true }).waitFor();
  return page;
}

/** Inclusive bounds per channel (0-255); a channel left out takes any value. */
export type PixelRule = Partial<Record<'r' | 'g' | 'b' | 'a', readonly [number, number]>>;

/** How many pixels of the canvas `canvas` points at fall within `rule`, counted in the page. */
export function countCanvasPixels(canvas: Locator, rule: PixelRule): Promise<number> {
  return canvas.evaluate((element, bounds) => {
    // The tests are compiled without the DOM library; this is the part of HTMLCanvasElement used.
    const target = element as unknown as {
      width: number;
      height: number;
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
    };
    const data = target.getContext('2d').getImageData(0, 0, target.width, target.height).data;
    const channels = (['r', 'g', 'b', 'a'] as const).map((name, offset) => ({ offset, range: bounds[name] ?? [0, 255] }));
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (channels.every(({ offset, range }) => data[i + offset]! >= range[0] && data[i + offset]! <= range[1])) count++;
    }
    return count;
  }, rule);
}

export interface CanvasSample {
  readonly width: number;
  readonly height: number;
  readonly mean: number;
  /** A cheap digest of the pixels, to see that they change. */
  readonly digest: number;
}

/** The live view's pixels as the page shows them. */
export function readCanvas(page: Page): Promise<CanvasSample> {
  return page.getByRole('img', { name: 'Live view' }).evaluate((element) => {
    // The test is compiled without the DOM library; this is the part of HTMLCanvasElement used.
    const canvas = element as unknown as {
      width: number;
      height: number;
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
    };
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    let digest = 0;
    for (let i = 0; i < data.length; i += 4) {
      sum += data[i]!;
      digest = (digest * 31 + data[i]!) >>> 0;
    }
    return { width: canvas.width, height: canvas.height, mean: sum / (data.length / 4), digest };
  });
}
