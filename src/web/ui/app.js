// @ts-check
// labcast web UI: wires the live view, controls, status panel, plots and recordings list.

import { command, getJson, messageOf, watchStatus } from './api.js';
import { AnalysisPanel, Overlay, overlayStats, StatsPlots, watchResults } from './analysis.js';
import { cameraRoi } from './camera-roi.js';
import { ImageView } from './image-view.js';
import { LiveView, liveStats } from './live.js';
import { Plots } from './plots.js';
import { refreshRecordings } from './recordings.js';

/** @typedef {import('./api.js').ExperimentStatus} ExperimentStatus */
/** @typedef {import('./api.js').SettingSpec} SettingSpec */
/** @typedef {import('./live.js').LiveFrameHeader} LiveFrameHeader */

/**
 * A recording's file name, or who wrote it when a remote saver named the file.
 * @param {{ path: string | null, saver: string }} recording
 */
function recordingPlace(recording) {
  return recording.path === null ? `a file of the ${recording.saver}` : (recording.path.split('/').pop() ?? recording.path);
}

/**
 * The page's element with this id, of the kind the code expects; the page and this file are
 * written together, so a missing one is a mistake to report at once, not a null to trip on later.
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

/**
 * [height, width(, channels)] as people write it: width×height (×channels).
 * @param {readonly number[]} shape
 */
function frameSize(shape) {
  const [height, width, channels] = shape;
  return `${width}×${height}${channels === undefined ? '' : `×${channels}`}`;
}

const ui = {
  badge: $('state-badge'),
  cameraName: $('camera-name'),
  connection: $('connection'),
  banner: $('error-banner'),
  message: $('command-message'),
  noFrames: $('no-frames'),
  live: $('btn-live', HTMLButtonElement),
  stop: $('btn-stop', HTMLButtonElement),
  snap: $('btn-snap', HTMLButtonElement),
  trigger: $('btn-trigger', HTMLButtonElement),
  save: $('btn-save', HTMLButtonElement),
  record: $('btn-record', HTMLButtonElement),
  recordFrames: $('record-frames', HTMLInputElement),
  reset: $('btn-reset', HTMLButtonElement),
  brightness: $('brightness', HTMLInputElement),
  brightnessValue: $('brightness-value'),
  exposure: $('exposure', HTMLInputElement),
  exposureUnit: $('exposure-unit'),
  autoLevels: $('auto-levels', HTMLInputElement),
  black: $('level-black', HTMLInputElement),
  white: $('level-white', HTMLInputElement),
  recordingsBody: $('recordings-body', HTMLTableSectionElement),
};

/** @type {ExperimentStatus | null} */
let status = null;
/** @type {LiveFrameHeader | null} */
let lastFrame = null;
/** @type {string | null} */
let lastRecordingKey = null;

// ---- messages ----

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
function say(text, isError = false) {
  ui.message.textContent = text;
  ui.message.classList.toggle('error', isError);
}

/**
 * Runs a command from a button: disables it meanwhile, reports errors in words.
 * @template {import('./api.js').ControlRequest} R
 * @param {HTMLButtonElement} button
 * @param {R} request
 * @param {(result: import('./api.js').ControlResult<R['cmd']>) => string} [describe]
 */
async function run(button, request, describe) {
  button.disabled = true;
  say('');
  try {
    const result = await command(request);
    if (result && typeof result === 'object' && 'state' in result) showStatus(/** @type {ExperimentStatus} */ (result));
    if (describe) say(describe(result));
    return result;
  } catch (error) {
    say(messageOf(error), true);
    return null;
  } finally {
    updateButtons();
  }
}

// ---- status ----

/**
 * @param {string} id
 * @param {string} value
 */
function text(id, value) {
  $(id).textContent = value;
}

