import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  frameShape,
  pixelFormatByCode,
  pixelFormatByName,
  labcastByteLength,
  SUPPORTED_PIXEL_FORMATS,
  wireByteLength,
  writeLabcastPixels,
  type PixelFormatInfo,
} from '../../src/devices/genicam/pixel-formats.js';

/** The image as labcast pixels in fresh memory, or null when writeLabcastPixels refuses it. */
function toLabcastPixels(info: PixelFormatInfo, data: Uint8Array, width: number, height: number): Uint8Array | null {
  const into = new Uint8Array(labcastByteLength(info, width, height));
  return writeLabcastPixels(info, data, width, height, into) ? into : null;
}

/** uint16 samples of labcast pixels (little-endian bytes). */
function samples(pixels: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < pixels.length; i += 2) out.push(pixels[i]! | (pixels[i + 1]! << 8));
  return out;
}

function format(name: string) {
  const found = pixelFormatByName(name);
  assert.ok(found, `${name} is in the table`);
  return found;
}

describe('GenICam pixel formats', () => {
  test('the table knows each format by PFNC code and by name, with dtype, channels and bit depth', () => {
    const expected: Array<[string, number, string, number, number]> = [
      ['Mono8', 0x01080001, 'uint8', 1, 8],
      ['Mono10', 0x01100003, 'uint16', 1, 10],
      ['Mono12', 0x01100005, 'uint16', 1, 12],
      ['Mono14', 0x01100025, 'uint16', 1, 14],
      ['Mono16', 0x01100007, 'uint16', 1, 16],
      ['Mono10p', 0x010a0046, 'uint16', 1, 10],
      ['Mono12p', 0x010c0047, 'uint16', 1, 12],
      ['Mono12Packed', 0x010c0006, 'uint16', 1, 12],
      ['RGB8', 0x02180014, 'uint8', 3, 8],
      ['BayerRG8', 0x01080009, 'uint8', 1, 8],
    ];
    for (const [name, code, dtype, channels, bitDepth] of expected) {
      const info = pixelFormatByCode(code);
      assert.equal(info?.name, name);
      assert.equal(info?.dtype, dtype, name);
      assert.equal(info?.channels, channels, name);
      assert.equal(info?.bitDepth, bitDepth, name);
    }
    assert.equal(pixelFormatByName('RGB8Packed')?.name, 'RGB8');
    assert.equal(pixelFormatByName('YUV422_8'), undefined);
    assert.ok(SUPPORTED_PIXEL_FORMATS.includes('Mono12p'));
  });

  test('Bayer formats stay raw uint8 [H, W] and carry their pattern', () => {
    for (const pattern of ['BG', 'GB', 'GR', 'RG']) {
      const info = format(`Bayer${pattern}8`);
      assert.equal(info.bayer, pattern);
      assert.deepEqual(frameShape(info, 4, 2), [2, 4]);
      const raw = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(toLabcastPixels(info, raw, 4, 2), raw, 'the raw bytes, as they are');
    }
  });

  test('Mono8 and RGB8 pass through with shapes [H, W] and [H, W, 3]', () => {
    const mono = Uint8Array.from([0, 1, 2, 3, 4, 5]);
    assert.deepEqual([...toLabcastPixels(format('Mono8'), mono, 3, 2)!], [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(frameShape(format('Mono8'), 3, 2), [2, 3]);
    const rgb = Uint8Array.from([10, 20, 30, 11, 21, 31]);
    assert.deepEqual([...toLabcastPixels(format('RGB8'), rgb, 2, 1)!], [10, 20, 30, 11, 21, 31]);
    assert.deepEqual(frameShape(format('RGB8'), 2, 1), [1, 2, 3]);
  });

  test('Mono12 (unpacked, 16-bit little-endian words) passes through as uint16', () => {
    const words = Uint8Array.from([0xff, 0x0f, 0x34, 0x02]);
    assert.deepEqual(samples(toLabcastPixels(format('Mono12'), words, 2, 1)!), [0x0fff, 0x0234]);
  });

  test('Mono12p unpacks two samples per 3 bytes, least significant bits first', () => {
    // Samples 0xABC and 0x123: byte0 = low 8 bits of 0xABC (0xBC); byte1 = high 4 bits of 0xABC (0xA)
    // in its low nibble and the low 4 bits of 0x123 (0x3) in its high nibble; byte2 = high 8 bits of 0x123 (0x12).
    // Then 0xFFF and 0x001: 0xFF, 0x1F, 0x00.
    const packed = Uint8Array.from([0xbc, 0x3a, 0x12, 0xff, 0x1f, 0x00]);
    assert.deepEqual(samples(toLabcastPixels(format('Mono12p'), packed, 2, 2)!), [0xabc, 0x123, 0xfff, 0x001]);
  });

  test('Mono10p unpacks four samples per 5 bytes, least significant bits first', () => {
    // Samples a=0x3FF, b=0x001, c=0x155, d=0x2AA as one bit stream, LSB first:
    // bits 0-9 a, 10-19 b, 20-29 c, 30-39 d.
    // byte0 = a[7:0] = 0xFF
    // byte1 = a[9:8] | b[5:0] << 2 = 0x03 | 0x01 << 2 = 0x07
    // byte2 = b[9:6] | c[3:0] << 4 = 0x0 | 0x5 << 4 = 0x50
    // byte3 = c[9:4] | d[1:0] << 6 = 0x15 | 0x2 << 6 = 0x95
    // byte4 = d[9:2] = 0xAA
    const packed = Uint8Array.from([0xff, 0x07, 0x50, 0x95, 0xaa]);
    assert.equal(wireByteLength(format('Mono10p'), 4, 1), 5);
    assert.deepEqual(samples(toLabcastPixels(format('Mono10p'), packed, 4, 1)!), [0x3ff, 0x001, 0x155, 0x2aa]);
  });

  test('Mono12Packed (GigE Vision 1.x) takes the high bits from bytes 0 and 2, the low nibbles from byte 1', () => {
    // Samples 0xABC and 0x123: byte0 = 0xAB, byte1 = 0x3C (0x123's low nibble high, 0xABC's low), byte2 = 0x12.
    const packed = Uint8Array.from([0xab, 0x3c, 0x12, 0x80, 0x0f, 0x00]);
    assert.deepEqual(samples(toLabcastPixels(format('Mono12Packed'), packed, 2, 2)!), [0xabc, 0x123, 0x80f, 0x000]);
  });

  test('an odd number of Mono12Packed samples leaves the last half-triple unused', () => {
    const packed = Uint8Array.from([0xab, 0x0c, 0x00]);
    assert.deepEqual(samples(toLabcastPixels(format('Mono12Packed'), packed, 1, 1)!), [0xabc]);
  });

  test('a buffer shorter than the image is refused (null), never read past its end', () => {
    assert.equal(toLabcastPixels(format('Mono12p'), Uint8Array.from([1, 2]), 2, 1), null);
    assert.equal(toLabcastPixels(format('Mono8'), Uint8Array.from([1, 2, 3]), 2, 2), null);
  });

  test('pixels are written into the memory given (a ring slot inside a larger mapping), and nowhere else', () => {
    // Slot 1 of a 3-slot "ring" of 8-byte slots: the unpack writes its 8 bytes, its neighbours keep their 0xee.
    const ring = new Uint8Array(24).fill(0xee);
    const slot = ring.subarray(8, 16);
    assert.ok(writeLabcastPixels(format('Mono12p'), Uint8Array.from([0xbc, 0x3a, 0x12, 0xff, 0x1f, 0x00]), 2, 2, slot));
    assert.deepEqual(samples(slot), [0xabc, 0x123, 0xfff, 0x001]);
    assert.ok(
      writeLabcastPixels(format('Mono8'), Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 4, 2, slot),
      'padding after the image ignored',
    );
    assert.deepEqual([...slot], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual([...ring.subarray(0, 8), ...ring.subarray(16)], Array(16).fill(0xee));
    // Memory of another size than the frame's is refused, not half written.
    assert.equal(writeLabcastPixels(format('Mono16'), new Uint8Array(8), 2, 2, ring.subarray(0, 6)), false);
    assert.equal(labcastByteLength(format('RGB8'), 2, 2), 12);
    assert.equal(labcastByteLength(format('Mono10Packed'), 2, 2), 8);
  });
});
