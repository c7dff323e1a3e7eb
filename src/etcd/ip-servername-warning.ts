/**
 * grpc-js passes an IP endpoint's address (e.g. https://198.18.1.10:2379) to tls.connect as `servername`,
 * and Node prints "[DEP0123] DeprecationWarning: Setting the TLS ServerName to an IP address ..." on
 * stderr: once per run of `flanprov` and in every agent's journal, for nothing the user can change (the
 * certificate is still checked against the IP SAN). Only that one warning is dropped; every other warning
 * is passed on unchanged.
 */
let installed = false;

export function isIpServernameWarning(warning: unknown, typeOrOptions: unknown, code: unknown): boolean {
  if (typeof typeOrOptions === 'object' && typeOrOptions !== null) return (typeOrOptions as { code?: unknown }).code === 'DEP0123';
  if (code === 'DEP0123') return true;
  return warning instanceof Error && (warning as Error & { code?: unknown }).code === 'DEP0123';
}

export function dropIpServernameWarning(): void {
  if (installed) return;
  installed = true;
  const emit = process.emitWarning;
  process.emitWarning = function emitWarning(this: unknown, warning: string | Error, ...rest: unknown[]): void {
    if (isIpServernameWarning(warning, rest[0], rest[1])) return;
    (emit as (...a: unknown[]) => void).apply(process, [warning, ...rest]);
  } as typeof process.emitWarning;
}
