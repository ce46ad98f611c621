import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LabcastError } from '../../protocol/errors.js';
import { v4l2CardName } from './ffmpeg-camera.js';
import type { V4l2CtlRunner } from './v4l2-controls.js';

/** One pixel format a V4L2 device offers, with its frame sizes and rates. */
export interface V4l2Format {
  /** Four-character code, e.g. YUYV or MJPG. */
  readonly fourcc: string;
  readonly description: string;
  readonly sizes: readonly { readonly width: number; readonly height: number; readonly fps: readonly number[] }[];
}

export interface V4l2Device {
  readonly device: string;
  readonly name: string | null;
  readonly formats: readonly V4l2Format[];
  /** Why the formats could not be listed (v4l2-ctl missing, device busy...), or null. */
  readonly problem: string | null;
}

/**
 * Parses `v4l2-ctl --list-formats-ext`:
 *   [0]: 'YUYV' (YUYV 4:2:2)
 *       Size: Discrete 640x480
 *           Interval: Discrete 0.033s (30.000 fps)
 */
export function parseV4l2Formats(text: string): V4l2Format[] {
  const formats: { fourcc: string; description: string; sizes: { width: number; height: number; fps: number[] }[] }[] = [];
  for (const line of text.split('\n')) {
    const format = /^\s*\[\d+\]:\s*'([^']*)'\s*\((.*)\)\s*$/.exec(line);
    if (format !== null) {
      formats.push({ fourcc: format[1] ?? '', description: format[2] ?? '', sizes: [] });
      continue;
    }
    const current = formats[formats.length - 1];
    if (current === undefined) continue;
    const size = /^\s*Size:\s*\w+\s+(\d+)x(\d+)/.exec(line);
    if (size !== null) {
      current.sizes.push({ width: Number(size[1]), height: Number(size[2]), fps: [] });
      continue;
    }
    const interval = /^\s*Interval:.*\(([\d.]+) fps\)/.exec(line);
    const lastSize = current.sizes[current.sizes.length - 1];
    if (interval !== null && lastSize !== undefined) lastSize.fps.push(Number(interval[1]));
  }
  return formats;
}

/** /dev/video0, /dev/video1, ... in numeric order. */
export function v4l2DeviceNodes(devDir = '/dev'): string[] {
  let names: string[];
  try {
    names = readdirSync(devDir);
  } catch {
    return [];
  }
  return names
    .filter((name) => /^video\d+$/.test(name))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .map((name) => join(devDir, name));
}

/** Every V4L2 device node with its name and formats; `ctlFor` runs v4l2-ctl on one device. */
export async function listV4l2Devices(ctlFor: (device: string) => V4l2CtlRunner, devDir = '/dev'): Promise<V4l2Device[]> {
  const devices: V4l2Device[] = [];
  for (const device of v4l2DeviceNodes(devDir)) {
    let formats: V4l2Format[] = [];
    let problem: string | null = null;
    try {
      formats = parseV4l2Formats(await ctlFor(device)(['--list-formats-ext']));
      if (formats.length === 0) problem = 'no video capture formats (a metadata or output node)';
    } catch (error) {
      problem = error instanceof LabcastError || error instanceof Error ? error.message : String(error);
    }
    devices.push({ device, name: v4l2CardName(device), formats, problem });
  }
  return devices;
}
