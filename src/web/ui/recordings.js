// The recordings list: files in the data directory with what `labcast inspect` reports.

import { getJson } from './api.js';

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

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

export async function refreshRecordings(body) {
  let entries;
  try {
    entries = await getJson('/api/recordings');
  } catch (error) {
    body.replaceChildren();
    const row = body.insertRow();
    const td = cell(row, `cannot list recordings: ${error.message}`, 'bad');
    td.colSpan = 9;
    return;
  }
  body.replaceChildren();
  if (entries.length === 0) {
    const td = cell(body.insertRow(), 'No recordings yet.', 'muted');
    td.colSpan = 9;
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
      cell(row, s.finished ? s.end_reason : 'not finished', s.finished ? '' : 'bad');
    }
    cell(row, formatBytes(entry.bytes));
    cell(row, new Date(entry.modified).toLocaleString());
  }
}
