import type { OpenFrameWriter } from '../../src/storage/frame-writer.js';
import { openNativeWriter } from '../../src/storage/native-writer.js';

/** The native writer with bitshuffle-lz4, as a module a child process can import (fixtures.writeKilledRecording). */
export const openBitshuffleWriter: OpenFrameWriter = (path, start, options) =>
  openNativeWriter(path, start, { ...options, compression: { codec: 'bitshuffle-lz4', level: null } });
