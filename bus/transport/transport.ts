/**
 * How gitbus talks to the shared repository. Every remote is reached through this interface: join's shallow
 * clone and the hot path (fetch one ref, push one ref) speak the pack protocol over `rpc` directly
 * (bus/git/fetch.ts, bus/git/push.ts). isomorphic-git's own fetch is not used: it resolves the remote's HEAD,
 * and a bus must not depend on it.
 */

export type GitService = 'git-upload-pack' | 'git-receive-pack';

export interface Transport {
  /** For messages; never contains credentials. */
  readonly display: string;
  /**
   * Remote refs (full ref name -> oid), plus `HEAD` when it resolves. Peeled tag entries (`^{}`) are not
   * included. Must be cheap: the local transport reads the bare repo's refs from the file system.
   */
  listRefs(): Promise<Map<string, string>>;
  /**
   * One ref's commit as `listRefs` would give it (null when there is none), where that is cheaper than the listing:
   * the local transport reads the ref's file instead of every ref of a bus with a heartbeat ref per node. Absent
   * where one ref costs a listing anyway (SSH, smart HTTP).
   */
  readRef?(ref: string): Promise<string | null>;
  /** The service's ref advertisement exactly as `git <service> --stateless-rpc --advertise-refs` prints it
   * (pkt-lines, no smart-http `# service=` header). Over SSH it is the stateful one, which lacks `no-done`. */
  advertise(service: GitService): Promise<Uint8Array>;
  /** One stateless request/response exchange (`git <service> --stateless-rpc`). */
  rpc(service: GitService, body: Uint8Array): Promise<Uint8Array>;
  /**
   * Stateful transports only (SSH): one exchange whose request is made from the refs the serving process itself
   * advertised first. That process accepts only wants among its own tips (unless the host allows more), and a ref
   * may have moved since an earlier listing, so a fetch of "the ref's tip" wants the tip it is shown here.
   * Stateless services (a local path, smart HTTP) check wants when the request arrives and accept any commit
   * reachable from a ref: they need no such method.
   */
  rpcAdvertised?(service: GitService, build: (advertised: Map<string, string>) => Uint8Array): Promise<Uint8Array>;
  /**
   * One `git upload-archive` exchange (the server side of `git archive --remote`): sends `body`, returns all the
   * service printed. Absent where the transport cannot run it (smart HTTP has no such service).
   */
  uploadArchive?(body: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}