/** @param {ExperimentStatus} next */
function showStatus(next) {
  status = next;
  ui.badge.textContent = next.state;
  ui.badge.dataset.state = next.state;
  if (next.camera) ui.cameraName.textContent = `${next.camera.model} (${next.camera.driver})`;
  ui.banner.hidden = next.error === null;
  ui.banner.textContent = next.error === null ? '' : `Error: ${next.error}. Press "Reset after error" to continue; what was saved is kept.`;
  ui.reset.hidden = next.state !== 'error';
  text('status-state', next.state);
  text('status-run', next.run_id ?? '–');
  text('status-acquired', String(next.frames.acquired));
  text('status-saved', String(next.frames.saved));
  text('status-dropped', String(next.frames.dropped));
  text('status-fps', next.fps.toFixed(1));
  text('status-mbps', next.mb_per_s.toFixed(1));
  showCameraRate(next);
  text('status-file', next.file ?? '–');
  const last = next.last_recording;
  text(
    'status-last',
    last === null
      ? '–'
      : `${recordingPlace(last)}: ${last.frames_written} frames saved, ${last.frames_lost} lost ` +
          `(${last.end_reason})${last.error ? ` — ${last.error}` : ''}`,
  );
  if (next.camera) showSettings(next.camera.settings);
  analysisPanel.update(next.analyses);
  ui.save.setAttribute('aria-pressed', String(next.state === 'recording' && savingStream(next)));
  updateButtons();
  // A recording that ended or started changes the list.
  const key = `${last?.run_id}:${last?.frames_written}:${next.file}`;
  if (key !== lastRecordingKey) {
    lastRecordingKey = key;
    void refreshRecordings(ui.recordingsBody);
  }
}

/**
 * Requested vs achieved frame rate; a camera that cannot keep its rate is flagged, not silent.
 * @param {ExperimentStatus} next
 */
function showCameraRate(next) {
  const cell = $('status-camera-rate');
  const requested = next.fps_requested ?? null;
  const achieved = next.fps_achieved ?? null;
  const warning = next.rate_warning ?? null;
  cell.dataset.warning = String(warning !== null);
  if (warning !== null) cell.textContent = `⚠ ${warning}`;
  else if (requested === null) cell.textContent = achieved === null ? 'as fast as frames are taken' : `${achieved.toFixed(1)} fps`;
  else cell.textContent = `requested ${requested} fps${achieved === null ? '' : `, achieved ${achieved.toFixed(1)} fps`}`;
}

/**
 * "Save" is on while a recording runs that `save on` started (until stopped, no frame count).
 * @type {string | null}
 */
let saveStartedRun = null;
/** @param {ExperimentStatus | null} next */
function savingStream(next) {
  return saveStartedRun !== null && next?.run_id === saveStartedRun;
}

function updateButtons() {
  const state = status?.state ?? 'unknown';
  const known = status !== null;
  ui.live.disabled = !known || state !== 'idle';
  ui.stop.disabled = !known || !(state === 'live' || state === 'recording');
  ui.snap.disabled = !known || !(state === 'idle' || state === 'live');
  ui.record.disabled = !known || !(state === 'idle' || state === 'live');
  ui.save.disabled = !known || !(state === 'live' || (state === 'recording' && savingStream(status)));
  ui.trigger.hidden = !inSoftwareTriggerMode(status);
  ui.trigger.disabled = !known || !(state === 'live' || state === 'recording');
}

/**
 * A GenICam camera waiting for software triggers (TriggerMode On, TriggerSource Software).
 * @param {ExperimentStatus | null} next
 */
function inSoftwareTriggerMode(next) {
  const settings = next?.camera?.settings ?? {};
  return settings.TriggerMode === 'On' && settings.TriggerSource === 'Software';
}

// ---- camera settings ----

/** @type {Map<string, SettingSpec>} */
let specs = new Map();
/** The setting input being changed by the user: status updates do not overwrite it meanwhile. @type {HTMLInputElement | null} */
let editing = null;

async function loadSettings() {
  try {
    const result = await command({ cmd: 'settings' });
    specs = new Map(result.specs.map((spec) => [spec.name, spec]));
    bindRange(ui.brightness, specs.get('brightness'));
    const exposure = specs.get('exposure_ms');
    bindRange(ui.exposure, exposure);
    if (exposure !== undefined) ui.exposureUnit.textContent = exposure.unit;
    showSettings(result.settings);
  } catch (error) {
    say(`cannot read the camera settings: ${messageOf(error)}`, true);
  }
}

/**
 * @param {HTMLInputElement} input
 * @param {SettingSpec | undefined} spec
 */
