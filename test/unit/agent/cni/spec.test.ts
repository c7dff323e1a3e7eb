import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowsCheck, CniError, CniErrorCode, compareVersions, errorDocument, parseErrorDocument } from '../../../../src/agent/cni/spec.js';

test('the well-known error codes are the spec\'s numbers', () => {
  assert.deepEqual([CniErrorCode.INCOMPATIBLE_VERSION, CniErrorCode.UNSUPPORTED_FIELD, CniErrorCode.UNKNOWN_CONTAINER, CniErrorCode.INVALID_ENVIRONMENT,
    CniErrorCode.IO_FAILURE, CniErrorCode.DECODING_FAILURE, CniErrorCode.INVALID_NETWORK_CONFIG, CniErrorCode.TRY_AGAIN_LATER], [1, 2, 3, 4, 5, 6, 7, 11]);
  for (const c of [CniErrorCode.SUBNET_FILE_INVALID, CniErrorCode.DELEGATE_NOT_FOUND, CniErrorCode.DELEGATE_FAILED, CniErrorCode.SUBNET_CHANGED, CniErrorCode.INTERNAL]) {
    assert.ok(c >= 100, `plugin-specific code ${c} is outside the reserved 0-99`);
  }
});

test('the error document: cniVersion, code, msg, details only when there are any', () => {
  assert.deepEqual(errorDocument(new CniError(11, 'try later', 'why'), '0.4.0'), { cniVersion: '0.4.0', code: 11, msg: 'try later', details: 'why' });
  assert.deepEqual(Object.keys(errorDocument(new CniError(4, 'x'), '1.0.0')), ['cniVersion', 'code', 'msg']);
});

test('a delegate\'s error document (libcni\'s omits cniVersion) is recognised; anything else is not', () => {
  assert.deepEqual(parseErrorDocument({ code: 999, msg: 'Required prevResult missing' }), { cniVersion: '', code: 999, msg: 'Required prevResult missing' });
  assert.equal(parseErrorDocument({ code: '7', msg: 'x' }), undefined);
  assert.equal(parseErrorDocument({ cniVersion: '1.0.0' }), undefined);
  assert.equal(parseErrorDocument('x'), undefined);
});

test('versions compare numerically; CHECK from 0.4.0 on', () => {
  assert.equal(compareVersions('0.10.0', '0.4.0')! > 0, true);
  assert.equal(compareVersions('1.0.0', '1.0.0'), 0);
  assert.equal(compareVersions('x', '1.0.0'), undefined);
  assert.deepEqual(['0.3.0', '0.3.1', '0.4.0', '1.0.0'].map(allowsCheck), [false, false, true, true]);
});
