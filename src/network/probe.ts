/**
 * The verification probe: the image the lab imports (and users load on hosts that cannot pull) and the name
 * of the container or network namespace `up`/`check` start from it. One home, so the lab never builds one
 * image while verify runs another.
 */

/** busybox + iputils ping (don't-fragment pings at the MTU); imported offline, never pulled. */
export const PROBE_IMAGE = 'flanprov-probe:1';
/** the probe container's (or, without Docker, the probe network namespace's) name on a host */
export const PROBE_NAME = 'flanprov-probe';
