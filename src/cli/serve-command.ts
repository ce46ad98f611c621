import { loadConfig, settingsConfigError } from '../config/load-config.js';
import { checkSettingsBeforeStart } from '../devices/settings-check.js';
import { startProcessLog } from '../log/logger.js';
import { LabcastError } from '../protocol/errors.js';
import { ExperimentController } from '../experiment/controller.js';
import { ResultsProxy } from '../transport/results-proxy.js';
import { curveKeyFiles } from '../experiment/recording.js';
import { ControlServer } from '../transport/control-server.js';
import { readServerKeyFiles } from '../transport/curve.js';
import { webAccessToken } from '../web/origin.js';
import { StatusPublisher } from '../transport/status-channel.js';
import { startWebServer, type RunningWebServer } from '../web/server.js';
import { booleanFlag, parseFlags, stringFlag } from './args.js';
import { EXIT } from './exit-codes.js';
import { COMPRESSION_FLAGS, COMPRESSION_USAGE, compressionFromFlags, refuseUnwritableCompression } from './compression-flags.js';
import { storageCompression } from '../storage/compression-support.js';
import type { LabcastConfig } from '../config/schema.js';
import type { CompressionSpec } from '../protocol/compression.js';
import { recordingPlace } from './format.js';
import { onInterrupts } from './interrupts.js';

