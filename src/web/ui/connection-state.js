// @ts-check
// Whether labcast serve is there. When it is gone the page says so plainly (a banner, the state
// badge reads DISCONNECTED, the controls go grey) rather than keep showing the last state and
// rate as if they were current; the sockets reconnect by themselves and the page recovers.

/** @typedef {'status' | 'live'} Channel */

export class ConnectionState {
  /**
   * @param {{ banner: HTMLElement, badge: HTMLElement, note: HTMLElement, page: HTMLElement }} elements
   * @param {(connected: boolean) => void} onChange called when the server goes away or comes back
   */
  constructor({ banner, badge, note, page }, onChange) {
    this.banner = banner;
    this.badge = badge;
    this.note = note;
    this.page = page;
    this.onChange = onChange;
    /** The status stream is the server's heartbeat: it is connected while serve runs. */
    this.status = false;
    this.live = false;
    /** Not yet connected once: "connecting…", not an alarm. */
    this.everConnected = false;
    /** @type {number | null} when the server went away (ms since the epoch) */
    this.lostAt = null;
  }

  get connected() {
    return this.status;
  }

  /**
   * @param {Channel} channel
   * @param {boolean} connected
   */
  set(channel, connected) {
    const before = this.connected;
    if (channel === 'status') this.status = connected;
    else this.live = connected;
    if (channel === 'status' && connected) this.everConnected = true;
    this.show();
    if (this.connected !== before) this.onChange(this.connected);
  }

  show() {
    const down = !this.connected && this.everConnected;
    if (down && this.lostAt === null) this.lostAt = Date.now();
    if (this.connected) this.lostAt = null;
    this.page.classList.toggle('disconnected', down);
    this.banner.hidden = !down;
    if (down) {
      this.banner.textContent =
        `DISCONNECTED — labcast serve at ${location.host} does not answer (since ` +
        `${new Date(this.lostAt ?? Date.now()).toLocaleTimeString()}). What is shown is not current and the controls ` +
        `are off; this page reconnects by itself when serve is back.`;
      this.badge.textContent = 'disconnected';
      this.badge.dataset.state = 'disconnected';
    }
    this.note.textContent = this.connected ? (this.live ? 'connected' : 'live view reconnecting…') : down ? 'reconnecting…' : 'connecting…';
  }
}
