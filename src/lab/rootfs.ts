/**
 * The hosts' root filesystem: Debian bookworm (minbase + systemd, sshd, Docker, network tools), built once
 * with debootstrap from the machine's Debian mirror and cached under /var/cache/flanprov, keyed by a hash
 * of the recipe below, so a changed recipe builds a new cache entry and an unchanged one is reused by
 * every lab. Hosts never write into it: each gets an overlayfs view with a private upper dir (hosts.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, chmodSync, symlinkSync, unlinkSync, copyFileSync, lstatSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { CACHE_ROOT } from './paths.js';
import { run, runOk } from './exec.js';
import { progress } from './progress.js';
import { StepFailedError } from '../util/errors.js';

/** Bump when the build steps change in a way the package list does not show. */
const RECIPE_VERSION = 4;
const SUITE = 'bookworm';
export const ROOTFS_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'iproute2', 'iptables', 'iputils-ping', 'procps',
  'tcpdump', 'ca-certificates', 'libstdc++6', 'docker.io', 'busybox-static',
  // non-root users with sudo (issue 10: password logins and become passwords, test/e2e/inventory-user.test.ts)
  'sudo',
  // Podman hosts (`lab up --runtime podman`, runtime.ts): one rootfs for both runtimes, one cache
  'podman', 'containernetworking-plugins',
] as const;

/**
 * Podman inside an nspawn host: the CNI network backend with Debian's plugins (issue 15: flannel's CNI
 * plugin delegates to bridge/host-local from /usr/lib/cni); the cgroupfs manager, because the guest's
 * cgroup v1 hierarchies are nspawn's (made writable by CGROUP_RW_UNIT) and podman's systemd manager would
 * create transient scopes per container; events to a file rather than the journal; ping allowed in
 * containers as Docker allows it.
 */
export const CONTAINERS_CONF = `# flanprov lab host
[containers]
# what Docker (>= 20.10) does for every container: unprivileged ICMP sockets, so ping works without NET_RAW
# (which podman's default capabilities lack)
default_sysctls = ["net.ipv4.ping_group_range=0 2147483647"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni", "/opt/cni/bin"]
`;

/** sshd for a provisioning target: many parallel sessions/channels (flanprov multiplexes), sftp in-process. */
export const SSHD_CONFIG = `# flanprov lab host
Include /etc/ssh/sshd_config.d/*.conf
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AcceptEnv LANG LC_*
MaxSessions 50
MaxStartups 100:30:200
Subsystem sftp internal-sftp
`;

/**
 * nspawn mounts the cgroup v1 controllers read-only; dockerd/runc must create cgroups in them. A plain
 * remount gives "mount point is busy"; a bind remount works (found in the testbed, error 4).
 */
export const CGROUP_RW_UNIT = `[Unit]
Description=flanprov lab: make cgroup v1 controllers writable for containerd/dockerd (nspawn mounts them read-only)
DefaultDependencies=no
Before=containerd.service docker.service
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for c in /sys/fs/cgroup/*; do [ "$c" = /sys/fs/cgroup/systemd ] || [ "$c" = /sys/fs/cgroup/unified ] || mount -o remount,bind,rw "$c"; done'

[Install]
WantedBy=multi-user.target
`;

/** Units that only slow a lab host's boot or do nothing useful in a container. */
const MASKED_UNITS = [
  'apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'e2scrub_reap.service', 'console-getty.service',
  'getty@.service', 'getty.target', 'systemd-timesyncd.service', 'fstrim.timer',
];

/**
 * Units Debian's podman package enables at install: the API service and socket and the auto-update timer
 * have no use on a lab host (and podman.service fails on a Docker host, whose /var/lib/containers is on
 * the overlay); podman-restart.service (containers with --restart=always after a boot) is enabled again
 * on Podman hosts only (hosts.ts).
 */
export const PODMAN_RESTART_WANT = 'etc/systemd/system/default.target.wants/podman-restart.service';
const DISABLED_WANTS = [
  'etc/systemd/system/sockets.target.wants/podman.socket', 'etc/systemd/system/default.target.wants/podman.service',
  'etc/systemd/system/default.target.wants/podman-auto-update.service', 'etc/systemd/system/timers.target.wants/podman-auto-update.timer',
  PODMAN_RESTART_WANT,
];

export interface RootfsInfo {
  /** cache entry: rootfs/ and probe.tar inside */
  dir: string;
  rootfs: string;
  probeTar: string;
  hash: string;
  /** seconds the build took (recorded when it was built) */
  buildSeconds: number;
  cached: boolean;
}

export function recipeHash(): string {
  const recipe = JSON.stringify({ RECIPE_VERSION, SUITE, ROOTFS_PACKAGES, SSHD_CONFIG, CGROUP_RW_UNIT, MASKED_UNITS, CONTAINERS_CONF, DISABLED_WANTS });
  return createHash('sha256').update(recipe).digest('hex').slice(0, 12);
}

