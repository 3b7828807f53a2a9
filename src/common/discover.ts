import type { DiscoveryService } from '@nestjs/core';

/**
 * Every provider instance marked with `decorator` in the app, checked to extend `base` and to
 * have a unique `name`. Used by the computer- and model-provider registries.
 */
export function discoverNamed<T extends { name: string }>(
  discovery: DiscoveryService,
  decorator: { KEY: string },
  base: abstract new (...args: never[]) => T,
  what: string,
): Map<string, T> {
  const found = new Map<string, T>();
  for (const wrapper of discovery.getProviders({ metadataKey: decorator.KEY })) {
    const instance: unknown = wrapper.instance;
    if (!(instance instanceof base)) throw new Error(`${wrapper.name} is registered as a ${what} but does not extend ${base.name}`);
    if (found.has(instance.name)) throw new Error(`Two ${what}s are both named "${instance.name}"`);
    found.set(instance.name, instance);
  }
  return found;
}
