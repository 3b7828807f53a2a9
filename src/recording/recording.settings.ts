import { Setting, defineSettings, type SettingsOf, Bool, Int, Optional, Text } from '../config/settings';

class RecordingEnv {
  @Setting(
    'Record every session: an action log and a video of its desktop (see recordings.md), kept after the session ends and readable by its owner. ' +
      'Off by default: it costs disk (about 3 to 20 MB per session-hour at 2 fps and 1280x800, more for busy screens) and CPU (per session, an `ffmpeg` encoder at about 2 % of a core and in-process captures at under 1 %, at 1280x800 and 2 fps), ' +
      'and it keeps what people and agents did on the desktops. Needs `ffmpeg` with VP9 (Debian\'s `ffmpeg`).',
  )
  @Bool()
  RECORDING = false;

  @Setting('Folder for recordings (one folder per principal, named by a keyed hash); required with `RECORDING=true`. Give each server its own.')
  @Optional() @Text()
  RECORDING_DIR?: string;

  @Setting('Frames per second of the desktop videos.')
  @Int(1, 10)
  RECORDING_FPS = 2;

  @Setting('Length of each video segment in seconds: an encoder that dies loses at most the segment it was writing (a server that dies loses none: ffmpeg closes the segment). Segments are joined into one video when the session ends.')
  @Int(2, 600)
  RECORDING_SEGMENT_S = 30;

  @Setting('Recordings whose session ended longer ago than this (7 days) are deleted.')
  @Int(60_000, 31_536_000_000)
  RECORDING_RETENTION_MS = 604_800_000;

  @Setting('Disk cap for all recordings together (5 GiB): past it the oldest finished recordings are deleted first, then the oldest segments of recordings still being written.')
  @Int(1_048_576, 1_099_511_627_776)
  RECORDING_MAX_BYTES = 5_368_709_120;

  @Setting('Largest recording file served as an MCP resource (16 MiB; it travels base64-encoded in one message); larger videos are downloaded from the dashboard.')
  @Int(65_536, 268_435_456)
  RECORDING_RESOURCE_MAX_BYTES = 16_777_216;
}

export const RECORDING_SETTINGS = defineSettings({
  namespace: 'recording',
  title: 'Recordings',
  docs: 'recordings.md',
  env: RecordingEnv,
  check: (env) => (env.RECORDING && !env.RECORDING_DIR ? [{ key: 'RECORDING_DIR', after: ['RECORDING'], reason: 'must be set when RECORDING=true (a folder the server may write)' }] : []),
  build: (env) => ({
    enabled: env.RECORDING,
    dir: env.RECORDING_DIR,
    fps: env.RECORDING_FPS,
    segmentS: env.RECORDING_SEGMENT_S,
    retentionMs: env.RECORDING_RETENTION_MS,
    maxBytes: env.RECORDING_MAX_BYTES,
    resourceMaxBytes: env.RECORDING_RESOURCE_MAX_BYTES,
  }),
});
export type RecordingSettings = SettingsOf<typeof RECORDING_SETTINGS>;
