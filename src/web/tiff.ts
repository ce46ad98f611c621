/**
 * Baseline TIFF (TIFF 6.0 part 1), written by hand: uncompressed,
 * little-endian, one strip per page, greyscale (BlackIsZero) or RGB
 * (chunky), 8 or 16 bits per sample, unsigned. A stack is a multi-page
 * file whose pages all have one size, so every offset is known in advance
 * and the pages can be streamed one at a time (ImageJ, Fiji, tifffile and
 * PIL read them as an image stack).
 *
 * Each page is laid out as [pixels][IFD][values that do not fit in an IFD
 * entry], so page i of a stack starts at HEADER_BYTES + i * pageBytes.
 */

export interface TiffFormat {
  readonly width: number;
  readonly height: number;
  /** 1 = greyscale, 3 = RGB. */
  readonly channels: 1 | 3;
  readonly bitsPerSample: 8 | 16;
}

const HEADER_BYTES = 8;
const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;

/** The tags written, in increasing order as TIFF requires. */
const TAG = {
  imageWidth: 256,
  imageLength: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  xResolution: 282,
  yResolution: 283,
  planarConfiguration: 284,
  resolutionUnit: 296,
  sampleFormat: 339,
} as const;
const TAG_COUNT = Object.keys(TAG).length;

const align2 = (n: number): number => n + (n & 1);

/** Writes the header and pages of a TIFF file of `pages` pages of one format. */
export class TiffWriter {
  readonly pixelBytes: number;
  readonly pageBytes: number;
  private readonly ifdBytes = 2 + 12 * TAG_COUNT + 4;
  /** Values stored after the IFD: BitsPerSample and SampleFormat (RGB: 3 shorts each), X and Y resolution. */
  private readonly extraBytes: number;

  constructor(
    readonly format: TiffFormat,
    readonly pages: number,
  ) {
    const { width, height, channels, bitsPerSample } = format;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
      throw new RangeError(`a TIFF page of ${width}×${height}?`);
    if (!Number.isInteger(pages) || pages < 1) throw new RangeError('a TIFF file has at least one page');
    this.pixelBytes = width * height * channels * (bitsPerSample / 8);
    this.extraBytes = (channels === 3 ? 12 : 0) + 16;
    this.pageBytes = align2(this.pixelBytes) + this.ifdBytes + this.extraBytes;
    if (HEADER_BYTES + pages * this.pageBytes > 0xffffffff) {
      throw new RangeError(`${pages} pages of ${width}×${height} exceed the 4 GiB a TIFF file can address`);
    }
  }

  /** The file's length in bytes. */
  get totalBytes(): number {
    return HEADER_BYTES + this.pages * this.pageBytes;
  }

  /** "II", 42, the offset of the first IFD. */
  header(): Buffer {
    const header = Buffer.alloc(HEADER_BYTES);
    header.write('II', 0, 'latin1');
    header.writeUInt16LE(42, 2);
    header.writeUInt32LE(this.ifdOffset(0), 4);
    return header;
  }

  /** Page `index`: its pixels (little-endian samples, row-major, interleaved) followed by its IFD. */
  page(index: number, pixels: Uint8Array): Buffer[] {
    if (pixels.byteLength !== this.pixelBytes) {
      throw new RangeError(`page ${index}: ${pixels.byteLength} bytes of pixels, ${this.pixelBytes} expected`);
    }
    const data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    const tail = Buffer.alloc(this.pageBytes - this.pixelBytes);
    const pageStart = HEADER_BYTES + index * this.pageBytes;
    const ifdStart = this.ifdOffset(index);
    const ifd = ifdStart - pageStart - this.pixelBytes; // where the IFD sits in `tail`
    const extra = ifd + this.ifdBytes;
    const { width, height, channels, bitsPerSample } = this.format;
    let extraAt = extra;
    /** A value that does not fit in 4 bytes goes after the IFD; its entry holds its file offset. */
    const outOfLine = (bytes: number): number => {
      const offset = ifdStart + this.ifdBytes + (extraAt - extra);
      extraAt += bytes;
      return offset;
    };
    let entry = ifd + 2;
    tail.writeUInt16LE(TAG_COUNT, ifd);
    const put = (tag: number, type: number, count: number, value: number): void => {
      tail.writeUInt16LE(tag, entry);
      tail.writeUInt16LE(type, entry + 2);
      tail.writeUInt32LE(count, entry + 4);
      if (type === SHORT && count === 1) tail.writeUInt16LE(value, entry + 8);
      else tail.writeUInt32LE(value, entry + 8);
      entry += 12;
    };
    const shorts = (tag: number, value: number): void => {
      if (channels === 1) return put(tag, SHORT, 1, value);
      const offset = outOfLine(6);
      const at = offset - ifdStart + ifd;
      for (let c = 0; c < 3; c++) tail.writeUInt16LE(value, at + 2 * c);
      put(tag, SHORT, 3, offset);
    };
    const rational = (tag: number, numerator: number, denominator: number): void => {
      const offset = outOfLine(8);
      const at = offset - ifdStart + ifd;
      tail.writeUInt32LE(numerator, at);
      tail.writeUInt32LE(denominator, at + 4);
      put(tag, RATIONAL, 1, offset);
    };
    put(TAG.imageWidth, LONG, 1, width);
    put(TAG.imageLength, LONG, 1, height);
    shorts(TAG.bitsPerSample, bitsPerSample);
    put(TAG.compression, SHORT, 1, 1);
    put(TAG.photometric, SHORT, 1, channels === 3 ? 2 : 1);
    put(TAG.stripOffsets, LONG, 1, pageStart);
    put(TAG.samplesPerPixel, SHORT, 1, channels);
    put(TAG.rowsPerStrip, LONG, 1, height);
    put(TAG.stripByteCounts, LONG, 1, this.pixelBytes);
    rational(TAG.xResolution, 1, 1);
    rational(TAG.yResolution, 1, 1);
    put(TAG.planarConfiguration, SHORT, 1, 1);
    put(TAG.resolutionUnit, SHORT, 1, 1);
    shorts(TAG.sampleFormat, 1);
    tail.writeUInt32LE(index + 1 < this.pages ? this.ifdOffset(index + 1) : 0, entry);
    return [data, tail];
  }

  private ifdOffset(index: number): number {
    return HEADER_BYTES + index * this.pageBytes + align2(this.pixelBytes);
  }
}

/** A whole one-page TIFF file. */
export function encodeTiff(format: TiffFormat, pixels: Uint8Array): Buffer {
  const writer = new TiffWriter(format, 1);
  return Buffer.concat([writer.header(), ...writer.page(0, pixels)]);
}
