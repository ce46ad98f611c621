import { listV4l2Devices, type V4l2Device } from '../devices/ffmpeg/v4l2-devices.js';
import { v4l2CtlRunner } from '../devices/ffmpeg/v4l2-controls.js';
import { discoverGenicamCameras, formatGenicamCameras, type GenicamDiscovery } from '../devices/genicam/discovery.js';
import { booleanFlag, parseFlags, type FlagSpec } from './args.js';
import { EXIT } from './exit-codes.js';

export const CAMERAS_USAGE = `usage: labcast cameras [--json]

Lists the cameras labcast can open: the simulated camera, every V4L2
device (/dev/video*) with its name and formats (from v4l2-ctl, Debian
package v4l-utils), and the GenICam cameras (GigE Vision, USB3 Vision) that
Aravis discovers, with vendor, model, serial and address (needs Aravis;
GigE Vision discovery broadcasts on every network interface;
LABCAST_GENICAM_INTERFACES=Fake searches only Aravis's in-process fake
camera). Each line starts with the --camera value that opens it.
Video files, network streams and lavfi test sources are not listed: give
file:PATH, url:URL or lavfi:GRAPH.

  --json    print the list as JSON
`;

const FLAGS: FlagSpec = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };

export async function camerasCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('cameras', argv, FLAGS);
  if (booleanFlag(values, 'help')) {
    process.stdout.write(CAMERAS_USAGE);
    return EXIT.ok;
  }
  const devices = await listV4l2Devices((device) => v4l2CtlRunner(device));
  const genicam = discoverGenicamCameras();
  const cameras = [
    { camera: 'sim', driver: 'sim', name: 'labcast simulated camera', formats: [], problem: null },
    ...devices.map((device) => ({ camera: `v4l2:${device.device}`, driver: 'v4l2', ...device })),
    ...(genicam.available
      ? genicam.devices.map((device) => ({
          driver: 'genicam',
          name: [device.vendor, device.model].filter(Boolean).join(' '),
          ...device,
        }))
      : []),
  ];
  if (booleanFlag(values, 'json')) {
    const hint = genicam.available ? {} : { genicam: genicam.hint };
    process.stdout.write(`${JSON.stringify({ cameras, ...hint }, null, 2)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(formatCameras(devices, genicam));
  return EXIT.ok;
}

export function formatCameras(devices: readonly V4l2Device[], genicam: GenicamDiscovery | null = null): string {
  const lines = ['sim  labcast simulated camera (any size, uint8 or uint16)'];
  if (devices.length === 0) lines.push('(no V4L2 devices: /dev/video* does not exist)');
  for (const device of devices) {
    lines.push(`v4l2:${device.device}  ${device.name ?? '(unnamed)'}`);
    if (device.problem !== null) lines.push(`    ${device.problem}`);
    for (const format of device.formats) {
      const sizes = format.sizes.map((size) => {
        const rates = size.fps.length === 0 ? '' : ` @ ${size.fps.map((fps) => Number(fps.toFixed(3))).join('/')} fps`;
        return `${size.width}x${size.height}${rates}`;
      });
      lines.push(`    ${format.fourcc} (${format.description}): ${sizes.join(', ') || 'no sizes listed'}`);
    }
  }
  if (genicam !== null) lines.push(...formatGenicamCameras(genicam));
  return `${lines.join('\n')}\n`;
}