export function rootfsCacheDir(): string {
  return join(CACHE_ROOT, `rootfs-${SUITE}-${recipeHash()}`);
}

/** The cached root filesystem, or undefined when it has not been built (or a build did not finish). */
export function cachedRootfs(): RootfsInfo | undefined {
  const dir = rootfsCacheDir();
  const stamp = join(dir, 'recipe.json');
  if (!existsSync(stamp)) return undefined;
  const meta = JSON.parse(readFileSync(stamp, 'utf8')) as { buildSeconds?: number };
  return { dir, rootfs: join(dir, 'rootfs'), probeTar: join(dir, 'probe.tar'), hash: recipeHash(), buildSeconds: meta.buildSeconds ?? 0, cached: true };
}

/**
 * The Debian mirror apt already uses on this machine (its sources), so the build works wherever apt does.
 * FLANPROV_DEBIAN_MIRROR overrides it.
 */
export function debianMirror(): string {
  if (process.env.FLANPROV_DEBIAN_MIRROR) return process.env.FLANPROV_DEBIAN_MIRROR;
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) if (/\.(list|sources)$/.test(f)) files.push(join('/etc/apt/sources.list.d', f));
  }
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    // one-line format: deb [opts] URI SUITE COMPONENTS
    for (const m of text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) {
      if (m[2] === SUITE && !/security/.test(m[1]!)) return m[1]!;
    }
    // deb822 format: stanzas with URIs: and Suites:
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(.+)$/m.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (!/^Types:.*\bdeb\b/m.test(stanza) || !suites.includes(SUITE)) continue;
      const uri = uris.find((u) => !/security/.test(u));
      if (uri) return uri;
    }
  }
  return 'http://deb.debian.org/debian';
}

