import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeWan, parseWan, tbfParams } from '../../../src/lab/wan.js';
import { InvalidInputError } from '../../../src/util/errors.js';

describe('lab --wan', () => {
  it('parses RTT,RATE with tc units', () => {
    assert.deepEqual(parseWan('50ms,100mbit'), { text: '50ms,100mbit', rttMs: 50, rateBitsPerS: 100e6 });
    assert.deepEqual(parseWan('0.5s,1gbit'), { text: '0.5s,1gbit', rttMs: 500, rateBitsPerS: 1e9 });
    assert.deepEqual(parseWan('800us,512kbit'), { text: '800us,512kbit', rttMs: 0.8, rateBitsPerS: 512e3 });
    assert.equal(parseWan(' 10MS , 10Mbit ').rttMs, 10);
  });

  it('refuses what it cannot read, naming the part', () => {
    const bad = (spec: string, re: RegExp) => assert.throws(() => parseWan(spec), (e: unknown) => e instanceof InvalidInputError && re.test(e.message));
    bad('50ms', /wants RTT,RATE/);
    bad('50,100mbit', /RTT "50" is not a time/);
    bad('50ms,100', /RATE "100" is not a rate/);
    bad('50ms,100mbps', /bytes per second units such as mbps are not taken/);
    bad('11s,100mbit', /over 10 s/);
    bad('50ms,1kbit', /outside 64kbit\.\.10gbit/);
  });

  it('tbf: 2 ms of burst (>= 16 KB) and a bandwidth-delay-product queue (>= 20 ms, >= 64 KB)', () => {
    assert.deepEqual(tbfParams(parseWan('50ms,100mbit')), { rate: '100000000bit', burstBytes: 25_000, limitBytes: 625_000 });
    assert.deepEqual(tbfParams(parseWan('1ms,10mbit')), { rate: '10000000bit', burstBytes: 16_384, limitBytes: 65_536 });
    assert.equal(tbfParams(parseWan('1ms,1gbit')).limitBytes, 2_500_000); // 20 ms at 1 Gbit/s
  });

  it('describes itself for lab status', () => {
    assert.equal(describeWan(parseWan('50ms,100mbit')), '50 ms RTT (25 ms each way), 100 Mbit/s each direction, shared by all hosts');
  });
});
