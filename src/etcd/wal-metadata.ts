/**
 * Which cluster an etcd data dir belongs to, read from its write-ahead log without etcd: every WAL file
 * (`member/wal/*.wal`) starts with a CRC record and a metadata record whose data is etcd's
 * `etcdserverpb.Metadata{NodeID=1, ClusterID=2}`. So the first few hundred bytes of any WAL file, read on
 * the host, say whose data dir it is — before anything is started over it.
 *
 * Framing (go.etcd.io/etcd/wal/encoder.go): a little-endian uint64 whose low 56 bits are the record length
 * and whose top byte, when bit 7 is set, holds the padding (low 3 bits) that aligns the record to 8 bytes;
 * then the `walpb.Record{Type=1 int64, Crc=2 uint32, Data=3 bytes}` protobuf.
 */

export interface WalIdentity {
  /** hex, as etcdctl prints member and cluster IDs */
  memberId: string;
  clusterId: string;
}

const METADATA_TYPE = 1n;

function varint(b: Buffer, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (let i = at; i < b.length && shift < 70n; i++) {
    const byte = b[i]!;
    v |= BigInt(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return [v, i + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

/** Protobuf fields of a message: field number → varint value or bytes. */
function fields(b: Buffer): Map<number, bigint | Buffer> {
  const out = new Map<number, bigint | Buffer>();
  let i = 0;
  while (i < b.length) {
    const [tag, n] = varint(b, i);
    i = n;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, m] = varint(b, i);
      out.set(field, v);
      i = m;
    } else if (wire === 2) {
      const [len, m] = varint(b, i);
      const end = m + Number(len);
      if (end > b.length) throw new Error('truncated field');
      out.set(field, b.subarray(m, end));
      i = end;
    } else if (wire === 5) {
      i += 4;
    } else if (wire === 1) {
      i += 8;
    } else {
      throw new Error(`unexpected protobuf wire type ${wire}`);
    }
  }
  return out;
}

/** The member and cluster IDs from the start of a WAL file; undefined when it holds no metadata record. */
export function walIdentity(head: Buffer): WalIdentity | undefined {
  let off = 0;
  for (let records = 0; off + 8 <= head.length && records < 8; records++) {
    const frame = head.readBigUInt64LE(off);
    const len = Number(frame & 0x00ff_ffff_ffff_ffffn);
    const top = Number(frame >> 56n);
    const pad = top & 0x80 ? top & 0x07 : 0;
    const start = off + 8;
    if (len === 0 || start + len > head.length) return undefined;
    let rec: Map<number, bigint | Buffer>;
    try {
      rec = fields(head.subarray(start, start + len));
    } catch {
      return undefined;
    }
    if (rec.get(1) === METADATA_TYPE) {
      const data = rec.get(3);
      if (!Buffer.isBuffer(data)) return undefined;
      const md = fields(data);
      const node = md.get(1);
      const cluster = md.get(2);
      if (typeof node !== 'bigint' || typeof cluster !== 'bigint') return undefined;
      return { memberId: node.toString(16), clusterId: cluster.toString(16) };
    }
    off = start + len + pad;
  }
  return undefined;
}
