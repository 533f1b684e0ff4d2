import { z } from './zod.js';
import { withRule } from './rule.js';
import { MAX_KEY_LINE_BYTES, SSH_KEY_TYPES, sshKeyLineViolation } from './ssh-key-line.js';

const JSON_PATTERN = `^(${SSH_KEY_TYPES.join('|')}) [A-Za-z0-9+/]+={0,2}$`;

export const sshKeyLineSchema = withRule(z.string(), sshKeyLineViolation).register(z.globalRegistry, {
  description: `an SSH public key line "TYPE BASE64" (${SSH_KEY_TYPES.join(', ')}), at most 16 KiB`,
  pattern: JSON_PATTERN,
  maxLength: MAX_KEY_LINE_BYTES,
});
