import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequest, CallToolRequestSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/** A longer name is cut in the error: the message never echoes a huge input back. */
const MAX_NAME_SHOWN = 100;

/** The tools/call error for a tool the server does not have. */
export function unknownTool(name: string): McpError {
  const shown = name.length > MAX_NAME_SHOWN ? `${name.slice(0, MAX_NAME_SHOWN)}…` : name;
  return new McpError(ErrorCode.InvalidParams, `Unknown tool ${JSON.stringify(shown)}. Call tools/list for the tools this server offers.`);
}

type CallToolHandler = (request: CallToolRequest, extra: unknown) => unknown;

/**
 * Registers tools (`register`) so that a tools/call for a tool the server does not have is answered with a
 * JSON-RPC error (-32602 Invalid params), as the MCP specification lists unknown tools among protocol errors;
 * McpServer of SDK 1.x turns it into an isError tool result instead (SDK 2 throws it).
 *
 * McpServer installs its tools/call handler, through the public setRequestHandler, on the first registerTool
 * when its options declare no tools capability (it declares that capability itself then). This wraps the
 * handler as it is installed; every known tool still goes to the SDK's own handling. It throws when the
 * handler was not installed during `register` (options that declare tools, or a changed SDK), rather than
 * silently leaving unknown tools to the SDK.
 */
export function registerRefusingUnknownTools(server: McpServer, register: () => void): void {
  const inner = server.server;
  const install = inner.setRequestHandler.bind(inner) as (schema: unknown, handler: CallToolHandler) => void;
  let guarded = false;
  inner.setRequestHandler = ((schema: unknown, handler: CallToolHandler) => {
    if (schema !== CallToolRequestSchema) return install(schema, handler);
    guarded = true;
    return install(schema, (request, extra) => {
      if (!offers(server, request.params.name)) throw unknownTool(request.params.name);
      return handler(request, extra);
    });
  }) as typeof inner.setRequestHandler;
  try {
    register();
  } finally {
    // Back to the prototype's method: only the tools/call handler installed during `register` is wrapped.
    delete (inner as { setRequestHandler?: unknown }).setRequestHandler;
  }
  if (!guarded) throw new Error('McpServer did not install its tools/call handler while tools were registered; unknown tools cannot be refused.');
}

/** Whether the server has this tool, by the SDK's own registry (the one its handler looks the name up in). */
function offers(server: McpServer, name: string): boolean {
  const tools = (server as unknown as { _registeredTools?: Record<string, unknown> })._registeredTools;
  // Should a later SDK keep its tools elsewhere, its own handling applies (test/bad-input.e2e-spec.ts would say so).
  return tools === undefined || Object.hasOwn(tools, name);
}
