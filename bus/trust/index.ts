/**
 * Signatures people already have (docs/PROTOCOL.md §11): the API the trust root, node policy and enforcement
 * build on. Everything here is bus layer: no printing, typed errors (errors.ts) only.
 *
 * - sshsig.ts          read and verify SSHSIG in-process (parseSshsig, verifySshsig, checkSshsig, signedData)
 * - ssh-key.ts         SSH public keys: parse blob or line, fingerprint (`SHA256:...`), signer tag, sameKey
 * - messages.ts        namespaces per kind, the signed message of a bus file, sidecar paths
 * - allowed-signers.ts git's allowed_signers: parse, principalsFor(key, namespace, now), allows(principal, ...)
 * - file-signatures.ts check a file's sidecars (checkFileSignatures) and find them in a commit (readSidecars)
 * - sign.ts            sign with `ssh-keygen -Y sign` (signMessage, signBusFile), agent checks, never prompting
 * - signing-key.ts     which key: --key, node.yaml signingKey, git's user.signingkey (gpg.format=ssh)
 * - node-key.ts        a node's own key: ensureNodeKey(home, node), nodeSigningKey
 * - sign-checkout.ts   `gitbus sign PATH` in a bus checkout (signPath)
 * - verify-task.ts     `gitbus verify ID` (verifyTask), readAllowedSigners
 */
export * from './errors.js';
export * from './ssh-key.js';
export * from './sshsig.js';
export * from './messages.js';
export * from './allowed-signers.js';
export * from './file-signatures.js';
export * from './key-file.js';
export * from './signing-key.js';
export * from './sign.js';
export * from './node-key.js';
export * from './checkout-root.js';
export * from './sign-checkout.js';
export * from './verify-task.js';
