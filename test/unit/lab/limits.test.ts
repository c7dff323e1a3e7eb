import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { INOTIFY_PER_HOST, inotifyLimitFor } from '../../../src/lab/limits.js';

describe('lab inotify limit', () => {
  it('what is in use plus each new host\'s share, rounded up to a multiple of 128', () => {
    assert.equal(inotifyLimitFor(72, 3), 128);
    assert.equal(inotifyLimitFor(72, 20), Math.ceil((72 + 20 * INOTIFY_PER_HOST) / 128) * 128);
    assert.equal(inotifyLimitFor(72, 30) % 128, 0);
    assert.ok(inotifyLimitFor(72, 30) >= 72 + 30 * INOTIFY_PER_HOST);
  });
});
