import { realpath } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { inspectRecording } from '../hdf5/file-inspector.js';
import { LabcastError } from '../protocol/errors.js';
import { frameStats, renderDisplayFrame, sampleFormatOf, type DisplayFrame, type DisplayOptions, type FrameStats } from './frame-render.js';
import { encodeLiveMessage, MAX_DISPLAY_SIDE } from './live-view.js';
import { lineProfile, regionStats } from './raw-inspect.js';
import type { FrameInfo, RecordingFile } from '../hdf5/recording-file.js';
import { RecordingFiles } from './recording-files.js';
import { recordingPath } from './recording-path.js';
import { TiffWriter, type TiffFormat } from './tiff.js';

/**
 * The recording viewer's HTTP routes: one recording's details, and frame k
 * for the screen (rendered as the live view renders), in raw units (a
 * region), as TIFF, and a range of frames as a TIFF stack. `NAME` is the
 * recording's name in the recordings list, URL-encoded as one path segment
 * (encodeURIComponent: "2026-11-23%2Frun_0001.h5"). Routes are listed in
 * docs/protocol.md ("Recordings over HTTP").
 */

export interface RecordingRoutesOptions {
  readonly dataDir: string;
  /** The file being written now, if any (its summary says so). */
  readonly activeFile: () => string | null;
  readonly sendResult: (reply: FastifyReply, result: unknown) => FastifyReply;
  readonly sendError: (reply: FastifyReply, error: unknown) => FastifyReply;
}

/** Pages of a TIFF stack asked for at once, at most. */
export const MAX_STACK_FRAMES = 100_000;

interface FrameParams {
  readonly name: string;
  readonly k: string;
}

type Query = Record<string, string | undefined>;

