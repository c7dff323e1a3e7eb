import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatRuntimes, parseRuntimes } from '../../../src/lab/runtime.js';
import { InvalidInputError } from '../../../src/util/errors.js';

const H = ['h1', 'h2', 'h3'];

describe('lab --runtime', () => {
  it('one runtime for every host', () => {
    assert.deepEqual(parseRuntimes('docker', H), ['docker', 'docker', 'docker']);
    assert.deepEqual(parseRuntimes('podman', H), ['podman', 'podman', 'podman']);
  });

  it('host exceptions, with or without a default first', () => {
    assert.deepEqual(parseRuntimes('h2=podman', H), ['docker', 'podman', 'docker']);
    assert.deepEqual(parseRuntimes('podman,h1=docker', H), ['docker', 'podman', 'podman']);
    assert.deepEqual(parseRuntimes(' h1=podman , h3=podman ', H), ['podman', 'docker', 'podman']);
  });

  it('refuses unknown runtimes and hosts, duplicates and empty items, naming them', () => {
    const bad = (spec: string, re: RegExp) => assert.throws(() => parseRuntimes(spec, H), (e: unknown) => e instanceof InvalidInputError && re.test(e.message));
    bad('containerd', /"containerd" in "containerd" is not a runtime \(docker, podman\)/);
    bad('h4=podman', /no host "h4" in this lab \(hosts: h1, h2, h3\)/);
    bad('h1=podman,h1=docker', /h1 is named twice/);
    bad('docker,podman', /two defaults/);
    bad('docker,,h1=podman', /empty item/);
    bad('h2=rkt', /"rkt" in "h2=rkt"/);
  });

  it('formats back to a spec that parses to the same', () => {
    for (const spec of ['docker', 'podman', 'docker,h2=podman', 'podman,h1=docker']) {
      const r = parseRuntimes(spec, H);
      assert.deepEqual(parseRuntimes(formatRuntimes(H, r), H), r);
    }
    assert.equal(formatRuntimes(H, ['docker', 'podman', 'docker']), 'docker,h2=podman');
  });
});
