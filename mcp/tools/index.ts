import type { Tool } from '../tool.js';
import { dispatchTool } from './dispatch.js';
import { logsTool } from './output.js';
import { showTool } from './show.js';
import { statusTool } from './status.js';
import { waitTool } from './wait.js';
import { claimNextTool, respondTool } from './worker.js';

/** The tools `gitbus mcp` serves, in the order a client lists them. */
export const TOOLS: readonly Tool[] = [dispatchTool, statusTool, showTool, waitTool, logsTool, claimNextTool, respondTool];