function bindRange(input, spec) {
  if (!spec) return;
  input.min = String(spec.min);
  input.max = String(spec.max);
  input.step = spec.integer ? '1' : input.type === 'range' ? String((spec.max - spec.min) / 400) : 'any';
  input.title = `${spec.description} (${spec.min} – ${spec.max} ${spec.unit})`;
  input.disabled = false;
}

/** @param {Readonly<Record<string, number | string | boolean>>} settings */
function showSettings(settings) {
  if ('brightness' in settings && editing !== ui.brightness) {
    ui.brightness.value = String(settings.brightness);
    ui.brightnessValue.textContent = `${Number(settings.brightness).toFixed(1)} ${specs.get('brightness')?.unit ?? ''}`;
  }
  if ('exposure_ms' in settings && editing !== ui.exposure && document.activeElement !== ui.exposure) {
    ui.exposure.value = String(settings.exposure_ms);
  }
}

/**
 * @param {string} name
 * @param {HTMLInputElement} input
 */
async function setSetting(name, input) {
  const value = Number(input.value);
  if (!Number.isFinite(value)) return;
  try {
    const result = await command({ cmd: 'set', name, value });
    showSettings(result.settings);
  } catch (error) {
    say(messageOf(error), true);
  }
}

// Brightness follows the slider while it moves (at most one request in flight, the newest value wins).
let settingInFlight = false;
let settingAgain = false;
async function brightnessMoved() {
  editing = ui.brightness;
  ui.brightnessValue.textContent = `${Number(ui.brightness.value).toFixed(1)} ${specs.get('brightness')?.unit ?? ''}`;
  if (settingInFlight) {
    settingAgain = true;
    return;
  }
  settingInFlight = true;
  do {
    settingAgain = false;
    await setSetting('brightness', ui.brightness);
  } while (settingAgain);
  settingInFlight = false;
  editing = null;
}

// ---- display levels ----

function levelsChanged() {
  const auto = ui.autoLevels.checked;
  ui.black.disabled = auto;
  ui.white.disabled = auto;
  if (auto) {
    live.setLevels({ mode: 'auto' });
    return;
  }
  if (ui.black.value === '' || ui.white.value === '') {
    ui.black.value = String(Math.round(lastFrame?.black ?? 0));
    ui.white.value = String(Math.round(lastFrame?.white ?? lastFrame?.stats.full_scale ?? 255));
  }
  const black = Number(ui.black.value);
  const white = Number(ui.white.value);
  if (Number.isFinite(black) && Number.isFinite(white)) live.setLevels({ mode: 'manual', black, white });
}

// ---- wiring ----

const plots = new Plots($('histogram-plot'), $('mean-plot'), {
  // Dragged on the histogram: manual levels, as if typed.
  onLevels(black, white) {
    ui.autoLevels.checked = false;
    ui.black.value = String(black);
    ui.white.value = String(white);
    levelsChanged();
  },
});
$('histogram-log', HTMLInputElement).addEventListener('change', (event) =>
  plots.setLog(/** @type {HTMLInputElement} */ (event.currentTarget).checked),
);
const analysisPanel = new AnalysisPanel($('analysis-list'), say);
const overlay = new Overlay($('overlay-canvas', HTMLCanvasElement), {
  showSpots: $('show-spots', HTMLInputElement),
  showTracks: $('show-tracks', HTMLInputElement),
  readout: $('display-spots'),
});
const statsPlots = new StatsPlots($('stats-mean-plot'), $('stats-histogram-plot'));
watchResults((message) => {
  overlayStats.results += 1;
  overlay.addResult(message);
  statsPlots.add(message);
});
let liveConnected = false;
let statusConnected = false;
function showConnection() {
  ui.connection.textContent = liveConnected && statusConnected ? 'connected' : 'reconnecting…';
}

