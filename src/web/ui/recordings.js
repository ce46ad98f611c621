// @ts-check
// The recordings list: files in the data directory with what `labcast inspect` reports.

import { getJson, messageOf } from './api.js';
import { openRecording } from './recording-viewer.js';

/**
 * One file as GET /api/recordings lists it (web/recordings.ts RecordingEntry; that module reads
 * the disk, so the page cannot import its types).
 * @typedef {object} RecordingEntry
 * @property {string} name relative to the data directory
 * @property {string} path
 * @property {number} bytes
 * @property {string} modified
 * @property {boolean} active the file being recorded now (not inspected)
 * @property {string | null} error why it could not be read
 * @property {RecordingSummary | null} summary
 */
/**
 * @typedef {object} RecordingSummary
 * @property {boolean} finished
 * @property {number} frames
 * @property {number[]} shape
 * @property {string} dtype
 * @property {number | null} duration_s
 * @property {number | null} fps
 * @property {number} missing_frames
 * @property {number} gaps
 * @property {number | null} frames_dropped
 * @property {string | null} end_reason
 */

/** @param {number} bytes */
function formatBytes(bytes) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * @param {HTMLTableRowElement} row
 * @param {string} text
 * @param {string} [className]
 */
function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

/** The newest refreshRecordings call; an older one's answer is dropped. */
let latestRequest = 0;

/** @param {HTMLTableSectionElement} body */
export async function refreshRecordings(body) {
  // Refreshes overlap (one starts as a recording begins, the next as it ends), and a list
  // that inspects many files can answer after a later one: only the newest request draws.
  const request = ++latestRequest;
  /** @type {RecordingEntry[]} */
  let entries;
  try {
    entries = await getJson('/api/recordings');
  } catch (error) {
    if (request !== latestRequest) return;
    body.replaceChildren();
    const row = body.insertRow();
    const td = cell(row, `cannot list recordings: ${messageOf(error)}`, 'bad');
    td.colSpan = 10;
    return;
  }
  if (request !== latestRequest) return;
  body.replaceChildren();
  if (entries.length === 0) {
    const td = cell(body.insertRow(), 'No recordings yet.', 'muted');
    td.colSpan = 10;
    return;
  }
  for (const entry of entries) {
    const row = body.insertRow();
    row.dataset.name = entry.name;
    const name = cell(row, entry.name, 'mono');
    name.title = entry.path;
    const s = entry.summary;
    if (entry.active) {
      const td = cell(row, 'being recorded…', 'muted');
      td.colSpan = 6;
    } else if (s === null) {
      const td = cell(row, `unreadable: ${entry.error}`, 'bad');
      td.colSpan = 6;
    } else {
      cell(row, String(s.frames));
      const [height, width, channels] = s.shape;
      cell(row, `${width}×${height}${channels === undefined ? '' : `×${channels}`} ${s.dtype}`);
      cell(row, s.duration_s === null ? '–' : `${s.duration_s.toFixed(2)} s`);
      cell(row, s.fps === null ? '–' : s.fps.toFixed(1));
      const lost = s.missing_frames + (s.frames_dropped ?? 0);
      cell(row, s.missing_frames === 0 ? '0' : `${s.missing_frames} in ${s.gaps} gaps`, lost > 0 ? 'bad' : '');
      cell(row, s.finished ? (s.end_reason ?? '') : 'not finished', s.finished ? '' : 'bad');
    }
    cell(row, formatBytes(entry.bytes));
    cell(row, new Date(entry.modified).toLocaleString());
    // A file being written opens too: the viewer shows the frames flushed so far.
    const view = cell(row, '');
    if (entry.active || s !== null) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'open-recording';
      button.textContent = 'Open';
      button.setAttribute('aria-label', `Open ${entry.name}`);
      button.addEventListener('click', () => openRecording(entry.name));
      view.append(button);
    }
  }
}
