import { PERMISSIONS, PermissionDeniedError, type Identity } from '../auth/auth.module';

/**
 * Which permission each tool needs: the one place (docs/security.md#permissions shows it as a table). ToolRunner
 * checks it before a call does anything; a tool missing here is refused (fail closed), and test/audit.e2e-spec.ts
 * calls every tool the server lists.
 */
export const TOOL_PERMISSIONS: Readonly<Record<string, string>> = {
  screenshot_cua: PERMISSIONS.computersUse,
  computer: PERMISSIONS.computersUse,
  run_command: PERMISSIONS.computersUse,
  create_session: PERMISSIONS.computersUse,
  list_sessions: PERMISSIONS.computersUse,
  cleanup_session: PERMISSIONS.computersUse,
  get_session_stats: PERMISSIONS.computersUse,
  release_control: PERMISSIONS.computersUse,
  live_view: PERMISSIONS.computersUse,
  live_view_control: PERMISSIONS.computersUse,
  dashboard: PERMISSIONS.computersUse,
  run_cua_task: PERMISSIONS.agentRun,
  run_multi_cua_tasks: PERMISSIONS.agentRun,
};

/**
 * Arguments that reach other principals' sessions. A call that uses one (naming another principal than the
 * caller's, or `all_principals: true`) needs the operator's permission, sessions:admin, instead of the tool's own.
 * These tools also take sessions:admin in place of their own permission for the caller's own sessions: what an
 * operator may do to everyone's sessions it may do to its own.
 */
export const OPERATOR_ARGUMENTS: Readonly<Record<string, readonly string[]>> = {
  list_sessions: ['principal', 'all_principals'],
  cleanup_session: ['principal'],
};

/** The trajectory:// and recording:// resources: listed and read with recordings:read. */
export const RECORDINGS_PERMISSION = PERMISSIONS.recordingsRead;

/** Whether an operator argument reaches beyond the caller: another principal, or all of them. */
function reachesOthers(value: unknown, caller: string): boolean {
  if (value === undefined || value === false) return false;
  return value !== caller;
}

/**
 * What a call needs: one of `anyOf` (a refusal names the first), and the words a refusal uses for what was refused.
 * Undefined for a tool missing from the table.
 */
export function requiredPermission(tool: string, args: Record<string, unknown>, caller: string): { anyOf: string[]; what: string } | undefined {
  const operatorArguments = OPERATOR_ARGUMENTS[tool] ?? [];
  const reaching = operatorArguments.filter((name) => reachesOthers(args[name], caller));
  if (reaching.length) return { anyOf: [PERMISSIONS.sessionsAdmin], what: `${tool} with ${reaching.join(' and ')}` };
  const permission = TOOL_PERMISSIONS[tool];
  if (permission === undefined) return undefined;
  return { anyOf: operatorArguments.length ? [permission, PERMISSIONS.sessionsAdmin] : [permission], what: tool };
}

/**
 * Throws PermissionDeniedError when the caller lacks the permission the call needs, and an Error (INTERNAL) for a
 * tool that is missing from TOOL_PERMISSIONS: a tool nobody said the permission of is refused to everyone.
 */
export function checkPermission(tool: string, args: Record<string, unknown>, identity: Identity): void {
  const needed = requiredPermission(tool, args, identity.principal);
  if (!needed) throw new Error(`The tool ${tool} has no permission in TOOL_PERMISSIONS (mcp/tool-permissions.ts), so nobody may call it.`);
  if (!needed.anyOf.some((p) => identity.permissions.has(p))) throw new PermissionDeniedError(needed.anyOf[0], needed.what, identity);
}

/** The refusal when the caller may not read recordings and trajectories (`what` says which); undefined when it may. */
export function recordingsDenial(identity: Identity, what: string): PermissionDeniedError | undefined {
  return identity.permissions.has(RECORDINGS_PERMISSION) ? undefined : new PermissionDeniedError(RECORDINGS_PERMISSION, what, identity);
}
