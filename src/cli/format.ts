import type { AnalysisInfo, ExperimentStatus, ProcessInfo, RecordingInfo, RunProgress } from '../protocol/control.js';
import { stringifyWithNs } from '../protocol/json-ns.js';
import type { SettingSpecPayload } from '../protocol/process-messages.js';
import type { FrameGap } from '../hdf5/frame-gaps.js';
import type { RecordingSummary } from '../hdf5/file-inspector.js';
import { ENTRY_ATTRS } from '../hdf5/hdf5-layout.js';

/**
 * Output for people: the tables and summaries `labcast ctl` and `labcast
 * inspect` print. Scripts use --json, which prints the protocol's own objects.
 */

// ---- labcast ctl ----

function alignedRows(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`.trimEnd()).join('\n') + '\n';
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatStatus(status: ExperimentStatus): string {
  const { frames, camera } = status;
  const rows: [string, string][] = [
    ['state', status.state],
    ['error', status.error ?? 'none'],
    ['run id', status.run_id ?? 'none'],
    ['file', status.file ?? 'none'],
    [
      'frames',
      `acquired ${frames.acquired}, published ${frames.published} (${frames.live_skipped} skipped), saved ${frames.saved}, dropped ` +
        `${frames.dropped}`,
    ],
    ['rate', `${status.fps.toFixed(1)} fps, ${status.mb_per_s.toFixed(1)} MB/s`],
    ...(status.progress ? [['progress', formatRunProgress(status.progress)] as [string, string]] : []),
    ['rate asked', formatCameraRate(status)],
    ['camera', camera === null ? 'none' : `${camera.model}, driver ${camera.driver}`],
    ['settings', camera === null ? 'none' : formatSettingValues(camera.settings)],
    ['last recording', status.last_recording === null ? 'none' : formatRecordingInfo(status.last_recording)],
    ['processes', status.processes.length === 0 ? 'none' : status.processes.map(formatProcess).join(', ')],
    ['analyses', formatAnalysisSummary(status.analyses ?? [])],
    ...(status.stream === undefined ? [] : [['camera stream', formatCounters(status.stream)] as [string, string]]),
    ['endpoints', `control ${status.endpoints.control}, status ${status.endpoints.status}, data ${status.endpoints.data}`],
  ];
  return alignedRows(rows);
}

/** A camera's stream health counters (GenICam), as `name value` pairs. */
function formatCounters(counters: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counters);
  return entries.length === 0 ? 'none' : entries.map(([name, n]) => `${name} ${n}`).join(', ');
}

/** Requested vs achieved; a shortfall is said as a warning. */
function formatCameraRate(status: ExperimentStatus): string {
  if (status.rate_warning) return `WARNING: ${status.rate_warning}`;
  const requested = status.fps_requested ?? null;
  const achieved = status.fps_achieved ?? null;
  if (requested === null) return "none (frames as fast as they are taken, or at the source's own pace)";
  return `${requested} fps${achieved === null ? '' : `, achieved ${achieved.toFixed(1)} fps`}`;
}

/** "frame 120 of 500, 1.2 s, 3.8 s left": how far a recording has got. */
export function formatRunProgress(progress: RunProgress): string {
  const frames = progress.frames_target === null ? `frame ${progress.frames}` : `frame ${progress.frames} of ${progress.frames_target}`;
  const time =
    progress.duration_target_s === null
      ? `${progress.elapsed_s.toFixed(1)} s`
      : `${progress.elapsed_s.toFixed(1)} of ${progress.duration_target_s} s`;
  const left = progress.eta_s === null ? '' : `, ${progress.eta_s.toFixed(1)} s left`;
  return `${frames}, ${time}${left}`;
}

/** One line per status for `watch`. */
export function formatStatusLine(status: ExperimentStatus, at: Date): string {
  const { frames } = status;
  const parts = [
    at.toTimeString().slice(0, 8),
    status.state.padEnd(9),
    `acquired ${frames.acquired}`,
    `saved ${frames.saved}`,
    `dropped ${frames.dropped}`,
    `${status.fps.toFixed(1)} fps`,
    `${status.mb_per_s.toFixed(1)} MB/s`,
  ];
  if (status.progress) parts.push(formatRunProgress(status.progress));
  if (status.rate_warning) parts.push(`WARNING ${status.rate_warning}`);
  if (status.file !== null) parts.push(`file ${status.file}`);
  if (status.error !== null) parts.push(`error: ${status.error}`);
  return `${parts.join('  ')}\n`;
}

function formatSettingValues(settings: Readonly<Record<string, number | string | boolean>>): string {
  const entries = Object.entries(settings);
  return entries.length === 0 ? 'none' : entries.map(([name, value]) => `${name} ${String(value)}`).join(', ');
}

/** Where a recording went: its file, or (a remote saver names its files) who wrote it. */
export function recordingPlace(info: RecordingInfo): string {
  return info.path ?? `(file named by the ${info.saver})`;
}

function formatRecordingInfo(info: RecordingInfo): string {
  const timing =
    info.duration_s === undefined || info.duration_s === null
      ? ''
      : `, ${info.duration_s.toFixed(3)} s at ${info.fps?.toFixed(2) ?? 'n/a'} fps`;
  const counts = `${info.frames_written} of ${info.frames_acquired} frames written, ${info.frames_lost} lost${timing}`;
  const summary = `${recordingPlace(info)}: ${counts} (${info.end_reason})`;
  const noted = info.note_error === undefined ? summary : `${summary}; name and note not stored: ${info.note_error}`;
  return info.error === null ? noted : `${noted}; error: ${info.error}`;
}

export function formatSnap(info: RecordingInfo): string {
  return info.error === null ? `Snapped ${recordingPlace(info)} (run ${info.run_id})\n` : `Snap failed: ${formatRecordingInfo(info)}\n`;
}

function formatProcess(info: ProcessInfo): string {
  // A process serve did not start (a remote saver) has no pid here; its title says where it is.
  const which = info.pid !== null ? `pid ${info.pid}` : info.title.startsWith('labcast-') ? 'no pid' : info.title;
  return `${info.role} (${which}, ${info.running ? 'running' : 'not running'})`;
}

/** For `status`: the running (or failed) analyses on one line. */
function formatAnalysisSummary(analyses: readonly AnalysisInfo[]): string {
  const shown = analyses.filter((a) => a.state !== 'stopped');
  if (shown.length === 0) return analyses.length === 0 ? 'none' : `none running (${analyses.map((a) => a.name).join(', ')} available)`;
  return shown
    .map((a) =>
      a.state === 'failed'
        ? `${a.name} failed: ${a.error ?? 'unknown error'}`
        : `${a.name} ${a.state} (pid ${a.pid ?? '-'}, ${a.frames_analysed} analysed, ${a.frames_skipped} skipped, ` +
          `${a.results_per_s.toFixed(1)} results/s)`,
    )
    .join('; ');
}

export function formatAnalyses(analyses: readonly AnalysisInfo[]): string {
  if (analyses.length === 0) return 'no analyses\n';
  const rows = table(
    ['analysis', 'kind', 'state', 'pid', 'analysed', 'skipped', 'results/s', 'ms/frame', 'topic'],
    analyses.map((a) => [
      a.name,
      a.kind,
      a.state,
      a.pid === null ? '-' : String(a.pid),
      String(a.frames_analysed),
      String(a.frames_skipped),
      a.results_per_s.toFixed(1),
      a.analysis_ms.toFixed(2),
      a.topic,
    ]),
  );
  const errors = analyses.filter((a) => a.error !== null).map((a) => `${a.name}: ${a.error}\n`);
  return rows + errors.join('');
}

export function formatProcesses(processes: readonly ProcessInfo[]): string {
  if (processes.length === 0) return 'no processes\n';
  return table(
    ['process', 'pid', 'running', 'title'],
    processes.map((p) => [p.role, p.pid === null ? '-' : String(p.pid), p.running ? 'yes' : 'no', p.title]),
  );
}

function formatRange(spec: SettingSpecPayload): string {
  // GenICam features: what an enumeration, boolean or text accepts, and read-only ones marked.
  const readOnly = spec.access === 'RO' ? ' (read-only)' : '';
  if (spec.type === 'enumeration') return `${(spec.entries ?? []).join('|')}${readOnly}`;
  if (spec.type === 'boolean') return `true|false${readOnly}`;
  if (spec.type === 'string') return `text${readOnly}`;
  const step = spec.increment !== undefined && spec.increment > 1 ? ` step ${spec.increment}` : '';
  return `${spec.min}..${spec.max}${spec.integer ? ' (whole)' : ''}${step}${readOnly}`;
}

export function formatSettingsTable(
  specs: readonly SettingSpecPayload[],
  settings: Readonly<Record<string, number | string | boolean>>,
): string {
  return table(
    ['setting', 'value', 'unit', 'range', 'while streaming'],
    specs.map((spec) => [
      spec.name,
      String(settings[spec.name] ?? spec.default),
      spec.unit,
      formatRange(spec),
      spec.changeable_while_streaming ? 'changeable' : 'fixed',
    ]),
  );
}

export function formatSetting(spec: SettingSpecPayload, value: number | string | boolean): string {
  const unit = spec.unit === '' ? '' : ` ${spec.unit}`;
  const streaming = spec.changeable_while_streaming ? 'changeable while streaming' : 'fixed while streaming';
  return `${spec.name} = ${value}${unit}  (range ${formatRange(spec)}${unit}; ${streaming})\n`;
}

// ---- labcast inspect ----

const GAPS_LISTED = 10;
const CONFIG_SHOWN_CHARS = 160;

/** The summary as aligned "label  value" lines for `labcast inspect`. */
export function formatRecordingSummary(summary: RecordingSummary): string {
  const { acquisition: acq, camera, provenance: prov } = summary;
  const rows: Array<[string, string]> = [
    ['file', `${summary.path} (${formatBytes(summary.fileBytes)})`],
    ['status', formatFileStatus(summary)],
    ['run id', prov.runId],
    ...(summary.title === null ? [] : [['title', summary.title] as [string, string]]),
    ...summary.notes.map((note): [string, string] => [`note ${note.name.slice(5)}`, `${note.text} (${note.date ?? 'undated'})`]),
    ['frames', `${summary.frameCount} x [${summary.frameShape.join(' x ')}] ${summary.dtype}`],
    ['compression', formatFramesCompression(summary.compression)],
    ['frame ids', summary.firstFrameId === null ? 'none' : `${summary.firstFrameId} .. ${summary.lastFrameId}`],
    ['duration', summary.durationS === null ? 'n/a (fewer than 2 frames)' : `${summary.durationS.toFixed(3)} s`],
    ['fps', summary.fps === null ? 'n/a' : summary.fps.toFixed(2)],
    ['gaps', formatGaps(summary.gaps, summary.missingFrames)],
    ['requested', formatRequested(acq.framesRequested, acq.durationRequestedS)],
    ['acquired', countOrUnknown(acq.framesAcquired)],
    ['dropped', countOrUnknown(acq.framesDropped)],
    ['written', String(acq.framesWritten)],
    ['end reason', acq.endReason ?? 'none recorded (file not finished)'],
  ];
  if (acq.error !== null) rows.push(['error', acq.error]);
  rows.push(
    ['camera', `${camera.driver} (${camera.model})`],
    ['settings', formatSettings(camera.settings)],
    ['start time', prov.startTime],
    ['end time', prov.endTime ?? 'unknown'],
    ['labcast', prov.labcastVersion],
    ['node', prov.nodeVersion],
    ['host', prov.host],
  );
  if (prov.hdf5Writer !== null) rows.push(['hdf5 writer', prov.hdf5Writer]);
  for (const a of summary.analysis) {
    const items = a.items === null ? '' : `, ${a.items} ${a.itemsTable ?? 'items'}`;
    rows.push([`analysis ${a.name}`, `${a.kind ?? 'unknown kind'}: ${a.results} frames analysed${items} (/entry/analysis/${a.name})`]);
  }
  if (summary.truthRows !== null)
    rows.push(['ground truth', `${summary.truthRows} rows, one per frame and particle (/entry/instrument/simulation/truth)`]);
  rows.push(['config', formatConfig(prov.config)]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n';
}

/** "bitshuffle-lz4 (HDF5 filter 32008): 104.9 MB of frames in 41.2 MB, 2.55x". */
function formatFramesCompression(c: RecordingSummary['compression']): string {
  if (c === null) return 'none';
  const codec = `${c.codec}${c.level === null ? '' : ` level ${c.level}`} (HDF5 filter ${c.filterId})`;
  if (c.bytesIn === null || c.bytesOut === null) return `${codec}: sizes not recorded`;
  const ratio = c.ratio === null ? 'no chunk written yet' : `${c.ratio.toFixed(2)}x`;
  return `${codec}: ${formatBytes(c.bytesIn)} of frames in ${formatBytes(c.bytesOut)}, ${ratio}`;
}

function formatGaps(gaps: readonly FrameGap[], missing: number): string {
  if (gaps.length === 0) return 'none';
  const ranges = gaps.slice(0, GAPS_LISTED).map(([first, count]) => (count === 1 ? `${first}` : `${first}-${first + count - 1}`));
  const more = gaps.length > GAPS_LISTED ? `, ... and ${gaps.length - GAPS_LISTED} more` : '';
  return (
    `${ranges.join(', ')}${more} (${missing} frame${missing === 1 ? '' : 's'} missing in ${gaps.length} ` +
    `gap${gaps.length === 1 ? '' : 's'})`
  );
}

function formatRequested(frames: number | null, durationS: number | null): string {
  const parts = [];
  if (frames !== null) parts.push(`${frames} frames`);
  if (durationS !== null) parts.push(`${durationS} s`);
  return parts.length === 0 ? 'until stopped' : parts.join(', ');
}

function countOrUnknown(count: number | null): string {
  return count === null ? 'unknown (no run end recorded)' : String(count);
}

function formatSettings(settings: Readonly<Record<string, number | string | boolean>>): string {
  const entries = Object.entries(settings);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key}=${String(value)}`).join(', ');
}

function formatConfig(config: unknown): string {
  const text = stringifyWithNs(config ?? null);
  return text.length <= CONFIG_SHOWN_CHARS
    ? text
    : `${text.slice(0, CONFIG_SHOWN_CHARS)}... (${text.length} chars; full text in /entry@${ENTRY_ATTRS.configJson})`;
}

/** Finished, or not: still being written by a live writer, or abandoned by one that is gone. */
function formatFileStatus(summary: RecordingSummary): string {
  const writer = summary.writer;
  if (summary.finished) return 'finished';
  if (writer === null) return 'NOT FINISHED; frames up to its last flush';
  switch (writer.state) {
    case 'being-written':
      return `BEING WRITTEN by process ${writer.pid} (not finished yet); frames up to its last flush`;
    case 'abandoned':
      return `ABANDONED: not finished, and its writer is gone (${writer.why}); frames up to its last flush`;
    case 'unknown':
      return `NOT FINISHED; ${writer.why}; frames up to its last flush`;
  }
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
