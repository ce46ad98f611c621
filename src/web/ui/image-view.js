// @ts-check
/**
 * The image view: one camera frame on a canvas with the tools to inspect it — zoom (wheel,
 * buttons, fit, 1:1) and pan (drag), the raw value under the cursor, a line profile, a
 * rectangle's statistics (and, where the camera has one, "Set camera ROI" from it), colour
 * maps with saturated pixels in a contrasting colour, and a scale bar.
 *
 * It knows nothing of where frames come from. Its input is:
 *
 * 1. A display frame, `show(header, pixels, mask)`: the decoded /ws/live message (see
 *    docs/protocol.md, "Live view"): 8-bit display pixels (header.width × header.height ×
 *    header.channels bytes, row-major) showing `header.region` of a frame of `header.shape`,
 *    and the saturation mask (header.width × header.height bytes, 1 = saturated) or null.
 *    Any frame source that renders with web/frame-render.ts renderDisplayFrame has these.
 *
 * 2. A `pixelSource` (typedef PixelSource below), which the view calls for exact raw values
 *    of the frame it shows. Each call gets that frame's header first, so the source knows
 *    which frame is meant (live: run_id and seq; a recording: its own frame index field).
 *    Coordinates are frame pixels (column x, row y from the top left). All three return
 *    what web/raw-inspect.ts returns (rawRegion, lineProfile, regionStats), and reject with
 *    an Error whose message is for people. A source that only has `region` can compute
 *    statistics with profile.js statsOfValues.
 *
 * 3. `displayRequest()` tells the frame source what to render next (the visible region at
 *    the zoomed scale), and `onViewChange` says when that changed.
 */

import { colormapTable, COLORMAPS, COLOUR_FRAME_SATURATED, isColormapName, packRgb, saturatedCss } from './colormaps.js';
import { describeStats, ProfilePlot } from './profile.js';

/** @typedef {import('./colormaps.js').ColormapName} ColormapName */
/** @typedef {import('./profile.js').LineProfile} LineProfile */
/** @typedef {import('./profile.js').RegionStats} RegionStats */
/** @typedef {{ x: number, y: number, width: number, height: number }} Rect */
/** @typedef {Rect & { channels: number, values: number[] }} RawRegion */

/**
 * What the view uses of a display frame's header (live.js LiveFrameHeader has all of it).
 * @typedef {object} DisplayFrameHeader
 * @property {number[]} shape the frame: [height, width] or [height, width, channels]
 * @property {number} width display pixels
 * @property {number} height
 * @property {1 | 3} channels
 * @property {Rect} region the frame pixels the display pixels show
 * @property {boolean} [saturation_mask]
 * @property {number | null} [pixel_size_um] one pixel in the sample plane, µm; null/absent = unknown
 * @property {{ full_scale: number, saturated?: number }} stats
 * @property {unknown} [run_id] which frame this is, as its source names it (live: run_id and seq)
 * @property {unknown} [seq]
 */

/**
 * @typedef {object} PixelSource
 * @property {(frame: DisplayFrameHeader, rect: Rect) => Promise<RawRegion>} region raw samples of a rectangle (≤ 65536 pixels)
 * @property {(frame: DisplayFrameHeader, x0: number, y0: number, x1: number, y1: number) => Promise<LineProfile>} line
 *   pixels along a line, one per step of its longer axis (web/raw-inspect.ts lineProfile)
 * @property {(frame: DisplayFrameHeader, rect: Rect) => Promise<RegionStats>} stats
 */

/**
 * Changes the camera's region of interest: `set` to a rectangle of the frame shown, `reset` to
 * the full sensor. Resolves once done; rejects with an Error for people.
 * @typedef {{ set: (rect: Rect) => Promise<void>, reset: () => Promise<void> }} CameraRoi
 */

/** @typedef {'pan' | 'line' | 'rect'} Tool */

/**
 * Raw values are asked again at most this often while frames arrive, and at most a tenth of
 * the time (a large rectangle's statistics take the server a while, on the loop that sends frames).
 */
