import { desktopLabels, DesktopOwner, makerAnnotations, namePrefix, ownerReferences } from './desktop-labels';
import type { SandboxClaimObject } from './desktop-state';

/**
 * kubernetes-sigs/agent-sandbox, as its API is published (extensions/api/v1alpha1 and v1beta1,
 * CRDs in k8s/crds): SandboxClaim lives in group extensions.agents.x-k8s.io, plural
 * `sandboxclaims`. v1beta1 (agent-sandbox ≥ 0.5, the storage version) claims from a warm pool
 * (`spec.warmPoolRef.name`, required); v1alpha1 claims from a template
 * (`spec.sandboxTemplateRef.name`) with an optional `spec.warmpool` policy ("none", "default" or a
 * pool's name). Status: `conditions` (Ready) and `sandbox.podIPs`.
 */
export const SANDBOX_GROUP = 'extensions.agents.x-k8s.io';
export const SANDBOX_CLAIMS = 'sandboxclaims';
export const SANDBOX_VERSIONS = ['v1beta1', 'v1alpha1'] as const;
export type SandboxVersion = (typeof SANDBOX_VERSIONS)[number];

export interface ClaimInput {
  namespace: string;
  owner: DesktopOwner;
  version: SandboxVersion;
  warmPool?: string;
  template?: string;
  /** Shared mode: the replica incarnation making it (owner token), annotated on the claim (ANNOTATION.maker). */
  maker?: string;
}

/**
 * Which served version to use with the names configured: v1beta1 needs a warm pool, v1alpha1 a
 * template. Undefined, with the reason, when nothing fits.
 */
export function chooseClaimVersion(served: readonly SandboxVersion[], warmPool?: string, template?: string): { version?: SandboxVersion; why: string } {
  if (!served.length) return { why: `the agent-sandbox API (${SANDBOX_GROUP}, ${SANDBOX_CLAIMS}) is not served by this cluster` };
  if (warmPool && served.includes('v1beta1')) return { version: 'v1beta1', why: `SandboxWarmPool ${warmPool} (v1beta1)` };
  if (template && served.includes('v1alpha1')) return { version: 'v1alpha1', why: `SandboxTemplate ${template}${warmPool ? `, warm pool ${warmPool}` : ''} (v1alpha1)` };
  if (!warmPool && !template) return { why: 'neither KUBERNETES_SANDBOX_WARM_POOL nor KUBERNETES_SANDBOX_TEMPLATE is set' };
  return {
    why: served.includes('v1beta1')
      ? `this cluster serves SandboxClaim ${served.join(', ')}: v1beta1 claims need KUBERNETES_SANDBOX_WARM_POOL`
      : `this cluster serves SandboxClaim v1alpha1 only, which needs KUBERNETES_SANDBOX_TEMPLATE`,
  };
}

export function buildSandboxClaim(input: ClaimInput): SandboxClaimObject {
  const labels = desktopLabels(input.owner);
  const owners = ownerReferences(input.owner, input.namespace);
  const spec: Record<string, unknown> =
    input.version === 'v1beta1'
      ? { warmPoolRef: { name: input.warmPool } }
      : { sandboxTemplateRef: { name: input.template }, ...(input.warmPool ? { warmpool: input.warmPool } : {}) };
  // The sandbox's pod carries our labels too, so the chart's NetworkPolicy and `kubectl get pods -l` find it.
  spec.additionalPodMetadata = { labels };
  return {
    apiVersion: `${SANDBOX_GROUP}/${input.version}`,
    kind: 'SandboxClaim',
    metadata: {
      generateName: namePrefix(input.owner.release),
      namespace: input.namespace,
      labels,
      ...(input.maker !== undefined ? { annotations: makerAnnotations(input.maker) } : {}),
      ...(owners ? { ownerReferences: owners } : {}),
    },
    spec,
  };
}
