// @ts-check
// The recording viewer: one recording of the list, frame by frame, in the live view's image view
// (zoom, pan, pixel value, line profile, rectangle statistics, colour maps, saturation). Frames come
// one at a time from /api/recordings/NAME/frames/K, rendered on the server as the live view's are for
// the view's display request; raw values from .../frames/K/raw, /line and /stats; spots, tracks and
// ground truth ride along in the frame's header (web/recording-routes.ts).

import { getJson, messageOf, parseJson } from './api.js';
import { ImageView } from './image-view.js';

/**
 * GET /api/recordings/NAME (recording-routes.ts).
 * @typedef {object} RecordingDetails
 * @property {string} name
 * @property {boolean} being_recorded
 * @property {number} frames frames the viewer can show (a file being written: its valid frames so far)
 * @property {number | null} first_frame_id
 * @property {number | null} last_frame_id
 * @property {{ first_id: number, count: number, index: number }[]} frame_gaps gaps between the frames held, before frame `index`
 * @property {Summary} summary
 */
/**
 * The inspector's summary (hdf5/file-inspector.ts RecordingSummary, which reads the disk, so the
 * page cannot import its type): the parts shown here.
 * @typedef {object} Summary
 * @property {number} fileBytes
 * @property {boolean} finished
 * @property {{ state: string } | null} writer
 * @property {number} frameCount
 * @property {number[]} frameShape
 * @property {string} dtype
 * @property {number | null} durationS
 * @property {number | null} fps
 * @property {[number, number][]} gaps [first missing id, count]
 * @property {number} missingFrames
 * @property {{ framesRequested: number | null, framesAcquired: number | null, framesDropped: number | null,
 *   framesWritten: number, endReason: string | null, error: string | null }} acquisition
 * @property {{ driver: string, model: string, settings: Record<string, number | string | boolean> }} camera
 * @property {{ labcastVersion: string, nodeVersion: string, host: string, runId: string, startTime: string,
 *   endTime: string | null, config: unknown, hdf5Writer: string | null }} provenance
 * @property {{ name: string, kind: string | null, results: number, items: number | null, itemsTable: string | null }[]} analysis
 * @property {number | null} truthRows
 */
/**
 * The JSON header of a display frame (the /ws/live layout, with the frame's place in the file).
 * @typedef {import('./live.js').LiveFrameHeader & { index: number, frames: number, frame_id: number, overlay: FrameOverlay }} RecordedFrameHeader
 */
/**
 * GET .../frames/K/overlay (src/hdf5/recording-file.ts FrameOverlay).
 * @typedef {object} FrameOverlay
 * @property {number} index
 * @property {number} frame_id
 * @property {{ analysis: string, x: number[], y: number[], sigma: number[] | null, track: number[] | null,
 *   tracks: Record<string, [number, number, number][]> }[]} spots
 * @property {{ particle: number[], x: number[], y: number[] } | null} truth
 */

/** Steps timed for the benchmark (step asked → frame painted), kept at most. */
const KEEP_STEPS = 2000;
/** While a file is being written, its frame count is asked for again this often. */
const GROWING_REFRESH_MS = 2000;
/** Display frames kept after they were fetched ahead of a step. */
const KEEP_AHEAD = 4;

/** For people and for tests and the benchmark: what the viewer shows. */
export const viewerStats = {
  /** @type {string | null} */
  name: null,
  /** @type {number | null} the frame (row of the file) on the canvas */
  index: null,
  /** @type {number | null} */
  frameId: null,
  frames: 0,
  painted: 0,
  /** ms from a step (button, key, slider) to the animation frame after its frame was drawn. @type {number[]} */
  stepMs: [],
  spotsDrawn: 0,
  tracksDrawn: 0,
  truthDrawn: 0,
};
/** @type {Window & { labcastViewer?: typeof viewerStats }} */ (window).labcastViewer = viewerStats;

/**
 * The page's element with this id, of the kind expected.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {new () => T} [kind]
 * @returns {T}
 */