const INSPECT_EVERY_MS = 200;
const INSPECT_SHARE = 0.1;
/** Largest side of a follower canvas's bitmap. */
const FOLLOWER_MAX_SIDE = 2048;
/** Device pixels per frame pixel at the closest zoom. */
const MAX_DEVICE_ZOOM = 64;
let instances = 0;

/**
 * Runs `task` one at a time; asked again meanwhile, it runs once more afterwards (the newest state wins).
 * @param {() => Promise<void>} task
 */
function latestOnly(task) {
  let running = false;
  let again = false;
  const run = async () => {
    running = true;
    do {
      again = false;
      try {
        await task();
      } catch {
        // The task shows its own failures; a frame no longer held is simply asked about again later.
      }
    } while (again);
    running = false;
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attributes]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** @param {number} value */
function niceBelow(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [5, 2, 1]) if (step * power <= value) return step * power;
  return power;
}

export class ImageView {
  /**
   * @param {{ box: HTMLElement, canvas: HTMLCanvasElement, followers?: HTMLCanvasElement[], toolbar: HTMLElement, info: HTMLElement }} elements
   *   box: the viewport (pointer events, size); canvas: where the image is drawn; followers: canvases drawn
   *   in whole-frame coordinates (the analysis overlay), placed over the frame as it is zoomed and panned;
   *   toolbar, info: empty containers the view fills with its controls and readouts.
   * @param {{ pixelSource: PixelSource, onViewChange?: () => void, cameraRoi?: CameraRoi | null, onMessage?: (text: string, isError: boolean) => void }} options
   */
  constructor(
    { box, canvas, followers = [], toolbar, info },
    { pixelSource, onViewChange = () => {}, cameraRoi = null, onMessage = () => {} },
  ) {
    this.box = box;
    this.canvas = canvas;
    this.followers = followers;
    this.source = pixelSource;
    this.onViewChange = onViewChange;
    this.cameraRoi = cameraRoi;
    this.onMessage = onMessage;
    const context = canvas.getContext('2d', { alpha: false });
    if (context === null) throw new Error('this browser has no 2D canvas');
    this.context = context;
    /** @type {ImageData | null} */
    this.image = null;
    /** @type {DisplayFrameHeader | null} */
    this.header = null;
    /** Screen (CSS) pixels per frame pixel, and the frame point at the centre of the box. */
    this.zoom = 1;
    this.cx = 0;
    this.cy = 0;
    /** Following the box size: the whole frame, as large as fits. */
    this.fitted = true;
    /** @type {Tool} */
    this.tool = 'pan';
    /** @type {ColormapName} */
    this.colormap = 'grey';
    this.showSaturation = true;
    /** Line end points, frame pixels. @type {{ x0: number, y0: number, x1: number, y1: number } | null} */
    this.line = null;
    /** @type {Rect | null} */
    this.rect = null;
    /** The cursor, in frame coordinates (continuous: pixel i spans [i, i + 1)). @type {{ u: number, v: number } | null} */
    this.pointer = null;
    /** @type {{ kind: 'pan', x: number, y: number, cx: number, cy: number } | { kind: 'line' | 'rect', x: number, y: number } | null} */
    this.drag = null;
    /** The readout shown: the raw values of pixel (x, y) of the frame `seq`. @type {{ x: number, y: number, values: number[], seq: unknown } | null} */
    this.readout = null;
    /** @type {RegionStats | null} */
    this.roiStats = null;
    /** The profile shown, with the seq of the frame it was read from. @type {(LineProfile & { seq: unknown }) | null} */
    this.profile = null;
    /** The scale bar drawn: its length in `unit` and on screen (CSS pixels). @type {{ length: number, unit: string, pixels: number } | null} */
    this.scaleBar = null;
    /** @type {Uint8Array | null} */
    this.pixels = null;
    /** @type {Uint8Array | null} */
    this.mask = null;
    /** When each raw-value question may be asked again about a newer frame (performance.now() ms). */
    this.due = { pixel: 0, profile: 0, stats: 0 };
    /** A frame was shown before its question was due: it is asked about when due (see askWhenDue). */
    this.waiting = { pixel: false, profile: false, stats: false };
    /** @type {Record<'pixel' | 'profile' | 'stats', number | null>} */
    this.dueTimers = { pixel: null, profile: null, stats: null };
    /** The view and region the canvases were last placed for. */
    this.placedKey = '';
    /** The saturation colour the swatch shows. */
    this.swatchColour = '';

    const id = ++instances;
    this.ui = this.buildToolbar(toolbar, id);
    this.info = this.buildInfo(info);
    this.profilePlot = new ProfilePlot(this.info.profilePlot);

    this.tools = element('canvas', { class: 'iv-tools', 'aria-hidden': 'true' });
    box.append(this.tools);
    const toolsContext = this.tools.getContext('2d');
    if (toolsContext === null) throw new Error('this browser has no 2D canvas');
    this.toolsContext = toolsContext;
    canvas.classList.add('iv-placed');
    for (const follower of followers) follower.classList.add('iv-placed');
    box.classList.add('iv-box');
    box.dataset.tool = this.tool;

    this.readPixel = latestOnly(() => this.updateReadout());
    this.readProfile = latestOnly(() => this.updateProfile());
    this.readStats = latestOnly(() => this.updateStats());
    this.readers = { pixel: this.readPixel, profile: this.readProfile, stats: this.readStats };
    this.listen();
    new ResizeObserver(() => {
      if (this.fitted) this.fit(false);
      this.viewChanged();
      this.profilePlot.resize();
    }).observe(box);
  }

