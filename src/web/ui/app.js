// labcast web UI: wires the live view, controls, status panel, plots and recordings list.

import { command, getJson, watchStatus } from './api.js';
import { AnalysisPanel, Overlay, StatsPlots, watchResults } from './analysis.js';
import { LiveView, liveStats } from './live.js';
import { Plots } from './plots.js';
import { refreshRecordings } from './recordings.js';

const $ = (id) => document.getElementById(id);

/** [height, width(, channels)] as people write it: width×height (×channels). */
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
  live: $('btn-live'),
  stop: $('btn-stop'),
  snap: $('btn-snap'),
  trigger: $('btn-trigger'),
  save: $('btn-save'),
  record: $('btn-record'),
  recordFrames: $('record-frames'),
  reset: $('btn-reset'),
  brightness: $('brightness'),
  brightnessValue: $('brightness-value'),
  exposure: $('exposure'),
  exposureUnit: $('exposure-unit'),
  autoLevels: $('auto-levels'),
  black: $('level-black'),
  white: $('level-white'),
  recordingsBody: $('recordings-body'),
};

let status = null;
let lastFrame = null;
let lastRecordingKey = null;

// ---- messages ----

function say(text, isError = false) {
  ui.message.textContent = text;
  ui.message.classList.toggle('error', isError);
}

/** Runs a command from a button: disables it meanwhile, reports errors in words. */
async function run(button, request, describe) {
  button.disabled = true;
  say('');
  try {
    const result = await command(request);
    if (result && typeof result === 'object' && 'state' in result) showStatus(result);
    if (describe) say(describe(result));
    return result;
  } catch (error) {
    say(error.message, true);
    return null;
  } finally {
    updateButtons();
  }
}

// ---- status ----

function text(id, value) {
  $(id).textContent = value;
}

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
  text('status-file', next.file ?? '–');
  const last = next.last_recording;
  text(
    'status-last',
    last === null
      ? '–'
      : `${last.path.split('/').pop()}: ${last.frames_written} frames saved, ${last.frames_dropped} dropped (${last.end_reason})${last.error ? ` — ${last.error}` : ''}`,
  );
  if (next.camera) showSettings(next.camera.settings);
  analysisPanel.update(next.analyses);
  ui.save.setAttribute('aria-pressed', String(next.state === 'recording' && savingStream(next)));
  updateButtons();
  // A recording that ended or started changes the list.
  const key = `${last?.path}:${last?.frames_written}:${next.file}`;
  if (key !== lastRecordingKey) {
    lastRecordingKey = key;
    void refreshRecordings(ui.recordingsBody);
  }
}