export const SERVE_USAGE = `usage: labcast serve [--config FILE] [--compression CODEC [--compression-level N]]

Runs the experiment: the camera in an acquisition process, a controller that
takes commands (labcast ctl, a Python script, the web UI) and a saver process,
kept ready between recordings, that writes each to a file of its own. Without
--config, a simulated camera and defaults (see docs/config.md); recordings go
to ./data. Ctrl-C stops everything cleanly:
a recording is drained and closed, every child process is reaped.

${COMPRESSION_USAGE}
                        (override storage.compression and storage.compression_level)
`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('serve', argv, {
    config: { type: 'string' },
    ...COMPRESSION_FLAGS,
    help: { type: 'boolean', short: 'h' },
  });
  if (booleanFlag(values, 'help')) {
    process.stdout.write(SERVE_USAGE);
    return EXIT.ok;
  }
  const configPath = stringFlag(values, 'config');
  const config = withCompressionFlags(loadConfig(configPath), compressionFromFlags(values));
  // A codec this machine's writer cannot write is refused now, not at the first recording (a remote saver chooses its own).
  if (config.saver.mode === 'local') {
    await refuseUnwritableCompression(
      storageCompression(config.storage),
      values.compression === undefined ? 'storage.compression' : '--compression',
    );
  }
  // The settings against the camera's own ranges, all at once and before anything starts.
  const settingProblems = await checkSettingsBeforeStart(config.camera, config.settings);
  if (settingProblems !== null && settingProblems.length > 0) throw settingsConfigError(configPath, settingProblems);
  process.title = 'labcast-serve';
  // Before any child starts: they take their level from this process's.
  const log = startProcessLog('serve', config.log.level);
  // CURVE keys (security.*): every endpoint serve binds is a CURVE server, its own clients CURVE clients.
  const curveFiles = curveKeyFiles(config.security);
  const curve =
    curveFiles === null
      ? null
      : readServerKeyFiles(curveFiles, { publicKey: 'security.server_public_key_file', secretKey: 'security.server_secret_key_file' });
  // Off loopback the web UI asks for an access token (web.token_file, or one made now).
  const access = webAccessToken(config.web);

  // Bind the control endpoint first: a second serve fails here, before it
  // opens a camera that the first one owns.
  let controller: ExperimentController | null = null;
  const server = await ControlServer.bind(
    config.endpoints.control,
    (request) => {
      if (controller === null) throw new LabcastError('CAMERA_STATE', 'labcast serve is still starting; try again in a moment');
      return controller.handle(request);
    },
    curve,
  );
  let statusPublisher: StatusPublisher | null = null;
  let results: ResultsProxy | null = null;
  try {
    statusPublisher = await StatusPublisher.bind(config.endpoints.status, curve);
    // Analysis results: processes publish to results_in, subscribers read results (docs/protocol.md).
    results = await ResultsProxy.bind(config.endpoints.results, config.endpoints.results_in, curve);
    const publisher = statusPublisher;
    controller = await ExperimentController.start(config, (status) => publisher.publish(status));
  } catch (error) {
    await results?.close();
    statusPublisher?.close();
    await server.close();
    throw error;
  }
  const resultsProxy = results;
  controller.setEndpoints({
    control: server.endpoint,
    status: statusPublisher.endpoint,
    results: resultsProxy.results,
    results_in: resultsProxy.resultsIn,
  });
  const running = controller;

  // The web UI is one more view: it reaches the controller through the control
  // and status endpoints, and the frames through the data endpoint.
  let web: RunningWebServer;
  try {
    web = await startWebServer({
      host: config.web.host,
      port: config.web.port,
      controlEndpoint: server.endpoint,
      statusEndpoint: statusPublisher.endpoint,
      dataEndpoint: () => running.status().endpoints.data,
      resultsEndpoint: resultsProxy.results,
      dataDir: config.storage.data_dir,
      serverKey: curve?.publicKey ?? null,
      token: access.token,
      pixelSizeUm: config.camera.pixel_size_um ?? null,
    });
  } catch (error) {
    await running.shutdown();
    await resultsProxy.close();
    statusPublisher.close();
    await server.close();
    throw error;
  }

  // Ready for Ctrl-C before the banner says it stops everything: a press right after it
  // (a test that signals as soon as it reads the banner) could find no handler, and SIGINT killed serve.
  const stopped = new Promise<void>((resolve) => running.onShutdownRequested(resolve));
  const stopListening = onInterrupts((press, signal) => {
    if (press === 1) {
      log.info(`${signal}, stopping (draining any recording)...`);
      void running.shutdown();
    } else {
      log.warn('stopping now, without waiting for the drain');
      process.exit(EXIT.failed);
    }
  });

  const status = running.status();
  process.stderr.write(
    [
      `labcast serve: ${status.camera?.model ?? 'camera'} ready`,
      `  control  ${server.endpoint}    (labcast ctl status)`,
      `  data     ${status.endpoints.data}`,
      `  status   ${statusPublisher.endpoint}`,
      `  results  ${resultsProxy.results}    (analysis results; publishers connect to ${resultsProxy.resultsIn})`,
      config.saver.mode === 'remote'
        ? `  files    written by a remote saver: ` +
          `labcast save --connect <this host's ${config.endpoints.record}> --out DIR (saver.mode remote)`
        : `  files    ${config.storage.data_dir}`,
      access.token === null
        ? `  web      ${web.url}    (open in a browser)`
        : access.generated
          ? `  web      ${web.url}?token=${access.token}    (open in a browser; the token is asked for once, then kept in a cookie)`
          : `  web      ${web.url}    (open in a browser with ?token=<the token in ${config.web.token_file}>)`,
      ...(curve === null
        ? []
        : [
            `  security ZeroMQ CURVE on data, control, record and status; ` +
              `clients need the public key ${curveFiles!.publicKeyFile} (--server-key)`,
          ]),
      'Ctrl-C stops everything cleanly.',
      '',
    ].join('\n'),
  );

  // Analyses marked autostart; one that fails is reported (and shown in the status), the rest carry on.
  void running.analyses.autostart().then((failures) => {
    for (const failure of failures) log.error(failure.error);
  });

  await stopped;
  await web.close();
  await running.shutdown();
  await resultsProxy.close();
  statusPublisher.close();
  await server.close();
  stopListening();
  const last = running.status().last_recording;
  const lastLine = last === null ? '' : `; last recording ${recordingPlace(last)}: ${last.frames_written} frames, ${last.frames_lost} lost`;
  process.stderr.write(`labcast serve: stopped${lastLine}\n`);
  return EXIT.ok;
}

/** The config with --compression (and its level) in place of storage.compression, when given. */
function withCompressionFlags(config: LabcastConfig, flags: CompressionSpec | undefined): LabcastConfig {
  if (flags === undefined) return config;
  const { compression_level: _replaced, ...storage } = config.storage;
  return Object.freeze({
    ...config,
    storage: Object.freeze({ ...storage, compression: flags.codec, ...(flags.level === null ? {} : { compression_level: flags.level }) }),
  });
}
