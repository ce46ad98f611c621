// @ts-check
// labcast web UI: wires the live view, controls, status panel, plots and recordings list.

import { command, getJson, messageOf, watchStatus } from './api.js';
import { AnalysisPanel, Overlay, overlayStats, StatsPlots, watchResults } from './analysis.js';
import { cameraRoi } from './camera-roi.js';
import { ImageView } from './image-view.js';
import { LiveView, liveStats } from './live.js';
import { Plots } from './plots.js';
import { refreshRecordings } from './recordings.js';
import { ConnectionState } from './connection-state.js';
import { FrameSync } from './frame-sync.js';
import { SettingsPanel } from './settings-panel.js';

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
  recordName: $('record-name', HTMLInputElement),
  recordNote: $('record-note', HTMLInputElement),
  addNote: $('btn-note', HTMLButtonElement),
  reset: $('btn-reset', HTMLButtonElement),
  progress: $('status-progress'),
  progressBar: $('run-progress', HTMLProgressElement),
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
/**
 * The run a message in the command line is about ("Recording to …", "Saving to …"): once that
 * run has ended, the message says how it ended instead of going stale.
 * @type {string | null}
 */
let messageRun = null;

// ---- messages ----

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
function say(text, isError = false) {
  messageRun = null;
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
  if (!connection.connected) return;
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
          `(${last.end_reason})${last.error ? ` — ${last.error}` : ''}${last.note_error ? ` — name and note not stored: ${last.note_error}` : ''}`,
  );
  showProgress(next.progress ?? null);
  if (next.camera) settingsPanel.showValues(next.camera.settings);
  settingsPanel.setState(next.state, connection.connected);
  analysisPanel.update(next.analyses);
  endMessageOfEndedRun(next);
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
 * A message about a run that has ended says how it ended, not what was started.
 * @param {ExperimentStatus} next
 */
function endMessageOfEndedRun(next) {
  if (messageRun === null || next.run_id === messageRun) return;
  const last = next.last_recording;
  if (last !== null && last.run_id === messageRun) {
    say(
      `Recording ${last.end_reason === 'completed' ? 'finished' : last.end_reason}: ${recordingPlace(last)}, ` +
        `${last.frames_written} frames saved, ${last.frames_lost} lost.`,
      last.error !== null,
    );
  } else if (next.state === 'idle' || next.state === 'error') {
    // Ended without an account of it (a status from before it started may still be on its way: not that).
    say('');
  }
}

/**
 * "frame 120 of 500 · 1.2 s · 3.8 s left", and the bar, while a recording runs.
 * @param {import('./api.js').RunProgress | null} progress
 */
function showProgress(progress) {
  ui.progressBar.hidden = progress === null || (progress.frames_target === null && progress.duration_target_s === null);
  if (progress === null) {
    ui.progress.textContent = '–';
    return;
  }
  const frames = progress.frames_target === null ? `frame ${progress.frames}` : `frame ${progress.frames} of ${progress.frames_target}`;
  const time =
    progress.duration_target_s === null
      ? `${progress.elapsed_s.toFixed(1)} s`
      : `${progress.elapsed_s.toFixed(1)} of ${progress.duration_target_s} s`;
  const left = progress.eta_s === null ? '' : ` · ${progress.eta_s.toFixed(1)} s left`;
  ui.progress.textContent = `${frames} · ${time}${left}`;
  const fractions = [];
  if (progress.frames_target !== null) fractions.push(progress.frames / progress.frames_target);
  if (progress.duration_target_s !== null) fractions.push(progress.elapsed_s / progress.duration_target_s);
  ui.progressBar.value = Math.min(1, Math.max(0, ...fractions));
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
  // Nothing can be asked of a server that is not there.
  const known = status !== null && connection.connected;
  ui.live.disabled = !known || state !== 'idle';
  ui.stop.disabled = !known || !(state === 'live' || state === 'recording');
  ui.snap.disabled = !known || !(state === 'idle' || state === 'live');
  ui.record.disabled = !known || !(state === 'idle' || state === 'live');
  ui.save.disabled = !known || !(state === 'live' || (state === 'recording' && savingStream(status)));
  ui.trigger.hidden = !inSoftwareTriggerMode(status);
  ui.trigger.disabled = !known || !(state === 'live' || state === 'recording');
  ui.reset.disabled = !known;
  ui.recordFrames.disabled = !connection.connected;
  ui.addNote.disabled = !known || !status?.last_recording?.path;
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

const settingsPanel = new SettingsPanel($('settings-list'), say, $('settings-filter', HTMLInputElement));

async function loadSettings() {
  try {
    await settingsPanel.load();
  } catch (error) {
    say(`cannot read the camera settings: ${messageOf(error)}`, true);
  }
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
  frameSync.resultArrived();
  statsPlots.add(message);
});
const connection = new ConnectionState(
  { banner: $('connection-banner'), badge: ui.badge, note: ui.connection, page: document.body },
  (connected) => {
    updateButtons();
    settingsPanel.setState(status?.state ?? 'unknown', connected);
    if (connected) {
      // A server that came back may be a new one (another camera, other settings): read it afresh.
      getJson('/api/status').then(showStatus, (error) => say(messageOf(error), true));
      void loadSettings();
      void refreshRecordings(ui.recordingsBody);
    } else {
      messageRun = null;
      text('status-state', 'disconnected');
      text('status-fps', '–');
      text('status-mbps', '–');
      text('display-fps', '–');
      text('display-latency', '–');
      showProgress(null);
    }
  },
);
const frameSync = new FrameSync(
  (runId, seq) => overlay.hasResult(runId, seq),
  () => overlay.wantsSync(),
);
/** @type {Window & { labcastFrameSync?: FrameSync['stats'] }} */ (window).labcastFrameSync = frameSync.stats;

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
    connection.set('live', connected);
  },
  gate: (header, show) => frameSync.offer(header, show),
});

