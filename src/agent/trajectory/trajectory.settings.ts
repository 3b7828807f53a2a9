import { Setting, defineSettings, type SettingsOf, Int, Optional, Text } from '../../config/settings';

class TrajectoryEnv {
  @Setting('Folder for task trajectories, also served as MCP resources; unset: off.')
  @Optional() @Text()
  TRAJECTORY_DIR?: string;

  @Setting('Trajectories older than this (7 days) are deleted.')
  @Int(1000, 31_536_000_000)
  TRAJECTORY_MAX_AGE_MS = 604_800_000;
}

export const TRAJECTORY_SETTINGS = defineSettings({
  namespace: 'trajectories',
  title: 'Trajectories',
  env: TrajectoryEnv,
  build: (env) => ({ dir: env.TRAJECTORY_DIR, maxAgeMs: env.TRAJECTORY_MAX_AGE_MS }),
});
export type TrajectorySettings = SettingsOf<typeof TRAJECTORY_SETTINGS>;
