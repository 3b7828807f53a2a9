import type { V1Condition, V1Pod } from '@kubernetes/client-node';

/**
 * Where a desktop stands, read from its pod (or claim). Pure, so the decisions are unit-tested.
 * - ready: serving, at `ip`;
 * - starting: not yet; `reason` says what it waits for (Unschedulable, ContainerCreating …);
 * - failed: it will not become ready by itself (ImagePullBackOff, CrashLoopBackOff, Failed …);
 * - gone: being deleted, or deleted.
 */
export type DesktopState =
  | { kind: 'ready'; ip: string }
  | { kind: 'starting'; reason: string; message?: string }
  | { kind: 'failed'; reason: string; message: string }
  | { kind: 'gone'; reason: string };

/** Container waiting reasons after which a pod does not come up without someone's help. */
export const FATAL_WAITING_REASONS: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/**
 * Failure reasons as a bounded set (metric labels): the known ones as they are, anything else
 * as `Other`. ReadyTimeout, Unschedulable and Deleted are ours.
 */
const KNOWN_REASONS = new Set([
  ...FATAL_WAITING_REASONS,
  'Failed',
  'Succeeded',
  'Evicted',
  'OOMKilled',
  'Error',
  'Completed',
  'DeadlineExceeded',
  'ReadyTimeout',
  'Unschedulable',
  'Deleted',
  'ConnectFailed',
  'SandboxFinished',
  'TemplateNotFound',
  'WarmPoolNotFound',
  'InvalidMetadata',
  'EnvVarsInjectionRejected',
  'VolumeClaimTemplatesError',
  'ClaimExpired',
  'SandboxExpired',
]);
export function reasonLabel(reason: string): string {
  return KNOWN_REASONS.has(reason) ? reason : 'Other';
}

export function podState(pod: V1Pod): DesktopState {
  if (pod.metadata?.deletionTimestamp) return { kind: 'gone', reason: 'Terminating' };
  const status = pod.status ?? {};
  const statuses = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  for (const c of statuses) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && FATAL_WAITING_REASONS.has(waiting.reason)) {
      return { kind: 'failed', reason: waiting.reason, message: `container ${c.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}` };
    }
  }
  if (status.phase === 'Failed' || status.phase === 'Succeeded') {
    const terminated = statuses.map((c) => c.state?.terminated).find((t) => t);
    const reason = status.reason ?? terminated?.reason ?? status.phase;
    const detail = status.message ?? terminated?.message ?? (terminated ? `exit code ${terminated.exitCode}` : '');
    return { kind: 'failed', reason, message: `pod ${status.phase}: ${reason}${detail ? ` (${detail})` : ''}` };
  }
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  if (status.phase === 'Running' && ready?.status === 'True' && status.podIP) return { kind: 'ready', ip: status.podIP };
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return { kind: 'starting', reason: scheduled.reason ?? 'Unscheduled', message: scheduled.message };
  const waiting = statuses.map((c) => c.state?.waiting).find((w) => w?.reason);
  if (waiting?.reason) return { kind: 'starting', reason: waiting.reason, message: waiting.message };
  if (status.phase === 'Running') return { kind: 'starting', reason: 'NotReady', message: ready?.message };
  return { kind: 'starting', reason: status.phase ?? 'Pending' };
}

/** A SandboxClaim of kubernetes-sigs/agent-sandbox, as far as we read it (v1alpha1 and v1beta1 agree here). */
export interface SandboxClaimObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1Pod['metadata'];
  spec?: Record<string, unknown>;
  status?: { conditions?: V1Condition[]; sandbox?: { name?: string; podIPs?: string[] } };
}

/** Ready=False reasons of a claim that its controller does not get over by itself. */
const FATAL_CLAIM_REASONS = new Set(['InvalidMetadata', 'EnvVarsInjectionRejected', 'VolumeClaimTemplatesError', 'ClaimExpired', 'SandboxExpired']);

export function claimState(claim: SandboxClaimObject): DesktopState {
  if (claim.metadata?.deletionTimestamp) return { kind: 'gone', reason: 'Terminating' };
  const conditions = claim.status?.conditions ?? [];
  const finished = conditions.find((c) => c.type === 'Finished' && c.status === 'True');
  if (finished) return { kind: 'failed', reason: 'SandboxFinished', message: `sandbox finished: ${finished.reason}${finished.message ? ` (${finished.message})` : ''}` };
  const ready = conditions.find((c) => c.type === 'Ready');
  const ip = claim.status?.sandbox?.podIPs?.[0];
  if (ready?.status === 'True' && ip) return { kind: 'ready', ip };
  if (ready?.status === 'False' && FATAL_CLAIM_REASONS.has(ready.reason)) {
    return { kind: 'failed', reason: ready.reason, message: `claim not ready: ${ready.reason}${ready.message ? ` (${ready.message})` : ''}` };
  }
  return { kind: 'starting', reason: ready?.reason ?? 'Pending', message: ready?.message };
}

/** One line for logs and errors: "starting (Unschedulable: 0/3 nodes are available …)". */
export function describeState(state: DesktopState): string {
  switch (state.kind) {
    case 'ready':
      return `ready at ${state.ip}`;
    case 'starting':
      return `starting (${state.reason}${state.message ? `: ${state.message}` : ''})`;
    case 'failed':
      return `failed (${state.message})`;
    case 'gone':
      return `gone (${state.reason})`;
  }
}
