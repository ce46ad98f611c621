import type { PixelDtype } from '../../protocol/dtype.js';

/**
 * The GenICam pixel formats labcast records, by PFNC code (the number a
 * stream buffer carries) and by name (the PixelFormat feature's entry), and
 * how each becomes labcast pixels: 8-bit formats stay uint8, deeper mono
 * formats become uint16 with their bit depth recorded, packed formats are
 * unpacked to uint16, Bayer formats stay raw uint8 with the pattern recorded.
 */

export type BayerPattern = 'BG' | 'GB' | 'GR' | 'RG';

/** How the bytes of one image are laid out on the wire. */
export type Packing =
  /** One sample per byte (8-bit) or per little-endian 16-bit word. */
  | 'none'
  /** PFNC "p" formats (Mono10p, Mono12p): samples back to back, least significant bit first. */
  | 'lsb'
  /** GigE Vision 1.x Mono12Packed: two 12-bit samples in 3 bytes, high bits in bytes 0 and 2. */
  | 'gev12'
  /** GigE Vision 1.x Mono10Packed: as Mono12Packed with 10-bit samples. */
  | 'gev10';

export interface PixelFormatInfo {
  readonly name: string;
  readonly code: number;
  readonly dtype: PixelDtype;
  /** 1 (mono, raw Bayer) or 3 (RGB). */
  readonly channels: 1 | 3;
  /** Significant bits per sample: the range a viewer should span. */
  readonly bitDepth: number;
  /** Bits each sample (one channel of a pixel) occupies on the wire. */
  readonly wireBits: number;
  readonly packing: Packing;
  readonly bayer?: BayerPattern;
}

const FORMATS: readonly PixelFormatInfo[] = [
  { name: 'Mono8', code: 0x01080001, dtype: 'uint8', channels: 1, bitDepth: 8, wireBits: 8, packing: 'none' },
  { name: 'Mono10', code: 0x01100003, dtype: 'uint16', channels: 1, bitDepth: 10, wireBits: 16, packing: 'none' },
  { name: 'Mono12', code: 0x01100005, dtype: 'uint16', channels: 1, bitDepth: 12, wireBits: 16, packing: 'none' },
  { name: 'Mono14', code: 0x01100025, dtype: 'uint16', channels: 1, bitDepth: 14, wireBits: 16, packing: 'none' },
  { name: 'Mono16', code: 0x01100007, dtype: 'uint16', channels: 1, bitDepth: 16, wireBits: 16, packing: 'none' },
  { name: 'Mono10p', code: 0x010a0046, dtype: 'uint16', channels: 1, bitDepth: 10, wireBits: 10, packing: 'lsb' },
  { name: 'Mono12p', code: 0x010c0047, dtype: 'uint16', channels: 1, bitDepth: 12, wireBits: 12, packing: 'lsb' },
  { name: 'Mono10Packed', code: 0x010c0004, dtype: 'uint16', channels: 1, bitDepth: 10, wireBits: 12, packing: 'gev10' },
  { name: 'Mono12Packed', code: 0x010c0006, dtype: 'uint16', channels: 1, bitDepth: 12, wireBits: 12, packing: 'gev12' },
  { name: 'RGB8', code: 0x02180014, dtype: 'uint8', channels: 3, bitDepth: 8, wireBits: 8, packing: 'none' },
  { name: 'BayerGR8', code: 0x01080008, dtype: 'uint8', channels: 1, bitDepth: 8, wireBits: 8, packing: 'none', bayer: 'GR' },
  { name: 'BayerRG8', code: 0x01080009, dtype: 'uint8', channels: 1, bitDepth: 8, wireBits: 8, packing: 'none', bayer: 'RG' },
  { name: 'BayerGB8', code: 0x0108000a, dtype: 'uint8', channels: 1, bitDepth: 8, wireBits: 8, packing: 'none', bayer: 'GB' },
  { name: 'BayerBG8', code: 0x0108000b, dtype: 'uint8', channels: 1, bitDepth: 8, wireBits: 8, packing: 'none', bayer: 'BG' },
];

const BY_CODE = new Map(FORMATS.map((format) => [format.code, format]));
const BY_NAME = new Map(FORMATS.map((format) => [format.name, format]));
/** Names some cameras (and GenICam SFNC before PFNC) use for the same formats. */
const ALIASES: Readonly<Record<string, string>> = { RGB8Packed: 'RGB8' };

