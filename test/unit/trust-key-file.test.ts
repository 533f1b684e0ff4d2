import { describe, expect, it } from 'vitest';
import { readKeyFile } from '../../bus/trust/key-file.js';

const A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN6AQvTw6KGvP7LWLnO3DMMY+0yo6gfGDYqlnC7V0h/o a';
const B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINj+F3xrLqp0RBO+5HqJRC+kDMx+Co9NunE6PqhVNUHK b';

describe('a public key file', () => {
  it('is read with its comment lines and blank lines around the one key', () => {
    const k = readKeyFile(`# alice's key\n\n${A}\n\n`, 'alice.pub');
    expect(k.kind).toBe('public');
    expect(k.key.line).toBe(A.split(' ').slice(0, 2).join(' '));
  });

  it('with two keys in it (cat a.pub b.pub) is refused, naming the file: the first would list someone else’s key by mistake', () => {
    expect(() => readKeyFile(`${A}\n${B}\n`, 'two.pub')).toThrow(expect.objectContaining({ code: 'SIGNING_KEY_INVALID', message: expect.stringMatching(/two\.pub.*it holds 2 lines of keys; give a file with one/s) }));
  });
});