  // ---- building ----

  /**
   * @param {HTMLElement} toolbar
   * @param {number} id
   */
  buildToolbar(toolbar, id) {
    const button = (/** @type {string} */ label, /** @type {string} */ title) => element('button', { type: 'button', title }, [label]);
    const zoomOut = button('−', 'Zoom out');
    zoomOut.setAttribute('aria-label', 'Zoom out');
    const zoomIn = button('+', 'Zoom in');
    zoomIn.setAttribute('aria-label', 'Zoom in');
    const fit = button('Fit', 'The whole frame, as large as fits');
    const oneToOne = button('1:1', 'One screen pixel per camera pixel');
    const zoom = element('output', { 'aria-label': 'Zoom', class: 'iv-zoom' }, ['fit']);
    /** @type {Record<Tool, string>} */
    const toolNames = { pan: 'Pan', line: 'Line profile', rect: 'Rectangle' };
    const tools = element('span', { role: 'radiogroup', 'aria-label': 'Tool', class: 'iv-tool-group' });
    /** @type {HTMLInputElement[]} */
    const toolInputs = [];
    for (const [value, label] of Object.entries(toolNames)) {
      const input = element('input', { type: 'radio', name: `iv-tool-${id}`, value });
      if (value === this.tool) input.checked = true;
      toolInputs.push(input);
      tools.append(element('label', {}, [input, ` ${label}`]));
    }
    const colormap = element('select', { 'aria-label': 'Colour map' });
    for (const [value, { label }] of Object.entries(COLORMAPS)) colormap.append(element('option', { value }, [label]));
    const saturation = element('input', { type: 'checkbox' });
    saturation.checked = true;
    const swatch = element('span', { class: 'iv-swatch' });
    const saturationLabel = element('label', { class: 'iv-saturation-toggle' }, [saturation, ' Saturated in ', swatch]);
    const setRoi = button('Set camera ROI', 'Make the drawn rectangle the camera’s region of interest (stops live view meanwhile)');
    const fullFrame = button('Full frame', 'Back to the whole sensor');
    setRoi.disabled = true;
    const roiButtons = element('span', { class: 'iv-roi-buttons' }, [setRoi, fullFrame]);
    roiButtons.hidden = this.cameraRoi === null;
    toolbar.classList.add('iv-toolbar');
    toolbar.append(zoomOut, zoom, zoomIn, fit, oneToOne, tools, colormap, saturationLabel, roiButtons);
    return { zoomOut, zoomIn, fit, oneToOne, zoom, toolInputs, colormap, saturation, swatch, setRoi, fullFrame };
  }