export const SUPPORTED_PIXEL_FORMATS: readonly string[] = FORMATS.map((format) => format.name);

export function pixelFormatByCode(code: number): PixelFormatInfo | undefined {
  return BY_CODE.get(code >>> 0);
}

export function pixelFormatByName(name: string): PixelFormatInfo | undefined {
  return BY_NAME.get(ALIASES[name] ?? name);
}

export function describePixelFormatCode(code: number): string {
  return pixelFormatByCode(code)?.name ?? `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/** [H, W] or [H, W, 3]. */
export function frameShape(format: PixelFormatInfo, width: number, height: number): number[] {
  return format.channels === 3 ? [height, width, 3] : [height, width];
}

/** Bytes of one image on the wire (packed formats are not padded per line). */
export function wireByteLength(format: PixelFormatInfo, width: number, height: number): number {
  return Math.ceil((width * height * format.channels * format.wireBits) / 8);
}

/** Bytes of one image as labcast pixels (uint16 samples for the deeper and packed formats). */
export function labcastByteLength(format: PixelFormatInfo, width: number, height: number): number {
  return width * height * format.channels * (format.dtype === 'uint16' ? 2 : 1);
}

/**
 * Writes the image as labcast pixels into `into` (labcastByteLength bytes,
 * 2-byte aligned for uint16): copied as it is for unpacked formats, unpacked
 * for packed ones, in one pass either way. False (nothing written) when
 * `data` is shorter than the image needs or `into` is not the right size.
 */
export function writeLabcastPixels(format: PixelFormatInfo, data: Uint8Array, width: number, height: number, into: Uint8Array): boolean {
  const needed = wireByteLength(format, width, height);
  if (data.byteLength < needed || into.byteLength !== labcastByteLength(format, width, height)) return false;
  const count = width * height;
  switch (format.packing) {
    case 'none':
      into.set(data.byteLength === needed ? data : data.subarray(0, needed));
      break;
    case 'lsb':
      unpackLsbFirst(data.subarray(0, needed), count, format.wireBits, asSamples(into));
      break;
    case 'gev12':
      unpackGev(data.subarray(0, needed), count, 4, 0x0f, asSamples(into));
      break;
    case 'gev10':
      unpackGev(data.subarray(0, needed), count, 2, 0x03, asSamples(into));
      break;
  }
  return true;
}

/** Samples of `bits` bits packed back to back, least significant bit first (PFNC Mono10p, Mono12p), into `out` (a new array if not given). */
export function unpackLsbFirst(data: Uint8Array, count: number, bits: number, out: Uint16Array = new Uint16Array(count)): Uint16Array {
  const mask = (1 << bits) - 1;
  const last = data.length;
  for (let i = 0; i < count; i++) {
    const bit = i * bits;
    const byte = bit >>> 3;
    const word = data[byte]! | ((byte + 1 < last ? data[byte + 1]! : 0) << 8) | ((byte + 2 < last ? data[byte + 2]! : 0) << 16);
    out[i] = (word >>> (bit & 7)) & mask;
  }
  return out;
}

/**
 * GigE Vision 1.x packing: pairs of samples in 3 bytes; byte 0 holds the high
 * bits of the first sample, byte 2 those of the second, and byte 1 the low
 * bits of both (first in its low nibble, second in its high nibble).
 * `lowBits` is 4 for Mono12Packed, 2 for Mono10Packed (`lowMask` 0x0f / 0x03).
 */
export function unpackGev(
  data: Uint8Array,
  count: number,
  lowBits: number,
  lowMask: number,
  out: Uint16Array = new Uint16Array(count),
): Uint16Array {
  for (let i = 0, byte = 0; i < count; i += 2, byte += 3) {
    const low = data[byte + 1] ?? 0;
    out[i] = (data[byte]! << lowBits) | (low & lowMask);
    if (i + 1 < count) out[i + 1] = ((data[byte + 2] ?? 0) << lowBits) | ((low >>> 4) & lowMask);
  }
  return out;
}

/** The uint16 samples over `bytes` (little-endian on every platform Node runs labcast on). */
function asSamples(bytes: Uint8Array): Uint16Array {
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}
