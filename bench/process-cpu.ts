import { readFileSync } from 'node:fs';

/** CPU a process and its waited-for children used, in ms (Linux clock ticks of 1/100 s); 0 once it is gone. */
export function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return 0;
  }
}
