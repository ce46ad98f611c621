// The layer rules of src/ (docs/architecture.md#layers), checked by
// dependency-cruiser in `npm run lint:deps`, which `npm test` runs first.
//
// A folder of src/ is a layer. Each layer names the layers it may import; every
// other import across layers breaks a rule named "<from>-may-not-import-<to>",
// whose comment says why. Type-only imports count: a type is a dependency too.

/** Layer → the layers it may import, and what it is (the reason the others are out of bounds). */
const LAYERS = {
  // The bottom: pure modules without I/O, or with only their own.
  protocol: { may: [], is: 'the wire format, pure and shared by every process' },
  log: { may: ['protocol'], is: 'the logger every process uses, below everything but the wire format' },
  'camera-spec': { may: ['protocol'], is: 'the pure camera-spec schemas the config and the drivers share' },
  native: { may: ['protocol', 'log'], is: 'the native addon and its lookup, which storage, transport and devices use' },
  config: { may: ['protocol', 'log', 'camera-spec'], is: 'the config file, parsed once below every module it configures' },
  hdf5: { may: ['protocol', 'log'], is: 'the recording file format (layout, h5wasm runtime, reader), below storage and devices' },
  // The building blocks; none of them knows the others.
  devices: { may: ['protocol', 'log', 'camera-spec', 'config', 'native', 'hdf5'], is: 'the camera drivers' },
  transport: { may: ['protocol', 'log', 'config', 'native'], is: 'every ZeroMQ socket of labcast' },
  storage: { may: ['protocol', 'log', 'config', 'native', 'hdf5'], is: 'the HDF5 writing, which never touches a socket' },
  // The processes, each wiring the blocks together; they meet only through messages.
  acquisition: {
    may: ['protocol', 'log', 'camera-spec', 'config', 'native', 'devices', 'transport'],
    is: 'the acquisition process, which talks to the others only through sockets',
  },
  saver: {
    may: ['protocol', 'log', 'config', 'native', 'hdf5', 'storage', 'transport'],
    is: 'the saver process, which talks to the others only through sockets',
  },
  analysis: {
    may: ['protocol', 'log', 'config', 'native', 'devices', 'transport'],
    is: 'the analysis processes, which talk to the others only through sockets',
  },
  experiment: {
    may: ['protocol', 'log', 'camera-spec', 'config', 'native', 'hdf5', 'storage', 'transport'],
    is: 'the controller, which starts the processes by their file and talks to them through messages',
  },
  // The views: web is a library the serve command hosts; cli is the outermost shell.
  web: {
    may: ['protocol', 'log', 'config', 'hdf5', 'transport', 'experiment'],
    is: 'the web server serve hosts, a view over the controller',
  },
  cli: {
    may: ['protocol', 'log', 'camera-spec', 'config', 'native', 'hdf5', 'devices', 'transport', 'storage', 'saver', 'experiment', 'web'],
    is: 'the command line, which may use every layer and is used by none',
  },
};

const layerRules = Object.entries(LAYERS).flatMap(([from, { may, is }]) =>
  Object.keys(LAYERS)
    .filter((to) => to !== from && !may.includes(to))
    .map((to) => ({
      name: `${from}-may-not-import-${to}`,
      comment: `${from} may not import ${to}: ${from} is ${is} (docs/architecture.md#layers)`,
      severity: 'error',
      from: { path: `^src/${from}/` },
      to: { path: `^src/${to}/` },
    })),
);

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'src-is-a-known-layer',
      comment: 'every folder of src/ is a layer listed in .dependency-cruiser.cjs, so that the rules cover it',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: `^src/(${Object.keys(LAYERS).join('|')})/` },
    },
    {
      name: 'simulator-only-through-the-registry',
      comment: 'runtime code gets a simulated camera from devices/registry.ts (createCamera), never by importing the simulator',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/devices/(registry\\.ts$|sim/)' },
      to: { path: '^src/devices/sim/' },
    },
    {
      name: 'runtime-may-not-import-tests',
      comment: 'test doubles and helpers (test/, bench/) are never imported by runtime code',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'zeromq-only-in-transport',
      comment: 'every ZeroMQ socket is built in transport/; other layers get its typed senders and receivers',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/transport/' },
      to: { path: 'node_modules/zeromq/' },
    },
    {
      name: 'no-circular',
      comment: 'a cycle of imports makes the load order matter and the layers meaningless',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Count `import type` too: a type is a dependency as much as a value is.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
