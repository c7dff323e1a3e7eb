/**
 * flanprov's version, for the CLI (`--version`, run logs) and the agent (`-version`, /status): package.json's,
 * inlined by esbuild into both bundles so they can never report different versions.
 */
import pkg from '../../package.json';

export const VERSION: string = (pkg as { version: string }).version;