/** @type {ImageView} */
const imageView = new ImageView(
  {
    box: $('canvas-box'),
    canvas: $('live-canvas', HTMLCanvasElement),
    followers: [$('overlay-canvas', HTMLCanvasElement)],
    toolbar: $('image-toolbar'),
    info: $('image-info'),
  },
  {
    pixelSource: {
      region: (frame, rect) => live.pixelSource().region(frame, rect),
      line: (frame, x0, y0, x1, y1) => live.pixelSource().line(frame, x0, y0, x1, y1),
      stats: (frame, rect) => live.pixelSource().stats(frame, rect),
    },
    onViewChange: () => live.sendDisplay(),
    cameraRoi: cameraRoi(() => status),
    onMessage: say,
  },
);
/** For tests and for people at the console: the view's zoom, readout, profile and ROI statistics. */
/** @type {Window & { labcastView?: ImageView }} */ (window).labcastView = imageView;

/** @type {LiveView} */
const live = new LiveView(imageView, {
  onFrame(header) {
    lastFrame = header;
    ui.noFrames.hidden = true;
    plots.add(header);
    // The overlay covers the whole frame (the image view places it), at its own resolution.
    overlay.frameShown({ ...header, ...imageView.followerSize() });
    const fullScale = header.stats.full_scale;
    ui.black.max = ui.white.max = String(fullScale);
  },
  onConnection(connected) {
    liveConnected = connected;
    showConnection();
  },
});

setInterval(() => {
  text('display-fps', String(live.displayFps()));
  const latency = live.recentLatency();
  text('display-latency', latency === null ? '–' : latency.toFixed(0));
  if (lastFrame !== null) {
    text('display-seq', `${lastFrame.seq} (${liveStats.skipped} skipped)`);
    text('display-size', `${frameSize(lastFrame.shape)} ${lastFrame.dtype} → ${lastFrame.width}×${lastFrame.height}`);
    text('display-mean', lastFrame.stats.mean.toFixed(1));
  }
}, 500);

// The async handlers below show their own failures in the page (run, setSetting and
// refreshRecordings catch and say what went wrong), so a listener only starts them.
ui.live.addEventListener('click', () => void run(ui.live, { cmd: 'live' }));
ui.stop.addEventListener('click', () => {
  saveStartedRun = null;
  void run(ui.stop, { cmd: 'stop' }, (s) => (s.last_recording ? `Stopped; ${s.last_recording.frames_written} frames saved.` : 'Stopped.'));
});
ui.snap.addEventListener('click', () => void run(ui.snap, { cmd: 'snap' }, (r) => `Snapped to ${r.path ?? recordingPlace(r)}`));
ui.trigger.addEventListener('click', () => void run(ui.trigger, { cmd: 'trigger' }, () => 'Triggered.'));
ui.record.addEventListener('click', () => {
  const raw = ui.recordFrames.value.trim();
  /** @type {{ cmd: 'record', frames?: number }} */
  const request = { cmd: 'record' };
  if (raw !== '') {
    const frames = Number(raw);
    if (!Number.isInteger(frames) || frames < 1) {
      say('Frames must be a whole number of at least 1, or empty to record until stopped.', true);
      return;
    }
    request.frames = frames;
  }
  void run(
    ui.record,
    request,
    (s) => `Recording to ${s.file ?? 'file'}${request.frames ? ` (${request.frames} frames)` : ' until stopped'}.`,
  );
});
ui.save.addEventListener('click', () => void saveClicked());
async function saveClicked() {
  const on = ui.save.getAttribute('aria-pressed') !== 'true';
  const result = await run(ui.save, { cmd: 'save', on }, (s) => (on ? `Saving to ${s.file}.` : 'Saving stopped; still live.'));
  if (result !== null) {
    saveStartedRun = on ? result.run_id : null;
    showStatus(result);
  }
}
ui.reset.addEventListener('click', () => void run(ui.reset, { cmd: 'reset' }, () => 'Back to idle.'));
ui.brightness.addEventListener('input', () => void brightnessMoved());
ui.exposure.addEventListener('change', () => void setSetting('exposure_ms', ui.exposure));
ui.autoLevels.addEventListener('change', levelsChanged);
ui.black.addEventListener('change', levelsChanged);
ui.white.addEventListener('change', levelsChanged);
$('btn-refresh').addEventListener('click', () => void refreshRecordings(ui.recordingsBody));

watchStatus(showStatus, (connected) => {
  statusConnected = connected;
  showConnection();
});
getJson('/api/status').then(showStatus, (error) => say(messageOf(error), true));
void loadSettings();
updateButtons();