/** "Save" is on while a recording runs that `save on` started (until stopped, no frame count). */
let saveStartedRun = null;
function savingStream(next) {
  return saveStartedRun !== null && next.run_id === saveStartedRun;
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

/** A GenICam camera waiting for software triggers (TriggerMode On, TriggerSource Software). */
function inSoftwareTriggerMode(next) {
  const settings = next?.camera?.settings ?? {};
  return settings.TriggerMode === 'On' && settings.TriggerSource === 'Software';
}

// ---- camera settings ----

let specs = new Map();
let editing = null;

async function loadSettings() {
  try {
    const result = await command({ cmd: 'settings' });
    specs = new Map(result.specs.map((spec) => [spec.name, spec]));
    bindRange(ui.brightness, specs.get('brightness'));
    bindRange(ui.exposure, specs.get('exposure_ms'));
    if (specs.has('exposure_ms')) ui.exposureUnit.textContent = specs.get('exposure_ms').unit;
    showSettings(result.settings);
  } catch (error) {
    say(`cannot read the camera settings: ${error.message}`, true);
  }
}

function bindRange(input, spec) {
  if (!spec) return;
  input.min = String(spec.min);
  input.max = String(spec.max);
  input.step = spec.integer ? '1' : input.type === 'range' ? String((spec.max - spec.min) / 400) : 'any';
  input.title = `${spec.description} (${spec.min} – ${spec.max} ${spec.unit})`;
  input.disabled = false;
}

function showSettings(settings) {
  if ('brightness' in settings && editing !== ui.brightness) {
    ui.brightness.value = String(settings.brightness);
    ui.brightnessValue.textContent = `${Number(settings.brightness).toFixed(1)} ${specs.get('brightness')?.unit ?? ''}`;
  }
  if ('exposure_ms' in settings && editing !== ui.exposure && document.activeElement !== ui.exposure) {
    ui.exposure.value = String(settings.exposure_ms);
  }
}

async function setSetting(name, input) {
  const value = Number(input.value);
  if (!Number.isFinite(value)) return;
  try {
    const result = await command({ cmd: 'set', name, value });
    showSettings(result.settings);
  } catch (error) {
    say(error.message, true);
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

const plots = new Plots($('histogram-plot'), $('mean-plot'));
const analysisPanel = new AnalysisPanel($('analysis-list'), say);
const overlay = new Overlay($('overlay-canvas'), { showSpots: $('show-spots'), showTracks: $('show-tracks'), readout: $('display-spots') });
const statsPlots = new StatsPlots($('stats-mean-plot'), $('stats-histogram-plot'));
watchResults((message) => {
  window.labcastOverlay.results += 1;
  overlay.addResult(message);
  statsPlots.add(message);
});
let liveConnected = false;
let statusConnected = false;
function showConnection() {
  ui.connection.textContent = liveConnected && statusConnected ? 'connected' : 'reconnecting…';
}

const live = new LiveView($('live-canvas'), $('canvas-box'), {
  onFrame(header) {
    lastFrame = header;
    ui.noFrames.hidden = true;
    plots.add(header);
    overlay.frameShown(header);
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

ui.live.addEventListener('click', () => run(ui.live, { cmd: 'live' }));
ui.stop.addEventListener('click', () => {
  saveStartedRun = null;
  return run(ui.stop, { cmd: 'stop' }, (s) => (s.last_recording ? `Stopped; ${s.last_recording.frames_written} frames saved.` : 'Stopped.'));
});
ui.snap.addEventListener('click', () => run(ui.snap, { cmd: 'snap' }, (r) => `Snapped to ${r.path}`));
ui.trigger.addEventListener('click', () => run(ui.trigger, { cmd: 'trigger' }, () => 'Triggered.'));
ui.record.addEventListener('click', () => {
  const raw = ui.recordFrames.value.trim();
  const request = { cmd: 'record' };
  if (raw !== '') {
    const frames = Number(raw);
    if (!Number.isInteger(frames) || frames < 1) {
      say('Frames must be a whole number of at least 1, or empty to record until stopped.', true);
      return;
    }
    request.frames = frames;
  }
  return run(ui.record, request, (s) => `Recording to ${s.file ?? 'file'}${request.frames ? ` (${request.frames} frames)` : ' until stopped'}.`);
});
ui.save.addEventListener('click', async () => {
  const on = ui.save.getAttribute('aria-pressed') !== 'true';
  const result = await run(ui.save, { cmd: 'save', on }, (s) => (on ? `Saving to ${s.file}.` : 'Saving stopped; still live.'));
  if (result !== null) {
    saveStartedRun = on ? result.run_id : null;
    showStatus(result);
  }
});
ui.reset.addEventListener('click', () => run(ui.reset, { cmd: 'reset' }, () => 'Back to idle.'));
ui.brightness.addEventListener('input', brightnessMoved);
ui.exposure.addEventListener('change', () => setSetting('exposure_ms', ui.exposure));
ui.autoLevels.addEventListener('change', levelsChanged);
ui.black.addEventListener('change', levelsChanged);
ui.white.addEventListener('change', levelsChanged);
$('btn-refresh').addEventListener('click', () => refreshRecordings(ui.recordingsBody));

watchStatus(showStatus, (connected) => {
  statusConnected = connected;
  showConnection();
});
getJson('/api/status').then(showStatus, (error) => say(error.message, true));
void loadSettings();
updateButtons();
