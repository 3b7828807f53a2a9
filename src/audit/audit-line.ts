import * as z from 'zod';

/** The schema version every line carries as `v`. A change that removes or retypes a field makes a new version. */
export const AUDIT_SCHEMA_VERSION = 1 as const;

const base = {
  v: z.literal(AUDIT_SCHEMA_VERSION),
  /** When it happened (a tool call: when it began), ISO 8601 with milliseconds, UTC. */
  time: z.iso.datetime(),
  /** Whose it is: the caller of a tool, the owner of a session. */
  principal: z.string(),
};

const client = z.object({ name: z.string().optional(), version: z.string().optional() }).strict();

/** One tool call, written when it finished (however it ended). */
export const toolCallLine = z
  .object({
    ...base,
    audit: z.literal('tool_call'),
    /** How the caller proved who it is. */
    auth: z.enum(['api-key', 'oauth', 'anonymous', 'stdio']),
    /** OAuth: the client the access token was issued to (`client_id` or `azp`). */
    oauth_client: z.string().optional(),
    /** The MCP client as it named itself (`clientInfo`), when it did. */
    client: client.optional(),
    transport: z.enum(['http', 'stdio']),
    /** The MCP protocol era: 2025 (initialize, MCP sessions) or 2026 (2026-07-28, per-request envelope). */
    era: z.enum(['2025', '2026']),
    /** The Mcp-Session-Id (2025 era over HTTP). */
    mcp_session: z.string().optional(),
    /** The session the call addressed (resolved, or named in `session_id`). */
    session: z.string().optional(),
    tool: z.string(),
    /** The arguments, digested: secrets and typed text redacted, free text cut (AUDIT_TEXT_CHARS), nothing binary. */
    args: z.record(z.string(), z.unknown()),
    /** `ok`, or the error code of the call's isError result (PERMISSION_DENIED, SESSION_LIMIT, …). */
    outcome: z.string(),
    duration_ms: z.number().int().nonnegative(),
  })
  .strict();

/** One read of a resource that holds a session's data (a recording, a trajectory), written when it finished. */
export const resourceReadLine = z
  .object({
    ...base,
    audit: z.literal('resource_read'),
    auth: z.enum(['api-key', 'oauth', 'anonymous', 'stdio']),
    oauth_client: z.string().optional(),
    transport: z.enum(['http', 'stdio']),
    era: z.enum(['2025', '2026']),
    mcp_session: z.string().optional(),
    /** The session whose data it is (from the URI). */
    session: z.string().optional(),
    /** The resource read: `recording://<session>/<recording>[/<file>]` or `trajectory://<session>/<task>[/<file>]`. */
    uri: z.string(),
    /** `ok`, the error's code (PERMISSION_DENIED …), or NOT_FOUND. */
    outcome: z.string(),
    duration_ms: z.number().int().nonnegative(),
  })
  .strict();

const sessionBase = { ...base, session: z.string() };

/** A session was admitted: by its first call (named, default) or create_session (minted). */
export const sessionCreatedLine = z.object({ ...sessionBase, audit: z.literal('session_created'), kind: z.enum(['named', 'minted', 'default']) }).strict();

/** A computer was leased for the session: its own (also a replacement after one failed), or an extra one of concurrent tasks. */
export const computerAssignedLine = z.object({ ...sessionBase, audit: z.literal('computer_assigned'), computer: z.string(), extra: z.boolean() }).strict();

/** The session ended, and why. */
export const sessionEndedLine = z
  .object({
    ...sessionBase,
    audit: z.literal('session_ended'),
    reason: z.enum(['cleanup', 'operator', 'idle', 'connection-closed', 'shutdown', 'unregistered', 'handed-over', 'start-failed']),
    /** The operator who ended it (reason `operator`). */
    by: z.string().optional(),
  })
  .strict();

/** A person took control of the session's desktop in the live view. */
export const controlTakenLine = z.object({ ...sessionBase, audit: z.literal('control_taken'), holder: z.string() }).strict();

/** Control of the desktop went back to the agent, and why. */
export const controlReturnedLine = z
  .object({ ...sessionBase, audit: z.literal('control_returned'), holder: z.string(), reason: z.enum(['holder', 'tool', 'idle', 'session-ended']) })
  .strict();

/** Every line of the audit trail (version 1): one JSON object per line, told apart by `audit`. */
export const auditLine = z.discriminatedUnion('audit', [toolCallLine, resourceReadLine, sessionCreatedLine, computerAssignedLine, sessionEndedLine, controlTakenLine, controlReturnedLine]);
export type AuditLine = z.infer<typeof auditLine>;
export type AuditEvent = AuditLine['audit'];
