import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Screenshot } from '../../computer/computer.module';

type Content = CallToolResult['content'][number];

export function imageBlock(shot: Screenshot): Content {
  return { type: 'image', data: shot.data.toString('base64'), mimeType: shot.mimeType };
}

export function describeShot(shot: Screenshot): string {
  const fmt = shot.mimeType === 'image/png' ? 'PNG' : 'JPEG';
  return (
    `${shot.width}x${shot.height} ${fmt}, ${shot.data.length} bytes; screen ${shot.screenWidth}x${shot.screenHeight}, ` +
    `scale ${shot.scale.toFixed(4)} (give coordinates in this image's pixels)`
  );
}

export function text(t: string): Content {
  return { type: 'text', text: t };
}
