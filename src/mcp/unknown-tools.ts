import { ProtocolError, ProtocolErrorCode, type CallToolRequest, type McpServer } from '@modelcontextprotocol/server';

/** A longer name is cut in the error: the message never echoes a huge input back. */
const MAX_NAME_SHOWN = 100;

/** The tools/call error for a tool the server does not have. */
export function unknownTool(name: string): ProtocolError {
  const shown = name.length > MAX_NAME_SHOWN ? `${name.slice(0, MAX_NAME_SHOWN)}…` : name;
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool ${JSON.stringify(shown)}. Call tools/list for the tools this server offers.`);
}

type CallToolHandler = (request: CallToolRequest, ctx: unknown) => unknown;

/** Told of every call of a known tool once the SDK has answered it: the request, the SDK's context of it, when it began. */
export type AnsweredCall = (request: CallToolRequest, ctx: unknown, startedAt: number) => void;

/**
 * Registers tools (`register`) so that a tools/call for a tool the server does not have is answered with a
 * JSON-RPC error (-32602 Invalid params) that says what to do, as the MCP specification lists unknown tools among
 * protocol errors. McpServer of SDK 2 throws that error too, but as "Tool X not found", with the whole name
 * echoed back however long it is.
 *
 * McpServer installs its tools/call handler, through the public setRequestHandler, on the first registerTool. This
 * wraps the handler as it is installed; every known tool still goes to the SDK's own handling. It throws when the
 * handler was not installed during `register` (a changed SDK), rather than silently leaving unknown tools to the
 * SDK. `answered`, when given, is told of every call of a known tool once the SDK has answered it (also one the SDK
 * refused before the tool's handler ran: arguments that do not fit its schema).
 */
export function registerRefusingUnknownTools(server: McpServer, register: () => void, answered?: AnsweredCall): void {
  const inner = server.server;
  const install = inner.setRequestHandler.bind(inner) as (method: string, handler: CallToolHandler) => void;
  let guarded = false;
  inner.setRequestHandler = ((method: string, handler: CallToolHandler, ...rest: unknown[]) => {
    if (method !== 'tools/call' || rest.length > 0) return (install as (...args: unknown[]) => void)(method, handler, ...rest);
    guarded = true;
    return install(method, async (request, ctx) => {
      if (!offers(server, request.params.name)) throw unknownTool(request.params.name);
      const startedAt = Date.now();
      try {
        return await handler(request, ctx);
      } finally {
        answered?.(request, ctx, startedAt);
      }
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