function $(id, kind) {
  const element = document.getElementById(id);
  const expected = kind ?? HTMLElement;
  if (!(element instanceof expected)) throw new Error(`the page has no ${expected.name} #${id}`);
  return /** @type {T} */ (element);
}

/** @param {string} name @param {string} [rest] */
function recordingUrl(name, rest = '') {
  return `/api/recordings/${encodeURIComponent(name)}${rest}`;
}

/**
 * GET of a binary route: [u32 LE header length][JSON header][bytes].
 * @template T
 * @param {string} url
 * @returns {Promise<{ header: T, bytes: Uint8Array }>}
 */
async function getBinary(url) {
  let response;
  try {
    response = await fetch(url);
  } catch {
    throw new Error('labcast serve is not reachable (is it still running?)');
  }
  if (!response.ok) {
    // Errors come as the API's JSON.
    /** @type {{ error?: { message?: string } }} */
    let reply = {};
    try {
      reply = parseJson(await response.text());
    } catch {
      // not JSON
    }
    throw new Error(reply.error?.message ?? `HTTP ${response.status}`);
  }
  const buffer = await response.arrayBuffer();
  const length = new DataView(buffer).getUint32(0, true);
  /** @type {T} */
  const header = parseJson(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  return { header, bytes: new Uint8Array(buffer, 4 + length) };
}

/** @param {string} text @param {string} fileName */
function download(text, fileName) {
  const link = document.createElement('a');
  link.href = text;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
}

/** @param {number} bytes */
function formatBytes(bytes) {
  return bytes >= 1e9
    ? `${(bytes / 1e9).toFixed(2)} GB`
    : bytes >= 1e6
      ? `${(bytes / 1e6).toFixed(1)} MB`
      : `${(bytes / 1e3).toFixed(1)} kB`;
}

class RecordingViewer {
  /** Puts the viewer's dialog in the page from its template; close() takes it out again. */
  constructor() {
    const template = $('rec-viewer-template', HTMLTemplateElement);
    document.body.append(template.content.cloneNode(true));
    this.dialog = $('rec-viewer', HTMLDialogElement);
    this.title = $('rec-name');
    this.box = $('rec-box');
    this.canvas = $('rec-canvas', HTMLCanvasElement);
    this.overlayCanvas = $('rec-overlay', HTMLCanvasElement);
    this.timeline = $('rec-timeline', HTMLCanvasElement);
    this.slider = $('rec-slider', HTMLInputElement);
    this.frameLabel = $('rec-frame');
    this.message = $('rec-message');
    this.play = $('rec-play', HTMLButtonElement);
    this.autoLevels = $('rec-auto-levels', HTMLInputElement);
    this.black = $('rec-black', HTMLInputElement);
    this.white = $('rec-white', HTMLInputElement);
    this.showSpots = $('rec-show-spots', HTMLInputElement);
    this.showTracks = $('rec-show-tracks', HTMLInputElement);
    this.showTruth = $('rec-show-truth', HTMLInputElement);
    this.from = $('rec-from', HTMLInputElement);
    this.to = $('rec-to', HTMLInputElement);
    this.meta = $('rec-meta');
    const overlay = this.overlayCanvas.getContext('2d');
    const timeline = this.timeline.getContext('2d');
    if (overlay === null || timeline === null) throw new Error('this browser has no 2D canvas');
    this.overlayContext = overlay;
    this.timelineContext = timeline;
    /** @type {RecordingDetails | null} */
    this.details = null;
    /** The frame asked for last; shown as soon as the one in flight is in. */
    this.wanted = 0;
    /** @type {number | null} when the wanted frame was asked for (performance.now()) */
    this.wantedAt = null;
    this.loading = false;
    /** @type {RecordedFrameHeader | null} */
    this.shown = null;
    /** @type {FrameOverlay | null} */
    this.overlay = null;
    /** @type {number | null} */
    this.playTimer = null;
    /** @type {number | null} */
    this.refreshTimer = null;
    /** Set by a change of view (zoom, pan, size) or levels: the frame shown is fetched again. */
    this.stale = false;
    /** +1 or -1: where the last step went, and so which frame is fetched ahead. */
    this.direction = 1;
    /** Frames fetched (or being fetched) by name, index and display query, newest last. @type {Map<string, Promise<[{ header: RecordedFrameHeader, bytes: Uint8Array }, FrameOverlay]>>} */
    this.ahead = new Map();
    // The image view re-asks for the frame when the box changes size (onViewChange); the timeline follows it here.
    this.resizeObserver = new ResizeObserver(() => this.drawTimeline());
    this.resizeObserver.observe(this.box);
    // A recorded file is not the camera: no "Set camera ROI" (cameraRoi null).
    this.view = new ImageView(
      { box: this.box, canvas: this.canvas, followers: [this.overlayCanvas], toolbar: $('rec-toolbar'), info: $('rec-info') },
      {
        pixelSource: this.pixelSource(),
        onViewChange: () => {
          if (this.dialog.open && this.shown !== null) this.refresh();
        },
        cameraRoi: null,
        onMessage: (text, isError) => this.say(text, isError),
      },
    );
    /** For tests and for people at the console: the viewer's zoom, readout, profile and ROI statistics. */
    /** @type {Window & { labcastRecordingView?: ImageView }} */ (window).labcastRecordingView = this.view;
    this.wire();
  }

  /**
   * The image view's raw values of the frame it shows, from the file (web/recording-routes.ts).
   * @returns {import('./image-view.js').PixelSource}
   */
  pixelSource() {
    const frameUrl = (/** @type {import('./image-view.js').DisplayFrameHeader} */ frame, /** @type {string} */ rest) => {
      const { run_id: name, index } = /** @type {RecordedFrameHeader} */ (frame);
      return recordingUrl(String(name), `/frames/${index}${rest}`);
    };
    return {
      region: async (frame, rect) => {
        /** @type {{ header: { x: number, y: number, shape: number[], dtype: string }, bytes: Uint8Array }} */
        const { header, bytes } = await getBinary(frameUrl(frame, `/raw?x=${rect.x}&y=${rect.y}&w=${rect.width}&h=${rect.height}`));
        const [height = 0, width = 0, channels = 1] = header.shape;
        const samples =
          header.dtype === 'uint16'
            ? new Uint16Array(bytes.slice().buffer) // little-endian on the wire, as on every machine a browser runs on
            : bytes;
        return { x: header.x, y: header.y, width, height, channels, values: Array.from(samples) };
      },
      line: (frame, x0, y0, x1, y1) => getJson(frameUrl(frame, `/line?x0=${x0}&y0=${y0}&x1=${x1}&y1=${y1}`)),
      stats: (frame, rect) => getJson(frameUrl(frame, `/stats?x=${rect.x}&y=${rect.y}&w=${rect.width}&h=${rect.height}`)),
    };
  }

  /**
   * Frame `index` for the display `query` and its overlay: from the frames fetched ahead, or now.
   * @param {string} name
   * @param {number} index
   * @param {string} query
   * @returns {Promise<[{ header: RecordedFrameHeader, bytes: Uint8Array }, FrameOverlay]>}
   */
  fetchFrame(name, index, query) {
    const key = `${name}\n${index}\n${query}`;
    let fetched = this.ahead.get(key);
    if (fetched === undefined) {
      // The display frame's header carries the frame's overlay too.
      fetched = /** @type {Promise<{ header: RecordedFrameHeader, bytes: Uint8Array }>} */ (
        getBinary(recordingUrl(name, `/frames/${index}?${query}`))
      ).then((frame) => /** @type {[{ header: RecordedFrameHeader, bytes: Uint8Array }, FrameOverlay]} */ ([frame, frame.header.overlay]));
      this.ahead.set(key, fetched);
      fetched.catch(() => this.ahead.delete(key));
      while (this.ahead.size > KEEP_AHEAD) this.ahead.delete(/** @type {string} */ (this.ahead.keys().next().value));
    }
    return fetched;
  }

  wire() {
    $('rec-close', HTMLButtonElement).addEventListener('click', () => this.dialog.close());
    this.dialog.addEventListener('close', () => this.closed());
    $('rec-first', HTMLButtonElement).addEventListener('click', () => this.step(-Infinity));
    $('rec-prev', HTMLButtonElement).addEventListener('click', () => this.step(-1));
    $('rec-next', HTMLButtonElement).addEventListener('click', () => this.step(1));
    $('rec-last', HTMLButtonElement).addEventListener('click', () => this.step(Infinity));
    this.play.addEventListener('click', () => (this.playTimer === null ? this.startPlaying() : this.stopPlaying()));
    this.slider.addEventListener('input', () => {
      this.stopPlaying();
      this.goTo(Number(this.slider.value));
    });
    this.dialog.addEventListener('keydown', (event) => {
      const target = event.target;
      // The slider steps with the arrow keys by itself; number fields, the image tools' radio buttons and the colour map keep theirs.
      if (target instanceof HTMLInputElement && ['range', 'number', 'radio'].includes(target.type)) return;
      if (target instanceof HTMLSelectElement) return;
      const moves = /** @type {Record<string, number>} */ ({ ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity });
      if (event.key in moves) {
        event.preventDefault();
        this.step(moves[event.key]);
      } else if (event.key === ' ' && !(target instanceof HTMLButtonElement)) {
        event.preventDefault();
        this.play.click();
      }
    });
    const levelsChanged = () => {
      this.black.disabled = this.white.disabled = this.autoLevels.checked;
      this.refresh();
    };
    this.autoLevels.addEventListener('change', levelsChanged);
    this.black.addEventListener('change', levelsChanged);
    this.white.addEventListener('change', levelsChanged);
    for (const toggle of [this.showSpots, this.showTracks, this.showTruth]) toggle.addEventListener('change', () => this.drawOverlay());
    this.timeline.addEventListener('click', (event) => this.timelineClicked(event));
    $('rec-png', HTMLButtonElement).addEventListener('click', () => this.exportPng());
    $('rec-tiff', HTMLButtonElement).addEventListener('click', () => {
      if (this.details === null || this.shown === null) return;
      download(recordingUrl(this.details.name, `/frames/${this.shown.index}/tiff`), '');
    });
    $('rec-stack', HTMLButtonElement).addEventListener('click', () => {
      if (this.details === null) return;
      download(recordingUrl(this.details.name, `/stack.tiff?from=${Number(this.from.value)}&to=${Number(this.to.value)}`), '');
    });
  }

  /** @param {string} name */
  async open(name) {
    this.stopPlaying();
    this.details = null;
    this.shown = null;
    this.overlay = null;
    this.ahead.clear();
    this.direction = 1;
    this.title.textContent = name;
    this.frameLabel.textContent = '–';
    this.meta.replaceChildren();
    this.say('');
    viewerStats.name = name;
    viewerStats.index = null;
    viewerStats.frameId = null;
    if (!this.dialog.open) this.dialog.showModal();
    try {
      await this.loadDetails(name, true);
    } catch (error) {
      this.say(`cannot open ${name}: ${messageOf(error)}`, true);
      return;
    }
    // Set by loadDetails (TypeScript still sees the null assigned above).
    const details = /** @type {RecordingDetails | null} */ (this.details);
    if (details === null) return;
    this.from.value = '0';
    this.to.value = String(Math.max(0, details.frames - 1));
    if (details.frames === 0) this.say('No frames in this file yet.');
    else this.goTo(0);
  }

  /**
   * @param {string} name
   * @param {boolean} [initial] the first load, by open(), which shows the first frame itself
   */
  async loadDetails(name, initial = false) {
    /** @type {RecordingDetails} */
    const details = await getJson(recordingUrl(name));
    if (viewerStats.name !== name) return;
    this.details = details;
    viewerStats.frames = details.frames;
    this.slider.max = String(Math.max(0, details.frames - 1));
    this.slider.disabled = details.frames === 0;
    this.to.max = this.from.max = this.slider.max;
    this.renderMeta(details);
    this.drawTimeline();
    if (this.shown !== null) this.showFrameLabel(this.shown);
    // A file opened before its first flush shows its first frame once it has one.
    else if (details.frames > 0 && !initial) this.goTo(0);
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    // A file being written grows: its new frames appear as they are flushed.
    if (details.being_recorded || !details.summary.finished) {
      this.refreshTimer = window.setTimeout(() => {
        if (this.dialog.open && viewerStats.name === name) void this.loadDetails(name).catch(() => undefined);
      }, GROWING_REFRESH_MS);
    }
  }

  /** The dialog closed: its elements leave the page (their labels would otherwise double the page's own). */
  closed() {
    this.stopPlaying();
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.resizeObserver.disconnect();
    this.details = null;
    viewerStats.name = null;
    this.dialog.remove();
    if (viewer === this) viewer = null;
  }

  /** @param {string} text @param {boolean} [isError] */
  say(text, isError = false) {
    this.message.textContent = text;
    this.message.classList.toggle('error', isError);
  }

  /** Fetches the frame shown again (new levels, or the view zoomed, panned or resized). */
  refresh() {
    this.stale = true;
    if (!this.loading) void this.load();
  }

  /** @param {number} delta frames to move; ±Infinity = first or last */
  step(delta) {
    this.stopPlaying();
    this.goTo(delta === -Infinity ? 0 : delta === Infinity ? Number.MAX_SAFE_INTEGER : this.wanted + delta);
  }

  /** Shows frame `index` (clamped to the file); while one is loading, only the newest asked for is fetched next. */
  /** @param {number} index */
  goTo(index) {
    const details = this.details;
    if (details === null || details.frames === 0) return;
    const wanted = Math.max(0, Math.min(details.frames - 1, Math.round(index)));
    if (wanted !== this.wanted) this.direction = wanted < this.wanted ? -1 : 1;
    this.wanted = wanted;
    this.wantedAt = performance.now();
    this.slider.value = String(this.wanted);
    if (!this.loading) void this.load();
  }

  async load() {
    const details = this.details;
    if (details === null) return;
    this.loading = true;
    try {
      while (this.details === details && (this.shown === null || this.shown.index !== this.wanted || this.stale)) {
        this.stale = false;
        const index = this.wanted;
        const askedAt = this.wantedAt;
        // Timed once: the same frame fetched again for a new view (refresh) is not a step.
        this.wantedAt = null;
        // What the image view shows: the visible region at its size on screen (the live view's display request).
        const request = this.view.displayRequest();
        const query = new URLSearchParams({ max_width: String(request.max_width), max_height: String(request.max_height) });
        if (request.region !== undefined) {
          const { x, y, width, height } = request.region;
          for (const [key, value] of Object.entries({ x, y, w: width, h: height })) query.set(key, String(value));
        }
        if (!this.autoLevels.checked && this.black.value !== '' && this.white.value !== '') {
          query.set('black', this.black.value);
          query.set('white', this.white.value);
        }
        const [frame, overlay] = await this.fetchFrame(details.name, index, query.toString());
        if (this.details !== details) return;
        const header = frame.header;
        // The /ws/live layout: display pixels, then the saturation mask when there is one.
        const size = header.width * header.height;
        const pixels = frame.bytes.subarray(0, size * header.channels);
        const mask = header.saturation_mask ? frame.bytes.subarray(size * header.channels, size * (header.channels + 1)) : null;
        this.shown = header;
        this.overlay = overlay;
        this.view.show(header, pixels, mask);
        this.drawOverlay();
        this.showFrameLabel(header);
        this.black.max = this.white.max = String(header.stats.full_scale);
        if (this.autoLevels.checked) {
          this.black.value = String(Math.round(header.black));
          this.white.value = String(Math.round(header.white));
        }
        viewerStats.index = header.index;
        viewerStats.frameId = header.frame_id;
        requestAnimationFrame(() => {
          viewerStats.painted += 1;
          if (askedAt !== null && this.shown === header) {
            viewerStats.stepMs.push(performance.now() - askedAt);
            if (viewerStats.stepMs.length > KEEP_STEPS) viewerStats.stepMs.splice(0, viewerStats.stepMs.length - KEEP_STEPS);
          }
        });
        this.drawTimeline();
        this.say('');
        // The next frame in the direction of travel is fetched now, so the next step only draws.
        const ahead = index + this.direction;
        if (ahead >= 0 && ahead < details.frames) void this.fetchFrame(details.name, ahead, query.toString()).catch(() => undefined);
      }
    } catch (error) {
      this.say(messageOf(error), true);
      this.stopPlaying();
    } finally {
      this.loading = false;
    }
  }

  /** @param {RecordedFrameHeader} header */
  showFrameLabel(header) {
    const details = this.details;
    const total = details === null ? header.frames : details.frames;
    const seconds =
      details !== null && details.summary.fps !== null && details.first_frame_id !== null
        ? ` · ${((header.frame_id - details.first_frame_id) / details.summary.fps).toFixed(3)} s`
        : '';
    this.frameLabel.textContent = `${header.index} / ${total - 1} (id ${header.frame_id}${seconds})`;
  }

  drawOverlay() {
    const ctx = this.overlayContext;
    const canvas = this.overlayCanvas;
    const frame = this.shown;
    const overlay = this.overlay;
    if (frame === null) return;
    // The overlay covers the whole frame (the image view places it as it zooms and pans), at about the screen's resolution.
    const { width: canvasWidth, height: canvasHeight } = this.view.followerSize();
    if (canvas.width !== canvasWidth || canvas.height !== canvasHeight) {
      canvas.width = canvasWidth;
      canvas.height = canvasHeight;
    }
    ctx.clearRect(0, 0, canvasWidth, canvasHeight);
    viewerStats.spotsDrawn = viewerStats.tracksDrawn = viewerStats.truthDrawn = 0;
    if (overlay === null || overlay.index !== frame.index) return;
    const [height, width] = frame.shape;
    const sx = canvasWidth / width;
    const sy = canvasHeight / height;
    // Canvas pixels per screen (CSS) pixel: markers keep their size on screen at any zoom.
    const cssPixel = canvasWidth / Math.max(1, width * this.view.zoom);
    // Pixel centres are at integer coordinates, as in the live overlay.
    const px = (/** @type {number} */ x) => (x + 0.5) * sx;
    const py = (/** @type {number} */ y) => (y + 0.5) * sy;
    if (this.showTracks.checked) {
      ctx.strokeStyle = 'rgba(255, 196, 0, 0.9)';
      ctx.lineWidth = 1.5 * cssPixel;
      for (const result of overlay.spots) {
        for (const points of Object.values(result.tracks)) {
          if (points.length < 2) continue;
          ctx.beginPath();
          ctx.moveTo(px(points[0][1]), py(points[0][2]));
          for (const [, x, y] of points.slice(1)) ctx.lineTo(px(x), py(y));
          ctx.stroke();
          viewerStats.tracksDrawn += 1;
        }
      }
    }
    if (this.showSpots.checked) {
      ctx.strokeStyle = 'rgb(0, 230, 64)';
      ctx.lineWidth = 2 * cssPixel;
      for (const result of overlay.spots) {
        for (let i = 0; i < result.x.length; i++) {
          if (!Number.isFinite(result.x[i]) || !Number.isFinite(result.y[i])) continue;
          const sigma = result.sigma?.[i];
          const r = Math.max(4 * cssPixel, 2.5 * (typeof sigma === 'number' && Number.isFinite(sigma) ? sigma : 2) * sx);
          ctx.beginPath();
          ctx.arc(px(result.x[i]), py(result.y[i]), r, 0, 2 * Math.PI);
          ctx.stroke();
          viewerStats.spotsDrawn += 1;
        }
      }
    }
    if (this.showTruth.checked && overlay.truth !== null) {
      ctx.strokeStyle = 'rgb(255, 64, 255)';
      ctx.lineWidth = 1.5 * cssPixel;
      const arm = Math.max(5 * cssPixel, 3 * sx);
      for (let i = 0; i < overlay.truth.x.length; i++) {
        const x = px(overlay.truth.x[i]);
        const y = py(overlay.truth.y[i]);
        ctx.beginPath();
        ctx.moveTo(x - arm, y);
        ctx.lineTo(x + arm, y);
        ctx.moveTo(x, y - arm);
        ctx.lineTo(x, y + arm);
        ctx.stroke();
        viewerStats.truthDrawn += 1;
      }
    }
  }

  /** The timeline: the recording's frame ids from first to last, gaps in red, the frame shown as a line. */
  drawTimeline() {
    const canvas = this.timeline;
    const width = Math.max(1, Math.round(canvas.clientWidth * (window.devicePixelRatio || 1)));
    const height = Math.max(1, Math.round(canvas.clientHeight * (window.devicePixelRatio || 1)));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = this.timelineContext;
    ctx.clearRect(0, 0, width, height);
    const details = this.details;
    if (details === null || details.first_frame_id === null || details.last_frame_id === null) return;
    const first = details.first_frame_id;
    // Frames missing after the last one held (counted in the file's gaps) extend the line.
    const trailing = details.summary.gaps.filter(([id]) => id > /** @type {number} */ (details.last_frame_id));
    const end = Math.max(details.last_frame_id, ...trailing.map(([id, count]) => id + count - 1));
    const span = Math.max(1, end - first + 1);
    const at = (/** @type {number} */ id) => ((id - first) / span) * width;
    ctx.fillStyle = '#cfe3c9';
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#c62828';
    const gaps = [...details.frame_gaps.map((g) => [g.first_id, g.count]), ...trailing];
    for (const [id, count] of gaps) ctx.fillRect(at(id), 0, Math.max(2, at(id + count) - at(id)), height);
    if (this.shown !== null) {
      ctx.fillStyle = '#1d2330';
      ctx.fillRect(Math.min(width - 2, at(this.shown.frame_id)), 0, 2, height);
    }
    canvas.title =
      gaps.length === 0
        ? 'no frames missing'
        : `${gaps.length} gap${gaps.length === 1 ? '' : 's'}: ${gaps.map(([id, count]) => `${count} from id ${id}`).join(', ')}`;
  }

  /** Seeks to the frame nearest the frame id clicked on the timeline. @param {MouseEvent} event */
  timelineClicked(event) {
    const details = this.details;
    if (details === null || details.first_frame_id === null || details.last_frame_id === null) return;
    const rect = this.timeline.getBoundingClientRect();
    const fraction = (event.clientX - rect.left) / rect.width;
    const id = details.first_frame_id + fraction * (details.last_frame_id - details.first_frame_id + 1);
    // Index of an id: its offset from the first, less the frames missing before it.
    let missing = 0;
    for (const gap of details.frame_gaps) if (gap.first_id < id) missing += Math.min(gap.count, id - gap.first_id);
    this.stopPlaying();
    this.goTo(Math.floor(id - details.first_frame_id - missing));
  }

  startPlaying() {
    const details = this.details;
    if (details === null || details.frames < 2) return;
    const fps = details.summary.fps !== null && details.summary.fps > 0 ? details.summary.fps : 10;
    if (this.wanted >= details.frames - 1) this.goTo(0);
    const startIndex = this.wanted;
    const startMs = performance.now();
    this.play.textContent = 'Pause';
    this.play.setAttribute('aria-pressed', 'true');
    // At the recorded rate: the frame due now is shown; frames the viewer cannot load in time are skipped.
    const tick = () => {
      const due = startIndex + Math.floor(((performance.now() - startMs) / 1000) * fps);
      if (due >= details.frames - 1) {
        this.goTo(details.frames - 1);
        this.stopPlaying();
        return;
      }
      if (due !== this.wanted) this.goTo(due);
      this.playTimer = window.setTimeout(tick, Math.max(4, 1000 / fps / 2));
    };
    this.playTimer = window.setTimeout(tick, 0);
  }

  stopPlaying() {
    if (this.playTimer !== null) clearTimeout(this.playTimer);
    this.playTimer = null;
    this.play.textContent = 'Play';
    this.play.setAttribute('aria-pressed', 'false');
  }

  /** The frame as shown (display levels, overlay) as a PNG download. */
  exportPng() {
    const frame = this.shown;
    if (frame === null || this.details === null) return;
    const canvas = document.createElement('canvas');
    canvas.width = this.canvas.width;
    canvas.height = this.canvas.height;
    const ctx = canvas.getContext('2d');
    if (ctx === null) return;
    ctx.drawImage(this.canvas, 0, 0);
    // The overlay covers the whole frame: the part over the region shown.
    const [height, width] = frame.shape;
    const sx = this.overlayCanvas.width / width;
    const sy = this.overlayCanvas.height / height;
    const { x, y, width: w, height: h } = frame.region;
    ctx.drawImage(this.overlayCanvas, x * sx, y * sy, w * sx, h * sy, 0, 0, canvas.width, canvas.height);
    const base = (this.details.name.split('/').pop() ?? 'frame').replace(/\.h5$/i, '');
    download(canvas.toDataURL('image/png'), `${base}_frame${frame.index}.png`);
  }

  /** @param {RecordingDetails} details */
  renderMeta(details) {
    const s = details.summary;
    /** @type {[string, string][]} */
    const rows = [
      ['File', details.name],
      [
        'State',
        details.being_recorded
          ? 'being recorded'
          : s.finished
            ? `finished (${s.acquisition.endReason ?? ''})`
            : `not finished${s.writer === null ? '' : ` (${s.writer.state})`}`,
      ],
      ['Frames', details.being_recorded || !s.finished ? `${details.frames} so far` : String(details.frames)],
      ['Frame', `${s.frameShape[1]}×${s.frameShape[0]}${s.frameShape[2] === undefined ? '' : `×${s.frameShape[2]}`} ${s.dtype}`],
      ['Duration', s.durationS === null ? '–' : `${s.durationS.toFixed(3)} s`],
      ['Rate', s.fps === null ? '–' : `${s.fps.toFixed(2)} fps`],
      ['Missing', s.missingFrames === 0 ? '0' : `${s.missingFrames} in ${s.gaps.length} gap${s.gaps.length === 1 ? '' : 's'}`],
      ['Requested', s.acquisition.framesRequested === null ? 'until stopped' : `${s.acquisition.framesRequested} frames`],
      ['Acquired', s.acquisition.framesAcquired === null ? '–' : String(s.acquisition.framesAcquired)],
      ['Dropped', s.acquisition.framesDropped === null ? '–' : String(s.acquisition.framesDropped)],
      ['Written', String(s.acquisition.framesWritten)],
      ['Error', s.acquisition.error ?? '–'],
      ['Size', formatBytes(s.fileBytes)],
      ['Camera', `${s.camera.driver} (${s.camera.model})`],
      ...Object.entries(s.camera.settings).map(([key, value]) => /** @type {[string, string]} */ ([`  ${key}`, String(value)])),
      ['Run', s.provenance.runId],
      ['Started', s.provenance.startTime],
      ['Ended', s.provenance.endTime ?? '–'],
      ['Host', s.provenance.host],
      ['labcast', s.provenance.labcastVersion],
      ['Node', s.provenance.nodeVersion],
      ['HDF5 writer', s.provenance.hdf5Writer ?? '–'],
      ...s.analysis.map(
        (a) =>
          /** @type {[string, string]} */ ([
            `Analysis ${a.name}`,
            `${a.kind ?? ''}: ${a.results} results${a.items === null ? '' : `, ${a.items} ${a.itemsTable}`}`,
          ]),
      ),
      ['Ground truth', s.truthRows === null ? 'none' : `${s.truthRows} rows`],
    ];
    const list = document.createElement('dl');
    list.className = 'rec-meta-list';
    for (const [key, value] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = key;
      const dd = document.createElement('dd');
      dd.textContent = value;
      list.append(dt, dd);
    }
    const config = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'Configuration of the run';
    const pre = document.createElement('pre');
    pre.textContent = JSON.stringify(s.provenance.config, null, 2);
    config.append(summary, pre);
    this.meta.replaceChildren(list, config);
  }
}

/** @type {RecordingViewer | null} */
let viewer = null;

/** Opens the viewer on recording `name` (relative to the data directory, as the list names it). @param {string} name */
export function openRecording(name) {
  viewer ??= new RecordingViewer();
  void viewer.open(name);
}
