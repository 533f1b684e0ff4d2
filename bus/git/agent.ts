/** Sent as the `agent=` capability so remote logs show which pushes and fetches came from gitbus. */
export const GITBUS_AGENT = 'gitbus/0.1';
