/** The scripts of labcast's child processes, as a supervisor forks them. */
export const ACQUISITION_SCRIPT = new URL('../acquisition/acquisition-process.js', import.meta.url);
export const SAVER_SCRIPT = new URL('../saver/saver-process.js', import.meta.url);