setInterval(() => {
  if (!connection.connected) return;
  overlay.refresh();
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
  // What is being stopped, as the page knows it now: a recording's count is only told for that recording.
  const recordingRun = status?.state === 'recording' || status?.state === 'stopping' ? status.run_id : null;
  void run(ui.stop, { cmd: 'stop' }, (s) => {
    const last = s.last_recording;
    if (recordingRun === null) return 'Live view stopped.';
    if (last === null || last.run_id !== recordingRun) return 'Stopped.';
    return `Stopped; ${last.frames_written} frames saved to ${recordingPlace(last)}.`;
  });
});
ui.snap.addEventListener('click', () => void run(ui.snap, { cmd: 'snap' }, (r) => `Snapped to ${r.path ?? recordingPlace(r)}`));
ui.trigger.addEventListener('click', () => void run(ui.trigger, { cmd: 'trigger' }, () => 'Triggered.'));
ui.record.addEventListener('click', () => {
  const raw = ui.recordFrames.value.trim();
  /** @type {{ cmd: 'record', frames?: number, name?: string, note?: string }} */
  const request = { cmd: 'record' };
  const name = ui.recordName.value.trim();
  const note = ui.recordNote.value.trim();
  if (name !== '') request.name = name;
  if (note !== '') request.note = note;
  if (raw !== '') {
    const frames = Number(raw);
    if (!Number.isInteger(frames) || frames < 1) {
      say('Frames must be a whole number of at least 1, or empty to record until stopped.', true);
      return;
    }
    request.frames = frames;
  }
  void recordClicked(request);
});
/** @param {{ cmd: 'record', frames?: number, name?: string, note?: string }} request */
async function recordClicked(request) {
  const result = await run(
    ui.record,
    request,
    (s) => `Recording to ${s.file ?? 'file'}${request.frames ? ` (${request.frames} frames)` : ' until stopped'}.`,
  );
  // The message stands for this recording; when it ends, showStatus says how it ended.
  if (result !== null) {
    // The note went with this recording; the field is free for the next.
    if (request.note !== undefined) ui.recordNote.value = '';
    messageRun = result.run_id;
    endMessageOfEndedRun(status ?? result);
  }
}
ui.save.addEventListener('click', () => void saveClicked());
async function saveClicked() {
  const on = ui.save.getAttribute('aria-pressed') !== 'true';
  const result = await run(ui.save, { cmd: 'save', on }, (s) => (on ? `Saving to ${s.file}.` : 'Saving stopped; still live.'));
  if (result !== null) {
    saveStartedRun = on ? result.run_id : null;
    showStatus(result);
    if (on) messageRun = result.run_id;
  }
}
ui.addNote.addEventListener('click', () => void addNoteClicked());
async function addNoteClicked() {
  const path = status?.last_recording?.path;
  const text = ui.recordNote.value.trim();
  if (!path) return;
  if (text === '') {
    say('Write the note first, then press "Add to last".', true);
    return;
  }
  const result = await run(
    ui.addNote,
    { cmd: 'note', path, text },
    (r) => `Note added to ${r.path.split('/').pop() ?? r.path} (${r.notes} in the file).`,
  );
  if (result !== null) ui.recordNote.value = '';
}
ui.reset.addEventListener('click', () => void run(ui.reset, { cmd: 'reset' }, () => 'Back to idle.'));
ui.autoLevels.addEventListener('change', levelsChanged);
ui.black.addEventListener('change', levelsChanged);
ui.white.addEventListener('change', levelsChanged);
$('btn-refresh').addEventListener('click', () => void refreshRecordings(ui.recordingsBody));

watchStatus(showStatus, (connected) => connection.set('status', connected));
updateButtons();
