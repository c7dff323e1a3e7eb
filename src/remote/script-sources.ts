/**
 * The text of the remote scripts in src/remote/scripts/*.sh. Under tsx (tests, `node --import tsx`) they
 * are read from the files next to this module; `npm run build` replaces this whole module with one that
 * holds every script inline (scripts/remote-scripts-plugin.mjs), so dist/flanprov.cjs needs no file beside
 * it. Both export the same function.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The text of src/remote/scripts/NAME.sh; throws when there is none. */
export function scriptSource(name: string): string {
  return readFileSync(join(__dirname, 'scripts', `${name}.sh`), 'utf8');
}
