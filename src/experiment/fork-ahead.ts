import { discardForkedAhead, LabcastChild } from './child-process.js';
import { ACQUISITION_SCRIPT, SAVER_SCRIPT } from './process-scripts.js';

/**
 * The saver and acquisition processes of a recording with processes of its
 * own (RecordingSession, for `labcast record` and `snap`), forked before the
 * command has loaded and read its flags: each boots Node and loads its modules
 * meanwhile, then waits for its init (LabcastChild.forkAhead).
 */
export function forkRecordingProcessesAhead(): void {
  // The acquisition first: its path (modules, camera, bind, first frame) is
  // the longer one; the saver is ready and connecting well before it binds.
  LabcastChild.forkAhead(ACQUISITION_SCRIPT, 'acquisition');
  LabcastChild.forkAhead(SAVER_SCRIPT, 'saver');
}

/** Ends the processes forked ahead that the command did not take (it failed before starting them). */
export function discardUnusedProcesses(): void {
  discardForkedAhead();
}