export function registerRecordingRoutes(app: FastifyInstance, options: RecordingRoutesOptions): RecordingFiles {
  const files = new RecordingFiles(options.dataDir);
  const { sendResult, sendError } = options;
  app.addHook('onClose', async () => files.close());

  app.get<{ Params: { name: string } }>('/api/recordings/:name', async (request, reply) => {
    try {
      const name = request.params.name;
      const path = await recordingPath(options.dataDir, name);
      // One open at a time: the inspector opens the file afresh (see RecordingFiles).
      files.forget(path);
      const summary = await inspectRecording(path);
      const facts = await files.use(name, (file) => viewerFacts(file));
      return sendResult(reply, { name, path, being_recorded: await isActive(path, options.activeFile()), ...facts, summary });
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get<{ Params: FrameParams; Querystring: Query }>('/api/recordings/:name/frames/:k', async (request, reply) => {
    try {
      const index = frameIndex(request.params.k);
      const display = displayOptions(request.query);
      const message = await files.use(request.params.name, (file) => {
        const raw = file.frame(index);
        const format = sampleFormatOf(file.settings());
        // The overlay rides along: one request per step.
        return encodeRecordedFrame(
          request.params.name,
          file,
          file.info(index),
          renderDisplayFrame(raw, display, format),
          frameStats(raw, format),
        );
      });
      return reply.type('application/octet-stream').header('cache-control', 'no-store').send(message);
    } catch (error) {
      return sendError(reply, error);
    }
  });

  // The image view's line profile and rectangle statistics, computed on the server as for the live view (web/raw-inspect.ts).
  app.get<{ Params: FrameParams; Querystring: Query }>('/api/recordings/:name/frames/:k/line', async (request, reply) => {
    try {
      const index = frameIndex(request.params.k);
      const q = request.query;
      const [x0, y0, x1, y1] = [required(q, 'x0'), required(q, 'y0'), required(q, 'x1'), required(q, 'y1')];
      return sendResult(reply, await files.use(request.params.name, (file) => lineProfile(file.frame(index), x0, y0, x1, y1)));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get<{ Params: FrameParams; Querystring: Query }>('/api/recordings/:name/frames/:k/stats', async (request, reply) => {
    try {
      const index = frameIndex(request.params.k);
      const q = request.query;
      const region = { x: required(q, 'x'), y: required(q, 'y'), width: required(q, 'w'), height: required(q, 'h') };
      return sendResult(reply, await files.use(request.params.name, (file) => regionStats(file.frame(index), region)));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get<{ Params: FrameParams; Querystring: Query }>('/api/recordings/:name/frames/:k/raw', async (request, reply) => {
    try {
      const index = frameIndex(request.params.k);
      const message = await files.use(request.params.name, (file) => {
        const [height = 0, width = 0] = file.frameShape;
        const x = integer(request.query, 'x', 0);
        const y = integer(request.query, 'y', 0);
        const region = file.region(index, x, y, integer(request.query, 'w', width - x), integer(request.query, 'h', height - y));
        const header = Buffer.from(
          JSON.stringify({
            index,
            frame_id: file.info(index).frameId,
            x: region.x,
            y: region.y,
            shape: region.shape,
            dtype: region.dtype,
          }),
        );
        const length = Buffer.alloc(4);
        length.writeUInt32LE(header.length, 0);
        return Buffer.concat([length, header, region.pixels]);
      });
      return reply.type('application/octet-stream').header('cache-control', 'no-store').send(message);
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get<{ Params: FrameParams }>('/api/recordings/:name/frames/:k/overlay', async (request, reply) => {
    try {
      const index = frameIndex(request.params.k);
      return sendResult(reply, await files.use(request.params.name, (file) => file.overlay(index)));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get<{ Params: FrameParams }>('/api/recordings/:name/frames/:k/tiff', async (request, reply) => {
    try {
      const index = frameIndex(request.params.k);
      const { name } = request.params;
      const tiff = await files.use(name, (file) => {
        const writer = new TiffWriter(tiffFormat(file), 1);
        return Buffer.concat([writer.header(), ...writer.page(0, file.frame(index).pixels)]);
      });
      return reply
        .type('image/tiff')
        .header('content-disposition', attachment(`${baseName(name)}_frame${index}.tif`))
        .send(tiff);
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get<{ Params: { name: string }; Querystring: Query }>('/api/recordings/:name/stack.tiff', async (request, reply) => {
    let file: RecordingFile | null = null;
    try {
      const { name } = request.params;
      file = await files.acquire(name);
      const last = file.frameCount - 1;
      const from = integer(request.query, 'from', 0);
      const to = integer(request.query, 'to', last);
      if (from < 0 || to > last || from > to) {
        throw new LabcastError('BAD_ARGUMENT', `frames ${from} to ${to}: the file holds frames 0 to ${last}`, 'from');
      }
      if (to - from + 1 > MAX_STACK_FRAMES) throw new LabcastError('BAD_ARGUMENT', `at most ${MAX_STACK_FRAMES} frames in one stack`, 'to');
      const writer = new TiffWriter(tiffFormat(file), to - from + 1);
      const stream = Readable.from(stackPages(files, file, writer, from));
      file = null; // released by the stream
      return reply
        .type('image/tiff')
        .header('content-length', String(writer.totalBytes))
        .header('content-disposition', attachment(`${baseName(name)}_frames${from}-${to}.tif`))
        .send(stream);
    } catch (error) {
      if (file !== null) files.release(file);
      return sendError(reply, error);
    }
  });

  return files;
}

/** One page at a time, read as it is sent: a stack of any length is never whole in memory. */
async function* stackPages(files: RecordingFiles, file: RecordingFile, writer: TiffWriter, from: number): AsyncGenerator<Buffer> {
  try {
    yield writer.header();
    for (let page = 0; page < writer.pages; page++) {
      for (const part of writer.page(page, file.frame(from + page).pixels)) yield part;
    }
  } finally {
    files.release(file);
  }
}

/** Whether `path` (a real path) is the file being recorded now. */
async function isActive(path: string, active: string | null): Promise<boolean> {
  if (active === null) return false;
  try {
    return (await realpath(active)) === path;
  } catch {
    return false;
  }
}

/** What the viewer needs beyond the inspector's summary: the frames it can show and where the gaps fall among them. */
function viewerFacts(file: RecordingFile): Record<string, unknown> {
  const ids = file.frameIds();
  const gaps: { first_id: number; count: number; index: number }[] = [];
  for (let index = 1; index < ids.length; index++) {
    const step = Number(ids[index]! - ids[index - 1]!);
    if (step > 1) gaps.push({ first_id: Number(ids[index - 1]!) + 1, count: step - 1, index });
  }
  return {
    frames: file.frameCount,
    first_frame_id: ids.length > 0 ? Number(ids[0]) : null,
    last_frame_id: ids.length > 0 ? Number(ids[ids.length - 1]) : null,
    // Gaps between the frames the file holds, with the index of the frame after each: the timeline's marks.
    frame_gaps: gaps,
  };
}

/**
 * The display frame as a /ws/live message (live-view.ts encodeLiveMessage: header, pixels,
 * saturation mask), its header also saying the frame's place in the file and carrying its overlay.
 */
export function encodeRecordedFrame(name: string, file: RecordingFile, info: FrameInfo, display: DisplayFrame, stats: FrameStats): Buffer {
  const header = {
    run_id: name,
    seq: info.frameId,
    camera_ts_ns: info.cameraTsNs,
    wall_ts_ns: info.wallTsNs,
    shape: [...file.frameShape],
    dtype: file.dtype,
  };
  const place = { index: info.index, frames: file.frameCount, frame_id: info.frameId, overlay: file.overlay(info.index) };
  return encodeLiveMessage(header, display, stats, Date.now(), file.pixelSizeUm(), place);
}

function tiffFormat(file: RecordingFile): TiffFormat {
  const [height = 0, width = 0, channels = 1] = file.frameShape;
  if (channels !== 1 && channels !== 3) throw new LabcastError('FILE_FORMAT', `frames of ${channels} channels cannot be written as TIFF`);
  return { width, height, channels, bitsPerSample: file.dtype === 'uint8' ? 8 : 16 };
}

function frameIndex(text: string): number {
  if (!/^\d{1,15}$/.test(text))
    throw new LabcastError('BAD_REQUEST', `frame "${text}": give a frame index, 0 for the first frame`, 'frame');
  return Number(text);
}

function integer(query: Query, name: string, fallback: number): number {
  const text = query[name];
  if (text === undefined || text === '') return fallback;
  if (!/^-?\d{1,15}$/.test(text)) throw new LabcastError('BAD_REQUEST', `${name}=${text}: an integer is expected`, name);
  return Number(text);
}

/** A number the route cannot do without. */
function required(query: Query, name: string): number {
  const text = query[name];
  if (text === undefined || text === '') throw new LabcastError('BAD_REQUEST', `${name} is missing`, name);
  const value = Number(text);
  if (!Number.isFinite(value)) throw new LabcastError('BAD_REQUEST', `${name}=${text}: a number is expected`, name);
  return value;
}

/**
 * The live view's display request as a query: max_width, max_height (default 1024, at most
 * MAX_DISPLAY_SIDE); black and white (raw units) = manual levels, else auto; x, y, w, h = the
 * region of the frame in view (a zoomed-in view; all four or none), else the whole frame.
 */
function displayOptions(query: Query): DisplayOptions {
  const side = (name: string): number => Math.min(MAX_DISPLAY_SIDE, Math.max(1, integer(query, name, 1024)));
  const number = (name: string): number | null => {
    const text = query[name];
    if (text === undefined || text === '') return null;
    const value = Number(text);
    if (!Number.isFinite(value)) throw new LabcastError('BAD_REQUEST', `${name}=${text}: a number is expected`, name);
    return value;
  };
  const black = number('black');
  const white = number('white');
  if ((black === null) !== (white === null))
    throw new LabcastError('BAD_REQUEST', 'give both black and white (manual levels), or neither (auto)', 'levels');
  const corners = ['x', 'y', 'w', 'h'].filter((name) => query[name] !== undefined && query[name] !== '');
  if (corners.length !== 0 && corners.length !== 4)
    throw new LabcastError('BAD_REQUEST', 'give all of x, y, w and h (the region in view), or none (the whole frame)', 'region');
  const region =
    corners.length === 4
      ? { x: required(query, 'x'), y: required(query, 'y'), width: required(query, 'w'), height: required(query, 'h') }
      : null;
  if (region !== null && (region.width < 1 || region.height < 1))
    throw new LabcastError('BAD_REQUEST', `w=${region.width} h=${region.height}: a region is at least one pixel`, 'region');
  return {
    maxWidth: side('max_width'),
    maxHeight: side('max_height'),
    levels: black === null || white === null ? { mode: 'auto' } : { mode: 'manual', black, white },
    ...(region === null ? {} : { region }),
  };
}

function baseName(name: string): string {
  return (name.split('/').pop() ?? name).replace(/\.h5$/i, '');
}

/** A download name, quoted for the header (names are file names of the data directory). */
function attachment(fileName: string): string {
  const safe = fileName.replace(/[^\w.-]/g, '_');
  return `attachment; filename="${safe}"`;
}