/** Build the root filesystem unless it is cached. Safe to call from several processes: builds in a temp dir, renamed at the end. */
export async function ensureRootfs(): Promise<RootfsInfo> {
  const hit = cachedRootfs();
  if (hit) {
    progress(`root filesystem cached: ${hit.dir}`);
    return hit;
  }
  for (const tool of ['debootstrap', 'systemd-nspawn', 'chroot', 'tar']) {
    const r = await run('sh', ['-c', 'command -v "$1"', 'sh', tool]);
    if (r.code !== 0) throw new StepFailedError(`${tool} is not installed`, 'lab rootfs', 'run scripts/install-deps.sh (Debian packages debootstrap, systemd-container)');
  }
  const t0 = Date.now();
  const final = rootfsCacheDir();
  const tmp = `${final}.tmp-${process.pid}`;
  mkdirSync(CACHE_ROOT, { recursive: true });
  // builds that were interrupted leave temp dirs: remove those whose builder is gone
  for (const e of readdirSync(CACHE_ROOT)) {
    const m = /\.tmp-(\d+)$/.exec(e);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(CACHE_ROOT, e), { recursive: true, force: true });
  }
  const R = join(tmp, 'rootfs');
  mkdirSync(R, { recursive: true });
  const mirror = debianMirror();
  const log = join(tmp, 'build.log');
  try {
    progress(`building root filesystem (debootstrap ${SUITE} from ${mirror}; about a minute, once) -> ${final}`);
    const ds = await run('debootstrap', ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, SUITE, R, mirror]);
    writeFileSync(log, ds.stdout + ds.stderr);
    if (ds.code !== 0) {
      const tail = (ds.stdout + ds.stderr).trim().split('\n').slice(-10).join('\n  ');
      throw new StepFailedError(`debootstrap failed (exit ${ds.code}); log ${log}:\n  ${tail}`, 'lab rootfs',
        `check that ${mirror} is reachable (apt-get update) and that the packages exist: ${ROOTFS_PACKAGES.join(' ')}`);
    }
    for (const f of ['lib/systemd/systemd', 'usr/sbin/sshd', 'usr/sbin/dockerd', 'usr/bin/podman', 'usr/lib/cni/bridge', 'usr/bin/ping', 'bin/busybox', 'usr/bin/sudo']) {
      if (!existsSync(join(R, f))) throw new StepFailedError(`debootstrap finished but /${f} is missing from the root filesystem (log ${log})`, 'lab rootfs');
    }
    progress(`debootstrap done in ${((Date.now() - t0) / 1000).toFixed(0)} s; configuring`);
    await configureRootfs(R);
    await buildProbeTar(R, join(tmp, 'probe.tar'));
    const buildSeconds = (Date.now() - t0) / 1000;
    writeFileSync(join(tmp, 'recipe.json'), JSON.stringify({ hash: recipeHash(), suite: SUITE, packages: ROOTFS_PACKAGES, mirror, buildSeconds, builtAt: new Date().toISOString() }, null, 2) + '\n');
    if (existsSync(final)) rmSync(tmp, { recursive: true, force: true }); // another builder won the race
    else renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const info = cachedRootfs();
  if (!info) throw new StepFailedError('root filesystem build did not produce its stamp', 'lab rootfs');
  progress(`root filesystem built in ${info.buildSeconds.toFixed(0)} s (${(await runOk('du', ['-sh', info.rootfs])).split('\t')[0]})`);
  return { ...info, cached: false };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function configureRootfs(R: string): Promise<void> {
  const w = (p: string, text: string, mode = 0o644): void => {
    mkdirSync(dirname(join(R, p)), { recursive: true });
    writeFileSync(join(R, p), text);
    chmodSync(join(R, p), mode);
  };
  // sshd: our config; host keys are per host, generated at `lab up` (ssh-keys.ts), never shared
  w('etc/ssh/sshd_config', SSHD_CONFIG);
  for (const f of readdirSync(join(R, 'etc/ssh'))) if (f.startsWith('ssh_host_')) unlinkSync(join(R, 'etc/ssh', f));
  mkdirSync(join(R, 'root/.ssh'), { recursive: true, mode: 0o700 });
  chmodSync(join(R, 'root/.ssh'), 0o700);
  w('etc/systemd/system/flanprov-cgroup-rw.service', CGROUP_RW_UNIT);
  w('etc/containers/containers.conf', CONTAINERS_CONF);
  for (const p of DISABLED_WANTS) rmSync(join(R, p), { force: true });
  mkdirSync(join(R, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  const link = join(R, 'etc/systemd/system/multi-user.target.wants/flanprov-cgroup-rw.service');
  if (!existsSync(link)) symlinkSync('/etc/systemd/system/flanprov-cgroup-rw.service', link);
  for (const u of MASKED_UNITS) {
    const p = join(R, 'etc/systemd/system', u);
    try {
      lstatSync(p);
      unlinkSync(p);
    } catch {
      /* absent */
    }
    symlinkSync('/dev/null', p);
  }
  // every host gets its own machine-id (systemd writes one at first boot when the file is empty) and hostname
  w('etc/machine-id', '');
  rmSync(join(R, 'etc/hostname'), { force: true });
  // hosts are offline: no package lists or downloaded .debs in the image
  for (const d of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const f of readdirSync(join(R, d))) if (f.endsWith('.deb') || (d.endsWith('lists') && f !== 'partial' && f !== 'lock')) rmSync(join(R, d, f), { force: true });
  }
}

/**
 * The offline probe image for flanprov's verification: busybox (shell, sleep, ...) plus iputils ping with
 * its libraries, because busybox ping has no `-M do` (don't-fragment full-MTU pings). Taken from the rootfs
 * itself, so libraries match. A plain tarball for `docker import`.
 */
async function buildProbeTar(R: string, out: string): Promise<void> {
  const P = `${out}.d`;
  rmSync(P, { recursive: true, force: true });
  for (const d of ['bin', 'usr/bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) mkdirSync(join(P, d), { recursive: true });
  copyFileSync(join(R, 'bin/busybox'), join(P, 'bin/busybox'));
  chmodSync(join(P, 'bin/busybox'), 0o755);
  const applets = (await runOk('chroot', [R, '/bin/busybox', '--list'])).split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a));
  for (const a of applets) if (a !== 'busybox' && a !== 'ping' && !existsSync(join(P, 'bin', a))) symlinkSync('busybox', join(P, 'bin', a));
  copyFileSync(join(R, 'usr/bin/ping'), join(P, 'usr/bin/ping'));
  chmodSync(join(P, 'usr/bin/ping'), 0o755);
  symlinkSync('/usr/bin/ping', join(P, 'bin/ping'));
  const ldd = await runOk('chroot', [R, '/usr/bin/ldd', '/usr/bin/ping']);
  for (const lib of ldd.matchAll(/(\/\S+)\s+\(0x/g)) {
    const p = lib[1]!;
    mkdirSync(join(P, dirname(p)), { recursive: true });
    // cp -L: follow the soname symlink inside the rootfs (an absolute link would point at this machine's file)
    await runOk('chroot', [R, '/bin/cp', '-L', p, `/tmp/.probe-lib`]);
    copyFileSync(join(R, 'tmp/.probe-lib'), join(P, p));
    rmSync(join(R, 'tmp/.probe-lib'));
  }
  writeFileSync(join(P, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(P, 'etc/group'), 'root:x:0:\n');
  await runOk('tar', ['-C', P, '--numeric-owner', '-cf', out, '.']);
  rmSync(P, { recursive: true, force: true });
}
