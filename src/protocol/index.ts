export * from './codec.js';
export * from './dtype.js';
export * from './errors.js';
export * from './json-ns.js';
export * from './messages.js';
export * from './process-messages.js';
export * from './control.js';
