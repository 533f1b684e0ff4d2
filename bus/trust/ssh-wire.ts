import { SignatureMalformedError } from './errors.js';

/**
 * The SSH wire encoding (RFC 4251 §5): uint32 big-endian, `string` = uint32 length + bytes, `mpint` = a string
 * holding a two's-complement big-endian integer. Every read is bounds-checked and names the field it was reading,
 * because every byte read here comes from a file anyone with push access wrote.
 */
export class WireReader {
  private at = 0;
  constructor(
    private readonly buf: Buffer,
    /** What is being read, for messages: "the signature blob", "the public key". */
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.at;
  }

  u32(field: string): number {
    if (this.remaining < 4) throw new SignatureMalformedError(`${this.what} is cut short before ${field}`);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  bytes(n: number, field: string): Buffer {
    if (this.remaining < n) throw new SignatureMalformedError(`${this.what} is cut short in ${field} (${n} bytes announced, ${this.remaining} left)`);
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  string(field: string): Buffer {
    const n = this.u32(`the length of ${field}`);
    return this.bytes(n, field);
  }

  /** A string that must be printable ASCII (algorithm names, namespaces). */
  text(field: string): string {
    const b = this.string(field);
    for (const c of b) if (c < 0x20 || c > 0x7e) throw new SignatureMalformedError(`${field} in ${this.what} is not printable ASCII`);
    return b.toString('latin1');
  }

  /** A non-negative mpint as its unsigned magnitude (leading zero bytes removed). */
  mpintUnsigned(field: string): Buffer {
    const b = this.string(field);
    if (b.length > 0 && (b[0] ?? 0) & 0x80) throw new SignatureMalformedError(`${field} in ${this.what} is negative`);
    // RFC 4251: no unnecessary leading zero bytes; OpenSSH refuses them too (SSH_ERR_BIGNUM_IS_NEGATIVE/INVALID_FORMAT).
    if (b.length > 1 && b[0] === 0 && !((b[1] ?? 0) & 0x80)) throw new SignatureMalformedError(`${field} in ${this.what} has a needless leading zero byte`);
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return b.subarray(i);
  }

  end(): void {
    if (this.remaining !== 0) throw new SignatureMalformedError(`${this.what} has ${this.remaining} unexpected byte(s) after its last field`);
  }
}

/** Encodes an SSH `string`. */
export function wireString(value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}
