/**
 * Turns gitbus's direct copy to and from a local remote off for this process (GITBUS_DIRECT=0), so that fetches and
 * pushes go through git's services as they do over SSH or HTTP. Returns what puts the variable back as it was.
 */
export function directCopyOff(): () => void {
  const saved = process.env['GITBUS_DIRECT'];
  process.env['GITBUS_DIRECT'] = '0';
  return () => {
    if (saved === undefined) delete process.env['GITBUS_DIRECT'];
    else process.env['GITBUS_DIRECT'] = saved;
  };
}
