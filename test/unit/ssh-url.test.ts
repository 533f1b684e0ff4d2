import { describe, it, expect } from 'vitest';
import { parseSshRemote } from '../../bus/transport/ssh-url.js';
import { RemoteUrlInvalidError } from '../../bus/transport/errors.js';

describe('parseSshRemote: what a person typed as the remote', () => {
  it('refuses a path or user name that is not valid percent-encoding, naming the remote, instead of failing inside', () => {
    for (const remote of ['ssh://host/srv/%E0%A4%A.git', 'ssh://%E0%A4%A@host/srv/bus.git']) {
      expect(() => parseSshRemote(remote), remote).toThrow(RemoteUrlInvalidError);
      expect(() => parseSshRemote(remote), remote).toThrow(/not valid percent-encoding/);
    }
    expect(parseSshRemote('ssh://git@host/srv/caf%C3%A9.git')).toMatchObject({ user: 'git', host: 'host', path: '/srv/café.git' });
  });
});
