import type { V1Pod } from '@kubernetes/client-node';
import { claimState, describeState, podState, reasonLabel } from './desktop-state';

const pod = (status: V1Pod['status'], metadata: V1Pod['metadata'] = { name: 'p' }): V1Pod => ({ metadata, status });
const waiting = (reason: string, message?: string) => ({ name: 'desktop', ready: false, restartCount: 0, image: 'i', imageID: '', state: { waiting: { reason, message } } });

describe(podState.name, () => {
  it('is ready only when Running, Ready=True and with an IP', () => {
    expect(podState(pod({ phase: 'Running', podIP: '10.1.2.3', conditions: [{ type: 'Ready', status: 'True' }] }))).toEqual({ kind: 'ready', ip: '10.1.2.3' });
    expect(podState(pod({ phase: 'Running', podIP: '10.1.2.3', conditions: [{ type: 'Ready', status: 'False', message: 'probe failed' }] }))).toEqual({
      kind: 'starting',
      reason: 'NotReady',
      message: 'probe failed',
    });
    expect(podState(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })).kind).toBe('starting');
  });

  it.each(['ImagePullBackOff', 'ErrImagePull', 'CrashLoopBackOff', 'CreateContainerConfigError', 'InvalidImageName'])('%s is a failure that names the reason', (reason) => {
    const s = podState(pod({ phase: 'Pending', containerStatuses: [waiting(reason, 'details here')] }));
    expect(s).toEqual({ kind: 'failed', reason, message: `container desktop: ${reason} (details here)` });
  });

  it('ContainerCreating and an unschedulable pod are still starting, with the scheduler’s message', () => {
    expect(podState(pod({ phase: 'Pending', containerStatuses: [waiting('ContainerCreating')] }))).toEqual({ kind: 'starting', reason: 'ContainerCreating', message: undefined });
    const unschedulable = podState(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] }));
    expect(unschedulable).toEqual({ kind: 'starting', reason: 'Unschedulable', message: '0/3 nodes are available' });
    expect(describeState(unschedulable)).toBe('starting (Unschedulable: 0/3 nodes are available)');
    expect(podState(pod(undefined))).toEqual({ kind: 'starting', reason: 'Pending' });
  });

  it('a Failed pod (evicted, crashed) is a failure with its reason; a terminating pod is gone', () => {
    expect(podState(pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }))).toEqual({
      kind: 'failed',
      reason: 'Evicted',
      message: 'pod Failed: Evicted (The node was low on resource: memory.)',
    });
    const crashed = podState(pod({ phase: 'Failed', containerStatuses: [{ name: 'desktop', ready: false, restartCount: 0, image: 'i', imageID: '', state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] }));
    expect(crashed).toEqual({ kind: 'failed', reason: 'OOMKilled', message: 'pod Failed: OOMKilled (exit code 137)' });
    expect(podState(pod({ phase: 'Running' }, { name: 'p', deletionTimestamp: new Date() }))).toEqual({ kind: 'gone', reason: 'Terminating' });
  });

  it('keeps metric labels bounded', () => {
    expect(reasonLabel('ImagePullBackOff')).toBe('ImagePullBackOff');
    expect(reasonLabel('SomethingNew-1234')).toBe('Other');
  });
});

describe(claimState.name, () => {
  it('is ready when Ready=True and the sandbox has a pod IP', () => {
    expect(claimState({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'DependenciesReady', message: '', lastTransitionTime: new Date() }], sandbox: { name: 's', podIPs: ['10.0.0.9'] } } })).toEqual({ kind: 'ready', ip: '10.0.0.9' });
  });

  it('waits while the controller works (or the warm pool is missing), fails on reasons it does not get over', () => {
    const cond = (reason: string, status = 'False') => ({ status: { conditions: [{ type: 'Ready', status, reason, message: `m ${reason}`, lastTransitionTime: new Date() }] } });
    expect(claimState(cond('SandboxNotReady'))).toEqual({ kind: 'starting', reason: 'SandboxNotReady', message: 'm SandboxNotReady' });
    expect(claimState(cond('WarmPoolNotFound')).kind).toBe('starting');
    expect(claimState(cond('InvalidMetadata'))).toEqual({ kind: 'failed', reason: 'InvalidMetadata', message: 'claim not ready: InvalidMetadata (m InvalidMetadata)' });
    expect(claimState({ status: { conditions: [{ type: 'Finished', status: 'True', reason: 'PodFailed', message: '', lastTransitionTime: new Date() }] } }).kind).toBe('failed');
    expect(claimState({ metadata: { deletionTimestamp: new Date() } })).toEqual({ kind: 'gone', reason: 'Terminating' });
  });
});
