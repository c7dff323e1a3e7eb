/** The agent's version (package.json's, inlined by esbuild into the single executable). */
import pkg from '../../package.json';

export const VERSION: string = (pkg as { version: string }).version;
