/**
 * What Node reads from the environment once, when a process starts (its CA bundle, ICU data and locale, libuv's
 * thread pool): a standby started with other values is not the process the client's environment would make, so
 * it declines a client whose values differ (cli/serve/standby.ts), and the client runs the command itself.
 */
export const START_ENV = ['NODE_EXTRA_CA_CERTS', 'NODE_ICU_DATA', 'UV_THREADPOOL_SIZE', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'LANG', 'LC_ALL'] as const;
