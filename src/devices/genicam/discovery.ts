import { loadAravisAddon, ARAVIS_INSTALL_COMMAND, type AravisDeviceInfo } from '../../native/aravis-addon.js';
import { DEFAULT_INTERFACES, interfacesFromEnv } from './interfaces.js';

/** A GenICam camera as `labcast cameras` lists it. */
export interface GenicamListing extends AravisDeviceInfo {
  /** The --camera value that opens it: genicam:DEVICE_ID. */
  readonly camera: string;
}

export type GenicamDiscovery =
  | { readonly available: true; readonly interfaces: readonly string[]; readonly devices: readonly GenicamListing[] }
  | { readonly available: false; readonly hint: string };

/**
 * Discovery on GigE Vision and USB3 Vision (or LABCAST_GENICAM_INTERFACES).
 * GigE Vision discovery broadcasts on every network interface of the host.
 */
export function discoverGenicamCameras(): GenicamDiscovery {
  const load = loadAravisAddon();
  if (!('addon' in load)) {
    return {
      available: false,
      hint: `GenICam cameras (GigE Vision, USB3 Vision) need Aravis: ${ARAVIS_INSTALL_COMMAND}, then npm run build`,
    };
  }
  const interfaces = interfacesFromEnv() ?? [...DEFAULT_INTERFACES];
  load.addon.useInterfaces(interfaces);
  const devices = load.addon.listDevices().map((device) => ({ ...device, camera: `genicam:${device.deviceId}` }));
  return { available: true, interfaces, devices };
}

/** One line per camera: the --camera value, then what a user recognises it by. */
export function formatGenicamCameras(discovery: GenicamDiscovery): string[] {
  if (!discovery.available) return [`(${discovery.hint})`];
  if (discovery.devices.length === 0) return [`(no GenICam cameras found on ${discovery.interfaces.join(', ')})`];
  return discovery.devices.map((device) => {
    const name = [device.vendor, device.model].filter(Boolean).join(' ') || '(unnamed)';
    const where = [device.protocol, device.address, device.physicalId].filter((part) => part !== null && part !== '').join(' ');
    return `${device.camera}  ${name} (serial ${device.serial ?? '?'}; ${where})`;
  });
}
