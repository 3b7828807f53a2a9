import { Setting, defineSettings, type SettingsOf, Int, Optional } from '../config/settings';

/** The most a step or token quota may be set to (a safe integer, with room to add one step's tokens). */
const MAX_QUOTA = 1_000_000_000_000;

class QuotaEnv {
  @Setting(
    'Most agent tasks one principal may run at once, on all replicas together with `REDIS_URL`: each `run_cua_task`, and each task of a ' +
      '`run_multi_cua_tasks` call running at the same time (one for `concurrent=false`, which runs its tasks in turn; one per task for ' +
      '`concurrent=true`). A call beyond it is refused with `QUOTA_EXCEEDED` before it starts anything. Unset: no limit.',
  )
  @Optional() @Int(1, 100_000)
  MAX_TASKS_PER_PRINCIPAL?: number;

  @Setting(
    'Most agent steps (model calls) one principal may take in one UTC clock hour, on all replicas together. Checked before each step: a task ' +
      'call is refused with `QUOTA_EXCEEDED` (saying when the hour ends), and a running task stops before its next step with the steps it did. Unset: no limit.',
  )
  @Optional() @Int(1, MAX_QUOTA)
  QUOTA_STEPS_PER_HOUR?: number;

  @Setting('The same per UTC day (midnight to midnight UTC). Unset: no limit.')
  @Optional() @Int(1, MAX_QUOTA)
  QUOTA_STEPS_PER_DAY?: number;

  @Setting(
    'Most model tokens (input + output, as the model reports them) one principal may use in one UTC clock hour, on all replicas together. ' +
      'Checked before each step like the steps: a step is not started once the tokens reached the limit, so the last step may go past it by ' +
      'what it used (each running task by one step). Unset: no limit.',
  )
  @Optional() @Int(1, MAX_QUOTA)
  QUOTA_TOKENS_PER_HOUR?: number;

  @Setting('The same per UTC day. Unset: no limit.')
  @Optional() @Int(1, MAX_QUOTA)
  QUOTA_TOKENS_PER_DAY?: number;

  @Setting(
    'How many principals get a label of their own in the per-principal metrics (`cua_quota_usage`, `cua_agent_tasks_running`): the ones with ' +
      'the most of each figure now; the rest are summed under `principal="(other)"`. `0`: only `(other)`, no principal\'s name in the metrics.',
  )
  @Int(0, 100)
  QUOTA_METRICS_PRINCIPALS = 10;
}

export const QUOTA_SETTINGS = defineSettings({
  namespace: 'quota',
  title: 'Quotas per principal (agent tasks, steps, tokens)',
  docs: 'security.md#quotas-per-principal',
  env: QuotaEnv,
  build: (env) => ({
    /** MAX_TASKS_PER_PRINCIPAL; undefined: no limit. */
    maxTasks: env.MAX_TASKS_PER_PRINCIPAL,
    /** The step and token limits per window; undefined: none (the usage is still counted). */
    limits: {
      steps: { hour: env.QUOTA_STEPS_PER_HOUR, day: env.QUOTA_STEPS_PER_DAY },
      tokens: { hour: env.QUOTA_TOKENS_PER_HOUR, day: env.QUOTA_TOKENS_PER_DAY },
    },
    metricsPrincipals: env.QUOTA_METRICS_PRINCIPALS,
  }),
});
export type QuotaSettings = SettingsOf<typeof QUOTA_SETTINGS>;
