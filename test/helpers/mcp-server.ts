/**
 * The environment `gitbus mcp` gets in the tests, as Claude Code starts its MCP servers: the test's own, the node's
 * home, and a session's id (so the session hears back about what it dispatched).
 */
export const MCP_SESSION = '0b6f1b8e-6a4c-4e7e-9a51-7c1d2e3f4a5b';

export function mcpServerEnv(home: string): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  return { ...env, GITBUS_HOME: home, CLAUDE_CODE_SESSION_ID: MCP_SESSION };
}
