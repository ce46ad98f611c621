import type { ControlRequest, ExperimentState, ExperimentStatus, ProcessInfo, RecordingInfo } from '../../src/protocol/control.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import type { SettingSpecPayload } from '../../src/protocol/process-messages.js';
import { validateSettingValue } from '../../src/devices/settings.js';
import { delay } from './processes.js';

const SPECS: readonly SettingSpecPayload[] = [
  { name: 'exposure_ms', description: 'exposure time', unit: 'ms', min: 0.01, max: 10_000, integer: false, default: 10, changeableWhileStreaming: true },
  { name: 'brightness', description: 'black level', unit: '%', min: -100, max: 100, integer: false, default: 0, changeableWhileStreaming: true },
  { name: 'roi_width', description: 'ROI width', unit: 'px', min: 1, max: 640, integer: true, default: 640, changeableWhileStreaming: false },
];

/**
 * A stand-in for the experiment controller with just enough state (idle,
 * live, recording; settings; the last recording) to exercise the control
 * transport and `labcast ctl` end to end without a camera.
 */
export class ToyController {
  /** Every request the handler was given, in order. */
  readonly handled: ControlRequest[] = [];
  state: ExperimentState = 'idle';
  readonly settings: Record<string, number | string | boolean> = Object.fromEntries(SPECS.map((spec) => [spec.name, spec.default]));
  private runs = 0;
  private file: string | null = null;
  private lastRecording: RecordingInfo | null = null;

  constructor(private readonly options: { stopDelayMs?: number; endpoints?: ExperimentStatus['endpoints'] } = {}) {}

  readonly handle = async (request: ControlRequest): Promise<unknown> => {
    this.handled.push(request);
    switch (request.cmd) {
      case 'status':
        return this.status();
      case 'live':
        this.require(['idle', 'live'], 'live');
        this.state = 'live';
        return this.status();
      case 'record':
        this.require(['idle', 'live'], 'record');
        this.startRecording(request.path ?? null);
        return this.status();
      case 'save':
        if (request.on) {
          this.require(['live'], 'save on');
          this.startRecording(null);
        } else if (this.state === 'recording') {
          this.finishRecording('stopped');
          this.state = 'live';
        }
        return this.status();
      case 'stop':
        await delay(this.options.stopDelayMs ?? 0);
        if (this.state === 'recording') this.finishRecording('stopped');
        this.state = 'idle';
        return this.status();
      case 'snap':
        this.require(['idle', 'live'], 'snap');
        this.runs += 1;
        return this.recordingInfo(request.path ?? `run_${this.runs}.h5`, 1, 'completed');
      case 'trigger':
        throw new LabcastError('CAMERA_STATE', 'the toy camera has no software trigger');
      case 'settings':
        return { settings: { ...this.settings }, specs: SPECS };
      case 'get':
        return { name: request.name, value: this.settings[request.name] ?? this.spec(request.name).default, spec: this.spec(request.name) };
      case 'set': {
        const spec = this.spec(request.name);
        if (!spec.changeableWhileStreaming && this.state !== 'idle') {
          throw new LabcastError('CAMERA_STATE', `${spec.name} cannot change while ${this.state}; stop first`, spec.name);
        }
        this.settings[spec.name] = validateSettingValue(SPECS, spec.name, request.value);
        return { settings: { ...this.settings }, specs: SPECS };
      }
      case 'subscribers':
        return this.processes();
      case 'subscriber':
        if (request.name !== 'saver') throw new LabcastError('BAD_ARGUMENT', `unknown subscriber "${request.name}"; known subscribers: saver`, 'name');
        return this.handle({ cmd: 'save', on: request.action === 'start' });
      case 'reset':
        this.state = 'idle';
        return this.status();
      case 'shutdown':
        return this.status();
    }
  };

  status(): ExperimentStatus {
    return {
      protocol: PROTOCOL_VERSION,
      state: this.state,
      error: null,
      run_id: this.state === 'recording' ? `run-${this.runs}` : null,
      file: this.file,
      frames: {
        acquired: this.state === 'idle' ? 0 : 120,
        published: this.state === 'idle' ? 0 : 120,
        live_skipped: 0,
        dropped: 0,
        saved: this.state === 'recording' ? 118 : 0,
      },
      fps: this.state === 'idle' ? 0 : 30,
      mb_per_s: this.state === 'idle' ? 0 : 18.4,
      camera: { driver: 'sim', model: 'toy camera', settings: { ...this.settings } },
      endpoints: this.options.endpoints ?? { data: 'tcp://127.0.0.1:5555', control: 'tcp://127.0.0.1:5556', status: 'tcp://127.0.0.1:5558' },
      last_recording: this.lastRecording,
      processes: this.processes(),
    };
  }

  private processes(): ProcessInfo[] {
    const list: ProcessInfo[] = [{ role: 'acquisition', title: 'labcast-acquisition', pid: 1001, running: true }];
    if (this.state === 'recording') list.push({ role: 'saver', title: 'labcast-saver', pid: 1002, running: true });
    return list;
  }

  private spec(name: string): SettingSpecPayload {
    const spec = SPECS.find((candidate) => candidate.name === name);
    if (spec === undefined) {
      throw new LabcastError('BAD_SETTING', `unknown setting "${name}"; known settings: ${SPECS.map((s) => s.name).join(', ')}`, name);
    }
    return spec;
  }

  private require(states: readonly ExperimentState[], command: string): void {
    if (!states.includes(this.state)) throw new LabcastError('CAMERA_STATE', `cannot ${command} while ${this.state}; stop first`);
  }

  private startRecording(path: string | null): void {
    this.runs += 1;
    this.file = path ?? `run_${this.runs}.h5`;
    this.state = 'recording';
  }

  private finishRecording(reason: string): void {
    this.lastRecording = this.recordingInfo(this.file ?? 'unnamed.h5', 118, reason);
    this.file = null;
  }

  private recordingInfo(path: string, frames: number, reason: string): RecordingInfo {
    return {
      path,
      run_id: `run-${this.runs}`,
      frames_written: frames,
      frames_acquired: frames,
      frames_dropped: 0,
      gaps: [],
      end_reason: reason,
      error: null,
    };
  }
}