  /** @param {HTMLElement} info */
  buildInfo(info) {
    const saturation = element('p', { class: 'iv-saturation', role: 'status', 'aria-label': 'Saturation' });
    saturation.hidden = true;
    const pixel = element('output', { 'aria-label': 'Pixel value', class: 'iv-pixel' }, ['–']);
    const roi = element('output', { 'aria-label': 'ROI statistics', class: 'iv-roi' }, ['draw a rectangle']);
    const profilePlot = element('div', { class: 'iv-profile-plot' });
    const profile = element('figure', { class: 'plot iv-profile' }, [
      element('figcaption', {}, ['Line profile (raw values)']),
      profilePlot,
    ]);
    profile.hidden = true;
    info.classList.add('iv-info');
    info.append(
      saturation,
      element('div', { class: 'iv-readouts' }, [element('span', {}, ['Pixel ', pixel]), element('span', {}, ['ROI ', roi])]),
      profile,
    );
    return { saturation, pixel, roi, profile, profilePlot };
  }

  listen() {
    const { ui, box } = this;
    ui.zoomIn.addEventListener('click', () => this.zoomBy(2));
    ui.zoomOut.addEventListener('click', () => this.zoomBy(0.5));
    ui.fit.addEventListener('click', () => this.fit());
    ui.oneToOne.addEventListener('click', () => this.setZoom(1 / (window.devicePixelRatio || 1)));
    for (const input of ui.toolInputs) input.addEventListener('change', () => this.setTool(/** @type {Tool} */ (input.value)));
    ui.colormap.addEventListener('change', () => {
      if (isColormapName(ui.colormap.value)) this.colormap = /** @type {ColormapName} */ (ui.colormap.value);
      this.redraw();
    });
    ui.saturation.addEventListener('change', () => {
      this.showSaturation = ui.saturation.checked;
      this.redraw();
    });
    ui.setRoi.addEventListener('click', () => void this.applyRoi(false));
    ui.fullFrame.addEventListener('click', () => void this.applyRoi(true));

    box.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        const factor = 2 ** Math.max(-1, Math.min(1, -event.deltaY / 200));
        this.zoomBy(factor, this.boxPoint(event));
      },
      { passive: false },
    );
    box.addEventListener('pointerdown', (event) => {
      if (this.header === null || (event.button !== 0 && event.button !== 1)) return;
      event.preventDefault();
      box.setPointerCapture(event.pointerId);
      const point = this.boxPoint(event);
      const [u, v] = this.toFrame(point.x, point.y);
      if (this.tool === 'pan' || event.button === 1) this.drag = { kind: 'pan', x: point.x, y: point.y, cx: this.cx, cy: this.cy };
      else {
        const [x, y] = this.pixelAt(u, v);
        this.drag = { kind: this.tool, x, y };
        if (this.tool === 'line') this.line = { x0: x, y0: y, x1: x, y1: y };
        else this.rect = { x, y, width: 1, height: 1 };
        this.drawTools();
      }
    });
    box.addEventListener('pointermove', (event) => {
      const point = this.boxPoint(event);
      const [u, v] = this.toFrame(point.x, point.y);
      this.pointer = { u, v };
      this.readPixel();
      const drag = this.drag;
      if (drag === null) return;
      if (drag.kind === 'pan') {
        this.fitted = false;
        this.cx = drag.cx - (point.x - drag.x) / this.zoom;
        this.cy = drag.cy - (point.y - drag.y) / this.zoom;
        this.viewChanged();
        return;
      }
      const [x, y] = this.pixelAt(u, v);
      if (drag.kind === 'line') this.line = { x0: drag.x, y0: drag.y, x1: x, y1: y };
      else
        this.rect = { x: Math.min(drag.x, x), y: Math.min(drag.y, y), width: Math.abs(x - drag.x) + 1, height: Math.abs(y - drag.y) + 1 };
      this.drawTools();
    });
    const release = () => {
      const drag = this.drag;
      this.drag = null;
      if (drag?.kind === 'line') this.readProfile();
      if (drag?.kind === 'rect') {
        this.ui.setRoi.disabled = this.rect === null;
        this.readStats();
      }
    };
    box.addEventListener('pointerup', release);
    box.addEventListener('pointercancel', release);
    box.addEventListener('pointerleave', () => {
      if (this.drag !== null) return;
      this.pointer = null;
      this.readout = null;
      this.info.pixel.textContent = '–';
    });
  }

  // ---- geometry ----

  /** The frame's [width, height], or null before the first frame. */
  frameSize() {
    if (this.header === null) return null;
    const [height, width] = this.header.shape;
    return /** @type {[number, number]} */ ([width, height]);
  }

  /** @param {MouseEvent} event the event's position in the box, CSS pixels */
  boxPoint(event) {
    const rect = this.box.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  /**
   * Box position (CSS pixels) → frame coordinates.
   * @param {number} x
   * @param {number} y
   */
  toFrame(x, y) {
    return [this.cx + (x - this.box.clientWidth / 2) / this.zoom, this.cy + (y - this.box.clientHeight / 2) / this.zoom];
  }

  /**
   * Frame coordinates → box position.
   * @param {number} u
   * @param {number} v
   */
  toBox(u, v) {
    return [this.box.clientWidth / 2 + (u - this.cx) * this.zoom, this.box.clientHeight / 2 + (v - this.cy) * this.zoom];
  }

  /**
   * The frame pixel at frame coordinates, clamped into the frame.
   * @param {number} u
   * @param {number} v
   */
  pixelAt(u, v) {
    const [width, height] = this.frameSize() ?? [1, 1];
    return [Math.min(width - 1, Math.max(0, Math.floor(u))), Math.min(height - 1, Math.max(0, Math.floor(v)))];
  }

  fitZoom() {
    const [width, height] = this.frameSize() ?? [1, 1];
    return Math.min(this.box.clientWidth / width, this.box.clientHeight / height);
  }

  /** The whole frame, as large as fits. */
  fit(notify = true) {
    const size = this.frameSize();
    if (size === null) return;
    this.fitted = true;
    this.zoom = this.fitZoom();
    [this.cx, this.cy] = [size[0] / 2, size[1] / 2];
    if (notify) this.viewChanged();
  }

  /**
   * @param {number} zoom screen pixels per frame pixel
   * @param {{ x: number, y: number }} [about] the box point that stays put (default: the centre)
   */
  setZoom(zoom, about) {
    const ratio = window.devicePixelRatio || 1;
    const limited = Math.max(Math.min(this.fitZoom(), 1 / ratio) / 2, Math.min(MAX_DEVICE_ZOOM / ratio, zoom));
    const point = about ?? { x: this.box.clientWidth / 2, y: this.box.clientHeight / 2 };
    const [u, v] = this.toFrame(point.x, point.y);
    this.zoom = limited;
    this.fitted = false;
    this.cx = u - (point.x - this.box.clientWidth / 2) / limited;
    this.cy = v - (point.y - this.box.clientHeight / 2) / limited;
    this.viewChanged();
  }

  /**
   * @param {number} factor
   * @param {{ x: number, y: number }} [about]
   */
  zoomBy(factor, about) {
    this.setZoom(this.zoom * factor, about);
  }

  /**
   * The bitmap size for a follower canvas (drawn in whole-frame coordinates, e.g. the analysis
   * overlay): the whole frame at about the screen's resolution, so markers stay sharp when zoomed
   * in, at most FOLLOWER_MAX_SIDE a side (a canvas is redrawn with every frame).
   */
  followerSize() {
    const [width, height] = this.frameSize() ?? [1, 1];
    const scale = Math.min(this.zoom * (window.devicePixelRatio || 1), FOLLOWER_MAX_SIDE / Math.max(width, height));
    return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
  }

  /** The frame rectangle in view (whole pixels, inside the frame). */
  visibleRegion() {
    const size = this.frameSize();
    if (size === null) return null;
    const [width, height] = size;
    if (this.fitted) return { x: 0, y: 0, width, height };
    const [u0, v0] = this.toFrame(0, 0);
    const [u1, v1] = this.toFrame(this.box.clientWidth, this.box.clientHeight);
    const x = Math.max(0, Math.min(width - 1, Math.floor(u0)));
    const y = Math.max(0, Math.min(height - 1, Math.floor(v0)));
    return {
      x,
      y,
      width: Math.max(1, Math.min(width, Math.ceil(u1)) - x),
      height: Math.max(1, Math.min(height, Math.ceil(v1)) - y),
    };
  }

  /**
   * What the frame source should render next: the visible region, at the size it takes on
   * screen in device pixels (the source never magnifies; the view does, pixel by pixel).
   * `frame_shape` is the frame the region was chosen on: a frame of another size is sent whole.
   * @returns {{ max_width: number, max_height: number, region?: Rect, frame_shape?: number[] }}
   */
  displayRequest() {
    const ratio = window.devicePixelRatio || 1;
    const region = this.visibleRegion();
    if (region === null) {
      return {
        max_width: Math.max(16, Math.round(this.box.clientWidth * ratio)),
        max_height: Math.max(16, Math.round(this.box.clientHeight * ratio)),
      };
    }
    const side = (/** @type {number} */ frame) => Math.max(16, Math.min(4096, Math.ceil(frame * this.zoom * ratio)));
    const shape = this.header?.shape.slice(0, 2) ?? [];
    return { max_width: side(region.width), max_height: side(region.height), ...(this.fitted ? {} : { region, frame_shape: shape }) };
  }

  viewChanged() {
    // The centre stays on the frame: it cannot be panned out of sight.
    const size = this.frameSize();
    if (size !== null) {
      this.cx = Math.min(size[0], Math.max(0, this.cx));
      this.cy = Math.min(size[1], Math.max(0, this.cy));
    }
    this.place();
    this.drawTools();
    const ratio = window.devicePixelRatio || 1;
    this.ui.zoom.textContent = this.fitted ? `fit (${Math.round(this.zoom * ratio * 100)}%)` : `${Math.round(this.zoom * ratio * 100)}%`;
    this.onViewChange();
  }

  /** Puts the image where its region lies in the current view, and the followers over the whole frame. */
  place() {
    const header = this.header;
    const size = this.frameSize();
    if (header === null || size === null) return;
    const { region } = header;
    // Style changes cost the page a layout: only when the view or the region moved.
    const key = `${this.box.clientWidth} ${this.box.clientHeight} ${this.zoom} ${this.cx} ${this.cy} ${region.x} ${region.y} ${region.width} ${region.height} ${size[0]} ${size[1]}`;
    if (key === this.placedKey) return;
    this.placedKey = key;
    const [left, top] = this.toBox(region.x, region.y);
    Object.assign(this.canvas.style, {
      left: `${left}px`,
      top: `${top}px`,
      width: `${region.width * this.zoom}px`,
      height: `${region.height * this.zoom}px`,
    });
    const [frameLeft, frameTop] = this.toBox(0, 0);
    for (const follower of this.followers) {
      Object.assign(follower.style, {
        left: `${frameLeft}px`,
        top: `${frameTop}px`,
        width: `${size[0] * this.zoom}px`,
        height: `${size[1] * this.zoom}px`,
      });
    }
  }

  // ---- drawing ----

  /**
   * Draws one display frame (see the comment at the top of this file).
   * @param {DisplayFrameHeader} header
   * @param {Uint8Array} pixels
   * @param {Uint8Array | null} mask
   */
  show(header, pixels, mask) {
    const previous = this.header;
    const shapeChanged = previous === null || previous.shape[0] !== header.shape[0] || previous.shape[1] !== header.shape[1];
    this.header = header;
    this.pixels = pixels;
    this.mask = mask;
    this.redraw();
    if (shapeChanged) {
      // Another frame size (a new camera ROI): tools drawn on the old frame mean nothing on this one.
      this.line = null;
      this.rect = null;
      this.roiStats = null;
      this.ui.setRoi.disabled = true;
      this.info.profile.hidden = true;
      this.info.roi.textContent = 'draw a rectangle';
      this.fit();
    } else this.place();
    this.showSaturationCount(header);
    if (this.pointer !== null) this.askWhenDue('pixel');
    if (this.line !== null) this.askWhenDue('profile');
    if (this.rect !== null) this.askWhenDue('stats');
  }

  /**
   * Asks about the frame shown now if the question is due, else when it is: a frame that stays
   * (a recording stepped to, a live view that stopped) is never left with an earlier frame's values.
   * @param {'pixel' | 'profile' | 'stats'} kind
   */
  askWhenDue(kind) {
    if (performance.now() >= this.due[kind]) {
      this.waiting[kind] = false;
      this.readers[kind]();
      return;
    }
    this.waiting[kind] = true;
    this.scheduleDue(kind);
  }

  /** @param {'pixel' | 'profile' | 'stats'} kind */
  scheduleDue(kind) {
    const wait = this.due[kind] - performance.now();
    // Infinity: asking now; timed() schedules it once the answer is in.
    if (this.dueTimers[kind] !== null || !Number.isFinite(wait)) return;
    this.dueTimers[kind] = window.setTimeout(
      () => {
        this.dueTimers[kind] = null;
        if (this.waiting[kind]) this.askWhenDue(kind);
      },
      Math.max(0, wait),
    );
  }

  /** Maps the frame shown through the colour map, saturated pixels in their colour. */
  redraw() {
    const { header, pixels } = this;
    if (header === null || pixels === null) return;
    const { width, height, channels } = header;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.image = null;
    }
    const image = (this.image ??= this.context.createImageData(width, height));
    const rgba = new Uint32Array(image.data.buffer);
    const count = width * height;
    if (channels === 3) {
      for (let i = 0, j = 0; i < count; i++, j += 3) rgba[i] = 0xff000000 | (pixels[j + 2] << 16) | (pixels[j + 1] << 8) | pixels[j];
    } else {
      const table = colormapTable(this.colormap);
      for (let i = 0; i < count; i++) rgba[i] = table[pixels[i]];
    }
    const mask = this.mask;
    if (mask != null && this.showSaturation) {
      const colour = packRgb(channels === 3 ? COLOUR_FRAME_SATURATED : COLORMAPS[this.colormap].saturated);
      for (let i = 0; i < count; i++) if (mask[i] !== 0) rgba[i] = colour;
    }
    this.context.putImageData(image, 0, 0);
    const [r, g, b] = COLOUR_FRAME_SATURATED;
    const swatchColour = channels === 3 ? `rgb(${r}, ${g}, ${b})` : saturatedCss(this.colormap);
    if (swatchColour !== this.swatchColour) {
      this.swatchColour = swatchColour;
      this.ui.swatch.style.background = swatchColour;
    }
  }

  /** @param {DisplayFrameHeader} header */
  showSaturationCount(header) {
    const saturated = header.stats.saturated ?? 0;
    const box = this.info.saturation;
    box.hidden = saturated === 0;
    if (saturated > 0) {
      const [height, width, channels = 1] = header.shape;
      const share = (100 * saturated) / (width * height * channels);
      box.textContent = `⚠ ${saturated} saturated sample${saturated === 1 ? '' : 's'} (${share < 0.1 ? share.toPrecision(2) : share.toFixed(1)} %) at the full scale ${header.stats.full_scale}`;
    }
  }

  /** The drawn line or rectangle, and the scale bar, on the tools canvas over the image. */
  drawTools() {
    const ratio = window.devicePixelRatio || 1;
    const [boxWidth, boxHeight] = [this.box.clientWidth, this.box.clientHeight];
    const [width, height] = [Math.round(boxWidth * ratio), Math.round(boxHeight * ratio)];
    if (this.tools.width !== width || this.tools.height !== height) [this.tools.width, this.tools.height] = [width, height];
    const ctx = this.toolsContext;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, boxWidth, boxHeight);
    if (this.header === null) return;
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#ffd400';
    ctx.setLineDash([]);
    if (this.line !== null) {
      // Through pixel centres.
      const [ax, ay] = this.toBox(this.line.x0 + 0.5, this.line.y0 + 0.5);
      const [bx, by] = this.toBox(this.line.x1 + 0.5, this.line.y1 + 0.5);
      ctx.beginPath();
      ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      ctx.stroke();
    }
    if (this.rect !== null) {
      const [x, y] = this.toBox(this.rect.x, this.rect.y);
      ctx.strokeStyle = '#00e5ff';
      ctx.setLineDash([5, 3]);
      ctx.strokeRect(x, y, this.rect.width * this.zoom, this.rect.height * this.zoom);
    }
    this.drawScaleBar(ctx, boxHeight);
  }

  /**
   * A bar of a round length, about 100 screen pixels, bottom left: in µm when the pixel size is known.
   * @param {CanvasRenderingContext2D} ctx
   * @param {number} boxHeight
   */
  drawScaleBar(ctx, boxHeight) {
    const pixelSize = this.header?.pixel_size_um ?? null;
    const perPixel = pixelSize ?? 1;
    const unit = pixelSize === null ? 'px' : 'µm';
    const length = niceBelow((120 / this.zoom) * perPixel);
    const bar = (length / perPixel) * this.zoom;
    const [x, y] = [12, boxHeight - 14];
    ctx.setLineDash([]);
    ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
    ctx.fillRect(x - 6, y - 20, Math.max(bar, 60) + 12, 28);
    ctx.fillStyle = '#fff';
    ctx.fillRect(x, y, bar, 3);
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillText(`${length < 1 ? length.toPrecision(1) : length} ${unit}`, x, y - 6);
    this.scaleBar = { length, unit, pixels: bar };
  }

  /** @param {Tool} tool */
  setTool(tool) {
    this.tool = tool;
    this.box.dataset.tool = tool;
  }

  // ---- raw values ----

  /**
   * Asks the pixel source, and sets when the same question may be asked again (see INSPECT_SHARE).
   * @template T
   * @param {'pixel' | 'profile' | 'stats'} kind
   * @param {() => Promise<T>} ask
   */
  async timed(kind, ask) {
    const started = performance.now();
    this.due[kind] = Infinity;
    try {
      return await ask();
    } finally {
      const took = performance.now() - started;
      this.due[kind] = performance.now() + Math.max(INSPECT_EVERY_MS, took / INSPECT_SHARE);
      if (this.waiting[kind]) this.scheduleDue(kind);
    }
  }

  async updateReadout() {
    const header = this.header;
    const pointer = this.pointer;
    const size = this.frameSize();
    if (header === null || pointer === null || size === null) return;
    const [x, y] = [Math.floor(pointer.u), Math.floor(pointer.v)];
    if (x < 0 || y < 0 || x >= size[0] || y >= size[1]) {
      this.readout = null;
      this.info.pixel.textContent = '–';
      return;
    }
    const region = await this.timed('pixel', () => this.source.region(header, { x, y, width: 1, height: 1 }));
    if (this.pointer !== pointer) return; // moved on meanwhile
    const values = region.values;
    this.readout = { x, y, values, seq: header.seq };
    const text = values.length === 3 ? `R ${values[0]} G ${values[1]} B ${values[2]}` : values.join(' ');
    this.info.pixel.textContent = `(${x}, ${y}) = ${text}`;
  }

  async updateProfile() {
    const { header, line } = this;
    if (header === null || line === null) return;
    const profile = await this.timed('profile', () => this.source.line(header, line.x0, line.y0, line.x1, line.y1));
    if (this.line !== line) return;
    this.info.profile.hidden = false;
    this.profilePlot.show(profile);
    this.profile = { ...profile, seq: header.seq };
  }

  async updateStats() {
    const { header, rect } = this;
    if (header === null || rect === null) return;
    const stats = await this.timed('stats', () => this.source.stats(header, rect));
    if (this.rect !== rect) return;
    this.roiStats = stats;
    this.info.roi.textContent = `(${stats.x}, ${stats.y}) ${stats.width}×${stats.height}: ${describeStats(stats)}`;
  }

  /** @param {boolean} full */
  async applyRoi(full) {
    const roi = this.cameraRoi;
    const rect = this.rect;
    if (roi === null || (!full && rect === null)) return;
    this.ui.setRoi.disabled = true;
    this.ui.fullFrame.disabled = true;
    try {
      if (full) await roi.reset();
      else if (rect !== null) await roi.set(rect);
      this.onMessage(full ? 'Camera ROI: full frame.' : `Camera ROI set to ${rect?.width}×${rect?.height}.`, false);
    } catch (error) {
      this.onMessage(error instanceof Error ? error.message : String(error), true);
    } finally {
      this.ui.fullFrame.disabled = false;
      this.ui.setRoi.disabled = this.rect === null;
    }
  }
}
